"""One deployed small town shared by the integration modules that only read it and undo what they change
(audit_live, migrated_wave, status). Deploying it costs 71-137 s and destroying it 52-87 s on this machine, once
per module before (bench/RESULTS.md, CI rehearsal of session 10); now once per run.

conftest.py runs those modules one after the other, so no other module's town stands beside it (their zones use
the same names), and destroys it when the last of them is done. `pulumi destroy` itself is tested by
test_platform_e2e, which keeps its own town.

The modules that test a way of deploying (test_platform_e2e, test_safe_deploy, test_ci_templates,
test_vendor_bundle) deploy `tiny_town`: four of the town's systems, 252 resources against 454, up in 40 s and
destroyed in 25 s against 71 s and 59 s on an idle dev cloud (bench/RESULTS.md, session 12)."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from cloudlogin import CLOUD_ENV, record_phase

from shuyaku.contracts.plan import Plan
from shuyaku.contracts.sitedata import SiteData
from shuyaku.deploy.engine import ROOT, EngineError, Stack

INVENTORY = ROOT / "examples" / "small-town" / "inventory.yaml"
# The modules that deploy a town of their own to test a way of deploying (safe deploy, the CI pipeline, the team
# database, the engine's own up/destroy) deploy these four of its systems: one per layer and the two vendors'
# tenants those modules name. Deploying and destroying the whole town is tested here, once.
TINY_SYSTEMS = ("juki", "zeimu", "zaimu", "web")
STACK = "town"


@dataclass
class Town:
    """The deployed platform: its stack (file backend), the plan it came from, the stack's outputs."""

    stack: Stack
    plan_dir: Path
    outputs: dict[str, Any]
    plan: Plan = field(init=False)
    site: SiteData = field(init=False)

    def __post_init__(self) -> None:
        self.plan = Plan.model_validate_json((self.plan_dir / "plan.json").read_text(encoding="utf-8"))
        self.site = SiteData.model_validate_json((self.plan_dir / "site-onprem.json").read_text(encoding="utf-8"))

    def copy_plan(self, workdir: Path) -> Path:
        """The plan's files in a module's own folder, for commands that write beside them."""
        shutil.copytree(self.plan_dir, workdir / "plan", dirs_exist_ok=True)
        return workdir / "plan"


def tiny_town(folder: Path, systems: tuple[str, ...] = TINY_SYSTEMS) -> Path:
    """The small town cut down to `systems` (links to the others dropped), beside its cost catalogue."""
    doc = yaml.safe_load(INVENTORY.read_text(encoding="utf-8"))
    doc["systems"] = [s for s in doc["systems"] if s["id"] in systems]
    for s in doc["systems"]:
        s["links"] = [link for link in s.get("links", []) if link["target"] in systems]
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(INVENTORY.parent / doc["municipality"]["catalogue"], folder / doc["municipality"]["catalogue"])
    (folder / "inventory.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False),
                                           encoding="utf-8")
    return folder / "inventory.yaml"


def deploy(workdir: Path) -> Town:
    proc = subprocess.run([sys.executable, "-m", "shuyaku.cli", "plan", str(INVENTORY), "--out", str(workdir / "plan")],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    st = Stack(STACK, workdir / "state", config_source=ROOT / "stacks" / "Pulumi.local.yaml", env_extra=CLOUD_ENV)
    st.ensure()
    st.set_config("shuyaku:siteData", str(workdir / "plan" / "site-onprem.json"))
    st.set_config("shuyaku:inventory", str(INVENTORY))
    t0 = time.monotonic()
    up = st.up(capture=True, check=False)
    if up.returncode != 0:
        with contextlib.suppress(EngineError):  # the up's own failure is the one to show
            st.destroy(capture=True)
        raise AssertionError("the shared small town did not deploy:\n" + up.stdout[-4000:] + up.stderr[-2000:])
    record_phase("town", "pulumi up (small town, shared)", time.monotonic() - t0)
    return Town(st, workdir / "plan", st.outputs())


def destroy(town: Town) -> None:
    t0 = time.monotonic()
    town.stack.destroy(capture=True)  # a failed destroy raises EngineError, with the engine's output
    record_phase("town", "pulumi destroy (small town, shared)", time.monotonic() - t0)
