"""Tenancy: no all-protocol or all-port rule opening a tenant to another tenant's whole range."""

from __future__ import annotations

import ipaddress

from shuyaku.contracts import separation as sep
from shuyaku.policy import net
from shuyaku.policy.context import T_SG_RULE, T_SUBNET, Index
from shuyaku.policy.model import Rule, msg, plain
from shuyaku.policy.rules._common import describe, layer_nets, remote_group


def _peers(index: Index) -> list[tuple[str, net.Net]]:
    """(system, range) of every tenant the stack knows: its subnets, and the platform's hand-off."""
    memo: list[tuple[str, net.Net]] | None = index.memo.get("peer_ranges")  # type: ignore[assignment]
    if memo is None:
        memo = []
        for s in index.of_type(T_SUBNET):
            system = index.system(s)
            if system and index.layer(s) != sep.SERVICE_LAYER:
                memo += [(system, n) for n in net.nets([plain(s.props.get("cidr"))])]
        st = index.stack_tenant
        for p in st.peers if st is not None else ():
            if p.cidr and p.layer != sep.SERVICE_LAYER:
                memo += [(p.system, n) for n in net.nets([p.cidr])]
        index.memo["peer_ranges"] = memo
    return memo


def _peer_of(index: Index, r, local: str, layers: dict[str, list[net.Net]]) -> str | None:
    group = remote_group(index, r)
    if group is not None:
        other = index.system(group)
        return other if other and other.lower() != local.lower() and index.layer(group) != sep.SERVICE_LAYER else None
    remote = net.sg_remote(r.props)
    if not isinstance(remote, ipaddress.IPv4Network | ipaddress.IPv6Network) or net.is_any(remote):
        return None  # 0.0.0.0/0 is the public-address rules' matter
    for system, rng in _peers(index):
        if system.lower() != local.lower() and rng.version == remote.version and rng.subnet_of(remote):  # type: ignore[arg-type]
            return system
    for layer, cidrs in layers.items():  # a whole layer's range holds every tenant of that layer
        if layer != sep.SERVICE_LAYER and any(c.version == remote.version and c.subnet_of(remote)  # type: ignore[arg-type]
                                              for c in cidrs):
            return f"({layer} layer)"
    return None


def check_stack(resources, settings):
    index = Index.ensure(resources)
    layers = layer_nets(settings)
    for r in index.of_type(T_SG_RULE):
        if net.port_range(r.props) != (1, 65535):
            continue
        local = index.system(r)
        if not local or index.layer(r) == sep.SERVICE_LAYER:
            continue
        peer = _peer_of(index, r, local, layers)
        if peer is not None:
            yield RULE.violation(
                r.urn, f"{local} のルールが他のテナント {peer} の範囲全体に全プロトコル・全ポートを開けています: {describe(r)}",
                f"a rule of {local} opens every protocol or port to the whole range of tenant {peer}: {describe(r)}")


RULE = Rule(
    id="secgroup-no-all-protocols-from-peer-tenant",
    title=msg("他テナントの範囲全体に全プロトコル・全ポートを開けない",
              "No all-protocol or all-port rule with another tenant's whole range"),
    description=msg(
        "あるテナントのセキュリティグループが、他のテナントのセキュリティグループ、またはそのサブネットや"
        "系のアドレス範囲（layer_cidrs）を丸ごと含むアドレス範囲に対し、全プロトコルまたは全ポートを許可してはならない。連携は申請した"
        "プロトコルと単一ポートに限る（共通基盤は対象外、0.0.0.0/0 は公開アドレスのルールが扱う）。",
        "A tenant's security group must not open every protocol or every port to another tenant's group, "
        "or to an address range holding a whole subnet of another tenant or a whole layer's range "
        "(layer_cidrs). Links are a declared protocol and "
        "single port (the shared zone is exempt; 0.0.0.0/0 is for the public-address rules)."),
    severity="high",
    enforcement="mandatory",
    sources=("MIC 三層の対策: 通信の必要最小限化", "MIC three-layer measures: least traffic between systems"),
    remediation=msg("相手と通信するプロトコル・ポートだけを許可するルールに置き換え、連携を申請する。",
                    "Replace it with the protocol and port the link needs, and declare the link."),
    resource_types=(T_SG_RULE, T_SUBNET),
    config_keys=("layer_cidrs",),
    check_stack=check_stack,
    tags=("tenancy",),
)
