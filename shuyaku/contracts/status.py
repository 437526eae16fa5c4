"""One `shuyaku status` run: what crosses from the collectors to the renderers, the history and the goal sheet.

A run is measured once (drift, rules, progress, cost now, operations) and then only read: the text, JSON and HTML
views, the history store (one JSON document per run) and the published goal sheet all take this model. Every
message a reader sees carries both languages, so a run recorded in Japanese publishes in English too.
Nothing here is secret: names, ids, counts, dates and yen.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shuyaku.contracts.plan import CostLine
from shuyaku.contracts.vocabulary import Layer

Severity = Literal["error", "warning", "info"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Said(Strict):
    """A message in both languages."""

    ja: str
    en: str

    def pick(self, language: str) -> str:
        return self.en if language == "en" else self.ja


class DriftItem(Strict):
    urn: str
    type: str
    name: str
    op: str = Field(description="what a refresh would do to the state: update (changed outside Pulumi) or delete (gone); "
                                "for a vendor hand-off, stale (the cloud no longer bears out the fields in keys)")
    keys: list[str] = Field(default_factory=list, description="properties that differ from the state")


class StackDrift(Strict):
    stack: str
    checked: bool = Field(description="false: the refresh preview could not run (see error); drift unknown")
    why: Literal["no_state", "no_passphrase", "failed"] | None = Field(
        default=None, description="why it was not checked: no_state (no state or config copy here), no_passphrase (a "
                          "vendor's own stack, whose passphrase the operator does not hold), failed (the refresh)")
    vendor: str | None = Field(default=None, description="the vendor space (vendor_V) the stack lives in; None: the platform's")
    error: str | None = None
    resources: int = Field(0, description="resources the refresh looked at")
    changed: list[DriftItem] = Field(default_factory=list)
    seconds: float = 0.0


class RuleFinding(Strict):
    source: Literal["live", "pack"] = Field(description="live: audit --live over the cloud; pack: the policy pack "
                                                        "over the stack's state")
    id: str
    severity: Severity
    resource: str
    system_id: str | None = None
    message: Said


class SystemProgress(Strict):
    system_id: str
    name: Said = Field(description="the inventory's name (English where it gives one)")
    layer: Layer
    wave: int | None = Field(description="the plan's wave; None for the standard operations (Government Cloud)")
    planned_servers: int
    tenant_ready: bool = Field(description="its project exists at the site with the platform's tags")
    active_servers: int = Field(description="ACTIVE servers in its project")
    migrated: bool = Field(description="tenant ready and at least the planned number of servers ACTIVE")
    verified: Literal["passed", "failed", "not_run"] = Field(
        description="the last `shuyaku verify` JUnit result for hosts named after the system")
    eol: date = Field(description="the earliest end of life (OS support or hardware) it must beat")
    eol_what: Said
    eol_passed: bool = Field(description="not migrated and its end of life has passed")


class WaveProgress(Strict):
    number: int
    starts: date
    ends: date
    deadline: date
    beats_deadline: bool
    systems: list[str]
    tenants_ready: int
    migrated: int
    verified: int


class Allocated(Strict):
    hosts: int = Field(description="distinct compute hosts in the site's layer aggregates, the VDI pools' left out")
    vdi_hosts: int = Field(default=0, description="the VDI pools' hosts in those aggregates (named as the plan names "
                                                  "them), priced in the thin-client line, not in the ratio")
    standby_hosts: int = Field(description="distinct compute hosts in the DR site's aggregates")
    servers_active: int
    vcpus: int = Field(description="vCPUs of the ACTIVE servers' flavors")
    ram_gb: float
    volume_gb: float = Field(description="Cinder volumes in the site's tenant projects")
    flavors: dict[str, int] = Field(default_factory=dict, description="flavor name -> ACTIVE servers")


class CostNow(Strict):
    baseline_yen: int = Field(description="the plan's baseline: every system at its old cost")
    plan_yen: int = Field(description="the plan's consolidated year")
    now_yen: int = Field(description="today: the allocated platform priced with the catalogue, the migrated systems' "
                                     "continuing costs, and the systems not yet migrated at their old cost")
    ratio_pct: float = Field(description="now / baseline x 100")
    plan_ratio_pct: float
    goal_pct: float
    goal_met: bool
    not_migrated_yen: int = Field(description="old cost of the systems not yet migrated (in now_yen)")
    migrated_systems: int
    allocated: Allocated
    lines: list[CostLine] = Field(description="the platform and continuing lines, priced as the plan prices them")
    vdi_yen: int = Field(default=0, description="the VDI pools' allocated hosts priced as the plan's thin-client line "
                                                "prices them; not in now_yen, as the plan keeps them out of its ratio")
    plan_vdi_hosts: int = Field(default=0, description="the VDI pools' hosts the plan sizes")


class PatchHost(Strict):
    host: str
    run: str = Field(description="the patch run's folder (its time stamp)")
    packages: int
    rebooted: bool
    reboot_required: bool
    health: str


class Expiry(Strict):
    kind: Literal["certificate", "app_credential"]
    name: str
    owner: str = Field(description="the certificate file (host:path when read from a host), or the credential's user")
    expires: datetime | None = Field(description="None: it never expires (or, with error, it could not be read)")
    days_left: float | None
    soon: bool = Field(description="expired or expiring within the warning window (or unreadable)")
    error: str | None = Field(default=None, description="why the certificate could not be read from its host")


class Operations(Strict):
    patch_run: str | None = Field(description="the newest patch run under the artefacts folder")
    patch_hosts: list[PatchHost] = Field(default_factory=list)
    expiries: list[Expiry] = Field(default_factory=list)
    warn_days: int


class Risk(Strict):
    kind: Literal["forbidden_link", "eol_before_migration", "wave_misses_eol", "finding", "drift", "expiry"]
    text: Said


class StatusRun(Strict):
    model_config = ConfigDict(extra="forbid", title="shuyaku status run")
    schema_version: Literal[1] = 1
    id: str = Field(description="run id: UTC time stamp and a short random suffix")
    taken_at: datetime
    period: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="the month the run reports for (YYYY-MM)")
    stack: str
    site: str
    municipality: Said
    drift: list[StackDrift]
    rules: list[RuleFinding]
    rules_checked: list[Literal["live", "pack"]]
    systems: list[SystemProgress]
    waves: list[WaveProgress]
    cost: CostNow
    operations: Operations
    risks: list[Risk]
    exit_code: int = Field(ge=0, le=2)
    seconds: float


class RunRef(Strict):
    id: str
    taken_at: datetime
    period: str
    ratio_pct: float
    migrated: int
    findings: int
    drifted: int


class Change(Strict):
    kind: Literal["ratio", "migrated", "finding_new", "finding_gone", "drift_new", "drift_gone", "verified"]
    text: Said


class Comparison(Strict):
    before: RunRef
    after: RunRef
    changes: list[Change]
