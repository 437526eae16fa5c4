"""Routing out of a layer: routers in tenants, external gateways, interfaces and routes on the zone routers.

A tenant never owns a router (the platform gives it none and the policy override refuses one); the My Number and
shared zones never have an external gateway, the LGWAN zone only on the LGWAN provider network and the internet
zone only on the external one; a zone router carries its segment, the shared segment and its own layer's planned
tenant subnets, nothing else; its only routes are the platform's to and from the shared zone.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from shuyaku.audit.checks.context import Context
from shuyaku.audit.model import Check, Finding
from shuyaku.contracts.problems import tx

IF_OWNERS = ("network:router_interface", "network:router_interface_distributed", "network:ha_router_replicated_interface")

TENANT_ROUTER = Check(
    "live.tenant_router", "error",
    tx("テナントがルーターを所有しています", "a tenant owns a router"),
    tx("テナントのルーターは外部ゲートウェイや別ネットワークへの経路を作れ、層の分離を迂回できます",
       "a tenant's router can add a gateway or join networks, routing around the layer's separation"),
    tx("ルーターを削除し、テナントのルータークォータを 0 に戻してください",
       "delete the router and set the tenant's router quota back to 0"))
GATEWAY = Check(
    "live.router_gateway", "error",
    tx("層に許されない外部ゲートウェイ", "an external gateway the layer may not have"),
    tx("マイナンバー利用事務系・共用ゾーンは外部接続を持たず、LGWAN 接続系は LGWAN のみ、"
       "インターネット接続系は外部ネットワークのみに出られます",
       "the My Number and shared zones never leave the cloud; LGWAN reaches only the LGWAN network, the internet "
       "layer only the external one"),
    tx("ゲートウェイを外してください（openstack router unset --external-gateway）",
       "remove the gateway (openstack router unset --external-gateway)"))
INTERFACE = Check(
    "live.router_interface", "error",
    tx("ゾーンルーターに計画外のインターフェース", "an interface the plan does not put on this router"),
    tx("ゾーンルーターに別の層やテナント以外のサブネットが付くと、層の間に経路ができます",
       "a foreign subnet on a zone router makes a path between layers or into an unplanned network"),
    tx("インターフェースを外してください（openstack router remove subnet/port）",
       "remove the interface (openstack router remove subnet/port)"))
ROUTE = Check(
    "live.router_route", "error",
    tx("ゾーンルーターに計画外の静的経路", "a static route the platform did not set"),
    tx("ゾーンルーターの経路は共用ゾーンとの往復と、共用ゾーンから LGWAN ルーター経由で管理者端末へ戻る経路だけです。"
       "それ以外の経路は層の外への抜け道になります",
       "a zone router's only routes are to and from the shared zone, and the shared router's routes back to the "
       "administrators' terminals through the LGWAN router; any other is a way out of the layer"),
    tx("経路を削除してください（openstack router unset --route）", "delete the route (openstack router unset --route)"))
SNAT = Check(
    "live.router_snat", "error",
    tx("インターネット接続系のゾーンルーターが SNAT しています", "the internet zone router masquerades its tenants"),
    tx("インターネット接続系の出口はプロキシだけです。SNAT があると、出口のルールを広げたサーバーがプロキシを通らずに"
       "インターネットへ出られます（SNAT がなければ戻りの経路はプロキシにしかありません）",
       "the internet layer leaves only through the proxy; with SNAT, a server whose egress rules are widened "
       "reaches the internet past it (without SNAT only the proxy has a route back)"),
    tx("SNAT を無効にしてください（openstack router set --external-gateway <net> --disable-snat）",
       "disable SNAT (openstack router set --external-gateway <net> --disable-snat)"))
CHECKS = [TENANT_ROUTER, GATEWAY, INTERFACE, ROUTE, SNAT]


def _interfaces(ctx: Context, router: Any) -> list[tuple[Any, Any]]:
    """(port, subnet) for each interface of the router."""
    out = []
    for p in ctx.snap.ports_by_device.get(router.id, []):
        if p.device_owner in IF_OWNERS:
            for ip in p.fixed_ips or []:
                out.append((p, ctx.snap.subnet_by_id.get(ip.get("subnet_id"))))
    return out


def _subnet_layer(ctx: Context, subnet: Any) -> tuple[str | None, str | None]:
    """(layer, system id) of a subnet: a tenant's by its network's project, else a zone's by its address."""
    if subnet is None:
        return None, None
    net = ctx.snap.network_by_id.get(subnet.network_id)
    sid = ctx.tenant_of(getattr(net, "project_id", None) or subnet.project_id)
    if sid:
        return str(ctx.exp.tenants[sid].layer), sid
    return ctx.exp.layer_of_cidr(subnet.cidr) if subnet.cidr else None, None


