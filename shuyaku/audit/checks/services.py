"""Shared services must not become a path between layers.

The shared zone's services (NTP, DNS, logs, patch mirror, backup) accept connections from every layer that
reaches the shared zone. Such a service is a path between layers only if it can also *open* connections: to
another layer, or out of the cloud. The plan gives them none, except the declared mediations: the hub and relay
open exactly the planned, mediated flows, and the patch mirror fetches its upstream through the proxy (a pull-only
mirror: it never fetches on a client's behalf). Any other egress in a service group is reported.
"""

from __future__ import annotations

from collections.abc import Iterator

from shuyaku.audit.checks.context import Context
from shuyaku.audit.checks.secgroups import _describe, _key
from shuyaku.audit.model import Check, Finding
from shuyaku.contracts.problems import tx

BRIDGE = Check(
    "live.service_bridge", "error",
    tx("共用サービスに計画外の送信ルール（層の間の経路）",
       "a shared service's egress the plan does not give (a path between layers)"),
    tx("共用サービスは全ての層から接続を受けます。計画外の宛先へ自ら接続できると、層の間や庁外への経路になります",
       "a shared service accepts connections from every layer; if it can also open connections to somewhere the "
       "plan does not say, it becomes a path between layers or out of the cloud"),
    tx("ルールを削除してください（shuyaku deploy で計画どおりに戻ります）",
       "delete the rule (shuyaku deploy puts the plan's rules back)"))
CHECKS = [BRIDGE]


def run(ctx: Context) -> Iterator[Finding]:
    exp = ctx.exp
    for g in ctx.snap.security_groups:
        service = exp.service_groups.get(g.name)
        if service is None:
            continue
        planned = exp.service_egress.get(service, set())
        for r in ctx.snap.rules_by_group.get(g.id, []):
            if r.direction != "egress" or _key(r) in planned:
                continue
            yield ctx.finding(BRIDGE, "security_group_rule", r,
                              tx(f"共用サービス {service} のグループ {g.name} に送信ルール {_describe(r)}",
                                 f"shared service {service}'s group {g.name} has egress {_describe(r)}"),
                              name=f"{g.name}: {_describe(r)}", group=g.id)
