"""`shuyaku plan FILE`: the consolidation plan (plan.json), the per-site platform data and the report."""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from shuyaku.cli.common import StrictOpt, cannot_write, exit_if_strict, fail_on_problems, load_inventory, print_links
from shuyaku.contracts.i18n import lang as current_lang
from shuyaku.contracts.i18n import set_lang, t
from shuyaku.contracts.problems import Problem, ProblemsError, tx
from shuyaku.contracts.sitedata import SiteData

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
_out = Console(highlight=False)
_err = Console(stderr=True, highlight=False)

SITES = ("onprem", "dr")


def site_json(data: object) -> str:
    """The bytes written for a site file: stable key order and formatting, so regenerating is a no-op."""
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def site_data(plan: object, loaded: object) -> dict[str, SiteData]:
    """File name -> the per-site data `shuyaku plan` writes."""
    from shuyaku.plan.build import make_site_data, require_catalogue

    cat = require_catalogue(loaded)  # type: ignore[arg-type]
    return {f"site-{site}.json": make_site_data(plan, loaded.inventory, cat, site) for site in SITES}  # type: ignore[arg-type, attr-defined]


def site_files(plan: object, loaded: object) -> dict[str, str]:
    """File name -> text of every per-site file, exactly as `shuyaku plan` writes them."""
    return {name: site_json(data.model_dump(mode="json")) for name, data in site_data(plan, loaded).items()}


PRIMARY_STACK = "organization/shuyaku-platform/onprem"  # any well-formed reference: the check is of the data


def platform_problems(sites: dict[str, SiteData], out: Path) -> list[Problem]:
    """What the platform program's own site checks (the ones `pulumi preview` runs) say of the data, with the
    stack config's defaults. The CLI may import every stage; the plan stage itself never reaches up to the
    platform."""
    from shuyaku.platform.config import ConfigError, from_site

    found: list[Problem] = []
    for name, data in sites.items():
        kw: dict[str, object] = {"stack": data.site, "site_path": out / name}
        if data.site == "dr":
            kw["primary_stack"] = PRIMARY_STACK
        try:
            from_site(data, **kw)
        except ConfigError as exc:
            found += exc.problems
    if not found:
        return []
    head = Problem(str(out), 0, 0, "(plan)",
                   tx(f"基盤プログラムがこの計画のサイトデータを受け付けません（{len(found)} 件）。ファイルは書き出していません",
                      f"the platform program would refuse this plan's site data ({len(found)} problem(s)); "
                      "nothing was written"),
                   tx("以下の原因を台帳かカタログで直してから再実行してください",
                      "fix the causes below in the inventory or the catalogue, then run plan again"),
                   "plan.platform_rejects")
    return [head, *found]


def write_outputs(loaded: object, out: Path, years: int) -> tuple[object, list[Path]]:
    from shuyaku.plan.build import make_plan

    plan = make_plan(loaded, years=years)  # type: ignore[arg-type]
    sites = site_data(plan, loaded)
    problems = platform_problems(sites, out)
    if problems:
        raise ProblemsError(problems)
    files = {name: site_json(data.model_dump(mode="json")) for name, data in sites.items()}
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "plan.json"]
    paths[0].write_text(plan.model_dump_json(indent=2) + "\n", encoding="utf-8")
    for name, text in files.items():
        paths.append(out / name)
        paths[-1].write_text(text, encoding="utf-8")
    return plan, paths


@app.command("plan")
def plan_cmd(
    file: Annotated[Path, typer.Argument(help="inventory YAML (現行システム台帳)")],
    out: Annotated[Path, typer.Option("--out", "-o", help="output directory / 出力先")],
    catalogue: Annotated[Path | None, typer.Option("--catalogue", "-c", help="cost catalogue YAML")] = None,
    years: Annotated[int, typer.Option("--years", min=1, max=30, help="years in the cost case / 費用比較の年数")] = 5,
    strict: StrictOpt = False,
    lang: Annotated[str | None, typer.Option("--lang", help="ja (既定) / en")] = None,
    pdf: Annotated[bool, typer.Option(
        "--pdf", help="report.pdf も作成（決裁用、headless Chromium）/ also print the report to PDF")] = False,
) -> None:
    """集約計画を作成します（サイジング・配置・DR・移行ウェーブ・費用）/ make the consolidation plan."""
    set_lang(lang)
    loaded = load_inventory(file, catalogue)
    try:
        plan, paths = write_outputs(loaded, out, years)
    except ProblemsError as exc:
        fail_on_problems(exc)
        return
    except OSError as exc:
        cannot_write(out, exc)

    if importlib.util.find_spec("shuyaku.report.plan_report") is not None:
        from shuyaku.report import plan_report

        digest = hashlib.sha256(file.read_bytes()).hexdigest()
        paths.append(plan_report.render(plan, loaded.inventory, out, current_lang(), inventory_sha256=digest))  # type: ignore[arg-type]
        if pdf:
            paths.append(_pdf(paths[-1]))
    _summary(plan)
    _out.print("\n".join(f"→ {p}" for p in paths), markup=False, soft_wrap=True)
    from shuyaku.inventory.links import cross_layer

    exit_if_strict(strict, print_links(cross_layer(loaded.inventory, loaded.source, str(file)), notes=False))


