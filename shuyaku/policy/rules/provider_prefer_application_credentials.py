"""Secrets: a provider password kept as a Pulumi secret is allowed, but application credentials are better."""

from __future__ import annotations

from shuyaku.policy.context import T_PROVIDER, Index
from shuyaku.policy.model import Rule, SecretValue, msg
from shuyaku.policy.rules.provider_no_inline_credentials import KEYS, is_default


def check_stack(resources, settings):
    index = Index.ensure(resources)
    for prov in index.of_type(T_PROVIDER):
        if not is_default(prov):
            continue
        for key in KEYS:
            if isinstance(prov.props.get(key), SecretValue) and key != "applicationCredentialSecret":
                yield RULE.violation(
                    prov.urn, f"OpenStack プロバイダの {key} を暗号化したスタック設定から読んでいます"
                              "（アプリケーション認証情報を推奨）。",
                    f"the OpenStack provider reads {key} from encrypted stack config "
                    "(application credentials are preferred).")


RULE = Rule(
    id="provider-prefer-application-credentials",
    title=msg("プロバイダの認証はアプリケーション認証情報を推奨", "Prefer application credentials for the provider"),
    description=msg(
        "`pulumi config set --secret openstack:password` で暗号化して設定したパスワードやトークンは許容するが、"
        "利用者本人のパスワードより、権限と期限を絞ったアプリケーション認証情報（clouds.yaml か"
        "OS_APPLICATION_CREDENTIAL_*）を使う。平文の認証情報は provider-no-inline-credentials（必須）が扱う。",
        "A password or token set as an encrypted secret (`pulumi config set --secret openstack:password`) is "
        "accepted, but an application credential with a narrow role and an expiry (clouds.yaml or "
        "OS_APPLICATION_CREDENTIAL_*) is better than a person's password. Plain-text credentials are "
        "provider-no-inline-credentials' (mandatory) matter."),
    severity="low",
    enforcement="advisory",
    sources=("Pulumi secrets", "OpenStack Keystone application credentials"),
    remediation=msg("`openstack application credential create` で作った認証情報を clouds.yaml に置き、"
                    "openstack:password を設定から外す。",
                    "Create one with `openstack application credential create`, put it in clouds.yaml, and "
                    "remove openstack:password from the config."),
    resource_types=(T_PROVIDER,),
    check_stack=check_stack,
    tags=("secrets",),
)
