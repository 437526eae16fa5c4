"""Two runs side by side (`status --since`), and the trend by month for the goal sheet."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from shuyaku.contracts.status import Change, Comparison, RunRef, Said, StatusRun
from shuyaku.report import fmt
from shuyaku.status import history
from shuyaku.status.rules import failing


def ref(run: StatusRun) -> RunRef:
    return RunRef(id=run.id, taken_at=run.taken_at, period=run.period, ratio_pct=run.cost.ratio_pct,
                  migrated=sum(s.migrated for s in run.systems), findings=len(failing(run.rules)),
                  drifted=sum(len(d.changed) for d in run.drift))


def _finding_keys(run: StatusRun) -> dict[tuple[str, str, str], Said]:
    return {(r.source, r.id, r.resource): r.message for r in failing(run.rules)}


def _drift_keys(run: StatusRun) -> dict[tuple[str, str], str]:
    return {(d.stack, i.urn): f"({d.stack}): {i.op} {i.type} {i.name}" + (f" ({', '.join(i.keys)})" if i.keys else "")
            for d in run.drift for i in d.changed}


def _systems(before: StatusRun, after: StatusRun) -> list[Change]:
    was = {s.system_id: s for s in before.systems}
    out = []
    for s in after.systems:
        old = was.get(s.system_id)
        if old is not None and s.migrated != old.migrated:
            verb = Said(ja="移行済みになりました", en="is now migrated") if s.migrated else Said(
                ja="移行済みではなくなりました（稼働サーバが計画より少ない）",
                en="is no longer migrated (fewer ACTIVE servers than planned)")
            out.append(Change(kind="migrated", text=Said(ja=f"{s.system_id}（{s.name.ja}）{verb.ja}",
                                                          en=f"{s.system_id} ({s.name.en}) {verb.en}")))
        if old is not None and s.verified != old.verified:
            out.append(Change(kind="verified", text=Said(ja=f"{s.system_id} の検証: {old.verified} → {s.verified}",
                                                          en=f"{s.system_id} verification: {old.verified} → {s.verified}")))
    return out


def _appeared(old: Mapping[Any, str], new: Mapping[Any, str], kind: str, label: tuple[str, str],
              more: Callable[[Any, str], str] | None = None) -> list[Change]:
    """A change for each key in `new` that `old` does not have, named by its text (and `more` in each language)."""
    out = []
    for key in sorted(set(new) - set(old)):
        ja, en = (more(key, "ja"), more(key, "en")) if more else ("", "")
        out.append(Change(kind=kind, text=Said(ja=f"{label[0]} {new[key]}{ja}",  # type: ignore[arg-type]
                                                en=f"{label[1]} {new[key]}{en}")))
    return out


def compare(before: StatusRun, after: StatusRun) -> Comparison:
    changes: list[Change] = []
    b, a = before.cost, after.cost
    if a.ratio_pct != b.ratio_pct or a.now_yen != b.now_yen:
        d = a.now_yen - b.now_yen
        changes.append(Change(kind="ratio", text=Said(
            ja=f"基準比 {fmt.pct(b.ratio_pct)} → {fmt.pct(a.ratio_pct)}（年額 {fmt.yen_short(d, 'ja')}）",
            en=f"ratio to baseline {fmt.pct(b.ratio_pct)} → {fmt.pct(a.ratio_pct)} ({fmt.yen_short(d, 'en')} a year)")))
    changes += _systems(before, after)
    fb = {k: f"{k[1]}: {k[2]}" for k in _finding_keys(before)}
    fa_msgs = _finding_keys(after)
    fa = {k: f"{k[1]}: {k[2]} — " for k in fa_msgs}
    changes += _appeared(fb, fa, "finding_new", ("新しい指摘", "new finding"), lambda k, lang: fa_msgs[k].pick(lang))
    changes += _appeared(fa, fb, "finding_gone", ("解消した指摘", "finding resolved"))
    db, da = _drift_keys(before), _drift_keys(after)
    changes += _appeared(db, da, "drift_new", ("新しいドリフト", "new drift"))
    changes += _appeared(da, db, "drift_gone", ("解消したドリフト", "drift resolved"))
    return Comparison(before=ref(before), after=ref(after), changes=changes)


def monthly(runs: list[StatusRun]) -> list[RunRef]:
    """The last run of each reporting month, oldest month first."""
    last: dict[str, StatusRun] = {}
    for r in sorted(runs, key=lambda r: (r.taken_at, r.id)):
        last[r.period] = r
    return [ref(last[p]) for p in sorted(last)]


def previous_month(runs: list[StatusRun], current: StatusRun) -> StatusRun | None:
    """The last run of the latest month before the current run's month."""
    earlier = [r for r in runs if r.period < current.period]
    return max(earlier, key=lambda r: (r.period, r.taken_at, r.id)) if earlier else None


class SinceError(ValueError):
    """`--since` names no run: the message says what was tried."""


def find_since(store: history.Store, stack: str, spec: str, runs: list[StatusRun]) -> StatusRun:
    """A run id, a date (the last run on or before it), a month YYYY-MM (its last run), or a run's JSON file."""
    by_id = {r.id: r for r in runs}
    if spec in by_id:
        return by_id[spec]
    path = Path(spec)
    if path.suffix == ".json" or path.is_file():
        return history.parse_run(source_text(path), str(path))
    chosen: list[StatusRun] = []
    try:
        if len(spec) == 7:
            chosen = [r for r in runs if r.period == spec]
        else:
            end = datetime.combine(date.fromisoformat(spec), time.max)
            chosen = [r for r in runs if r.taken_at.replace(tzinfo=None) <= end]
    except ValueError:
        raise SinceError(spec) from None
    if not chosen:
        raise SinceError(spec)
    return max(chosen, key=lambda r: (r.taken_at, r.id))


def source_text(path: Path) -> str:
    from shuyaku.contracts.source import read_text

    return read_text(path)
