"""The cost case: today's per-system spending against the consolidated platform, over N years.

Like for like: the baseline is every system in the inventory, and so is the platform (the standard
operations' share of the baseline is shown apart, because their move to the Government Cloud changes it
on the national schedule, not the city's). Thin clients and VDI are deliberately kept out of the
consolidation figure and costed on their own line (ThinClientCase): the reference case found they pay
off in security and maintenance rather than money, and mixing them in would hide that.

Every line names the catalogue entry (or inventory field) it comes from.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from shuyaku.contracts.catalogue import Catalogue
from shuyaku.contracts.inventory import Inventory
from shuyaku.contracts.plan import CostCase, CostLine, CostYear, ThinClientCase

BASELINE_KEYS = [
    ("hardware", "ハードウェア（リース・償却）", "Hardware (lease or amortisation)"),
    ("maintenance", "保守", "Maintenance"),
    ("licences", "ライセンス", "Licences"),
    ("operations", "運用", "Operations"),
    ("facility", "設置・電力", "Facility, rack and power"),
]
GB_PER_TB = 1000.0


@dataclass(frozen=True)
class Footprint:
    """What the plan decided, as far as money is concerned."""

    hosts: int  # onprem compute hosts, all zones, including N+1
    storage_gb: float  # volumes of every VM on the platform
    standby_hosts: int  # DR site
    backup_tb: float
    migrated_servers: int
    migrated_systems: int


def host_year(cat: Catalogue) -> int:
    """One host's yearly cost: amortisation + maintenance + hypervisor support (rack/power is separate)."""
    h = cat.host
    return round(h.price.yen / h.amortisation_years.value + h.price.yen * cat.maintenance_rate.value
                 + cat.hypervisor_support_per_host_year.yen)


def baseline_lines(inv: Inventory) -> list[CostLine]:
    return [CostLine(key=k, label_ja=ja, label_en=en, annual_yen=sum(getattr(s.costs, k) for s in inv.systems),
                     source=f"inventory: systems[].costs.{k}") for k, ja, en in BASELINE_KEYS]


def consolidated_lines(inv: Inventory, cat: Catalogue, fp: Footprint) -> list[CostLine]:
    h = cat.host
    base = {line.key: line.annual_yen for line in baseline_lines(inv)}
    amort = h.price.yen / h.amortisation_years.value
    ops = cat.operations
    tb = fp.storage_gb / GB_PER_TB

    def line(key: str, ja: str, en: str, yen: float, source: str) -> CostLine:
        return CostLine(key=key, label_ja=ja, label_en=en, annual_yen=round(yen), source=source)

    return [
        line("host_amortisation", f"ホスト償却（{fp.hosts}台）", f"Host amortisation ({fp.hosts} hosts)",
             fp.hosts * amort,
             f"catalogue: host.price ({h.price.source}) / host.amortisation_years ({h.amortisation_years.source})"),
        line("host_maintenance", "ホスト保守", "Host maintenance", fp.hosts * h.price.yen * cat.maintenance_rate.value,
             f"catalogue: maintenance_rate ({cat.maintenance_rate.source})"),
        line("rack_power", "ラック・電力", "Rack and power", fp.hosts * cat.rack_power_per_host_year.yen,
             f"catalogue: rack_power_per_host_year ({cat.rack_power_per_host_year.source})"),
        line("hypervisor_support", "基盤ソフトウェア保守", "Hypervisor / platform software support",
             fp.hosts * cat.hypervisor_support_per_host_year.yen,
             f"catalogue: hypervisor_support_per_host_year ({cat.hypervisor_support_per_host_year.source})"),
        line("storage", f"共有ストレージ（{tb:.1f} TB）", f"Shared storage ({tb:.1f} TB)", tb * cat.storage_per_tb_year.yen,
             f"catalogue: storage_per_tb_year ({cat.storage_per_tb_year.source})"),
        line("platform_operations", f"基盤運用要員（{ops.staff_fte.value:g} 人）",
             f"Platform operations ({ops.staff_fte.value:g} FTE)",
             ops.staff_fte.value * ops.cost_per_fte.yen,
             f"catalogue: operations.staff_fte ({ops.staff_fte.source}) x cost_per_fte ({ops.cost_per_fte.source})"),
        line("dr_hosts", f"DRサイト ホスト（{fp.standby_hosts}台）", f"DR site hosts ({fp.standby_hosts})",
             fp.standby_hosts * host_year(cat),
             "catalogue: host.price / amortisation + maintenance_rate + hypervisor_support_per_host_year "
             "(rack and power are in the DR facility fee)"),
        line("dr_facility", "DRサイト 施設利用料", "DR site facility", cat.dr_site.facility_per_year.yen,
             f"catalogue: dr_site.facility_per_year ({cat.dr_site.facility_per_year.source})"),
        line("dr_network", "DRサイト 回線", "DR site network", cat.dr_site.network_per_year.yen,
             f"catalogue: dr_site.network_per_year ({cat.dr_site.network_per_year.source})"),
        line("dr_backup", f"バックアップ保管（{fp.backup_tb:g} TB）", f"Backup storage ({fp.backup_tb:g} TB)",
             fp.backup_tb * cat.dr_site.backup_per_tb_year.yen,
             f"catalogue: dr_site.backup_per_tb_year ({cat.dr_site.backup_per_tb_year.source})"),
        line("licences", "業務アプリケーションのライセンス（残存分）", "Application licences (remaining)",
             base["licences"] * ops.licence_factor.value,
             f"inventory licences x catalogue: operations.licence_factor {ops.licence_factor.value:g} "
             f"({ops.licence_factor.source})"),
        line("app_operations", "業務システム運用（残存分）", "Application operations (remaining)",
             base["operations"] * ops.app_operations_factor.value,
             f"inventory operations x catalogue: operations.app_operations_factor {ops.app_operations_factor.value:g} "
             f"({ops.app_operations_factor.source})"),
    ]


