"""YAML files with positions: every value remembers its file, line and column, so that a problem found
later (a wrong type, an unknown key, a link to a missing system) is reported where the user must fix it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from shuyaku.i18n import t

Loc = tuple[str | int, ...]
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    column: int
    field: str
    message: str
    fix: str

    def render(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}"
        return f"{where}: {self.field}: {self.message}\n    {t('修正方法', 'fix')}: {self.fix}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "field": self.field,
            "message": self.message,
            "fix": self.fix,
        }


class ProblemsError(Exception):
    """Raised with every problem found, never just the first one."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = sorted(problems, key=lambda p: (p.file, p.line, p.column, p.field))
        super().__init__("\n".join(p.render() for p in self.problems))


def dotted(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(document)"


@dataclass
class Source:
    """A loaded YAML document and where each of its values and keys sits in the file."""

    path: Path
    data: Any
    values: dict[Loc, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Loc, tuple[int, int]] = field(default_factory=dict)

    def where(self, loc: Loc, *, key: bool = False) -> tuple[int, int]:
        """Nearest known position: the exact value (or key), else its closest enclosing parent."""
        table = self.keys if key else self.values
        probe = tuple(loc)
        while probe:
            if probe in table:
                return table[probe]
            if probe in self.values:
                return self.values[probe]
            probe = probe[:-1]
        return self.values.get((), (1, 1))

    def problem(self, loc: Loc, message: str, fix: str, *, key: bool = False) -> Problem:
        line, col = self.where(loc, key=key)
        return Problem(str(self.path), line, col, dotted(loc), message, fix)


def load(path: str | Path) -> Source:
    """Read a YAML file, raising ProblemsError for a missing file, bad syntax or duplicate keys."""
    p = Path(path)
    if not p.is_file():
        raise ProblemsError(
            [
                Problem(
                    str(p), 0, 0, "(file)",
                    t("ファイルが見つかりません", "file not found"),
                    t("パスを確認してください（カレントディレクトリからの相対パス）",
                      "check the path (relative to the current directory)"),
                )
            ]
        )
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ProblemsError(
            [Problem(str(p), 0, 0, "(file)", t(f"読み込めません: {exc}", f"cannot read: {exc}"),
                     t("UTF-8 のテキストファイルとして保存してください", "save it as a UTF-8 text file"))]
        ) from None
    return parse(text, p)


def parse(text: str, path: Path) -> Source:
    src = Source(path=path, data=None)
    problems: list[Problem] = []
    loader: yaml.SafeLoader | None = None
    try:
        loader = yaml.SafeLoader(text)  # the reader rejects control characters already here
        node = loader.get_single_node()
        src.data = _build(loader, node, (), src, problems) if node is not None else None
    except (yaml.MarkedYAMLError, yaml.reader.ReaderError) as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line, col = (mark.line + 1, mark.column + 1) if mark else _reader_position(text, exc)
        problems.append(
            Problem(str(path), line, col, "(syntax)",
                    t(f"YAML の構文エラー: {_what(exc)}", f"YAML syntax error: {_what(exc)}"),
                    t("インデント、コロンの後の空白、引用符の対応を確認してください",
                      "check indentation, a space after each colon, and matching quotes"))
        )
    except yaml.YAMLError as exc:
        problems.append(Problem(str(path), 0, 0, "(syntax)", t(f"YAML エラー: {exc}", f"YAML error: {exc}"),
                                t("YAML として正しい形式で保存してください", "save it as valid YAML")))
    except RecursionError:
        problems.append(Problem(str(path), 0, 0, "(syntax)", t("入れ子が深すぎます", "nesting is too deep"),
                                t("構造を簡潔にしてください", "flatten the structure")))
    finally:
        if loader is not None:
            loader.dispose()
    if problems:
        raise ProblemsError(problems)
    return src


def _what(exc: yaml.YAMLError) -> str:
    return str(getattr(exc, "problem", None) or exc).replace("\n", " ")


def _reader_position(text: str, exc: yaml.YAMLError) -> tuple[int, int]:
    pos = getattr(exc, "position", None)
    if not isinstance(pos, int):
        return (0, 0)
    before = text[:pos]
    return (before.count("\n") + 1, pos - (before.rfind("\n") + 1) + 1)


def _build(loader: yaml.SafeLoader, node: yaml.Node, loc: Loc, src: Source, problems: list[Problem]) -> Any:
    src.values[loc] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        out: dict[Any, Any] = {}
        for knode, vnode in node.value:
            key = loader.construct_object(knode, deep=True)
            if not isinstance(key, str | int | float | bool) or key is None:
                key = str(key)
            kloc = (*loc, str(key))
            kpos = (knode.start_mark.line + 1, knode.start_mark.column + 1)
            if key in out:
                first = src.keys.get(kloc, kpos)
                problems.append(
                    Problem(str(src.path), kpos[0], kpos[1], dotted(kloc),
                            t(f"キーが重複しています（最初は {first[0]} 行目）",
                              f"duplicate key (first at line {first[0]})"),
                            t("どちらか一方を削除してください", "remove one of them"))
                )
                continue
            src.keys[kloc] = kpos
            out[key] = _build(loader, vnode, kloc, src, problems)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(loader, item, (*loc, i), src, problems) for i, item in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


_EXPECTED = {
    "int": ("整数", "a whole number"),
    "float": ("数値", "a number"),
    "string": ("文字列", "text"),
    "bool": ("true / false", "true or false"),
    "dict": ("項目の並び（マッピング）", "a mapping of keys to values"),
    "list": ("リスト（- で始まる行）", "a list (lines starting with -)"),
    "model": ("項目の並び（マッピング）", "a mapping of keys to values"),
}


def validate(model: type[M], src: Source, data: Any = None) -> tuple[M | None, list[Problem]]:
    """Validate `src.data` (or `data`) against a pydantic model; map each error back to the file."""
    try:
        return model.model_validate(src.data if data is None else data), []
    except ValidationError as exc:
        return None, [_problem_from_error(model, src, err) for err in exc.errors()]


def _problem_from_error(model: type[BaseModel], src: Source, err: Any) -> Problem:
    loc = _clean_loc(src.data, tuple(err["loc"]))
    kind: str = err["type"]
    ctx = err.get("ctx") or {}
    if kind == "extra_forbidden" and loc:
        allowed = _allowed_keys(model, loc[:-1])
        near = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint_ja = f"「{near[0]}」の誤りではありませんか。" if near else ""
        hint_en = f"did you mean '{near[0]}'? " if near else ""
        return src.problem(loc, t("未知の項目です", "unknown key"),
                           t(f"{hint_ja}使える項目: {', '.join(allowed)}",
                             f"{hint_en}allowed keys: {', '.join(allowed)}"), key=True)
    if kind == "missing" and loc:
        return src.problem(loc[:-1], t(f"必須項目「{loc[-1]}」がありません", f"required key '{loc[-1]}' is missing"),
                           t(f"「{loc[-1]}」を追加してください", f"add '{loc[-1]}'"))
    if kind in ("literal_error", "enum"):
        expected = ctx.get("expected", "")
        return src.problem(loc, t(f"使えない値です: {err.get('input')!r}", f"value not allowed: {err.get('input')!r}"),
                           t(f"次のいずれかにしてください: {expected}", f"use one of: {expected}"))
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        bound = next(iter(ctx.values()), "")
        rel = {"greater_than": (">", "greater than"), "greater_than_equal": ("≧", "at least"),
               "less_than": ("<", "less than"), "less_than_equal": ("≦", "at most")}[kind]
        return src.problem(loc, t(f"値が範囲外です: {err.get('input')!r}", f"value out of range: {err.get('input')!r}"),
                           t(f"{rel[0]} {bound} の値にしてください", f"use a value {rel[1]} {bound}"))
    if kind in ("too_short", "string_too_short"):
        return src.problem(loc, t("空です", "empty"), t("値を1つ以上入れてください", "give at least one value"))
    for suffix, (ja, en) in _EXPECTED.items():
        if kind.startswith(suffix + "_") or kind == f"{suffix}_type":
            return src.problem(loc, t(f"型が違います: {err.get('input')!r}", f"wrong type: {err.get('input')!r}"),
                               t(f"{ja}を書いてください", f"write {en}"))
    msg = str(err.get("msg", kind)).removeprefix("Value error, ")
    return src.problem(loc, msg, t("値を見直してください", "correct the value"))


def _clean_loc(data: Any, loc: Loc) -> Loc:
    """Drop the parts pydantic adds for unions and validators, keeping every real key and index."""
    out: list[str | int] = []
    cur = data
    for part in loc:
        in_dict = isinstance(cur, dict) and part in cur
        in_list = isinstance(cur, list) and isinstance(part, int) and 0 <= part < len(cur)
        if in_dict or in_list:
            cur = cur[part]
        elif isinstance(part, str) and ("[" in part or part.startswith("function-")):
            continue
        else:
            cur = None
        out.append(part)
    return tuple(out)


def _allowed_keys(model: type[BaseModel], loc: Loc) -> list[str]:
    """Walk the model along `loc` to find which keys are allowed where the unknown key sits."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        fields = getattr(current, "model_fields", None)
        if not fields or part not in fields:
            return []
        current = _inner_model(fields[part].annotation)
    fields = getattr(current, "model_fields", None)
    return list(fields) if fields else []


def _inner_model(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _inner_model(arg)
        if found is not None:
            return found
    return None
