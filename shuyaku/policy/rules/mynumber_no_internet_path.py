"""MIC three-layer measures: the My Number layer has no path to the internet, ever."""

from __future__ import annotations

from shuyaku.contracts import separation as sep
from shuyaku.contracts.vocabulary import LAYERS
from shuyaku.policy import net
from shuyaku.policy.context import (
    T_FIP,
    T_FIP_ASSOC,
    T_NETWORK,
    T_ROUTER,
    T_ROUTER_ROUTE,
    T_ROUTER_ROUTES,
    T_SUBNET_ROUTE,
    Index,
)
from shuyaku.policy.model import UNKNOWN, Rule, msg, plain


def _public_route(dest) -> bool:
    n = net.as_net(dest)
    return isinstance(n, net.IPv4Network | net.IPv6Network) and net.is_public(n)


# Layers with no path to the internet at all (the separation table: My Number).
ISOLATED = frozenset(layer for layer in LAYERS if sep.never_internet(layer))


def check_stack(resources, settings):
    index = Index.ensure(resources)
    for r in index.of_type(T_ROUTER):
        if index.layer(r) not in ISOLATED:
            continue
        ext = plain(r.props.get("externalNetworkId"))
        fixed = plain(r.props.get("externalFixedIps"))
        subnets = plain(r.props.get("externalSubnetIds"))
        if (ext and ext is not UNKNOWN) or (isinstance(fixed, list) and fixed) or (
                isinstance(subnets, list) and subnets):
            yield RULE.violation(r.urn, "マイナンバー系のルータに外部ゲートウェイが設定されています。",
                                 "a router in the My Number layer has an external gateway.")
    for n in index.of_type(T_NETWORK):
        if index.layer(n) in ISOLATED and plain(n.props.get("external")) is True:
            yield RULE.violation(n.urn, "マイナンバー系に外部ネットワーク（external）があります。",
                                 "the My Number layer has an external network.")
    for f in index.of_type(T_FIP, T_FIP_ASSOC):
        if index.layer(f) in ISOLATED:
            yield RULE.violation(f.urn, "マイナンバー系のポートに Floating IP が割り当てられています。",
                                 "a floating IP is given to a port in the My Number layer.")
    for route in index.of_type(T_ROUTER_ROUTE, T_SUBNET_ROUTE):
        if index.layer(route) in ISOLATED and _public_route(route.props.get("destinationCidr")):
            dest = plain(route.props.get("destinationCidr"))
            yield RULE.violation(route.urn, f"マイナンバー系にインターネット宛ての経路（{dest}）があります。",
                                 f"the My Number layer has a route towards the internet ({dest}).")
    for routes in index.of_type(T_ROUTER_ROUTES):
        if index.layer(routes) not in ISOLATED:
            continue
        entries = plain(routes.props.get("routes"))
        for e in entries if isinstance(entries, list) else []:
            e = plain(e)
            if isinstance(e, dict) and _public_route(e.get("destinationCidr")):
                dest = plain(e.get("destinationCidr"))
                yield RULE.violation(routes.urn, f"マイナンバー系にインターネット宛ての経路（{dest}）があります。",
                                     f"the My Number layer has a route towards the internet ({dest}).")


RULE = Rule(
    id="mynumber-no-internet-path",
    title=msg("マイナンバー系からインターネットへの経路を作らない", "No path from the My Number layer to the internet"),
    description=msg(
        "マイナンバー利用事務系には外部ゲートウェイ付きルータ、外部ネットワーク、Floating IP、"
        "グローバルアドレス宛ての経路を置かない。",
        "The My Number layer has no router with an external gateway, no external network, no floating IP "
        "and no route towards public addresses."),
    severity="critical",
    enforcement="mandatory",
    sources=("MIC 三層の対策: マイナンバー利用事務系の分離", "MIC three-layer measures: My Number isolation"),
    remediation=msg(
        "外部ゲートウェイ・Floating IP・経路を削除する。外部との連携はデータ連携基盤経由の例外として申請する。",
        "Remove the external gateway, floating IP or route; exchange data only through the integration "
        "hub as a listed exception."),
    resource_types=(T_ROUTER, T_NETWORK, T_FIP, T_FIP_ASSOC, T_ROUTER_ROUTE, T_ROUTER_ROUTES, T_SUBNET_ROUTE),
    check_stack=check_stack,
    tags=("separation",),
)
