"""YAML and JSON files with positions: every value remembers its file, line and column, so that a problem
found later (a wrong type, an unknown key, a link to a missing system) is reported where the user must fix it.

This is the one adapter every input goes through. It refuses what would hang or leak before anything is
built: files too large, aliases that expand past a budget (a 500-byte "billion laughs" is refused at once),
directories, files outside the folder they are referenced from; and it never echoes a file's content
beyond a short, clipped value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from shuyaku.contracts.problems import Problem, ProblemsError, Text, tx

Loc = tuple[str | int, ...]

MAX_BYTES = 4 * 1024 * 1024  # far above any city's inventory (80 systems are 52 KB; 1,000 about 0.7 MB)
MAX_NODES = 100_000  # values built, aliases counted each time they are used (80 systems are ~3,300)
MAX_DEPTH = 64  # an inventory is 6 levels deep


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


def shown_path(path: Path | str) -> str:
    """A path as it may be printed: control characters escaped, and not longer than a line."""
    text = str(path)
    if any(ord(ch) < 32 or 0x7F <= ord(ch) < 0xA0 or 0x202A <= ord(ch) <= 0x202E for ch in text):
        text = repr(text)[1:-1]
    return text if len(text) <= 200 else text[:199] + "…"


def file_problem(path: Path | str, code: str, message: Text, fix: Text) -> Problem:
    return Problem(shown_path(path), 0, 0, "(file)", message, fix, code)


def read_text(path: str | Path, *, inside: Path | None = None) -> str:
    """The file's text, or ProblemsError naming why not. `inside`: the folder the file must stay within."""
    p = Path(path)
    try:
        return _read_text(p, inside)
    except ValueError:  # a NUL in the name (UnicodeDecodeError is answered inside)
        raise ProblemsError([file_problem(p, "file.bad_name", tx("ファイル名に使えない文字があります",
                                                                 "the file name has a character no file can have"),
                                          tx("ファイル名を確認してください", "check the file name"))]) from None
    except OSError as exc:  # a name too long, a loop of symbolic links...
        raise ProblemsError([file_problem(p, "file.unreadable",
                                          tx(f"読み込めません（{exc.strerror}）", f"cannot read it ({exc.strerror})"),
                                          tx("パスを確認してください", "check the path"))]) from None


def _read_text(p: Path, inside: Path | None) -> str:
    if inside is not None:
        try:
            resolved, folder = p.resolve(), inside.resolve()
        except (OSError, RuntimeError):  # a symlink loop
            resolved, folder = p, inside
        if not resolved.is_relative_to(folder):
            # Said before anything about the file is looked at: no hint whether it exists, nothing of its content.
            raise ProblemsError([file_problem(p, "file.outside_folder",
                                              tx(f"参照先が台帳のフォルダ {folder} の外にあります",
                                                 f"the file is outside the inventory's folder {folder}"),
                                              tx("台帳と同じフォルダ（またはその下）のファイルを指定してください",
                                                 "name a file in the inventory's folder or below it"))])
    if p.is_dir():
        raise ProblemsError([file_problem(p, "file.is_directory",
                                          tx("ファイルではなくフォルダです", "this is a folder, not a file"),
                                          tx("YAML ファイルのパスを指定してください", "give the path of a YAML file"))])
    if not p.exists():
        raise ProblemsError([file_problem(p, "file.not_found", tx("ファイルが見つかりません", "file not found"),
                                          tx("パスを確認してください（カレントディレクトリからの相対パス）",
                                             "check the path (relative to the current directory)"))])
    if not p.is_file():  # a device, a pipe or a socket: reading it could block or never end
        raise ProblemsError([file_problem(p, "file.not_regular",
                                          tx("通常のファイルではありません（デバイス・パイプ等）",
                                             "not a regular file (a device, a pipe...)"),
                                          tx("YAML ファイルのパスを指定してください", "give the path of a YAML file"))])
    try:
        with p.open("rb") as fh:
            raw = fh.read(MAX_BYTES + 1)  # never more than the limit, whatever the size the file claims
        if len(raw) > MAX_BYTES:
            raise ProblemsError([file_problem(p, "file.too_large",
                                              tx(f"ファイルが大きすぎます（上限 {MAX_BYTES // 1024 // 1024} MiB）",
                                                 f"the file is too large (limit {MAX_BYTES // 1024 // 1024} MiB)"),
                                              tx("台帳を分割するか、不要な部分を削除してください",
                                                 "split the file or remove what is not needed"))])
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ProblemsError([file_problem(p, "file.not_utf8",
                                          tx("UTF-8 のテキストではありません", "not UTF-8 text"),
                                          tx("UTF-8 のテキストファイルとして保存してください（Shift_JIS は不可）",
                                             "save it as a UTF-8 text file (not Shift_JIS)"))]) from None
    except OSError as exc:
        raise ProblemsError([file_problem(p, "file.unreadable",
                                          tx(f"読み込めません（{exc.strerror}）", f"cannot read it ({exc.strerror})"),
                                          tx("ファイルの権限と種類を確認してください",
                                             "check the file's permissions and type"))]) from None


