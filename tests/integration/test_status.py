"""Issue 15's "done when", on the dev cloud: the small town deployed by the engine; part of a wave migrated (a
vendor's user boots the planned servers into two tenants of wave 1, as a vendor stack would: tagged ports and
servers); a status recorded for last month; then changes made out of band (a tenant's instance quota raised, an
ingress rule added to a tenant's group, one migrated server deleted) and a status recorded for this month. The drift
(the quota) and the rule findings (the quota and the rule) are named, and so is the vendor hand-off published for the
tenant whose quota was raised (`shuyaku vendor publish`: clean first, then stale on `quotas.instances`), the progress
and the cost ratio moved as computed here from the plan and the catalogue, and the goal sheet shows both months
(screenshot and PDF by headless Chromium under build/artefacts/). The stack is destroyed at the end; every hand-made
change is undone.

"Verified" comes from a real `shuyaku verify` run (testinfra over SSH) against a real test host (scripts/test-hosts,
--name status) that the inventory names as a migrated system's server, and the VDI certificate's expiry is read from
that host over the same Ansible inventory. A vendor's own stack in the team state database (scripts/state-db) is
listed and refresh-previewed by the operator: not checked without the vendor's passphrase, clean with it, and its
out-of-band change named.

Run it under the shared lock: `flock /tmp/shuyaku-devcloud.lock .venv/bin/pytest tests/integration/test_status.py -x -q`.
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cloudlogin import CLOUD_ENV, operator, record_phase, undo_all, vendor_member
from smalltown import INVENTORY, Town

from shuyaku.contracts.plan import Plan
from shuyaku.deploy.engine import ROOT
from shuyaku.inventory.load import load
from shuyaku.plan import cost as costmod
from shuyaku.plan import dr as drmod

pytestmark = pytest.mark.integration

ARTEFACTS = ROOT / "build" / "artefacts"
RUN = uuid.uuid4().hex[:6]
TEST_HOSTS = ROOT / "scripts" / "test-hosts"
STATE_DB = ROOT / "scripts" / "state-db"
HOSTS_NAME = "status"
CERT_DAYS = 200
MOVING = ("jinji", "web")  # two systems of wave 1, one server each in the plan
NOW = datetime.now(UTC)
THIS_MONTH = NOW.strftime("%Y-%m")
LAST_MONTH = f"{NOW.year - 1}-12" if NOW.month == 1 else f"{NOW.year}-{NOW.month - 1:02d}"


def record(phase: str, seconds: float) -> None:
    record_phase("status", phase, seconds)


@pytest.fixture(scope="module")
def admin() -> Any:
    return operator()


@pytest.fixture(scope="module")
def town(small_town: Town, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The shared small town (conftest.py), with this module's own folder for its history, hand-offs and reports."""
    workdir = tmp_path_factory.mktemp("status")
    small_town.copy_plan(workdir)
    return {"stack": small_town.stack, "outputs": small_town.outputs, "plan": small_town.plan, "workdir": workdir}


