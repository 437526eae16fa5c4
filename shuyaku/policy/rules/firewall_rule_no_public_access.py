"""AVD-OPNSTK-0002: an allowing firewall rule restricts its source, and neither end is public."""

from __future__ import annotations

from shuyaku.policy import net
from shuyaku.policy.context import T_FW_RULE
from shuyaku.policy.model import UNKNOWN, Rule, msg
from shuyaku.policy.rules.firewall_rule_destination_required import allows


def check(res, settings):
    if not allows(res):
        return
    src = net.as_net(res.props.get("sourceIpAddress"))
    dst = net.as_net(res.props.get("destinationIpAddress"))
    if src is None:
        yield RULE.violation(res.urn, "許可ルールに送信元アドレス（source_ip_address）がありません。",
                             "the allow rule does not restrict its source (source_ip_address).")
    elif src is not UNKNOWN and net.is_public(src):
        yield RULE.violation(res.urn, f"許可ルールがインターネットからの受信を許しています（送信元 {src}）。",
                             f"the allow rule admits traffic from the public internet (source {src}).")
    if dst is not None and dst is not UNKNOWN and net.is_public(dst):
        yield RULE.violation(res.urn, f"許可ルールがインターネットへの送信を許しています（宛先 {dst}）。",
                             f"the allow rule lets traffic out to the public internet (destination {dst}).")


RULE = Rule(
    id="firewall-rule-no-public-access",
    title=msg("ファイアウォール許可ルールをインターネットに開けない",
              "Firewall allow rules neither come from nor go to the public internet"),
    description=msg(
        "FWaaS の許可ルールは送信元を限定し、送信元・宛先ともにグローバルアドレスを含めない。",
        "An FWaaS allow rule restricts its source, and neither its source nor its destination "
        "includes public addresses."),
    severity="medium",
    enforcement="mandatory",
    sources=("AVD-OPNSTK-0002",),
    remediation=msg("source_ip_address / destination_ip_address を庁内のアドレス範囲に限定する。",
                    "Limit source_ip_address and destination_ip_address to internal ranges."),
    resource_types=(T_FW_RULE,),
    check=check,
    tags=("parity",),
)