def run(ctx: Context) -> Iterator[Finding]:
    exp = ctx.exp
    for r in ctx.snap.routers:
        sid = ctx.tenant_of(r.project_id)
        if sid:
            yield ctx.finding(TENANT_ROUTER, "router", r,
                              tx(f"テナント {sid} のプロジェクトにルーター {r.name} があります",
                                 f"router {r.name} belongs to tenant {sid}'s project"))
        zone_layer = exp.zone_routers.get(r.name)
        ifaces = _interfaces(ctx, r)
        # The layers whose traffic the router carries. A zone router's link to the shared segment is the platform's
        # own (judged by the interface check), so there only the tenants' subnets add a layer.
        seen = [_subnet_layer(ctx, s) for _, s in ifaces]
        layers = {la for la, owner in seen if la and (owner or not zone_layer)}
        if sid:
            layers.add(str(exp.tenants[sid].layer))
        if zone_layer:
            layers.add(zone_layer)
        gw = (r.external_gateway_info or {}).get("network_id")
        if gw and layers:
            gw_name = ctx.network_names.get(gw, gw)
            bad = sorted(la for la in layers if exp.gateway_network.get(la) != gw_name)
            if bad:
                yield ctx.finding(GATEWAY, "router", r,
                                  tx(f"ルーター {r.name}（{'/'.join(sorted(layers))}）に外部ゲートウェイ {gw_name} があります",
                                     f"router {r.name} ({'/'.join(sorted(layers))}) has an external gateway on {gw_name}"),
                                  gateway=gw_name, layers=sorted(layers))
        if zone_layer == "internet" and gw and (r.external_gateway_info or {}).get("enable_snat", True):
            yield ctx.finding(SNAT, "router", r, tx(f"ルーター {r.name} の外部ゲートウェイで SNAT が有効です",
                                                    f"router {r.name} has SNAT on its external gateway"))
        for port, subnet in ifaces:
            layer, owner = _subnet_layer(ctx, subnet)
            cidr = getattr(subnet, "cidr", None)
            ok = False
            if zone_layer:
                ok = (cidr == exp.segments.get(zone_layer)
                      or (zone_layer != "shared" and cidr == exp.segments.get("shared") and layer == "shared")
                      or (owner is not None and layer == zone_layer and cidr == exp.tenants[owner].cidr))
            elif owner is None:
                continue  # a router outside the platform, on no tenant's subnet: not ours to judge
            what = f"{getattr(subnet, 'name', '') or '?'} {cidr or ''}".strip()
            whose = owner or layer
            if not ok:
                yield ctx.finding(INTERFACE, "router", r,
                                  tx(f"ルーター {r.name} にサブネット {what}（{whose or '層外'}）のインターフェースがあります",
                                     f"router {r.name} has an interface on subnet {what} ({whose or 'outside the zones'})"),
                                  project_id=r.project_id, port=port.id, subnet=getattr(subnet, "id", None))
        if zone_layer:
            allowed = ({exp.zone_cidrs[la] for la in exp.zone_routers.values() if la != "shared" and la in exp.zone_cidrs}
                       if zone_layer == "shared" else {exp.zone_cidrs.get("shared")})
            for route in r.routes or []:
                dest, hop = route.get("destination"), route.get("nexthop")
                if dest not in allowed and not (zone_layer == "shared" and exp.admin_routes.get(dest) == hop):
                    yield ctx.finding(ROUTE, "router", r,
                                      tx(f"ルーター {r.name} に経路 {dest} → {hop} があります",
                                         f"router {r.name} routes {dest} via {hop}"),
                                      route=route)
