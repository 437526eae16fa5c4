"""The rules as CrossGuard policies: what policies/__main__.py hands to PolicyPack."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ResourceValidationPolicy,
    Severity,
    StackValidationPolicy,
)

from shuyaku.i18n import t
from shuyaku.policy import config as cfgmod
from shuyaku.policy import loader
from shuyaku.policy.context import Index
from shuyaku.policy.model import Rule, Violation
from shuyaku.policy.registry import all_rules


def settings(rule: Rule, given: Mapping[str, Any] | None) -> dict[str, Any]:
    """The engine already fills schema defaults; filling them again keeps direct calls (tests) honest."""
    out = cfgmod.defaults(rule.config_keys)
    out.update({k: v for k, v in dict(given or {}).items() if k in rule.config_keys})
    return cfgmod.normalise_settings(out)


def text(rule: Rule, v: Violation) -> str:
    return f"{v.message.text()}\n{t('対処', 'Fix')}: {rule.remediation.text()}"


def _resource_validate(rule: Rule):
    types = frozenset(rule.resource_types)

    def validate(args, report_violation) -> None:
        if args.resource_type not in types:
            return
        res = loader.from_validation_args(args)
        for v in rule.check(res, settings(rule, args.get_config())):  # type: ignore[misc]
            report_violation(text(rule, v), None)

    return validate


def _stack_validate(rule: Rule):
    def validate(args, report_violation) -> None:
        index = Index(loader.from_stack_args(args.resources), loader.stack_config_from_env())
        for v in rule.check_stack(index, settings(rule, args.get_config())):  # type: ignore[misc]
            report_violation(text(rule, v), v.urn)

    return validate


def policy_for(rule: Rule) -> ResourceValidationPolicy | StackValidationPolicy:
    common: dict[str, Any] = {
        "name": rule.id,
        "description": rule.title.text(),
        "enforcement_level": EnforcementLevel(rule.enforcement),
        "display_name": rule.title.text(),
        "severity": Severity(rule.severity),
        "remediation_steps": rule.remediation.text(),
        "tags": [*rule.tags, *rule.sources],
    }
    if rule.config_keys:
        common["config_schema"] = PolicyConfigSchema(properties=cfgmod.schema_for(rule.config_keys))
    if rule.scope == "resource":
        return ResourceValidationPolicy(validate=_resource_validate(rule), **common)
    return StackValidationPolicy(validate=_stack_validate(rule), **common)


def policies() -> list[ResourceValidationPolicy | StackValidationPolicy]:
    return [policy_for(r) for r in all_rules()]
