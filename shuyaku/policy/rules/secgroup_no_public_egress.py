"""AVD-OPNSTK-0004: no security group egress rule to a public CIDR wider than one address."""

from __future__ import annotations

from shuyaku.policy import net
from shuyaku.policy.context import T_SG_RULE
from shuyaku.policy.model import Rule, msg
from shuyaku.policy.rules._common import describe, direction


def check(res, settings):
    if direction(res) != "egress":
        return
    remote = net.sg_remote(res.props)
    if not isinstance(remote, net.IPv4Network | net.IPv6Network):
        return
    if not net.is_public(remote) or remote.num_addresses <= 1:
        return
    # The security cloud proxy may sit on a public range; egress to it is the design, not a leak.
    if net.within(remote, net.nets(settings.get("proxy_cidrs"))):
        return
    yield RULE.violation(res.urn, f"複数のグローバルアドレスへの送信を許可しています: {describe(res)}",
                         f"the rule allows egress to multiple public addresses: {describe(res)}")


RULE = Rule(
    id="secgroup-no-public-egress",
    title=msg("グローバルアドレス範囲への送信を許可しない", "No egress to a public range wider than one address"),
    description=msg(
        "送信ルールの宛先に、1 アドレスより広いグローバルアドレス範囲を指定しない（宛先の指定がないルールは"
        "全アドレス扱い）。自治体情報セキュリティクラウドのプロキシ（proxy_cidrs）宛ては除く。",
        "An egress rule's remote is never a public range wider than one address (a rule without a remote "
        "means every address). Traffic towards the security cloud proxy (proxy_cidrs) is exempt."),
    severity="medium",
    enforcement="mandatory",
    sources=("AVD-OPNSTK-0004",),
    remediation=msg("remote_ip_prefix をプロキシや必要な相手のアドレスに絞る。",
                    "Narrow remote_ip_prefix to the proxy or the one peer that needs it."),
    resource_types=(T_SG_RULE,),
    config_keys=("proxy_cidrs",),
    check=check,
    tags=("parity",),
)
