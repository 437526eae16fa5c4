"""Business continuity: a DR tier per system from both its RPO and its RTO, and the size of the DR site (庁外クラウド).

What each tier can promise is catalogue data (`dr_site.tiers`), so an auditor checks the figures, not the code:

* warm standby — VMs already running at the DR site, volumes replicated asynchronously: minutes of data, hours to
  switch over.
* replica — volumes replicated asynchronously (or database logs shipped) to the DR site, VMs started there only
  after a disaster: minutes of data, about a day to bring the system up.
* backup-restore — the nightly off-site copy restored at the DR site: up to a day of data, days to restore.
* none — rebuilt from install media and paper records.

A system gets the cheapest tier that meets both its RPO and its RTO. When no tier does (an RPO of zero needs
synchronous replication, which the platform does not offer), it gets the best tier and the plan says what that
tier misses and by how much; nothing is dropped silently.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from shuyaku.contracts.catalogue import Catalogue, DrTierSpec
from shuyaku.contracts.i18n import t
from shuyaku.contracts.inventory import Inventory, System
from shuyaku.contracts.plan import DrSitePlan, DrTier, Sizing

# Cheapest first: a system takes the first tier that meets both its objectives.
ORDER = ("none", "backup", "replica", "warm")
NAMES = {"warm": ("ウォームスタンバイ", "warm standby"), "replica": ("レプリケーション", "replication"),
         "backup": ("バックアップ・リストア", "backup and restore"), "none": ("対策なし（再構築）", "none (rebuild)")}
# The catalogue prices backup per TB after deduplication, so one full copy of each protected system's
# disks is what is stored; generations are assumed to deduplicate into it.
GB_PER_TB = 1000.0
SECONDS_PER_DAY = 86_400


def _spec(cat: Catalogue, tier: str) -> DrTierSpec:
    spec: DrTierSpec = getattr(cat.dr_site.tiers, tier)
    return spec


def tier_of(system: System, cat: Catalogue) -> DrTier:
    rpo, rto = system.rpo_hours, system.rto_hours
    chosen = next((tier for tier in ORDER if _meets(_spec(cat, tier), rpo, rto)), "warm")
    spec = _spec(cat, chosen)
    rpo_short = round(max(0.0, spec.rpo_hours - rpo), 2)
    rto_short = round(max(0.0, spec.rto_hours - rto), 2)
    ja, en = NAMES[chosen]
    if not rpo_short and not rto_short:
        reason = t(f"RPO {rpo:g}時間・RTO {rto:g}時間を満たす最も安価な方式: {ja}"
                   f"（RPO {spec.rpo_hours:g}時間・RTO {spec.rto_hours:g}時間）",
                   f"the cheapest tier meeting RPO {rpo:g} h and RTO {rto:g} h: {en} "
                   f"(RPO {spec.rpo_hours:g} h, RTO {spec.rto_hours:g} h)")
    else:
        misses_ja = "・".join(x for x in (f"RPO を {rpo_short:g}時間" if rpo_short else "",
                                          f"RTO を {rto_short:g}時間" if rto_short else "") if x)
        misses_en = " and ".join(x for x in (f"RPO by {rpo_short:g} h" if rpo_short else "",
                                             f"RTO by {rto_short:g} h" if rto_short else "") if x)
        reason = t(f"どの方式も RPO {rpo:g}時間・RTO {rto:g}時間を満たしません。最上位の{ja}でも{misses_ja}超過"
                   "（同期レプリケーションは対象外）",
                   f"no tier meets RPO {rpo:g} h and RTO {rto:g} h; even {en} misses the {misses_en} "
                   "(synchronous replication is not offered)")
    return DrTier(system_id=system.id, tier=chosen, reason=reason, rpo_hours=rpo, rto_hours=rto,  # type: ignore[arg-type]
                  tier_rpo_hours=spec.rpo_hours, tier_rto_hours=spec.rto_hours,
                  rpo_short_hours=rpo_short, rto_short_hours=rto_short)


def _meets(spec: DrTierSpec, rpo: float, rto: float) -> bool:
    return spec.rpo_hours <= rpo and spec.rto_hours <= rto


@dataclass
class DrInputs:
    tiers: list[DrTier]
    warm_vms: list[Sizing]
    backup_tb: float
    replica_tb: float
    replication_mbps: float


def _tb(gb: float) -> float:
    return round(math.ceil(gb / GB_PER_TB * 10) / 10, 1)


def assess(inv: Inventory, sizing: list[Sizing], cat: Catalogue) -> DrInputs:
    tiers = [tier_of(s, cat) for s in inv.systems]
    by_id = {x.system_id: x.tier for x in tiers}
    warm = [v for v in sizing if by_id.get(v.system_id) == "warm"]
    backup_gb = sum(v.after.disk_gb for v in sizing if by_id.get(v.system_id) in ("warm", "replica", "backup"))
    replica_gb = sum(v.after.disk_gb for v in sizing if by_id.get(v.system_id) in ("warm", "replica"))
    replica_tb = _tb(replica_gb)
    # What asynchronous replication must carry: each day's changed blocks, spread over the day.
    mbps = replica_tb * 1e12 * cat.dr_site.daily_change_rate.value * 8 / SECONDS_PER_DAY / 1e6
    return DrInputs(tiers, warm, _tb(backup_gb), replica_tb, round(mbps, 1))


def network_lines(mbps: float, cat: Catalogue) -> int:
    """Inter-site lines: one at least (backups travel too), more when replication needs the bandwidth."""
    return max(1, math.ceil(mbps / cat.dr_site.network_mbps.value))


def racks(hosts: int, cat: Catalogue) -> float:
    """DR racks for the standby hosts, rounded up to the share of a rack the site rents."""
    if hosts <= 0:
        return 0.0
    step = min(1.0, cat.dr_site.rack_increment.value)
    return round(math.ceil(hosts / cat.dr_site.hosts_per_rack.value / step - 1e-9) * step, 4)


def site_plan(inputs: DrInputs, standby_hosts: int, cat: Catalogue) -> DrSitePlan:
    return DrSitePlan(tiers=inputs.tiers, standby_hosts=standby_hosts, backup_tb=inputs.backup_tb,
                      replica_tb=inputs.replica_tb, replication_mbps=inputs.replication_mbps,
                      network_lines=network_lines(inputs.replication_mbps, cat), racks=racks(standby_hosts, cat),
                      misses=sum(1 for x in inputs.tiers if x.rpo_short_hours or x.rto_short_hours))
