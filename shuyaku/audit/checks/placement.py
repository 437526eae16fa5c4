"""Where servers may land: each layer's flavors private and pinned to its aggregate, each flavor open only to
the tenants of its layer that the plan gives it, each aggregate open only to its layer's tenants, and each
tenant's servers on its own layer's flavors, availability zone and hosts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from shuyaku.audit.checks.context import Context
from shuyaku.audit.model import Check, Finding
from shuyaku.contracts.problems import Text, tx
from shuyaku.platform.naming import flavor_pins

FLAVOR = Check(
    "live.flavor_layer", "error",
    tx("層のフレーバーが公開、または層の集約に固定されていません",
       "a layer's flavor is public or not pinned to the layer's hosts"),
    tx("層のフレーバーは非公開で、層とサイトの集約に固定します。公開なら全テナントが使え、固定がなければ別の層のホストで"
       "起動できます",
       "a layer's flavors are private and pinned to the layer's and site's aggregate; a public one is every "
       "tenant's, an unpinned one boots on any layer's hosts"),
    tx("非公開に戻し、extra spec を層・サイトに合わせてください（shuyaku deploy で戻ります）",
       "make it private again and set its extra specs to the layer and site (shuyaku deploy puts them back)"))
FLAVOR_ACCESS = Check(
    "live.flavor_access", "error",
    tx("層のフレーバーを別の層・計画外のプロジェクトが使えます", "a layer's flavor open to a project outside its plan"),
    tx("フレーバーの利用を許すのは、計画でそのフレーバーを使う同じ層のテナントだけです",
       "only the tenants of the layer whose plan uses the flavor may be given access to it"),
    tx("フレーバーのアクセス一覧からそのプロジェクトを外してください", "remove that project from the flavor's access list"))
AGGREGATE = Check(
    "live.aggregate_tenants", "error",
    tx("集約に別の層のテナント", "another layer's tenant on an aggregate"),
    tx("層の集約（ホスト群）に入れるのはその層のテナントだけです", "only the layer's tenants may use its aggregate's hosts"),
    tx("集約のメタデータ filter_tenant_id_* から外してください", "remove it from the aggregate's filter_tenant_id_* metadata"))
SERVER = Check(
    "live.server_placement", "error",
    tx("サーバーが自分の層以外のフレーバー・ゾーン・ホストにあります", "a server on another layer's flavor, zone or host"),
    tx("テナントのサーバーは自分の層のフレーバー、アベイラビリティゾーン、集約のホストだけを使います",
       "a tenant's servers use its own layer's flavors, availability zone and aggregate hosts only"),
    tx("層のフレーバー・ゾーンで作り直してください", "rebuild it on its layer's flavor and zone"))
CHECKS = [FLAVOR, FLAVOR_ACCESS, AGGREGATE, SERVER]


def _flavor_name(server: Any) -> str:
    f = server.flavor or {}
    if isinstance(f, dict):
        return f.get("original_name") or f.get("name") or f.get("id") or ""
    return getattr(f, "original_name", None) or getattr(f, "name", None) or getattr(f, "id", "") or ""


def _flavors(ctx: Context) -> Iterator[Finding]:
    exp = ctx.exp
    for f in ctx.snap.flavors:
        layer = exp.flavors.get(f.name)
        if layer is None:
            continue
        specs = getattr(f, "extra_specs", None) or {}
        wrong = [f"{k}={specs.get(k) or '-'}" for k, v in flavor_pins(layer, exp.site).items() if specs.get(k) != v]
        if getattr(f, "is_public", False):
            wrong.insert(0, "is_public=true")
        if wrong:
            yield ctx.finding(FLAVOR, "flavor", f,
                              tx(f"フレーバー {f.name}（{layer}）: {', '.join(wrong)}",
                                 f"flavor {f.name} ({layer}): {', '.join(wrong)}"), project_id="")
            continue
        for pid in ctx.snap.flavor_access.get(f.id, []):
            sid = ctx.tenant_of(pid)
            if sid is not None and f.name in exp.tenant_flavors.get(sid, set()):
                continue
            who = f"{sid}（{ctx.layer(pid)}）" if sid else pid
            who_en = f"{sid} ({ctx.layer(pid)})" if sid else pid
            yield ctx.finding(FLAVOR_ACCESS, "flavor", f,
                              tx(f"フレーバー {f.name}（{layer}）をプロジェクト {who} が使えます",
                                 f"flavor {f.name} ({layer}) is open to project {who_en}"), project_id=pid)


def _aggregates(ctx: Context) -> Iterator[Finding]:
    exp = ctx.exp
    names = {f"{exp.site}-{la}": la for la in exp.zone_cidrs}
    for agg in ctx.snap.aggregates:
        layer = names.get(agg.name)
        if not layer:
            continue
        for k, v in (agg.metadata or {}).items():
            if not k.startswith("filter_tenant_id"):
                continue
            for raw in str(v).split(","):
                pid = raw.strip()
                other, who = ctx.layer(pid), ctx.tenant_of(pid)
                if other is not None and other != layer:
                    yield ctx.finding(AGGREGATE, "aggregate", agg,
                                      tx(f"集約 {agg.name}（{layer}）にテナント {who}（{other}）があります",
                                         f"aggregate {agg.name} ({layer}) admits tenant {who} ({other})"),
                                      project_id="")


def _server_problems(ctx: Context, s: Any, layer: str) -> list[tuple[str, str]]:
    exp = ctx.exp
    problems = []
    fname = _flavor_name(s)
    flayer = exp.flavors.get(fname)
    if flayer is not None and flayer != layer:
        problems.append((f"フレーバー {fname}（{flayer}）", f"flavor {fname} ({flayer})"))
    az, want_az = s.availability_zone, exp.availability_zones.get(layer)
    if az and want_az and az != want_az:
        problems.append((f"ゾーン {az}（計画 {want_az}）", f"zone {az} (plan {want_az})"))
    host, hosts = getattr(s, "compute_host", None), ctx.snap.aggregate_hosts.get(f"{exp.site}-{layer}")
    if host and hosts is not None and host not in hosts:
        problems.append((f"ホスト {host}（層の集約外）", f"host {host} (outside the layer's aggregate)"))
    return problems


def run(ctx: Context) -> Iterator[Finding]:
    yield from _flavors(ctx)
    yield from _aggregates(ctx)
    for s in ctx.snap.servers:
        sid = ctx.tenant_of(s.project_id)
        if not sid:
            continue
        layer = str(ctx.exp.tenants[sid].layer)
        problems = _server_problems(ctx, s, layer)
        if problems:
            message: Text = tx(f"テナント {sid}（{layer}）のサーバー {s.name}: " + "、".join(p[0] for p in problems),
                               f"tenant {sid} ({layer}) server {s.name}: " + ", ".join(p[1] for p in problems))
            yield ctx.finding(SERVER, "server", s, message)
