"""Secrets: no credentials hidden in encoded user data (base64, gzip, write_files b64 contents)."""

from __future__ import annotations

from shuyaku.policy.context import T_INSTANCE
from shuyaku.policy.model import Rule, msg
from shuyaku.policy.rules import _secrets


def check(res, settings):
    text = res.props.get("userData")
    if not isinstance(text, str):
        return  # a Pulumi secret is no-plaintext-secrets' matter; unknown is not guessed
    for how, inner in _secrets.decoded(text):
        kind = _secrets.find(inner)
        if kind:
            yield RULE.violation(res.urn, f"userData を復号（{how}）すると秘密情報（{kind}）が含まれています。",
                                 f"userData, once decoded ({how}), contains a secret ({kind}).")


RULE = Rule(
    id="no-secrets-in-user-data",
    title=msg("エンコードしたユーザーデータにも秘密情報を書かない", "No secrets hidden in encoded user data"),
    description=msg(
        "base64 や gzip+base64 にしたユーザーデータ、cloud-init の write_files の b64 内容も、"
        "メタデータサービスから誰でも読めて復号できる。復号した中身にパスワード（db_pw、MYSQL_PWD、"
        "*_password など）、秘密鍵、トークン、TOTP のシード（otpauth:// や totp/otp という名前の base32）を"
        "含めない。平文のユーザーデータは no-plaintext-secrets が確認する。",
        "User data encoded as base64 or gzip+base64, and cloud-init write_files contents in b64, are read "
        "and decoded by anyone through the metadata service. Decoded, they carry no password (db_pw, "
        "MYSQL_PWD, *_password, ...), private key, token or TOTP seed (otpauth:// or a base32 value named "
        "totp/otp). Plain user data is no-plaintext-secrets' matter."),
    severity="high",
    enforcement="mandatory",
    sources=("IPA LGWAN 接続系テレワーク: 二要素認証の秘密の管理", "CWE-798",
             "総務省 情報セキュリティポリシーガイドライン（認証情報の管理）"),
    remediation=msg("秘密情報はシークレットストアかプロビジョニング時（Ansible Vault）に渡し、TOTP のシードは"
                    "認証基盤に登録する。",
                    "Deliver secrets from a secret store or at provisioning time (Ansible Vault); enrol TOTP "
                    "seeds in the authentication service."),
    resource_types=(T_INSTANCE,),
    check=check,
    tags=("secrets",),
)
