"""Migration progress per system and per wave, read from the live cloud and the last verification.

A system is **migrated** when its tenant project exists at the site (the platform's tags) and at least the planned
number of its servers are ACTIVE in it; **verified** comes from the last `shuyaku verify` JUnit file, for hosts
named after the system (`<id>` or `<id>-...`). Each system carries the end of life its wave must beat (the
earlier of its OS's end of support and its hardware's life, as the plan computes it).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from shuyaku.audit.snapshot import Snapshot, site_projects
from shuyaku.contracts.inventory import Inventory
from shuyaku.contracts.plan import Plan
from shuyaku.contracts.sitedata import SiteData
from shuyaku.contracts.status import Said, SystemProgress, WaveProgress
from shuyaku.plan.waves import deadline


@dataclass(frozen=True)
class Verified:
    """host name -> worst outcome of its cases in the last verify run."""

    hosts: dict[str, str]

    def of(self, system_id: str) -> str:
        outcomes = [o for h, o in self.hosts.items() if h == system_id or h.startswith(system_id + "-")]
        if not outcomes:
            return "not_run"
        return "failed" if any(o in ("failed", "error") for o in outcomes) else "passed"


def read_junit(path: Path | None) -> Verified:
    """The verify run's JUnit XML (test names end in `[host]` or `[ansible://host]`); none: nothing verified."""
    if path is None or not path.is_file():
        return Verified({})
    import re
    import xml.etree.ElementTree as ET

    hosts: dict[str, str] = {}
    for tc in ET.parse(path).getroot().iter("testcase"):
        m = re.search(r"\[(?:ansible://)?([^\]]+)\]$", tc.get("name", ""))
        if not m:
            continue
        host = m.group(1)
        bad = tc.find("failure") is not None or tc.find("error") is not None
        skipped = tc.find("skipped") is not None
        if bad:
            hosts[host] = "failed"
        elif not skipped:
            hosts.setdefault(host, "passed")
    return Verified(hosts)


def active_by_project(snap: Snapshot) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for s in snap.servers:
        if (getattr(s, "status", "") or "").upper() == "ACTIVE":
            out.setdefault(getattr(s, "project_id", "") or "", []).append(s)
    return out


def systems(plan: Plan, inv: Inventory, site: SiteData, snap: Snapshot, verified: Verified, hardware_life: int,
            today: date) -> list[SystemProgress]:
    wave_of = {sid: w.number for w in plan.waves for sid in w.systems}
    projects = site_projects(snap.projects, site.site)
    active = active_by_project(snap)
    by_id = {s.id: s for s in inv.systems}
    out = []
    for t in site.tenants:
        s = by_id.get(t.system_id)
        if s is None:
            continue
        planned = sum(g.count for g in t.servers)
        project = projects.get(t.system_id)
        running = len(active.get(project.id, [])) if project is not None else 0
        migrated = project is not None and planned > 0 and running >= planned
        dl = deadline(s, hardware_life)
        out.append(SystemProgress(
            system_id=t.system_id, name=Said(ja=s.name, en=s.name_en or s.name), layer=t.layer,
            wave=wave_of.get(t.system_id), planned_servers=planned,
            tenant_ready=project is not None, active_servers=running, migrated=migrated,
            verified=verified.of(t.system_id),  # type: ignore[arg-type]
            eol=dl.when, eol_what=Said(ja=dl.what_ja, en=dl.what_en), eol_passed=not migrated and dl.when < today))
    return out


def waves(plan: Plan, progress: Iterable[SystemProgress]) -> list[WaveProgress]:
    by_id = {p.system_id: p for p in progress}
    out = []
    for w in plan.waves:
        mine = [by_id[s] for s in w.systems if s in by_id]
        out.append(WaveProgress(number=w.number, starts=w.starts, ends=w.ends, deadline=w.deadline,
                                beats_deadline=w.beats_deadline, systems=list(w.systems),
                                tenants_ready=sum(p.tenant_ready for p in mine), migrated=sum(p.migrated for p in mine),
                                verified=sum(p.verified == "passed" for p in mine)))
    return out