def shuyaku(*args: str, env: dict[str, str] | None = None, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "shuyaku.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          env=env, timeout=timeout)


@pytest.fixture(scope="module")
def hosts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One real test host, named in an Ansible inventory as jinji's server (for verify) and as a VDI host (its
    certificate installed where the vdi_host role installs it: the role's packages are not needed for that)."""
    import yaml

    work = tmp_path_factory.mktemp("hosts")
    up = subprocess.run([str(TEST_HOSTS), "up", "1", "--name", HOSTS_NAME], capture_output=True, text=True, timeout=1800)
    assert up.returncode == 0, up.stderr[-3000:]
    try:
        made = yaml.safe_load(Path(up.stdout.strip().splitlines()[-1]).read_text(encoding="utf-8"))
        addr = made["all"]["children"]["servers"]["hosts"][f"{HOSTS_NAME}-1"]["ansible_host"]
        inv = work / "hosts.yml"
        inv.write_text(yaml.safe_dump({"all": {"vars": made["all"]["vars"], "children": {
            "servers": {"hosts": {"jinji-app-1": {"ansible_host": addr}}},
            "vdi_hosts": {"hosts": {"vdi-1": {"ansible_host": addr}}}}}}), encoding="utf-8")
        key, cert = work / "vdi-1.key", work / "vdi-1.pem"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-keyout", str(key), "-out", str(cert), "-days", str(CERT_DAYS), "-subj",
                        "/CN=vdi-1.small-town.example"], check=True, capture_output=True, timeout=60)
        env = {**os.environ, "PATH": f"{ROOT / '.venv' / 'bin'}:{os.environ.get('PATH', '')}",
               "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg")}
        for module, margs in (("ansible.builtin.file", "path=/etc/xrdp/tls state=directory mode=0750"),
                              ("ansible.builtin.copy", f"src={cert} dest=/etc/xrdp/tls/cert.pem mode=0644")):
            done = subprocess.run(["ansible", "-i", str(inv), "vdi_hosts", "-m", module, "-a", margs], env=env,
                                  capture_output=True, text=True, timeout=300)
            assert done.returncode == 0, done.stdout[-2000:]
        (work / "suite").mkdir()
        (work / "suite" / "test_migrated_server.py").write_text(
            "def test_the_server_is_up_and_answers_ssh(host):\n    assert host.service('ssh').is_running\n")
        yield inv
    finally:
        subprocess.run([str(TEST_HOSTS), "down", "--name", HOSTS_NAME], capture_output=True, text=True, timeout=300)


def status(town: dict[str, Any], *args: str, vendor_state: str | None = None) -> subprocess.CompletedProcess[str]:
    """The command as the monthly timer runs it, with the operator's admin login. The vendor spaces are, by default,
    the file backend's folders `vendor publish` writes hand-offs to (the platform's state is a file backend here)."""
    st, workdir = town["stack"], town["workdir"]
    env = {**os.environ, **CLOUD_ENV}
    env.pop("PULUMI_BACKEND_URL", None)  # this stack's state is the file backend in its own folder
    return subprocess.run([sys.executable, "-m", "shuyaku.cli", "status", "--stack", st.name, "--stack-config",
                           str(st.config_file), "--root", str(ROOT), "--cloud", "dev-admin", "--state", str(st.state_dir),
                           "--history", str(workdir / "history.sqlite"), "--junit", str(workdir / "verify" / "junit.xml"),
                           "--artefacts", str(workdir / "artefacts"), "--vendor-state",
                           vendor_state or str(vendor_spaces(town)), *args],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=900)


def vendor_spaces(town: dict[str, Any]) -> Path:
    folder = town["workdir"] / "vendor-state"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder


def publish_handoff(town: dict[str, Any], tenant: str) -> str:
    """`shuyaku vendor publish` as the operator runs it for a file-backed platform; returns the stack's label."""
    st = town["stack"]
    env = {k: v for k, v in os.environ.items() if k != "PULUMI_BACKEND_URL"}
    proc = shuyaku("vendor", "publish", "--stack", st.name, "--state", str(st.state_dir), "--vendor-state",
                   str(vendor_spaces(town)), "--tenant", tenant, "--lang", "en", env=env)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert f"shuyaku-handoff/onprem-{tenant}" in proc.stdout, proc.stdout
    return f"vendor_{tenant}:shuyaku-handoff/onprem-{tenant}"


