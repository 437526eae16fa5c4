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
        if secret:
            continue
        # structured config nests: each value is checked under its own key
        for path, name, leaf in _secrets.leaves(key, value, key.split(":", 1)[-1]):
            if isinstance(leaf, str) and (kind := _secrets.kind_in(name, leaf)):
                yield RULE.violation(index.stack_urn, f"スタック設定 {path} が暗号化されずに秘密情報（{kind}）を持っています。",
                                     f"stack config {path} holds a secret ({kind}) in plain text.")


RULE = Rule(
    id="stack-config-no-plaintext-secrets",
    title=msg("スタック設定の秘密情報は暗号化する", "Stack config secrets are encrypted"),
    description=msg(
        "Pulumi.<stack>.yaml の password / token / secret などの値や秘密鍵は `pulumi config set --secret` で"
        "暗号化する。構造化した設定は中の値ごとに確認する。",
        "Passwords, tokens, secrets and private keys in Pulumi.<stack>.yaml are set with "
        "`pulumi config set --secret`. Structured config is checked value by value."),
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
