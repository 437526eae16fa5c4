"""MIC three-layer measures: no port or server NIC on an external (provider) network."""

from __future__ import annotations

from shuyaku.policy.context import T_INSTANCE, T_NETWORK, T_PORT, Index
from shuyaku.policy.model import Rule, msg, plain
from shuyaku.policy.rules._common import names_of


def _external(index: Index, value, provider: set[str]) -> str | None:
    """The external network a reference (id or name) names, if it is one."""
    names = names_of(index, value, (T_NETWORK,))
    for target in index.by_id.get(plain(value), ()) if isinstance(plain(value), str) else ():
        if target.type == T_NETWORK and plain(target.props.get("external")) is True:
            return str(plain(target.props.get("name")) or plain(value))
    hit = sorted(names & provider)
    return hit[0] if hit else None


def _port_network(index: Index, port) -> str | None:
    net = index.ref(port, "networkId", (T_NETWORK,))
    if net is not None and plain(net.props.get("external")) is True:
        return str(plain(net.props.get("name")) or net.name)
    return None


def check_stack(resources, settings):
    index = Index.ensure(resources)
    provider = {n for names in (settings.get("provider_networks") or {}).values() for n in names}
    for p in index.of_type(T_PORT):
        ext = _port_network(index, p) or _external(index, p.props.get("networkId"), provider)
        if ext:
            yield RULE.violation(p.urn, f"ポートが外部（プロバイダ）ネットワーク {ext} 上にあります。",
                                 f"the port is on the external (provider) network {ext}.")
    for inst in index.of_type(T_INSTANCE):
        nets = plain(inst.props.get("networks"))
        for n in nets if isinstance(nets, list) else []:
            n = plain(n)
            if not isinstance(n, dict):
                continue
            ext = _external(index, n.get("uuid"), provider) or _external(index, n.get("name"), provider)
            if ext:
                yield RULE.violation(inst.urn, f"サーバが外部（プロバイダ）ネットワーク {ext} に直接つながっています。",
                                     f"the server has a NIC on the external (provider) network {ext}.")


RULE = Rule(
    id="port-not-on-external-network",
    title=msg("外部（プロバイダ）ネットワークにポートを作らない", "No port on an external (provider) network"),
    description=msg(
        "ポートやサーバの NIC を外部ネットワーク（external=true のネットワーク、または provider_networks に"
        "挙げた LGWAN・インターネットのプロバイダネットワーク）に直接置かない。置けば系のルータも"
        "セキュリティクラウドも通らずに外に出られる。",
        "No port or server NIC sits directly on an external network (external=true, or an LGWAN or internet "
        "provider network listed in provider_networks): it would reach outside past the zone router and "
        "the security cloud."),
    severity="critical",
    enforcement="mandatory",
    sources=("MIC 三層の対策: 系ごとの通信経路の限定", "MIC three-layer measures: each layer's only way out"),
    remediation=msg("ポートはテナントのネットワーク（引き渡し情報の network_id）に作る。",
                    "Create ports on the tenant's own network (network_id in the tenant outputs)."),
    resource_types=(T_PORT, T_INSTANCE, T_NETWORK),
    config_keys=("provider_networks",),
    check_stack=check_stack,
    tags=("separation",),
)