def migrate(admin: Any, tenant: dict[str, Any], undo: list[Callable[[], Any]]) -> list[Any]:
    """Boot the tenant's planned servers as its vendor would: a tagged port on the tenant network, a tagged server."""
    _, vendor = vendor_member(admin, f"status-vendor-{tenant['system_id']}-{RUN}", tenant, undo)
    made = []
    for group in tenant["servers"]:
        flavor = vendor.compute.find_flavor(group["flavor"], ignore_missing=False)
        image = vendor.image.find_image(group["image"], ignore_missing=False)
        for i in range(group["count"]):
            name = f"{tenant['system_id']}-{group['role']}-{i + 1}"
            port = vendor.network.create_port(name=name, network_id=tenant["network_id"],
                                              security_group_ids=list(tenant["security_group_ids"].values()))
            vendor.network.set_tags(port, tenant["tags"])
            server = vendor.compute.create_server(name=name, flavor_id=flavor.id, image_id=image.id,
                                                  networks=[{"port": port.id}], tags=tenant["tags"],
                                                  availability_zone=tenant["availability_zone"])
            undo.append(lambda p=port: admin.network.delete_port(p, ignore_missing=True))
            undo.append(lambda s=server: admin.compute.wait_for_delete(
                admin.compute.delete_server(s, ignore_missing=True) or s, wait=120))
            made.append(server)
    for s in made:
        admin.compute.wait_for_server(s, status="ACTIVE", failures=["ERROR"], wait=180)
    return made


def expected_ratio(admin: Any, plan: Plan, workdir: Path, migrated: set[str], active: int) -> tuple[int, float]:
    """Cost now as docs/status.md defines it, from the plan, the catalogue and what this test made and reads."""
    loaded = load(INVENTORY)
    cat, inv = loaded.catalogue, loaded.inventory
    assert cat is not None
    by_site: dict[str, set[str]] = {"onprem": set(), "dr": set()}
    for a in admin.compute.aggregates():
        site = (a.metadata or {}).get("shuyaku_site")
        if site in by_site:
            by_site[site] |= set(a.hosts or [])
    # The VDI pools' hosts are priced in the plan's thin-client line, not as platform hosts: the site data lists
    # them in the zones beside the packed hosts the plan places (its host_loads). On the dev cloud the aggregates
    # hold its fake hosts instead (stacks/Pulumi.local.yaml zoneHosts), so none is left out here.
    site_data = json.loads((workdir / "plan" / "site-onprem.json").read_text(encoding="utf-8"))
    packed = {h.name for z in plan.zones for h in z.host_loads}
    vdi = {h for z in site_data["zones"] for h in z["host_names"]} - packed
    assert len(vdi) == plan.cost.thin_client.vdi_hosts
    hosts, standby = len(by_site["onprem"] - vdi), len(by_site["dr"])
    with_dr = [t.system_id for t in plan.dr.tiers if t.tier != "none"]
    share = sum(1 for s in with_dr if s in migrated) / len(with_dr)
    fp = costmod.Footprint(hosts=hosts, storage_gb=0.0, standby_hosts=standby, migrated_servers=active,
                           migrated_systems=len(migrated),
                           backup_tb=round(plan.dr.backup_tb * share, 2) if standby else 0.0,
                           replica_tb=round(plan.dr.replica_tb * share, 2) if standby else 0.0,
                           dr_racks=drmod.racks(standby, cat) if standby else 0.0,
                           network_lines=plan.dr.network_lines if standby else 0)
    moved = inv.model_copy(update={"systems": [s for s in inv.systems if s.id in migrated]})
    lines = costmod.platform_lines(cat, fp) + costmod.carried_lines(moved, cat) + costmod.dr_lines(cat, fp)
    now = sum(x.annual_yen for x in lines) + sum(s.costs.total for s in inv.systems if s.id not in migrated)
    return now, round(now / plan.cost.baseline_annual_yen * 100, 1)


def record_status(town: dict[str, Any], period: str, label: str, *extra: str) -> tuple[int, dict[str, Any]]:
    t0 = time.monotonic()
    proc = status(town, "--period", period, "--format", "json", "--lang", "en", *extra)
    record(f"status --stack (small town, {label}), whole command", time.monotonic() - t0)
    assert proc.returncode in (0, 1), proc.stdout[-2000:] + proc.stderr[-2000:]
    return proc.returncode, json.loads(proc.stdout)


