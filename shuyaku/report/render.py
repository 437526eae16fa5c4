"""Shared Jinja2 set-up: templates from the package, autoescape on, undefined names fail loudly."""

from __future__ import annotations

from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from shuyaku.report import fmt


@cache
def env() -> Environment:
    e = Environment(
        loader=PackageLoader("shuyaku.report", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html", "j2"), default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return e


def _version() -> str:
    try:
        return version("shuyaku")
    except PackageNotFoundError:
        return "dev"


def write(template: str, out_path: Path, lang: str, **context: Any) -> Path:
    """Render to out_path; number formatters are bound to the language so templates stay simple."""
    lang = "en" if lang == "en" else "ja"
    html = env().get_template(template).render(
        lang=lang,
        version=_version(),
        yen=lambda n: fmt.yen(n, lang),
        yen_short=lambda n: fmt.yen_short(n, lang),
        num=fmt.num,
        pct=fmt.pct,
        fy=lambda y: fmt.fy(y, lang),
        date=lambda d: fmt.date(d, lang),
        **context,
    )
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(html, encoding="utf-8")
    return out_path
