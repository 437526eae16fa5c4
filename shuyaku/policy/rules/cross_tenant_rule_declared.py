"""Tenancy: a security group rule between two systems matches a declared data link."""

from __future__ import annotations

import ipaddress
from typing import Any

from shuyaku.policy import net
from shuyaku.policy.context import T_SG_RULE, T_SUBNET, Index
from shuyaku.policy.model import Rule, msg
from shuyaku.policy.rules._common import describe, direction, remote_group


def _subnet_systems(index: Index) -> dict[tuple[int, int, int], str]:
    """(version, network as int, prefix length) -> system, for every tenant subnet."""
    out: dict[tuple[int, int, int], str] = {}
    for s in index.of_type(T_SUBNET):
        n = net.as_net(s.props.get("cidr"))
        if isinstance(n, net.IPv4Network | net.IPv6Network):
            system = index.system(s)
            if system and index.layer(s) != "shared":
                out[(n.version, int(n.network_address), n.prefixlen)] = system
    return out


def _system_of_cidr(remote, subnets: dict[tuple[int, int, int], str], memo: dict) -> str | None:
    """The system whose subnet holds the whole remote range: walk up the supernets with integer masks."""
    if remote in memo:
        return memo[remote]
    memo[remote] = found = _walk(remote, subnets)
    return found


def _walk(remote, subnets: dict[tuple[int, int, int], str]) -> str | None:
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


def check_stack(resources, settings):
    index = Index.ensure(resources)
    links = {(str(x.get("source_system")), str(x.get("target_system")), str(x.get("protocol", "")).lower(),
              x.get("port")) for x in settings.get("data_links") or [] if isinstance(x, dict)}
    subnets: dict[tuple[int, int, int], str] | None = None
    memo: dict = {}
    for r in index.of_type(T_SG_RULE):
        local = index.system(r)
        if not local or index.layer(r) == "shared":
            continue
        peer = remote_group(index, r)
        if peer is not None:
            remote = index.system(peer) if index.layer(peer) != "shared" else None
        else:
            rnet = net.sg_remote(r.props)
            if not isinstance(rnet, ipaddress.IPv4Network | ipaddress.IPv6Network) or net.is_any(rnet):
                continue
            if subnets is None:
                subnets = _subnet_systems(index)
            remote = _system_of_cidr(rnet, subnets, memo)
        if not remote or remote == local:
            continue
        d = direction(r)
        src, dst = (remote, local) if d == "ingress" else (local, remote)
        if _declared(links, src, dst, net.protocol(r.props), net.port_range(r.props)):
            continue
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
