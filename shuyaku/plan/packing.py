"""Bin-packing building blocks: the items and host capacity, the packing bound, and the heuristics
(first-fit-decreasing, bin-centric, host elimination) that `placement` runs before CP-SAT.

The facts the bound rests on are stated in `shuyaku.plan.placement`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

EPS = 1e-9
EXACT_MAX_VMS = 200  # CP-SAT is tried up to this many VMs per zone (with a deterministic time limit)
# CP-SAT's deterministic time (about seconds on a current core, but counted in work, so results do not
# depend on the machine or its load).
CP_SAT_DETERMINISTIC_S = 3.0
SPREAD_MAX_HOSTS = 100
ITEM_CENTRIC_MAX_VMS = 5000
ELIMINATE_MAX_FAILURES = 200  # consecutive hosts that could not be emptied: the rest are fuller still
BIN_CENTRIC_MAX_WORK = 1e9  # VMs x distinct VM shapes; beyond it the bin-centric scan is too slow
SHAPE_GRID = 256


@dataclass
class Items:
    """VM demands of one zone, as parallel arrays (vectorised: 100,000 VMs must pack in seconds)."""

    ids: list[str]
    cpu: np.ndarray
    ram: np.ndarray
    disk: np.ndarray
    group: np.ndarray  # int: anti-affinity group number, -1 for none

    @classmethod
    def build(cls, ids: list[str], demands: list[tuple[float, float, float]], groups: list[str | None]) -> Items:
        numbers: dict[str, int] = {}
        g = np.array([-1 if x is None else numbers.setdefault(x, len(numbers)) for x in groups], dtype=np.int64)
        arr = np.array(demands, dtype=np.float64).reshape(-1, 3)
        return cls(list(ids), arr[:, 0].copy(), arr[:, 1].copy(), arr[:, 2].copy(), g)

    def __len__(self) -> int:
        return len(self.ids)


@dataclass(frozen=True)
class Cap:
    cpu: float
    ram: float
    disk: float


@dataclass
class Packing:
    bins: list[list[int]]  # item indices per host
    method: str

    @property
    def hosts(self) -> int:
        return len(self.bins)


@dataclass
class ZoneResult:
    bins: list[list[int]]  # final layout, including the N+1 host
    packing_hosts: int  # hosts before adding the N+1 host
    lower_bound: int  # including N+1 when n_plus_one was asked for
    packing_bound: int
    solver: str  # "cp-sat" or "heuristic"
    optimal: bool
    n_plus_one: bool
    ffd_hosts: int  # plain FFD + the same N+1 treatment, for comparison
    seconds: float
    notes: list[str] = field(default_factory=list)

    @property
    def hosts(self) -> int:
        return len(self.bins)

    @property
    def gap_pct(self) -> float:
        return 0.0 if self.lower_bound == 0 else round((self.hosts - self.lower_bound) / self.lower_bound * 100, 2)


def packing_bound(items: Items, cap: Cap) -> int:
    if len(items) == 0:
        return 0
    b = max(math.ceil(items.cpu.sum() / cap.cpu - EPS), math.ceil(items.ram.sum() / cap.ram - EPS),
            math.ceil(items.disk.sum() / cap.disk - EPS), 1)
    g = items.group[items.group >= 0]
    if g.size:
        b = max(b, int(np.bincount(g).max()))
    # VMs larger than 1/(m+1) of a host in one dimension: at most m of them share a host.
    for dem, c in ((items.cpu, cap.cpu), (items.ram, cap.ram), (items.disk, cap.disk)):
        for m in range(1, 9):
            b = max(b, math.ceil(int(np.count_nonzero(dem > c / (m + 1) + EPS)) / m))
    return b


def _check_fits(items: Items, cap: Cap) -> None:
    too_big = np.flatnonzero((items.cpu > cap.cpu + EPS) | (items.ram > cap.ram + EPS) | (items.disk > cap.disk + EPS))
    if too_big.size:
        raise ValueError(f"VM {items.ids[int(too_big[0])]} is larger than one host")


# --- orderings and greedy packers --------------------------------------------------------------------

def _norm(items: Items, cap: Cap) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return items.cpu / cap.cpu, items.ram / cap.ram, items.disk / cap.disk


def order(items: Items, cap: Cap, key: str) -> np.ndarray:
    """Item indices, largest first by `key`; ties by index so that the result is deterministic."""
    c, r, d = _norm(items, cap)
    idx = np.arange(len(items))
    if key == "dominant":
        primary, secondary = np.maximum(np.maximum(c, r), d), c + r + d
    elif key == "sum":
        primary, secondary = c + r + d, np.maximum(np.maximum(c, r), d)
    elif key == "l2":
        primary, secondary = c * c + r * r + d * d, c + r + d
    else:
        raise ValueError(key)
    # lexsort: last key is primary; negate for descending.
    return np.lexsort((idx, -secondary, -primary))


class _Bins:
    """Residual capacities of open hosts, grown on demand, with anti-affinity bookkeeping."""

    def __init__(self, cap: Cap, size: int):
        self.cap = cap
        n = max(size, 1)
        self.rc = np.empty(n)
        self.rr = np.empty(n)
        self.rd = np.empty(n)
        self.n = 0
        self.members: list[list[int]] = []
        self.group_bins: dict[int, list[int]] = {}

    def open(self) -> int:
        if self.n == self.rc.size:
            for name in ("rc", "rr", "rd"):
                old = getattr(self, name)
                new = np.empty(old.size * 2)
                new[: old.size] = old
                setattr(self, name, new)
        b = self.n
        self.rc[b], self.rr[b], self.rd[b] = self.cap.cpu, self.cap.ram, self.cap.disk
        self.members.append([])
        self.n += 1
        return b

    def feasible(self, c: float, r: float, d: float, g: int) -> np.ndarray:
        n = self.n
        ok = (self.rc[:n] >= c - EPS) & (self.rr[:n] >= r - EPS) & (self.rd[:n] >= d - EPS)
        if g >= 0 and g in self.group_bins:
            ok[self.group_bins[g]] = False
        return ok

    def put(self, b: int, i: int, c: float, r: float, d: float, g: int) -> None:
        self.rc[b] -= c
        self.rr[b] -= r
        self.rd[b] -= d
        self.members[b].append(i)
        if g >= 0:
            self.group_bins.setdefault(g, []).append(b)


def greedy(items: Items, cap: Cap, seq: np.ndarray, rule: str) -> Packing:
    """Pack items in the order `seq`. rule: first (first fit), best (tightest fit), dot (most aligned)."""
    bins = _Bins(cap, len(items) // 8 + 8)
    cpu, ram, disk, grp = items.cpu, items.ram, items.disk, items.group
    for i in seq.tolist():
        c, r, d, g = cpu[i], ram[i], disk[i], int(grp[i])
        ok = bins.feasible(c, r, d, g)
        if not ok.any():
            b = bins.open()
        elif rule == "first":
            b = int(ok.argmax())
        else:
            n = bins.n
            if rule == "best":
                # Least normalised room left after placing: fills hosts before opening others.
                score = (bins.rc[:n] - c) / cap.cpu + (bins.rr[:n] - r) / cap.ram + (bins.rd[:n] - d) / cap.disk
                score = np.where(ok, score, np.inf)
                b = int(score.argmin())
            else:
                # Dot product of demand and residual (Panigrahy et al.): prefer hosts whose spare room
                # matches the VM's shape, which keeps complementary VMs together.
                score = (c / cap.cpu) * (bins.rc[:n] / cap.cpu) + (r / cap.ram) * (bins.rr[:n] / cap.ram) \
                    + (d / cap.disk) * (bins.rd[:n] / cap.disk)
                score = np.where(ok, score, -np.inf)
                b = int(score.argmax())
        bins.put(b, i, c, r, d, g)
    return Packing(bins.members[: bins.n], f"{rule}-fit")


def bin_centric(items: Items, cap: Cap, score: str = "dot") -> Packing:
    """Fill one host at a time, each time adding the VM that best matches the host's remaining room.

    This is the bin-centric family of Panigrahy et al., "Heuristics for Vector Bin Packing" (2011),
    which beats item-centric FFD on multi-dimensional loads because it pairs RAM-heavy with disk-heavy
    VMs on purpose. Dimensions are weighted by their total demand so the scarce one counts most.
    VMs of equal shape are handled as one type, so each step scans types, not VMs.
    Anti-affinity only needs checking against the host being filled: earlier hosts are closed.
    """
    n = len(items)
    # VMs are grouped into shapes on a grid of 1/SHAPE_GRID of a host per dimension, so that arbitrary
    # legacy disk sizes do not make every VM its own shape. A shape's fit is tested with its largest
    # member in each dimension (conservative: never over capacity); room is charged exactly.
    grid = np.stack([np.ceil(items.cpu / cap.cpu * SHAPE_GRID - EPS), np.ceil(items.ram / cap.ram * SHAPE_GRID - EPS),
                     np.ceil(items.disk / cap.disk * SHAPE_GRID - EPS)], axis=1)
    _, inverse = np.unique(grid, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    n_types = int(inverse.max()) + 1 if n else 0
    rep = np.zeros((n_types, 3))
    np.maximum.at(rep, inverse, np.stack([items.cpu, items.ram, items.disk], axis=1))
    members: list[list[int]] = [[] for _ in range(n_types)]
    # Largest member first within a shape, index as the tie-break: deterministic.
    for i in np.lexsort((np.arange(n), -(items.cpu / cap.cpu + items.ram / cap.ram + items.disk / cap.disk))).tolist():
        members[int(inverse[i])].append(i)
    heads = [0] * n_types
    cnt = np.array([len(m) for m in members], dtype=np.int64)
    tc, tr, td = rep[:, 0] / cap.cpu, rep[:, 1] / cap.ram, rep[:, 2] / cap.disk
    ic, ir, idk = items.cpu / cap.cpu, items.ram / cap.ram, items.disk / cap.disk
    wc, wr, wd = (float(x.sum()) or 1.0 for x in (items.cpu / cap.cpu, items.ram / cap.ram, items.disk / cap.disk))
    grp = items.group.tolist()
    taken = [False] * n
    bins: list[list[int]] = []
    remaining = n
    while remaining:
        rc = rr = rd = 1.0
        excluded = np.zeros(n_types, dtype=bool)
        in_bin: set[int] = set()
        mine: list[int] = []
        while True:
            fit = (cnt > 0) & ~excluded & (tc <= rc + EPS) & (tr <= rr + EPS) & (td <= rd + EPS)
            if not fit.any():
                break
            if score == "dot":
                t = int(np.where(fit, wc * tc * rc + wr * tr * rr + wd * td * rd, -np.inf).argmax())
            else:  # "l2": leave the smallest weighted room behind
                left = wc * (rc - tc) ** 2 + wr * (rr - tr) ** 2 + wd * (rd - td) ** 2
                t = int(np.where(fit, left, np.inf).argmin())
            lst = members[t]
            pick = -1
            for k in range(heads[t], len(lst)):
                i = lst[k]
                if not taken[i] and (grp[i] < 0 or grp[i] not in in_bin):
                    pick = i
                    break
            if pick < 0:
                excluded[t] = True  # every VM of this shape left has a group partner on this host
                continue
            taken[pick] = True
            while heads[t] < len(lst) and taken[lst[heads[t]]]:
                heads[t] += 1
            cnt[t] -= 1
            remaining -= 1
            rc, rr, rd = rc - ic[pick], rr - ir[pick], rd - idk[pick]
            if grp[pick] >= 0:
                in_bin.add(grp[pick])
            mine.append(pick)
        bins.append(sorted(mine))
    return Packing(bins, f"bin-centric-{score}")


def ffd(items: Items, cap: Cap) -> Packing:
    """Plain first-fit-decreasing, the baseline: largest normalised dimension first, first host that fits."""
    p = greedy(items, cap, order(items, cap, "dominant"), "first")
    p.method = "ffd"
    return p


# --- local improvement -----------------------------------------------------------------------------

def eliminate_bins(items: Items, cap: Cap, packing: Packing, floor: int) -> Packing:
    """Try to empty the least-loaded hosts by moving their VMs into the others' spare room.

    A host is removed only when every one of its VMs finds room elsewhere (capacity and anti-affinity);
    otherwise the attempt is undone. Stops at `floor` hosts (the lower bound) or after
    ELIMINATE_MAX_FAILURES attempts in a row fail (a count, not a clock, so the result is the same on
    any machine).
    """
    bins = [list(b) for b in packing.bins]
    n = len(bins)
    c, r, d = items.cpu, items.ram, items.disk
    rc = np.array([cap.cpu - c[b].sum() for b in bins])
    rr = np.array([cap.ram - r[b].sum() for b in bins])
    rd = np.array([cap.disk - d[b].sum() for b in bins])
    where = np.empty(len(items), dtype=np.int64)
    for k, b in enumerate(bins):
        where[b] = k
    group_members: dict[int, list[int]] = {}
    for i, g in enumerate(items.group.tolist()):
        if g >= 0:
            group_members.setdefault(g, []).append(i)
    alive = np.ones(n, dtype=bool)
    load = (1 - rc / cap.cpu) + (1 - rr / cap.ram) + (1 - rd / cap.disk)
    candidates = [int(k) for k in np.lexsort((np.arange(n), load))]
    count = n
    failures = 0
    for k in candidates:
        if count <= floor or failures >= ELIMINATE_MAX_FAILURES:
            break
        alive[k] = False
        moved: list[tuple[int, int]] = []
        ok_all = True
        mine = sorted(bins[k], key=lambda i: (-max(c[i] / cap.cpu, r[i] / cap.ram, d[i] / cap.disk), i))
        for i in mine:
            ok = alive & (rc >= c[i] - EPS) & (rr >= r[i] - EPS) & (rd >= d[i] - EPS)
            g = int(items.group[i])
            if g >= 0:
                for j in group_members[g]:
                    if j != i:
                        ok[where[j]] = False
            if not ok.any():
                ok_all = False
                break
            # Tightest fit, so that big spaces stay available for the VMs still to move.
            score = np.where(ok, rc / cap.cpu + rr / cap.ram + rd / cap.disk, np.inf)
            t = int(score.argmin())
            rc[t] -= c[i]
            rr[t] -= r[i]
            rd[t] -= d[i]
            where[i] = t
            moved.append((i, t))
        if ok_all:
            for i, t in moved:
                bins[t].append(i)
            bins[k] = []
            rc[k] = rr[k] = rd[k] = -1.0  # never a target again
            count -= 1
            failures = 0
        else:
            for i, t in moved:
                rc[t] += c[i]
                rr[t] += r[i]
                rd[t] += d[i]
                where[i] = k
            alive[k] = True
            failures += 1
    kept = [sorted(b) for b in bins if b]
    return Packing(kept, packing.method + "+eliminate")


# --- exact packing with CP-SAT ---------------------------------------------------------------------
