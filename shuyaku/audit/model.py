"""Checks and findings: a stable id, a severity, a bilingual message naming the resource, and a fix."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from shuyaku.contracts.problems import Text

Severity = Literal["error", "warning", "info"]
# What fails the run (exit 1): an error or a warning. `info` lists what is allowed but worth knowing
# (a vendor's application credentials), as the threat model asks.
FAILING: tuple[Severity, ...] = ("error", "warning")
_ORDER = {"error": 0, "warning": 1, "info": 2}


@dataclass(frozen=True)
class Check:
    id: str  # `live.<name>`: stable, tests and SARIF consumers key on it
    severity: Severity
    title: Text
    why: Text
    fix: Text


@dataclass(frozen=True)
class Finding:
    check: Check
    kind: str  # router | port | security_group_rule | image | role_assignment | quota | server | ...
    resource_id: str
    resource_name: str
    message: Text
    project_id: str | None = None
    system_id: str | None = None
    fix: Text | None = None
    severity: Severity | None = None  # when a finding is graver or lighter than its check's default
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def level(self) -> Severity:
        return self.severity or self.check.severity

    @property
    def remedy(self) -> Text:
        return self.fix or self.check.fix

    def resource(self) -> str:
        """`router onprem-mynumber-router (3f2a...)`: what the user looks up."""
        name = self.resource_name or "-"
        if self.resource_id and self.resource_id != name:
            return f"{self.kind} {name} ({self.resource_id})"
        return f"{self.kind} {name}"

    def sort_key(self) -> tuple[int, str, str, str]:
        return (_ORDER[self.level], self.check.id, self.system_id or "", self.resource_name or self.resource_id)


def failing(findings: list[Finding]) -> bool:
    return any(f.level in FAILING for f in findings)
