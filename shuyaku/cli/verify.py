"""`shuyaku verify`: prove with testinfra that the hosts are what the roles promised."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from shuyaku.contracts.i18n import set_lang, t
from shuyaku.provision.inventory import InventoryError, resolve
from shuyaku.provision.runner import artifacts_root
from shuyaku.verify.runner import run_verify

app = typer.Typer()
out = Console(highlight=False)
err = Console(stderr=True, highlight=False)


@app.command("verify")
def verify_cmd(
    inventory: Annotated[Path | None, typer.Option("--inventory", "-i", help="Ansible hosts file")] = None,
    stack: Annotated[str | None, typer.Option("--stack", "-s", help="Pulumi stack (ansible_inventory)")] = None,
    group: Annotated[str, typer.Option("--group", "-g", help="Ansible group to verify")] = "all",
    junit: Annotated[Path, typer.Option("--junit", help="JUnit XML output")] = Path("out/verify/junit.xml"),
    html: Annotated[Path, typer.Option("--html", help="HTML summary output")] = Path("out/verify/summary.html"),
    workers: Annotated[str, typer.Option("--workers", "-n", help="pytest-xdist workers (auto, N, 0)")] = "auto",
    suite: Annotated[list[Path] | None, typer.Option("--suite", help="test files/dirs (default tests/infra)")] = None,
    lang: Annotated[str | None, typer.Option("--lang", help="ja (既定) / en")] = None,
) -> None:
    """testinfra でホストを検証します / verify hosts with the testinfra suites (exit 0 pass, 1 fail, 2 bad input)."""
    set_lang(lang)
    try:
        inv = resolve(inventory, stack, artifacts_root())
    except InventoryError as exc:
        for p in exc.problems:
            err.print(Text(p, style="red"), soft_wrap=True)
        raise typer.Exit(2) from None
    if group not in inv.groups or not inv.groups[group]:
        err.print(Text(t(f"グループ {group} にホストがありません（あるもの: {', '.join(sorted(inv.groups))}）。",
                         f"group {group} has no hosts (groups: {', '.join(sorted(inv.groups))})."), style="red"))
        raise typer.Exit(2)
    out.print(t(f"{len(inv.groups[group])} 台を検証します（{inv.path}）",
                f"verifying {len(inv.groups[group])} host(s) ({inv.path})"))
    result = run_verify(inv.path, hosts=inv.hosts, group=group, junit=junit.resolve(), html=html.resolve(), workers=workers,
                        suites=suite)
    table = Table(title=t("検証結果", "Verification"))
    table.add_column(t("ホスト", "host"))
    for col in ("passed", "failed", "error", "skipped"):
        table.add_column(col, justify="right")
    for host in result.hosts:
        cases = [c for c in result.cases if c.host == host]
        row = [sum(1 for c in cases if c.outcome == o) for o in ("passed", "failed", "error", "skipped")]
        table.add_row(host, *map(str, row), style="red" if row[1] or row[2] else "green")
    out.print(table)
    out.print(t(f"JUnit: {result.junit}  HTML: {result.html}  所要時間 {result.duration:.1f} 秒",
                f"JUnit: {result.junit}  HTML: {result.html}  took {result.duration:.1f} s"))
    if result.rc not in (0, 1) and not result.cases:
        err.print(Text(t(f"pytest が終了コード {result.rc} で失敗しました。", f"pytest failed with exit code {result.rc}."),
                       style="red"))
        raise typer.Exit(2 if result.rc in (4, 5) else 1)
    failed = [c for c in result.cases if c.outcome in ("failed", "error")]
    for c in failed:
        first = c.message.splitlines()[0] if c.message else ""
        err.print(Text(t(f"不合格: {c.host} {c.name}: {first}", f"FAILED: {c.host} {c.name}: {first}"), style="red"),
                  soft_wrap=True)
    raise typer.Exit(1 if failed or result.rc else 0)
