"""CKV_OPENSTACK_1: no password, token or application-credential secret written into a provider.

A default provider reads these from the stack config (`openstack:password`): there a plain-text value is
mandatory to fix, an encrypted one (`pulumi config set --secret`) is accepted, and
provider-prefer-application-credentials advises the better way. A provider the program declares has its
credentials written in the program, whatever the engine marks secret.
"""

from __future__ import annotations

from shuyaku.policy.context import T_PROVIDER, Index
from shuyaku.policy.model import Resource, Rule, SecretValue, msg

KEYS = ("password", "token", "applicationCredentialSecret")


def is_default(prov: Resource) -> bool:
    """The engine's default provider ("default_5_5_3"), configured from `openstack:*` stack config."""
    return prov.name.startswith("default")


def check_stack(resources, settings):
    index = Index.ensure(resources)
    for prov in index.of_type(T_PROVIDER):
        for key in KEYS:
            raw = prov.props.get(key)
            if raw is None or raw == "":
                continue
            secret = isinstance(raw, SecretValue)
            if secret and is_default(prov):
                continue  # encrypted stack config: provider-prefer-application-credentials
            yield RULE.violation(
                prov.urn,
                f"OpenStack プロバイダに {key} が直接設定されています{'' if secret else '（平文）'}。",
                f"the OpenStack provider has {key} set{'' if secret else ' in plain text'}.")


RULE = Rule(
    id="provider-no-inline-credentials",
    title=msg("プロバイダに認証情報を書かない", "No credentials written into the OpenStack provider"),
    description=msg(
        "OpenStack プロバイダの password / token / application_credential_secret を平文のスタック設定や"
        "プログラムに書かない（状態に残る）。認証は clouds.yaml（cloud）か OS_* 環境変数で渡す。"
        "`pulumi config set --secret` で暗号化した既定プロバイダの設定は許容する（推奨事項は別ルール）。",
        "A provider's password, token or application credential secret is not written in plain-text stack "
        "config or in the program (it ends up in stack state); authenticate through clouds.yaml (`cloud`) "
        "or OS_* environment variables. A default provider's value encrypted with `pulumi config set "
        "--secret` is accepted (advice in a rule of its own)."),
    severity="high",
    enforcement="mandatory",
    sources=("CKV_OPENSTACK_1",),
    remediation=msg(
        "プロバイダから password/token/applicationCredentialSecret を外し、`cloud: <名前>` と clouds.yaml、"
        "または OS_CLOUD / OS_APPLICATION_CREDENTIAL_SECRET 環境変数を使う（少なくとも `pulumi config set "
        "--secret` で暗号化する）。",
        "Remove password/token/applicationCredentialSecret from the provider; use `cloud: <name>` with "
        "clouds.yaml, or the OS_CLOUD / OS_APPLICATION_CREDENTIAL_SECRET environment variables (at least "
        "encrypt it with `pulumi config set --secret`)."),
    resource_types=(T_PROVIDER,),
    check_stack=check_stack,
    tags=("parity",),
)
