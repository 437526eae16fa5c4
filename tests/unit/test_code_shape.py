"""Small modules named for what they hold: none over 500 lines, no function over 80.

A module or function past these limits is where a change becomes risky for whoever carries the code on;
this test names each one so it is split rather than allowed to grow.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "shuyaku"
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 80


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_no_module_over_500_lines() -> None:
    sizes = {str(p.relative_to(PACKAGE)): p.read_text(encoding="utf-8").count("\n") for p in _modules()}
    long = {name: n for name, n in sizes.items() if n > MAX_MODULE_LINES}
    assert not long, f"split these modules: {long}"


def test_no_function_over_80_lines() -> None:
    long: dict[str, int] = {}
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long[f"{path.relative_to(PACKAGE)}:{node.lineno} {node.name}"] = lines
    assert not long, f"split these functions: {long}"


def test_the_limits_see_a_long_function() -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES + 1))
    tree = ast.parse(f"def f():\n{body}\n")
    fn = tree.body[0]
    assert isinstance(fn, ast.FunctionDef) and (fn.end_lineno or 0) - fn.lineno + 1 > MAX_FUNCTION_LINES
