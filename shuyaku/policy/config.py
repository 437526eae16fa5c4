"""Policy configuration resolved per rule, the way the Pulumi engine resolves it (defaults, "all", per rule).

The documents themselves (Pulumi's policy-pack config, and the flat settings document that
`shuyaku policy config SETTINGS` expands into one) are typed in `shuyaku.contracts.policy_settings` and read
through the one adapter, so a wrong file is reported at file:line:column with a code and a fix.
Each rule declares the settings it reads (`config_keys`, its CrossGuard config schema), so `expand` repeats a
city's values under each rule that needs them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from shuyaku.contracts import policy_settings as ps
from shuyaku.contracts.source import Source


@dataclass
class PolicyConfig:
    """Levels and given settings per rule id; a rule's settings are its defaults overlaid by those."""

    all_level: str | None = None
    levels: dict[str, str] = field(default_factory=dict)
    props: dict[str, dict[str, Any]] = field(default_factory=dict)

    def level(self, rule_id: str, default: str) -> str:
        lvl = self.levels.get(rule_id) or self.all_level or default
        return "mandatory" if lvl == "remediate" else lvl

    def settings(self, rule_id: str, keys: Iterable[str]) -> dict[str, Any]:
        return ps.resolved(self.props.get(rule_id, {}), keys)


def from_document(doc: BaseModel, known_rules: Iterable[str]) -> PolicyConfig:
    """A checked pack config or settings document -> per-rule levels and settings."""
    data = doc.model_dump(mode="json", exclude_none=True)
    cfg = PolicyConfig()
    if "settings" in data:  # the flat document
        levels = dict(data.get("enforcement") or {})
        cfg.all_level = levels.pop("all", None)
        cfg.levels = levels
        given = given_settings(doc)
        cfg.props = {rule_id: dict(given) for rule_id in known_rules}
        return cfg
    for key, entry in data.items():
        level = entry.pop("enforcementLevel", None)
        if key == "all":
            cfg.all_level = level
            continue
        if level is not None:
            cfg.levels[key] = level
        cfg.props[key] = entry
    return cfg


def given_settings(doc: BaseModel) -> dict[str, Any]:
    """The settings a flat document sets (normalised), without the defaults it leaves to the rules."""
    settings: ps.Settings = doc.settings  # type: ignore[attr-defined]
    return settings.model_dump(mode="json", include=settings.model_fields_set, exclude_none=True)


def parse(doc: Any, where: str, known_rules: Iterable[str]) -> PolicyConfig:
    """A document already in memory (no positions: problems point at line 1); raises ProblemsError."""
    known = tuple(known_rules)
    return from_document(ps.check_document(Source(Path(where), doc), known), known)


def load(path: str | Path, known_rules: Iterable[str]) -> PolicyConfig:
    """Read either format from a file; raises ProblemsError with every problem, each at its line."""
    known = tuple(known_rules)
    return from_document(ps.load_document(path, known), known)


def expand(flat: Mapping[str, Any], rules: Iterable[Any]) -> dict[str, Any]:
    """Flat settings document -> Pulumi policy-pack config, each rule given only the keys it reads."""
    rules = tuple(rules)
    doc = ps.check_document(Source(Path("<settings>"), dict(flat)), tuple(r.id for r in rules), flat_only=True)
    return expand_checked(doc, rules)


def expand_checked(doc: BaseModel, rules: Iterable[Any]) -> dict[str, Any]:
    enforcement = doc.enforcement.model_dump(exclude_none=True)  # type: ignore[attr-defined]
    settings = given_settings(doc)
    out: dict[str, Any] = {}
    if "all" in enforcement:
        out["all"] = enforcement.pop("all")
    for rule in rules:
        entry: dict[str, Any] = {}
        if rule.id in enforcement:
            entry["enforcementLevel"] = enforcement[rule.id]
        entry.update({k: settings[k] for k in rule.config_keys if k in settings})
        if entry:
            out[rule.id] = entry
    return out
