"""Safe deploys for real: `shuyaku preview` and `shuyaku deploy` with the engine built here, on the dev cloud, with
the stack's state in the team's PostgreSQL state database (scripts/state-db, the operator's role).

The small town cut to four systems (smalltown.tiny_town) is planned as a user would, and its stack config (the dev
cloud's `local` settings, plus one server per platform role, so that the platform's SSH host keys are made,
published and kept) is a file the tests edit between commands, as a user edits stacks/Pulumi.<stack>.yaml. Every
command runs as a user runs it, in a subprocess whose standard input is not a terminal. Nothing is created until a
deploy is given `--yes`; what the state holds and what the cloud holds are both checked. Run under the dev cloud's
lock (README).

Backends: this module is the end-to-end path (preview with the pack, deploy, no-op deploy, config edits) on
PostgreSQL; tests/integration/test_platform_e2e.py runs the platform end to end on the file backend (second up,
pack, DR StackReference, vendor, interrupted up, destroy), and test_vendor_bundle.py deploys on PostgreSQL too.
Each path runs once per test command, on one backend, rather than every test on both (docs/team-state.md).
`SHUYAKU_SAFE_DEPLOY_BACKEND=file` runs this module on the file backend instead (to compare the two).
"""

from __future__ import annotations

import base64
import os
import re
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from cloudlogin import CLOUD_ENV, HOST, operator
from smalltown import tiny_town

from shuyaku.deploy.engine import ROOT, Stack

pytestmark = pytest.mark.integration

STATE_DB = ROOT / "scripts" / "state-db"
STACK = f"safe-{secrets.token_hex(3)}"  # its own stack in the team's table, whatever an earlier run left
WORLD_SSH = "0.0.0.0/0"
EXTRA_ADMIN = "198.18.7.0/24"


@pytest.fixture(scope="module")
def cloud() -> Any:
    return operator()


@pytest.fixture(scope="module")
def team_env(workdir: Path) -> Iterator[dict[str, str]]:
    """The operator's settings for the team's database (its URL names a pgpass file, no password) and a
    passphrase of the test's own. With SHUYAKU_SAFE_DEPLOY_BACKEND=file: the file backend in the test's folder."""
    if os.environ.get("SHUYAKU_SAFE_DEPLOY_BACKEND") == "file":  # named, so `provision --stack` finds it too
        (workdir / "state").mkdir(exist_ok=True)
        yield {**CLOUD_ENV, "PULUMI_BACKEND_URL": f"file://{workdir / 'state'}"}
        return
    was_running = subprocess.run([str(STATE_DB), "status"], capture_output=True).returncode == 0
    if not was_running:
        started = subprocess.run([str(STATE_DB), "--lang", "en", "up"], capture_output=True, text=True)
        if started.returncode != 0:
            pytest.fail(f"the state database does not start (sudo scripts/state-db up): {started.stderr[-2000:]}",
                        pytrace=False)
    printed = subprocess.run([str(STATE_DB), "env"], capture_output=True, text=True, check=True).stdout
    url = re.search(r"^export PULUMI_BACKEND_URL='([^']+)'$", printed, re.MULTILINE)
    assert url, printed
    phrase = workdir / "passphrase"
    phrase.write_text(secrets.token_urlsafe(24))
    phrase.chmod(0o600)
    yield {**CLOUD_ENV, "PULUMI_BACKEND_URL": url.group(1), "PULUMI_CONFIG_PASSPHRASE_FILE": str(phrase)}
    if not was_running:
        subprocess.run([str(STATE_DB), "down"], capture_output=True)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("safe-deploy")


