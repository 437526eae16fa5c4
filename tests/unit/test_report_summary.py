"""The one-page summary: its figures are the plan's, and it never says something the plan does not."""

from __future__ import annotations

from pathlib import Path

from shuyaku.inventory.load import load
from shuyaku.plan.build import make_plan
from shuyaku.report import fmt, plan_report, summary
from shuyaku.report.messages import Messages

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "examples" / "sample-city" / "inventory.yaml"


def test_before_and_after_by_item_add_up_to_the_cost_case() -> None:
    plan = make_plan(load(SAMPLE))
    rows = summary.item_rows(plan, Messages("ja"))
    assert sum(r.before for r in rows) == plan.cost.baseline_annual_yen
    assert sum(r.after for r in rows) == plan.cost.consolidated_annual_yen
    levers = summary.levers(plan, Messages("en"), "en")
    top = sorted((x.annual_yen for x in plan.cost.consolidated_lines), reverse=True)[:3]
    assert [lv.yen for lv in levers] == top


def test_summary_states_gap_sensitivity_and_risks_in_both_languages(tmp_path: Path) -> None:
    loaded = load(SAMPLE)
    plan = make_plan(loaded)
    for lang in ("ja", "en"):
        html = plan_report.render(plan, loaded.inventory, tmp_path / lang, lang, inventory_sha256="ab" * 32).read_text(
            encoding="utf-8")
        head = html[html.index('id="summary"'):html.index('id="cost"')]
        assert fmt.yen_short(plan.cost.gap_to_goal_yen, lang) in head
        for s in plan.cost.sensitivity:
            assert fmt.pct(s.ratio_pct) in head
        assert "S070 → S001" in head  # the forbidden link is a top risk
        assert "ab" * 32 in html[html.index("<footer"):]


def test_no_terminals_no_thin_client_claim(tmp_path: Path) -> None:
    loaded = load(SAMPLE)
    inv = loaded.inventory.model_copy(update={"terminals": []})
    loaded.inventory = inv
    # Without terminals the sample's screen links would be refused by validate; the report alone is checked here.
    plan = make_plan(loaded)
    assert plan.cost.thin_client.terminals == 0
    html = plan_report.render(plan, inv, tmp_path, "ja").read_text(encoding="utf-8")
    section = html[html.index('id="thin-client"'):html.index('id="waves"')]
    assert Messages("ja").p_thin_none in section and "安くなります" not in section


def test_a_dr_objective_no_tier_meets_is_a_top_risk_and_shown_with_its_shortfall(tmp_path: Path) -> None:
    """The sample city meets every RPO/RTO; a system asking for RPO 0.25 h is given the best tier with the
    shortfall: the summary names it as a risk and the DR table shows by how much, in both languages."""
    loaded = load(SAMPLE)
    sid = loaded.inventory.systems[0].id
    loaded.inventory.systems[0] = loaded.inventory.systems[0].model_copy(update={"rpo_hours": 0.25, "rto_hours": 0.5})
    plan = make_plan(loaded)
    tier = next(x for x in plan.dr.tiers if x.system_id == sid)
    assert plan.dr.misses == 1 and (tier.rpo_short_hours > 0 or tier.rto_short_hours > 0)
    for lang in ("ja", "en"):
        m = Messages(lang)
        assert m.f("s_risk_dr", n=1) in [text for _, text in summary.risks(plan, m, lang)]
        html = plan_report.render(plan, loaded.inventory, tmp_path / lang, lang).read_text(encoding="utf-8")
        head = html[html.index('id="summary"'):html.index('id="cost"')]
        assert m.f("s_risk_dr", n=1) in head
        row = html[html.index(f'<tr data-system="{sid}">'):]
        row = row[:row.index("</tr>")]
        short = tier.rpo_short_hours or tier.rto_short_hours
        assert f"{short:g}h" in row and "s-fail" in row
