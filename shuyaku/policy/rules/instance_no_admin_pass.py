"""CKV_OPENSTACK_4 / AVD-OPNSTK-0001: an instance carries no admin password."""

from __future__ import annotations

from shuyaku.policy.context import T_INSTANCE
from shuyaku.policy.model import UNKNOWN, Rule, SecretValue, msg


def check(res, settings):
    raw = res.props.get("adminPass")
    if raw is None or raw == "" or raw is UNKNOWN:
        return
    if isinstance(raw, SecretValue) and raw.readable and raw.value in ("", None):
        return
    yield RULE.violation(res.urn, "インスタンスに adminPass（管理者パスワード）が設定されています。",
                         "the instance has adminPass (an administrator password) set.")


RULE = Rule(
    id="instance-no-admin-pass",
    title=msg("インスタンスに管理者パスワードを設定しない", "No admin password on an instance"),
    description=msg(
        "admin_pass は状態とメタデータサービスに残り、パスワードログインを前提にする。鍵ペアを使う。",
        "admin_pass stays in state and in the metadata service and implies password login; use key pairs."),
    severity="high",
    enforcement="mandatory",
    sources=("CKV_OPENSTACK_4", "AVD-OPNSTK-0001"),
    remediation=msg("adminPass を外し、key_pair（鍵ペア）でログインする。",
                    "Remove adminPass and log in with a key pair (key_pair)."),
    resource_types=(T_INSTANCE,),
    check=check,
    tags=("parity",),
)
