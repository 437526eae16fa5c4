"""Secrets: no passwords, private keys or tokens in user data, metadata or image properties."""

from __future__ import annotations

from typing import Any

from shuyaku.policy.context import T_INSTANCE, T_VOLUME
from shuyaku.policy.model import Rule, SecretValue, msg
from shuyaku.policy.rules import _secrets

T_IMAGE = "openstack:images/image:Image"

_FIELDS = {
    T_INSTANCE: ("userData", "metadata", "personalities"),
    T_VOLUME: ("metadata",),
    T_IMAGE: ("properties",),
}


# A value the program marked as a Pulumi secret is a secret by its author's word, and these fields are read
# in clear through the metadata service and the API. It is reported without looking inside, so a preview's
# JSON (which shows every secret as "[secret]") and the pack (which reads the value) say the same.
PULUMI_SECRET = "Pulumi secret"


def _scan(field: str, value: Any):
    """Yield (where, kind) for every secret-looking value below `field`."""
    for where, key, leaf in _secrets.leaves(field, value):
        if isinstance(leaf, SecretValue):
            yield where, PULUMI_SECRET
        elif isinstance(leaf, str) and (kind := _secrets.kind_in(key, leaf)):
            yield where, kind


def check(res, settings):
    for field in _FIELDS.get(res.type, ()):
        for where, kind in _scan(field, res.props.get(field)):
            yield RULE.violation(res.urn, f"{where} に秘密情報（{kind}）が含まれています。",
                                 f"{where} contains a secret ({kind}).")


RULE = Rule(
    id="no-plaintext-secrets",
    title=msg("ユーザーデータやメタデータに秘密情報を書かない",
              "No passwords, private keys or tokens in user data or metadata"),
    description=msg(
        "インスタンスの user_data・metadata・personality、ボリュームのメタデータ、イメージのプロパティは"
        "メタデータサービスや API から読めてしまう。パスワード代入、秘密鍵、トークンを含めない。"
        "Pulumi のシークレットにした値も、中身を見ずに秘密情報として扱う。",
        "Instance user_data, metadata and personality files, volume metadata and image properties are "
        "readable through the metadata service and the API; they carry no password assignment, private "
        "key or token. A value marked as a Pulumi secret counts as a secret without looking inside."),
    severity="high",
    enforcement="mandatory",
    sources=("総務省 情報セキュリティポリシーガイドライン（認証情報の管理）", "CWE-798"),
    remediation=msg(
        "秘密情報は Barbican などのシークレットストアか、プロビジョニング時に Ansible Vault で渡す。"
        "ログインは鍵ペアで行う。",
        "Deliver secrets from a secret store (Barbican) or with Ansible Vault at provisioning time; "
        "log in with key pairs."),
    resource_types=tuple(_FIELDS),
    check=check,
    tags=("secrets",),
)
