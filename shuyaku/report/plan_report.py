"""report.html: the consolidation plan and its cost case, rendered from plan.json (and the inventory for names).

The thin-client line is shown apart from the consolidation figure and without spin: when thin clients
cost more than PCs the report says so, and lists what they buy instead (security, maintenance).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from shuyaku.contracts.inventory import Inventory, System
from shuyaku.contracts.plan import Plan
from shuyaku.contracts.standard_ops import STANDARD_OPS
from shuyaku.report import charts, fmt, summary
from shuyaku.report.charts import PALETTE, Ref, Series
from shuyaku.report.messages import Messages
from shuyaku.report.render import write

MACHIDA_VMS_PER_HOST = (5, 10)  # sized at 5+ VMs per host, aiming for 10
MACHIDA_RATIO_PCT = 47.0  # cost down to about 47% of the baseline (reported)
GOAL_RATIO_PCT = 50.0  # the goal: halve the cost of existing systems
PATHS = ["forbidden", "hub", "relay", "screen", "direct"]
TIERS = ["warm", "replica", "backup", "none"]


@dataclass
class GovRow:
    code: str
    name: str
    systems: list[System]


def _zone_charts(plan: Plan, m: Messages) -> dict:
    zones = plan.zones
    zone_labels = [m.layer_short(z.layer) for z in zones]
    hosts_chart = charts.bars(
        "chart-hosts", m.p_hosts_chart, m.table_beside, zone_labels,
        [Series(m.hosts, [z.hosts for z in zones], PALETTE[0]),
         Series(m.lower_bound, [z.lower_bound for z in zones], PALETTE[7])]
        + ([Series(m.p_vdi_hosts, [z.vdi_hosts for z in zones], PALETTE[4])] if any(z.vdi_hosts for z in zones) else []),
        lambda v: f"{v:,.0f}", integer=True)
    vph_chart = charts.bars(
        "chart-vph", m.p_vph_chart, m.table_beside, zone_labels,
        [Series(m.vph, [z.vms_per_host for z in zones], PALETTE[2])], lambda v: f"{v:,.1f}",
        refs=[Ref(MACHIDA_VMS_PER_HOST[0], m.p_machida5, "#CC79A7"), Ref(MACHIDA_VMS_PER_HOST[1], m.p_machida10, "#D55E00")])
    util_chart = charts.bars(
        "chart-util", m.p_util_chart, m.table_beside, zone_labels,
        [Series(m.util_vcpu, [z.utilisation_pct.vcpu for z in zones], PALETTE[0]),
         Series(m.util_ram, [z.utilisation_pct.ram_gb for z in zones], PALETTE[1]),
         Series(m.util_disk, [z.utilisation_pct.disk_gb for z in zones], PALETTE[2])],
        lambda v: f"{v:.0f}%", ymax=100, width=640)
    return {"hosts_chart": hosts_chart, "vph_chart": vph_chart, "util_chart": util_chart}


def _cost_charts(plan: Plan, m: Messages, ys: Callable[[float], str]) -> dict:
    c = plan.cost
    verdict = m.p_goal_met if c.goal_met else m.p_goal_missed
    if c.reduction_pct >= 0:
        ratio_text = m.f("p_ratio_text", ratio=fmt.pct(c.ratio_pct), red=fmt.pct(c.reduction_pct), verdict=verdict)
    else:
        ratio_text = m.f("p_ratio_text_up", ratio=fmt.pct(c.ratio_pct), inc=fmt.pct(-c.reduction_pct), verdict=verdict)
    ratio_chart = charts.gauge(
        "chart-ratio", m.p_ratio_chart, ratio_text,
        c.ratio_pct, m.f("p_this_plan", v=fmt.pct(c.ratio_pct)),
        [Ref(MACHIDA_RATIO_PCT, m.p_machida_line, "#CC79A7"), Ref(GOAL_RATIO_PCT, m.p_goal_line, "#D55E00")],
        color="#009E73" if c.goal_met else "#E69F00", width=860, vmax=max(100.0, c.ratio_pct))
    year_labels = [m.f("year_n", n=y.year) for y in c.by_year]
    year_chart = charts.bars(
        "chart-years", m.p_year_chart, m.table_beside, year_labels,
        [Series(m.baseline, [y.baseline_yen for y in c.by_year], PALETTE[7]),
         Series(m.consolidated, [y.consolidated_yen for y in c.by_year], PALETTE[0])], ys, width=860, value_labels=False)
    be = c.break_even_year
    cum_chart = charts.lines(
        "chart-cumulative", m.p_cum_chart, m.table_beside, year_labels,
        [Series(m.cum_baseline, [y.cumulative_baseline_yen for y in c.by_year], PALETTE[7]),
         Series(m.cum_consolidated, [y.cumulative_consolidated_yen for y in c.by_year], PALETTE[0])], ys,
        marker=(be - 1, m.f("p_break_even_mark", n=be)) if be and 1 <= be <= len(c.by_year) else None, width=860)

    tc = c.thin_client
    thin_chart = charts.hbars(
        "chart-thin", m.p_thin_chart, m.table_beside, [m.p_thin_pc, m.p_thin_tc],
        [Series(m.annual, [tc.pc_annual_yen, tc.thin_client_annual_yen], PALETTE[4])], ys, width=520)
    return {"ratio_text": ratio_text, "ratio_chart": ratio_chart, "year_chart": year_chart, "cum_chart": cum_chart,
            "thin_chart": thin_chart}


def context(plan: Plan, inv: Inventory, lang: str) -> dict:
    m = Messages(lang)
    systems = {s.id: s for s in inv.systems}

    def ys(v: float) -> str:
        return fmt.yen_short(v, lang)

    def name(sid: str) -> str:
        s = systems.get(sid)
        return (s.name_en or s.name) if s and lang == "en" else (s.name if s else sid)

    zones = plan.zones
    vdi_hosts = sum(z.vdi_hosts for z in zones)
    total_hosts = sum(z.total_hosts for z in zones)  # every host the platform gets, the VDI pools' included
    total_vms = sum(z.vms for z in zones)
    servers_before = sum(srv.count for s in inv.systems for srv in s.servers)
    packed = total_hosts - vdi_hosts
    vph = total_vms / packed if packed else 0.0  # the consolidation ratio: VMs on the hosts that pack them
    c = plan.cost
    wave_rows = [(m.f("wave_n", n=w.number), w.number, m.f("systems_n", n=len(w.systems))) for w in plan.waves]
    waves_chart = charts.timeline("chart-waves", m.p_waves_chart, m.table_beside, wave_rows,
                                  lambda n: m.f("wave_n", n=n), width=860)

    gov = set(plan.government_cloud)
    gov_rows = [GovRow(code, en if lang == "en" else ja, [s for s in inv.systems if s.standard_op == code])
                for code, (ja, en) in STANDARD_OPS.items()]
    listed = {s.id for row in gov_rows for s in row.systems}
    gov_other = [sid for sid in plan.government_cloud if sid not in listed]

    tier_counts = Counter(t.tier for t in plan.dr.tiers)
    links = sorted(plan.links, key=lambda lk: (PATHS.index(lk.path), lk.source, lk.target, lk.port))
    link_counts = Counter(lk.path for lk in plan.links)

    return {
        "m": m, "plan": plan, "inv": inv, "c": c, "tc": c.thin_client, "systems": systems, "name": name,
        "zones": zones, "total_hosts": total_hosts, "vdi_hosts": vdi_hosts, "total_vms": total_vms,
        "servers_before": servers_before,
        "vph": vph, "machida_vph": MACHIDA_VMS_PER_HOST, **_zone_charts(plan, m), **_cost_charts(plan, m, ys),
        "waves_chart": waves_chart, "gov_rows": gov_rows, "gov_other": gov_other, "gov": gov,
        "tiers": TIERS, "tier_counts": tier_counts, "links": links, "link_counts": link_counts, "paths": PATHS,
        "baseline_lines_total": sum(line.annual_yen for line in c.baseline_lines),
        "consolidated_lines_total": sum(line.annual_yen for line in c.consolidated_lines),
        "goal_ratio": GOAL_RATIO_PCT, "machida_ratio": MACHIDA_RATIO_PCT,
        **summary.context(plan, m, lang),
    }


def render(plan: Plan, inventory: Inventory, out_dir: Path, lang: str, *, inventory_sha256: str | None = None,
           generated_at: datetime | None = None) -> Path:
    """Write out_dir/report.html and return its path. The footer names when it was made and from which inventory
    (its SHA-256), so a printed copy can be matched to the file it came from."""
    lang = "en" if lang == "en" else "ja"
    when = (generated_at or datetime.now().astimezone()).strftime("%Y-%m-%d %H:%M %Z").strip()
    return write("plan.html.j2", Path(out_dir) / "report.html", lang, footer_time=when,
                 footer_hash=inventory_sha256 or "", **context(plan, inventory, lang))
