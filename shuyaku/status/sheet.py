"""The goal sheet (目標管理シート): what a 部長 publishes each month, as a static page with its data beside it.

`status --publish DIR` writes `index.html` (Japanese), `index.en.html` (English, complete), `goal-sheet.json` (the
figures both pages show) and, with `--pdf`, `goal-sheet.pdf` / `goal-sheet.en.pdf` printed by headless Chromium.
The page carries no script and loads nothing: charts are inline SVG drawn here.

Contents: the goal (halve the cost of the existing systems), this month's measured ratio and the trend by month
(the last run of each month), the waves on a timeline with their dates and deadlines, the open risks, and what
changed since the last run of the previous month.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from shuyaku.contracts.status import Comparison, RunRef, StatusRun
from shuyaku.status import compare
from shuyaku.status.render import L, env

W, H = 640, 220  # chart size in px (viewBox)


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    w: float
    h: float
    label: str
    value: str
    good: bool


def trend_bars(trend: list[RunRef], goal: float) -> tuple[list[Bar], float]:
    """Bars of each month's ratio (0..max(100, highest)) and the goal line's y."""
    top = max([100.0, *(r.ratio_pct for r in trend)])
    plot_h, left, width, top_y = H - 50, 40, W - 50, 20
    step = width / max(len(trend), 1)
    bars = []
    for i, r in enumerate(trend):
        h = plot_h * r.ratio_pct / top
        bars.append(Bar(x=left + i * step + step * 0.2, y=top_y + plot_h - h, w=step * 0.6, h=h, label=r.period,
                        value=f"{r.ratio_pct:.1f}%", good=r.ratio_pct <= goal))
    return bars, top_y + plot_h - plot_h * goal / top


@dataclass(frozen=True)
class Span:
    y: float
    x0: float
    x1: float
    deadline_x: float
    label: str
    done: str
    beats: bool


def timeline(run: StatusRun, today: date) -> tuple[list[Span], float, list[tuple[float, str]]]:
    """Wave bars on a date axis, today's x, and year ticks."""
    if not run.waves:
        return [], 0.0, []
    first = min([*(w.starts for w in run.waves), *(w.deadline for w in run.waves), today])
    last = max([*(w.ends for w in run.waves), today])
    days = max((last - first).days, 1)
    left, width = 60, W - 80

    def x(d: date) -> float:
        return left + width * (d - first).days / days

    spans = [Span(y=20 + i * 28, x0=x(w.starts), x1=max(x(w.ends), x(w.starts) + 3), deadline_x=x(w.deadline),
                  label=f"{w.number}", done=f"{w.migrated}/{len(w.systems)}", beats=w.beats_deadline)
             for i, w in enumerate(run.waves)]
    ticks = [(x(date(y, 4, 1)), str(y)) for y in range(first.year, last.year + 1) if first <= date(y, 4, 1) <= last]
    return spans, x(today), ticks


def data(run: StatusRun, trend: list[RunRef], comparison: Comparison | None) -> dict[str, Any]:
    c = run.cost
    return {
        "schema_version": 1, "municipality": {"ja": run.municipality.ja, "en": run.municipality.en},
        "stack": run.stack, "period": run.period,
        "run_id": run.id, "taken_at": run.taken_at.isoformat(),
        "goal": {"ratio_pct": c.goal_pct, "ja": "既存システムの経費を半減する（基準比 50% 以下）",
                 "en": "halve the cost of the existing systems (at most 50% of the baseline)"},
        "measured": {"ratio_pct": c.ratio_pct, "now_yen": c.now_yen, "baseline_yen": c.baseline_yen,
                     "plan_ratio_pct": c.plan_ratio_pct, "goal_met": c.goal_met},
        "trend": [json.loads(r.model_dump_json()) for r in trend],
        "waves": [json.loads(w.model_dump_json()) for w in run.waves],
        "risks": [{"kind": r.kind, "ja": r.text.ja, "en": r.text.en} for r in run.risks],
        "since": comparison.before.period if comparison else None,
        "changes": [{"kind": ch.kind, "ja": ch.text.ja, "en": ch.text.en} for ch in comparison.changes] if comparison else [],
    }


def publish(run: StatusRun, runs: list[StatusRun], out_dir: Path, *, pdf: bool = False) -> list[Path]:
    """Write the goal sheet for `run`, with `runs` (every recorded run of the stack) for the trend and the changes."""
    everything = {r.id: r for r in [*runs, run]}
    trend = compare.monthly(list(everything.values()))
    before = compare.previous_month(list(everything.values()), run)
    comparison = compare.compare(before, run) if before else None
    today = run.taken_at.date()
    bars, goal_y = trend_bars(trend, run.cost.goal_pct)
    spans, today_x, ticks = timeline(run, today)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    doc = data(run, trend, comparison)
    (out_dir / "goal-sheet.json").write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    written.append(out_dir / "goal-sheet.json")
    template = env().get_template("goal_sheet.html.j2")
    for lang, name in (("ja", "index.html"), ("en", "index.en.html")):
        html = template.render(run=run, lang=lang, L=lambda ja, en, lang=lang: L(lang, ja, en), trend=trend, bars=bars,
                               goal_y=goal_y, spans=spans, today_x=today_x, ticks=ticks, comparison=comparison,
                               W=W, H=H, other="index.en.html" if lang == "ja" else "index.html")
        (out_dir / name).write_text(html, encoding="utf-8")
        written.append(out_dir / name)
    if pdf:
        from shuyaku.report.pdf import print_pdf

        written.append(print_pdf(out_dir / "index.html", out_dir / "goal-sheet.pdf"))
        written.append(print_pdf(out_dir / "index.en.html", out_dir / "goal-sheet.en.pdf"))
    return written
