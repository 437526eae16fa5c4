"""Migration waves: most urgent first, linked systems together or in adjacent waves, standard ops apart."""

from __future__ import annotations

from pathlib import Path

import pytest

from shuyaku.contracts.inventory import Inventory
from shuyaku.inventory.load import load
from shuyaku.plan.waves import deadline, plan_waves

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = [ROOT / "examples" / "sample-city" / "inventory.yaml", ROOT / "examples" / "small-town" / "inventory.yaml"]


def check(inv: Inventory, waves: list, gov: list[str], max_size: int | None = None) -> None:
    wave_of: dict[str, int] = {}
    for w in waves:
        for s in w.systems:
            assert s not in wave_of, f"{s} in two waves"
            wave_of[s] = w.number
        assert w.reason
    assert [w.number for w in waves] == list(range(1, len(waves) + 1))
    std = {s.id for s in inv.systems if s.standard_op}
    assert set(gov) == std
    assert set(wave_of) == {s.id for s in inv.systems} - std, "every other system in exactly one wave"
    for s in inv.systems:
        for link in s.links:
            if s.id in wave_of and link.target in wave_of:
                assert abs(wave_of[s.id] - wave_of[link.target]) <= 1, f"{s.id} -> {link.target} stretched over waves"
    if max_size is not None:
        assert all(len(w.systems) <= max_size for w in waves)


@pytest.mark.parametrize("path", EXAMPLES, ids=["sample-city", "small-town"])
def test_waves_respect_links_and_keep_standard_operations_apart(path: Path) -> None:
    inv = load(path).inventory
    waves, gov = plan_waves(inv, 5)
    check(inv, waves, gov, max_size=8)


def test_the_most_urgent_system_moves_in_the_first_wave() -> None:
    inv = load(EXAMPLES[0]).inventory
    waves, _ = plan_waves(inv, 5)
    movers = [s for s in inv.systems if not s.standard_op]
    most_urgent = min(movers, key=lambda s: (deadline(s, 5).when, s.id))
    assert most_urgent.id in waves[0].systems
    assert "2008 R2" in waves[0].reason or "2020" in waves[0].reason


def _synthetic(links: list[tuple[str, str]], n: int, years: dict[str, int] | None = None) -> Inventory:
    years = years or {}
    systems = []
    for i in range(n):
        sid = f"X{i:02d}"
        systems.append({
            "id": sid, "name": sid, "department": "d", "layer": "lgwan", "vendor": "v", "users": 1,
            "rpo_hours": 24, "rto_hours": 48,
            "servers": [{"role": "ap", "count": 1, "vcpu": 2, "ram_gb": 4, "disk_gb": 50, "os": "rhel", "os_version": "9",
                         "purchase_year": years.get(sid, 2024)}],
            "costs": {"hardware": 0, "maintenance": 0, "licences": 0, "operations": 0, "facility": 0},
            "links": [{"target": t, "port": 443} for s, t in links if s == sid],
        })
    return Inventory.model_validate({"municipality": {"name": "t", "population": 1, "separation_model": "alpha",
                                                      "fiscal_year": 2026}, "systems": systems})


def test_a_long_chain_is_split_into_consecutive_waves() -> None:
    links = [(f"X{i:02d}", f"X{i + 1:02d}") for i in range(19)]
    inv = _synthetic(links, 20, {"X10": 2015})
    waves, gov = plan_waves(inv, 5, max_size=4)
    check(inv, waves, gov, max_size=4)
    assert "X10" in waves[0].systems, "the split starts from the most urgent member"


def test_a_hub_with_many_links_stays_with_its_neighbours_even_if_the_wave_grows() -> None:
    links = [(f"X{i:02d}", "X00") for i in range(1, 15)]
    inv = _synthetic(links, 16)
    waves, gov = plan_waves(inv, 5, max_size=4)
    check(inv, waves, gov)  # adjacency holds; the star cannot fit 4 per wave and the reason says so
    assert any("exceeds" in w.reason or "超過" in w.reason for w in waves)
    assert sum(len(w.systems) for w in waves) == 16


def test_already_past_is_told_apart_from_planned_after_the_deadline() -> None:
    """X00 reached its hardware life before the plan starts (FY2026): no schedule beats that, it moves first.
    X01..X12 reach theirs on 2027-03-31, within the plan: with 4 systems a wave, waves that end after that date
    make the ones in them late — the plan's own doing, which more or earlier waves would fix."""
    years = {"X00": 2015} | {f"X{i:02d}": 2022 for i in range(1, 13)}
    inv = _synthetic([], 16, years)
    waves, _ = plan_waves(inv, 5, max_size=4)
    past = [sid for w in waves for sid in w.past_deadline]
    after = {sid for w in waves for sid in w.after_deadline}
    assert past == ["X00"] and "X00" in waves[0].systems
    assert after and after <= {f"X{i:02d}" for i in range(1, 13)}
    for w in waves:
        assert all(w.ends >= deadline(next(s for s in inv.systems if s.id == sid), 5).when for sid in w.after_deadline)
        assert w.beats_deadline == (not w.after_deadline and not w.past_deadline)
    from shuyaku.contracts.plan import Plan
    from shuyaku.report import summary
    from shuyaku.report.messages import Messages

    plan = Plan.model_construct(waves=waves, links=[], dr=type("D", (), {"misses": 0, "tiers": []})(),
                                cost=type("C", (), {"maintenance_split_defaulted": 0})())
    risks = [text for _, text in summary.risks(plan, Messages("en"), "en")]
    assert risks[0].startswith("1 system(s) are already past") and "2020-03-31" in risks[0]
    assert risks[1].startswith(f"{len(after)} system(s) move in a wave after a deadline that is still ahead")
