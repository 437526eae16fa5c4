"""What every command shares: the consoles, the language option and the one way input problems are printed.

Exit status: 0 success, 1 a check found problems (policy violations, failed hosts), 2 bad input.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console

from shuyaku.contracts.i18n import t
from shuyaku.contracts.problems import ProblemsError

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
        err.print(t(f"{len(exc.problems)} 件の問題があります。修正して再実行してください。",
                    f"{len(exc.problems)} problem(s) found. Fix them and run again."), soft_wrap=True)
    raise typer.Exit(2)
