"""CKV_OPENSTACK_5 / AVD-OPNSTK-0002: an allowing firewall rule names its destination."""

from __future__ import annotations

from shuyaku.policy.context import T_FW_RULE
from shuyaku.policy.model import UNKNOWN, Rule, msg, plain


def allows(res) -> bool:
    """Enabled allow rules only: FWaaS rules deny by default and are enabled unless said otherwise."""
    action = plain(res.props.get("action"))
    enabled = plain(res.props.get("enabled"))
    return str(action or "deny").lower() == "allow" and enabled is not False


def check(res, settings):
    if not allows(res):
        return
    dest = plain(res.props.get("destinationIpAddress"))
    if dest is UNKNOWN:
        return
    if not dest:
        yield RULE.violation(res.urn, "許可ルールに宛先アドレス（destination_ip_address）がありません。",
                             "the allow rule has no destination address (destination_ip_address).")


RULE = Rule(
    id="firewall-rule-destination-required",
    title=msg("ファイアウォール許可ルールには宛先を指定する", "Firewall allow rules name a destination"),
    description=msg(
        "宛先のない FWaaS 許可ルールはすべての宛先への通信を通す。",
        "An FWaaS allow rule without a destination lets traffic through to every address."),
    severity="medium",
    enforcement="mandatory",
    sources=("CKV_OPENSTACK_5", "AVD-OPNSTK-0002"),
    remediation=msg("destination_ip_address に通信先のアドレス範囲を指定する。",
                    "Set destination_ip_address to the range the traffic is meant for."),
    resource_types=(T_FW_RULE,),
    check=check,
    tags=("parity",),
)
