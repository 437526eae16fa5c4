"""`shuyaku assess FILE`: the current-state report (assessment.html) and its data (assessment.json)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from shuyaku.cli.common import StrictOpt, cannot_write, exit_if_strict, load_inventory, print_links
from shuyaku.contracts.i18n import lang as current_lang
from shuyaku.contracts.i18n import set_lang, t

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
_out = Console(highlight=False)
_err = Console(stderr=True, highlight=False)


def _yen(n: float) -> str:
    from shuyaku.report.fmt import yen_short

    return yen_short(n, current_lang())


@app.command("assess")
def assess_cmd(
    file: Annotated[Path, typer.Argument(help="inventory YAML (現行システム台帳)")],
    catalogue: Annotated[Path | None, typer.Option("--catalogue", "-c", help="cost catalogue YAML")] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="output directory / 出力先")] = Path("."),
    strict: StrictOpt = False,
    lang: Annotated[str | None, typer.Option("--lang", help="ja (既定) / en")] = None,
) -> None:
    """現状を評価します（OS・機器の老朽化、系間連携、マイナンバー適合、費用）/ assess the current state."""
    set_lang(lang)
    from shuyaku.assess.analyse import assess
    from shuyaku.report import assessment_report

    loaded = load_inventory(file, catalogue)
    a = assess(loaded.inventory, loaded.catalogue)
    try:
        out.mkdir(parents=True, exist_ok=True)
        json_path = out / "assessment.json"
        json_path.write_text(a.model_dump_json(indent=2) + "\n", encoding="utf-8")
        digest = hashlib.sha256(file.read_bytes()).hexdigest()
        html_path = assessment_report.render(a, out, current_lang(), inventory_sha256=digest)
    except OSError as exc:
        cannot_write(out, exc)

    s = a.summary
    bp = s.links_by_path
    cross = s.links - bp["direct"]
    if loaded.catalogue is None:
        _out.print(t(f"注意: 費用カタログがないため、ハードウェア更新年数は既定の{a.hardware_life_years}年で評価しました",
                     f"note: no cost catalogue, so hardware life is the default {a.hardware_life_years} years"))
    _out.print(t(
        f"{a.municipality} {a.fiscal_year}年度: {s.systems} システム、{s.servers} サーバ\n"
        f"  OSサポート終了: {s.servers_os_eol} 台（{s.systems_with_eol_os} システム）、2年以内に終了: {s.servers_os_soon} 台\n"
        f"  ハードウェア更新年数（{a.hardware_life_years}年）超過: {s.servers_hw_over} 台（{s.systems_over_hw_life} システム）\n"
        f"  系をまたぐ連携: {cross} 件（禁止 {bp['forbidden']}、連携基盤経由 {bp['hub']}、無害化中継 {bp['relay']}、"
        f"画面転送 {bp['screen']}）\n"
        f"  マイナンバー適合: {s.systems_ready}/{s.systems} システムが不適合項目なし（平均 {s.mean_readiness_pct:g}%）\n"
        f"  年間費用: {_yen(a.cost.total.total)}（住民1人あたり {a.cost.per_resident_yen:,.0f}円）",
        f"{a.municipality_en or a.municipality} (FY{a.fiscal_year}): {s.systems} systems, {s.servers} servers\n"
        f"  OS out of support: {s.servers_os_eol} servers ({s.systems_with_eol_os} systems); ending within 2 years: "
        f"{s.servers_os_soon}\n"
        f"  past hardware life ({a.hardware_life_years} years): {s.servers_hw_over} servers ({s.systems_over_hw_life} systems)\n"
        f"  cross-layer links: {cross} (forbidden {bp['forbidden']}, via hub {bp['hub']}, via relay {bp['relay']}, "
        f"screen {bp['screen']})\n"
        f"  My Number readiness: {s.systems_ready}/{s.systems} systems with no failed check (mean {s.mean_readiness_pct:g}%)\n"
        f"  annual cost: {_yen(a.cost.total.total)} (¥{a.cost.per_resident_yen:,.0f} per resident)",
    ), markup=False, soft_wrap=True)
    _out.print(f"→ {html_path}\n→ {json_path}", markup=False, soft_wrap=True)
    from shuyaku.inventory.links import cross_layer

    exit_if_strict(strict, print_links(cross_layer(loaded.inventory, loaded.source, str(file)), notes=False))
