"""`shuyaku plan FILE`: the consolidation plan (plan.json), the per-site platform data and the report."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from shuyaku.cli.common import StrictOpt, cannot_write, exit_if_strict, fail_on_problems, load_inventory, print_links
from shuyaku.contracts.i18n import lang as current_lang
from shuyaku.contracts.i18n import set_lang, t

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
_out = Console(highlight=False)
_err = Console(stderr=True, highlight=False)

SITES = ("onprem", "dr")


def site_json(data: object) -> str:
    """The bytes written for a site file: stable key order and formatting, so regenerating is a no-op."""
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def site_files(plan: object, loaded: object) -> dict[str, str]:
    """File name -> text of every per-site file, exactly as `shuyaku plan` writes them."""
    from shuyaku.plan.build import make_site_data, require_catalogue

    cat = require_catalogue(loaded)  # type: ignore[arg-type]
    return {f"site-{site}.json": site_json(make_site_data(plan, loaded.inventory, cat, site).model_dump(mode="json"))  # type: ignore[arg-type, attr-defined]
            for site in SITES}


def write_outputs(loaded: object, out: Path, years: int) -> tuple[object, list[Path]]:
    from shuyaku.plan.build import make_plan

    plan = make_plan(loaded, years=years)  # type: ignore[arg-type]
    files = site_files(plan, loaded)
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
) -> None:
    """集約計画を作成します（サイジング・配置・DR・移行ウェーブ・費用）/ make the consolidation plan."""
    set_lang(lang)
    from shuyaku.contracts.problems import ProblemsError

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

        paths.append(plan_report.render(plan, loaded.inventory, out, current_lang()))  # type: ignore[arg-type]
    _summary(plan)
    _out.print("\n".join(f"→ {p}" for p in paths), markup=False, soft_wrap=True)
    from shuyaku.inventory.links import cross_layer

    exit_if_strict(strict, print_links(cross_layer(loaded.inventory, loaded.source, str(file)), notes=False))


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
        _out.print(t(f"  {name}: ホスト {z.hosts} 台（下限 {z.lower_bound}、{proof}、N+1 {n1}）、"
                     f"VM {z.vms}、1台あたり {z.vms_per_host:g} VM",
                     f"  {name}: {z.hosts} hosts (lower bound {z.lower_bound}, {proof}, N+1 {n1}), "
                     f"{z.vms} VMs, {z.vms_per_host:g} VMs/host"), markup=False, soft_wrap=True)
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
    _out.print(t(f"  費用: 年 {c.baseline_annual_yen:,} 円 → {c.consolidated_annual_yen:,} 円（{c.ratio_pct:g}%、{goal}）、"
                 f"移行一時費用 {c.migration_one_off_yen:,} 円、損益分岐 {be}",
                 f"  cost: ¥{c.baseline_annual_yen:,} → ¥{c.consolidated_annual_yen:,} a year ({c.ratio_pct:g}%, {goal}), "
                 f"one-off migration ¥{c.migration_one_off_yen:,}, break-even {be}"), markup=False, soft_wrap=True)
    tc = c.thin_client
    diff = (t(f"{tc.difference_yen:,} 円/年 高い", f"¥{tc.difference_yen:,}/year more") if tc.difference_yen > 0
            else t(f"{-tc.difference_yen:,} 円/年 安い", f"¥{-tc.difference_yen:,}/year less"))
    _out.print(t(f"  シンクライアント（集約費用とは別計上）: 端末 {tc.terminals} 台、PC継続比 {diff}"
                 " — 利点は主にセキュリティと保守",
                 f"  thin clients (kept out of the figure above): {tc.terminals} terminals, {diff} than keeping PCs — "
                 "the gain is mainly security and maintenance"), markup=False, soft_wrap=True)