def _check_first_month(admin: Any, town: dict[str, Any], first: dict[str, Any], handoff: str,
                       servers: dict[str, list[Any]]) -> int:
    """Clean, part of wave 1 migrated: nothing drifted, no finding, progress and cost as computed; returns the cost."""
    plan = town["plan"]
    wave1 = next(w for w in plan.waves if w.number == 1)
    assert [(d["stack"], d["vendor"], d["checked"], d["changed"]) for d in first["drift"]] == [
        (town["stack"].name, None, True, []), (handoff, "zaimu", True, [])], first["drift"]
    assert first["rules"] == []
    assert first["rules_checked"] == ["live", "pack"]
    assert {s["system_id"] for s in first["systems"] if s["migrated"]} == set(MOVING)
    w1 = next(w for w in first["waves"] if w["number"] == 1)
    assert w1["migrated"] == len(MOVING) and w1["tenants_ready"] == len(wave1.systems)
    # verified: jinji's server passed the verify run above; web's was not verified
    assert {s["system_id"]: s["verified"] for s in first["systems"] if s["system_id"] in MOVING} == {
        "jinji": "passed", "web": "not_run"}
    assert w1["verified"] == 1
    [cert] = [e for e in first["operations"]["expiries"] if e["kind"] == "certificate"]
    assert (cert["name"], cert["owner"], cert["error"], cert["soon"]) == (
        "CN=vdi-1.small-town.example", "vdi-1:/etc/xrdp/tls/cert.pem", None, False)
    assert CERT_DAYS - 1 <= cert["days_left"] <= CERT_DAYS
    now1, ratio1 = expected_ratio(admin, plan, town["workdir"], set(MOVING), sum(len(v) for v in servers.values()))
    assert (first["cost"]["now_yen"], first["cost"]["ratio_pct"]) == (now1, ratio1)
    return now1


def _change_out_of_band(admin: Any, outputs: dict[str, Any], servers: dict[str, list[Any]],
                        undo: list[Callable[[], Any]]) -> None:
    """A quota raised (drift and a finding), a rule added (a finding), a migrated server deleted."""
    quota_of = outputs["tenants"]["zaimu"]
    admin.set_compute_quotas(quota_of["project_id"], instances=quota_of["quotas"]["instances"] + 5)
    undo.append(lambda: admin.set_compute_quotas(quota_of["project_id"], instances=quota_of["quotas"]["instances"]))
    opened = outputs["tenants"]["jinji"]
    rule = admin.network.create_security_group_rule(
        security_group_id=opened["security_group_ids"]["tenant"], direction="ingress", protocol="tcp",
        port_range_min=3389, port_range_max=3389, remote_ip_prefix="0.0.0.0/0", project_id=opened["project_id"])
    undo.append(lambda: admin.network.delete_security_group_rule(rule, ignore_missing=True))
    gone = servers["web"][0]
    admin.compute.wait_for_delete(admin.compute.delete_server(gone) or gone, wait=120)


