"""AVD-OPNSTK-0003: no security group ingress rule from a public CIDR wider than one address."""

from __future__ import annotations

from shuyaku.policy import net
from shuyaku.policy.context import T_SG_RULE
from shuyaku.policy.model import Rule, msg
from shuyaku.policy.rules._common import describe, direction


def check(res, settings):
    if direction(res) != "ingress":
        return
    remote = net.sg_remote(res.props)
    if not isinstance(remote, net.IPv4Network | net.IPv6Network):
        return
    if net.is_public(remote) and remote.num_addresses > 1:
        yield RULE.violation(res.urn, f"複数のグローバルアドレスからの受信を許可しています: {describe(res)}",
                             f"the rule admits ingress from multiple public addresses: {describe(res)}")


RULE = Rule(
    id="secgroup-no-public-ingress",
    title=msg("グローバルアドレス範囲からの受信を許可しない", "No ingress from a public range wider than one address"),
    description=msg(
        "受信ルールの接続元に、1 アドレスより広いグローバルアドレス範囲を指定しない"
        "（接続元の指定がないルールは全アドレス扱い）。",
        "An ingress rule's remote is never a public range wider than one address "
        "(a rule without a remote means every address)."),
    severity="medium",
    enforcement="mandatory",
    sources=("AVD-OPNSTK-0003",),
    remediation=msg("remote_ip_prefix を必要な相手の /32（IPv6 は /128）か庁内の範囲に絞る。",
                    "Narrow remote_ip_prefix to the one peer that needs it (/32, /128) or to an internal range."),
    resource_types=(T_SG_RULE,),
    check=check,
    tags=("parity",),
)
