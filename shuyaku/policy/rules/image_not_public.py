"""Tenancy: a tenant's images stay in its own project: not public, community or shared, and no members."""

from __future__ import annotations

from shuyaku.policy.context import T_IMAGE, T_IMAGE_ACCEPT, T_IMAGE_ACCESS, Index
from shuyaku.policy.model import Rule, msg, plain
from shuyaku.policy.rules._common import tenant_owned

_OPEN = ("public", "community", "shared")


def check_stack(resources, settings):
    index = Index.ensure(resources)
    for img in index.of_type(T_IMAGE):
        vis = plain(img.props.get("visibility"))
        if isinstance(vis, str) and vis.lower() in _OPEN and tenant_owned(index, img) is not None:
            yield RULE.violation(img.urn, f"テナントのイメージの公開範囲が {vis} です（private にしてください）。",
                                 f"a tenant's image has visibility {vis} (keep it private).")
    for acc in index.of_type(T_IMAGE_ACCESS, T_IMAGE_ACCEPT):
        if tenant_owned(index, acc) is None:
            continue  # the operator shares its standard images
        if acc.type == T_IMAGE_ACCESS:
            yield RULE.violation(acc.urn, "イメージを他のプロジェクトと共有しています（メンバー追加）。",
                                 "an image is shared with another project (an image member is added).")
        else:
            yield RULE.violation(acc.urn, "テナントが他のプロジェクトから共有されたイメージを受け入れています。",
                                 "a tenant accepts an image shared from another project.")


RULE = Rule(
    id="image-not-public",
    title=msg("テナントのイメージを公開・共有しない", "Tenant images are neither public nor shared"),
    description=msg(
        "テナントが作るイメージ（スナップショットを含む）の visibility は private。public / community / shared "
        "にしたり、イメージメンバーを追加・受け入れたりすると、業務データが系やテナントを越えて移る。"
        "基盤の標準イメージは運用者が公開する。",
        "Images a tenant makes (snapshots included) stay private: visibility public, community or shared, "
        "or adding or accepting image members, moves business data across tenants and layers. The "
        "platform's standard images are published by the operator."),
    severity="high",
    enforcement="mandatory",
    sources=("MIC 三層の対策: 系をまたぐデータの移動の制限", "MIC three-layer measures: no data moved across layers"),
    remediation=msg("visibility を private にし、イメージメンバーの追加・受け入れを削除する。",
                    "Set visibility to private; remove image members and acceptances."),
    resource_types=(T_IMAGE, T_IMAGE_ACCESS, T_IMAGE_ACCEPT),
    check_stack=check_stack,
    tags=("tenancy",),
)
