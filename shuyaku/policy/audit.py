"""Run every rule over a normalised stack: the engine behind `shuyaku policy audit` and the tests."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from shuyaku.policy import config as cfgmod
from shuyaku.policy.context import Index
from shuyaku.policy.model import Resource, Rule, Violation
from shuyaku.policy.registry import all_rules, rule_ids


@dataclass(frozen=True, slots=True)
class Finding:
    rule: Rule
    violation: Violation
    level: str  # "mandatory" | "advisory"

    @property
    def urn(self) -> str | None:
        return self.violation.urn


def resolve_config(config: cfgmod.PolicyConfig | Mapping[str, Any] | None) -> cfgmod.PolicyConfig:
    if config is None:
        return cfgmod.PolicyConfig()
    if isinstance(config, cfgmod.PolicyConfig):
        return config
    return cfgmod.parse(dict(config), "<config>", rule_ids())


def audit_resources(resources: Iterable[Resource],
                    config: cfgmod.PolicyConfig | Mapping[str, Any] | None = None,
                    stack_config: dict[str, tuple[Any, bool]] | None = None,
                    rules: Iterable[Rule] | None = None) -> list[Finding]:
    """Every violation in the stack, each with the enforcement level the config gives its rule.

    `resources`: the normalised model (`shuyaku.policy.model.Resource`: urn, type, name, props in the
    engine's camelCase, parent, id, provider, deps) — from `loader.load_file`, `loader.from_stack_args`, or
    built directly (e.g. from Pulumi mocks, where ids stand in for property dependencies).
    `config`: a PolicyConfig, a parsed pack-config / flat-settings document, or None (rule defaults).
    Disabled rules are skipped; "remediate" counts as mandatory, as in the engine.
    """
    cfg = resolve_config(config)
    index = resources if isinstance(resources, Index) else Index(resources, stack_config)
    if stack_config is not None:
        index.stack_config = stack_config
    active: list[tuple[Rule, str, dict[str, Any]]] = []
    for rule in rules if rules is not None else all_rules():
        level = cfg.level(rule.id, rule.enforcement)
        if level == "disabled":
            continue
        active.append((rule, level, cfg.settings(rule.id, rule.config_keys)))

    findings: list[Finding] = []
    by_type: dict[str, list[tuple[Rule, str, dict[str, Any]]]] = defaultdict(list)
    for rule, level, settings in active:
        if rule.check is not None:
            for t in rule.resource_types:
                by_type[t].append((rule, level, settings))
    for t, entries in by_type.items():
        for res in index.of_type(t):
            for rule, level, settings in entries:
                findings.extend(Finding(rule, v, level) for v in rule.check(res, settings))  # type: ignore[misc]
    for rule, level, settings in active:
        if rule.check_stack is not None:
            findings.extend(Finding(rule, v, level) for v in rule.check_stack(index, settings))
    order = {r.id: i for i, r in enumerate(all_rules())}
    findings.sort(key=lambda f: (order.get(f.rule.id, 999), f.urn or ""))
    return findings


def missing_settings(config: cfgmod.PolicyConfig | Mapping[str, Any] | None) -> dict[str, list[str]]:
    """Active rules whose essential settings are empty: rule id -> the empty settings.

    Such a rule still runs, but checks less than it says (e.g. no layer CIDRs: no address is placed in a layer).
    """
    cfg = resolve_config(config)
    out: dict[str, list[str]] = {}
    for rule in all_rules():
        if not rule.requires or cfg.level(rule.id, rule.enforcement) == "disabled":
            continue
        settings = cfg.settings(rule.id, rule.config_keys)
        empty = [k for k in rule.requires if not settings.get(k)]
        if empty:
            out[rule.id] = empty
    return out


def has_mandatory(findings: Iterable[Finding]) -> bool:
    return any(f.level == "mandatory" for f in findings)
