"""Property test: on small random zones, the planner's "optimal" agrees with brute force, and its layout
always survives losing any one host (checked by exhaustive search, independent of the planner)."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from shuyaku.plan.placement import Cap, Items, plan_zone

CAP = Cap(16, 64, 1000)

vm = st.tuples(st.integers(1, 16), st.integers(1, 64), st.integers(1, 1000))
zone = st.lists(st.tuples(vm, st.sampled_from([None, None, None, "a", "b"])), min_size=1, max_size=7)


def _fits(dems: list[tuple[int, int, int]], groups: list[str | None], cap: Cap) -> bool:
    sums = [sum(d[k] for d in dems) for k in range(3)]
    named = [g for g in groups if g]
    return sums[0] <= cap.cpu and sums[1] <= cap.ram and sums[2] <= cap.disk and len(named) == len(set(named))


def brute_min_hosts(dems: list[tuple[int, int, int]], groups: list[str | None], cap: Cap) -> int:
    n = len(dems)
    for hosts in range(1, n + 1):
        for assign in itertools.product(range(hosts), repeat=n):
            if assign[0] != 0:
                continue
            if all(_fits([dems[i] for i in range(n) if assign[i] == h], [groups[i] for i in range(n) if assign[i] == h], cap)
                   for h in range(hosts)):
                return hosts
    return n


def survives(bins: list[list[int]], dems: list[tuple[int, int, int]], groups: list[str | None], cap: Cap) -> bool:
    for lost in range(len(bins)):
        others = [h for h in range(len(bins)) if h != lost]
        moved = bins[lost]
        ok = False
        for target in itertools.product(others, repeat=len(moved)):
            trial = {h: list(bins[h]) for h in others}
            for i, h in zip(moved, target, strict=True):
                trial[h].append(i)
            if all(_fits([dems[i] for i in b], [groups[i] for i in b], cap) for b in trial.values()):
                ok = True
                break
        if not ok:
            return False
    return True


@settings(max_examples=40, deadline=None, derandomize=True)
@given(zone)
def test_small_zones_are_optimal_and_survive_any_host_loss(vms: list) -> None:
    dems = [d for d, _ in vms]
    groups = [g for _, g in vms]
    items = Items.build([f"v{i}" for i in range(len(vms))], [tuple(float(x) for x in d) for d in dems], groups)
    res = plan_zone(items, CAP)
    best = brute_min_hosts(dems, groups, CAP)
    assert res.lower_bound <= best + 1 <= res.hosts
    if res.optimal:
        assert res.hosts == best + 1
    assert res.solver == "cp-sat" and res.optimal  # tiny zones are always proven
    for b in res.bins:
        assert _fits([dems[i] for i in b], [groups[i] for i in b], CAP)
    assert sorted(i for b in res.bins for i in b) == list(range(len(vms)))
    assert survives(res.bins, dems, groups, CAP)
