"""Resources in a tenant that no stack manages, tenants the plan does not hold, and what the audit could not read.

The heuristic, without Pulumi state: the platform's own resources in a tenant are known by name from the plan
(`<system>-net`, `<system>-subnet`, `<system>-tenant`, `<system>-base`, Neutron's `default` group and its DHCP and
router-interface ports); a vendor's stack made with `shuyaku vendor init` puts the tenant's tags
(`shuyaku:system=<system>`, ...) on every server and port it creates, and attaches its volumes to those servers.
So a server or port in a tenant without its tenant's system tag, a volume attached to no such server, a network
or group the platform does not make, is one that no stack manages: made by hand, or by a stack that ignores the
platform's hand-off. Tags are the vendor's to set and so prove nothing against a hostile vendor (it can copy
them); every other check judges resources by their project, never by tags.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from shuyaku.audit.checks.context import Context
from shuyaku.audit.checks.ports import PLUMBING
from shuyaku.audit.model import Check, Finding
from shuyaku.contracts import tags as tagmod
from shuyaku.contracts.problems import tx

SERVER = Check(
    "live.unmanaged_server", "warning",
    tx("どのスタックも管理していないサーバー", "a server no stack manages"),
    tx("手作業で作られたサーバーは計画・ポリシー・監査の外にあります",
       "a server made by hand is outside the plan, the pack and review"),
    tx("ベンダーのスタック（shuyaku vendor init）で作り直すか、削除してください",
       "recreate it with the vendor's stack (shuyaku vendor init) or delete it"))
PORT = Check(
    "live.unmanaged_port", "warning",
    tx("どのスタックも管理していないポート", "a port no stack manages"),
    tx("手作業のポートは計画外のアドレスやグループを持ち得ます", "a hand-made port may carry unplanned addresses or groups"),
    tx("ベンダーのスタックで作り直すか、削除してください", "recreate it with the vendor's stack or delete it"))
VOLUME = Check(
    "live.unmanaged_volume", "warning",
    tx("どのスタックも管理していないボリューム", "a volume no stack manages"),
    tx("管理されたサーバーに付いていないボリュームはデータの持ち出し・持ち込みに使われ得ます",
       "a volume on no managed server can carry data in or out"),
    tx("用途を確認し、不要なら削除してください", "check what it is for; delete it if it is not needed"))
NETWORK = Check(
    "live.unmanaged_network", "error",
    tx("プラットフォームが作っていないネットワーク・サブネット", "a network or subnet the platform did not make"),
    tx("テナントのネットワークはプラットフォームの1つだけです。2つ目はサーバーを二重化して層をまたぐ足場になります",
       "a tenant has the platform's one network; a second one lets a dual-homed server straddle segments"),
    tx("削除し、テナントのネットワーク・サブネットのクォータを計画に戻してください",
       "delete it and set the tenant's network and subnet quotas back to the plan"))
GROUP = Check(
    "live.unmanaged_group", "warning",
    tx("プラットフォームが作っていないセキュリティグループ", "a security group the platform did not make"),
    tx("ベンダーが作ったグループはルールの確認対象です（規則の内容は別のチェックが見ます）",
       "a vendor's own group needs review (its rules are judged by the group checks)"),
    tx("不要なら削除してください", "delete it if it is not needed"))
FLOATING_IP = Check(
    "live.floating_ip", "error",
    tx("マイナンバー利用事務系のフローティング IP", "a floating IP in the My Number layer"),
    tx("マイナンバー利用事務系にはフローティング IP がありません（クォータ 0）",
       "the My Number layer never has floating IPs (quota 0)"),
    tx("フローティング IP を解放してください", "release the floating IP"))
TENANT = Check(
    "live.tenant_unplanned", "warning",
    tx("計画にないテナント・計画にあって存在しないテナント", "a tenant the plan does not hold, or a planned one that is absent"),
    tx("このサイトのテナントは計画（サイトデータ）どおりです", "this site's tenants are the plan's (site data)"),
    tx("計画を確認し、shuyaku deploy で揃えてください", "check the plan; bring the cloud in line with shuyaku deploy"))
UNREADABLE = Check(
    "live.unreadable", "warning",
    tx("読めなかった情報（監査は一部のみ）", "something the login could not read (the audit is partial)"),
    tx("読めない一覧があると、その範囲の違反は見えません", "what cannot be read cannot be checked"),
    tx("管理者（admin）の認証情報で実行してください（--cloud）", "run with the operator's admin login (--cloud)"))
CHECKS = [SERVER, PORT, VOLUME, NETWORK, GROUP, FLOATING_IP, TENANT, UNREADABLE]


def _tagged(res: Any, sid: str) -> bool:
    return tagmod.parse(list(getattr(res, "tags", None) or [])).get("system") == sid


def run(ctx: Context) -> Iterator[Finding]:
    exp, snap = ctx.exp, ctx.snap
    managed_servers: set[str] = set()
    for s in snap.servers:
        sid = ctx.tenant_of(s.project_id)
        if not sid:
            continue
        if _tagged(s, sid):
            managed_servers.add(s.id)
            continue
        yield ctx.finding(SERVER, "server", s,
                          tx(f"テナント {sid} のサーバー {s.name} はどのスタックも管理していません"
                             f"（タグ shuyaku:system={sid} なし）",
                             f"tenant {sid}'s server {s.name} is managed by no stack (no tag shuyaku:system={sid})"))
    unmanaged_servers = {s.id for s in snap.servers if ctx.tenant_of(s.project_id)} - managed_servers
    for p in snap.ports:
        sid = ctx.tenant_of(p.project_id)
        if not sid or (p.device_owner or "") in PLUMBING or _tagged(p, sid) or p.device_id in unmanaged_servers:
            continue
        yield ctx.finding(PORT, "port", p,
                          tx(f"テナント {sid} のポート {ctx.port_label(p)} はどのスタックも管理していません",
                             f"tenant {sid}'s port {ctx.port_label(p)} is managed by no stack"), device=p.device_id)
    for v in snap.volumes:
        pid = getattr(v, "project_id", None)
        sid = ctx.tenant_of(pid)
        if not sid:
            continue
        on = {a.get("server_id") for a in (v.attachments or [])}
        if on & managed_servers:
            continue
        yield ctx.finding(VOLUME, "volume", v,
                          tx(f"テナント {sid} のボリューム {v.name or v.id} は管理されたサーバーに付いていません",
                             f"tenant {sid}'s volume {v.name or v.id} is attached to no managed server"), project_id=pid)
    for kind, items, planned in (("network", snap.networks, lambda sid: f"{sid}-net"),
                                 ("subnet", snap.subnets, lambda sid: f"{sid}-subnet")):
        for n in items:
            sid = ctx.tenant_of(n.project_id)
            if sid and n.name != planned(sid):
                yield ctx.finding(NETWORK, kind, n,
                                  tx(f"テナント {sid} に計画外の{'ネットワーク' if kind == 'network' else 'サブネット'}"
                                     f" {n.name} があります",
                                     f"tenant {sid} has an unplanned {kind} {n.name}"))
    for g in snap.security_groups:
        sid = ctx.tenant_of(g.project_id)
        if sid and g.name != "default" and g.name not in exp.tenant_groups(sid):
            yield ctx.finding(GROUP, "security_group", g,
                              tx(f"テナント {sid} に計画外のグループ {g.name} があります",
                                 f"tenant {sid} has an unplanned group {g.name}"))
    for ip in snap.floating_ips:
        if ctx.layer(ip.project_id) == "mynumber":
            who, addr = ctx.tenant_of(ip.project_id), ip.floating_ip_address
            yield ctx.finding(FLOATING_IP, "floating_ip", ip,
                              tx(f"マイナンバー利用事務系テナント {who} にフローティング IP {addr}",
                                 f"My Number tenant {who} holds floating IP {addr}"),
                              name=ip.floating_ip_address or "")
    for sid, p in sorted(ctx.unplanned.items()):
        yield ctx.finding(TENANT, "project", p,
                          tx(f"プロジェクト {p.name} は shuyaku:system={sid} ですが計画にありません",
                             f"project {p.name} is tagged shuyaku:system={sid} but the plan holds no such tenant"),
                          project_id=p.id)
    for sid in sorted(set(exp.tenants) - set(ctx.tenants)):
        yield ctx.finding(TENANT, "project", sid,
                          tx(f"計画のテナント {sid} のプロジェクトがありません", f"the plan's tenant {sid} has no project"),
                          project_id="", name=sid)
    for what, why in snap.gaps:
        yield ctx.finding(UNREADABLE, "listing", what, tx(f"{what} を読めませんでした: {why}", f"could not read {what}: {why}"),
                          project_id="", name=what)