def _pdf(html: Path) -> Path:
    from shuyaku.report.pdf import PdfError, print_pdf

    try:
        return print_pdf(html, html.with_suffix(".pdf"))
    except PdfError as exc:
        _err.print(t(f"PDF を作成できませんでした: {exc.ja}", f"could not print the PDF: {exc.en}"), markup=False,
                   soft_wrap=True)
        raise typer.Exit(2) from None


def _yen(n: float) -> str:
    from shuyaku.report.fmt import yen_short

    return yen_short(n, current_lang())


def _summary(plan: object) -> None:
    from shuyaku.contracts.inventory import LAYER_NAMES, Layer
    from shuyaku.contracts.plan import Plan

    assert isinstance(plan, Plan)
    c = plan.cost
    _out.print(t(f"{plan.municipality} 集約計画（{c.years}年）", f"{plan.municipality}: consolidation plan ({c.years} years)"),
               markup=False, soft_wrap=True)
    for z in plan.zones:
        proof = t("最適（証明済み）", "proven optimal") if z.optimal else t(f"差 {z.gap_pct:g}%", f"gap {z.gap_pct:g}%")
        n1 = t("可" if z.n_plus_one else "不可", "yes" if z.n_plus_one else "NO")
        name = t(*LAYER_NAMES[Layer(z.layer)])
        vdi = (t(f"、画面転送（VDI）ホスト {z.vdi_hosts} 台（計 {z.total_hosts} 台）",
                 f", {z.vdi_hosts} screen-transfer (VDI) hosts ({z.total_hosts} in all)") if z.vdi_hosts else "")
        _out.print(t(f"  {name}: ホスト {z.hosts} 台（下限 {z.lower_bound}、{proof}、N+1 {n1}）、"
                     f"VM {z.vms}、1台あたり {z.vms_per_host:g} VM{vdi}",
                     f"  {name}: {z.hosts} hosts (lower bound {z.lower_bound}, {proof}, N+1 {n1}), "
                     f"{z.vms} VMs, {z.vms_per_host:g} VMs/host{vdi}"), markup=False, soft_wrap=True)
    warm = sum(1 for x in plan.dr.tiers if x.tier == "warm")
    d = plan.dr
    _out.print(t(f"  DRサイト: 待機ホスト {d.standby_hosts} 台（ウォームスタンバイ {warm} システム）、"
                 f"バックアップ {d.backup_tb:g} TB",
                 f"  DR site: {d.standby_hosts} standby hosts ({warm} warm-standby systems), backup {d.backup_tb:g} TB"),
               markup=False, soft_wrap=True)
    gov = len(plan.government_cloud)
    _out.print(t(f"  移行ウェーブ: {len(plan.waves)}（ガバメントクラウド移行の標準化20業務 {gov} システムは別扱い）",
                 f"  migration waves: {len(plan.waves)} ({gov} standard-operation systems go to the "
                 "Government Cloud, reported apart)"), markup=False, soft_wrap=True)
    goal = t("目標（50%以下）達成", "goal (<= 50%) met") if c.goal_met else t("目標（50%以下）未達", "goal (<= 50%) NOT met")
    be = (t(f"{c.break_even_year}年目", f"year {c.break_even_year}") if c.break_even_year
          else t(f"{c.years}年以内になし", f"not within {c.years} years"))
    _out.print(t(f"  費用: 年 {_yen(c.baseline_annual_yen)} → {_yen(c.consolidated_annual_yen)}（{c.ratio_pct:g}%、{goal}）、"
                 f"移行一時費用 {_yen(c.migration_one_off_yen)}、損益分岐 {be}",
                 f"  cost: {_yen(c.baseline_annual_yen)} → {_yen(c.consolidated_annual_yen)} a year ({c.ratio_pct:g}%, "
                 f"{goal}), one-off migration {_yen(c.migration_one_off_yen)}, break-even {be}"),
               markup=False, soft_wrap=True)
    sens = {x.case: x.ratio_pct for x in c.sensitivity}
    _out.print(t(f"  感度: 悲観 {sens['pessimistic']:g}% ／ 想定 {sens['expected']:g}% ／ 楽観 {sens['optimistic']:g}%",
                 f"  sensitivity: pessimistic {sens['pessimistic']:g}% / expected {sens['expected']:g}% / "
                 f"optimistic {sens['optimistic']:g}%"), markup=False, soft_wrap=True)
    if d.misses:
        _out.print(t(f"  DR: {d.misses} システムはどの復旧方式でも RPO・RTO を満たしません（report.html の表に不足分）",
                     f"  DR: {d.misses} system(s) have an RPO/RTO no tier meets (the shortfall is in report.html)"),
                   markup=False, soft_wrap=True)
    tc = c.thin_client
    if tc.terminals == 0:
        return
    diff = (t(f"年 {_yen(tc.difference_yen)} 高い", f"{_yen(tc.difference_yen)}/year more") if tc.difference_yen > 0
            else t(f"年 {_yen(-tc.difference_yen)} 安い", f"{_yen(-tc.difference_yen)}/year less"))
    _out.print(t(f"  シンクライアント（集約費用とは別計上）: 画面転送の端末 {tc.terminals} 台・VDIホスト {tc.vdi_hosts} 台、"
                 f"PC継続比 {diff} — 利点は主にセキュリティと保守",
                 f"  thin clients (kept out of the figure above): {tc.terminals} screen-transfer terminals on "
                 f"{tc.vdi_hosts} VDI hosts, {diff} than keeping PCs — the gain is mainly security and maintenance"),
               markup=False, soft_wrap=True)
