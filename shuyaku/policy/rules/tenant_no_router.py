"""Tenancy: routers are the operator's; a tenant (vendor stack or tenant project) makes none."""

from __future__ import annotations

from shuyaku.policy.context import T_ROUTER, Index
from shuyaku.policy.model import Rule, msg
from shuyaku.policy.rules._common import tenant_owned


def check_stack(resources, settings):
    index = Index.ensure(resources)
    for r in index.of_type(T_ROUTER):
        who = tenant_owned(index, r)
        if who is not None:
            yield RULE.violation(r.urn, f"テナント {who} がルータを作成しています（ルータは基盤のゾーンが持ちます）。",
                                 f"tenant {who} creates a router (routers belong to the platform's zones).")


RULE = Rule(
    id="tenant-no-router",
    title=msg("テナントはルータを作らない", "Tenants create no routers"),
    description=msg(
        "ルータは基盤の各ゾーン（運用者のスタック）だけが持つ。ベンダーのスタックやテナントのプロジェクトに"
        "ルータがあると、系の外への経路（外部ゲートウェイ、別ネットワークとの接続）を自由に作れてしまう。"
        "タグのないリソースはベンダースタックの設定からテナントを判断する。",
        "Routers belong to the platform's zones (the operator's stack). A router in a vendor's stack or in a "
        "tenant's project lets the tenant build its own path out of its layer (an external gateway, a link to "
        "another network). Untagged resources are placed by the vendor stack's own config."),
    severity="critical",
    enforcement="mandatory",
    sources=("MIC 三層の対策: 系間の通信経路の限定", "MIC three-layer measures: only the operator routes between networks",
             "shuyaku 基盤の不変条件: ルータは運用者のもの", "shuyaku invariant: routers are the operator's"),
    remediation=msg("ルータを削除し、テナントのネットワークは基盤が用意したもの（引き渡し情報の network_id）を使う。",
                    "Remove the router; use the network the platform hands over (network_id in the tenant outputs)."),
    resource_types=(T_ROUTER,),
    check_stack=check_stack,
    tags=("tenancy",),
)
