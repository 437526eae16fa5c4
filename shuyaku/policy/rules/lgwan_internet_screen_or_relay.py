"""MIC three-layer measures: internet <-> LGWAN only as screen transfer (VDI) or via the sanitising relay."""

from __future__ import annotations

from shuyaku.contracts import separation as sep
from shuyaku.contracts.policy_settings import model_of
from shuyaku.contracts.vocabulary import LAYERS
from shuyaku.policy import net
from shuyaku.policy.context import T_SG, T_SG_RULE, Index, tags_of
from shuyaku.policy.model import Rule, msg
from shuyaku.policy.rules._common import describe, direction, remote_group, remote_layers

# The layer pairs that meet only through the sanitising relay (or by screen transfer), from the separation
# table: LGWAN and internet. Which side's VDI servers accept screen transfer depends on the model.
RELAYED: dict[str, frozenset[str]] = {
    a: frozenset(b for b in LAYERS if sep.link_path(a, b) == "relay") for a in LAYERS
}

# The platform tags the VDI gateway group role=vdi and the β/β' LGWAN desktop pool role=lgwan_desktop.
VDI_ROLES = {"vdi", "lgwan_desktop"}


def _role(sg) -> str | None:
    return tags_of(sg).get("role") if sg is not None else None


def _allowed(index: Index, r, local: str, other: str, settings) -> bool:
    sg = index.ref(r, "securityGroupId", (T_SG,))
    peer = remote_group(index, r)
    remote = net.sg_remote(r.props)
    remote_net = remote if isinstance(remote, net.IPv4Network | net.IPv6Network) else None
    # The sanitising relay is the one place files cross; it talks to both sides.
    if _role(sg) == "relay" or _role(peer) == "relay":
        return True
    if remote_net is not None and net.within(remote_net, net.nets(settings.get("relay_cidrs"))):
        return True
    proto = net.protocol(r.props)
    if proto not in ("tcp", "udp", "6", "17"):
        return False
    if not net.only_ports(net.port_range(r.props), set(settings.get("screen_transfer_ports") or [])):
        return False
    servers = sep.screen_servers(model_of(settings.get("separation_model")))
    if direction(r) == "ingress":
        return _role(sg) in VDI_ROLES and local in servers
    to_vdi = _role(peer) in VDI_ROLES or (
        remote_net is not None and net.within(remote_net, net.nets(settings.get("vdi_pool_cidrs"))))
    return to_vdi and other in servers


def check_stack(resources, settings):
    index = Index.ensure(resources)
    for r in index.of_type(T_SG_RULE):
        local = index.layer(r)
        if not local or not RELAYED[local]:
            continue
        layers = remote_layers(index, r, settings)
        if not layers:
            continue
        for other in sorted(RELAYED[local] & layers):
            if _allowed(index, r, local, other, settings):
                continue
            yield RULE.violation(
                r.urn,
                f"{local} 系と {other} 系の間の通信が画面転送・無害化中継以外で許可されています: {describe(r)}",
                f"the rule lets {local} and {other} talk other than by screen transfer or the sanitising "
                f"relay: {describe(r)}")


RULE = Rule(
    id="lgwan-internet-screen-or-relay",
    title=msg("LGWAN 接続系とインターネット接続系は画面転送か無害化中継のみ",
              "LGWAN and internet layers meet only by screen transfer or the sanitising relay"),
    description=msg(
        "LGWAN 接続系とインターネット接続系の間で許可できるのは、VDI（shuyaku:role=vdi のセキュリティグループ、"
        "vdi_pool_cidrs）の画面転送ポートへの接続と、無害化中継（shuyaku:role=relay、relay_cidrs）との通信だけ。"
        "どちら向きの画面転送を認めるかは分離モデル（α/α': LGWAN→インターネット系 VDI、β/β': 両方向）による。",
        "Between the LGWAN and internet layers only connections to the screen-transfer ports of the VDI "
        "pool (security groups tagged shuyaku:role=vdi, vdi_pool_cidrs) and traffic with the sanitising "
        "relay (shuyaku:role=relay, relay_cidrs) are allowed. The separation model decides the direction "
        "(α/α': LGWAN to a VDI in the internet layer; β/β': both ways)."),
    severity="critical",
    enforcement="mandatory",
    sources=("MIC 三層の対策: LGWAN 接続系とインターネット接続系の分割（画面転送・無害化）",
             "IPA LGWAN テレワーク条件（画面転送）"),
    remediation=msg(
        "ファイルの受け渡しは無害化中継を経由させ、端末からの利用は VDI の画面転送ポート（screen_transfer_ports）"
        "だけに絞る。",
        "Route files through the sanitising relay, and let terminals reach only the VDI pool's "
        "screen-transfer ports (screen_transfer_ports)."),
    resource_types=(T_SG_RULE,),
    config_keys=("separation_model", "layer_cidrs", "relay_cidrs", "vdi_pool_cidrs", "screen_transfer_ports"),
    check_stack=check_stack,
    tags=("separation",),
    requires=("layer_cidrs",),
)
