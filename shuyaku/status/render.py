"""The run as text (the terminal, a monitor's log), JSON (machines), and one HTML page (`--html DIR`)."""

from __future__ import annotations

import json
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from shuyaku.contracts.status import Comparison, StatusRun
from shuyaku.report import fmt
from shuyaku.status.rules import failing

TEMPLATES = Path(__file__).parent / "templates"


def L(lang: str, ja: str, en: str) -> str:
    return en if lang == "en" else ja


def _stale_hint(lang: str) -> str:
    return L(lang, " — 引き渡しの内容がクラウドと一致しません（shuyaku deploy で戻すか、意図した変更なら shuyaku vendor publish "
                   "で公開し直してください）", " — the hand-off no longer matches the cloud (set the cloud back with shuyaku "
                   "deploy, or publish again with shuyaku vendor publish after a deliberate change)")


def _drift_lines(run: StatusRun, lang: str) -> list[str]:
    out = []
    for d in run.drift:
        if not d.checked:
            why = {"no_passphrase": L(lang, "パスフレーズなし", "no passphrase"),
                   "no_state": L(lang, "状態なし", "no state")}.get(d.why or "", L(lang, "失敗", "failed"))
            out.append(L(lang, f"  {d.stack}: 確認できません（{why}）— {d.error}",
                         f"  {d.stack}: not checked ({why}) — {d.error}"))
            continue
        out.append(L(lang, f"  {d.stack}: {d.resources} リソース中 {len(d.changed)} 件が Pulumi 外で変更",
                     f"  {d.stack}: {len(d.changed)} of {d.resources} resources changed outside Pulumi"))
        out += [f"    {i.op} {i.type} {i.name}" + (f" [{', '.join(i.keys)}]" if i.keys else "")
                + (_stale_hint(lang) if i.op == "stale" else "") for i in d.changed]
    return out or [L(lang, "  （確認していません: --no-drift）", "  (not checked: --no-drift)")]


def _cost_lines(run: StatusRun, lang: str) -> list[str]:
    c, a = run.cost, run.cost.allocated
    return [
        L(lang, f"  現在 {fmt.yen(c.now_yen, lang)}／基準 {fmt.yen(c.baseline_yen, lang)} = {fmt.pct(c.ratio_pct)}"
                f"（目標 {fmt.pct(c.goal_pct, 0)} 以下、計画 {fmt.pct(c.plan_ratio_pct)}）",
          f"  now {fmt.yen(c.now_yen, lang)} / baseline {fmt.yen(c.baseline_yen, lang)} = {fmt.pct(c.ratio_pct)} "
          f"(goal at most {fmt.pct(c.goal_pct, 0)}, plan {fmt.pct(c.plan_ratio_pct)})"),
        L(lang, f"  うち未移行システムの現行費用 {fmt.yen(c.not_migrated_yen, lang)}（移行済み {c.migrated_systems} システム）",
          f"  of which systems not yet migrated, at their old cost: {fmt.yen(c.not_migrated_yen, lang)} "
          f"({c.migrated_systems} systems migrated)"),
        L(lang, f"  割当: ホスト {a.hosts} 台、DR待機 {a.standby_hosts} 台、稼働サーバ {a.servers_active} 台"
                f"（{a.vcpus} vCPU、{a.ram_gb:g} GB）、ボリューム {a.volume_gb:g} GB",
          f"  allocated: {a.hosts} hosts, {a.standby_hosts} DR standby, {a.servers_active} ACTIVE servers "
          f"({a.vcpus} vCPU, {a.ram_gb:g} GB), volumes {a.volume_gb:g} GB"),
        L(lang, f"  VDIプールのホスト {a.vdi_hosts} 台（計画 {c.plan_vdi_hosts} 台）、年額 {fmt.yen(c.vdi_yen, lang)}: "
                "シンクライアントの項目で計上し、基準比には含めない（計画と同じ）",
          f"  VDI pools' hosts: {a.vdi_hosts} (plan {c.plan_vdi_hosts}), {fmt.yen(c.vdi_yen, lang)} a year: priced in the "
          "thin-client line, not in the ratio (as in the plan)"),
    ]


