"""One status run: read the inputs (stack config, plan, inventory, catalogue), the cloud once, the stacks' drift,
and put every part together with its exit code.

Exit code (a monitor reads it): 0 nothing needs attention; 1 a rule finding (error or warning), drift (or a stack
whose drift could not be read), a failed verification, or a certificate or credential expired or expiring within
the warning window; 2 bad input (raised, never returned from here).
"""

from __future__ import annotations

import concurrent.futures as cf
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shuyaku.audit import checks
from shuyaku.audit import expect as expmod
from shuyaku.audit import snapshot as snapmod
from shuyaku.contracts import checked
from shuyaku.contracts.catalogue import Catalogue
from shuyaku.contracts.inventory import Inventory
from shuyaku.contracts.plan import Plan
from shuyaku.contracts.problems import ProblemsError, tx
from shuyaku.contracts.source import file_problem
from shuyaku.contracts.status import RuleFinding, Said, StackDrift, StatusRun
from shuyaku.deploy.backend import Backend
from shuyaku.deploy.engine import Stack
from shuyaku.status import costnow, drift, handoffs, operations, progress, risks, rules, vendorstacks


@dataclass
class Inputs:
    stack: str
    exp: expmod.Expected
    plan: Plan
    inventory: Inventory
    catalogue: Catalogue
    stacks: list[Stack] = field(default_factory=list)  # for drift; the first is the platform stack (pack too)
    junit: Path | None = None
    artefacts: Path | None = None
    certs: list[Path] = field(default_factory=list)
    hosts: Path | None = None  # the Ansible inventory the VDI hosts' certificates are read over
    warn_days: int = 30
    period: str | None = None
    vendors: Backend | None = None  # the team backend whose vendor spaces are listed for drift
    vendor_passphrases: dict[str, Path] = field(default_factory=dict)
    work: Path | None = None  # scratch folder for the vendor stacks' project files


def load_inputs(stack: str, root: Path, config_file: Path | None, plan_path: Path | None,
                inventory_path: Path | None, catalogue_path: Path | None) -> tuple[expmod.Expected, Plan, Inventory,
                                                                                     Catalogue]:
    """The stack's expectation, its plan and inventory with the catalogue; ProblemsError or OSError when wrong."""
    from shuyaku.inventory.load import load as load_inventory

    exp = expmod.load(stack, root, config_file)
    plan_file = plan_path or exp.cfg.site_path.parent / "plan.json"
    if not plan_file.is_file():
        raise ProblemsError([file_problem(
            plan_file, "file.not_found", tx("plan.json がありません（スタックのサイトデータの隣にも）",
                                            "no plan.json (not beside the stack's site data either)"),
            tx("shuyaku plan の出力フォルダの plan.json を --plan で指定してください",
               "give --plan with the plan.json from shuyaku plan's output folder"))])
    plan = checked.load_model(Plan, plan_file)
    inv_file = inventory_path or exp.cfg.inventory_path
    if inv_file is None:
        raise ProblemsError([file_problem(
            config_file or root / "stacks" / f"Pulumi.{stack}.yaml", "stack.missing",
            tx("スタック設定に shuyaku:inventory がありません", "the stack config has no shuyaku:inventory"),
            tx("--inventory で現行システム台帳を指定してください", "give the inventory with --inventory"))])
    inv_file = inv_file if inv_file.is_absolute() else root / inv_file
    loaded = load_inventory(inv_file, catalogue_path)
    if loaded.catalogue is None:
        raise ProblemsError([file_problem(inv_file, "plan.no_catalogue",
                                          tx("費用カタログがありません", "no cost catalogue"),
                                          tx("--catalogue で指定してください", "give it with --catalogue"))])
    return exp, plan, loaded.inventory, loaded.catalogue


def new_id(now: datetime) -> str:
    return now.strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(2)


def _pack(stack: Stack | None, exp: expmod.Expected) -> tuple[list[RuleFinding], bool]:
    if stack is None or not stack.config_file.exists():
        return [], False
    try:
        return rules.pack_over_state(stack, exp.cfg), True
    except Exception:  # an unreadable state leaves the pack unchecked; drift says why
        return [], False


def _all_drift(inp: Inputs) -> list[vendorstacks.Checked]:
    out = [vendorstacks.Checked(d) for d in drift.all_drift(inp.stacks)]
    if inp.vendors is not None and inp.work is not None:
        out += vendorstacks.all_checked(inp.vendors, inp.work, inp.vendor_passphrases)
    return out


def exit_code(drifts: list[StackDrift], found: list[RuleFinding], run_systems: list[Any], expiring: bool) -> int:
    # A vendor's own stack whose passphrase the operator does not hold is shown as not checked, but is no alarm:
    # the operator cannot fix it, and a monitor that is always red is ignored.
    attention = (any((not d.checked and d.why != "no_passphrase") or d.changed for d in drifts) or bool(rules.failing(found))
                 or any(s.verified == "failed" for s in run_systems) or expiring)
    return 1 if attention else 0


def measure(inp: Inputs, conn: Any, *, now: datetime | None = None) -> StatusRun:
    """Read the cloud once (admin login, GET only), refresh-preview each stack, and build the run."""
    t0 = time.monotonic()
    now = now or datetime.now(UTC)
    today = now.date()
    exp = inp.exp
    # The refresh previews are the engine's (a subprocess waiting on the cloud); the snapshot is read meanwhile.
    with cf.ThreadPoolExecutor(1) as pool:
        pending = pool.submit(_all_drift, inp)
        snap = snapmod.read(conn, exp.site, exp.vendor_groups.values())
        ctx = checks.Context(exp, snap)
        found = rules.from_live(checks.run(ctx), ctx.by_project)
        # A hand-off holds no resource to refresh: what it states is held against the snapshot instead.
        drifts = [handoffs.judge(c.drift, c.handoff, snap) if c.handoff else c.drift for c in pending.result()]
    pack, packed = _pack(inp.stacks[0] if inp.stacks else None, exp)
    found += pack
    done = progress.systems(inp.plan, inp.inventory, exp.cfg.site, snap, progress.read_junit(inp.junit),
                            inp.catalogue.sizing.hardware_life_years, today)
    alloc = costnow.allocated(snap, exp.site)
    cost = costnow.cost_now(inp.plan, inp.inventory, inp.catalogue, alloc, done)
    ops = operations.operations(snap, inp.artefacts, inp.certs, now, inp.warn_days, inp.hosts)
    waves = progress.waves(inp.plan, done)
    run = StatusRun(
        id=new_id(now), taken_at=now, period=inp.period or now.strftime("%Y-%m"), stack=inp.stack, site=exp.site,
        municipality=Said(ja=inp.inventory.municipality.name,
                          en=inp.inventory.municipality.name_en or inp.inventory.municipality.name),
        drift=drifts, rules=found, rules_checked=["live", "pack"] if packed else ["live"],
        systems=done, waves=waves, cost=cost, operations=ops, risks=[],
        exit_code=exit_code(drifts, found, done, any(e.soon for e in ops.expiries)), seconds=0.0)
    run.risks = risks.open_risks(inp.plan, run, today)
    run.seconds = round(time.monotonic() - t0, 2)
    return run

