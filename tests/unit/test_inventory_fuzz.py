"""The loader never crashes: arbitrary text and arbitrary YAML structures end in an Inventory or in Problems."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shuyaku.contracts import checked, source
from shuyaku.contracts.inventory import Inventory
from shuyaku.contracts.problems import Problem, ProblemsError
from shuyaku.inventory.load import cross_check

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sample-city" / "inventory.yaml"

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=False),
                    st.text(max_size=12))
trees = st.recursive(scalars, lambda kids: st.one_of(st.lists(kids, max_size=4),
                                                     st.dictionaries(st.text(max_size=8), kids, max_size=4)),
                     max_leaves=25)


def check(text: str) -> None:
    try:
        src = source.parse(text, Path("fuzz.yaml"))
    except ProblemsError as exc:
        assert exc.problems and all(isinstance(p, Problem) for p in exc.problems)
        return
    _, problems = checked.check(Inventory, src)
    problems += cross_check(src.data, src, None)
    for p in problems:
        assert p.line >= 0 and p.field and p.message and p.fix


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=300))
def test_arbitrary_text(text: str) -> None:
    check(text)


@settings(max_examples=150, deadline=None)
@given(trees)
def test_arbitrary_structures(tree: object) -> None:
    check(yaml.safe_dump(tree))


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_mutated_sample(data: st.DataObject) -> None:
    """Damage the real sample in one place: the loader must still answer with positioned problems."""
    doc = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))
    system = data.draw(st.sampled_from(doc["systems"]))
    key = data.draw(st.sampled_from(sorted(system)))
    system[key] = data.draw(trees)
    check(yaml.safe_dump(doc, allow_unicode=True))


# --- YAML-ish text, damaged real files, and the command itself ---------------------------------------------------

TOWN = SAMPLE.parents[1] / "small-town" / "inventory.yaml"
# What ledgers and YAML are made of: indicators, anchors and aliases, tags, quotes, full-width look-alikes,
# control and bidi characters, digits in every width.
YAMLISH = st.sampled_from([
    "\n", "  ", "- ", ": ", ":", ",", "[", "]", "{", "}", "&a ", "*a", "&b ", "*b", "<<: ", "!!int ", "!!float ",
    "!!str ", "!!binary ", "!!timestamp ", "!!set ", "!x ", "? ", "|\n", ">\n", "'", '"', "#", "---\n", "...\n",
    "%YAML 1.1\n", "\t", "\u3000", "：", "２０１７", "6,200,000", "620万", "円", "~", "null", "true", ".inf", ".nan",
    "2020-13-45", "0x", "0o9", "1e999", "\\", "\\u202e", "\u202e", "\x00", "\x85", "\ufeff", "\ud7ff", "systems",
    "municipality", "servers", "id", "name", "juki", "10.10.40.0/24", "fd00::/64", "a", "あ", "1", "-1",
])
yamlish = st.lists(YAMLISH, max_size=60).map("".join)


def mutate(text: str, edits: list[tuple[int, int, str]]) -> str:
    """Replace, delete or insert at positions drawn by hypothesis (positions wrap around the text)."""
    for pos, cut, insert in edits:
        pos %= max(len(text), 1)
        text = text[:pos] + insert + text[pos + cut:]
    return text


edits = st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 8), st.one_of(YAMLISH, st.text(max_size=3))),
                 min_size=1, max_size=4)


@settings(max_examples=200, deadline=timedelta(seconds=2), suppress_health_check=[HealthCheck.too_slow])
@given(yamlish)
def test_yamlish_text(text: str) -> None:
    check(text)


@settings(max_examples=60, deadline=timedelta(seconds=3), suppress_health_check=[HealthCheck.too_slow])
@given(edits)
def test_damaged_real_file(changes: list[tuple[int, int, str]]) -> None:
    check(mutate(TOWN.read_text(encoding="utf-8"), changes))


@settings(max_examples=60, deadline=timedelta(seconds=3),
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.one_of(yamlish, edits.map(lambda changes: mutate(TOWN.read_text(encoding="utf-8"), changes))),
       st.sampled_from(["text", "json"]), st.sampled_from(["ja", "en"]))
def test_validate_command_answers_everything(tmp_path: Path, text: str, fmt: str, lang: str) -> None:
    """The command in-process: exit 0, 1 or 2 with something said, never an exception that escapes."""
    from typer.testing import CliRunner

    from shuyaku.cli import app

    path = tmp_path / "inventory.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    result = CliRunner().invoke(app, ["validate", str(path), "--format", fmt, "--lang", lang])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code in (0, 1, 2)
    said = result.stdout + result.stderr
    assert said.strip() and "Traceback" not in said and "Keys should be strings" not in said
    if fmt == "json":
        doc = json.loads(result.stdout)
        assert doc["ok"] is (result.exit_code == 0)
        assert all(p["code"] and p["message"] and p["fix"] for p in doc.get("problems", []))
