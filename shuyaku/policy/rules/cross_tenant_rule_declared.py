"""Tenancy: a security group rule between two systems matches a declared data link."""

from __future__ import annotations

import ipaddress
from typing import Any

from shuyaku.contracts import separation as sep
from shuyaku.policy import net
from shuyaku.policy.context import T_SG_RULE, T_SUBNET, Index
from shuyaku.policy.model import Rule, msg
from shuyaku.policy.rules._common import describe, direction, remote_group

Owner = tuple[str, str | None]  # (system, layer)


def _subnet_systems(index: Index) -> dict[tuple[int, int, int], Owner]:
    """(version, network as int, prefix length) -> (system, layer), for every tenant subnet."""
    out: dict[tuple[int, int, int], Owner] = {}
    for s in index.of_type(T_SUBNET):
        n = net.as_net(s.props.get("cidr"))
        if isinstance(n, net.IPv4Network | net.IPv6Network):
            system = index.system(s)
            layer = index.layer(s)
            if system and layer != sep.SERVICE_LAYER:
                out[(n.version, int(n.network_address), n.prefixlen)] = (system, layer)
    return out


def _system_of_cidr(remote, subnets: dict[tuple[int, int, int], Owner], memo: dict) -> Owner | None:
    """The system whose subnet holds the whole remote range: walk up the supernets with integer masks."""
    if remote in memo:
        return memo[remote]
    memo[remote] = found = _walk(remote, subnets)
    return found


def _walk(remote, subnets: dict[tuple[int, int, int], Owner]) -> Owner | None:
    bits = remote.max_prefixlen
    addr = int(remote.network_address)
    for plen in range(remote.prefixlen, -1, -1):
        mask = ((1 << bits) - 1) ^ ((1 << (bits - plen)) - 1)
        hit = subnets.get((remote.version, addr & mask, plen))
        if hit:
            return hit
    return None


def _declared(links: set[tuple[str, str, str, Any]], src: str, dst: str, proto, rng) -> bool:
    if not isinstance(rng, tuple) or rng[0] != rng[1]:
        return False
    return (src, dst, proto, rng[0]) in links


def _remote(index: Index, r, memo: dict) -> Owner | None:
    """The other system a rule admits (its group, or the subnet holding the whole remote range), if any."""
    peer = remote_group(index, r)
    if peer is not None:
        layer = index.layer(peer)
        system = index.system(peer) if layer != sep.SERVICE_LAYER else None
        return (system, layer) if system else None
    rnet = net.sg_remote(r.props)
    if not isinstance(rnet, ipaddress.IPv4Network | ipaddress.IPv6Network) or net.is_any(rnet):
        return None
    if memo.get("subnets") is None:
        memo["subnets"] = _subnet_systems(index)
    return _system_of_cidr(rnet, memo["subnets"], memo["by_cidr"])


def check_stack(resources, settings):
    index = Index.ensure(resources)
    links = {(str(x.get("source_system")), str(x.get("target_system")), str(x.get("protocol", "")).lower(),
              x.get("port")) for x in settings.get("data_links") or [] if isinstance(x, dict)}
    memo: dict = {"subnets": None, "by_cidr": {}}
    for r in index.of_type(T_SG_RULE):
        local, local_layer = index.system(r), index.layer(r)
        if not local or local_layer == sep.SERVICE_LAYER:
            continue
        found = _remote(index, r, memo)
        if found is None or found[0] == local:
            continue
        remote, remote_layer = found
        ingress = direction(r) == "ingress"
        src, dst = (remote, local) if ingress else (local, remote)
        layers = (remote_layer, local_layer) if ingress else (local_layer, remote_layer)
        rng = net.port_range(r.props)
        if None not in layers and sep.link_path(*layers) == "forbidden":  # type: ignore[arg-type]
            yield RULE.violation(
                r.urn,
                f"システム間通信 {src} → {dst} は {layers[0]} 系と {layers[1]} 系の間のため禁止です"
                f"（三層の対策、申請しても許可されません）: {describe(r)}",
                f"traffic {src} -> {dst} joins the {layers[0]} and {layers[1]} layers, which three-layer "
                f"separation forbids (no declaration can allow it): {describe(r)}")
        elif not _declared(links, src, dst, net.protocol(r.props), rng):
            yield RULE.violation(
                r.urn,
                f"システム間通信 {src} → {dst} が申請済みのデータ連携に一致しません: {describe(r)}",
                f"traffic {src} -> {dst} between systems matches no declared data link: {describe(r)}")


RULE = Rule(
    id="cross-tenant-rule-declared",
    title=msg("システム間の通信は申請済みのデータ連携だけ", "Cross-system rules match a declared data link"),
    description=msg(
        "あるシステムのセキュリティグループが別のシステム（相手のセキュリティグループ、またはそのサブネットの"
        "アドレス）との通信を許可するときは、data_links に送信元・宛先・プロトコル・単一ポートが一致する"
        "連携がなければならない。共通基盤（shared）は対象外。",
        "When one system's security group admits traffic with another system (its security group or an "
        "address in its subnet), data_links must hold a link with that source, target, protocol and single "
        "port. The shared zone is exempt."),
    severity="high",
    enforcement="mandatory",
    sources=("shuyaku データ連携台帳", "shuyaku data-link register (inventory flows)"),
    remediation=msg("インベントリの連携（flows）に登録して再計画するか、ルールを申請どおりのポートに絞る。",
                    "Declare the link in the inventory's flows and re-plan, or narrow the rule to the "
                    "declared port."),
    resource_types=(T_SG_RULE, T_SUBNET),
    config_keys=("data_links",),
    check_stack=check_stack,
    tags=("tenancy",),
)
