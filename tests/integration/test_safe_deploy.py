"""Safe deploys for real: `shuyaku preview` and `shuyaku deploy` with the engine built here, on the dev cloud.

The small town is planned as a user would, and its stack config (the dev cloud's `local` settings) is a file the
tests edit between commands, as a user edits stacks/Pulumi.<stack>.yaml. Every command runs as a user runs it, in
a subprocess whose standard input is not a terminal. Nothing is created until a deploy is given `--yes`; what the
state holds and what the cloud holds are both checked. Run under the dev cloud's lock (README).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from cloudlogin import CLOUDS, operator

from shuyaku.deploy.engine import ROOT, Stack

pytestmark = pytest.mark.integration

CLOUD_ENV = {"OS_CLIENT_CONFIG_FILE": str(CLOUDS), "OS_CLOUD": "dev-admin"}
INVENTORY = ROOT / "examples" / "small-town" / "inventory.yaml"
STACK = "safe"
WORLD_SSH = "0.0.0.0/0"
EXTRA_ADMIN = "198.18.7.0/24"


@pytest.fixture(scope="module")
def cloud() -> Any:
    return operator()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("safe-deploy")


@pytest.fixture(scope="module")
def config(workdir: Path) -> Path:
    """The stack config a user would write: the dev cloud's settings, the small town's freshly made plan."""
    plan = workdir / "plan"
    proc = subprocess.run([sys.executable, "-m", "shuyaku.cli", "plan", str(INVENTORY), "--out", str(plan)],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    doc = yaml.safe_load((ROOT / "stacks" / "Pulumi.local.yaml").read_text(encoding="utf-8"))
    doc["config"]["shuyaku:siteData"] = str(plan / "site-onprem.json")
    doc["config"]["shuyaku:inventory"] = str(INVENTORY)
    path = workdir / f"Pulumi.{STACK}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def stack(cloud: Any, workdir: Path, config: Path) -> Iterator[Stack]:
    st = Stack(STACK, workdir / "state", config_source=config, env_extra=CLOUD_ENV)
    yield st
    if st.state_dir.exists() and st.resources():  # whatever a test deployed goes, so the next suite starts clean
        st.destroy(capture=True)


def shuyaku(st: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    """A command as a user runs it; standard input is not a terminal (as in CI or a cron job)."""
    return subprocess.run([sys.executable, "-m", "shuyaku.cli", *args, "--stack", STACK, "--stack-config",
                           str(st.config_source), "--state", str(st.state_dir), "--lang", "en"],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, **CLOUD_ENV}, timeout=1800)


def flat(proc: subprocess.CompletedProcess[str]) -> str:
    return " ".join((proc.stdout + proc.stderr).split())


def edit(config: Path, admin_cidrs: list[str]) -> None:
    doc = yaml.safe_load(config.read_text(encoding="utf-8"))
    doc["config"]["shuyaku:adminCidrs"] = admin_cidrs
    config.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")


def tenant_projects(cloud: Any, st: Stack) -> set[str]:
    """Projects in the cloud named as this stack's tenants are (the planned systems' ids)."""
    site = yaml.safe_load(Path(yaml.safe_load(st.config_source.read_text())["config"]["shuyaku:siteData"]).read_text())
    wanted = {f"onprem-{t['system_id']}" for t in site["tenants"]}
    return {p.name for p in cloud.identity.projects()} & wanted


def test_preview_shows_the_planned_changes_and_changes_nothing(stack: Stack, cloud: Any) -> None:
    proc = shuyaku(stack, "preview")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    text = flat(proc)
    assert "Planned changes" in text and "shuyaku:platform:Tenant" in text and "tenant-" in text
    assert f"Stack {STACK}: " in text and " to create, 0 to update, 0 to replace, 0 to delete" in text
    assert "--no-policy" not in text  # the pack ran, no warning about skipping it
    assert stack.resources() == [] and tenant_projects(cloud, stack) == set()


def test_deploy_without_yes_on_a_non_terminal_refuses_and_changes_nothing(stack: Stack, cloud: Any) -> None:
    proc = shuyaku(stack, "deploy")
    assert proc.returncode == 2, proc.stdout[-3000:] + proc.stderr[-3000:]
    text = flat(proc)
    assert "standard input is not a terminal. Nothing was changed." in text and "pass --yes" in text
    assert "to create" in text  # the user saw what would have been done
    assert stack.resources() == [] and tenant_projects(cloud, stack) == set()


def test_ssh_opened_to_the_world_through_the_stack_config_is_stopped_before_anything_is_created(
        stack: Stack, cloud: Any, config: Path) -> None:
    kept = config.read_text(encoding="utf-8")
    edit(config, [WORLD_SSH])
    try:
        proc = shuyaku(stack, "deploy", "--yes")
    finally:
        config.write_text(kept, encoding="utf-8")
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    text = flat(proc)
    assert "[mandatory] secgroup-no-public-ssh" in text
    assert "stopped by policy violations (nothing was changed): " in text and "secgroup-no-public-ssh" in text
    assert stack.resources() == [] and tenant_projects(cloud, stack) == set()


def test_deploy_with_yes_then_a_second_deploy_has_nothing_to_do(stack: Stack, cloud: Any) -> None:
    proc = shuyaku(stack, "deploy", "--yes")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert stack.resources() and tenant_projects(cloud, stack)
    # The engine's own addition (the passphrase salt) stays in the copy beside the state: the checkout and the
    # user's stack config file are left as they were.
    assert not (ROOT / "stacks" / f"Pulumi.{STACK}.yaml").exists()
    assert "encryptionsalt" not in stack.config_path.read_text(encoding="utf-8")
    assert "encryptionsalt" in stack.config_file.read_text(encoding="utf-8")
    again = shuyaku(stack, "deploy")  # no --yes and no terminal: fine, since there is nothing to confirm
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert f"Stack {STACK}: no changes." in flat(again) and "not a terminal" not in flat(again)


def test_a_stack_config_edit_takes_effect_in_the_next_preview(stack: Stack, config: Path) -> None:
    kept = config.read_text(encoding="utf-8")
    admins = yaml.safe_load(kept)["config"]["shuyaku:adminCidrs"]
    edit(config, [*admins, EXTRA_ADMIN])
    try:
        proc = shuyaku(stack, "preview")
    finally:
        config.write_text(kept, encoding="utf-8")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    text = flat(proc)
    assert "openstack:networking/secGroupRule:SecGroupRule" in text and EXTRA_ADMIN.split("/")[0] in text
    assert " 0 to delete" in text  # only the new administrators' rules; nothing of the deployed platform goes
    proc = shuyaku(stack, "preview")  # the file as it was: the deployed platform again
    assert proc.returncode == 0 and f"Stack {STACK}: no changes." in flat(proc)
