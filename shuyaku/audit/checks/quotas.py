"""Quotas against the plan: what the site data (with the stack's quotaOverrides) sizes, as the platform sets it.

A quota above the plan is room for what the plan did not put there: routers, networks, subnets and floating IPs
(none at all for the My Number layer) and RBAC shares (always 0) are graver than instances or gigabytes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from shuyaku.audit.checks.context import Context
from shuyaku.audit.model import Check, Finding
from shuyaku.contracts.problems import tx

QUOTA = Check(
    "live.quota", "warning",
    tx("計画と異なるクォータ", "a quota other than the plan's"),
    tx("クォータは計画（サイトデータと quotaOverrides）どおりです。上がっていれば計画外の資源を作れます",
       "quotas are the plan's (site data and quotaOverrides); a raised one leaves room for what the plan did not put there"),
    tx("計画の値に戻すか（shuyaku deploy）、必要なら quotaOverrides に書いてください",
       "set it back to the plan (shuyaku deploy), or write the raise into quotaOverrides"))
CHECKS = [QUOTA]
SEPARATION = {"routers", "networks", "subnets", "floating_ips", "rbac_policies"}

# (service, attribute in openstacksdk, key in the site data's quotas or a fixed value)
FIELDS: list[tuple[str, str, str]] = [
    ("network", "networks", "networks"), ("network", "subnets", "subnets"), ("network", "ports", "ports"),
    ("network", "routers", "routers"), ("network", "security_groups", "security_groups"),
    ("network", "security_group_rules", "security_group_rules"), ("network", "floating_ips", "floating_ips"),
    ("network", "rbac_policies", "=0"),
    ("compute", "instances", "instances"), ("compute", "cores", "cores"), ("compute", "ram", "ram_mb"),
    ("volume", "volumes", "volumes"), ("volume", "gigabytes", "gigabytes"),
]


def _above(live: int, want: int) -> bool:
    return (live < 0 <= want) or (want >= 0 and live > want)


def run(ctx: Context) -> Iterator[Finding]:
    snap = ctx.snap
    sources: dict[str, dict[str, Any]] = {"network": snap.network_quotas, "compute": snap.compute_quotas,
                                          "volume": snap.volume_quotas}
    for sid, project in ctx.tenants.items():
        tenant, plan = ctx.exp.tenants[sid], ctx.exp.quotas[sid]
        for service, attr, key in FIELDS:
            q = sources[service].get(project.id)
            live = getattr(q, attr, None) if q is not None else None
            if live is None:
                continue
            none_at_all = key == "=0" or (key == "floating_ips" and str(tenant.layer) == "mynumber")
            want = 0 if none_at_all else int(getattr(plan, key))
            live = int(live)
            if live == want:
                continue
            above = _above(live, want)
            shown = "無制限" if live < 0 else str(live)
            yield ctx.finding(QUOTA, "quota", project,
                              tx(f"テナント {sid} の {service} クォータ {attr}={shown}（計画 {want}）",
                                 f"tenant {sid}'s {service} quota {attr}={'unlimited' if live < 0 else live} (plan {want})"),
                              name=f"{project.name} {attr}", severity="error" if above and attr in SEPARATION else None,
                              quota=attr, live=live, plan=want)
