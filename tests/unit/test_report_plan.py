"""report.html: both languages render from a valid Plan, and the figures shown equal the plan's."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from test_report_fixture import SAMPLE, Element, fixture_plan, number, parse_html

from shuyaku.contracts.inventory import Inventory
from shuyaku.contracts.plan import Plan
from shuyaku.contracts.standard_ops import STANDARD_OPS
from shuyaku.inventory.load import load
from shuyaku.report import plan_report


@pytest.fixture(scope="module")
def inv() -> Inventory:
    return load(SAMPLE).inventory


@pytest.fixture(scope="module")
def plan(inv: Inventory) -> Plan:
    loaded = load(SAMPLE)
    assert loaded.catalogue is not None
    return fixture_plan(loaded.inventory, loaded.catalogue)


def render(plan: Plan, inv: Inventory, tmp: Path, lang: str) -> tuple[str, Element]:
    path = plan_report.render(plan, inv, tmp, lang)
    assert path == tmp / "report.html"
    html = path.read_text(encoding="utf-8")
    return html, parse_html(html)


def cost_with(plan: Plan, **update: object) -> Plan:
    return plan.model_copy(update={"cost": plan.cost.model_copy(update=update)})


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_zone_figures_equal_the_plan(plan: Plan, inv: Inventory, tmp_path: Path, lang: str) -> None:
    _, doc = render(plan, inv, tmp_path, lang)
    rows = doc.by_attr("data-zone")
    assert set(rows) == {z.layer for z in plan.zones}
    for z in plan.zones:
        cells = rows[z.layer].by_attr("data-f")
        assert number(cells["vms"].text) == z.vms
        assert number(cells["hosts"].text) == z.hosts
        assert number(cells["lower_bound"].text) == z.lower_bound
        assert number(cells["gap_pct"].text) == round(z.gap_pct, 1)
        assert number(cells["vms_per_host"].text) == round(z.vms_per_host, 1)
        assert number(cells["util_vcpu"].text) == round(z.utilisation_pct.vcpu, 1)
        assert number(cells["util_ram"].text) == round(z.utilisation_pct.ram_gb, 1)
        assert number(cells["util_disk"].text) == round(z.utilisation_pct.disk_gb, 1)
    cards = doc.by_attr("data-figure")
    total_hosts = sum(z.hosts for z in plan.zones)
    assert number(cards["hosts_total"].parts[0]) == total_hosts
    assert number(cards["vms_per_host"].parts[0]) == round(sum(z.vms for z in plan.zones) / total_hosts, 1)
    # Machida's 5 -> 10 VMs per host are drawn as reference lines and named in the legend.
    [vph] = [s for s in doc.find_all("svg") if s.attrs["id"] == "chart-vph"]
    assert ("町田市" if lang == "ja" else "Machida") in vph.text
    assert len([e for e in vph.walk() if e.tag == "line" and "stroke-dasharray" in e.attrs]) >= 2


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_cost_figures_equal_the_plan(plan: Plan, inv: Inventory, tmp_path: Path, lang: str) -> None:
    _, doc = render(plan, inv, tmp_path, lang)
    c = plan.cost
    cards = doc.by_attr("data-figure")
    assert number(cards["ratio_pct"].parts[0]) == round(c.ratio_pct, 1)
    years = doc.by_attr("data-year")
    assert len(years) == c.years == len(c.by_year)
    for y in c.by_year:
        cells = years[str(y.year)].by_attr("data-f")
        assert number(cells["baseline"].text) == y.baseline_yen
        assert number(cells["consolidated"].text) == y.consolidated_yen
        assert number(cells["cum_baseline"].text) == y.cumulative_baseline_yen
        assert number(cells["cum_consolidated"].text) == y.cumulative_consolidated_yen
    for table_id, lines in (("baseline-lines", c.baseline_lines), ("consolidated-lines", c.consolidated_lines)):
        [table] = doc.find_all("table", id=table_id)
        shown = table.by_attr("data-line")
        for line in lines:
            assert number(shown[line.key].find_all("td")[0].text) == line.annual_yen
            assert line.source in shown[line.key].text  # every figure names its source
        assert number(shown["total"].find_all("td")[0].text) == sum(line.annual_yen for line in lines)
    text = doc.find_all("div", id="ratio-text")[0].text
    assert f"{c.ratio_pct:.1f}%" in text and f"{c.reduction_pct:.1f}%" in text
    assert ("47%" in text) and ("50%" in text)
    verdict = ("達成します" if c.goal_met else "達成しません") if lang == "ja" else ("is met" if c.goal_met else "not met")
    assert verdict in text
    be = doc.by_attr("data-figure")["break_even"].text
    assert (f"{c.break_even_year}年目" if lang == "ja" else f"year {c.break_even_year}") in be


def test_goal_missed_and_no_break_even_are_said_plainly(plan: Plan, inv: Inventory, tmp_path: Path) -> None:
    worse = cost_with(plan, ratio_pct=63.2, reduction_pct=36.8, goal_met=False, break_even_year=None)
    _, doc = render(worse, inv, tmp_path / "ja", "ja")
    assert "達成しません" in doc.find_all("div", id="ratio-text")[0].text
    assert f"{plan.cost.years}年以内に回収できない" in doc.by_attr("data-figure")["break_even"].text
    _, doc = render(worse, inv, tmp_path / "en", "en")
    assert "not met" in doc.find_all("div", id="ratio-text")[0].text
    assert f"not within {plan.cost.years} years" in doc.by_attr("data-figure")["break_even"].text


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_thin_clients_are_shown_apart_and_honestly(plan: Plan, inv: Inventory, tmp_path: Path, lang: str) -> None:
    tc = plan.cost.thin_client
    assert tc.difference_yen > 0  # in the sample, thin clients cost more than PCs, as Machida found
    _, doc = render(plan, inv, tmp_path, lang)
    cells = doc.by_attr("data-f")
    assert number(cells["terminals"].text) == tc.terminals
    assert number(cells["pc"].text) == tc.pc_annual_yen
    assert number(cells["thin"].text) == tc.thin_client_annual_yen
    assert cells["difference"].text.startswith("+") and number(cells["difference"].text) == tc.difference_yen
    verdict = doc.find_all("div", id="thin-verdict")[0].text
    assert ("高くなります" if lang == "ja" else "more per year") in verdict
    benefits = doc.find_all("ul", id="thin-security")[0].text + doc.find_all("ul", id="thin-maintenance")[0].text
    for b in (tc.security_benefits_ja + tc.maintenance_benefits_ja if lang == "ja"
              else tc.security_benefits_en + tc.maintenance_benefits_en):
        assert b in benefits
    # The consolidation ratio does not include the thin-client line.
    assert "thin" not in {line.key for line in plan.cost.consolidated_lines}


def test_cheaper_thin_clients_are_reported_as_cheaper(plan: Plan, inv: Inventory, tmp_path: Path) -> None:
    tc = plan.cost.thin_client.model_copy(update={"thin_client_annual_yen": 100_000_000, "pc_annual_yen": 130_000_000,
                                                   "difference_yen": -30_000_000})
    _, doc = render(cost_with(plan, thin_client=tc), inv, tmp_path, "ja")
    verdict = doc.find_all("div", id="thin-verdict")[0].text
    assert "3,000万円 安くなります" in verdict


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_waves_government_cloud_dr_and_links(plan: Plan, inv: Inventory, tmp_path: Path, lang: str) -> None:
    _, doc = render(plan, inv, tmp_path, lang)
    waves = doc.by_attr("data-wave")
    assert len(waves) == len(plan.waves)
    for w in plan.waves:
        assert number(waves[str(w.number)].find_all("td")[0].text) == len(w.systems)
        for sid in w.systems:
            assert sid in waves[str(w.number)].text
    ops = [r for r in doc.walk() if r.tag == "tr" and "data-op" in r.attrs]
    assert [r.attrs["data-op"] for r in ops] == list(STANDARD_OPS)  # the 20, in the statutory order
    for r in ops:
        for sid in (s.id for s in inv.systems if s.standard_op == r.attrs["data-op"]):
            assert sid in r.text
    tiers = doc.by_attr("data-tier")
    for t in ("warm", "backup", "none"):
        assert number(tiers[t].text) == sum(1 for x in plan.dr.tiers if x.tier == t)
    assert str(plan.dr.standby_hosts) in doc.find_all("section", id="dr")[0].text
    rows = [r for r in doc.walk() if r.tag == "tr" and "data-path" in r.attrs]
    assert len(rows) == len(plan.links)
    forbidden = [r for r in rows if r.attrs["data-path"] == "forbidden"]
    assert len(forbidden) == sum(1 for lk in plan.links if lk.path == "forbidden") >= 1
    assert all("forbidden" in r.attrs["class"].split() for r in forbidden)
    assert rows[: len(forbidden)] == forbidden  # highlighted and listed first


def test_both_languages_and_self_contained(plan: Plan, inv: Inventory, tmp_path: Path) -> None:
    ja, _ = render(plan, inv, tmp_path / "ja", "ja")
    en, doc = render(plan, inv, tmp_path / "en", "en")
    assert '<html lang="ja">' in ja and "集約計画レポート" in ja
    assert '<html lang="en">' in en and "Consolidation plan" in en and "集約計画レポート" not in en
    for html in (ja, en):
        assert "<script" not in html and "<link" not in html
        assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    for svg in doc.find_all("svg"):
        assert svg.attrs["role"] == "img" and svg.children[0].tag == "title" and svg.children[1].tag == "desc"
    assert all(t.children[0].tag == "caption" for t in doc.find_all("table"))


def test_an_unfavourable_plan_still_renders_truthfully(plan: Plan, inv: Inventory, tmp_path: Path) -> None:
    """Consolidation that costs more than today, no waves, no links: the report says so instead of failing."""
    bad = cost_with(plan, ratio_pct=130.0, reduction_pct=-30.0, goal_met=False, break_even_year=None)
    bad = bad.model_copy(update={"waves": [], "links": []})
    _, doc = render(bad, inv, tmp_path, "en")
    assert "130.0%" in doc.find_all("div", id="ratio-text")[0].text
    assert "an increase of 30.0%" in doc.find_all("div", id="ratio-text")[0].text
    [gauge] = [s for s in doc.find_all("svg") if s.attrs["id"] == "chart-ratio"]
    assert float(gauge.attrs["width"]) > 0
    assert not doc.by_attr("data-wave") and not [r for r in doc.walk() if "data-path" in r.attrs]