def thin_client_case(inv: Inventory, cat: Catalogue) -> ThinClientCase:
    v = cat.vdi
    terminals = sum(x.count for x in inv.terminals)
    vdi_hosts = vdi_hosts_for(terminals, cat)
    pc = terminals * (v.pc_price.yen / v.pc_life_years.value + v.pc_support_per_year.yen)
    thin = (terminals * (v.thin_client_price.yen / v.thin_client_life_years.value + v.thin_client_support_per_year.yen)
            + vdi_hosts * (host_year(cat) + cat.rack_power_per_host_year.yen)
            + terminals * v.vdi_licence_per_user_year.yen)
    return ThinClientCase(
        terminals=terminals,
        pc_annual_yen=round(pc),
        thin_client_annual_yen=round(thin),
        difference_yen=round(thin) - round(pc),
        security_benefits_ja=[
            "端末にデータが残らない（紛失・盗難時の情報漏えいを防ぐ）",
            "クリップボード・USB・プリンタのリダイレクトを中央で一括制御",
            "画面転送のみで系間を分離（データそのものは系をまたがない）",
        ],
        security_benefits_en=[
            "No data stays on the terminal (a lost or stolen device leaks nothing)",
            "Clipboard, USB and printer redirection controlled centrally, for every desk at once",
            "Layers separated by screen transfer only (the data itself never crosses a layer)",
        ],
        maintenance_benefits_ja=[
            "パッチ・ソフトウェア更新はVDIイメージに一度適用するだけ",
            "端末故障時は交換するだけで、設定・データの移行が不要",
            f"端末の更新周期が {v.thin_client_life_years.value:g} 年と長い（PCは {v.pc_life_years.value:g} 年）",
        ],
        maintenance_benefits_en=[
            "Patches and software updates applied once, to the VDI image",
            "A broken terminal is simply swapped: no settings or data to move",
            f"Terminals last {v.thin_client_life_years.value:g} years (PCs {v.pc_life_years.value:g})",
        ],
    )


def vdi_hosts_for(users: int, cat: Catalogue) -> int:
    """Hosts for `users` concurrent desktops, plus one so that losing a host loses no desktops."""
    return 0 if users <= 0 else math.ceil(users / cat.vdi.users_per_host.value) + 1


def migration_one_off(cat: Catalogue, fp: Footprint) -> int:
    return fp.migrated_servers * cat.migration.per_server.yen + fp.migrated_systems * cat.migration.per_system.yen


def cost_case(inv: Inventory, cat: Catalogue, fp: Footprint, years: int = 5) -> CostCase:
    base = baseline_lines(inv)
    cons = consolidated_lines(inv, cat, fp)
    b = sum(x.annual_yen for x in base)
    c = sum(x.annual_yen for x in cons)
    one_off = migration_one_off(cat, fp)
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
    ratio = round(c / b * 100, 1) if b else 0.0
    return CostCase(
        years=years,
        baseline_annual_yen=b,
        consolidated_annual_yen=c,
        ratio_pct=ratio,
        reduction_pct=round(100 - ratio, 1) if b else 0.0,
        goal_met=bool(b) and ratio <= 50.0,
        migration_one_off_yen=one_off,
        break_even_year=break_even,
        baseline_lines=base,
        consolidated_lines=cons,
        by_year=by_year,
        thin_client=thin_client_case(inv, cat),
        standard_ops_annual_yen=sum(s.costs.total for s in inv.systems if s.standard_op),
    )
