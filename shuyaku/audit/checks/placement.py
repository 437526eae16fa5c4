"""Where servers may land: each layer's public flavors pinned to its aggregate, each aggregate open only to its
layer's tenants, and each tenant's servers on its own layer's flavors and availability zone."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from shuyaku.audit.checks.context import Context
from shuyaku.audit.model import Check, Finding
from shuyaku.contracts.problems import tx

PIN = "aggregate_instance_extra_specs:shuyaku_layer"
FLAVOR = Check(
    "live.flavor_layer", "error",
    tx("層の公開フレーバーが層の集約に固定されていません", "a layer's public flavor not pinned to the layer's hosts"),
    tx("公開フレーバーは全テナントが使えます。層の集約への固定（extra spec）がないと、別の層のホストで起動できます",
       "every tenant sees a public flavor; unpinned, it boots on any layer's hosts"),
    tx(f"extra spec {PIN}=<層> を付けてください（shuyaku deploy で戻ります）",
       f"set the extra spec {PIN}=<layer> (shuyaku deploy puts it back)"))
AGGREGATE = Check(
    "live.aggregate_tenants", "error",
    tx("集約に別の層のテナント", "another layer's tenant on an aggregate"),
    tx("層の集約（ホスト群）に入れるのはその層のテナントだけです", "only the layer's tenants may use its aggregate's hosts"),
    tx("集約のメタデータ filter_tenant_id_* から外してください", "remove it from the aggregate's filter_tenant_id_* metadata"))
SERVER = Check(
    "live.server_placement", "error",
    tx("サーバーが自分の層以外のフレーバー・ゾーンにあります", "a server on another layer's flavor or zone"),
    tx("テナントのサーバーは自分の層のフレーバーとアベイラビリティゾーンだけを使います",
       "a tenant's servers use its own layer's flavors and availability zone only"),
    tx("層のフレーバー・ゾーンで作り直してください", "rebuild it on its layer's flavor and zone"))
CHECKS = [FLAVOR, AGGREGATE, SERVER]


def _flavor_name(server: Any) -> str:
    f = server.flavor or {}
    if isinstance(f, dict):
        return f.get("original_name") or f.get("name") or f.get("id") or ""
    return getattr(f, "original_name", None) or getattr(f, "name", None) or getattr(f, "id", "") or ""


def run(ctx: Context) -> Iterator[Finding]:
    exp = ctx.exp
    for f in ctx.snap.flavors:
        layer = exp.flavors.get(f.name)
        specs = getattr(f, "extra_specs", None)
        if layer is None or not getattr(f, "is_public", True) or specs is None:
            continue
        if specs.get(PIN) != layer:
            yield ctx.finding(FLAVOR, "flavor", f,
                              tx(f"公開フレーバー {f.name}（{layer}）の {PIN} が {specs.get(PIN) or 'なし'} です",
                                 f"public flavor {f.name} ({layer}) has {PIN}={specs.get(PIN) or 'unset'}"),
                              project_id="")
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
    for s in ctx.snap.servers:
        sid = ctx.tenant_of(s.project_id)
        if not sid:
            continue
        layer = str(exp.tenants[sid].layer)
        fname = _flavor_name(s)
        flayer = exp.flavors.get(fname)
        az = s.availability_zone
        want_az = exp.availability_zones.get(layer)
        problems = []
        if flayer is not None and flayer != layer:
            problems.append((f"フレーバー {fname}（{flayer}）", f"flavor {fname} ({flayer})"))
        if az and want_az and az != want_az:
            problems.append((f"ゾーン {az}（計画 {want_az}）", f"zone {az} (plan {want_az})"))
        if problems:
            yield ctx.finding(SERVER, "server", s,
                              tx(f"テナント {sid}（{layer}）のサーバー {s.name}: " + "、".join(p[0] for p in problems),
                                 f"tenant {sid} ({layer}) server {s.name}: " + ", ".join(p[1] for p in problems)))