@pytest.fixture(scope="module")
def config(workdir: Path) -> Path:
    """The stack config a user would write: the dev cloud's settings, the small town's freshly made plan."""
    plan, inventory = workdir / "plan", tiny_town(workdir / "town")
    proc = subprocess.run([sys.executable, "-m", "shuyaku.cli", "plan", str(inventory), "--out", str(plan)],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    doc = yaml.safe_load((ROOT / "stacks" / "Pulumi.local.yaml").read_text(encoding="utf-8"))
    doc["config"]["shuyaku:siteData"] = str(plan / "site-onprem.json")
    doc["config"]["shuyaku:inventory"] = str(inventory)
    # One server per platform role (the fake virt driver boots nothing real): each gets its SSH host key. The
    # shared zone borrows the dev cloud's spare fake host, which no other aggregate holds.
    doc["config"]["shuyaku:instances"] = True
    doc["config"]["shuyaku:instanceLimit"] = 1
    doc["config"]["shuyaku:zoneHosts"]["shared"] = [HOST]
    path = workdir / f"Pulumi.{STACK}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def stack(cloud: Any, workdir: Path, config: Path, team_env: dict[str, str]) -> Iterator[Stack]:
    st = Stack(STACK, workdir / "state", config_source=config, env_extra=team_env)
    yield st
    if st.shadow_dir.exists():  # whatever a test deployed goes, and the stack leaves the team's table
        if st.resources():
            st.destroy(capture=True)
        st.pulumi("stack", "rm", "--yes", "--stack", STACK, capture=True, check=False, cwd=st.shadow_dir)


def shuyaku(st: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    """A command as a user runs it; standard input is not a terminal (as in CI or a cron job)."""
    return subprocess.run([sys.executable, "-m", "shuyaku.cli", *args, "--stack", STACK, "--stack-config",
                           str(st.config_source), "--state", str(st.state_dir), "--lang", "en"],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, **st.env_extra}, timeout=1800)


def flat(proc: subprocess.CompletedProcess[str]) -> str:
    return " ".join((proc.stdout + proc.stderr).split())


def edit(config: Path, admin_cidrs: list[str]) -> None:
    doc = yaml.safe_load(config.read_text(encoding="utf-8"))
    doc["config"]["shuyaku:adminCidrs"] = admin_cidrs
    config.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")


def tenant_projects(cloud: Any, st: Stack) -> set[str]:
    """Projects in the cloud named as this stack's tenants are (the planned systems' ids)."""
    site = yaml.safe_load(Path(yaml.safe_load(st.config_path.read_text())["config"]["shuyaku:siteData"]).read_text())
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
    if stack.backend.is_file:
        assert "encryptionsalt" in stack.config_file.read_text(encoding="utf-8")
    else:  # the state is the team's: in the database (no file state here), its passphrase salt with it
        assert not (stack.state_dir / ".pulumi").exists()
        assert stack.export()["deployment"]["secrets_providers"]["state"]["salt"]
    again = shuyaku(stack, "deploy")  # no --yes and no terminal: fine, since there is nothing to confirm
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert f"Stack {STACK}: no changes." in flat(again) and "not a terminal" not in flat(again)


def test_each_server_gets_the_host_key_it_publishes_and_provision_pins_it(stack: Stack, cloud: Any,
                                                                           workdir: Path) -> None:
    """After the deploy above (a second one changed nothing, so the keys were kept): every server's public host
    key is in `ansible_inventory`, Nova holds user data giving the guest exactly that key, and `shuyaku provision
    --stack` writes known_hosts from them; a host whose key is not published is refused."""
    from cryptography.hazmat.primitives import serialization

    from shuyaku.provision.hostvars import HOST_KEYS_VAR
    from shuyaku.provision.inventory import InventoryError, outputs_to_inventory, pin_host_keys

    inventory = stack.outputs()["ansible_inventory"]
    hosts = {h: v for group in inventory.values() for h, v in group.items()}
    servers = {s.name: s for s in cloud.compute.servers(details=True, all_projects=True) if s.name in hosts}
    assert hosts and set(servers) == set(hosts), (sorted(hosts), sorted(servers))
    published = {h: v[HOST_KEYS_VAR] for h, v in hosts.items()}
    assert all(len(keys) == 1 and keys[0].startswith("ssh-ed25519 ") for keys in published.values())
    assert len({keys[0] for keys in published.values()}) == len(published)
    for name, server in servers.items():
        # The admin API shows user data (microversion 2.3): what the guest's cloud-init will read.
        shown = cloud.compute.get(f"/servers/{server.id}", microversion="2.3").json()["server"]
        doc = yaml.safe_load(base64.b64decode(shown["OS-EXT-SRV-ATTR:user_data"]))
        private = serialization.load_ssh_private_key(doc["ssh_keys"]["ed25519_private"].encode(), password=None)
        public = private.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                                   serialization.PublicFormat.OpenSSH).decode()
        assert [public] == published[name], name
    shown_outputs = stack.pulumi("stack", "output", "--json", "--show-secrets", "--stack", STACK, capture=True,
                                 cwd=stack.shadow_dir).stdout
    assert "ssh-ed25519 " in shown_outputs and "PRIVATE KEY" not in shown_outputs  # in no output, even shown
    # `shuyaku provision --stack` as a user runs it; the limit matches no host, so Ansible contacts none of these
    # (the fake driver booted nothing), but the inventory and known_hosts are written first.
    artefacts = workdir / "provision"
    proc = subprocess.run([sys.executable, "-m", "shuyaku.cli", "provision", "--stack", STACK, "--limit",
                           "no-such-host", "--artifacts", str(artefacts), "--lang", "en"],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, **stack.env_extra}, timeout=600)
    assert f"applying site.yml to {len(hosts)} host(s)" in flat(proc), flat(proc)[-3000:]
    known = (artefacts / f"known_hosts-{STACK}").read_text(encoding="utf-8").splitlines()
    assert sorted(known) == sorted(f"{v['ansible_host']},{h} {published[h][0]}" for h, v in hosts.items())
    written = yaml.safe_load((artefacts / f"inventory-{STACK}.yml").read_text(encoding="utf-8"))
    assert "StrictHostKeyChecking=yes" in written["all"]["vars"]["ansible_ssh_common_args"]
    print(f"\n[safe-deploy] known_hosts-{STACK}:\n" + "\n".join(known))
    victim = sorted(hosts)[0]
    for group in inventory.values():
        group.get(victim, {}).pop(HOST_KEYS_VAR, None)
    with pytest.raises(InventoryError) as refused:
        pin_host_keys(outputs_to_inventory(inventory), workdir / "known_hosts-refused", "test")
    assert len(refused.value.problems) == 1 and f"{victim}.{HOST_KEYS_VAR}" in refused.value.problems[0]


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
