"""AVD-OPNSTK-0005: every security group says what it is for."""

from __future__ import annotations

from shuyaku.policy.context import T_SG
from shuyaku.policy.model import UNKNOWN, Rule, msg, plain


def check(res, settings):
    d = plain(res.props.get("description"))
    if d is UNKNOWN:
        return
    if not isinstance(d, str) or not d.strip():
        yield RULE.violation(res.urn, "セキュリティグループに説明（description）がありません。",
                             "the security group has no description.")


RULE = Rule(
    id="secgroup-description-required",
    title=msg("セキュリティグループには説明を付ける", "Security groups carry a description"),
    description=msg("監査のため、各セキュリティグループに用途の説明を付ける。",
                    "Each security group says what it is for, so an auditor can follow it."),
    severity="low",
    enforcement="advisory",
    sources=("AVD-OPNSTK-0005",),
    remediation=msg("description に用途（システム名・役割）を書く。",
                    "Write the purpose (system and role) into description."),
    resource_types=(T_SG,),
    check=check,
    tags=("parity",),
)
