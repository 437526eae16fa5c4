"""plan.json: what `shuyaku plan` decides. Its JSON Schema is `shuyaku schema plan` (docs/plan-schema.json).

The report, the per-site platform data and the benchmarks all read this one model.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shuyaku.contracts.vocabulary import Layer


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Resources(Strict):
    vcpu: float
    ram_gb: float
    disk_gb: float


class Sizing(Strict):
    """One legacy server (one of `count`) right-sized into a VM."""

    system_id: str
    role: str
    index: int = Field(ge=0, description="which of the role's `count` servers")
    layer: Layer
    before: Resources
    after: Resources
    basis: Literal["utilisation", "spec"]
    flavor: str
    anti_affinity_group: str | None = Field(
        description="servers sharing a group must sit on distinct hosts (redundant servers of one system)"
    )


class HostLoad(Strict):
    name: str
    layer: Layer
    used: Resources
    capacity: Resources = Field(description="effective capacity after overcommit and hypervisor reserve")
    vms: list[str] = Field(description="VM ids: <system>/<role>/<index>")


class ZonePlan(Strict):
    layer: Layer
    vms: int
    hosts: int = Field(description="hosts including the N+1 spare capacity")
    lower_bound: int = Field(description="no placement can use fewer hosts (including N+1)")
    gap_pct: float = Field(description="(hosts - lower_bound) / lower_bound * 100")
    solver: Literal["cp-sat", "heuristic"]
    optimal: bool
    n_plus_one: bool = Field(description="losing any one host still fits (checked by removing each in turn)")
    vms_per_host: float
    utilisation_pct: Resources
    host_loads: list[HostLoad]
    vdi_hosts: int = Field(default=0, ge=0, description=(
        "hosts of the screen-transfer pool in this zone (VDI in the internet zone; the LGWAN desktop pool under "
        "beta), in addition to `hosts`: sized from terminals, priced on the thin-client line"))

    @property
    def total_hosts(self) -> int:
        """Every host in the zone's aggregate: the packed hosts and the screen-transfer pool's."""
        return self.hosts + self.vdi_hosts


class DrTier(Strict):
    system_id: str
    tier: Literal["warm", "replica", "backup", "none"] = Field(
        description="warm: standby VMs at the DR site; replica: volumes replicated, started there after a disaster; "
                    "backup: restored from the nightly off-site copy; none: rebuilt")
    reason: str
    rpo_hours: float = Field(description="the system's RPO (inventory)")
    rto_hours: float = Field(description="the system's RTO (inventory)")
    tier_rpo_hours: float = Field(description="what the tier promises (catalogue dr_site.tiers)")
    tier_rto_hours: float
    rpo_short_hours: float = Field(ge=0, description="by how much the tier misses the RPO; 0 when it meets it")
    rto_short_hours: float = Field(ge=0, description="by how much the tier misses the RTO; 0 when it meets it")


class DrSitePlan(Strict):
    tiers: list[DrTier]
    standby_hosts: int
    backup_tb: float = Field(description="off-site backup of every warm, replica and backup system")
    replica_tb: float = Field(description="volumes replicated to the DR site (warm and replica systems)")
    replication_mbps: float = Field(description="bandwidth the daily changes need, spread over the day")
    network_lines: int = Field(description="inter-site lines of the catalogue's bandwidth")
    racks: float = Field(description="DR racks for the standby hosts")
    misses: int = Field(description="systems whose tier misses the RPO or RTO (each says by how much)")
    zones: list[ZonePlan] = Field(
        default_factory=list,
        description="standby placement per zone at the DR site (warm-standby VMs and the DR shared services; no N+1)",
    )


class Wave(Strict):
    number: int = Field(ge=1)
    systems: list[str]
    reason: str = Field(description="why these systems move together and now")
    fiscal_year: int = Field(description="the fiscal year (April to March) the wave moves in")
    quarter: int = Field(ge=1, le=4, description="its quarter: 1 = April-June ... 4 = January-March")
    starts: date
    ends: date
    deadline: date = Field(description="the earliest EOL (OS support or hardware life) among its systems")
    deadline_ja: str
    deadline_en: str
    beats_deadline: bool = Field(description="the wave ends before that deadline")
    past_deadline: list[str] = Field(default_factory=list, description=(
        "systems whose deadline had already passed when the plan starts (the inventory's fiscal year): no wave can "
        "beat it, so they move first"))
    after_deadline: list[str] = Field(default_factory=list, description=(
        "systems whose deadline is still ahead when the plan starts but falls before this wave ends: the plan "
        "itself makes them late"))


class LinkPlan(Strict):
    source: str
    target: str
    protocol: Literal["tcp", "udp"]
    port: int
    source_layer: Layer
    target_layer: Layer
    path: Literal["direct", "hub", "relay", "screen", "forbidden"]
    kind: Literal["screen", "file", "api", "direct"] | None = Field(
        default=None, description="what the inventory declares the link to be; None: inferred from the port")


CostItem = Literal["hardware", "maintenance_hardware", "maintenance_application", "licences", "operations",
                   "facility", "dr"]


class CostLine(Strict):
    key: str
    item: CostItem = Field(description="the cost item the line belongs to, for before/after by item")
    label_ja: str
    label_en: str
    annual_yen: int
    source: str = Field(description="where the figure comes from (catalogue key or inventory field)")
    assumption: str = Field(description="the assumption behind it, as the catalogue or the inventory states it")


class Sensitivity(Strict):
    case: Literal["pessimistic", "expected", "optimistic"]
    consolidated_annual_yen: int
    ratio_pct: float
    goal_met: bool


class CostYear(Strict):
    year: int = Field(description="1 = first year after the decision")
    baseline_yen: int
    consolidated_yen: int
    cumulative_baseline_yen: int
    cumulative_consolidated_yen: int


class ThinClientCase(Strict):
    """The thin-client line kept apart from the consolidation figure, as the seed case advises."""

    terminals: int = Field(description="terminals whose sessions run on the screen-transfer pools (LGWAN terminals; "
                                       "internet-layer terminals too under beta and beta_prime)")
    vdi_hosts: int = Field(default=0, ge=0, description="the pools' hosts, the same the plan adds to the zones "
                                                          "(ZonePlan.vdi_hosts) and the site data gives the platform")
    pc_annual_yen: int = Field(description="keeping fat PCs: amortisation + per-PC support")
    thin_client_annual_yen: int = Field(description="thin clients + VDI hosts (with rack, power and the platform "
                                                    "staff's share) + VDI licences + support")
    difference_yen: int = Field(description="thin_client - pc; positive means thin clients cost more")
    security_benefits_ja: list[str]
    maintenance_benefits_ja: list[str]
    security_benefits_en: list[str]
    maintenance_benefits_en: list[str]


class CostCase(Strict):
    years: int
    baseline_annual_yen: int
    consolidated_annual_yen: int = Field(description="steady-state year, excluding one-off migration")
    ratio_pct: float = Field(description="consolidated / baseline * 100; the goal is at most 50")
    reduction_pct: float
    goal_met: bool
    migration_one_off_yen: int
    break_even_year: int | None = Field(description="first year cumulative consolidated <= cumulative baseline")
    baseline_lines: list[CostLine]
    consolidated_lines: list[CostLine]
    by_year: list[CostYear]
    thin_client: ThinClientCase
    standard_ops_annual_yen: int = Field(description="baseline cost of the 20 standard operations (Government Cloud)")
    gap_to_goal_yen: int = Field(description="consolidated - 50% of baseline; positive: still to cut to meet the goal")
    maintenance_split_defaulted: int = Field(
        description="systems whose maintenance the inventory does not split: the catalogue's default share applied")
    platform_fte: float = Field(description="platform staff from the catalogue ratios")
    sensitivity: list[Sensitivity] = Field(description="the ratio under each case of the catalogue's ranges")


class Plan(Strict):
    model_config = ConfigDict(extra="forbid", title="shuyaku plan (plan.json)")
    schema_version: Literal[1] = 1
    municipality: str
    fiscal_year: int
    separation_model: Literal["alpha", "beta", "beta_prime", "alpha_prime"]
    sizing: list[Sizing]
    zones: list[ZonePlan]
    dr: DrSitePlan
    waves: list[Wave]
    government_cloud: list[str] = Field(description="systems of the 20 standard operations, reported apart")
    links: list[LinkPlan]
    cost: CostCase
