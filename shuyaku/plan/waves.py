"""Migration waves: what moves when.

Order: the system whose support runs out first moves first. A system's deadline is the earlier of its
oldest OS's end of vendor support (shuyaku/inventory/os_lifecycle.yaml) and its oldest hardware's end
of life (purchase year + the catalogue's hardware life).

Links: systems that exchange data move in the same wave or in adjacent waves, so that a link is never
stretched across the old and new environments for longer than one wave. Linked systems form
connected components (union-find). A component that fits in one wave moves whole; a larger one is
split along its links: breadth-first levels from its most urgent system, so every link joins the same
or neighbouring levels, and consecutive levels are merged up to the wave size. Blocks of a component
go into consecutive waves. A single level larger than the wave size stays one (oversized) wave, and its
reason says so: splitting it would stretch a link over two waves.

Dates: one wave a quarter, the first in the quarter after the platform is procured and built
(BUILD_QUARTERS after the start of the inventory's fiscal year), so each wave says the fiscal quarter it
moves in and whether that beats the earliest end of life among its systems.

The 20 standard operations are not in waves: they move to the Government Cloud on the national
schedule and are reported apart.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import date, timedelta

from shuyaku.contracts.i18n import t
from shuyaku.contracts.inventory import Inventory, System
from shuyaku.contracts.plan import Wave
from shuyaku.contracts.vocabulary import os_label
from shuyaku.inventory.load import os_lifecycle

MAX_WAVE_SYSTEMS = 8
BUILD_QUARTERS = 2  # procurement and build of the platform before the first wave (stated in the report)


@dataclass(frozen=True)
class Deadline:
    when: date
    what_ja: str
    what_en: str


def deadline(system: System, hardware_life_years: int) -> Deadline:
    life = os_lifecycle()
    found: list[Deadline] = []
    for s in system.servers:
        eol = life.get(s.os, {}).get(s.os_version)
        label = os_label(s.os, s.os_version)
        if eol is not None:
            found.append(Deadline(eol, f"{label} サポート終了", f"{label} end of support"))
        hw = date(s.purchase_year + hardware_life_years, 3, 31)  # end of the fiscal year it reaches its life
        found.append(Deadline(hw, f"{s.purchase_year}年度購入ハードウェアの更新期限",
                              f"hardware bought in FY{s.purchase_year} reaches end of life"))
    return min(found, key=lambda d: (d.when, d.what_en))


class _UnionFind:
    def __init__(self, keys: list[str]):
        self.parent = {k: k for k in keys}

    def find(self, k: str) -> str:
        while self.parent[k] != k:
            self.parent[k] = self.parent[self.parent[k]]
            k = self.parent[k]
        return k

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            # Smaller id as the root keeps the result independent of link order.
            lo, hi = sorted((ra, rb))
            self.parent[hi] = lo


def _levels(root: str, members: list[str], adj: dict[str, set[str]], rank: dict[str, tuple]) -> list[list[str]]:
    """Breadth-first levels from `root`: every link joins the same or neighbouring levels."""
    level = {root: 0}
    queue = deque([root])
    while queue:
        u = queue.popleft()
        for v in sorted(adj[u], key=lambda s: rank[s]):
            if v not in level:
                level[v] = level[u] + 1
                queue.append(v)
    levels: list[list[str]] = [[] for _ in range(max(level.values()) + 1)]
    for s in sorted(members, key=lambda s: rank[s]):
        levels[level[s]].append(s)
    return levels


def _blocks(members: list[str], adj: dict[str, set[str]], rank: dict[str, tuple], max_size: int) -> list[list[str]]:
    most_urgent = min(members, key=lambda s: rank[s])
    levels = _levels(most_urgent, members, adj, rank)
    if max(len(lv) for lv in levels) > max_size:
        # Wide levels make oversized waves. Starting from a far end of the group instead (a pseudo-
        # peripheral system, as Cuthill-McKee does for matrix bandwidth) gives more, narrower levels;
        # the order is then turned so that the end holding the most urgent system moves first.
        far = levels[-1][0]
        alt = _levels(far, members, adj, rank)
        if max(len(lv) for lv in alt) < max(len(lv) for lv in levels):
            at = next(k for k, lv in enumerate(alt) if most_urgent in lv)
            levels = alt if at <= len(alt) - 1 - at else alt[::-1]
    blocks: list[list[str]] = []
    for lv in levels:
        if blocks and len(blocks[-1]) + len(lv) <= max_size:
            blocks[-1].extend(lv)
        else:
            blocks.append(list(lv))
    return blocks


def plan_waves(inv: Inventory, hardware_life_years: int, max_size: int = MAX_WAVE_SYSTEMS) -> tuple[list[Wave], list[str]]:
    """Returns (waves, government_cloud system ids)."""
    gov = [s.id for s in inv.systems if s.standard_op]
    movers = [s for s in inv.systems if not s.standard_op]
    ids = {s.id for s in movers}
    dl = {s.id: deadline(s, hardware_life_years) for s in movers}
    rank = {sid: (d.when, sid) for sid, d in dl.items()}
    adj: dict[str, set[str]] = {s.id: set() for s in movers}
    uf = _UnionFind(sorted(ids))
    for s in movers:
        for link in s.links:
            if link.target in ids and link.target != s.id:
                adj[s.id].add(link.target)
                adj[link.target].add(s.id)
                uf.union(s.id, link.target)
    comps: dict[str, list[str]] = {}
    for sid in sorted(ids):
        comps.setdefault(uf.find(sid), []).append(sid)
    ordered = sorted(comps.values(), key=lambda m: min(rank[s] for s in m))
    slots: list[list[str]] = []
    first_open = 0  # waves before it are full, and stay full: the search starts here
    comp_of: dict[str, list[str]] = {}
    for members in ordered:
        for sid in members:
            comp_of[sid] = members
        blocks = _blocks(members, adj, rank, max_size)
        start = first_open
        while not all(start + j >= len(slots) or not slots[start + j]
                      or len(slots[start + j]) + len(b) <= max_size for j, b in enumerate(blocks)):
            start += 1
        for j, b in enumerate(blocks):
            while len(slots) <= start + j:
                slots.append([])
            slots[start + j].extend(b)
        while first_open < len(slots) and len(slots[first_open]) >= max_size:
            first_open += 1
    fy_start = date(inv.municipality.fiscal_year, 4, 1)
    waves = []
    for n, members in enumerate(slots, start=1):
        members.sort(key=lambda s: rank[s])
        first = dl[members[0]]
        fy, q, starts, ends = quarter(inv.municipality.fiscal_year, BUILD_QUARTERS + n - 1)
        waves.append(Wave(number=n, systems=members, reason=_reason(members, dl, comp_of, fy_start, max_size),
                          fiscal_year=fy, quarter=q, starts=starts, ends=ends, deadline=first.when,
                          deadline_ja=f"{members[0]} の{first.what_ja}", deadline_en=f"{members[0]}: {first.what_en}",
                          beats_deadline=ends < first.when,
                          past_deadline=[sid for sid in members if dl[sid].when < fy_start],
                          after_deadline=[sid for sid in members if fy_start <= dl[sid].when <= ends]))
    return waves, gov


def quarter(fiscal_year: int, offset: int) -> tuple[int, int, date, date]:
    """The fiscal quarter `offset` quarters after the start of `fiscal_year`: (fiscal year, 1-4, first day, last day)."""
    fy, q = fiscal_year + offset // 4, offset % 4 + 1
    month = 4 + 3 * (q - 1)
    year = fy + (month - 1) // 12
    month = (month - 1) % 12 + 1
    starts = date(year, month, 1)
    end_month = month + 3
    ends = date(year + (end_month - 1) // 12, (end_month - 1) % 12 + 1, 1) - timedelta(days=1)
    return fy, q, starts, ends


def _reason(members: list[str], dl: dict[str, Deadline], comp_of: dict[str, list[str]], fy_start: date,
            max_size: int) -> str:
    first = dl[members[0]]
    expired = [s for s in members if dl[s].when < fy_start]
    if expired:
        urgency = t(f"期限切れ {len(expired)} 件（最も古い: {members[0]} の{first.what_ja}, {first.when}）",
                    f"{len(expired)} past their deadline (oldest: {members[0]}, {first.what_en}, {first.when})")
    else:
        urgency = t(f"最も早い期限: {members[0]} の{first.what_ja}（{first.when}）",
                    f"earliest deadline: {members[0]}, {first.what_en} ({first.when})")
    linked: dict[int, list[str]] = {}
    for s in members:
        if len(comp_of[s]) > 1:
            linked.setdefault(id(comp_of[s]), comp_of[s])  # one entry per component, not per member
    parts = [urgency]
    inside = set(members)
    for comp in sorted(linked.values()):
        here = [s for s in comp if s in inside]
        if len(here) == len(comp):
            parts.append(t(f"連携する {_ids(comp)} を同時に移行", f"linked systems {_ids(comp)} move together"))
        else:
            parts.append(t(f"{_ids(here)} は連携グループ（{len(comp)} 件）の一部で、連携先とは同一または隣接ウェーブで移行",
                           f"{_ids(here)} belong to a linked group of {len(comp)} systems that moves over consecutive "
                           "waves, each link within one wave or two adjacent ones"))
    if len(members) > max_size:
        parts.append(t(f"連携を隣接ウェーブに保つため上限 {max_size} 件を超過",
                       f"exceeds {max_size} systems to keep every link within adjacent waves"))
    return "; ".join(parts)


def _ids(ids: list[str] | tuple[str, ...], most: int = 8) -> str:
    return ", ".join(ids[:most]) + (f" …(+{len(ids) - most})" if len(ids) > most else "")
