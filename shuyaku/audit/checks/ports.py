"""Ports of tenant projects: on a network the tenant does not own (a provider or external network, another
tenant's), with port security off, or with allowed address pairs (the override refuses a vendor all three)."""

from __future__ import annotations

from collections.abc import Iterator

from shuyaku.audit import netcalc
from shuyaku.audit.checks.context import Context
from shuyaku.audit.model import Check, Finding
from shuyaku.contracts.problems import tx

EXTERNAL = Check(
    "live.external_port", "error",
    tx("テナントのポートが自分のネットワーク以外にあります", "a tenant's port on a network it does not own"),
    tx("プロバイダー・外部ネットワークや他テナントのネットワーク上のポートは、層の外への直接の足になります",
       "a port on a provider, external or another tenant's network is a foot outside the tenant's layer"),
    tx("ポートを削除してください（サーバーのNICなら外してから）", "delete the port (detach it from its server first)"))
PORT_SECURITY = Check(
    "live.port_security", "error",
    tx("ポートセキュリティが無効なポート", "a port with port security off"),
    tx("ポートセキュリティが無効だとセキュリティグループもなりすまし防止も効きません",
       "with port security off neither the groups nor anti-spoofing apply"),
    tx("ポートセキュリティを有効にしてください（openstack port set --enable-port-security）",
       "turn port security on (openstack port set --enable-port-security)"))
ADDRESS_PAIRS = Check(
    "live.address_pairs", "error",
    tx("許可アドレスペアがテナントのサブネットを越えています", "allowed address pairs beyond the tenant's subnet"),
    tx("広い許可アドレスペアがあると、そのサーバーが別のセグメントの通信を中継できます",
       "a wide address pair lets the server forward traffic for other segments"),
    tx("許可アドレスペアを削除してください（openstack port unset --allowed-address）",
       "remove the pairs (openstack port unset --allowed-address)"))
CHECKS = [EXTERNAL, PORT_SECURITY, ADDRESS_PAIRS]

# Ports Neutron makes for the platform's own plumbing: judged with their routers and floating IPs, not here.
PLUMBING = ("network:dhcp", "network:router_interface", "network:router_interface_distributed",
            "network:ha_router_replicated_interface", "network:router_gateway", "network:floatingip",
            "network:router_centralized_snat")


def run(ctx: Context) -> Iterator[Finding]:
    for p in ctx.snap.ports:
        sid = ctx.tenant_of(p.project_id)
        if not sid or (p.device_owner or "") in PLUMBING:
            continue
        tenant = ctx.exp.tenants[sid]
        net = ctx.snap.network_by_id.get(p.network_id)
        owner = getattr(net, "project_id", None)
        netname = ctx.network_names.get(p.network_id, p.network_id)
        if owner != p.project_id or p.network_id in ctx.external_ids:
            kind = tx("外部ネットワーク", "external network") if p.network_id in ctx.external_ids else \
                tx("他プロジェクトのネットワーク", "another project's network")
            yield ctx.finding(EXTERNAL, "port", p,
                              tx(f"テナント {sid} のポート {ctx.port_label(p)} が{kind.ja} {netname} にあります",
                                 f"tenant {sid}'s port {ctx.port_label(p)} is on {kind.en} {netname}"),
                              network=netname, device=p.device_id)
        if p.is_port_security_enabled is False:
            yield ctx.finding(PORT_SECURITY, "port", p,
                              tx(f"テナント {sid} のポート {ctx.port_label(p)} のポートセキュリティが無効です",
                                 f"tenant {sid}'s port {ctx.port_label(p)} has port security off"), device=p.device_id)
        for pair in p.allowed_address_pairs or []:
            ip = pair.get("ip_address")
            inside = netcalc.within(ip, tenant.cidr)
            yield ctx.finding(ADDRESS_PAIRS, "port", p,
                              tx(f"テナント {sid} のポート {ctx.port_label(p)} に許可アドレスペア {ip} があります"
                                 + ("" if inside else f"（サブネット {tenant.cidr} の外）"),
                                 f"tenant {sid}'s port {ctx.port_label(p)} has an allowed address pair {ip}"
                                 + ("" if inside else f" (outside its subnet {tenant.cidr})")),
                              severity=None if not inside else "warning", pair=ip)
