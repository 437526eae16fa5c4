"""Validate a loaded document against a contract model and put each error where the user must fix it.

`check(Model, src)` is what every stage calls on a file it reads. Messages say what is wrong and what to
type instead, in both languages, with a stable code; values are quoted only clipped and escaped.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from shuyaku.contracts import vocabulary as vocab
from shuyaku.contracts.problems import Problem, ProblemsError, Text, tx
from shuyaku.contracts.source import Loc, Source, clip, load

M = TypeVar("M", bound=BaseModel)

_EXPECTED = {
    "int": ("整数", "a whole number"),
    "float": ("数値", "a number"),
    "string": ("文字列", "text"),
    "bool": ("true / false", "true or false"),
    "dict": ("項目の並び（マッピング）", "a mapping of keys to values"),
    "list": ("リスト（- で始まる行）", "a list (lines starting with -)"),
    "model": ("項目の並び（マッピング）", "a mapping of keys to values"),
}

_PATTERNS: dict[str, tuple[str, Text, Text]] = {
    vocab.SYSTEM_ID_PATTERN: ("schema.system_id", tx("システムIDの形式ではありません", "not a system id"),
                              tx("英字で始まる英数字・ハイフン2〜32文字にしてください（例: S001, juki）",
                                 "use 2-32 letters, digits or hyphens starting with a letter (e.g. S001, juki)")),
    vocab.IPV4_CIDR_PATTERN: ("schema.cidr", tx("IPv4 の CIDR ではありません", "not an IPv4 network"),
                              tx("例: 10.10.12.0/24（IPv6 のテナントネットワークは未対応です）",
                                 "e.g. 10.10.12.0/24 (IPv6 tenant networks are not supported)")),
    vocab.SAFE_TEXT_PATTERN: ("schema.unsafe_text", tx("制御文字・書字方向の制御文字は使えません",
                                                       "control or text-direction characters are not allowed"),
                              tx("普通の文字だけで書き直してください", "retype it with ordinary characters")),
}

_KANJI_UNITS = {"万": 10_000, "億": 100_000_000}


def check(model: type[M], src: Source, data: Any = None) -> tuple[M | None, list[Problem]]:
    """Validate `src.data` (or `data`) against a model; map each error back to the file."""
    value = src.data if data is None else data
    try:
        return model.model_validate(value), []
    except ValidationError as exc:
        return None, [problem_from_error(model, src, err, value) for err in exc.errors()]


def load_model(model: type[M], path: str | Path, *, inside: Path | None = None) -> M:
    """Load a file and validate it, or raise ProblemsError with every problem in it."""
    src = load(path, inside=inside)
    obj, problems = check(model, src)
    if problems or obj is None:
        raise ProblemsError(problems)
    return obj


def problem_from_error(model: type[BaseModel], src: Source, err: Any, data: Any = None) -> Problem:
    """`data`: what was validated, when it is not `src.data` itself (the error's location walks it)."""
    loc = _clean_loc(src.data if data is None else data, tuple(err["loc"]))
    kind: str = err["type"]
    ctx = err.get("ctx") or {}
    given = err.get("input")
    if kind == "extra_forbidden" and loc:
        allowed = _allowed_keys(model, loc[:-1])
        near = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint_ja = f"「{near[0]}」の誤りではありませんか。" if near else ""
        hint_en = f"did you mean '{near[0]}'? " if near else ""
        return src.problem(loc, tx("未知の項目です", "unknown key"),
                           tx(f"{hint_ja}使える項目: {', '.join(allowed)}", f"{hint_en}allowed keys: {', '.join(allowed)}"),
                           code="schema.unknown_key", key=True)
    if kind == "missing" and loc:
        return src.problem(loc[:-1], tx(f"必須項目「{loc[-1]}」がありません", f"required key '{loc[-1]}' is missing"),
                           tx(f"「{loc[-1]}」を追加してください", f"add '{loc[-1]}'"), code="schema.missing")
    if kind in ("literal_error", "enum"):
        expected = str(ctx.get("expected", ""))
        return src.problem(loc, tx(f"使えない値です: {clip(given)}", f"value not allowed: {clip(given)}"),
                           tx(f"次のいずれかにしてください: {expected}", f"use one of: {expected}"), code="schema.not_allowed")
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        bound = next(iter(ctx.values()), "")
        rel = {"greater_than": (">", "greater than"), "greater_than_equal": ("≧", "at least"),
               "less_than": ("<", "less than"), "less_than_equal": ("≦", "at most")}[kind]
        return src.problem(loc, tx(f"値が範囲外です: {clip(given)}", f"value out of range: {clip(given)}"),
                           tx(f"{rel[0]} {bound} の値にしてください", f"use a value {rel[1]} {bound}"), code="schema.range")
    if kind == "finite_number":
        return src.problem(loc, tx(f"値が範囲外です: {clip(given)}", f"value out of range: {clip(given)}"),
                           tx("有限の数値を書いてください（.inf や .nan は使えません）",
                              "write a finite number (not .inf or .nan)"), code="schema.range")
    if kind in ("too_short", "string_too_short"):
        return src.problem(loc, tx("空です", "empty"), tx("値を1つ以上入れてください", "give at least one value"),
                           code="schema.empty")
    if kind in ("too_long", "string_too_long"):
        limit = ctx.get("max_length", "")
        return src.problem(loc, tx(f"長すぎます（上限 {limit} 文字）", f"too long (at most {limit} characters)"),
                           tx("短くしてください（OpenStack が受け付ける長さ）", "shorten it (the length OpenStack accepts)"),
                           code="schema.too_long")
    if kind == "string_pattern_mismatch":
        return _pattern_problem(src, loc, str(ctx.get("pattern", "")), given)
    if kind in ("int_parsing", "float_parsing", "int_from_float", "int_type", "float_type") and isinstance(given, str):
        return _number_text_problem(src, loc, given, integer=not kind.startswith("float"))
    for suffix, (ja, en) in _EXPECTED.items():
        if kind.startswith(suffix + "_") or kind == f"{suffix}_type":
            return src.problem(loc, tx(f"型が違います（{_kind_of(given)}）", f"wrong type ({_kind_of(given, 'en')})"),
                               tx(f"{ja}を書いてください", f"write {en}"), code="schema.type")
    msg = str(err.get("msg", kind)).removeprefix("Value error, ")
    ja, _, en = msg.partition(" / ")
    return src.problem(loc, Text(ja, en or ja), tx("値を見直してください", "correct the value"), code=f"schema.{kind}")


def _kind_of(value: Any, language: str = "ja") -> str:
    names = {dict: ("マッピング", "a mapping"), list: ("リスト", "a list"), str: ("文字列", "text"),
             bool: ("true/false", "true/false"), int: ("整数", "a whole number"), float: ("数値", "a number"),
             type(None): ("空", "nothing")}
    ja, en = names.get(type(value), ("値", "a value"))
    shown = "" if isinstance(value, dict | list) or value is None else f": {clip(value, 40)}"
    return (en if language == "en" else ja) + shown


def _pattern_problem(src: Source, loc: Loc, pattern: str, given: Any) -> Problem:
    code, message, fix = _PATTERNS.get(pattern, ("schema.pattern", tx("形式が正しくありません", "wrong format"),
                                                 tx("値を見直してください", "correct the value")))
    if pattern == vocab.IPV4_CIDR_PATTERN and isinstance(given, str) and ":" in given:
        code, message = "schema.cidr_ipv6", tx("IPv6 のネットワークは未対応です", "IPv6 networks are not supported")
    return src.problem(loc, Text(f"{message.ja}: {clip(given)}", f"{message.en}: {clip(given)}"), fix, code=code)


def suggest_number(text: str) -> int | float | None:
    """What a ledger-typed number means: NFKC (全角→半角), thousands separators, 円, 万 and 億."""
    s = unicodedata.normalize("NFKC", text).strip().replace(",", "").replace("円", "").replace(" ", "")
    m = re.fullmatch(r"(?:(\d+(?:\.\d+)?)億)?(?:(\d+(?:\.\d+)?)万)?(\d+(?:\.\d+)?)?", s)
    if not s or not m or not any(m.groups()):
        return None
    total = float(sum(float(g) * unit for g, unit in zip(m.groups(), (_KANJI_UNITS["億"], _KANJI_UNITS["万"], 1), strict=True)
                      if g))
    if not total < 1e16:  # a suggestion is only worth making for a plausible figure (and never for inf)
        return None
    return int(total) if total.is_integer() else total


def _number_text_problem(src: Source, loc: Loc, given: str, *, integer: bool) -> Problem:
    suggested = suggest_number(given)
    if suggested is None:
        return src.problem(loc, tx(f"数値ではありません: {clip(given)}", f"not a number: {clip(given)}"),
                           tx("半角数字で書いてください（例: 6200000）", "write ASCII digits (e.g. 6200000)"),
                           code="schema.not_a_number")
    return src.problem(loc, tx(f"数値が文字として書かれています: {clip(given)}（全角数字・桁区切り・万/億/円は使えません）",
                               f"a number written as text: {clip(given)} (full-width digits, separators, 万/億/円)"),
                       tx(f"半角数字だけで {suggested} と書いてください", f"write it as plain digits: {suggested}"),
                       code="schema.number_as_text")


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
        fields = _keys(current)
        if part not in fields:
            return []
        current = _inner_model(fields[part].annotation)
    return list(_keys(current))


def _keys(model: Any) -> dict[str, Any]:
    """A model's fields by the key a file writes: the alias where one is set (stack config keys)."""
    fields = getattr(model, "model_fields", None) or {}
    return {(f.alias or name): f for name, f in fields.items()}


def _inner_model(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _inner_model(arg)
        if found is not None:
            return found
    return None
