"""Secrets: a key pair is imported from a public key, never generated into the stack's state."""

from __future__ import annotations

from shuyaku.policy.context import T_KEYPAIR
from shuyaku.policy.model import UNKNOWN, Rule, msg


def check(res, settings):
    key = res.get("publicKey")
    if key is UNKNOWN:
        return
    if not isinstance(key, str) or not key.strip():
        yield RULE.violation(res.urn, "公開鍵なしでキーペアを作成しています（秘密鍵が生成されスタックの状態に残ります）。",
                             "the key pair has no public key (a private key is generated and kept in stack state).")


RULE = Rule(
    id="keypair-no-private-key",
    title=msg("キーペアは公開鍵を登録して作る", "Key pairs are created from a public key"),
    description=msg(
        "public_key を指定しないキーペアは Nova が秘密鍵を生成し、プロバイダがそれを Pulumi の状態"
        "（private_key）に保存する。状態を読める人すべてがサーバにログインできてしまう。",
        "A key pair without public_key makes Nova generate the private key, which the provider keeps in "
        "Pulumi state (private_key): whoever reads the state can log in to the servers."),
    severity="high",
    enforcement="mandatory",
    sources=("CWE-312", "総務省 情報セキュリティポリシーガイドライン（認証情報の管理）"),
    remediation=msg("手元で鍵を作り（ssh-keygen）、public_key に公開鍵だけを渡す。",
                    "Generate the key locally (ssh-keygen) and pass only the public key as public_key."),
    resource_types=(T_KEYPAIR,),
    check=check,
    tags=("secrets",),
)
