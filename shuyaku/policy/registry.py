"""Every rule, discovered from shuyaku/policy/rules/ (one module per rule, each with `RULE`)."""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from shuyaku.contracts.policy_settings import SETTING_KEYS
from shuyaku.policy.model import Rule

CATEGORIES = ("parity", "separation", "tenancy", "secrets", "continuity")


@cache
def all_rules() -> tuple[Rule, ...]:
    from shuyaku.policy import rules as pkg

    found: list[Rule] = []
    for info in pkgutil.iter_modules(pkg.__path__):
        if info.name.startswith("_"):
            continue
        mod = importlib.import_module(f"{pkg.__name__}.{info.name}")
        rule = getattr(mod, "RULE", None)
        if not isinstance(rule, Rule):
            raise TypeError(f"{mod.__name__} defines no RULE")
        if info.name != rule.id.replace("-", "_"):
            raise ValueError(f"{mod.__name__}: file name must be the rule id with '_' ({rule.id})")
        unknown = set(rule.config_keys) - set(SETTING_KEYS)
        if unknown:
            raise ValueError(f"{mod.__name__}: settings not in contracts.policy_settings.Settings: {sorted(unknown)}")
        found.append(rule)
    ids = [r.id for r in found]
    if len(set(ids)) != len(ids):
        raise ValueError("duplicate rule ids")
    return tuple(sorted(found, key=lambda r: (CATEGORIES.index(r.tags[0]), r.id)))


def rule_ids() -> list[str]:
    return [r.id for r in all_rules()]


def get(rule_id: str) -> Rule:
    for r in all_rules():
        if r.id == rule_id:
            return r
    raise KeyError(rule_id)
