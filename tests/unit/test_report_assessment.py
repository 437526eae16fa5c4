"""assessment.html: both languages render, and the figures a reader sees equal the assessment's."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from test_report_fixture import SAMPLE, Element, number, parse_html

from shuyaku.assess import Assessment, assess
from shuyaku.contracts.assessment import COST_KEYS
from shuyaku.contracts.inventory import Inventory
from shuyaku.inventory.load import load
from shuyaku.report import assessment_report
from shuyaku.report.messages import MESSAGES


@pytest.fixture(scope="module")
def sample() -> Assessment:
    loaded = load(SAMPLE)
    return assess(loaded.inventory, loaded.catalogue)


def render(a: Assessment, tmp: Path, lang: str) -> tuple[str, Element]:
    path = assessment_report.render(a, tmp, lang)
    assert path == tmp / "assessment.html"
    html = path.read_text(encoding="utf-8")
    return html, parse_html(html)


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_summary_cards_show_the_models_figures(sample: Assessment, tmp_path: Path, lang: str) -> None:
    _, doc = render(sample, tmp_path, lang)
    cards = doc.by_attr("data-figure")
    s = sample.summary
    first = {k: cards[k].parts[0] for k in cards}
    assert number(first["systems"]) == s.systems
    assert number(first["servers"]) == s.servers
    assert number(first["servers_os_eol"]) == s.servers_os_eol
    assert number(first["servers_hw_over"]) == s.servers_hw_over
    assert number(first["links_cross_layer"]) == s.links - s.links_by_path["direct"]
    assert first["systems_ready"] == f"{s.systems_ready} / {s.systems}"
    if lang == "ja":
        assert first["cost_total"] == f"{sample.cost.total.total / 1e8:.2f}億円"
    else:
        assert first["cost_total"] == f"¥{sample.cost.total.total / 1e9:.2f} bn"


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_tables_equal_the_model(sample: Assessment, tmp_path: Path, lang: str) -> None:
    _, doc = render(sample, tmp_path, lang)
    os_cells = doc.by_attr("data-os")
    hw_cells = doc.by_attr("data-hw")
    for layer in ("mynumber", "lgwan", "internet", "shared"):
        groups = [g for g in sample.servers if g.layer == layer]
        assert number(os_cells[f"{layer}-eol"].text) == sum(g.count for g in groups if g.os_status in ("eol", "unknown"))
        assert number(os_cells[f"{layer}-soon"].text) == sum(g.count for g in groups if g.os_status == "soon")
        assert number(hw_cells[f"{layer}-over"].text) == sum(g.count for g in groups if g.hardware_status == "over")
    assert sum(number(c.text) for c in os_cells.values()) == sample.summary.servers

    # Every flagged server group is listed, and nothing else.
    [ageing] = doc.find_all("table", id="ageing-table")
    rows = [r for r in ageing.walk() if "data-system" in r.attrs]
    flagged = [g for g in sample.servers if g.os_status != "ok" or g.hardware_status != "ok"]
    assert len(rows) == len(flagged)

    links = doc.by_attr("data-links")
    for path, n in sample.summary.links_by_path.items():
        assert number(links[path].text) == n
    assert number(links["total"].text) == sample.summary.links
    link_rows = [r for r in doc.walk() if r.tag == "tr" and "data-path" in r.attrs]
    assert len(link_rows) == sample.summary.links - sample.summary.links_by_path["direct"]
    forbidden = [r for r in link_rows if r.attrs["data-path"] == "forbidden"]
    assert len(forbidden) == sample.summary.links_by_path["forbidden"]
    assert all("forbidden" in r.attrs["class"].split() for r in forbidden)
    assert link_rows[0].attrs["data-path"] == "forbidden"  # the worst first

    checks = doc.by_attr("data-check")
    for c in sample.checklist:
        for st in ("pass", "warn", "fail", "na"):
            expected = sum(1 for r in sample.readiness for x in r.checks if x.id == c.id and x.status == st)
            assert number(checks[f"{c.id}-{st}"].text) == expected
    [ready] = doc.find_all("table", id="readiness-table")
    scored = {r.attrs["data-system"]: r for r in ready.walk() if "data-score" in r.attrs}
    assert len(scored) == len(sample.readiness)
    for r in sample.readiness:
        assert float(scored[r.system_id].attrs["data-score"]) == r.score_pct
        assert f"{r.score_pct:.1f}%" in scored[r.system_id].text


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_cost_tables_equal_the_model(sample: Assessment, tmp_path: Path, lang: str) -> None:
    _, doc = render(sample, tmp_path, lang)
    for table_id, rows in (("cost-by-layer", sample.cost.by_layer), ("cost-by-department", sample.cost.by_department)):
        [table] = doc.find_all("table", id=table_id)
        shown = {r.attrs["data-row"]: r for r in table.walk() if r.tag == "tr" and "data-row" in r.attrs}
        assert len(shown) == len(rows) + 1  # plus the total row
        for row in [*rows, sample.cost.total]:
            cells = shown[row.key].by_attr("data-cost")
            for key in (*COST_KEYS, "total"):
                assert number(cells[key].text) == getattr(row, key), (table_id, row.key, key)


def test_languages_differ_and_every_label_exists_in_both(sample: Assessment, tmp_path: Path) -> None:
    ja, _ = render(sample, tmp_path / "ja", "ja")
    en, _ = render(sample, tmp_path / "en", "en")
    assert '<html lang="ja">' in ja and "現状評価レポート" in ja and "OSサポート" in ja
    assert '<html lang="en">' in en and "Current-state assessment" in en and "OS supported" in en
    assert "現状評価レポート" not in en and "チェックリスト" not in en
    for key, (j, e) in MESSAGES.items():
        assert j.strip() and e.strip(), key


def test_report_is_self_contained_and_accessible(sample: Assessment, tmp_path: Path) -> None:
    html, doc = render(sample, tmp_path, "ja")
    assert "<script" not in html and "<link" not in html and "@import" not in html
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert re.findall(r"https?://[^\s\"'<>]+", html) == ["http://www.w3.org/2000/svg"] * html.count("<svg")
    svgs = doc.find_all("svg")
    assert len(svgs) >= 6
    for svg in svgs:
        assert svg.attrs["role"] == "img"
        labelled = svg.attrs["aria-labelledby"].split()
        assert [c.attrs.get("id") for c in svg.children[:2]] == labelled
        assert svg.children[0].tag == "title" and svg.children[0].text
        assert svg.children[1].tag == "desc" and svg.children[1].text
        assert float(svg.attrs["width"]) > 0 and float(svg.attrs["height"]) > 0
    tables = doc.find_all("table")
    assert tables and all(t.children and t.children[0].tag == "caption" and t.children[0].text for t in tables)
    assert "@page" in html and "size: A4" in html


def test_names_from_the_inventory_are_escaped(tmp_path: Path) -> None:
    inv = Inventory.model_validate({
        "municipality": {"name": "<script>alert(1)</script>市", "population": 10, "separation_model": "beta",
                         "fiscal_year": 2026},
        "systems": [{
            "id": "A01", "name": "<img src=x onerror=alert(1)>", "department": "課&<b>", "layer": "mynumber",
            "vendor": "v", "users": 1, "rpo_hours": 1, "rto_hours": 4,
            "servers": [{"role": "db", "count": 1, "vcpu": 2, "ram_gb": 4, "disk_gb": 10, "os": "rhel",
                         "os_version": "6", "purchase_year": 2010}],
            "costs": {"hardware": 1, "maintenance": 1, "licences": 1, "operations": 1, "facility": 1},
        }],
    })
    html, _ = render(assess(inv), tmp_path, "ja")
    assert "<script>" not in html and "<img" not in html and "<b>" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "課&amp;&lt;b&gt;" in html


def test_english_report_uses_english_system_names_when_given(tmp_path: Path) -> None:
    inv = Inventory.model_validate({
        "municipality": {"name": "テスト市", "population": 10, "separation_model": "alpha", "fiscal_year": 2026},
        "systems": [{
            "id": "A01", "name": "住民記録", "name_en": "Resident records", "department": "市民課", "layer": "mynumber",
            "vendor": "v", "users": 1, "rpo_hours": 1, "rto_hours": 4,
            "servers": [{"role": "db", "count": 1, "vcpu": 2, "ram_gb": 4, "disk_gb": 10, "os": "rhel",
                         "os_version": "6", "purchase_year": 2010}],
            "costs": {"hardware": 1, "maintenance": 1, "licences": 1, "operations": 1, "facility": 1},
        }],
    })
    en, _ = render(assess(inv), tmp_path / "en", "en")
    ja, _ = render(assess(inv), tmp_path / "ja", "ja")
    assert "Resident records" in en and "住民記録" not in en
    assert "住民記録" in ja


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_summary_first_per_server_tables_in_the_appendix_and_a_traceable_footer(sample: Assessment, tmp_path: Path,
                                                                                 lang: str) -> None:
    """The same layout as the plan report: a one-page summary with the key findings on top, every per-server and
    per-system table after the appendix heading, money through one helper, and a footer naming when and from
    which inventory the page was made."""
    from datetime import UTC, datetime

    from shuyaku.report import fmt

    path = assessment_report.render(sample, tmp_path, lang, inventory_sha256="cd" * 32,
                                    generated_at=datetime(2026, 12, 3, 9, 30, tzinfo=UTC))
    html = path.read_text(encoding="utf-8")
    summary, appendix = html.index('id="summary"'), html.index('id="appendix"')
    assert summary < html.index('id="findings"') < html.index('id="ageing"') < appendix
    for table in ("ageing-table", "links-table", "readiness-table", "cost-by-department"):
        assert html.index(f'id="{table}"') > appendix, table
    findings = html[html.index('id="findings"'):html.index("</ul>", html.index('id="findings"'))]
    s = sample.summary
    assert f"{s.servers_os_eol}" in findings and f"{s.servers_hw_over}" in findings
    assert "S070 → S001 tcp/1521" in findings
    assert fmt.yen_short(sample.cost.total.total, lang) in findings
    footer = html[html.index("<footer"):]
    assert "cd" * 32 in footer and "2026-12-03 09:30" in footer
    # no raw, unit-less sums: every money cell in the cost tables carries the unit the plan report uses
    cells = re.findall(r'data-cost="total">([^<]*)<', html)
    assert cells and all(c.endswith("円") if lang == "ja" else c.startswith("¥") for c in cells)
