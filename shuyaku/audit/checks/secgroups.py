"""Security groups of tenant projects and their effective reach.

The platform's groups hold exactly the planned rules (the tenant's links, its layer's baseline). A vendor may edit
its own groups (that is its job, and no policy can refuse it), so what it adds is judged here: ingress from
anywhere, egress to anywhere (past the proxy, or out of a layer that has no internet at all), other rules beyond
the plan, rules naming another project's group. Neutron's `default` group keeps its allow-all egress in every
project; it matters once a port uses it, so it is judged through the ports that do.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from shuyaku.audit import netcalc
from shuyaku.audit.checks.context import Context
from shuyaku.audit.checks.ports import PLUMBING
from shuyaku.audit.model import Check, Finding
from shuyaku.contracts.problems import tx

OPEN_INGRESS = Check(
    "live.sg_open_ingress", "error",
    tx("どこからでも受け付けるルール（0.0.0.0/0・::/0）", "ingress from anywhere (0.0.0.0/0, ::/0)"),
    tx("テナントが受け付けるのは計画した連携元だけです", "a tenant accepts its planned peers only"),
    tx("ルールを削除し、必要な連携は計画（台帳の links）に加えてください",
       "delete the rule; add a needed link to the plan (the inventory's links)"))
EGRESS_ANY = Check(
    "live.sg_egress_any", "error",
    tx("どこへでも出られるルール（0.0.0.0/0・::/0）", "egress to anywhere (0.0.0.0/0, ::/0)"),
    tx("マイナンバー利用事務系・LGWAN 接続系はインターネットに出られず、インターネット接続系もプロキシ経由だけです",
       "the My Number and LGWAN layers never reach the internet, and the internet layer only through the proxy"),
    tx("ルールを削除してください", "delete the rule"))
DEFAULT_IN_USE = Check(
    "live.default_group", "error",
    tx("全通信を許す default グループを使うポート", "a port in the project's allow-all default group"),
    tx("Neutron の default グループは全宛先への送信を許します。ポートがそれを使うと層の外へ出られます",
       "Neutron's default group allows all egress; a port in it can leave the layer"),
    tx("ポートを default から外し、プラットフォームのグループ（<system>-tenant, <system>-base）だけにしてください",
       "take the port out of default; use only the platform's groups (<system>-tenant, <system>-base)"))
EGRESS_UNPLANNED = Check(
    "live.sg_egress_unplanned", "warning",
    tx("計画にない宛先への送信ルール", "egress the platform's flows do not include"),
    tx("テナントの送信先は計画した連携と層の基本サービスだけです",
       "a tenant sends only to its planned links and its layer's services"),
    tx("ルールを削除するか、連携を計画に加えてください", "delete the rule or add the link to the plan"))
INGRESS_UNPLANNED = Check(
    "live.sg_ingress_unplanned", "warning",
    tx("計画にない送信元からの受信ルール", "ingress the platform's flows do not include"),
    tx("テナントが受け付けるのは計画した連携元と自分のサブネットだけです",
       "a tenant accepts its planned peers and its own subnet only"),
    tx("ルールを削除するか、連携を計画に加えてください", "delete the rule or add the link to the plan"))
REMOTE_GROUP = Check(
    "live.sg_remote_group", "warning",
    tx("他プロジェクトのグループを参照するルール", "a rule naming another project's group"),
    tx("他テナントのグループを送信元にすると、そのテナントの全サーバーに通信を開きます",
       "another tenant's group as a remote opens the rule to all that tenant's servers"),
    tx("ルールを削除し、計画した CIDR の連携にしてください", "delete the rule; use the planned link's CIDR"))
CHECKS = [OPEN_INGRESS, EGRESS_ANY, DEFAULT_IN_USE, EGRESS_UNPLANNED, INGRESS_UNPLANNED, REMOTE_GROUP]


def _key(r: Any) -> tuple[str, str, int, str] | None:
    if r.port_range_min is None or r.port_range_min != r.port_range_max or not r.protocol:
        return None
    prefix = netcalc.normal(r.remote_ip_prefix)
    return (r.direction, str(r.protocol), int(r.port_range_min), prefix) if prefix else None


def _describe(r: Any) -> str:
    ports = "all" if r.port_range_min is None else (
        str(r.port_range_min) if r.port_range_min == r.port_range_max else f"{r.port_range_min}-{r.port_range_max}")
    remote = r.remote_ip_prefix or (f"group {r.remote_group_id}" if r.remote_group_id else
                                    ("::/0" if r.ether_type == "IPv6" else "0.0.0.0/0"))
    return f"{r.direction} {r.protocol or 'any'}/{ports} {remote}"


def _anywhere(r: Any) -> bool:
    """The rule's remote is everything (an address group counts as a remote, like a remote group)."""
    return netcalc.is_any(r.remote_ip_prefix, r.remote_group_id or getattr(r, "remote_address_group_id", None))


def _any_egress(rules: list[Any]) -> bool:
    return any(r.direction == "egress" and _anywhere(r) for r in rules)


def run(ctx: Context) -> Iterator[Finding]:
    snap, exp = ctx.snap, ctx.exp
    defaults: dict[str, Any] = {}
    for g in snap.security_groups:
        sid = ctx.tenant_of(g.project_id)
        if not sid:
            continue
        if g.name == "default":
            defaults[g.id] = g
        tenant = exp.tenants[sid]
        planned = exp.rules.get(sid, set())
        for r in snap.rules_by_group.get(g.id, []):
            what = tx(f"テナント {sid} のグループ {g.name} のルール {_describe(r)}",
                      f"tenant {sid}'s group {g.name}: rule {_describe(r)}")

            def found(check: Check, what: Any = what, r: Any = r, g: Any = g, **kw: Any) -> Finding:
                return ctx.finding(check, "security_group_rule", r, what, name=f"{g.name}: {_describe(r)}",
                                   group=g.id, **kw)

            any_remote = _anywhere(r)
            if r.direction == "ingress" and any_remote:
                yield found(OPEN_INGRESS)
                continue
            if g.name == "default":
                continue  # its egress is judged through the ports that use it; its ingress names itself
            if r.direction == "egress" and any_remote:
                yield found(EGRESS_ANY)
                continue
            if getattr(r, "remote_address_group_id", None):
                yield found(EGRESS_UNPLANNED if r.direction == "egress" else INGRESS_UNPLANNED)
                continue
            if r.remote_group_id:
                other = snap.group_by_id.get(r.remote_group_id)
                if other is None or other.project_id != g.project_id:
                    yield found(REMOTE_GROUP)
                continue
            if _key(r) in planned or netcalc.within(r.remote_ip_prefix, tenant.cidr):
                continue
            yield found(EGRESS_UNPLANNED if r.direction == "egress" else INGRESS_UNPLANNED)
    for p in snap.ports:
        sid = ctx.tenant_of(p.project_id)
        if not sid or (p.device_owner or "") in PLUMBING:
            continue
        for gid in p.security_group_ids or []:
            if gid in defaults and _any_egress(snap.rules_by_group.get(gid, [])):
                yield ctx.finding(DEFAULT_IN_USE, "port", p,
                                  tx(f"テナント {sid} のポート {ctx.port_label(p)} が全送信を許す default グループを使っています",
                                     f"tenant {sid}'s port {ctx.port_label(p)} is in the allow-all default group"),
                                  device=p.device_id, group=gid)
