"""What the platform costs now, priced with the plan's own catalogue and formulas, against the baseline and the goal.

now = the platform as allocated in the cloud (hosts in the site's layer aggregates, the DR site's standby hosts,
      volumes when the catalogue prices external storage, platform staff for those hosts and the migrated systems),
      priced by `shuyaku.plan.cost.platform_lines` / `dr_lines`, the VDI pools' hosts left out
    + what continues of each **migrated** system's old costs (`carryover`, as in the plan)
    + every system **not yet migrated** at its full old cost (it still runs on its own servers).

The DR site's backup and replication are counted for the migrated systems that have a DR tier, in proportion to
the plan's figures, once the DR site has standby hosts; an empty DR site costs nothing yet. Flavors in use are
shown as allocation (a host costs the same full or empty), not priced again.

The VDI pools' hosts sit in the same layer aggregates as the packed hosts (the site data lists both), but the plan
prices them once, in the thin-client line, outside the consolidation ratio (`shuyaku.plan.thin_client`). They are
told apart by the names the plan gives them (`shuyaku.plan.build.vdi_host_name`, the one place those names are
made), counted apart, and priced as the thin-client line prices hosts, beside the ratio and not in it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from shuyaku.audit.snapshot import Snapshot, site_projects
from shuyaku.contracts.catalogue import Catalogue
from shuyaku.contracts.inventory import Inventory
from shuyaku.contracts.plan import Plan
from shuyaku.contracts.status import Allocated, CostNow, SystemProgress
from shuyaku.contracts.vocabulary import LAYERS
from shuyaku.plan import cost as costmod
from shuyaku.plan import dr as drmod
from shuyaku.plan.build import vdi_host_name
from shuyaku.plan.thin_client import host_year


def is_vdi_host(name: str, site: str) -> bool:
    """Whether `name` is one of the site's VDI pool hosts, as the plan names them (any layer, any number)."""
    digits = len(name) - len(name.rstrip("0123456789"))
    return digits > 0 and any(name == vdi_host_name(site, layer, int(name[-digits:])) for layer in LAYERS)


def site_hosts(snap: Snapshot, site: str) -> tuple[int, int]:
    """Distinct compute hosts in the aggregates the platform made for `site` (metadata shuyaku_site): the platform's
    hosts and, apart, the VDI pools' hosts. A host in several aggregates is counted once."""
    hosts: set[str] = set()
    for agg in snap.aggregates:
        meta = getattr(agg, "metadata", None) or {}
        if meta.get("shuyaku_site") == site:
            hosts |= set(getattr(agg, "hosts", None) or [])
    vdi = {h for h in hosts if is_vdi_host(h, site)}
    return len(hosts - vdi), len(vdi)


def _flavor(server: Any, flavors: dict[str, Any]) -> tuple[str, int, float]:
    """(name, vCPUs, RAM GB) of a server's flavor: embedded (compute API 2.47+) or looked up by id."""
    f = getattr(server, "flavor", None)
    get = (lambda k: f.get(k)) if isinstance(f, dict) else (lambda k: getattr(f, k, None))
    name, vcpus, ram = get("original_name") or get("name"), get("vcpus"), get("ram")
    fid = str(get("id") or "")
    if vcpus is None and fid in flavors:
        known = flavors[fid]
        name, vcpus, ram = known.name, known.vcpus, known.ram
    return str(name or get("id") or "?"), int(vcpus or 0), float(ram or 0) / 1024


def allocated(snap: Snapshot, site: str) -> Allocated:
    pids = {p.id for p in site_projects(snap.projects, site).values()}
    by_id = {f.id: f for f in snap.flavors}
    names: Counter[str] = Counter()
    vcpus, ram = 0, 0.0
    active = [s for s in snap.servers if getattr(s, "project_id", None) in pids
              and (getattr(s, "status", "") or "").upper() == "ACTIVE"]
    for s in active:
        name, c, r = _flavor(s, by_id)
        names[name] += 1
        vcpus += c
        ram += r
    volume_gb = float(sum(getattr(v, "size", 0) or 0 for v in snap.volumes if getattr(v, "project_id", None) in pids))
    hosts, vdi = site_hosts(snap, site)
    return Allocated(hosts=hosts, vdi_hosts=vdi, standby_hosts=site_hosts(snap, "dr")[0] if site != "dr" else 0,
                     servers_active=len(active), vcpus=vcpus, ram_gb=round(ram, 1), volume_gb=volume_gb,
                     flavors=dict(sorted(names.items())))


def footprint(plan: Plan, cat: Catalogue, alloc: Allocated, migrated: Iterable[SystemProgress]) -> costmod.Footprint:
    done = list(migrated)
    ids = {p.system_id for p in done}
    with_dr = [t.system_id for t in plan.dr.tiers if t.tier != "none"]
    share = (sum(1 for s in with_dr if s in ids) / len(with_dr)) if with_dr else 0.0
    standby = alloc.standby_hosts
    return costmod.Footprint(
        hosts=alloc.hosts, storage_gb=alloc.volume_gb, standby_hosts=standby,
        backup_tb=round(plan.dr.backup_tb * share, 2) if standby else 0.0,
        replica_tb=round(plan.dr.replica_tb * share, 2) if standby else 0.0,
        migrated_servers=sum(p.active_servers for p in done), migrated_systems=len(done),
        dr_racks=drmod.racks(standby, cat) if standby else 0.0,
        network_lines=plan.dr.network_lines if standby else 0)


def vdi_yen(cat: Catalogue, vdi_hosts: int) -> int:
    """The VDI pools' hosts as the plan's thin-client line prices them: a host's year with its rack and power, and
    the platform staff's share of running them."""
    ops = cat.operations
    return round(vdi_hosts * (host_year(cat) + cat.rack_power_per_host_year.yen)
                 + vdi_hosts / ops.hosts_per_fte.value * ops.cost_per_fte.yen)


def cost_now(plan: Plan, inv: Inventory, cat: Catalogue, alloc: Allocated,
             progress: Iterable[SystemProgress]) -> CostNow:
    rows = list(progress)
    migrated_ids = {p.system_id for p in rows if p.migrated}
    migrated = [p for p in rows if p.migrated]
    fp = footprint(plan, cat, alloc, migrated)
    moved = inv.model_copy(update={"systems": [s for s in inv.systems if s.id in migrated_ids]})
    lines = costmod.platform_lines(cat, fp) + costmod.carried_lines(moved, cat) + costmod.dr_lines(cat, fp)
    waiting = sum(s.costs.total for s in inv.systems if s.id not in migrated_ids)
    now = sum(x.annual_yen for x in lines) + waiting
    base = plan.cost.baseline_annual_yen
    ratio = costmod.ratio(now, base)
    return CostNow(baseline_yen=base, plan_yen=plan.cost.consolidated_annual_yen, now_yen=now, ratio_pct=ratio,
                   plan_ratio_pct=plan.cost.ratio_pct, goal_pct=costmod.GOAL_RATIO_PCT,
                   goal_met=bool(base) and ratio <= costmod.GOAL_RATIO_PCT, not_migrated_yen=waiting,
                   migrated_systems=len(migrated), allocated=alloc, lines=lines,
                   vdi_yen=vdi_yen(cat, alloc.vdi_hosts), plan_vdi_hosts=plan.cost.thin_client.vdi_hosts)
