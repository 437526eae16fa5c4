"""The loader never crashes: arbitrary text and arbitrary YAML structures end in an Inventory or in Problems."""

from __future__ import annotations

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