def _check_second_month(admin: Any, town: dict[str, Any], second: dict[str, Any], handoff: str,
                        servers: dict[str, list[Any]]) -> int:
    """After the out-of-band changes: each named, web no longer migrated, the cost recomputed; returns the cost."""
    assert second["drift"][0]["stack"] == town["stack"].name
    drifted = second["drift"][0]["changed"]
    print("[status] drift:", json.dumps(drifted, indent=1))
    assert any(d["type"] == "openstack:compute/quotaSetV2:QuotaSetV2" and "zaimu" in d["name"]
               and "instances" in d["keys"] for d in drifted), drifted
    # the hand-off still tells zaimu's vendor the planned quota: named as stale, with the field
    [stale] = [d for d in second["drift"] if d["stack"] == handoff]
    assert stale["checked"] and [(c["type"], c["name"], c["op"], c["keys"]) for c in stale["changed"]] == [
        ("shuyaku:vendor:Handoff", "zaimu", "stale", ["quotas.instances"])], stale
    found = {(r["id"], r["system_id"]) for r in second["rules"] if r["source"] == "live"}
    assert ("live.quota", "zaimu") in found and ("live.sg_open_ingress", "jinji") in found, found
    assert {s["system_id"] for s in second["systems"] if s["migrated"]} == {"jinji"}
    web = next(s for s in second["systems"] if s["system_id"] == "web")
    assert web["tenant_ready"] and web["active_servers"] == 0 and not web["migrated"]
    assert next(s for s in second["systems"] if s["system_id"] == "jinji")["verified"] == "passed"
    now2, ratio2 = expected_ratio(admin, town["plan"], town["workdir"], {"jinji"}, len(servers["jinji"]))
    assert (second["cost"]["now_yen"], second["cost"]["ratio_pct"]) == (now2, ratio2)
    return now2


def test_status_names_drift_and_findings_and_moves_progress_and_cost_as_computed(admin: Any, town: dict[str, Any],
                                                                                 hosts: Path, tmp_path: Path) -> None:
    outputs = town["outputs"]
    assert set(MOVING) < set(next(w for w in town["plan"].waves if w.number == 1).systems)
    undo: list[Callable[[], Any]] = []
    try:
        servers = {sid: migrate(admin, outputs["tenants"][sid], undo) for sid in MOVING}
        verify = shuyaku("verify", "--inventory", str(hosts), "--group", "servers", "--suite", str(hosts.parent / "suite"),
                         "--junit", str(town["workdir"] / "verify" / "junit.xml"), "--html",
                         str(town["workdir"] / "verify" / "summary.html"), "--workers", "0", "--lang", "en")
        assert verify.returncode == 0, verify.stdout[-2000:] + verify.stderr[-2000:]
        handoff = publish_handoff(town, "zaimu")  # the tenant whose quota is raised below
        rc1, first = record_status(town, LAST_MONTH, "clean, part of wave 1 migrated", "--vdi-hosts", str(hosts))
        assert rc1 == 0, json.dumps({"rules": first["rules"], "drift": first["drift"]}, indent=1)[:4000]
        now1 = _check_first_month(admin, town, first, handoff, servers)

        _change_out_of_band(admin, outputs, servers, undo)
        rc2, second = record_status(town, THIS_MONTH, "after out-of-band changes", "--vdi-hosts", str(hosts))
        assert rc2 == 1
        assert _check_second_month(admin, town, second, handoff, servers) != now1

        since = status(town, "--show", "latest", "--since", LAST_MONTH, "--format", "json", "--lang", "en")
        assert since.returncode == 1, since.stderr
        changes = json.loads(since.stdout)["comparison"]["changes"]
        texts = " | ".join(c["text"]["en"] for c in changes)
        assert "web" in texts and "no longer migrated" in texts and "live.quota" in texts and "QuotaSetV2" in texts
        _goal_sheet(town, tmp_path, first, second)
    finally:
        assert undo_all(undo) == []


def _goal_sheet(town: dict[str, Any], tmp_path: Path, first: dict[str, Any], second: dict[str, Any]) -> None:
    site = tmp_path / "goal-sheet"
    proc = status(town, "--show", "latest", "--publish", str(site), "--pdf")
    assert proc.returncode == 1, proc.stderr
    for page, word in (("index.html", "目標管理シート"), ("index.en.html", "Goal sheet")):
        html = (site / page).read_text(encoding="utf-8")
        assert word in html
        assert html.count('<tr class="month">') == 2 and LAST_MONTH in html and THIS_MONTH in html
        for run in (first, second):
            assert f"{run['cost']['ratio_pct']:.1f}%" in html
    data = json.loads((site / "goal-sheet.json").read_text(encoding="utf-8"))
    assert [t["period"] for t in data["trend"]] == [LAST_MONTH, THIS_MONTH] and data["since"] == LAST_MONTH
    assert (site / "goal-sheet.pdf").stat().st_size > 10_000
    chromium = shutil.which("chromium")
    assert chromium, "chromium is not installed: run scripts/browser-deps"
    shot = ARTEFACTS / "goal-sheet-small-town.png"
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1000,1800", f"--screenshot={shot}",
                    (site / "index.html").as_uri()], capture_output=True, text=True, timeout=180, check=True)
    assert shot.stat().st_size > 20_000
    shutil.copyfile(site / "goal-sheet.pdf", ARTEFACTS / "goal-sheet-small-town.pdf")