def _progress_lines(run: StatusRun, lang: str) -> list[str]:
    out = []
    for w in run.waves:
        out.append(L(lang, f"  第{w.number}波 {w.starts}〜{w.ends}（期限 {w.deadline}）: テナント {w.tenants_ready}/"
                           f"{len(w.systems)}、移行 {w.migrated}/{len(w.systems)}、検証 {w.verified}/{len(w.systems)}",
                     f"  wave {w.number} {w.starts}..{w.ends} (deadline {w.deadline}): tenants {w.tenants_ready}/"
                     f"{len(w.systems)}, migrated {w.migrated}/{len(w.systems)}, verified {w.verified}/{len(w.systems)}"))
    for s in run.systems:
        mark = "✔" if s.migrated else ("!" if s.eol_passed else "·")
        wave = f"W{s.wave}" if s.wave else L(lang, "ガバクラ", "GovCloud")
        out.append(f"    {mark} {s.system_id:<12} {wave:<8} {s.active_servers}/{s.planned_servers} ACTIVE  "
                   f"{'tenant' if s.tenant_ready else '-':<6} verify={s.verified:<7} EOL {s.eol}")
    return out


def _ops_lines(run: StatusRun, lang: str) -> list[str]:
    o = run.operations
    out = [L(lang, f"  最新のパッチ適用: {o.patch_run or 'なし'}", f"  last patch run: {o.patch_run or 'none'}")]
    out += [f"    {h.host}: {h.packages} pkg, reboot={'done' if h.rebooted else ('required' if h.reboot_required else 'no')}"
            f", health={h.health}" for h in o.patch_hosts]
    for e in o.expiries:
        if e.error:
            out.append(L(lang, f"    ! {e.kind} {e.owner}: 読めません — {e.error}", f"    ! {e.kind} {e.owner}: unreadable — "
                                                                                   f"{e.error}"))
            continue
        left = "∞" if e.days_left is None else f"{e.days_left:g}"
        out.append(f"    {'!' if e.soon else ' '} {e.kind} {e.name} ({e.owner}): {e.expires or '-'} ({left} d)")
    return out


def as_text(run: StatusRun, lang: str, comparison: Comparison | None = None) -> str:
    bad = failing(run.rules)
    lines = [L(lang, f"状況 {run.municipality.ja} スタック {run.stack}（{run.site}）{run.period} — {run.id}",
               f"Status of {run.municipality.en}, stack {run.stack} ({run.site}) {run.period} — {run.id}"),
             L(lang, "ドリフト:", "Drift:"), *_drift_lines(run, lang),
             L(lang, f"ルール（{'+'.join(run.rules_checked)}）: 指摘 {len(bad)} 件",
               f"Rules ({'+'.join(run.rules_checked)}): {len(bad)} finding(s)")]
    lines += [f"  [{r.severity}] {r.source} {r.id}: {r.resource} — {r.message.pick(lang)}" for r in bad]
    lines += [L(lang, "移行の進捗:", "Migration progress:"), *_progress_lines(run, lang),
              L(lang, "現在の費用:", "Cost now:"), *_cost_lines(run, lang),
              L(lang, "運用:", "Operations:"), *_ops_lines(run, lang)]
    if comparison is not None:
        lines.append(L(lang, f"{comparison.before.id}（{comparison.before.period}）からの変化:",
                       f"Changes since {comparison.before.id} ({comparison.before.period}):"))
        lines += [f"  - {c.text.pick(lang)}" for c in comparison.changes] or [L(lang, "  なし", "  none")]
    verdict = {0: L(lang, "対応の必要なし", "nothing needs attention"),
               1: L(lang, "要対応（指摘・ドリフト・検証失敗・期限）", "needs attention (findings, drift, failed "
                                                                      "verification or expiry)")}[run.exit_code]
    lines.append(L(lang, f"結果: {verdict}（終了コード {run.exit_code}、{run.seconds:.1f} 秒）",
                   f"Result: {verdict} (exit {run.exit_code}, {run.seconds:.1f} s)"))
    return "\n".join(lines) + "\n"


def as_json(run: StatusRun, comparison: Comparison | None = None) -> str:
    doc = json.loads(run.model_dump_json())
    if comparison is not None:
        doc = {"run": doc, "comparison": json.loads(comparison.model_dump_json())}
    return json.dumps(doc, ensure_ascii=False, indent=1) + "\n"


def env() -> Environment:
    e = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]))
    e.filters.update(yen=fmt.yen, yen_short=fmt.yen_short, pct=fmt.pct, date=fmt.date)
    return e


def write_html(run: StatusRun, out_dir: Path, lang: str, comparison: Comparison | None = None) -> Path:
    html = env().get_template("status.html.j2").render(run=run, lang=lang, L=lambda ja, en: L(lang, ja, en),
                                                        failing=failing(run.rules), comparison=comparison)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / ("status.en.html" if lang == "en" else "status.html")
    path.write_text(html, encoding="utf-8")
    return path
