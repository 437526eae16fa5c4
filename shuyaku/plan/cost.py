"""The cost case: today's per-system spending against the consolidated platform, over N years.

Like for like: the baseline is every system in the inventory, and so is the platform (the standard
operations' share of the baseline is shown apart, because their move to the Government Cloud changes it
on the national schedule, not the city's). Thin clients and VDI are deliberately kept out of the
consolidation figure and costed on their own line (ThinClientCase): the reference case found they pay
off in security and maintenance rather than money, and mixing them in would hide that.

What happens to each baseline line is catalogue data (`carryover`): server hardware and its maintenance end,
operations shrink, application maintenance and licences continue. Where the inventory does not split a
system's 保守 into hardware and application parts, the catalogue's default share applies and the case counts
those systems. Platform staff, DR racks and inter-site lines scale with hosts and systems from catalogue
ratios; storage on the hosts is priced once, in the host price. Every line names its source and assumption,
and the ratio is given again under the catalogue's pessimistic and optimistic figures.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from shuyaku.contracts.catalogue import CASES, Assumed, Catalogue, scenario
from shuyaku.contracts.inventory import Inventory, System
from shuyaku.contracts.plan import CostCase, CostItem, CostLine, CostYear, Sensitivity
from shuyaku.plan.thin_client import host_year, thin_client_case

GOAL_RATIO_PCT = 50.0
GB_PER_TB = 1000.0

# Baseline items, in the order a reader meets them; `maintenance` is split into its two parts.
BASELINE_ITEMS: list[tuple[CostItem, str, str]] = [
    ("hardware", "サーバ機器（リース・償却）", "Server hardware (lease or amortisation)"),
    ("maintenance_hardware", "ハードウェア保守", "Hardware maintenance"),
    ("maintenance_application", "アプリケーション保守", "Application maintenance"),
    ("licences", "ライセンス", "Licences"),
    ("operations", "運用", "Operations"),
    ("facility", "設置・電力", "Facility, rack and power"),
]
ITEM_LABELS: dict[str, tuple[str, str]] = {str(k): (ja, en) for k, ja, en in BASELINE_ITEMS} | {
    "dr": ("事業継続（DRサイト）", "Business continuity (DR site)")}


@dataclass(frozen=True)
class Footprint:
    """What the plan decided, as far as money is concerned."""

    hosts: int  # onprem compute hosts, all zones, including N+1
    storage_gb: float  # volumes of every VM on the platform
    standby_hosts: int  # DR site
    backup_tb: float
    migrated_servers: int
    migrated_systems: int
    replica_tb: float = 0.0  # volumes replicated to the DR site
    dr_racks: float = 0.0
    network_lines: int = 1


def hardware_maintenance(s: System, cat: Catalogue) -> tuple[int, bool]:
    """The hardware part of a system's 保守, and whether it is the catalogue's default share (not the inventory's)."""
    if s.costs.maintenance_hardware is not None:
        return min(s.costs.maintenance_hardware, s.costs.maintenance), False
    return round(s.costs.maintenance * cat.carryover.hardware_maintenance_share.value), True


def baseline_items(inv: Inventory, cat: Catalogue) -> tuple[dict[str, int], int]:
    """Yen per baseline item, and how many systems' maintenance was split by the catalogue's default."""
    out: dict[str, int] = dict.fromkeys([str(k) for k, _, _ in BASELINE_ITEMS], 0)
    defaulted = 0
    for s in inv.systems:
        hw, by_default = hardware_maintenance(s, cat)
        defaulted += by_default
        out["hardware"] += s.costs.hardware
        out["maintenance_hardware"] += hw
        out["maintenance_application"] += s.costs.maintenance - hw
        out["licences"] += s.costs.licences
        out["operations"] += s.costs.operations
        out["facility"] += s.costs.facility
    return out, defaulted


def baseline_lines(inv: Inventory, cat: Catalogue) -> list[CostLine]:
    items, defaulted = baseline_items(inv, cat)
    share = cat.carryover.hardware_maintenance_share
    split = (f"inventory: systems[].costs.maintenance split by costs.maintenance_hardware "
             f"({len(inv.systems) - defaulted} systems) or the catalogue's default share ({defaulted} systems)")
    split_why = (f"台帳に内訳のない {defaulted} システムは保守の {share.value:.0%} をハードウェア保守とみなす（{share.source}）"
                 if defaulted else "台帳の内訳どおり / as the inventory splits it")
    out = []
    for key, ja, en in BASELINE_ITEMS:
        maint = key.startswith("maintenance")
        out.append(CostLine(key=key, item=key, label_ja=ja, label_en=en, annual_yen=items[key],
                            source=split if maint else f"inventory: systems[].costs.{key}",
                            assumption=split_why if maint else "台帳の年間費用 / the inventory's annual cost"))
    return out


def platform_fte(cat: Catalogue, hosts: int, systems: int) -> float:
    ops = cat.operations
    return round(ops.base_fte.value + hosts / ops.hosts_per_fte.value + systems / ops.systems_per_fte.value, 2)


def _src(name: str, a: Assumed) -> str:
    return f"catalogue: {name} = {a.value:g}"


def _line(key: str, item: CostItem, ja: str, en: str, yen: float, source: str, assumption: str) -> CostLine:
    return CostLine(key=key, item=item, label_ja=ja, label_en=en, annual_yen=round(yen), source=source,
                    assumption=assumption)


def platform_lines(cat: Catalogue, fp: Footprint) -> list[CostLine]:
    """The consolidated platform at the primary site: hosts, their upkeep, and the staff who run it."""
    h = cat.host
    fte = platform_fte(cat, fp.hosts + fp.standby_hosts, fp.migrated_systems)
    ops = cat.operations
    out = [
        _line("host_amortisation", "hardware", f"ホスト償却（{fp.hosts}台）", f"Host amortisation ({fp.hosts} hosts)",
              fp.hosts * h.price.yen / h.amortisation_years.value,
              "catalogue: host.price / host.amortisation_years",
              f"{h.price.source}; {h.amortisation_years.source}; VM用ディスク {h.disk_gb:,} GB/台は購入価格に含む"
              "（ストレージは二重計上しない）"),
        _line("host_maintenance", "maintenance_hardware", "ホスト保守", "Host maintenance",
              fp.hosts * h.price.yen * cat.maintenance_rate.value, _src("maintenance_rate", cat.maintenance_rate),
              cat.maintenance_rate.source),
        _line("hypervisor_support", "maintenance_hardware", "基盤ソフトウェア保守", "Platform software support",
              fp.hosts * cat.hypervisor_support_per_host_year.yen, "catalogue: hypervisor_support_per_host_year",
              cat.hypervisor_support_per_host_year.source),
        _line("rack_power", "facility", "ラック・電力", "Rack and power", fp.hosts * cat.rack_power_per_host_year.yen,
              "catalogue: rack_power_per_host_year", cat.rack_power_per_host_year.source),
        _line("platform_operations", "operations", f"基盤運用要員（{fte:g} 人）", f"Platform operations ({fte:g} FTE)",
              fte * ops.cost_per_fte.yen,
              f"catalogue: operations.base_fte {ops.base_fte.value:g} + {fp.hosts + fp.standby_hosts} hosts / "
              f"hosts_per_fte {ops.hosts_per_fte.value:g} + {fp.migrated_systems} systems / systems_per_fte "
              f"{ops.systems_per_fte.value:g}, x cost_per_fte",
              f"{ops.base_fte.source}; {ops.hosts_per_fte.source}; {ops.systems_per_fte.source}; {ops.cost_per_fte.source}"),
    ]
    if cat.storage_per_tb_year is not None:
        tb = fp.storage_gb / GB_PER_TB
        out.append(_line("storage", "hardware", f"外部共有ストレージ（{tb:.1f} TB）", f"External shared storage ({tb:.1f} TB)",
                         tb * cat.storage_per_tb_year.yen, "catalogue: storage_per_tb_year",
                         cat.storage_per_tb_year.source))
    return out


def dr_lines(cat: Catalogue, fp: Footprint) -> list[CostLine]:
    d = cat.dr_site
    return [
        _line("dr_hosts", "dr", f"DRサイト ホスト（{fp.standby_hosts}台）", f"DR site hosts ({fp.standby_hosts})",
              fp.standby_hosts * host_year(cat),
              "catalogue: host.price / amortisation + maintenance_rate + hypervisor_support_per_host_year",
              "ラック・電力はDRサイトのラック費に含む / rack and power are in the DR rack fee"),
        _line("dr_racks", "dr", f"DRサイト ラック（{fp.dr_racks:g}本）", f"DR site racks ({fp.dr_racks:g})",
              fp.dr_racks * d.rack_per_year.yen,
              f"standby hosts / catalogue: dr_site.hosts_per_rack {d.hosts_per_rack.value:g}, "
              f"rounded up to {d.rack_increment.value:g} rack, x rack_per_year",
              f"{d.hosts_per_rack.source}; {d.rack_per_year.source}"),
        _line("dr_network", "dr", f"DRサイト 回線（{fp.network_lines}回線）", f"DR site network ({fp.network_lines} lines)",
              fp.network_lines * d.network_per_year.yen,
              f"replication bandwidth / catalogue: dr_site.network_mbps {d.network_mbps.value:g}, x network_per_year",
              f"{d.network_mbps.source}; {d.daily_change_rate.source}; {d.network_per_year.source}"),
        _line("dr_replication", "dr", f"レプリケーション（{fp.replica_tb:g} TB）", f"Replication ({fp.replica_tb:g} TB)",
              fp.replica_tb * d.replication_per_tb_year.yen, "catalogue: dr_site.replication_per_tb_year",
              d.replication_per_tb_year.source),
        _line("dr_backup", "dr", f"バックアップ保管（{fp.backup_tb:g} TB）", f"Backup storage ({fp.backup_tb:g} TB)",
              fp.backup_tb * d.backup_per_tb_year.yen, "catalogue: dr_site.backup_per_tb_year",
              d.backup_per_tb_year.source),
    ]


def carried_lines(inv: Inventory, cat: Catalogue) -> list[CostLine]:
    """What continues of today's per-system costs (lines whose share is 0 have ended and are not listed)."""
    items, _ = baseline_items(inv, cat)
    out = []
    for key, ja, en in BASELINE_ITEMS:
        share: Assumed = getattr(cat.carryover, key)
        if share.value <= 0:
            continue
        out.append(_line(f"remaining_{key}", key, f"{ja}（継続分 {share.value:.0%}）", f"{en} (continuing, {share.value:.0%})",
                         items[key] * share.value, f"baseline {key} x {_src('carryover.' + key, share)}", share.source))
    return out


def consolidated_lines(inv: Inventory, cat: Catalogue, fp: Footprint) -> list[CostLine]:
    return platform_lines(cat, fp) + carried_lines(inv, cat) + dr_lines(cat, fp)


def migration_one_off(cat: Catalogue, fp: Footprint) -> int:
    return fp.migrated_servers * cat.migration.per_server.yen + fp.migrated_systems * cat.migration.per_system.yen


def ratio(consolidated: int, baseline: int) -> float:
    return round(consolidated / baseline * 100, 1) if baseline else 0.0


def sensitivity(inv: Inventory, cat: Catalogue, fp: Footprint, baseline: int) -> list[Sensitivity]:
    out = []
    for case in CASES:
        c = sum(x.annual_yen for x in consolidated_lines(inv, scenario(cat, case), fp))
        r = ratio(c, baseline)
        out.append(Sensitivity(case=case, consolidated_annual_yen=c, ratio_pct=r,
                               goal_met=bool(baseline) and r <= GOAL_RATIO_PCT))
    return out


def _years(b: int, c: int, one_off: int, years: int) -> tuple[list[CostYear], int | None]:
    by_year: list[CostYear] = []
    cb = cc = 0
    break_even: int | None = None
    for y in range(1, years + 1):
        cy = c + (one_off if y == 1 else 0)  # the one-off migration cost falls in year 1
        cb += b
        cc += cy
        by_year.append(CostYear(year=y, baseline_yen=b, consolidated_yen=cy,
                                cumulative_baseline_yen=cb, cumulative_consolidated_yen=cc))
        if break_even is None and cc <= cb:
            break_even = y
    return by_year, break_even


def cost_case(inv: Inventory, cat: Catalogue, fp: Footprint, years: int = 5) -> CostCase:
    base = baseline_lines(inv, cat)
    cons = consolidated_lines(inv, cat, fp)
    b = sum(x.annual_yen for x in base)
    c = sum(x.annual_yen for x in cons)
    one_off = migration_one_off(cat, fp)
    by_year, break_even = _years(b, c, one_off, years)
    r = ratio(c, b)
    return CostCase(
        years=years,
        baseline_annual_yen=b,
        consolidated_annual_yen=c,
        ratio_pct=r,
        reduction_pct=round(100 - r, 1) if b else 0.0,
        goal_met=bool(b) and r <= GOAL_RATIO_PCT,
        migration_one_off_yen=one_off,
        break_even_year=break_even,
        baseline_lines=base,
        consolidated_lines=cons,
        by_year=by_year,
        thin_client=thin_client_case(inv, cat),
        standard_ops_annual_yen=sum(s.costs.total for s in inv.systems if s.standard_op),
        gap_to_goal_yen=c - math.floor(b * GOAL_RATIO_PCT / 100),
        maintenance_split_defaulted=baseline_items(inv, cat)[1],
        platform_fte=platform_fte(cat, fp.hosts + fp.standby_hosts, fp.migrated_systems),
        sensitivity=sensitivity(inv, cat, fp, b),
    )