def test_the_team_database_keeps_each_run_in_a_table_of_its_own(town: dict[str, Any]) -> None:
    """With the team backend (scripts/state-db), runs go into `platform.shuyaku_status_runs` beside Pulumi's state."""
    import psycopg

    from shuyaku.deploy import backend as backends
    from shuyaku.status import history

    env = subprocess.run([str(ROOT / "scripts" / "state-db"), "env"], capture_output=True, text=True, timeout=60)
    assert env.returncode == 0, "the team state database is not running: scripts/state-db up\n" + env.stderr
    line = next(x for x in env.stdout.splitlines() if x.startswith("export PULUMI_BACKEND_URL="))
    url = shlex.split(line.split("=", 1)[1])[0]
    store = history.open_store(None, backends.resolve(url, Path("/nonexistent")), Path("/nonexistent"))
    assert isinstance(store, history.PostgresStore) and store.table == "platform.shuyaku_status_runs"
    local = history.runs(history.SqliteStore(town["workdir"] / "history.sqlite"), town["stack"].name)
    assert len(local) == 2, "the first test records two runs"
    stack = f"status-test-{RUN}"
    try:
        for run in local:
            store.save(run.model_copy(update={"stack": stack}))
        back = history.runs(store, stack)
        assert [r.id for r in back] == [r.id for r in local]
        assert back[1].cost == local[1].cost and back[1].drift == local[1].drift
    finally:
        with psycopg.connect(store.conninfo) as db:
            db.execute(f"DELETE FROM {store.table} WHERE stack = %s", (stack,))


# The secret output is what makes the state need the vendor's passphrase: a state without any secret is read
# (and refreshed) without one, which the engine allows and status then reports as checked.
VENDOR_PROGRAM = """\
import pulumi
import pulumi_openstack as openstack

openstack.networking.SecGroup("app", name="status-vendor-app-{run}", description="the vendor's application")
pulumi.export("db_password", pulumi.Output.secret("{secret}"))
"""


def _state_db_url(*vendor: str) -> str:
    env = subprocess.run([str(STATE_DB), "env", *(("--vendor", *vendor) if vendor else ())], capture_output=True,
                         text=True, timeout=60)
    assert env.returncode == 0, "the team state database is not running: scripts/state-db up\n" + env.stderr
    line = next(x for x in env.stdout.splitlines() if x.startswith("export PULUMI_BACKEND_URL="))
    return shlex.split(line.split("=", 1)[1])[0]


