"""The rules as CrossGuard policies: what policies/__main__.py hands to PolicyPack."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ResourceValidationPolicy,
    Severity,
    StackValidationPolicy,
)

from shuyaku.contracts import policy_settings as ps
from shuyaku.contracts.i18n import t
from shuyaku.policy import loader
from shuyaku.policy.context import Index
from shuyaku.policy.model import Rule, Violation
from shuyaku.policy.registry import all_rules


def settings(rule: Rule, given: Mapping[str, Any] | None) -> dict[str, Any]:
    """The rule's settings: defaults overlaid by its config, checked by the same model as the audit's.

    The engine has checked the config against the schema generated from that model and filled its defaults;
    filling them again keeps direct calls (tests) honest. Resolved once per distinct config: a resource
    policy is called once per resource.
    """
    mine = {k: _whole(v) for k, v in dict(given or {}).items() if k in rule.config_keys}
    return _resolved(rule.config_keys, json.dumps(mine, sort_keys=True, ensure_ascii=False))


def _whole(v: Any) -> Any:
    """The engine's config arrives as a protobuf Struct, where every number is a float (443.0)."""
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, list):
        return [_whole(x) for x in v]
    if isinstance(v, dict):
        return {k: _whole(x) for k, x in v.items()}
    return v


@lru_cache(maxsize=1024)
def _resolved(keys: tuple[str, ...], given: str) -> dict[str, Any]:
    return ps.resolved(json.loads(given), keys)


def text(rule: Rule, v: Violation) -> str:
    return f"{v.message.text()}\n{t('対処', 'Fix')}: {rule.remediation.text()}"


def _resource_validate(rule: Rule):
    types = frozenset(rule.resource_types)

    def validate(args, report_violation) -> None:
        if args.resource_type not in types:
            return
        res = loader.from_validation_args(args, ENGINE.inputs_of)
        for v in rule.check(res, settings(rule, args.get_config())):  # type: ignore[misc]
            report_violation(text(rule, v), None)

    return validate


class EngineFacts:
    """What the engine tells the pack beyond each policy's arguments; pulumi_policy 1.21 drops it.

    - ConfigureStack (pkg/v3 resource/plugin/analyzer_plugin.go, v3.274.1) carries the decrypted stack
      config and the list of secret keys; pulumi_policy keeps only the stack tags, and the PULUMI_CONFIG
      environment it reads has no secret keys.
    - Analyze carries each resource's checked inputs; AnalyzeStack carries only outputs, where in a preview
      every property the program left to the cloud is unknown. The audit lays inputs over outputs; the pack
      does the same with the inputs it was shown.
    """

    def __init__(self) -> None:
        self.stack_config: loader.StackConfig | None = None  # None until ConfigureStack (`policy publish`)
        self.inputs: dict[str, Any] = {}  # URN -> google.protobuf Struct, decoded when a rule first reads it

    def configure_stack(self, config: Mapping[str, str], secret_keys: Iterable[str]) -> None:
        self.stack_config = loader.stack_config_from_engine(config, secret_keys)

    def analyzed(self, urn: str, properties: Any) -> None:
        self.inputs[urn] = properties

    def inputs_of(self, urn: str) -> dict[str, Any] | None:
        got = self.inputs.get(urn)
        if got is None or isinstance(got, dict):
            return got
        from google.protobuf import json_format

        # Decoded here, not by pulumi_policy, whose decoding drops the secret marks rules read; once, as
        # several rules read the same resource.
        decoded = self.inputs[urn] = loader.engine_value(json_format.MessageToDict(got))
        return decoded


ENGINE = EngineFacts()


def hook_engine_calls() -> None:
    """Route ConfigureStack and Analyze through ENGINE first; PolicyPack() builds its servicer from the
    module global, so a subclass set there sees every call."""
    from pulumi_policy import policy as pp

    base = getattr(pp, "_PolicyAnalyzerServicer", None)
    if base is None or not all(hasattr(base, m) for m in ("ConfigureStack", "Analyze")):
        raise RuntimeError(
            "pulumi_policy has no _PolicyAnalyzerServicer.ConfigureStack/Analyze: the pack cannot learn the "
            "secret config keys and resource inputs; pin pulumi-policy 1.21 or adapt shuyaku/policy/crossguard.py")
    if getattr(base, "shuyaku_hooked", False):
        return

    class Servicer(base):  # type: ignore[misc, valid-type]
        shuyaku_hooked = True

        def ConfigureStack(self, request, context):
            ENGINE.configure_stack(request.config, request.config_secret_keys)
            return super().ConfigureStack(request, context)

        def Analyze(self, request, context):
            ENGINE.analyzed(request.urn, request.properties)
            return super().Analyze(request, context)

    pp._PolicyAnalyzerServicer = Servicer  # type: ignore[misc]


def _stack_validate(rule: Rule):
    def validate(args, report_violation) -> None:
        resources = loader.from_stack_args(args.resources, ENGINE.inputs_of)
        index = Index(loader.with_default_providers(resources, ENGINE.stack_config), ENGINE.stack_config)
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
        common["config_schema"] = PolicyConfigSchema(properties=ps.rule_config_schema(rule.config_keys))
    if rule.scope == "resource":
        return ResourceValidationPolicy(validate=_resource_validate(rule), **common)
    return StackValidationPolicy(validate=_stack_validate(rule), **common)


def policies() -> list[ResourceValidationPolicy | StackValidationPolicy]:
    return [policy_for(r) for r in all_rules()]
