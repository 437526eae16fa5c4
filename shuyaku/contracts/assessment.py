"""assessment.json: the current state of a municipality's legacy systems, as `shuyaku assess` finds it.

Labels a reader needs (checklist items) travel in the file in both languages, so the JSON is readable
without the code that produced it.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shuyaku.contracts.vocabulary import Layer

LinkPath = Literal["direct", "hub", "relay", "screen", "forbidden"]
Status = Literal["pass", "warn", "fail", "na"]
COST_KEYS: tuple[str, ...] = ("hardware", "maintenance", "licences", "operations", "facility")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ServerAge(Strict):
    """One server group (a role of a system, `count` identical servers) judged for OS and hardware age."""

    system_id: str
    system_name: str
    layer: Layer
    role: str
    count: int
    os: str
    os_version: str
    os_end_of_support: date | None = Field(description="vendor end of security updates; None if not in the table")
    os_status: Literal["eol", "soon", "ok", "unknown"] = Field(
        description="eol: support ended by the reference date; soon: ends within the warning band"
    )
    purchase_year: int
    hardware_age_years: int = Field(description="fiscal_year - purchase_year")
    hardware_status: Literal["over", "soon", "ok"] = Field(
        description="over: age >= hardware life; soon: reaches it within the warning band"
    )


class LinkFinding(Strict):
    """A legacy data link and the path the separation model requires for it (today every link is direct)."""

    source: str
    source_name: str
    source_layer: Layer
    target: str
    target_name: str
    target_layer: Layer
    protocol: Literal["tcp", "udp"]
    port: int
    direction: Literal["outbound", "inbound", "both"]
    purpose: str | None
    path: LinkPath = Field(description="most restrictive required path over the directions the link carries")
    compliant: bool = Field(description="true when a direct link is allowed (same layer or shared zone)")


class CheckDef(Strict):
    id: str
    label_ja: str
    label_en: str
    rule_ja: str
    rule_en: str


class CheckResult(Strict):
    id: str
    status: Status
    detail_ja: str
    detail_en: str


class Readiness(Strict):
    system_id: str
    system_name: str
    department: str
    layer: Layer
    standard_op: str | None
    checks: list[CheckResult]
    score_pct: float = Field(description="pass=1, warn=0.5, fail=0 over the applicable checks, in %")
    ready: bool = Field(description="no check failed")


class CostRow(Strict):
    key: str = Field(description="department name, layer id, or 'total'")
    systems: int
    hardware: int
    maintenance: int
    licences: int
    operations: int
    facility: int
    total: int


class CostBaseline(Strict):
    lines: list[str] = Field(default=list(COST_KEYS), description="the five cost lines, in order")
    by_department: list[CostRow] = Field(description="sorted by total, largest first")
    by_layer: list[CostRow]
    total: CostRow
    per_resident_yen: float
    standard_ops_total_yen: int = Field(description="annual cost of the systems of the 20 standard operations")


class Summary(Strict):
    systems: int
    servers: int
    systems_by_layer: dict[str, int]
    servers_os_eol: int
    servers_os_soon: int
    servers_hw_over: int
    servers_hw_soon: int
    systems_with_eol_os: int
    systems_over_hw_life: int
    links: int
    links_by_path: dict[str, int]
    systems_ready: int
    mean_readiness_pct: float


class Assessment(Strict):
    model_config = ConfigDict(extra="forbid", title="shuyaku assessment (assessment.json)")
    schema_version: Literal[1] = 1
    municipality: str
    municipality_en: str | None
    population: int
    separation_model: Literal["alpha", "beta", "beta_prime", "alpha_prime"]
    fiscal_year: int
    reference_date: date = Field(description="April 1 of the fiscal year: ages and end of support count to it")
    warning_years: int = Field(description="the 'ends soon' band, in years after the reference date")
    hardware_life_years: int
    hardware_life_source: Literal["catalogue", "default"]
    names_en: dict[str, str] = Field(default_factory=dict, description="English system names, where the inventory gives one")
    summary: Summary
    servers: list[ServerAge]
    links: list[LinkFinding]
    checklist: list[CheckDef]
    readiness: list[Readiness]
    cost: CostBaseline
