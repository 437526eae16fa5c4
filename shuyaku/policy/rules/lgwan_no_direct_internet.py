"""MIC three-layer measures: the LGWAN layer does not reach the internet (α' breakout excepted)."""

from __future__ import annotations

from shuyaku.contracts import separation as sep
from shuyaku.contracts.policy_settings import model_of
from shuyaku.contracts.vocabulary import Layer
from shuyaku.policy import net
from shuyaku.policy.context import T_SG_RULE, Index
from shuyaku.policy.model import Rule, msg
from shuyaku.policy.rules._common import describe, direction, layer_nets


def check_stack(resources, settings):
    index = Index.ensure(resources)
    allowed = net.nets(settings.get("lgwan_wan_cidrs")) + net.nets(settings.get("proxy_cidrs"))
    allowed += [c for cidrs in layer_nets(settings).values() for c in cidrs]
    breakout = net.nets(settings.get("lgwan_breakout_cidrs"))
    # α' lets the LGWAN layer reach allow-listed cloud services directly; no other model does.
    breakout_ok = Layer.lgwan in sep.breakout_layers(model_of(settings.get("separation_model")))
    for r in index.of_type(T_SG_RULE):
        if direction(r) != "egress" or index.layer(r) != Layer.lgwan:
            continue
        remote = net.sg_remote(r.props)
        if not isinstance(remote, net.IPv4Network | net.IPv6Network) or not net.is_public(remote):
            continue
        if net.within(remote, allowed):
            continue
        if net.within(remote, breakout):
            if breakout_ok:
                continue
            yield RULE.violation(
                r.urn,
                f"LGWAN 接続系からのクラウド直接接続（{remote}）は α' モデルでのみ認められます: {describe(r)}",
                f"direct cloud access from the LGWAN layer ({remote}) is allowed only under the α' "
                f"model: {describe(r)}")
            continue
        yield RULE.violation(
            r.urn,
            f"LGWAN 接続系からインターネットへの送信を許可しています: {describe(r)}",
            f"the LGWAN layer may send to the internet: {describe(r)}")


RULE = Rule(
    id="lgwan-no-direct-internet",
    title=msg("LGWAN 接続系からインターネットに直接出ない", "No direct internet egress from the LGWAN layer"),
    description=msg(
        "LGWAN 接続系の送信先は LGWAN 網（lgwan_wan_cidrs）と庁内の各系に限る。α' モデルに限り、"
        "許可リストのクラウドサービス（lgwan_breakout_cidrs）へ直接接続できる。",
        "The LGWAN layer sends only to the LGWAN backbone (lgwan_wan_cidrs) and internal layers; only "
        "under the α' model may it reach the allow-listed cloud services (lgwan_breakout_cidrs) directly."),
    severity="high",
    enforcement="mandatory",
    sources=("MIC 三層の対策: LGWAN 接続系", "MIC α' モデル（LGWAN 接続系からのクラウドサービス利用）"),
    remediation=msg(
        "送信ルールの宛先を LGWAN 網と庁内に限る。クラウドサービスは α' モデルで lgwan_breakout_cidrs に登録する。",
        "Limit egress to the LGWAN backbone and internal ranges; list cloud services in "
        "lgwan_breakout_cidrs under the α' model."),
    resource_types=(T_SG_RULE,),
    config_keys=("separation_model", "layer_cidrs", "lgwan_wan_cidrs", "lgwan_breakout_cidrs", "proxy_cidrs"),
    check_stack=check_stack,
    tags=("separation",),
    requires=("layer_cidrs",),
)
