"""Safe rendering of site data into a vendor project's files.

Every value that comes from the inventory or the site data (a system's name, its vendor, the municipality,
ids, the platform stack's name) passes through a filter chosen for where it lands: a Python literal, a
docstring, a YAML document, a shell word, Markdown text or a Markdown code span. The environment refuses
(at render time) a text value printed without one of these filters, so a new template line cannot forget.
HTML templates, if any are added, are autoescaped by Jinja.
"""

from __future__ import annotations

import json
import re
import shlex
from typing import Any

import yaml
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup


class Rendered(str):
    """Text already escaped for the place it is printed."""


class UnescapedValueError(ValueError):
    pass


def _escape_char(c: str) -> str:
    if c == "\\":
        return "\\\\"
    if c == '"':
        return '\\"'
    if c == "\n":
        return "\\n"
    if c == "\t":
        return "\\t"
    if c.isprintable():
        return c
    code = ord(c)
    return f"\\x{code:02x}" if code < 0x100 else (f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")


def _py_string_body(value: str) -> str:
    """The inside of a double-quoted Python string (also valid inside a non-raw triple-quoted docstring):
    quotes and backslashes escaped, line breaks and every non-printable character as an escape."""
    return "".join(_escape_char(c) for c in value)


def py(value: Any) -> Rendered:
    """A Python literal: strings double-quoted and escaped, ints and bools as themselves."""
    if isinstance(value, bool | int | float) or value is None:
        return Rendered(repr(value))
    if isinstance(value, str):
        return Rendered(f'"{_py_string_body(value)}"')
    raise UnescapedValueError(f"no Python literal for {type(value).__name__}")


def doc(value: Any) -> Rendered:
    """Text inside a Python docstring: it reads back as the same text and can never close the docstring."""
    return Rendered(_py_string_body(str(value)))


def to_yaml(value: Any) -> Rendered:
    """A whole YAML document, written by the YAML dumper (quoting whatever needs it)."""
    return Rendered(yaml.safe_dump(value, allow_unicode=True, sort_keys=False, width=10_000))


def to_json(value: Any) -> Rendered:
    return Rendered(json.dumps(value, ensure_ascii=False, indent=2) + "\n")


def sh(value: Any) -> Rendered:
    """One shell word. Text with line breaks or control characters uses $'…' quoting, so it stays on one
    line (a Markdown code fence cannot be closed from inside it)."""
    text = str(value)
    if all(c.isprintable() for c in text):
        return Rendered(shlex.quote(text))
    body = "".join("\\'" if c == "'" else _escape_char(c).replace('\\"', '"') for c in text)
    return Rendered(f"$'{body}'")


def _one_line(value: Any) -> str:
    return "".join(c if c.isprintable() else " " for c in str(value))


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|&!#~])")


def md(value: Any) -> Rendered:
    """Markdown text (also inside a table cell): one line, punctuation that Markdown or HTML would act on
    backslash-escaped."""
    return Rendered(_MD_SPECIAL.sub(r"\\\1", _one_line(value)))


def code(value: Any) -> Rendered:
    """A Markdown code span (also inside a table cell): one line, fenced by more backticks than it holds."""
    text = _one_line(value).replace("|", "\\|")
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return Rendered(f"{fence}{pad}{text}{pad}{fence}")


def codes(values: Any) -> Rendered:
    return Rendered(", ".join(code(v) for v in values))


_TOKEN = re.compile(r"^[A-Za-z0-9._+-]+$")


def token(value: Any) -> Rendered:
    """A word that needs no escaping anywhere (a package version); anything else is refused."""
    text = str(value)
    if not _TOKEN.match(text):
        raise UnescapedValueError(f"not a plain token: {text!r}")
    return Rendered(text)


def _finalize(value: Any) -> Any:
    if isinstance(value, Rendered | Markup) or (isinstance(value, bool | int) and not isinstance(value, str)):
        return value
    raise UnescapedValueError(
        f"a template printed {clip(value)} without an escaping filter (py, doc, sh, md, code, to_yaml, to_json, token)")


def clip(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("shuyaku.vendor", "templates"),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        autoescape=select_autoescape(["html", "htm", "xml"], default_for_string=False, default=False),
        finalize=_finalize,
    )
    env.filters.update(py=py, doc=doc, sh=sh, md=md, code=code, codes=codes, to_yaml=to_yaml, to_json=to_json, token=token)
    return env
