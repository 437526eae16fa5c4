"""Tenancy: port security stays on, so security groups and anti-spoofing apply to every port."""

from __future__ import annotations

from shuyaku.policy.context import T_NETWORK, T_PORT
from shuyaku.policy.model import Rule, msg, plain


def check(res, settings):
    if plain(res.props.get("portSecurityEnabled")) is False:
        what = ("ネットワーク", "network") if res.type == T_NETWORK else ("ポート", "port")
        yield RULE.violation(res.urn, f"{what[0]}のポートセキュリティが無効（port_security_enabled=false）です。",
                             f"port security is off on the {what[1]} (port_security_enabled=false).")
    if res.type == T_PORT and plain(res.props.get("noSecurityGroups")) is True:
        yield RULE.violation(res.urn, "ポートにセキュリティグループがありません（no_security_groups=true）。",
                             "the port has no security groups (no_security_groups=true).")


RULE = Rule(
    id="port-security-enabled",
    title=msg("ポートセキュリティを無効にしない", "Port security stays enabled"),
    description=msg(
        "port_security_enabled=false のポートやネットワークにはセキュリティグループも送信元アドレスの"
        "なりすまし防止も効かず、系の通信制御を素通りする。",
        "A port or network with port_security_enabled=false gets no security groups and no anti-spoofing: "
        "traffic passes every control of its layer."),
    severity="high",
    enforcement="mandatory",
    sources=("MIC 三層の対策: 通信の制御", "MIC three-layer measures: traffic control",
             "shuyaku 基盤の不変条件", "shuyaku invariant: every port filtered"),
    remediation=msg("port_security_enabled を既定（true）に戻し、基盤のセキュリティグループを付ける。",
                    "Leave port_security_enabled at its default (true) and attach the platform's groups."),
    resource_types=(T_PORT, T_NETWORK),
    check=check,
    tags=("tenancy",),
)
