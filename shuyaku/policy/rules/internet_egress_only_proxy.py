"""Prefecture security cloud: the internet layer reaches the internet only through the proxy."""

from __future__ import annotations

from shuyaku.policy import net
from shuyaku.policy.context import T_SG, T_SG_RULE, Index
from shuyaku.policy.model import UNKNOWN, Rule, msg, plain
from shuyaku.policy.rules._common import describe, direction, layer_nets


def check_stack(resources, settings):
    index = Index.ensure(resources)
    proxy = net.nets(settings.get("proxy_cidrs"))
    internal = [c for cidrs in layer_nets(settings).values() for c in cidrs]
    for sg in index.of_type(T_SG):
        if index.layer(sg) != "internet":
            continue
        # Neutron gives every new group "egress to anywhere" rules unless told not to.
        ddr = plain(sg.props.get("deleteDefaultRules"))
        if ddr is not True and ddr is not UNKNOWN:
            yield RULE.violation(
                sg.urn,
                "インターネット接続系のセキュリティグループが既定の全送信許可ルールを残しています"
                "（delete_default_rules が true でない）。",
                "the internet-layer security group keeps Neutron's default allow-all egress rules "
                "(delete_default_rules is not true).")
    for r in index.of_type(T_SG_RULE):
        if direction(r) != "egress" or index.layer(r) != "internet":
            continue
        remote = net.sg_remote(r.props)
        if not isinstance(remote, net.IPv4Network | net.IPv6Network):
            continue
        if net.within(remote, proxy) or net.within(remote, internal) or not net.is_public(remote):
            continue
        yield RULE.violation(
            r.urn,
            f"インターネット接続系からプロキシ以外のインターネットへの送信を許可しています: {describe(r)}",
            f"the internet layer may send to the internet other than through the proxy: {describe(r)}")


RULE = Rule(
    id="internet-egress-only-proxy",
    title=msg("インターネット接続系の外向き通信はプロキシのみ", "Internet-layer egress only through the proxy"),
    description=msg(
        "インターネット接続系は自治体情報セキュリティクラウドのプロキシ（proxy_cidrs）経由でのみ"
        "インターネットに出る。セキュリティグループは既定の全送信許可ルールを削除し（delete_default_rules）、"
        "グローバルアドレス宛ての送信はプロキシ宛てに限る。",
        "The internet layer reaches the internet only through the prefecture's security cloud proxy "
        "(proxy_cidrs): its security groups drop Neutron's default egress rules (delete_default_rules) "
        "and allow egress to public addresses only towards the proxy."),
    severity="high",
    enforcement="mandatory",
    sources=("総務省 自治体情報セキュリティクラウド", "MIC three-layer measures: internet layer via security cloud"),
    remediation=msg(
        "セキュリティグループに delete_default_rules: true を付け、送信ルールの宛先をプロキシ（proxy_cidrs）"
        "と庁内の範囲に限る。",
        "Set delete_default_rules: true on the security group and limit egress rules to the proxy "
        "(proxy_cidrs) and internal ranges."),
    resource_types=(T_SG, T_SG_RULE),
    config_keys=("proxy_cidrs", "layer_cidrs"),
    check_stack=check_stack,
    tags=("separation",),
    requires=("layer_cidrs", "proxy_cidrs"),
)
