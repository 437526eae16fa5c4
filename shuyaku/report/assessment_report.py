"""assessment.html: the current-state report a municipality's IT staff read (Japanese by default)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from shuyaku.contracts.assessment import COST_KEYS, Assessment
from shuyaku.contracts.vocabulary import LAYERS
from shuyaku.report import charts, fmt
from shuyaku.report.charts import PALETTE, Series
from shuyaku.report.messages import Messages
from shuyaku.report.render import write

PATHS = ["forbidden", "hub", "relay", "screen", "direct"]
STATUS_COLORS = {"bad": "#D55E00", "warn": "#E69F00", "good": "#009E73", "none": "#999999"}
TOP_DEPARTMENTS = 12
_OS_RANK = {"eol": 0, "unknown": 0, "soon": 1, "ok": 2}
_HW_RANK = {"over": 0, "soon": 1, "ok": 2}


def _cost_series(m: Messages, rows: list, scale: float = 1.0) -> list[Series]:
    return [Series(getattr(m, f"cost_{k}"), [getattr(r, k) / scale for r in rows], PALETTE[i])
            for i, k in enumerate(COST_KEYS)]


def findings(a: Assessment, m: Messages, lang: str) -> list[tuple[str, str]]:
    """(severity, text) for the summary, most urgent first; every figure is the assessment's own."""
    s = a.summary
    out: list[tuple[str, str]] = []
    eol = sorted((g for g in a.servers if g.os_status == "eol" and g.os_end_of_support),
                 key=lambda g: (g.os_end_of_support, g.system_id))
    if s.servers_os_eol:
        first = eol[0] if eol else None
        out.append(("bad", m.f("a_f_os", n=s.servers_os_eol, systems=s.systems_with_eol_os,
                               sid=first.system_id if first else "—",
                               os=m.os_name(first.os, first.os_version) if first else "—",
                               when=fmt.date(first.os_end_of_support, lang) if first and first.os_end_of_support else "—")))
    if s.servers_hw_over:
        out.append(("bad", m.f("a_f_hw", n=s.servers_hw_over, systems=s.systems_over_hw_life,
                               years=a.hardware_life_years)))
    forbidden = [lk for lk in a.links if lk.path == "forbidden"]
    if forbidden:
        f = forbidden[0]
        out.append(("bad", m.f("a_f_forbidden", n=len(forbidden),
                               first=f"{f.source} → {f.target} {f.protocol}/{f.port}")))
    not_ready = [r for r in a.readiness if not r.ready]
    if not_ready:
        out.append(("warn", m.f("a_f_ready", n=len(not_ready), v=fmt.pct(s.mean_readiness_pct))))
    if not out:
        out.append(("good", m.a_f_none))
    out.append(("info", m.f("a_f_cost", v=fmt.yen_short(a.cost.total.total, lang),
                            std=fmt.yen_short(a.cost.standard_ops_total_yen, lang))))
    return out


