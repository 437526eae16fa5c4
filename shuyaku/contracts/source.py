"""YAML and JSON files with positions: every value remembers its file, line and column, so that a problem
found later (a wrong type, an unknown key, a link to a missing system) is reported where the user must fix it.

This is the one adapter every input goes through. It refuses what would hang or leak before anything is
built: files too large, aliases that expand past a budget (a 500-byte "billion laughs" is refused at once),
directories, files outside the folder they are referenced from; and it never echoes a file's content
beyond a short, clipped value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from shuyaku.contracts.problems import Problem, ProblemsError, Text, tx

Loc = tuple[str | int, ...]

MAX_BYTES = 16 * 1024 * 1024  # far above any city's inventory (a 1,000-system file is ~1 MB)
MAX_NODES = 500_000  # values built, aliases counted each time they are used
MAX_DEPTH = 64


def dotted(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(document)"


def clip(value: Any, limit: int = 60) -> str:
    """A value as it may appear in a message: repr'd (so control characters show escaped), and short."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass
class Source:
    """A loaded document and where each of its values and keys sits in the file."""

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

    def problem(self, loc: Loc, message: Text | str, fix: Text | str, *, code: str = "general", key: bool = False,
                severity: str = "error") -> Problem:
        line, col = self.where(loc, key=key)
        return Problem(str(self.path), line, col, dotted(loc), message, fix, code, severity)  # type: ignore[arg-type]


def file_problem(path: Path | str, code: str, message: Text, fix: Text) -> Problem:
    return Problem(str(path), 0, 0, "(file)", message, fix, code)


def read_text(path: str | Path, *, inside: Path | None = None) -> str:
    """The file's text, or ProblemsError naming why not. `inside`: the folder the file must stay within."""
    p = Path(path)
    if inside is not None:
        try:
            resolved = p.resolve()
        except (OSError, RuntimeError):
            resolved = p
        if not resolved.is_relative_to(inside.resolve()):
            raise ProblemsError([file_problem(p, "file.outside_folder",
                                              tx(f"参照先が {inside} の外にあります", f"the file is outside {inside}"),
                                              tx("台帳と同じフォルダ（またはその下）のファイルを指定してください",
                                                 "name a file in the inventory's folder or below it"))])
    if p.is_dir():
        raise ProblemsError([file_problem(p, "file.is_directory",
                                          tx("ファイルではなくフォルダです", "this is a folder, not a file"),
                                          tx("YAML ファイルのパスを指定してください", "give the path of a YAML file"))])
    if not p.is_file():
        raise ProblemsError([file_problem(p, "file.not_found", tx("ファイルが見つかりません", "file not found"),
                                          tx("パスを確認してください（カレントディレクトリからの相対パス）",
                                             "check the path (relative to the current directory)"))])
    try:
        if p.stat().st_size > MAX_BYTES:
            raise ProblemsError([file_problem(p, "file.too_large",
                                              tx(f"ファイルが大きすぎます（上限 {MAX_BYTES // 1024 // 1024} MiB）",
                                                 f"the file is too large (limit {MAX_BYTES // 1024 // 1024} MiB)"),
                                              tx("台帳を分割するか、不要な部分を削除してください",
                                                 "split the file or remove what is not needed"))])
        raw = p.read_bytes()[: MAX_BYTES + 1]
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ProblemsError([file_problem(p, "file.not_utf8",
                                          tx("UTF-8 のテキストではありません", "not UTF-8 text"),
                                          tx("UTF-8 のテキストファイルとして保存してください（Shift_JIS は不可）",
                                             "save it as a UTF-8 text file (not Shift_JIS)"))]) from None
    except OSError as exc:
        raise ProblemsError([file_problem(p, "file.unreadable",
                                          tx(f"読み込めません（{exc.strerror}）", f"cannot read it ({exc.strerror})"),
                                          tx("ファイルの権限と種類を確認してください", "check the file's permissions and type"))]) from None


def load(path: str | Path, *, inside: Path | None = None) -> Source:
    """Read a YAML (or JSON) file, raising ProblemsError for a missing file, bad syntax or duplicate keys."""
    p = Path(path)
    return parse(read_text(p, inside=inside), p)


