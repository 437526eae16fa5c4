"""What every command shares: the consoles, the language option and the one way input problems are printed.

Exit status: 0 success, 1 a check found problems (policy violations, failed hosts), 2 bad input.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console

from shuyaku.contracts.i18n import t
from shuyaku.contracts.problems import Problem, ProblemsError, summary

if TYPE_CHECKING:
    from shuyaku.inventory.load import Loaded

err = Console(stderr=True, highlight=False)
out = Console(highlight=False)

LangOpt = Annotated[str | None, typer.Option("--lang", help="ja (既定) / en")]


def fail_on_problems(exc: ProblemsError, fmt: str = "text") -> None:
    """Print every problem and exit 2; shared by all commands that read user files."""
    if fmt == "json":
        print(json.dumps({"ok": False, "problems": [p.as_dict() for p in exc.problems]}, ensure_ascii=False, indent=2))
    else:
        for p in exc.problems:
            err.print(p.render(), markup=False, soft_wrap=True)
        err.print(summary(len(exc.problems)), soft_wrap=True)
    raise typer.Exit(2)


StrictOpt = Annotated[bool, typer.Option(
    "--strict", help="禁止された系間連携があれば終了コード 1 / exit 1 on forbidden cross-layer links")]


def print_links(findings: list[Problem], *, notes: bool = True) -> int:
    """Name every forbidden link (and, with `notes`, every mediated one) on stderr; return how many are forbidden."""
    forbidden = [p for p in findings if p.code == "link.forbidden"]
    shown = findings if notes else forbidden
    for p in shown:
        mark = t("禁止", "FORBIDDEN") if p.code == "link.forbidden" else t("経由", "via")
        err.print(f"  [{mark}] {p.file}:{p.line}: {p.message}", markup=False, soft_wrap=True)
    if forbidden:
        err.print(t(f"禁止された系間連携が {len(forbidden)} 件あります（計画には含めません）",
                    f"{len(forbidden)} forbidden cross-layer link(s); the plan leaves them out"), markup=False, soft_wrap=True)
    return len(forbidden)


def exit_if_strict(strict: bool, forbidden: int) -> None:
    if strict and forbidden:
        err.print(t("--strict: 禁止された連携があるため終了コード 1 で終わります",
                    "--strict: exiting 1 because of forbidden links"), markup=False)
        raise typer.Exit(1)


def load_inventory(file: Path, catalogue: Path | None, fmt: str = "text") -> Loaded:
    """The checked inventory (and catalogue), or every problem printed and exit 2."""
    from shuyaku.inventory.load import load

    try:
        return load(file, catalogue)
    except ProblemsError as exc:
        fail_on_problems(exc, fmt)
        raise  # unreachable: fail_on_problems exits


def cannot_write(out_dir: Path, exc: OSError) -> NoReturn:
    err.print(t(f"{out_dir}: 出力先に書き込めません（{exc.strerror}）", f"{out_dir}: cannot write the output ({exc.strerror})"),
              markup=False, soft_wrap=True)
    err.print(t("    修正方法: --out に書き込み可能なディレクトリを指定してください",
                "    fix: pass a writable directory with --out"), markup=False, soft_wrap=True)
    raise typer.Exit(2) from None