def load(path: str | Path, *, inside: Path | None = None) -> Source:
    """Read a YAML (or JSON) file, raising ProblemsError for a missing file, bad syntax or duplicate keys."""
    p = Path(path)
    return parse(read_text(p, inside=inside), p)


def parse(text: str, path: Path) -> Source:
    from shuyaku.contracts import yaml_hints

    src = Source(path=path, data=None)
    problems: list[Problem] = []
    loader: _BoundedLoader | None = None
    try:
        loader = _BoundedLoader(text, src)  # the reader rejects control characters already here
        node = loader.get_single_node()
        if node is None or (isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null")):
            problems.append(Problem(str(path), 1, 1, "(document)", tx("ファイルが空です", "the file is empty"),
                                    tx("内容を書いてから保存してください（例は examples/ にあります）",
                                       "write its content first (examples/ has samples)"), "file.empty"))
        else:
            _Measure(src).size(node, 0)  # refuse an alias bomb before a single value is built
            src.data = _Builder(loader, src, problems).build(node, ())
    except (yaml.MarkedYAMLError, yaml.reader.ReaderError) as exc:
        problems.append(yaml_hints.syntax_problem(text, path, exc))
    except yaml.YAMLError:
        problems.append(Problem(str(path), 0, 0, "(syntax)", tx("YAML として読めません", "not readable as YAML"),
                                tx("YAML として正しい形式で保存してください", "save it as valid YAML"), "yaml.syntax"))
    except _TooBig as exc:
        problems.append(exc.problem)
    except RecursionError:  # not reached while MAX_DEPTH is far below Python's limit; kept as a last guard
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


def _too_big(src: Source, node: yaml.Node, kind: str) -> _TooBig:
    line, col = node.start_mark.line + 1, node.start_mark.column + 1
    texts = {
        "yaml.too_deep": (tx(f"入れ子が深すぎます（上限 {MAX_DEPTH} 段）", f"nesting is too deep (limit {MAX_DEPTH})"),
                          tx("構造を簡潔にしてください", "flatten the structure")),
        "yaml.too_many_values": (tx(f"値が多すぎます（エイリアス * の展開を含め {MAX_NODES:,} 個まで）",
                                    f"too many values (at most {MAX_NODES:,}, counting each use of an alias *)"),
                                 tx("アンカー（&）とエイリアス（*）を使わずに書くか、ファイルを分割してください",
                                    "write the values out without anchors (&) and aliases (*), or split the file")),
        "yaml.recursive_alias": (tx("エイリアス（*）が自分自身を含んでいます",
                                    "an alias (*) refers to a value containing itself"),
                                 tx("アンカー（&）とエイリアス（*）を使わずに書いてください",
                                    "write the values out without anchors (&) and aliases (*)")),
    }
    message, fix = texts[kind]
    return _TooBig(Problem(str(src.path), line, col, "(document)", message, fix, kind))


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader, counting nodes and depth while it composes: a file of a million tiny values or
    a thousand nested brackets is refused before it fills memory or Python's stack."""

    def __init__(self, text: str, src: Source):
        super().__init__(text)
        self._src, self._composed, self._depth = src, 0, 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        self._composed += 1
        self._depth += 1
        try:
            if self._composed > MAX_NODES or self._depth > MAX_DEPTH:
                event = self.peek_event()
                stub = yaml.ScalarNode("tag:yaml.org,2002:null", "", event.start_mark, event.end_mark)
                raise _too_big(self._src, stub, "yaml.too_deep" if self._depth > MAX_DEPTH else "yaml.too_many_values")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


class _Measure:
    """The size and depth the node graph would have once its aliases are expanded, computed once per node."""

    def __init__(self, src: Source):
        self.src = src
        self.sizes: dict[int, int] = {}
        self.open: set[int] = set()

    def size(self, node: yaml.Node, depth: int) -> int:
        key = id(node)
        if key in self.open:
            raise _too_big(self.src, node, "yaml.recursive_alias")
        if depth > MAX_DEPTH:
            raise _too_big(self.src, node, "yaml.too_deep")
        if key in self.sizes:
            return self.sizes[key]
        self.open.add(key)
        total = 1
        if isinstance(node, yaml.SequenceNode):
            total += sum(self.size(item, depth + 1) for item in node.value)
        elif isinstance(node, yaml.MappingNode):
            total += sum(1 + self.size(v, depth + 1) for _, v in node.value)
        self.open.discard(key)
        if total > MAX_NODES:
            raise _too_big(self.src, node, "yaml.too_many_values")
        self.sizes[key] = total
        return total


_GROUP = re.compile(r"[0-9]{3}")
_LEADING = re.compile(r"[0-9]{1,3}")


def _plain(node: yaml.Node, pattern: re.Pattern[str]) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.style is None and bool(pattern.fullmatch(node.value))


def _empty(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.style is None and node.value == ""


class _Builder:
    """Builds plain values from the node graph, counting every value built (an alias counts each time it is
    used) so that a document that expands beyond MAX_NODES is refused instead of filling memory."""

    def __init__(self, loader: yaml.SafeLoader, src: Source, problems: list[Problem]):
        self.loader, self.src, self.problems, self.count = loader, src, problems, 0
        self.own: dict[int, set[int]] = {}

    def _tick(self, node: yaml.Node, depth: int) -> None:
        self.count += 1
        if self.count > MAX_NODES or depth > MAX_DEPTH:
            raise _too_big(self.src, node, "yaml.too_deep" if depth > MAX_DEPTH else "yaml.too_many_values")

    def build(self, node: yaml.Node, loc: Loc, depth: int = 0) -> Any:
        self._tick(node, depth)
        self.src.values.setdefault(loc, (node.start_mark.line + 1, node.start_mark.column + 1))
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, loc, depth)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*loc, i), depth + 1) for i, item in enumerate(node.value)]
        return self._scalar(node, loc)

    def _scalar(self, node: yaml.Node, loc: Loc) -> Any:
        try:
            return self.loader.construct_object(node, deep=True)
        except (ValueError, ArithmeticError, LookupError, TypeError, AttributeError):
            # PyYAML's constructors raise plain Python errors for `2020-13-45`, `!!float x`, `!!int 0x`...
            line, col = node.start_mark.line + 1, node.start_mark.column + 1
            tag = node.tag.rsplit(":", 1)[-1]
            self.problems.append(Problem(str(self.src.path), line, col, dotted(loc),
                                         tx(f"値を {tag} として読めません: {clip(node.value)}",
                                            f"the value cannot be read as {tag}: {clip(node.value)}"),
                                         tx("値を直すか、文字列なら引用符（\"）で囲んでください",
                                            "correct it, or put it in double quotes if it is text"), "yaml.bad_value"))
            return None

    def _key(self, knode: yaml.Node, loc: Loc) -> str | None:
        if not isinstance(knode, yaml.ScalarNode):
            line, col = knode.start_mark.line + 1, knode.start_mark.column + 1
            self.problems.append(Problem(str(self.src.path), line, col, dotted(loc),
                                         tx("キーにリストやマッピングは使えません", "a key cannot be a list or a mapping"),
                                         tx("キーは文字列で書いてください", "write the key as plain text"), "yaml.complex_key"))
            return None
        key = self._scalar(knode, loc)
        # Keys are always text: `1:` or `yes:` or `2020-01-01:` keep what was typed, not what YAML makes of it.
        return key if isinstance(key, str) else knode.value

    def _commas(self, node: yaml.MappingNode, loc: Loc) -> set[int]:
        """`{hardware: 6,200,000}` reads in YAML as hardware: 6 plus keys 200 and 000; say what was meant."""
        skip: set[int] = set()
        if not node.flow_style:
            return skip
        pairs = node.value
        i = 0
        while i < len(pairs):
            k, v = pairs[i]
            j = i + 1
            last = v
            # Only digits joined by a bare comma ("6,200,000"): "80, 443" is two things, not one number.
            while (_plain(v, _LEADING) and j < len(pairs) and _plain(pairs[j][0], _GROUP) and _empty(pairs[j][1])
                   and pairs[j][0].start_mark.index == last.end_mark.index + 1):
                last = pairs[j][0]
                j += 1
            if j > i + 1:
                typed = ",".join([v.value] + [pairs[n][0].value for n in range(i + 1, j)])
                where = (*loc, k.value) if isinstance(k, yaml.ScalarNode) else loc
                line, col = v.start_mark.line + 1, v.start_mark.column + 1
                self.problems.append(Problem(
                    str(self.src.path), line, col, dotted(where),
                    tx(f"数値に桁区切りのカンマがあります: {clip(typed)}（{{ }} の中ではカンマが項目の区切りになります）",
                       f"a number with thousands separators: {clip(typed)} (inside {{ }} a comma separates entries)"),
                    tx(f"半角数字だけで {typed.replace(',', '')} と書いてください",
                       f"write it as plain digits: {typed.replace(',', '')}"), "schema.number_as_text"))
                skip.update(range(i + 1, j))
            i = j
        return skip

    def _own_keys(self, node: yaml.MappingNode) -> set[int]:
        """The key nodes written in this mapping itself, as opposed to those a merge (`<<: *x`) brings in;
        remembered per node, since the merge is flattened on the first visit only."""
        own = self.own.get(id(node))
        if own is None:
            own = {id(k) for k, _ in node.value if k.tag != "tag:yaml.org,2002:merge"}
            self.own[id(node)] = own
            self.loader.flatten_mapping(node)
        return own

    def _mapping(self, node: yaml.MappingNode, loc: Loc, depth: int) -> dict[Any, Any]:
        own = self._own_keys(node)
        out: dict[Any, Any] = {}
        src = self.src
        skip = self._commas(node, loc)
        pairs = list(enumerate(node.value))
        # The mapping's own keys first; then merged ones (`<<: *x`) where not already given, the one PyYAML
        # would keep (the last flattened) first: YAML's rule that own keys, then earlier merges, win.
        ordered = [p for p in pairs if id(p[1][0]) in own] + [p for p in reversed(pairs) if id(p[1][0]) not in own]
        for n, (knode, vnode) in ordered:
            self._tick(knode, depth + 1)
            if n in skip:
                continue
            key = self._key(knode, loc)
            if key is None:
                continue
            kloc = (*loc, key)
            kpos = (knode.start_mark.line + 1, knode.start_mark.column + 1)
            if key in out:
                if id(knode) in own:
                    first = src.keys.get(kloc, kpos)
                    self.problems.append(Problem(
                        str(src.path), kpos[0], kpos[1], dotted(kloc),
                        tx(f"キーが重複しています（最初は {first[0]} 行目）", f"duplicate key (first at line {first[0]})"),
                        tx("どちらか一方を削除してください", "remove one of them"), "yaml.duplicate_key"))
                continue
            src.keys[kloc] = kpos
            out[key] = self.build(vnode, kloc, depth + 1)
        return out
