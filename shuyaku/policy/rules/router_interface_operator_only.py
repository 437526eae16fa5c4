"""Tenancy: interfaces and routes on routers are added by the operator only."""

from __future__ import annotations

from shuyaku.policy.context import T_ROUTER, T_ROUTER_INTERFACE, T_ROUTER_ROUTE, T_ROUTER_ROUTES, Index
from shuyaku.policy.model import Rule, msg
from shuyaku.policy.rules._common import tenant_owned


def check_stack(resources, settings):
    index = Index.ensure(resources)
    st = index.stack_tenant
    for r in index.of_type(T_ROUTER_INTERFACE, T_ROUTER_ROUTE, T_ROUTER_ROUTES):
        router = index.ref(r, "routerId", (T_ROUTER,))
        who = (st.system or "?") if st is not None else (tenant_owned(index, router) if router is not None else None)
        if who is None:
            continue
        what_ja, what_en = ("インターフェース", "an interface") if r.type == T_ROUTER_INTERFACE else ("経路", "a route")
        yield RULE.violation(r.urn, f"テナント {who} がルータに{what_ja}を追加しています（運用者だけが行えます）。",
                             f"tenant {who} adds {what_en} to a router (only the operator may).")


RULE = Rule(
    id="router-interface-operator-only",
    title=msg("ルータのインターフェースと経路は運用者だけが追加する",
              "Only the operator adds router interfaces and routes"),
    description=msg(
        "ルータへのインターフェース（サブネットやポートの接続）と静的経路は基盤のスタックだけが作る。"
        "ベンダーが自分で作ったネットワークをゾーンのルータにつなぐと、系の境界を越える経路になる。",
        "Router interfaces (attaching a subnet or port) and static routes are made by the platform's stack "
        "only. A vendor attaching a network of its own to a zone router builds a path across the layer's "
        "boundary."),
    severity="critical",
    enforcement="mandatory",
    sources=("MIC 三層の対策: 系間の通信経路の限定", "MIC three-layer measures: only the operator routes between networks"),
    remediation=msg("インターフェース・経路を削除し、必要な接続は情報政策課に申請する。",
                    "Remove the interface or route; ask the platform team for the connection you need."),
    resource_types=(T_ROUTER_INTERFACE, T_ROUTER_ROUTE, T_ROUTER_ROUTES, T_ROUTER),
    check_stack=check_stack,
    tags=("tenancy",),
)
