"""Vendors handed only their own tenant: `shuyaku vendor grant`, the bundle, `revoke` and `update`, for real.

The platform (the small town cut to four systems, smalltown.tiny_town, planned by `shuyaku plan`) is deployed onto
the dev cloud with its state in the PostgreSQL state database (scripts/state-db). The operator grants two tenants
to two vendors; vendor A then deploys through its bundle only, from a clean environment (no variable of the
operator's, a PULUMI_HOME of its own): its application credential, its database role's URL, its own passphrase. Its
servers must land in its tenant, and it must fail to read the platform's state or vendor B's (psql, `pulumi stack
ls`, a StackReference). After `revoke`, its credential gets 401 from Keystone and its database login is refused.
Missing engine, cloud or database is a failure naming the script to run, never a skip.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cloudlogin import CLOUDS, operator, record_phase
from smalltown import tiny_town

from shuyaku.deploy.engine import ROOT, Stack, engine_bin

pytestmark = pytest.mark.integration

CACHE = Path(os.environ.get("SHUYAKU_CACHE", "/var/cache/shuyaku"))
STATE_DB = ROOT / "scripts" / "state-db"
PSQL = "/usr/lib/postgresql/15/bin/psql"
VENDOR_A, VENDOR_B = "juki", "zeimu"  # tenants of the small town; their state-db vendor names are the same
RUN = secrets.token_hex(3)
SUITE = "vendor-bundle"


def sh(args: list[str], env: dict[str, str] | None = None, cwd: Path | None = None,
       timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)


def ok(proc: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    if proc.returncode != 0:
        pytest.fail(f"{' '.join(map(str, proc.args))} exited {proc.returncode}\n{proc.stdout[-3000:]}\n"
                    f"{proc.stderr[-3000:]}", pytrace=False)
    return proc


def operator_url() -> str:
    line = ok(sh([str(STATE_DB), "env"])).stdout
    match = re.search(r"^export PULUMI_BACKEND_URL='([^']+)'$", line, re.MULTILINE)
    assert match, line
    return match.group(1)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("vendor-bundle")


@pytest.fixture(scope="module")
def state_db() -> Iterator[None]:
    if not (engine_bin() / "pulumi").exists():
        pytest.fail("the Pulumi engine is not built: run scripts/build-engine", pytrace=False)
    was_running = sh([str(STATE_DB), "status"]).returncode == 0
    if not was_running:
        ok(sh([str(STATE_DB), "--lang", "en", "up"]))
    had = set(ok(sh([str(STATE_DB), "vendor", "list"])).stdout.split())
    if had & {VENDOR_A, VENDOR_B}:
        pytest.fail(f"state-db already has vendor(s) {had & {VENDOR_A, VENDOR_B}}; this test would take them over",
                    pytrace=False)
    yield
    for name in (VENDOR_A, VENDOR_B):  # the test's own vendors, with the hand-offs it published
        ok(sh([str(STATE_DB), "vendor", "remove", name, "--drop-state"]))
        (CACHE / "vendors" / name / "passphrase").unlink(missing_ok=True)
    if not was_running:
        sh([str(STATE_DB), "down"])


@pytest.fixture(scope="module")
def op_env(workdir: Path, state_db: None) -> dict[str, str]:
    """The operator's environment: the team's database, the platform's passphrase, the cloud's admin."""
    phrase = workdir / "platform-passphrase"
    phrase.write_text(secrets.token_urlsafe(24))
    phrase.chmod(0o600)
    return {**os.environ, "PULUMI_BACKEND_URL": operator_url(), "PULUMI_CONFIG_PASSPHRASE_FILE": str(phrase),
            "OS_CLIENT_CONFIG_FILE": str(CLOUDS), "OS_CLOUD": "dev-admin", "SHUYAKU_LANG": "en"}


@pytest.fixture(scope="module")
def platform(workdir: Path, op_env: dict[str, str]) -> Iterator[tuple[Stack, dict[str, Any], Path]]:
    admin = operator()
    plan, inventory = workdir / "plan", tiny_town(workdir / "town")
    ok(sh([sys.executable, "-m", "shuyaku.cli", "plan", str(inventory), "--out", str(plan)], cwd=ROOT))
    site = plan / "site-onprem.json"
    env = {k: op_env[k] for k in ("PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE_FILE", "OS_CLIENT_CONFIG_FILE",
                                  "OS_CLOUD")}
    st = Stack(f"vb{RUN}", workdir / "state", config_source=ROOT / "stacks" / "Pulumi.local.yaml", env_extra=env)
    st.ensure()
    try:
        st.set_config("shuyaku:siteData", str(site))
        st.set_config("shuyaku:inventory", str(inventory))
        t0 = time.monotonic()
        up = st.up(capture=True, check=False)
        record_phase(SUITE, "platform pulumi up on PostgreSQL (tiny town)", time.monotonic() - t0)
        assert up.returncode == 0, up.stdout[-4000:] + up.stderr[-2000:]
        yield st, admin, site
    finally:
        st.destroy(capture=True)
        st.pulumi("stack", "rm", "--yes", "--force", "--stack", st.name, capture=True, cwd=st.shadow_dir, check=False)


def shuyaku(*args: str, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = sh([sys.executable, "-m", "shuyaku.cli", "vendor", *args], env=env, cwd=ROOT)
    return ok(proc) if check else proc


@pytest.fixture(scope="module")
def bundles(workdir: Path, platform: Any, op_env: dict[str, str]) -> Iterator[dict[str, Path]]:
    st, _, site = platform
    made: dict[str, Path] = {}
    for tenant in (VENDOR_A, VENDOR_B):
        out = workdir / f"bundle-{tenant}"
        t0 = time.monotonic()
        proc = shuyaku("grant", "--stack", st.name, "--tenant", tenant, "--out", str(out), "--expires-days", "2",
                       "--state", str(workdir / "state"), "--site-data", str(site), env=op_env)
        record_phase(SUITE, f"vendor grant {tenant} (credential, role, hand-off, bundle)", time.monotonic() - t0)
        for leaked in secrets_of(out):
            assert leaked not in proc.stdout + proc.stderr, "grant printed a secret"
        made[tenant] = out
    yield made
    for tenant in made:  # a vendor user left behind would outlive the platform's groups
        shuyaku("revoke", "--tenant", tenant, "--stack", st.name, "--state", str(workdir / "state"), env=op_env,
                check=False)


def secrets_of(bundle: Path) -> list[str]:
    import yaml

    clouds = yaml.safe_load((bundle / "clouds.yaml").read_text())["clouds"]
    found = [e["auth"]["application_credential_secret"] for e in clouds.values()]
    found.append((bundle / "passphrase").read_text().strip())
    found.append((bundle / "state-db.pgpass").read_text().strip().rsplit(":", 1)[1])
    return found


def vendor_env(bundle: Path, workdir: Path) -> dict[str, str]:
    """What the vendor's shell holds after `source env.sh`, starting from nothing of the operator's: a PATH with
    the engine and Python, a HOME and a PULUMI_HOME of its own (the OpenStack provider plugin linked in)."""
    home = workdir / f"home-{bundle.name}"
    (home / ".pulumi").mkdir(parents=True, exist_ok=True)
    plugins = home / ".pulumi" / "plugins"
    if not plugins.exists():
        plugins.symlink_to(CACHE / "engine" / "pulumi-home" / "plugins")
    base = {"PATH": f"{engine_bin()}:{ROOT / '.venv' / 'bin'}:/usr/bin:/bin", "HOME": str(home),
            "PULUMI_HOME": str(home / ".pulumi"), "PULUMI_SKIP_UPDATE_CHECK": "true", "LANG": "C.UTF-8",
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true"}
    dumped = ok(sh(["bash", "-c", f"source {bundle / 'env.sh'} && env -0"], env=base)).stdout
    env = dict(item.split("=", 1) for item in dumped.split("\0") if "=" in item)
    assert not {k for k in env if k.startswith(("PG", "SHUYAKU"))} - {"PGPASSWORD"}, env.keys()
    return env


def pulumi(env: dict[str, str], *args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = sh(["pulumi", *args, "--non-interactive"], env=env, cwd=cwd)
    return ok(proc) if check else proc


def psql_as(bundle: Path, vendor: str, sql: str) -> subprocess.CompletedProcess[str]:
    port = os.environ.get("SHUYAKU_STATE_DB_PORT", "55432")
    conn = (f"host=127.0.0.1 port={port} dbname=shuyaku_state user=shuyaku_vendor_{vendor} sslmode=verify-full "
            f"sslrootcert={bundle / 'ca.crt'} passfile={bundle / 'state-db.pgpass'} connect_timeout=10")
    return sh([PSQL, "-X", "-At", "-v", "ON_ERROR_STOP=1", conn, "-c", sql], env={"PATH": "/usr/bin:/bin"})


def test_the_bundle_is_private_and_complete(bundles: dict[str, Path]) -> None:
    out = bundles[VENDOR_A]
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    for p in out.rglob("*"):
        if p.is_symlink():
            continue
        assert stat.S_IMODE(p.stat().st_mode) == (0o700 if p.is_dir() else 0o600), p
    names = {p.name for p in out.iterdir()}
    assert {"clouds.yaml", "passphrase", "state-db.pgpass", "ca.crt", "env.sh", "bundle.json", "README.md",
            "project"} <= names
    info = json.loads((out / "bundle.json").read_text())
    assert info["handoff_stack"] == "organization/shuyaku-handoff/onprem-juki"
    assert "table=vendor_juki.pulumi_state" in info["backend_url"] and "shuyaku_vendor_juki@" in info["backend_url"]
    assert "platform" not in info["backend_url"] and "shuyaku_operator" not in info["backend_url"]
    readme = (out / "README.md").read_text()
    assert "ベンダー用バンドル" in readme and "English:" in readme
    text = "\n".join(p.read_text(errors="replace") for p in out.rglob("*") if p.is_file())
    assert (CACHE / "state-db" / "secrets" / "operator.pgpass").read_text().strip().rsplit(":", 1)[1] not in text
    main = (out / "project" / "__main__.py").read_text()
    # its one StackReference names the hand-off (the platform stack appears only in the generating command's note)
    assert 'or "organization/shuyaku-handoff/onprem-juki"' in main and main.count("StackReference(") == 1
    assert "pulumi.StackReference(HANDOFF_STACK)" in main


def test_vendor_deploys_through_its_bundle_only_and_reads_nothing_else(bundles: dict[str, Path], workdir: Path,
                                                                      platform: Any, op_env: dict[str, str]) -> None:
    st, admin, _ = platform
    tenants = st.outputs()["tenants"]
    mine = tenants[VENDOR_A]
    env = vendor_env(bundles[VENDOR_A], workdir)
    proj = bundles[VENDOR_A] / "project"
    (proj / "venv").symlink_to(ROOT / ".venv")
    main = proj / "__main__.py"
    # The dev cloud offers one tiny image and one compute host: the vendor picks an allowed image and one server.
    text = re.sub(r'image="[^"]+"', f'image="{mine["allowed_images"][0]}"', main.read_text())
    main.write_text(re.sub(r"count=\d+", "count=1", text))
    pulumi(env, "stack", "init", "onprem", cwd=proj)
    try:
        t0 = time.monotonic()
        up = pulumi(env, "up", "--yes", "--skip-preview", cwd=proj, check=False)
        faults = [(s.name, (s.fault or {}).get("message")) for s in
                  admin.compute.servers(all_projects=True, project_id=mine["project_id"]) if s.status == "ERROR"]
        assert up.returncode == 0, f"Nova faults: {faults}\n{up.stdout[-3000:]}"
        record_phase(SUITE, "vendor pulumi up through its bundle", time.monotonic() - t0)
        servers = list(admin.compute.servers(all_projects=True, project_id=mine["project_id"]))
        assert servers and all(s.status == "ACTIVE" for s in servers), [(s.name, s.status) for s in servers]
        for s in servers:
            assert all(p.network_id == mine["network_id"] for p in admin.network.ports(device_id=s.id)), s.name

        # Its database role sees its own table only.
        assert psql_as(bundles[VENDOR_A], VENDOR_A, "SELECT count(*) FROM vendor_juki.pulumi_state").returncode == 0
        for table in ("platform.pulumi_state", "vendor_zeimu.pulumi_state"):
            refused = psql_as(bundles[VENDOR_A], VENDOR_A, f"SELECT count(*) FROM {table}")
            assert refused.returncode != 0 and "permission denied" in refused.stderr, refused.stderr
        # `pulumi stack ls --all` lists its hand-off and its own stack, nothing of the platform or vendor B.
        # (the engine names the current project's stacks without their project)
        listed = {s["name"] if "/" in s["name"] else f"organization/vendor-juki/{s['name']}"
                  for s in json.loads(pulumi(env, "stack", "ls", "--all", "--json", cwd=proj).stdout)}
        assert listed == {"organization/shuyaku-handoff/onprem-juki", "organization/vendor-juki/onprem"}, listed
        # A StackReference to the platform's stack (or vendor B's hand-off) fails at preview.
        for other in (f"organization/shuyaku-platform/{st.name}", "organization/shuyaku-handoff/onprem-zeimu"):
            pulumi(env, "config", "set", "handoffStack", other, cwd=proj)
            preview = pulumi(env, "preview", cwd=proj, check=False)
            assert preview.returncode != 0 and "unknown stack" in preview.stdout + preview.stderr, preview.stdout[-2000:]
        pulumi(env, "config", "rm", "handoffStack", cwd=proj)
        # Its own URL pointed at the platform's table: the engine is refused by the database.
        sneaky = dict(env, PULUMI_BACKEND_URL=env["PULUMI_BACKEND_URL"].replace("vendor_juki.", "platform."))
        peek = pulumi(sneaky, "stack", "ls", "--all", "--json", cwd=proj, check=False)
        assert peek.returncode != 0 and "permission denied" in peek.stdout + peek.stderr, peek.stdout + peek.stderr
        # `vendor init` checks the reference up front: vendor B's space holds no hand-off for juki.
        env_b = vendor_env(bundles[VENDOR_B], workdir)
        init = sh([sys.executable, "-m", "shuyaku.cli", "vendor", "init", "--platform-stack",
                   f"organization/shuyaku-platform/{st.name}", "--tenant", VENDOR_A, "--dir", str(workdir / "wrong"),
                   "--site-data", str(platform[2]), "--lang", "en"], env=env_b, cwd=ROOT)
        assert init.returncode == 2 and "no hand-off stack organization/shuyaku-handoff/onprem-juki" in init.stderr, \
            init.stderr
        assert not (workdir / "wrong").exists()
        # Update: the hand-off is re-published; the vendor's edited __main__.py is kept (its generation is unchanged).
        upd = shuyaku("update", "--dir", str(bundles[VENDOR_A]), "--stack", st.name, "--state", str(workdir / "state"),
                      env=op_env)
        assert "__main__.py" in upd.stdout and main.read_text().count("count=1") >= 1
        assert pulumi(env, "preview", "--expect-no-changes", cwd=proj, check=False).returncode == 0
    finally:
        pulumi(env, "destroy", "--yes", "--skip-preview", cwd=proj, check=False)


def test_revoked_vendor_is_refused_by_keystone_and_the_database(bundles: dict[str, Path], platform: Any,
                                                                op_env: dict[str, str], workdir: Path) -> None:
    import requests
    import yaml

    st, admin, _ = platform
    out = bundles[VENDOR_B]
    entry = next(iter(yaml.safe_load((out / "clouds.yaml").read_text())["clouds"].values()))
    auth = entry["auth"]

    def token() -> requests.Response:
        body: dict[str, Any] = {"auth": {"identity": {"methods": ["application_credential"], "application_credential": {
            "id": auth["application_credential_id"], "secret": auth["application_credential_secret"]}}}}
        return requests.post(f"{auth['auth_url']}/auth/tokens", json=body, timeout=30)

    issued = token()
    assert issued.status_code == 201  # the credential works before the revocation
    held = issued.headers["X-Subject-Token"]
    compute = admin.session.get_endpoint(service_type="compute", interface="public")
    assert requests.get(f"{compute}/servers", headers={"X-Auth-Token": held}, timeout=30).status_code == 200
    assert psql_as(out, VENDOR_B, "SELECT 1").stdout.strip() == "1"
    proc = shuyaku("revoke", "--tenant", VENDOR_B, "--stack", st.name, "--state", str(workdir / "state"), env=op_env)
    assert "removed tenant zeimu" in proc.stdout and "database role removed" in proc.stdout
    # A token the vendor already held is refused at once (401), and no new one is issued: Keystone answers 404
    # for a credential that no longer exists.
    assert requests.get(f"{compute}/servers", headers={"X-Auth-Token": held}, timeout=30).status_code == 401
    again = token()
    assert again.status_code in (401, 404) and "X-Subject-Token" not in again.headers, again.text
    denied = psql_as(out, VENDOR_B, "SELECT 1")
    assert denied.returncode != 0 and "authentication failed" in denied.stderr, denied.stderr
    assert admin.identity.find_user("shuyaku-vendor-onprem-zeimu") is None
    # Its state (the hand-off) stays, in the operator's hands.
    kept = ok(sh([str(STATE_DB), "psql", "-At", "-c", "SELECT count(*) FROM vendor_zeimu.pulumi_state"])).stdout
    assert int(kept.strip()) > 0
