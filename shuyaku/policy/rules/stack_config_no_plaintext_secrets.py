"""Secrets: stack config holds passwords and tokens only as Pulumi secrets."""

from __future__ import annotations

from shuyaku.policy.context import Index
from shuyaku.policy.model import Rule, msg
from shuyaku.policy.rules import _secrets


def check_stack(resources, settings):
    index = Index.ensure(resources)
    config = index.stack_config
    if not config:
        return
    for key, (value, secret) in sorted(config.items()):
        if secret or not isinstance(value, str) or not value.strip():
            continue
        name = key.split(":", 1)[-1]
        kind = "secret-named key" if _secrets.SECRET_KEY_NAME.search(name) else _secrets.find(value)
        if kind:
            yield RULE.violation(index.stack_urn, f"スタック設定 {key} が暗号化されずに秘密情報（{kind}）を持っています。",
                                 f"stack config {key} holds a secret ({kind}) in plain text.")


RULE = Rule(
    id="stack-config-no-plaintext-secrets",
    title=msg("スタック設定の秘密情報は暗号化する", "Stack config secrets are encrypted"),
    description=msg(
        "Pulumi.<stack>.yaml の password / token / secret などの値や秘密鍵は `pulumi config set --secret` で"
        "暗号化する。プレビュー JSON と CrossGuard（エンジンが秘密キー一覧を渡すとき）で確認する。",
        "Passwords, tokens, secrets and private keys in Pulumi.<stack>.yaml are set with "
        "`pulumi config set --secret`. Checked from preview JSON, and in CrossGuard when the engine says "
        "which keys are secret."),
    severity="high",
    enforcement="mandatory",
    sources=("CWE-312", "Pulumi secrets"),
    remediation=msg("`pulumi config set --secret <key> <value>` で設定し直し、平文の値を履歴から消す。",
                    "Set it again with `pulumi config set --secret <key> <value>` and purge the plain value "
                    "from history."),
    resource_types=("pulumi:pulumi:Stack",),
    check_stack=check_stack,
    tags=("secrets",),
)
