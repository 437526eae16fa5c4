"""Business continuity: a DR tier per system from its RPO/RTO, and the size of the DR site (庁外クラウド).

Thresholds (stated so that an auditor can check every tier):
* warm standby  — RTO <= 24 h. Restoring from backup onto new capacity takes about a day for a system
  of a few servers (restore, re-address, test), so anything that must be back sooner needs VMs already
  running at the DR site with data replicated.
* backup-restore — RTO <= 168 h (a week) or RPO <= 24 h: the system must come back, or lose at most a
  day of data, but a day or more to restore is acceptable; a nightly off-site backup meets that.
* none — everything else: rebuilt from install media and paper records after a disaster.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from shuyaku.contracts.i18n import t
from shuyaku.contracts.inventory import Inventory, System
from shuyaku.contracts.plan import DrSitePlan, DrTier, Sizing

WARM_MAX_RTO_H = 24.0
BACKUP_MAX_RTO_H = 168.0
BACKUP_MAX_RPO_H = 24.0
# The catalogue prices backup per TB after deduplication, so one full copy of each protected system's
# disks is what is stored; generations are assumed to deduplicate into it.
GB_PER_TB = 1000.0


def tier_of(system: System) -> DrTier:
    rto, rpo = system.rto_hours, system.rpo_hours
    if rto <= WARM_MAX_RTO_H:
        return DrTier(system_id=system.id, tier="warm",
                      reason=t(f"RTO {rto:g}時間 ≦ {WARM_MAX_RTO_H:g}時間: バックアップからの復元では間に合わないため、"
                               "DRサイトに待機系を常時用意",
                               f"RTO {rto:g} h <= {WARM_MAX_RTO_H:g} h: restoring from backup would be too slow, "
                               "so standby VMs run at the DR site"))
    if rto <= BACKUP_MAX_RTO_H or rpo <= BACKUP_MAX_RPO_H:
        by_rto = rto <= BACKUP_MAX_RTO_H
        why_ja = f"RTO {rto:g}時間 ≦ {BACKUP_MAX_RTO_H:g}時間" if by_rto else f"RPO {rpo:g}時間 ≦ {BACKUP_MAX_RPO_H:g}時間"
        why_en = f"RTO {rto:g} h <= {BACKUP_MAX_RTO_H:g} h" if by_rto else f"RPO {rpo:g} h <= {BACKUP_MAX_RPO_H:g} h"
        return DrTier(system_id=system.id, tier="backup",
                      reason=t(f"{why_ja}: 日次の庁外バックアップから復元",
                               f"{why_en}: restored from the nightly off-site backup"))
    return DrTier(system_id=system.id, tier="none",
                  reason=t(f"RTO {rto:g}時間・RPO {rpo:g}時間: 災害時は再構築で対応",
                           f"RTO {rto:g} h, RPO {rpo:g} h: rebuilt after a disaster"))


@dataclass
class DrInputs:
    tiers: list[DrTier]
    warm_vms: list[Sizing]
    backup_tb: float


def assess(inv: Inventory, sizing: list[Sizing]) -> DrInputs:
    tiers = [tier_of(s) for s in inv.systems]
    by_id = {x.system_id: x.tier for x in tiers}
    warm = [v for v in sizing if by_id.get(v.system_id) == "warm"]
    protected_gb = sum(v.after.disk_gb for v in sizing if by_id.get(v.system_id) in ("warm", "backup"))
    return DrInputs(tiers, warm, round(math.ceil(protected_gb / GB_PER_TB * 10) / 10, 1))


def site_plan(inputs: DrInputs, standby_hosts: int) -> DrSitePlan:
    return DrSitePlan(tiers=inputs.tiers, standby_hosts=standby_hosts, backup_tb=inputs.backup_tb)
