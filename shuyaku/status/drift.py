"""Drift: the resources a refresh would change in a stack's state, i.e. what someone changed outside Pulumi.

`pulumi refresh --preview-only --json` reads every resource of the stack from the cloud and compares it with the
state without writing anything. A step other than `same` is drift: `update` (changed by hand), `delete` (gone
from the cloud). The engine's own bookkeeping (the stack, providers) is left out.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from typing import Any

from shuyaku.contracts.status import DriftItem, StackDrift
from shuyaku.deploy.engine import EngineError, Stack

QUIET = {"same", "read"}
# Properties a refresh always rewrites and nobody changes by hand (timestamps, revision counters).
NOISE = {"updatedAt", "createdAt", "revisionNumber", "allTags", "updated", "created"}


def _urn_name(urn: str) -> str:
    return urn.rsplit("::", 1)[-1]


def _changed_keys(step: dict[str, Any]) -> list[str]:
    diffs = step.get("detailedDiff") or {}
    if diffs:
        keys = {k.split(".")[0].split("[")[0] for k in diffs}
    else:
        old = ((step.get("oldState") or {}).get("outputs")) or {}
        new = ((step.get("newState") or {}).get("outputs")) or {}
        keys = {k for k in set(old) | set(new) if old.get(k) != new.get(k)}
        keys |= set(step.get("diffReasons") or [])
    return sorted(keys - NOISE)


def parse(doc: Any) -> tuple[int, list[DriftItem]]:
    """(resources looked at, drifted ones) from the engine's JSON preview of a refresh."""
    steps = doc.get("steps") if isinstance(doc, dict) else None
    if not isinstance(steps, list):
        raise ValueError("not a preview: no steps[]")
    seen = 0
    out: list[DriftItem] = []
    for step in steps:
        urn = str(step.get("urn", ""))
        kind = str(step.get("type") or (step.get("newState") or step.get("oldState") or {}).get("type") or "")
        if kind.startswith("pulumi:"):
            continue
        seen += 1
        op = str(step.get("op", "same"))
        if op in QUIET:
            continue
        keys = _changed_keys(step)
        if op in ("update", "refresh") and not keys:
            continue  # only noise moved
        out.append(DriftItem(urn=urn, type=kind, name=_urn_name(urn), op="update" if op == "refresh" else op, keys=keys))
    return seen, sorted(out, key=lambda d: (d.type, d.name))


def _json_part(stdout: str) -> Any:
    """The engine prints one JSON document; anything before its first brace is a warning line."""
    start = stdout.find("{")
    if start < 0:
        raise ValueError("no JSON in the engine's output")
    return json.loads(stdout[start:])


def stack_drift(stack: Stack, timeout: float = 900) -> StackDrift:
    """One stack's drift; a stack that cannot be refreshed is reported unchecked with the reason, not skipped."""
    t0 = time.monotonic()
    if not stack.config_file.exists():
        return StackDrift(stack=stack.name, checked=False, why="no_state", resources=0,
                          error=f"no state for stack {stack.name} in {stack.backend.display}")
    try:
        proc = stack.pulumi("refresh", "--preview-only", "--json", "--stack", stack.name, "--config-file",
                            str(stack.config_file), capture=True, check=False, timeout=timeout)
    except EngineError as e:
        return StackDrift(stack=stack.name, checked=False, why="failed", resources=0, error=str(e)[:500])
    try:
        seen, items = parse(_json_part(proc.stdout or ""))
    except (ValueError, json.JSONDecodeError) as e:
        tail = ((proc.stderr or "") + (proc.stdout or ""))[-400:].strip()
        return StackDrift(stack=stack.name, checked=False, why="failed", resources=0,
                          error=f"refresh preview failed (exit {proc.returncode}): {e}; {tail}")
    return StackDrift(stack=stack.name, checked=True, resources=seen, changed=items, seconds=time.monotonic() - t0)


def all_drift(stacks: Iterable[Stack]) -> list[StackDrift]:
    return [stack_drift(s) for s in stacks]