def parse(text: str, path: Path) -> Source:
    from shuyaku.contracts import yaml_hints

    src = Source(path=path, data=None)
    problems: list[Problem] = []
    loader: yaml.SafeLoader | None = None
    try:
        loader = yaml.SafeLoader(text)  # the reader rejects control characters already here
        node = loader.get_single_node()
        if node is None or (isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null")):
            problems.append(Problem(str(path), 1, 1, "(document)", tx("ファイルが空です", "the file is empty"),
                                    tx("内容を書いてから保存してください（例は examples/ にあります）",
                                       "write its content first (examples/ has samples)"), "file.empty"))
        else:
            src.data = _Builder(loader, src, problems).build(node, ())
    except (yaml.MarkedYAMLError, yaml.reader.ReaderError) as exc:
        problems.append(yaml_hints.syntax_problem(text, path, exc))
    except yaml.YAMLError:
        problems.append(Problem(str(path), 0, 0, "(syntax)", tx("YAML として読めません", "not readable as YAML"),
                                tx("YAML として正しい形式で保存してください", "save it as valid YAML"), "yaml.syntax"))
    except _TooBig as exc:
        problems.append(exc.problem)
    except RecursionError:
        problems.append(Problem(str(path), 0, 0, "(syntax)", tx("入れ子が深すぎます", "nesting is too deep"),
                                tx("構造を簡潔にしてください", "flatten the structure"), "yaml.too_deep"))
    finally:
        if loader is not None:
            loader.dispose()
    if problems:
        raise ProblemsError(problems)
    return src


class _TooBig(Exception):
    def __init__(self, problem: Problem):
        self.problem = problem


class _Builder:
    """Builds plain values from the node graph, counting every value built (an alias counts each time it is
    used) so that a document that expands beyond MAX_NODES is refused instead of filling memory."""

    def __init__(self, loader: yaml.SafeLoader, src: Source, problems: list[Problem]):
        self.loader, self.src, self.problems, self.count = loader, src, problems, 0

    def _tick(self, node: yaml.Node, depth: int) -> None:
        self.count += 1
        if self.count > MAX_NODES or depth > MAX_DEPTH:
            line, col = node.start_mark.line + 1, node.start_mark.column + 1
            deep = depth > MAX_DEPTH
            raise _TooBig(Problem(
                str(self.src.path), line, col, "(document)",
                tx(f"入れ子が深すぎます（上限 {MAX_DEPTH} 段）", f"nesting is too deep (limit {MAX_DEPTH})") if deep else
                tx(f"値が多すぎます（エイリアス * の展開を含め {MAX_NODES:,} 個まで）",
                   f"too many values (at most {MAX_NODES:,}, counting each use of an alias *)"),
                tx("構造を簡潔にしてください", "flatten the structure") if deep else
                tx("アンカー（&）とエイリアス（*）を使わずに書いてください",
                   "write the values out without anchors (&) and aliases (*)"),
                "yaml.too_deep" if deep else "yaml.too_many_values"))

    def build(self, node: yaml.Node, loc: Loc, depth: int = 0) -> Any:
        self._tick(node, depth)
        self.src.values.setdefault(loc, (node.start_mark.line + 1, node.start_mark.column + 1))
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, loc, depth)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*loc, i), depth + 1) for i, item in enumerate(node.value)]
        return self.loader.construct_object(node, deep=True)

    def _mapping(self, node: yaml.MappingNode, loc: Loc, depth: int) -> dict[Any, Any]:
        self.loader.flatten_mapping(node)
        out: dict[Any, Any] = {}
        src = self.src
        for knode, vnode in node.value:
            self._tick(knode, depth + 1)
            key = self.loader.construct_object(knode, deep=True) if isinstance(knode, yaml.ScalarNode) else None
            key = key if isinstance(key, str) else str(key) if isinstance(key, int | float | bool) else "(?)"
            kloc = (*loc, key)
            kpos = (knode.start_mark.line + 1, knode.start_mark.column + 1)
            if key in out:
                first = src.keys.get(kloc, kpos)
                self.problems.append(Problem(str(src.path), kpos[0], kpos[1], dotted(kloc),
                                             tx(f"キーが重複しています（最初は {first[0]} 行目）",
                                                f"duplicate key (first at line {first[0]})"),
                                             tx("どちらか一方を削除してください", "remove one of them"), "yaml.duplicate_key"))
                continue
            src.keys[kloc] = kpos
            out[key] = self.build(vnode, kloc, depth + 1)
        return out
