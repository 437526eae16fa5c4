"""CKV_OPENSTACK_1: no password, token or application-credential secret written into a provider."""

from __future__ import annotations

from shuyaku.policy.context import T_PROVIDER, Index
from shuyaku.policy.model import Rule, SecretValue, msg

_KEYS = ("password", "token", "applicationCredentialSecret")


def check_stack(resources, settings):
    index = Index.ensure(resources)
    for prov in index.of_type(T_PROVIDER):
        for key in _KEYS:
            raw = prov.props.get(key)
            if raw is None or raw == "":
                continue
            how_ja = "（平文）" if not isinstance(raw, SecretValue) else ""
            how_en = " in plain text" if not isinstance(raw, SecretValue) else ""
            yield RULE.violation(
                prov.urn,
                f"OpenStack プロバイダに {key} が直接設定されています{how_ja}。",
                f"the OpenStack provider has {key} set{how_en}.")


RULE = Rule(
    id="provider-no-inline-credentials",
    title=msg("プロバイダに認証情報を書かない", "No credentials written into the OpenStack provider"),
    description=msg(
        "OpenStack プロバイダの password / token / application_credential_secret はスタックの状態に残る。"
        "認証は clouds.yaml（cloud）か OS_* 環境変数で渡す。",
        "A provider's password, token or application credential secret ends up in stack state; "
        "authenticate through clouds.yaml (`cloud`) or OS_* environment variables instead."),
    severity="high",
    enforcement="mandatory",
    sources=("CKV_OPENSTACK_1",),
    remediation=msg(
        "プロバイダから password/token/applicationCredentialSecret を外し、`cloud: <名前>` と clouds.yaml、"
        "または OS_CLOUD / OS_APPLICATION_CREDENTIAL_SECRET 環境変数を使う。",
        "Remove password/token/applicationCredentialSecret from the provider; use `cloud: <name>` with "
        "clouds.yaml, or the OS_CLOUD / OS_APPLICATION_CREDENTIAL_SECRET environment variables."),
    resource_types=(T_PROVIDER,),
    check_stack=check_stack,
    tags=("parity",),
)
