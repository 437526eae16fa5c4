"""MIC three-layer measures: traffic into My Number from other layers only as a listed exception."""

from __future__ import annotations

from shuyaku.contracts import separation as sep
from shuyaku.contracts.vocabulary import Layer
from shuyaku.policy import net
from shuyaku.policy.context import T_SG_RULE, Index
from shuyaku.policy.model import Rule, msg
from shuyaku.policy.rules._common import describe, direction, remote_layers


def _listed(res, settings) -> bool:
    remote = net.sg_remote(res.props)
    if not isinstance(remote, net.IPv4Network | net.IPv6Network):
        return False
    proto = net.protocol(res.props)
    rng = net.port_range(res.props)
    for e in settings.get("mynumber_ingress_exceptions") or []:
        src = net.parse_net(str(e.get("source_cidr", "")))
        if src is None or not net.within(remote, [src]):
            continue
        if str(e.get("protocol", "")).lower() != proto:
            continue
        port = e.get("port")
        if isinstance(rng, tuple) and rng == (port, port):
            return True
    return False


_NAMES = {
    "lgwan": ("LGWAN 接続系", "the LGWAN layer"),
    "internet": ("インターネット接続系", "the internet layer"),
    "public": ("インターネット", "the internet"),
    "unclassified": ("どの系にも属さないアドレス", "addresses in no configured layer"),
}


def known(settings) -> list:
    return net.nets([c for cidrs in (settings.get("layer_cidrs") or {}).values() for c in cidrs])


def path_from(remote: str) -> sep.Path:
    """What the separation table says of traffic from `remote` into My Number. The internet beyond the
    internet layer is as forbidden as the layer; an address in no configured layer is not known to be
    harmless, so it needs a listed exception like the hub (deny by default)."""
    if remote == "public":
        remote = Layer.internet
    if remote == "unclassified":
        return "hub"
    return sep.link_path(remote, Layer.mynumber)


def _names(found: set[str]) -> tuple[str, str]:
    return ("、".join(_NAMES.get(x, (x, x))[0] for x in sorted(found)),
            ", ".join(_NAMES.get(x, (x, x))[1] for x in sorted(found)))


def check_stack(resources, settings):
    index = Index.ensure(resources)
    for r in index.of_type(T_SG_RULE):
        if direction(r) != "ingress" or index.layer(r) != Layer.mynumber:
            continue
        layers = remote_layers(index, r, settings)
        if layers is None:
            continue
        remote = net.sg_remote(r.props)
        if (isinstance(remote, net.IPv4Network | net.IPv6Network) and "public" not in layers
                and not net.within(remote, known(settings))):
            layers = layers | {"unclassified"}
        # Direct paths (the layer itself, the shared zone) need nothing; forbidden ones no list can open.
        forbidden = {x for x in layers if path_from(x) == "forbidden"}
        unlisted = {x for x in layers if path_from(x) not in ("direct", "forbidden")}
        if forbidden:
            ja, en = _names(forbidden)
            yield RULE.violation(
                r.urn,
                f"マイナンバー系への受信を{ja}から許可しています（三層の対策で禁止、例外にもできません）: {describe(r)}",
                f"the rule admits traffic into the My Number layer from {en}, which three-layer separation "
                f"forbids (no exception can allow it): {describe(r)}")
        elif unlisted and not _listed(r, settings):
            ja, en = _names(unlisted)
            yield RULE.violation(
                r.urn,
                f"マイナンバー系への受信を他の系（{ja}）から許可しています（例外一覧にありません）: {describe(r)}",
                f"the rule admits traffic into the My Number layer from {en}, which is not a listed "
                f"exception: {describe(r)}")


RULE = Rule(
    id="mynumber-ingress-only-listed",
    title=msg("マイナンバー系への他系からの通信は例外一覧のみ",
              "Traffic into My Number from other layers only as listed exceptions"),
    description=msg(
        "マイナンバー系のセキュリティグループは、他の系（LGWAN 接続系・インターネット接続系・不明なアドレス）"
        "からの受信を、mynumber_ingress_exceptions に載った送信元・プロトコル・ポートに限って許可する。"
        "共通基盤（shared）からは許可。",
        "A My Number security group admits traffic from another layer (LGWAN, internet, or unknown "
        "addresses) only when source, protocol and single port match mynumber_ingress_exceptions; the "
        "shared management zone is allowed."),
    severity="critical",
    enforcement="mandatory",
    sources=("MIC 三層の対策: マイナンバー利用事務系と他の領域との通信の制限",
             "MIC three-layer measures: My Number traffic denied by default"),
    remediation=msg(
        "ルールを削除するか、データ連携基盤などの必要な通信を mynumber_ingress_exceptions に送信元 CIDR・"
        "プロトコル・ポート単位で登録し、ルールをその範囲に合わせる。",
        "Remove the rule, or list the needed flow (e.g. from the integration hub) in "
        "mynumber_ingress_exceptions by source CIDR, protocol and port, and narrow the rule to it."),
    resource_types=(T_SG_RULE,),
    config_keys=("layer_cidrs", "mynumber_ingress_exceptions"),
    check_stack=check_stack,
    tags=("separation",),
    requires=("layer_cidrs",),
)
