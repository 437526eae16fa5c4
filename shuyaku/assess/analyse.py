"""Judge an inventory's current state: ageing servers, links the separation model forbids, My Number
readiness and the cost baseline. Pure functions of the inventory (and the catalogue, when given).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Literal

from shuyaku.assess.checklist import CHECKLIST, REDUNDANCY_RTO_HOURS
from shuyaku.contracts.assessment import (
    COST_KEYS,
    Assessment,
    CheckResult,
    CostBaseline,
    CostRow,
    LinkFinding,
    Readiness,
    ServerAge,
    Summary,
)
from shuyaku.contracts.catalogue import Catalogue
from shuyaku.contracts.inventory import LAYER_NAMES, Inventory, Layer, Redundancy, System
from shuyaku.contracts.vocabulary import os_label as os_name
from shuyaku.inventory.links import PATH_ORDER, classify_link
from shuyaku.inventory.load import os_lifecycle

DEFAULT_HARDWARE_LIFE_YEARS = 5
WARNING_YEARS = 2
LAYER_ORDER = [layer.value for layer in Layer]


def reference_date(fiscal_year: int) -> date:
    """A Japanese fiscal year starts on April 1; support that ends before then is already gone."""
    return date(fiscal_year, 4, 1)


def _add_years(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # Feb 29
        return d.replace(year=d.year + years, day=28)


def server_ages(inv: Inventory, life_years: int, warning_years: int = WARNING_YEARS) -> list[ServerAge]:
    lifecycle = os_lifecycle()
    fy = inv.municipality.fiscal_year
    ref = reference_date(fy)
    horizon = _add_years(ref, warning_years)
    out: list[ServerAge] = []
    for s in inv.systems:
        for srv in s.servers:
            eos = lifecycle.get(srv.os, {}).get(srv.os_version)
            os_status: Literal["eol", "soon", "ok", "unknown"]
            if eos is None:
                os_status = "unknown"
            elif eos <= ref:
                os_status = "eol"
            elif eos < horizon:
                os_status = "soon"
            else:
                os_status = "ok"
            # purchase_year is a fiscal year: bought in FY2021 with a 5-year life, it serves FY2021-FY2025.
            age = fy - srv.purchase_year
            hw: Literal["over", "soon", "ok"] = (
                "over" if age >= life_years else ("soon" if age + warning_years >= life_years else "ok"))
            out.append(ServerAge(
                system_id=s.id, system_name=s.name, layer=s.layer, role=srv.role, count=srv.count,
                os=srv.os, os_version=srv.os_version, os_end_of_support=eos, os_status=os_status,
                purchase_year=srv.purchase_year, hardware_age_years=age, hardware_status=hw,
            ))
    return out


def link_findings(inv: Inventory) -> list[LinkFinding]:
    by_id = {s.id: s for s in inv.systems}
    out: list[LinkFinding] = []
    for s in inv.systems:
        for link in s.links:
            t = by_id[link.target]
            path = classify_link(s.layer.value, t.layer.value, link.direction.value, link.port, link.kind)
            out.append(LinkFinding(
                source=s.id, source_name=s.name, source_layer=s.layer,
                target=t.id, target_name=t.name, target_layer=t.layer,
                protocol=link.protocol.value, port=link.port, direction=link.direction.value,
                purpose=link.purpose, path=path, compliant=path == "direct",  # type: ignore[arg-type]
            ))
    return out


def _check_layer(s: System) -> CheckResult:
    if s.standard_op is None or s.layer == Layer.mynumber:
        if s.standard_op:
            return CheckResult(id="layer", status="pass", detail_ja="標準化業務をマイナンバー利用事務系に配置",
                               detail_en="standard operation placed in the My Number layer")
        return CheckResult(id="layer", status="pass", detail_ja="個人番号利用事務の標準化業務ではない",
                           detail_en="not one of the standard (My Number) operations")
    ja, en = LAYER_NAMES[s.layer]
    return CheckResult(id="layer", status="fail",
                       detail_ja=f"標準化業務が{ja}に置かれている（マイナンバー利用事務系へ移す）",
                       detail_en=f"a standard operation sits in the {en} (move it to the My Number layer)")


def _check_os(ages: list[ServerAge]) -> CheckResult:
    eol = sorted({os_name(a.os, a.os_version) for a in ages if a.os_status in ("eol", "unknown")})
    soon = sorted({os_name(a.os, a.os_version) for a in ages if a.os_status == "soon"})
    if eol:
        return CheckResult(id="os", status="fail", detail_ja="サポート終了: " + "、".join(eol),
                           detail_en="out of support: " + ", ".join(eol))
    if soon:
        return CheckResult(id="os", status="warn", detail_ja="2年以内にサポート終了: " + "、".join(soon),
                           detail_en="support ends within 2 years: " + ", ".join(soon))
    return CheckResult(id="os", status="pass", detail_ja="全OSがサポート期間内", detail_en="every OS is supported")


def _check_redundancy(s: System) -> CheckResult:
    if s.rto_hours > REDUNDANCY_RTO_HOURS:
        return CheckResult(id="redundancy", status="na", detail_ja=f"RTO {s.rto_hours:g}時間（24時間超）",
                           detail_en=f"RTO {s.rto_hours:g} h (over 24 h)")
    single = [srv.role for srv in s.servers if srv.redundancy == Redundancy.none]
    if not single:
        return CheckResult(id="redundancy", status="pass", detail_ja="全ての役割が冗長化済み",
                           detail_en="every role is redundant")
    if len(single) < len(s.servers):
        return CheckResult(id="redundancy", status="warn", detail_ja="単一構成の役割: " + "、".join(single),
                           detail_en="single points of failure: " + ", ".join(single))
    return CheckResult(id="redundancy", status="fail",
                       detail_ja=f"RTO {s.rto_hours:g}時間に対し冗長化なし",
                       detail_en=f"no redundancy for an RTO of {s.rto_hours:g} h")


def _check_links(sid: str, links: list[LinkFinding]) -> CheckResult:
    mine = [lk for lk in links if sid in (lk.source, lk.target)]
    forbidden = [lk for lk in mine if lk.path == "forbidden"]
    reroute = [lk for lk in mine if lk.path in ("hub", "relay", "screen")]

    def names(ls: list[LinkFinding]) -> list[str]:
        return sorted({lk.target if lk.source == sid else lk.source for lk in ls})

    if forbidden:
        return CheckResult(id="links", status="fail", detail_ja="禁止された連携: " + "、".join(names(forbidden)),
                           detail_en="forbidden links with: " + ", ".join(names(forbidden)))
    if reroute:
        return CheckResult(id="links", status="warn", detail_ja="経路の切替が必要な直接連携: " + "、".join(names(reroute)),
                           detail_en="direct links to reroute: " + ", ".join(names(reroute)))
    return CheckResult(id="links", status="pass", detail_ja="系をまたぐ直接連携なし",
                       detail_en="no direct cross-layer link")


def _check_rpo_rto(s: System) -> CheckResult:
    if s.rpo_hours == 0 or s.rto_hours == 0:
        return CheckResult(id="rpo_rto", status="warn",
                           detail_ja=f"RPO {s.rpo_hours:g}時間 / RTO {s.rto_hours:g}時間（0は要確認）",
                           detail_en=f"RPO {s.rpo_hours:g} h / RTO {s.rto_hours:g} h (0 needs confirming)")
    return CheckResult(id="rpo_rto", status="pass",
                       detail_ja=f"RPO {s.rpo_hours:g}時間 / RTO {s.rto_hours:g}時間",
                       detail_en=f"RPO {s.rpo_hours:g} h / RTO {s.rto_hours:g} h")


_POINTS = {"pass": 1.0, "warn": 0.5, "fail": 0.0}


def readiness(inv: Inventory, ages: list[ServerAge], links: list[LinkFinding]) -> list[Readiness]:
    by_system: dict[str, list[ServerAge]] = defaultdict(list)
    for a in ages:
        by_system[a.system_id].append(a)
    out: list[Readiness] = []
    for s in inv.systems:
        checks = [_check_layer(s), _check_os(by_system[s.id]), _check_redundancy(s),
                  _check_links(s.id, links), _check_rpo_rto(s)]
        assert [c.id for c in checks] == [c.id for c in CHECKLIST]
        applicable = [c for c in checks if c.status != "na"]
        score = 100.0 * sum(_POINTS[c.status] for c in applicable) / len(applicable) if applicable else 100.0
        out.append(Readiness(
            system_id=s.id, system_name=s.name, department=s.department, layer=s.layer,
            standard_op=s.standard_op, checks=checks, score_pct=round(score, 1),
            ready=not any(c.status == "fail" for c in checks),
        ))
    return out


def _row(key: str, systems: list[System]) -> CostRow:
    sums = {k: sum(getattr(s.costs, k) for s in systems) for k in COST_KEYS}
    return CostRow(key=key, systems=len(systems), total=sum(sums.values()), **sums)


def cost_baseline(inv: Inventory) -> CostBaseline:
    by_dept: dict[str, list[System]] = defaultdict(list)
    by_layer: dict[str, list[System]] = {layer: [] for layer in LAYER_ORDER}
    for s in inv.systems:
        by_dept[s.department].append(s)
        by_layer[s.layer.value].append(s)
    dept_rows = sorted((_row(d, ss) for d, ss in by_dept.items()), key=lambda r: (-r.total, r.key))
    total = _row("total", list(inv.systems))
    return CostBaseline(
        by_department=dept_rows,
        by_layer=[_row(layer, by_layer[layer]) for layer in LAYER_ORDER],
        total=total,
        per_resident_yen=round(total.total / inv.municipality.population, 1),
        standard_ops_total_yen=sum(s.costs.total for s in inv.systems if s.standard_op),
    )


def assess(inv: Inventory, catalogue: Catalogue | None = None) -> Assessment:
    life = catalogue.sizing.hardware_life_years if catalogue else DEFAULT_HARDWARE_LIFE_YEARS
    ages = server_ages(inv, life)
    links = link_findings(inv)
    ready = readiness(inv, ages, links)
    by_path = {p: sum(1 for lk in links if lk.path == p) for p in PATH_ORDER}
    summary = Summary(
        systems=len(inv.systems),
        servers=sum(a.count for a in ages),
        systems_by_layer={layer: sum(1 for s in inv.systems if s.layer.value == layer) for layer in LAYER_ORDER},
        servers_os_eol=sum(a.count for a in ages if a.os_status in ("eol", "unknown")),
        servers_os_soon=sum(a.count for a in ages if a.os_status == "soon"),
        servers_hw_over=sum(a.count for a in ages if a.hardware_status == "over"),
        servers_hw_soon=sum(a.count for a in ages if a.hardware_status == "soon"),
        systems_with_eol_os=len({a.system_id for a in ages if a.os_status in ("eol", "unknown")}),
        systems_over_hw_life=len({a.system_id for a in ages if a.hardware_status == "over"}),
        links=len(links),
        links_by_path=by_path,
        systems_ready=sum(1 for r in ready if r.ready),
        mean_readiness_pct=round(sum(r.score_pct for r in ready) / len(ready), 1),
    )
    m = inv.municipality
    return Assessment(
        municipality=m.name, municipality_en=m.name_en, population=m.population,
        separation_model=m.separation_model.value, fiscal_year=m.fiscal_year,
        reference_date=reference_date(m.fiscal_year), warning_years=WARNING_YEARS,
        hardware_life_years=life, hardware_life_source="catalogue" if catalogue else "default",
        names_en={s.id: s.name_en for s in inv.systems if s.name_en},
        summary=summary, servers=ages, links=links, checklist=list(CHECKLIST), readiness=ready,
        cost=cost_baseline(inv),
    )
