"""Placing VMs on hosts: three-dimensional bin packing with anti-affinity and N+1.

Facts the code rests on (so that the reported bound is valid and "optimal" means something):

* Packing bound. No packing of the zone's VMs uses fewer than
  P0 = max(ceil(sum vCPU / C), ceil(sum RAM / R), ceil(sum disk / D), largest anti-affinity group,
           in any one dimension ceil(k_m / m) where k_m VMs are larger than 1/(m+1) of a host, m = 1..8)
  hosts, where C, R, D are one host's effective capacity (host minus hypervisor reserve, times overcommit).
  When CP-SAT ran, P0 is raised to the bound CP-SAT proved (equal to its packing when it is optimal).
* N+1 bound. A layout is N+1 if, after losing any one host, its VMs can be re-placed on the others
  (capacity and anti-affinity respected). Then the other n-1 hosts hold every VM in a valid packing,
  so n - 1 >= P0, i.e. n >= P0 + 1. That is the reported lower bound.
* N+1 is exactly "best packing + 1": a packing on p hosts plus one spare host is N+1 (the spare takes
  a failed host's VMs whole: they fit, and they were on distinct hosts from each other's group
  members already), and any N+1 layout on n hosts contains a packing on n - 1. So the planner packs
  as tightly as it can (CP-SAT proves optimality for small zones), adds one host, and then spreads the
  load over all hosts when the spread layout still passes the N+1 check; otherwise it keeps the
  packed layout with one host in reserve.

The heuristic for large zones runs plain first-fit-decreasing (FFD) too and keeps the better result,
so it never uses more hosts than FFD. Everything is deterministic: stable sorts, index tie-breaks, and
CP-SAT on one worker with a deterministic time limit.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable

import numpy as np

from shuyaku.plan.packing import (
    BIN_CENTRIC_MAX_WORK,
    CP_SAT_DETERMINISTIC_S,
    EPS,
    EXACT_MAX_VMS,
    ITEM_CENTRIC_MAX_VMS,
    SHAPE_GRID,
    SPREAD_MAX_HOSTS,
    Cap,
    Items,
    Packing,
    ZoneResult,
    _Bins,
    _check_fits,
    bin_centric,
    eliminate_bins,
    ffd,
    greedy,
    order,
    packing_bound,
)

__all__ = ["Cap", "Items", "Packing", "ZoneResult", "ffd", "pack", "packing_bound", "plan_zone"]


def cp_sat(items: Items, cap: Cap, hint: Packing, bound: int,
           det_time: float = CP_SAT_DETERMINISTIC_S) -> tuple[Packing, bool, int]:
    """Minimum-host packing; returns (packing, proven optimal, proven lower bound on hosts).
    Deterministic: one worker, fixed seed,
    deterministic time limit (independent of machine speed)."""
    from ortools.sat.python import cp_model

    n_items = len(items)
    seq = order(items, cap, "dominant").tolist()
    ub = hint.hosts
    # Integer demands: flavors are whole vCPU and GB; scale to 1/1000 to keep fractional capacities exact enough.
    scale = 1000
    dem = [(round(items.cpu[i] * scale), round(items.ram[i] * scale), round(items.disk[i] * scale)) for i in range(n_items)]
    caps = (math.floor(cap.cpu * scale + EPS), math.floor(cap.ram * scale + EPS), math.floor(cap.disk * scale + EPS))
    m = cp_model.CpModel()
    y = [m.new_bool_var(f"y{b}") for b in range(ub)]
    x: dict[tuple[int, int], cp_model.IntVar] = {}
    for rank, i in enumerate(seq):
        # Symmetry breaking: relabel hosts by their first (largest) VM, so VM of rank k sits on host <= k.
        for b in range(min(ub, rank + 1)):
            x[i, b] = m.new_bool_var(f"x{i}_{b}")
        m.add_exactly_one(x[i, b] for b in range(min(ub, rank + 1)))
    for b in range(ub):
        here = [(i, x[i, b]) for i in range(n_items) if (i, b) in x]
        for dim in range(3):
            m.add(sum(dem[i][dim] * v for i, v in here) <= caps[dim] * y[b])
        if b + 1 < ub:
            m.add(y[b] >= y[b + 1])
    groups: dict[int, list[int]] = {}
    for i, g in enumerate(items.group.tolist()):
        if g >= 0:
            groups.setdefault(g, []).append(i)
    for members in groups.values():
        for b in range(ub):
            vs = [x[i, b] for i in members if (i, b) in x]
            if len(vs) > 1:
                m.add_at_most_one(vs)
    # Identical VMs (same shape, no group) next to each other in `seq` are interchangeable: keep them in
    # host order. Only neighbours in `seq`: then swapping them never changes which VM is the first on
    # its host, so this stays compatible with the relabelling above.
    host_of = {i: sum(b * v for b, v in ((b, x[i, b]) for b in range(ub) if (i, b) in x)) for i in range(n_items)}
    for a, b_ in itertools.pairwise(seq):
        if items.group[a] < 0 and items.group[b_] < 0 and dem[a] == dem[b_]:
            m.add(host_of[a] <= host_of[b_])
    m.add(sum(y) >= bound)
    m.minimize(sum(y))
    # Hint: the heuristic's packing relabelled to respect the symmetry breaking above.
    rank_of = {i: k for k, i in enumerate(seq)}
    relabel = sorted(range(hint.hosts), key=lambda b: min(rank_of[i] for i in hint.bins[b]))
    for new_b, old_b in enumerate(relabel):
        for i in hint.bins[old_b]:
            for b in range(ub):
                if (i, b) in x:
                    m.add_hint(x[i, b], b == new_b)
        m.add_hint(y[new_b], True)
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.random_seed = 0
    solver.parameters.max_deterministic_time = det_time
    status = solver.solve(m)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return hint, False, bound
    proven_bound = max(bound, math.ceil(solver.best_objective_bound - EPS))
    bins: list[list[int]] = [[] for _ in range(ub)]
    for (i, b), v in x.items():
        if solver.value(v):
            bins[b].append(i)
    packing = Packing([sorted(b) for b in bins if b], "cp-sat")
    if packing.hosts > hint.hosts:
        return hint, False, proven_bound
    return packing, status == cp_model.OPTIMAL, proven_bound


# --- N+1 -------------------------------------------------------------------------------------------

def survives_loss(items: Items, cap: Cap, bins: list[list[int]]) -> bool:
    """Remove each host in turn and re-place its VMs on the others (largest first, onto the host with
    the most room that fits, never beside a member of the same anti-affinity group)."""
    n = len(bins)
    if n == 0:
        return True
    if n == 1:
        return False
    c, r, d, grp = items.cpu, items.ram, items.disk, items.group
    rc = np.array([cap.cpu - c[b].sum() for b in bins])
    rr = np.array([cap.ram - r[b].sum() for b in bins])
    rd = np.array([cap.disk - d[b].sum() for b in bins])
    host_groups: dict[int, list[int]] = {}
    for k, b in enumerate(bins):
        for i in b:
            if grp[i] >= 0:
                host_groups.setdefault(int(grp[i]), []).append(k)
    for h in range(n):
        if not bins[h]:
            continue
        trc, trr, trd = rc.copy(), rr.copy(), rd.copy()
        trc[h] = trr[h] = trd[h] = -1.0
        moved_to: dict[int, list[int]] = {}
        mine = sorted(bins[h], key=lambda i: (-max(c[i] / cap.cpu, r[i] / cap.ram, d[i] / cap.disk), i))
        for i in mine:
            ok = (trc >= c[i] - EPS) & (trr >= r[i] - EPS) & (trd >= d[i] - EPS)
            g = int(grp[i])
            if g >= 0:
                ok[host_groups[g]] = False
                ok[moved_to.get(g, [])] = False
            if not ok.any():
                return False
            room = np.minimum(np.minimum(trc / cap.cpu, trr / cap.ram), trd / cap.disk)
            t = int(np.where(ok, room, -np.inf).argmax())
            trc[t] -= c[i]
            trr[t] -= r[i]
            trd[t] -= d[i]
            if g >= 0:
                moved_to.setdefault(g, []).append(t)
    return True


def spread(items: Items, cap: Cap, hosts: int) -> list[list[int]] | None:
    """Worst-fit-decreasing over a fixed number of hosts: each VM onto the host that stays least loaded.
    None when some VM does not fit (then the packed layout with a spare host is used)."""
    bins = _Bins(cap, hosts)
    for _ in range(hosts):
        bins.open()
    seq = order(items, cap, "dominant")
    for i in seq.tolist():
        c, r, d, g = items.cpu[i], items.ram[i], items.disk[i], int(items.group[i])
        ok = bins.feasible(c, r, d, g)
        if not ok.any():
            return None
        n = bins.n
        after = np.maximum(np.maximum(1 - (bins.rc[:n] - c) / cap.cpu, 1 - (bins.rr[:n] - r) / cap.ram),
                           1 - (bins.rd[:n] - d) / cap.disk)
        b = int(np.where(ok, after, np.inf).argmin())
        bins.put(b, i, c, r, d, g)
    return [sorted(m) for m in bins.members]


# --- the zone planner ------------------------------------------------------------------------------

def pack(items: Items, cap: Cap, *, exact_max: int = EXACT_MAX_VMS,
         cp_det_time: float = CP_SAT_DETERMINISTIC_S) -> tuple[Packing, Packing, bool, str, int]:
    """Best packing found, the plain FFD packing, whether the best is proven optimal, the solver, and
    the best proven lower bound on the packing (CP-SAT's when it ran, else packing_bound)."""
    _check_fits(items, cap)
    bound = packing_bound(items, cap)
    base = ffd(items, cap)
    best = base
    if len(items) == 0:
        return best, base, True, "heuristic", bound
    grid = np.stack([np.ceil(items.cpu / cap.cpu * SHAPE_GRID - EPS), np.ceil(items.ram / cap.ram * SHAPE_GRID - EPS),
                     np.ceil(items.disk / cap.disk * SHAPE_GRID - EPS)], axis=1)
    shapes = len(np.unique(grid, axis=0))
    candidates: list[Callable[[], Packing]] = []
    if shapes * len(items) <= BIN_CENTRIC_MAX_WORK:
        candidates += [lambda: bin_centric(items, cap, "dot"), lambda: bin_centric(items, cap, "l2")]
    if len(items) <= ITEM_CENTRIC_MAX_VMS:
        # Item-centric variants cost VMs x hosts each; at scale they lose to bin-centric anyway.
        candidates += [
            lambda: greedy(items, cap, order(items, cap, "dominant"), "best"),
            lambda: greedy(items, cap, order(items, cap, "sum"), "dot"),
        ]
    for make in candidates:
        if best.hosts <= bound:
            break
        p = make()
        if p.hosts < best.hosts:
            best = p
    if best.hosts > bound:
        p = eliminate_bins(items, cap, best, bound)
        if p.hosts < best.hosts:
            best = p
    if len(items) <= exact_max:
        # Run even when the heuristic met the bound: the hint plus the bound constraint make the proof
        # immediate, and "optimal" is then CP-SAT's word, not ours.
        exact, proven, proven_bound = cp_sat(items, cap, best, bound, cp_det_time)
        return exact, base, proven, "cp-sat", proven_bound
    # At scale the only proof available is meeting the lower bound.
    return best, base, best.hosts <= bound, "heuristic", bound


def plan_zone(items: Items, cap: Cap, *, n_plus_one: bool = True, **kw: float) -> ZoneResult:
    t0 = time.monotonic()
    best, base, proven, solver, p0 = pack(items, cap, **kw)  # type: ignore[arg-type]
    notes: list[str] = []
    if len(items) == 0:
        return ZoneResult([], 0, 0, 0, solver, True, True, 0, time.monotonic() - t0)
    if not n_plus_one:
        return ZoneResult(best.bins, best.hosts, p0, p0, solver, proven, survives_loss(items, cap, best.bins),
                          base.hosts, time.monotonic() - t0)
    hosts = best.hosts + 1
    # Spreading matters operationally for a few hosts; at hundreds of hosts one host of slack spread
    # thin cannot absorb a failed host anyway, and trying costs seconds.
    spread_layout = spread(items, cap, hosts) if hosts <= SPREAD_MAX_HOSTS else None
    if spread_layout is not None and survives_loss(items, cap, spread_layout):
        layout, ok = spread_layout, True
        notes.append("spread")
    else:
        layout = [*best.bins, []]
        notes.append("packed+spare")
        ok = survives_loss(items, cap, layout)
    while not ok:  # cannot happen with an empty spare, but the check decides, not the argument above
        layout = [*layout, []]
        ok = survives_loss(items, cap, layout)
    return ZoneResult(layout, best.hosts, p0 + 1, p0, solver, proven and len(layout) == best.hosts + 1, ok,
                      base.hosts + 1, time.monotonic() - t0, notes)