@pytest.fixture
def vendor_stack(admin: Any, town: dict[str, Any], tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A vendor's own stack in its own space of the team database, deployed by the vendor with its own login and
    its own passphrase (one security group in jinji's tenant); removed with the vendor's space at the end."""
    from shuyaku.deploy.engine import engine_bin

    name = f"st{RUN}"
    added = subprocess.run([str(STATE_DB), "vendor", "add", name], capture_output=True, text=True, timeout=120)
    assert added.returncode == 0, added.stderr
    tenant = town["outputs"]["tenants"]["jinji"]
    cleanup: list[Callable[[], Any]] = []
    user, conn = vendor_member(admin, f"status-stack-jinji-{RUN}", tenant, cleanup)
    passphrase = tmp_path / "vendor-passphrase"
    passphrase.write_text(secrets.token_urlsafe(24), encoding="utf-8")
    passphrase.chmod(0o600)
    project = tmp_path / "vendor-app"
    project.mkdir()
    (project / "Pulumi.yaml").write_text(f"name: status-vendor-app\nruntime:\n  name: python\n  options:\n"
                                         f"    toolchain: pip\n    virtualenv: {sys.prefix}\n", encoding="utf-8")
    (project / "__main__.py").write_text(VENDOR_PROGRAM.format(run=RUN, secret=secrets.token_urlsafe(12)), encoding="utf-8")
    auth = conn.config.config["auth"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PULUMI_", "OS_", "PG"))}
    env.update(PATH=f"{engine_bin()}:{os.environ.get('PATH', '')}", PULUMI_HOME=str(tmp_path / "vendor-home"),
               PULUMI_SKIP_UPDATE_CHECK="true", PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION="true",
               PULUMI_BACKEND_URL=_state_db_url(name), PULUMI_CONFIG_PASSPHRASE_FILE=str(passphrase),
               OS_AUTH_URL=auth["auth_url"], OS_USERNAME=user.name, OS_PASSWORD=auth["password"],
               OS_PROJECT_ID=tenant["project_id"], OS_USER_DOMAIN_NAME="Default", OS_REGION_NAME=admin.config.region_name)

    def pulumi(*args: str) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(["pulumi", *args, "--non-interactive"], cwd=project, env=env, capture_output=True,
                              text=True, timeout=600)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
        return proc

    try:
        pulumi("stack", "init", "dev")
        pulumi("up", "--yes", "--skip-preview", "--stack", "dev")
        sg = next(r for r in json.loads(pulumi("stack", "export", "--stack", "dev").stdout)["deployment"]["resources"]
                  if r["type"] == "openstack:networking/secGroup:SecGroup")
        yield {"name": name, "passphrase": passphrase, "group_id": sg["id"],
               "label": f"vendor_{name}:status-vendor-app/dev"}
        pulumi("destroy", "--yes", "--skip-preview", "--stack", "dev")
    finally:
        subprocess.run([str(STATE_DB), "vendor", "remove", name, "--drop-state"], capture_output=True, timeout=120)
        assert undo_all(cleanup) == []


def test_the_operator_checks_each_vendor_stack_in_the_team_database(admin: Any, town: dict[str, Any],
                                                                   vendor_stack: dict[str, Any]) -> None:
    """Listed from the vendor's space with the operator's login; without the vendor's passphrase it is "not checked"
    (never clean, no alarm); with it, clean, and then a change made outside Pulumi is named."""
    operator_url = _state_db_url()

    def vendor_drift(*extra: str) -> dict[str, Any]:
        proc = status(town, "--no-record", "--format", "json", "--lang", "en", *extra, vendor_state=operator_url)
        assert proc.returncode in (0, 1), proc.stderr[-2000:]
        found = [d for d in json.loads(proc.stdout)["drift"] if d["stack"] == vendor_stack["label"]]
        assert len(found) == 1, [d["stack"] for d in json.loads(proc.stdout)["drift"]]
        return found[0]

    given = f"--vendor-passphrase={vendor_stack['name']}={vendor_stack['passphrase']}"
    locked = vendor_drift()
    assert (locked["checked"], locked["why"], locked["vendor"]) == (False, "no_passphrase", vendor_stack["name"])
    clean = vendor_drift(given)
    assert clean["checked"] and clean["resources"] >= 1 and clean["changed"] == [], clean
    admin.network.update_security_group(vendor_stack["group_id"], description="changed by hand")
    t0 = time.monotonic()
    changed = vendor_drift(given)
    record("status with a vendor stack in the team database", time.monotonic() - t0)
    assert changed["checked"] and [(c["type"], c["name"], c["keys"]) for c in changed["changed"]] == [
        ("openstack:networking/secGroup:SecGroup", "app", ["description"])], changed
