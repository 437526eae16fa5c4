"""Drift of a published hand-off: does what it tells the vendor still hold in the cloud?

A hand-off (`shuyaku vendor publish`: the stack `shuyaku-handoff/<site>-<system>` in the vendor's space) holds
outputs only, no cloud resource, so a refresh has nothing to read and would call it clean whatever happened to the
tenant. What goes wrong with a hand-off is that it stops telling the truth: the vendor's stacks take the project,
network, subnet and security group ids and the quotas from it. So its `tenant` output is read (`pulumi stack output`,
nothing decrypted: a hand-off holds no secret) and held against the cloud snapshot the run reads anyway: every id it
names still exists, and every quota it states is the one the cloud enforces. A field that no longer holds is drift,
`op: stale`, with the field named; the fix is to set the cloud back (`shuyaku deploy`) or, after a deliberate change
to the platform, to publish again (`shuyaku vendor publish`).
"""

from __future__ import annotations

import json
import time
from typing import Any

from shuyaku.audit.checks.quotas import FIELDS
from shuyaku.audit.snapshot import Snapshot
from shuyaku.contracts.status import DriftItem, StackDrift
from shuyaku.deploy.engine import EngineError, Stack
from shuyaku.vendor.handoff import OUTPUT, PROJECT

__all__ = ["PROJECT", "judge", "read", "stale_fields"]
TYPE = "shuyaku:vendor:Handoff"


def read(stack: Stack, label: str, vendor: str) -> tuple[StackDrift, dict[str, Any] | None]:
    """The published hand-off (its `tenant` output), or the hand-off reported not checked with the reason."""
    t0 = time.monotonic()
    outputs: Any = None
    try:
        proc = stack.pulumi("stack", "output", "--json", "--stack", stack.name, capture=True, check=False, timeout=300)
        said = f"exit {proc.returncode}: " + ((proc.stderr or "") + (proc.stdout or "")).strip()[-300:]
        if proc.returncode == 0:
            outputs = json.loads(proc.stdout or "null")
    except (EngineError, json.JSONDecodeError) as e:
        said = str(e)[:300]
    tenant = outputs.get(OUTPUT) if isinstance(outputs, dict) else None
    if not isinstance(tenant, dict) or not tenant.get("project_id"):
        return StackDrift(stack=label, vendor=vendor, checked=False, why="failed", resources=0,
                          error=f"cannot read the hand-off's `{OUTPUT}` output ({said})"), None
    return StackDrift(stack=label, vendor=vendor, checked=True, resources=1,
                      seconds=round(time.monotonic() - t0, 2)), tenant


def stale_fields(tenant: dict[str, Any], snap: Snapshot) -> list[str]:
    """The hand-off's fields the cloud no longer bears out (ids gone, quotas other than stated)."""
    pid = str(tenant.get("project_id"))
    out = [] if any(p.id == pid for p in snap.projects) else ["project_id"]
    exists = {"network_id": {n.id for n in snap.networks}, "subnet_id": {s.id for s in snap.subnets}}
    out += [key for key, ids in exists.items() if key in tenant and tenant[key] not in ids]
    groups = {g.id for g in snap.security_groups}
    out += [f"security_group_ids.{role}" for role, gid in sorted((tenant.get("security_group_ids") or {}).items())
            if gid not in groups]
    stated = tenant.get("quotas") or {}
    sources: dict[str, dict[str, Any]] = {"network": snap.network_quotas, "compute": snap.compute_quotas,
                                          "volume": snap.volume_quotas}
    for service, attr, key in FIELDS:
        live = getattr(sources[service].get(pid), attr, None)
        if key in stated and live is not None and int(live) != int(stated[key]):
            out.append(f"quotas.{key}")
    return out


def judge(drift: StackDrift, tenant: dict[str, Any], snap: Snapshot) -> StackDrift:
    """The hand-off's drift against the snapshot: one `stale` item naming every field that no longer holds."""
    keys = stale_fields(tenant, snap)
    if not keys:
        return drift
    system = str(tenant.get("system_id") or drift.stack)
    item = DriftItem(urn=f"{drift.stack}#{OUTPUT}", type=TYPE, name=system, op="stale", keys=keys)
    return drift.model_copy(update={"changed": [item]})
