"""Tenancy: a vendor's group holds roles only on its own system's project, and never admin."""

from __future__ import annotations

from shuyaku.platform.naming import dr_group_name, vendor_slug
from shuyaku.policy.context import T_GROUP, T_PROJECT, T_ROLE, T_ROLE_ASSIGN, T_ROLE_INHERIT, Index, tags_of
from shuyaku.policy.model import UNKNOWN, Rule, msg, plain

PREFIX = "vendor-"


def own_groups(vendor: str | None, system: str | None, site: str | None = None) -> set[str]:
    """The group names a project's vendor may hold: the platform writes the vendor as an ASCII slug, and
    sites other than the primary put their name before the system id."""
    if not vendor or not system:
        return set()
    names = {f"{PREFIX}{vendor}-{system}", f"{PREFIX}{vendor_slug(vendor)}-{system}"}
    if site and site != "onprem":
        names |= {dr_group_name(n, system, site) for n in names}
    return names


def check_stack(resources, settings):
    index = Index.ensure(resources)
    admin_names = {str(n).lower() for n in settings.get("admin_role_names") or []}
    admin_ids = set(settings.get("admin_role_ids") or [])
    for a in index.of_type(T_ROLE_ASSIGN, T_ROLE_INHERIT):
        group = index.ref(a, "groupId", (T_GROUP,))
        gname = plain(group.props.get("name")) if group is not None else None
        if not isinstance(gname, str) or not gname.startswith(PREFIX):
            continue
        role = index.ref(a, "roleId", (T_ROLE,))
        role_name = plain(role.props.get("name")) if role is not None else None
        role_id = plain(a.props.get("roleId"))
        if (isinstance(role_name, str) and role_name.lower() in admin_names) or role_id in admin_ids:
            yield RULE.violation(a.urn, f"ベンダーのグループ {gname} に管理者ロール（{role_name or role_id}）が"
                                        "付与されています。",
                                 f"vendor group {gname} holds an administrator role ({role_name or role_id}).")
        domain = plain(a.props.get("domainId"))
        if domain and domain is not UNKNOWN:
            yield RULE.violation(a.urn, f"ベンダーのグループ {gname} にドメイン全体のロールが付与されています。",
                                 f"vendor group {gname} holds a role on a whole domain.")
            continue
        project = index.ref(a, "projectId", (T_PROJECT,))
        if project is None:
            continue
        t = tags_of(project)
        if gname not in own_groups(t.get("vendor"), t.get("system"), t.get("site")):
            pname = plain(project.props.get("name"))
            yield RULE.violation(
                a.urn,
                f"ベンダーのグループ {gname} が他のシステムのプロジェクト {pname}"
                f"（system={t.get('system')}, vendor={t.get('vendor')}）にロールを持っています。",
                f"vendor group {gname} holds a role on project {pname} of another system "
                f"(system={t.get('system')}, vendor={t.get('vendor')}).")


RULE = Rule(
    id="vendor-roles-own-project",
    title=msg("ベンダーは自社担当システムのプロジェクトだけに、管理者以外のロールを持つ",
              "Vendors hold non-admin roles on their own project only"),
    description=msg(
        "グループ vendor-<ベンダー>-<システム> のロール割り当ては、タグ shuyaku:vendor と shuyaku:system が"
        "一致するプロジェクトに限り、ドメイン全体や管理者ロール（admin_role_names / admin_role_ids）は不可。",
        "Role assignments of a group vendor-<vendor>-<system> are only on the project tagged with that "
        "shuyaku:vendor and shuyaku:system, never on a domain, never an administrator role "
        "(admin_role_names / admin_role_ids)."),
    severity="high",
    enforcement="mandatory",
    sources=("総務省 地方公共団体における情報セキュリティポリシーに関するガイドライン（外部委託・アクセス制御）",
             "MIC local government security policy guideline: outsourcing and access control"),
    remediation=msg("ロール割り当てを削除するか、ベンダー自身のプロジェクトと member などの一般ロールに改める。",
                    "Remove the assignment, or scope it to the vendor's own project with an ordinary role "
                    "such as member."),
    resource_types=(T_ROLE_ASSIGN, T_ROLE_INHERIT, T_GROUP, T_ROLE, T_PROJECT),
    config_keys=("admin_role_names", "admin_role_ids"),
    check_stack=check_stack,
    tags=("tenancy",),
)
