"""Who holds what on a tenant: exactly the planned vendor group with the stack's vendor role, nothing else; the
vendor group holds no role anywhere else; the vendors' application credentials are listed.

Keystone lets an admin list any user's application credentials (`GET /v3/users/{id}/application_credentials`);
the users looked at are the members of the vendor groups and anyone holding a role on a tenant directly.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from shuyaku.audit.checks.context import Context
from shuyaku.audit.model import Check, Finding
from shuyaku.contracts.problems import tx

EXTRA_ROLE = Check(
    "live.role_assignment", "error",
    tx("計画外のロール割り当て", "a role assignment the plan does not make"),
    tx("テナントに入れるのはそのテナントのベンダーグループだけ、ロールはスタック設定の vendorRole だけです",
       "only the tenant's vendor group holds a role on it, and only the stack's vendorRole"),
    tx("割り当てを削除してください（openstack role remove）", "remove the assignment (openstack role remove)"))
MISSING_ROLE = Check(
    "live.vendor_role_missing", "warning",
    tx("ベンダーグループの割り当てがありません", "the vendor group's assignment is missing"),
    tx("計画したベンダーグループがテナントに割り当てられていません", "the planned vendor group holds no role on its tenant"),
    tx("プラットフォームを再デプロイしてください（shuyaku deploy）", "deploy the platform again (shuyaku deploy)"))
APP_CREDENTIAL = Check(
    "live.app_credential", "info",
    tx("ベンダー利用者のアプリケーション認証情報", "a vendor user's application credential"),
    tx("アプリケーション認証情報は利用者のロールの範囲で許されますが、把握しておく必要があります（CI のログイン等）",
       "allowed within the user's own role, but the operator should know each one (a CI login, say)"),
    tx("不要なものは削除し、有効期限を付けてください", "delete unneeded ones; give the rest an expiry"))
CHECKS = [EXTRA_ROLE, MISSING_ROLE, APP_CREDENTIAL]


def _who(ctx: Context, a: Any) -> tuple[str, str, str]:
    if a.user:
        uid = a.user.get("id", "")
        return "user", uid, ctx.snap.users.get(uid, a.user.get("name") or uid)
    gid = (a.group or {}).get("id", "")
    return "group", gid, ctx.snap.groups.get(gid, (a.group or {}).get("name") or gid)


def run(ctx: Context) -> Iterator[Finding]:
    exp, snap = ctx.exp, ctx.snap
    planned_groups = {name: sid for sid, name in exp.vendor_groups.items()}
    held: set[str] = set()
    for a in snap.role_assignments:
        scope = a.scope or {}
        pid = (scope.get("project") or {}).get("id")
        role = snap.roles.get((a.role or {}).get("id", ""), (a.role or {}).get("name") or "?")
        kind, who_id, who = _who(ctx, a)
        sid = ctx.tenant_of(pid)
        group_sid = planned_groups.get(who) if kind == "group" else None
        if sid:
            if kind == "group" and group_sid == sid and role == exp.vendor_role:
                held.add(sid)
                continue
            yield ctx.finding(EXTRA_ROLE, "role_assignment", f"{kind}:{who_id}:{role}:{pid}",
                              tx(f"テナント {sid} に{'利用者' if kind == 'user' else 'グループ'} {who} の"
                                 f"ロール {role} があります",
                                 f"{kind} {who} holds role {role} on tenant {sid}"),
                              project_id=pid, name=f"{who} {role} @ {sid}", role=role, who=who)
        elif group_sid:
            where = pid or ("domain " + str((scope.get("domain") or {}).get("id"))) if scope else "system"
            yield ctx.finding(EXTRA_ROLE, "role_assignment", f"group:{who_id}:{role}:{where}",
                              tx(f"ベンダーグループ {who} が {where} にロール {role} を持っています",
                                 f"vendor group {who} holds role {role} on {where}"),
                              project_id=pid, name=f"{who} {role} @ {where}", role=role, who=who)
    for sid, project in ctx.tenants.items():
        if sid not in held:
            yield ctx.finding(MISSING_ROLE, "project", project,
                              tx(f"テナント {sid} にベンダーグループ {exp.vendor_groups[sid]} の"
                                 f" {exp.vendor_role} ロールがありません",
                                 f"vendor group {exp.vendor_groups[sid]} does not hold {exp.vendor_role} on tenant {sid}"),
                              project_id=project.id)
    for uid, creds in snap.app_credentials.items():
        user = snap.users.get(uid, uid)
        for c in creds:
            pid = getattr(c, "project_id", None)
            roles = ",".join(sorted(r.get("name", "?") for r in (getattr(c, "roles", None) or [])))
            unrestricted = bool(getattr(c, "unrestricted", False))
            expires = getattr(c, "expires_at", None) or "-"
            yield ctx.finding(APP_CREDENTIAL, "application_credential", c,
                              tx(f"利用者 {user} のアプリケーション認証情報 {c.name}（ロール {roles}、期限 {expires}"
                                 + ("、制限なし" if unrestricted else "") + "）",
                                 f"user {user} has application credential {c.name} (roles {roles}, expires {expires}"
                                 + (", unrestricted" if unrestricted else "") + ")"),
                              project_id=pid, severity="warning" if unrestricted else None, user=user)
