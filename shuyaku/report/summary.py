"""The one-page summary a department head (部長) reads first: the ratio against the goal, the gap in yen, the three
biggest levers, before and after by cost item, the sensitivity range, and the top risks.

Everything here is computed from plan.json; the template only lays it out.
"""

from __future__ import annotations

from dataclasses import dataclass

from shuyaku.contracts.plan import CostLine, Plan
from shuyaku.report import fmt
from shuyaku.report.messages import Messages

ITEMS = ["hardware", "maintenance_hardware", "maintenance_application", "licences", "operations", "facility", "dr"]
ITEM_LABELS = {
    "hardware": ("サーバ機器", "Server hardware"),
    "maintenance_hardware": ("ハードウェア・基盤保守", "Hardware and platform maintenance"),
    "maintenance_application": ("アプリケーション保守", "Application maintenance"),
    "licences": ("ライセンス", "Licences"),
    "operations": ("運用", "Operations"),
    "facility": ("設置・電力", "Facility and power"),
    "dr": ("事業継続（DRサイト）", "Business continuity (DR site)"),
}
# What would move each item, for the levers; the plan cannot decide these, a department head can.
LEVERS = {
    "hardware": ("ホスト台数（集約率・オーバーコミット方針）の見直し", "fewer hosts (consolidation ratio, overcommit policy)"),
    "maintenance_hardware": ("保守料率・基盤サポート契約の交渉", "negotiate the maintenance rate and platform support"),
    "maintenance_application": ("アプリケーション保守契約の見直し（集約・標準化に合わせた再契約）",
                                "renegotiate application maintenance with the vendors on the move"),
    "licences": ("ライセンス契約の見直し（仮想化・集約に合わせた再契約、不要ライセンスの解約）",
                 "review licences (re-contract for virtualised hosts, end unused ones)"),
    "operations": ("運用の共通化（監視・バックアップ・パッチを基盤側へ移管）",
                   "share operations (monitoring, backup and patching moved to the platform)"),
    "facility": ("ラック・電力の集約", "consolidate racks and power"),
    "dr": ("RPO・RTO の妥当性の再確認（過大な目標は DR 費用を押し上げる）",
           "re-check RPO and RTO (an over-strict target raises the DR cost)"),
}


@dataclass
class ItemRow:
    key: str
    label: str
    before: int
    after: int

    @property
    def change(self) -> int:
        return self.after - self.before


@dataclass
class Lever:
    label: str
    yen: int
    how: str


def by_item(lines: list[CostLine]) -> dict[str, int]:
    out = dict.fromkeys(ITEMS, 0)
    for line in lines:
        out[line.item] += line.annual_yen
    return out


def item_rows(plan: Plan, m: Messages) -> list[ItemRow]:
    before, after = by_item(plan.cost.baseline_lines), by_item(plan.cost.consolidated_lines)
    return [ItemRow(k, m.pick(*ITEM_LABELS[k]), before[k], after[k]) for k in ITEMS if before[k] or after[k]]


def levers(plan: Plan, m: Messages, lang: str) -> list[Lever]:
    """The three biggest lines after consolidation, each with what would move it."""
    top = sorted(plan.cost.consolidated_lines, key=lambda x: -x.annual_yen)[:3]
    return [Lever(m.pick(x.label_ja, x.label_en), x.annual_yen, m.pick(*LEVERS[x.item])) for x in top]


def sensitivity_text(plan: Plan, m: Messages) -> str:
    cases = {s.case: s for s in plan.cost.sensitivity}
    if not cases:
        return ""
    p, e, o = cases["pessimistic"], cases["expected"], cases["optimistic"]
    met = [c for c in ("optimistic", "expected", "pessimistic") if cases[c].goal_met]
    if len(met) == 3:
        verdict = m.s_sens_all
    elif not met:
        verdict = m.s_sens_none
    else:
        verdict = m.f("s_sens_some", met=m.get("case_" + met[-1]), missed=m.get("case_" + next(
            c for c in ("expected", "pessimistic") if not cases[c].goal_met)))
    return m.f("s_sens", p=fmt.pct(p.ratio_pct), e=fmt.pct(e.ratio_pct), o=fmt.pct(o.ratio_pct), verdict=verdict)


def gap_text(plan: Plan, m: Messages, lang: str) -> str:
    gap = plan.cost.gap_to_goal_yen
    if gap > 0:
        return m.f("s_gap_short", v=fmt.yen_short(gap, lang))
    return m.f("s_gap_met", v=fmt.yen_short(-gap, lang))


def risks(plan: Plan, m: Messages, lang: str) -> list[tuple[str, str]]:
    """(severity, text), most serious first: deadlines missed, forbidden links, DR objectives missed."""
    out: list[tuple[str, str]] = []
    out += _deadline_risks(plan, m, lang)
    forbidden = [lk for lk in plan.links if lk.path == "forbidden"]
    if forbidden:
        out.append(("bad", m.f("s_risk_forbidden", n=len(forbidden),
                               first=f"{forbidden[0].source} → {forbidden[0].target} "
                                     f"{forbidden[0].protocol}/{forbidden[0].port}")))
    if plan.dr.misses:
        out.append(("warn", m.f("s_risk_dr", n=plan.dr.misses)))
    if plan.cost.maintenance_split_defaulted:
        out.append(("warn", m.f("s_risk_split", n=plan.cost.maintenance_split_defaulted,
                                total=len(plan.dr.tiers))))
    if not out:
        out.append(("good", m.s_risk_none))
    return out


def _deadline_risks(plan: Plan, m: Messages, lang: str) -> list[tuple[str, str]]:
    """Two different risks: systems already past their EOL when the plan starts (no schedule can beat that: they go
    first, and until then they run unsupported), and systems the waves move after an EOL still ahead (the schedule
    makes them late: more or larger waves would help)."""
    out: list[tuple[str, str]] = []
    past = [(w, sid) for w in plan.waves for sid in w.past_deadline]
    if past:
        w = min((w for w, _ in past), key=lambda x: x.deadline)
        out.append(("bad", m.f("s_risk_past", n=len(past), first=min(x.number for x, _ in past),
                               last=max(x.number for x, _ in past),
                               what=m.pick(w.deadline_ja, w.deadline_en), when=fmt.date(w.deadline, lang))))
    late = [w for w in plan.waves if w.after_deadline]
    if late:
        w = late[0]
        out.append(("bad", m.f("s_risk_late", n=sum(len(x.after_deadline) for x in late), waves=len(late),
                               first=w.number, sid=w.after_deadline[0])))
    return out


def context(plan: Plan, m: Messages, lang: str) -> dict:
    rows = item_rows(plan, m)
    return {
        "s_items": rows,
        "s_items_before": sum(r.before for r in rows),
        "s_items_after": sum(r.after for r in rows),
        "s_levers": levers(plan, m, lang),
        "s_sensitivity": sensitivity_text(plan, m),
        "s_gap": gap_text(plan, m, lang),
        "s_risks": risks(plan, m, lang)[:4],
    }
