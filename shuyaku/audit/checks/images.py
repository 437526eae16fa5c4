"""Images that carry data across tenants: a tenant's image made public, community or shared, members on it, a
tenant accepting another project's image, and images in a tenant that its layer does not allow."""

from __future__ import annotations

from collections.abc import Iterator

from shuyaku.audit.checks.context import Context
from shuyaku.audit.model import Check, Finding
from shuyaku.audit.snapshot import owner
from shuyaku.contracts.problems import tx

VISIBILITY = Check(
    "live.image_visibility", "error",
    tx("テナントのイメージが他プロジェクトから見えます", "a tenant's image visible to other projects"),
    tx("公開・コミュニティ・共有のイメージは、テナントのデータを別の層へ運べます",
       "a public, community or shared image carries a tenant's data to other layers"),
    tx("イメージを private に戻してください（openstack image set --private）", "make it private (openstack image set --private)"))
MEMBER = Check(
    "live.image_member", "error",
    tx("テナントをまたぐイメージの共有（メンバー）", "an image shared across tenants (a member)"),
    tx("イメージのメンバーは別プロジェクトにそのイメージを渡します", "an image member hands the image to another project"),
    tx("メンバーを削除してください（openstack image remove project）", "remove the member (openstack image remove project)"))
TENANT_IMAGE = Check(
    "live.tenant_image", "warning",
    tx("層で許可されていないテナント所有のイメージ", "a tenant-owned image its layer does not allow"),
    tx("アップロードやスナップショットのイメージは計画外のデータ・ソフトウェアを持ち込みます（別テナントからのコピーもあり得ます）",
       "an uploaded or snapshot image brings unplanned data or software (possibly copied from another tenant)"),
    tx("用途を確認し、不要なら削除してください", "check what it is for; delete it if it is not needed"))
CHECKS = [VISIBILITY, MEMBER, TENANT_IMAGE]


def run(ctx: Context) -> Iterator[Finding]:
    for img in ctx.snap.images:
        own = owner(img)
        sid = ctx.tenant_of(own)
        vis = getattr(img, "visibility", None)
        if sid and vis in ("public", "community", "shared"):
            yield ctx.finding(VISIBILITY, "image", img,
                              tx(f"テナント {sid} のイメージ {img.name} が {vis} です",
                                 f"tenant {sid}'s image {img.name} is {vis}"), project_id=own, visibility=vis)
        for m in ctx.snap.image_members.get(img.id, []):
            member = getattr(m, "member_id", None) or getattr(m, "id", None)
            msid = ctx.tenant_of(member)
            if not (sid or msid):
                continue
            status = getattr(m, "status", "")
            yield ctx.finding(MEMBER, "image", img,
                              tx(f"イメージ {img.name}（所有 {sid or own}）がプロジェクト {msid or member} と"
                                 f"共有されています（{status}）",
                                 f"image {img.name} (owner {sid or own}) is shared with project {msid or member} ({status})"),
                              project_id=own, member=member, status=status)
        if sid and vis == "private":
            allowed = ctx.exp.images.get(str(ctx.exp.tenants[sid].layer), set())
            if img.name not in allowed:
                yield ctx.finding(TENANT_IMAGE, "image", img,
                                  tx(f"テナント {sid} にイメージ {img.name} があります（層の許可イメージ外）",
                                     f"tenant {sid} holds image {img.name}, which its layer does not allow"), project_id=own)