def context(a: Assessment, lang: str) -> dict:
    m = Messages(lang)

    def ys(v: float) -> str:
        return fmt.yen_short(v, lang)

    def count(v: float) -> str:
        return f"{v:,.0f}"

    # Servers per layer and status (weighted by count: a group of 4 identical servers is 4 servers).
    os_counts = {layer: {st: 0 for st in ("eol", "soon", "ok")} for layer in LAYERS}
    hw_counts = {layer: {st: 0 for st in ("over", "soon", "ok")} for layer in LAYERS}
    for s in a.servers:
        os_counts[s.layer]["eol" if s.os_status == "unknown" else s.os_status] += s.count
        hw_counts[s.layer][s.hardware_status] += s.count
    layer_labels = [m.layer_short(layer) for layer in LAYERS]
    os_chart = charts.hbars(
        "chart-os", m.a_os_chart, m.table_beside, layer_labels,
        [Series(m.st_eol, [os_counts[la]["eol"] for la in LAYERS], STATUS_COLORS["bad"]),
         Series(m.st_soon, [os_counts[la]["soon"] for la in LAYERS], STATUS_COLORS["warn"]),
         Series(m.st_ok, [os_counts[la]["ok"] for la in LAYERS], STATUS_COLORS["good"])], count, integer=True)
    hw_chart = charts.hbars(
        "chart-hw", m.a_hw_chart, m.table_beside, layer_labels,
        [Series(m.hw_over, [hw_counts[la]["over"] for la in LAYERS], STATUS_COLORS["bad"]),
         Series(m.hw_soon, [hw_counts[la]["soon"] for la in LAYERS], STATUS_COLORS["warn"]),
         Series(m.hw_ok, [hw_counts[la]["ok"] for la in LAYERS], STATUS_COLORS["good"])], count, integer=True)
    flagged = sorted((s for s in a.servers if s.os_status != "ok" or s.hardware_status != "ok"),
                     key=lambda s: (min(_OS_RANK[s.os_status], _HW_RANK[s.hardware_status]), _OS_RANK[s.os_status],
                                    _HW_RANK[s.hardware_status], s.system_id, s.role))

    by_path = a.summary.links_by_path
    links_chart = charts.hbars(
        "chart-links", m.a_links_chart, m.table_beside, [getattr(m, f"path_{p}") for p in PATHS],
        [Series(m.count, [by_path[p] for p in PATHS], PALETTE[0])], count, integer=True)
    cross = sorted((lk for lk in a.links if lk.path != "direct"),
                   key=lambda lk: (PATHS.index(lk.path), lk.source, lk.target, lk.port))

    check_counts = {c.id: {st: 0 for st in ("pass", "warn", "fail", "na")} for c in a.checklist}
    for r in a.readiness:
        for c in r.checks:
            check_counts[c.id][c.status] += 1
    ready_chart = charts.hbars(
        "chart-ready", m.a_ready_chart, m.table_beside, [m.pick(c.label_ja, c.label_en) for c in a.checklist],
        [Series(m.st_pass, [check_counts[c.id]["pass"] for c in a.checklist], STATUS_COLORS["good"]),
         Series(m.st_warn, [check_counts[c.id]["warn"] for c in a.checklist], STATUS_COLORS["warn"]),
         Series(m.st_fail, [check_counts[c.id]["fail"] for c in a.checklist], STATUS_COLORS["bad"]),
         Series(m.st_na, [check_counts[c.id]["na"] for c in a.checklist], STATUS_COLORS["none"])], count, integer=True)
    readiness = sorted(a.readiness, key=lambda r: (r.ready, r.system_id))

    cost = a.cost
    layer_rows = cost.by_layer
    cost_layer_chart = charts.hbars(
        "chart-cost-layer", m.a_cost_layer_chart, m.table_beside, [m.layer_name(r.key) for r in layer_rows],
        _cost_series(m, layer_rows), ys, width=700)
    top = cost.by_department[:TOP_DEPARTMENTS]
    cost_dept_chart = charts.hbars(
        "chart-cost-dept", m.f("a_cost_dept_chart", n=len(top)), m.table_beside, [r.key for r in top],
        _cost_series(m, top), ys, row_h=22, width=700)

    return {
        "m": m, "a": a, "s": a.summary, "cost": cost, "cost_keys": COST_KEYS, "layers": LAYERS, "paths": PATHS,
        "os_counts": os_counts, "hw_counts": hw_counts, "os_chart": os_chart, "hw_chart": hw_chart, "flagged": flagged,
        "links_chart": links_chart, "cross": cross, "check_counts": check_counts, "ready_chart": ready_chart,
        "readiness": readiness, "cost_layer_chart": cost_layer_chart, "cost_dept_chart": cost_dept_chart,
        "top_departments": top, "cross_count": a.summary.links - by_path["direct"],
        "checks_by_id": {c.id: c for c in a.checklist},
        "nm": lambda sid, ja: a.names_en.get(sid, ja) if lang == "en" else ja,
        "findings": findings(a, m, lang),
    }


def render(assessment: Assessment, out_dir: Path, lang: str, *, inventory_sha256: str | None = None,
           generated_at: datetime | None = None) -> Path:
    """Write out_dir/assessment.html and return its path. The footer names when it was made and from which
    inventory (its SHA-256), as the plan report's does."""
    lang = "en" if lang == "en" else "ja"
    when = (generated_at or datetime.now().astimezone()).strftime("%Y-%m-%d %H:%M %Z").strip()
    return write("assessment.html.j2", Path(out_dir) / "assessment.html", lang, footer_time=when,
                 footer_hash=inventory_sha256 or "", **context(assessment, lang))
