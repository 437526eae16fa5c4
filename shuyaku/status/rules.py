"""Rules: the live audit's findings over the cloud, and the policy pack over the stack's current state.

The live audit (`shuyaku.audit`) judges the cloud itself; the pack judges what the state says the stack made
(the last `up`, or the refreshed state). Both are turned into one typed list for the run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from shuyaku.audit.model import Finding as LiveFinding
from shuyaku.contracts.status import RuleFinding, Said
from shuyaku.deploy.engine import Stack

PACK_SEVERITY = {"mandatory": "error", "advisory": "warning"}


def from_live(findings: Iterable[LiveFinding], by_project: Mapping[str, str] | None = None) -> list[RuleFinding]:
    """The audit's findings; `by_project` (project id -> system id) names the system of a finding about a project
    itself (a quota), whose resource is the tenant's project."""
    known = by_project or {}

    def system(f: LiveFinding) -> str | None:
        return f.system_id or known.get(f.project_id or "") or known.get(f.resource_id)

    return [RuleFinding(source="live", id=f.check.id, severity=f.level, resource=f.resource(), system_id=system(f),
                        message=Said(ja=f.message.ja, en=f.message.en))
            for f in sorted(findings, key=lambda f: f.sort_key())]


def pack_over_state(stack: Stack, platform_cfg: Any) -> list[RuleFinding]:
    """The policy pack's rules over `pulumi stack export`, with the settings the stack's own config gives them."""
    from shuyaku.policy import config as cfgmod
    from shuyaku.policy.audit import audit_resources
    from shuyaku.policy.loader import from_document
    from shuyaku.policy.registry import rule_ids
    from shuyaku.policy.sitecfg import settings_from_platform

    loaded = from_document(stack.export(), f"stack {stack.name}")
    cfg = cfgmod.parse({"settings": settings_from_platform(platform_cfg)}, f"stacks/Pulumi.{stack.name}.yaml",
                       rule_ids())
    out = []
    for f in audit_resources(loaded.resources, cfg, loaded.stack_config):
        urn = f.urn or f"stack {stack.name}"
        out.append(RuleFinding(source="pack", id=f.rule.id, severity=PACK_SEVERITY.get(f.level, "warning"),  # type: ignore[arg-type]
                               resource=urn.rsplit("::", 1)[-1] if "::" in urn else urn,
                               message=Said(ja=f.violation.message.ja, en=f.violation.message.en)))
    return out


def failing(rules: Iterable[RuleFinding]) -> list[RuleFinding]:
    return [r for r in rules if r.severity in ("error", "warning")]
