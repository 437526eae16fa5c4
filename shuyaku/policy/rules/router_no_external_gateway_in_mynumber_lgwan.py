"""MIC three-layer measures: no external gateway onto the internet from the My Number or LGWAN layer."""

from __future__ import annotations

from shuyaku.policy.context import T_NETWORK, T_ROUTER, Index
from shuyaku.policy.model import UNKNOWN, Rule, msg, plain
from shuyaku.policy.rules._common import names_of, tenant_owned


def _gateway(r) -> tuple[str | None, bool]:
    """(the external network, whether there is a gateway at all)."""
    ext = plain(r.props.get("externalNetworkId"))
    fixed = plain(r.props.get("externalFixedIps"))
    subnets = plain(r.props.get("externalSubnetIds"))
    has = bool(ext and ext is not UNKNOWN) or (isinstance(fixed, list) and bool(fixed)) or (
        isinstance(subnets, list) and bool(subnets))
    return (ext if isinstance(ext, str) else None), has


def check_stack(resources, settings):
    index = Index.ensure(resources)
    provider = settings.get("provider_networks") or {}
    foreign = {n for layer, names in provider.items() if layer != "lgwan" for n in names}
    for r in index.of_type(T_ROUTER):
        layer = index.layer(r)
        if layer not in ("mynumber", "lgwan"):
            continue
        ext, has = _gateway(r)
        if not has:
            continue
        if layer == "mynumber":
            yield RULE.violation(r.urn, "マイナンバー系のルータに外部ゲートウェイがあります。",
                                 "a router in the My Number layer has an external gateway.")
            continue
        who = tenant_owned(index, r)
        names = names_of(index, ext, (T_NETWORK,))
        if who is not None:
            yield RULE.violation(r.urn, f"LGWAN 接続系のテナント {who} のルータに外部ゲートウェイがあります。",
                                 f"a router of LGWAN tenant {who} has an external gateway.")
        elif names & foreign:
            net = sorted(names & foreign)[0]
            yield RULE.violation(r.urn, f"LGWAN 接続系のルータの外部ゲートウェイが他の系のネットワーク {net} にあります。",
                                 f"the LGWAN router's external gateway is on {net}, another layer's network.")


RULE = Rule(
    id="router-no-external-gateway-in-mynumber-lgwan",
    title=msg("マイナンバー系・LGWAN 接続系のルータはインターネットに出るゲートウェイを持たない",
              "No external gateway to the internet on My Number or LGWAN routers"),
    description=msg(
        "マイナンバー利用事務系のルータは外部ゲートウェイを持たない。LGWAN 接続系のルータが外部ゲートウェイを"
        "持てるのは運用者のゾーンルータが LGWAN のプロバイダネットワークに出る場合だけで、他の系の"
        "プロバイダネットワーク（provider_networks）やテナントのルータには置けない。",
        "A My Number router has no external gateway. An LGWAN router may have one only when it is the "
        "operator's zone router on the LGWAN provider network: never on another layer's provider network "
        "(provider_networks), never on a tenant's router."),
    severity="critical",
    enforcement="mandatory",
    sources=("MIC 三層の対策: マイナンバー利用事務系・LGWAN 接続系とインターネットの分離",
             "MIC three-layer measures: My Number and LGWAN layers separated from the internet"),
    remediation=msg("外部ゲートウェイを外す（LGWAN のゾーンルータは LGWAN のプロバイダネットワークだけに出す）。",
                    "Clear the external gateway (the LGWAN zone router goes out on the LGWAN provider network only)."),
    resource_types=(T_ROUTER, T_NETWORK),
    config_keys=("provider_networks",),
    check_stack=check_stack,
    tags=("separation",),
)
