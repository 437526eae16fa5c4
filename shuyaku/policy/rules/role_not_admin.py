"""Tenancy: no role assignment, and no vendorRole setting, grants a privileged role."""

from __future__ import annotations

from shuyaku.policy.context import T_ROLE, T_ROLE_ASSIGN, T_ROLE_INHERIT, Index
from shuyaku.policy.model import Rule, msg, plain


def _privileged(settings) -> tuple[set[str], set[str]]:
    names = {str(n).lower() for n in [*(settings.get("privileged_role_names") or []),
                                      *(settings.get("admin_role_names") or [])]}
    return names, set(settings.get("admin_role_ids") or [])


def check_stack(resources, settings):
    index = Index.ensure(resources)
    names, ids = _privileged(settings)
    for a in index.of_type(T_ROLE_ASSIGN, T_ROLE_INHERIT):
        role = index.ref(a, "roleId", (T_ROLE,))
        role_name = plain(role.props.get("name")) if role is not None else None
        role_id = plain(a.props.get("roleId"))
        if (isinstance(role_name, str) and role_name.lower() in names) or role_id in ids:
            shown = role_name or role_id
            yield RULE.violation(a.urn, f"特権ロール {shown} を付与しています。",
                                 f"the assignment grants the privileged role {shown}.")
    for key, (value, _secret) in sorted((index.stack_config or {}).items()):
        if key.split(":", 1)[-1] == "vendorRole" and isinstance(value, str) and value.lower() in names:
            yield RULE.violation(index.stack_urn, f"スタック設定 {key} が特権ロール {value} です。",
                                 f"stack config {key} names the privileged role {value}.")


RULE = Rule(
    id="role-not-admin",
    title=msg("特権ロール（admin など）を割り当てない", "No privileged role (admin and the like) is assigned"),
    description=msg(
        "ロール割り当てやスタック設定 vendorRole は、名前が privileged_role_names（admin, service, manager など）"
        "や admin_role_names、ID が admin_role_ids のロールを付与しない。Keystone はロールを名前で解決するため、"
        "admin を指定するとクラウド全体の管理権限になる。",
        "No role assignment, and no stack config vendorRole, grants a role named in privileged_role_names "
        "(admin, service, manager, ...) or admin_role_names, or with an id in admin_role_ids. Keystone "
        "resolves roles by name, and admin means the whole cloud."),
    severity="critical",
    enforcement="mandatory",
    sources=("総務省 地方公共団体における情報セキュリティポリシーに関するガイドライン（アクセス制御・特権の管理）",
             "MIC local government security policy guideline: privileged access"),
    remediation=msg("member か reader を使う（vendorRole は許可リストの値だけ）。",
                    "Use member or reader (vendorRole takes only the allow-listed values)."),
    resource_types=(T_ROLE_ASSIGN, T_ROLE_INHERIT, T_ROLE, "pulumi:pulumi:Stack"),
    config_keys=("privileged_role_names", "admin_role_names", "admin_role_ids"),
    check_stack=check_stack,
    tags=("tenancy",),
)
