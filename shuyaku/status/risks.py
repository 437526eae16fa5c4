"""Open risks for the goal sheet: forbidden links, systems whose end of life comes before their migration, waves
planned to end after their deadline, rule findings, drift and expiring credentials."""

from __future__ import annotations

from datetime import date

from shuyaku.contracts.plan import Plan
from shuyaku.contracts.status import Risk, Said, StatusRun
from shuyaku.report import fmt
from shuyaku.status.rules import failing


def _links(plan: Plan) -> list[Risk]:
    return [Risk(kind="forbidden_link", text=Said(
        ja=f"禁止された系間連携 {x.source} → {x.target} {x.protocol}/{x.port}（計画に含めず、代替が必要）",
        en=f"forbidden cross-layer link {x.source} → {x.target} {x.protocol}/{x.port} (left out of the plan; "
           "needs another way)")) for x in plan.links if x.path == "forbidden"]


def _eol(run: StatusRun, today: date) -> list[Risk]:
    out = []
    for s in run.systems:
        if s.migrated:
            continue
        if s.eol_passed:
            out.append(Risk(kind="eol_before_migration", text=Said(
                ja=f"{s.system_id}（{s.name.ja}）: {s.eol_what.ja}（{fmt.date(s.eol, 'ja')}）を過ぎても未移行",
                en=f"{s.system_id} ({s.name.en}): not migrated past {s.eol_what.en} ({s.eol.isoformat()})")))
    for w in run.waves:
        if not w.beats_deadline and w.migrated < len(w.systems):
            out.append(Risk(kind="wave_misses_eol", text=Said(
                ja=f"第{w.number}波（{fmt.date(w.ends, 'ja')}まで）は期限 {fmt.date(w.deadline, 'ja')} に間に合わない計画",
                en=f"wave {w.number} (ending {w.ends.isoformat()}) is planned past its deadline {w.deadline.isoformat()}")))
    return out


def open_risks(plan: Plan, run: StatusRun, today: date) -> list[Risk]:
    out = _links(plan) + _eol(run, today)
    bad = failing(run.rules)
    if bad:
        errors = sum(r.severity == "error" for r in bad)
        out.append(Risk(kind="finding", text=Said(
            ja=f"ルール違反・警告 {len(bad)} 件（うちエラー {errors} 件）: " + ", ".join(sorted({r.id for r in bad})),
            en=f"{len(bad)} rule finding(s), {errors} error(s): " + ", ".join(sorted({r.id for r in bad})))))
    drifted = sum(len(d.changed) for d in run.drift)
    unread = [d.stack for d in run.drift if not d.checked and d.why != "no_passphrase"]
    if drifted:
        out.append(Risk(kind="drift", text=Said(ja=f"Pulumi 外での変更（ドリフト）{drifted} 件",
                                                en=f"{drifted} resource(s) changed outside Pulumi (drift)")))
    if unread:
        out.append(Risk(kind="drift", text=Said(ja=f"ドリフトを確認できないスタック: {', '.join(unread)}",
                                                en=f"drift could not be checked for: {', '.join(unread)}")))
    locked = [d.stack for d in run.drift if not d.checked and d.why == "no_passphrase"]
    if locked:
        out.append(Risk(kind="drift", text=Said(
            ja=f"パスフレーズがなくドリフト未確認のベンダースタック: {', '.join(locked)}",
            en=f"vendor stacks not checked for drift (no passphrase): {', '.join(locked)}")))
    for e in run.operations.expiries:
        if e.error:
            out.append(Risk(kind="expiry", text=Said(ja=f"証明書を読めません: {e.owner}（{e.error}）",
                                                     en=f"certificate unreadable: {e.owner} ({e.error})")))
        elif e.soon:
            left = f"{e.days_left:g}" if e.days_left is not None else "?"
            out.append(Risk(kind="expiry", text=Said(ja=f"期限切れ間近: {e.name}（{e.owner}、残り {left} 日）",
                                                     en=f"expiring: {e.name} ({e.owner}, {left} days left)")))
    return out
