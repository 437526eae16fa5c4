"""YAML syntax errors said in words a municipal clerk can act on.

PyYAML's own messages are English parser jargon ("found character '\\t' that cannot start any token").
Ledgers (台帳) in Japanese offices are typed with tabs, full-width spaces and full-width colons, so those
are named first, with what to type instead; the rest get a translated summary. The file's content is
never quoted back beyond the character at fault.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from shuyaku.contracts.problems import Problem, Text, tx

_CHAR_HINTS: dict[str, tuple[str, Text, Text]] = {
    "\t": ("yaml.tab", tx("タブ文字があります（YAML ではタブでインデントできません）",
                          "a tab character (YAML does not allow tabs for indentation)"),
           tx("タブを半角スペース2つに置き換えてください", "replace the tab with two spaces")),
    "\u3000": ("yaml.fullwidth_space", tx("全角スペースがあります", "a full-width space (U+3000)"),
               tx("半角スペースに置き換えてください", "replace it with an ordinary space")),
    "：": ("yaml.fullwidth_colon", tx("全角のコロン「：」があります", "a full-width colon (：)"),
          tx("半角のコロン「:」と半角スペースにしてください", "use an ASCII colon followed by a space")),
}

# PyYAML's problem texts (stable across its releases) and what they mean for someone editing a ledger.
_PROBLEMS: list[tuple[str, Text]] = [
    ("mapping values are not allowed", tx("コロン「:」の位置が正しくありません", "a colon is in the wrong place")),
    ("could not find expected ':'", tx("キーの後にコロン「:」がありません", "a key has no colon after it")),
    ("found unexpected end of stream", tx("引用符や括弧が閉じられていません", "a quote or bracket is not closed")),
    ("found undefined alias", tx("定義されていないエイリアス（*）です", "an alias (*) with no anchor (&)")),
    ("expected <block end>", tx("インデントがそろっていません", "the indentation is inconsistent")),
    ("did not find expected key", tx("インデントがそろっていません", "the indentation is inconsistent")),
    ("did not find expected '-' indicator", tx("リストの行のインデントがそろっていません",
                                               "a list's lines are not indented alike")),
    ("special characters are not allowed", tx("使えない制御文字が含まれています", "a control character is not allowed")),
    ("found character that cannot start any token", tx("ここに書けない文字があります",
                                                       "a character that cannot start a value here")),
    ("found unknown escape character", tx("引用符内の \\ の使い方が正しくありません",
                                          "an unknown escape (\\) inside double quotes")),
    ("expected a single document", tx("文書区切り（---）が複数あります", "more than one document (---)")),
    ("could not determine a constructor for the tag", tx("使えないタグ（! で始まる型指定）です",
                                                         "a tag (!...) that is not allowed")),
    ("found duplicate anchor", tx("同じ名前のアンカー（&）が2つあります", "two anchors (&) with the same name")),
    ("expected a mapping node", tx("マージ（<<）の値がマッピングではありません", "a merge (<<) of something not a mapping")),
]

# Where the general advice (indentation, colons, quotes) would send the user looking in the wrong place.
_FIXES: dict[str, Text] = {
    "could not determine a constructor for the tag": tx("「!」で始まる型指定（タグ）を削除してください",
                                                         "remove the tag (the part starting with !)"),
    "found duplicate anchor": tx("アンカー（&）の名前を別々にしてください", "give each anchor (&) its own name"),
    "found undefined alias": tx("エイリアス（*）の前に同じ名前のアンカー（&）を書くか、値を直接書いてください",
                                "define the anchor (&) before the alias (*), or write the value out"),
}


def syntax_problem(text: str, path: Path, exc: yaml.YAMLError) -> Problem:
    if isinstance(exc, yaml.reader.ReaderError) and isinstance(exc.character, int):
        line, col = _reader_position(text, exc)
        code = f"U+{exc.character:04X}"
        return Problem(str(path), line, col, "(syntax)",
                       tx(f"使えない制御文字（{code}）があります", f"a control character ({code}) is not allowed"),
                       tx("その文字を削除してください（別のソフトからの貼り付けで混入しがちです）",
                          "delete the character (it often comes with text pasted from another program)"),
                       "yaml.control_character")
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line, col = (mark.line + 1, mark.column + 1) if mark else _reader_position(text, exc)
    fix_default = tx("インデント、コロンの後の空白、引用符の対応を確認してください",
                     "check indentation, a space after each colon, and matching quotes")
    lines = text.splitlines()
    # The character at fault is usually on the marked line or the one before it (PyYAML marks where it
    # noticed, which may be past the culprit).
    for ln in (line, line - 1):
        current = lines[ln - 1] if 0 < ln <= len(lines) else ""
        for ch, (code, message, fix) in _CHAR_HINTS.items():
            if ch in current:
                return Problem(str(path), ln, current.index(ch) + 1, "(syntax)", message, fix, code)
    what = str(getattr(exc, "problem", None) or "")
    for needle, message in _PROBLEMS:
        if needle in what:
            return Problem(str(path), line, col, "(syntax)", Text(f"YAML の構文エラー: {message.ja}",
                                                                     f"YAML syntax error: {message.en}"),
                           _FIXES.get(needle, fix_default), "yaml.syntax")
    return Problem(str(path), line, col, "(syntax)", tx("YAML の構文エラーです", "YAML syntax error"),
                   fix_default, "yaml.syntax")


def _reader_position(text: str, exc: yaml.YAMLError) -> tuple[int, int]:
    pos = getattr(exc, "position", None)
    if not isinstance(pos, int):
        return (0, 0)
    before = text[:pos]
    return (before.count("\n") + 1, pos - (before.rfind("\n") + 1) + 1)
