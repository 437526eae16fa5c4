"""Tenancy: allowed address pairs stay inside the tenant's own subnet."""

from __future__ import annotations

import ipaddress

from shuyaku.policy import net
from shuyaku.policy.context import T_NETWORK, T_PORT, T_SUBNET, Index
from shuyaku.policy.model import Rule, msg, plain


def _own_ranges(index: Index, port) -> list[net.Net]:
    network = index.ref(port, "networkId", (T_NETWORK,))
    out: list[net.Net] = []
    if network is not None:
        for s in index.of_type(T_SUBNET):
            if index.ref(s, "networkId", (T_NETWORK,)) is network:
                out += net.nets([plain(s.props.get("cidr"))])
    st = index.stack_tenant
    if not out and st is not None and st.cidr:
        out = net.nets([st.cidr])
    return out


def check_stack(resources, settings):
    index = Index.ensure(resources)
    for p in index.of_type(T_PORT):
        pairs = plain(p.props.get("allowedAddressPairs"))
        for pair in pairs if isinstance(pairs, list) else []:
            pair = plain(pair)
            addr = net.as_net(pair.get("ipAddress")) if isinstance(pair, dict) else None
            if not isinstance(addr, ipaddress.IPv4Network | ipaddress.IPv6Network):
                continue
            own = _own_ranges(index, p)
            if net.is_any(addr) or (own and not net.within(addr, own)):
                where = ", ".join(str(o) for o in own) or "-"
                yield RULE.violation(
                    p.urn, f"許可アドレスペア {addr} がテナントのサブネット（{where}）より広い範囲です。",
                    f"allowed address pair {addr} is wider than the tenant's own subnet ({where}).")


RULE = Rule(
    id="port-no-wide-address-pairs",
    title=msg("許可アドレスペアはテナントのサブネットの中だけ", "Allowed address pairs stay inside the tenant's subnet"),
    description=msg(
        "allowed_address_pairs に 0.0.0.0/0 やテナント自身のサブネットを超える範囲を書くと、ポートが"
        "他のアドレスになりすませ、なりすまし防止とアドレスに基づく通信制御が効かなくなる。",
        "allowed_address_pairs of 0.0.0.0/0, or of any range beyond the tenant's own subnet, let the port "
        "send as other addresses: anti-spoofing and every address-based rule stop holding."),
    severity="high",
    enforcement="mandatory",
    sources=("MIC 三層の対策: 通信の制御", "MIC three-layer measures: traffic control"),
    remediation=msg("アドレスペアを VIP など自サブネット内の特定アドレス（/32）に絞る。",
                    "Narrow the pair to the specific address (a /32 VIP) inside your own subnet."),
    resource_types=(T_PORT, T_SUBNET, T_NETWORK),
    check_stack=check_stack,
    tags=("tenancy",),
)
