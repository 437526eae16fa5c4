"""Team state in PostgreSQL: the real engine against the state database of scripts/state-db, with real roles.

The programs here have no cloud resources (a ComponentResource per box, stack outputs, a secret, and a sleep for
the concurrency case), so nothing touches the dev cloud. The database is the one `scripts/state-db up` runs on
127.0.0.1:55432; the module starts it when it is down (and stops it again), and adds two vendors of its own that
it removes with their state at the end. Stacks the tests put into the platform's table are removed as well.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import stat
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from shuyaku.deploy.engine import EngineError, Stack, StackLocked

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
STATE_DB = ROOT / "scripts" / "state-db"
CACHE = Path(os.environ.get("SHUYAKU_CACHE", "/var/cache/shuyaku"))
BIN = CACHE / "engine" / "bin"
BASE = CACHE / "state-db"
PSQL = "/usr/lib/postgresql/15/bin/psql"
PORT = os.environ.get("SHUYAKU_STATE_DB_PORT", "55432")
RUN_ID = secrets.token_hex(3)

PROGRAM = """\
    import time
    from pathlib import Path

    import pulumi


    class Box(pulumi.ComponentResource):
        def __init__(self, name, opts=None):
            super().__init__("shuyakutest:state:Box", name, None, opts)
            self.register_outputs({})


    cfg = pulumi.Config()
    marker = cfg.get("marker") or "none"
    if not pulumi.runtime.is_dry_run():
        Path(f"ran-{marker}").touch()  # proof that this program ran
    for i in range(cfg.get_int("boxes") or 1):
        Box(f"box-{i}")
    if cfg.get("ref"):
        pulumi.export("peek", pulumi.StackReference(cfg.get("ref")).outputs)
    time.sleep(cfg.get_float("sleep") or 0)
    pulumi.export("marker", marker)
    pulumi.export("token", pulumi.Output.secret(f"token-of-{marker}"))
    """


def sh(args: list[str], env: dict[str, str] | None = None, cwd: Path | None = None,
       timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)


def ok(proc: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    if proc.returncode != 0:
        pytest.fail(f"{' '.join(proc.args)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}", pytrace=False)
    return proc


def backend_url(vendor: str | None = None) -> str:
    args = [str(STATE_DB), "env"] + (["--vendor", vendor] if vendor else [])
    line = ok(sh(args)).stdout.strip()
    match = re.search(r"^export PULUMI_BACKEND_URL='([^']+)'$", line, re.MULTILINE)
    assert match, line
    return match.group(1)


def psql(sql: str, vendor: str | None = None) -> subprocess.CompletedProcess[str]:
    return sh([str(STATE_DB), "psql", *(["--vendor", vendor] if vendor else []), "-At", "-v", "ON_ERROR_STOP=1",
               "-c", sql])


def base_env() -> dict[str, str]:
    # A developer's own backend, passphrase, cloud or libpq settings must not leak into these runs.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PULUMI_", "OS_", "PG"))}
    env.update(PATH=f"{BIN}{os.pathsep}{Path(sys.prefix) / 'bin'}{os.pathsep}{env.get('PATH', '')}",
               PULUMI_SKIP_UPDATE_CHECK="true", PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION="true",
               PULUMI_IGNORE_AMBIENT_PLUGINS="true")
    return env


@pytest.fixture(scope="module")
def state_db() -> Iterator[Path]:
    if not (BIN / "pulumi").exists():
        pytest.fail(f"the Pulumi engine is not built ({BIN / 'pulumi'} missing); run scripts/build-engine", pytrace=False)
    was_running = sh([str(STATE_DB), "status"]).returncode == 0
    if not was_running:
        ok(sh([str(STATE_DB), "--lang", "en", "up"], timeout=900))
    yield BASE
    if not was_running:
        ok(sh([str(STATE_DB), "down"]))
        assert sh([str(STATE_DB), "status"]).returncode == 3


@pytest.fixture(scope="module")
def vendors(state_db: Path) -> Iterator[tuple[str, str]]:
    names = (f"t{RUN_ID}a", f"t{RUN_ID}b")
    for name in names:
        ok(sh([str(STATE_DB), "vendor", "add", name]))
    yield names
    for name in names:
        sh([str(STATE_DB), "vendor", "remove", name, "--drop-state"])


class Actor:
    """One person or pipeline: their own PULUMI_HOME (so their own `pulumi login`), passphrase and checkout."""

    def __init__(self, tmp: Path, name: str, passphrase: str) -> None:
        self.home = tmp / f"{name}-home"
        self.home.mkdir()
        self.env = dict(base_env(), PULUMI_HOME=str(self.home), PULUMI_CONFIG_PASSPHRASE=passphrase)

    def pulumi(self, *args: str, cwd: Path, check: bool = True, env: dict[str, str] | None = None,
               timeout: float = 300) -> subprocess.CompletedProcess[str]:
        proc = sh(["pulumi", *args, "--non-interactive"], env=dict(self.env, **(env or {})), cwd=cwd, timeout=timeout)
        return ok(proc) if check else proc


def project(tmp: Path, name: str, config: dict[str, str] | None = None, stack: str = "dev", *,
            checkout: str | None = None) -> Path:
    proj = tmp / (checkout or name)
    proj.mkdir()
    (proj / "Pulumi.yaml").write_text(textwrap.dedent(f"""\
        name: {name}
        runtime:
          name: python
          options:
            toolchain: pip
            virtualenv: {sys.prefix}
        """))
    (proj / "__main__.py").write_text(textwrap.dedent(PROGRAM))
    if config:
        (proj / f"Pulumi.{stack}.yaml").write_text(
            "config:\n" + "".join(f"  {name}:{k}: {json.dumps(v)}\n" for k, v in config.items()))
    return proj


@pytest.fixture(scope="module")
def platform_stacks(state_db: Path) -> Iterator[list[str]]:
    """Fully qualified names of stacks the tests create in the platform's table; removed at the end."""
    made: list[str] = []
    yield made
    env = dict(base_env(), PULUMI_BACKEND_URL=backend_url(), PULUMI_CONFIG_PASSPHRASE="unused")
    for ref in made:
        sh(["pulumi", "stack", "rm", ref, "--force", "--remove-backups", "--yes", "--non-interactive"], env=env,
           cwd=state_db)
    left = ok(psql(f"SELECT key FROM platform.pulumi_state WHERE key LIKE '%statedb-{RUN_ID}-%'")).stdout.split()
    assert not left, f"test stacks left in the platform's table: {left}"


def test_login_init_up_and_a_second_up_changes_nothing(tmp_path, platform_stacks):
    url = backend_url()
    op = Actor(tmp_path, "operator", "operator-passphrase")
    name = f"statedb-{RUN_ID}-first"
    proj = project(tmp_path, name, {"boxes": "3", "marker": "first"})
    login = op.pulumi("login", url, cwd=proj)
    assert "Logged in" in login.stdout + login.stderr
    assert op.pulumi("whoami", "-v", cwd=proj).stdout.count(url) == 1
    op.pulumi("stack", "init", "dev", "--secrets-provider", "passphrase", cwd=proj)
    platform_stacks.append(f"organization/{name}/dev")
    first = op.pulumi("up", "--yes", "--skip-preview", cwd=proj)
    assert "4 created" in first.stdout  # the stack and three boxes
    second = op.pulumi("up", "--yes", "--skip-preview", "--expect-no-changes", cwd=proj)
    assert "4 unchanged" in second.stdout and "created" not in second.stdout
    outputs = json.loads(op.pulumi("stack", "output", "--json", "--show-secrets", cwd=proj).stdout)
    assert outputs == {"marker": "first", "token": "token-of-first"}
    # The state is in the platform's table, and the secret is stored encrypted, never in clear.
    rows = ok(psql(f"SELECT data::text FROM platform.pulumi_state WHERE key LIKE '%/.pulumi/stacks/{name}/dev.json'"))
    assert rows.stdout.strip() and "token-of-first" not in rows.stdout
    # The login stored the URL, which names a pgpass file and holds no password.
    password = (BASE / "secrets" / "operator.password").read_text().strip()
    assert password not in (op.home / "credentials.json").read_text()
    assert password not in first.stdout + first.stderr + second.stdout + second.stderr


def engineer(tmp: Path, who: str, name: str, url: str, config: dict[str, str]) -> Stack:
    """An engineer running shuyaku's deploy path from their own checkout, with their own local state folder."""
    proj = project(tmp, name, config, checkout=f"{who}-checkout")
    home = tmp / f"{who}-home"
    home.mkdir()
    env = dict(base_env(), PULUMI_HOME=str(home), PULUMI_BACKEND_URL=url, PULUMI_CONFIG_PASSPHRASE="team-passphrase")
    return Stack("dev", tmp / f"{who}-state", project_dir=proj, env_extra=env)


def lock_rows(name: str) -> int:
    rows = ok(psql(f"SELECT count(*) FROM platform.pulumi_state "
                   f"WHERE key LIKE '%/.pulumi/locks/organization/{name}/dev/%'"))
    return int(rows.stdout.strip())


def test_two_engineers_one_stack_the_second_is_refused_and_changes_nothing(tmp_path, platform_stacks, monkeypatch):
    for var in [v for v in os.environ if v.startswith(("PULUMI_", "OS_", "PG"))]:
        monkeypatch.delenv(var)
    url = backend_url()
    name = f"statedb-{RUN_ID}-lock"
    alice = engineer(tmp_path, "alice", name, url, {"marker": "alice", "sleep": "20"})
    bob = engineer(tmp_path, "bob", name, url, {"marker": "bob"})
    alice.ensure()
    platform_stacks.append(f"organization/{name}/dev")
    bob.ensure()  # finds the team's stack: no second `stack init`
    result: dict[str, object] = {}

    def alice_up() -> None:
        try:
            result["alice"] = alice.up(capture=True, timeout=300)
        except Exception as exc:  # reported below
            result["alice"] = exc

    first = threading.Thread(target=alice_up)
    first.start()
    deadline = time.monotonic() + 60
    while lock_rows(name) == 0:
        assert time.monotonic() < deadline and first.is_alive(), f"alice's up never took the lock: {result}"
        time.sleep(0.2)
    started = time.monotonic()
    with pytest.raises(StackLocked) as refused:
        bob.up(capture=True, timeout=300)
    refused_after = time.monotonic() - started
    still_running = first.is_alive()
    first.join(timeout=300)
    assert isinstance(result.get("alice"), subprocess.CompletedProcess), result
    assert still_running, "alice's up ended before bob's was refused: the test proved nothing"
    message = str(refused.value)
    assert "ロックされています" in message or "is locked" in message
    assert refused.value.text.en.startswith("Stack dev is locked by another operation in progress (")
    assert "Nothing was changed" in refused.value.text.en and "pulumi cancel --stack dev" in refused.value.text.en
    assert re.search(r"\(\S+@\S+ \(pid \d+, ", refused.value.text.en), refused.value.text.en
    assert refused_after < 15, f"bob waited {refused_after:.0f} s instead of being refused at once"
    # Bob's program never ran, and the state holds Alice's one update only.
    assert not (bob.project_dir / "ran-bob").exists() and (alice.project_dir / "ran-alice").exists()
    assert alice.outputs()["marker"] == "alice"
    history = json.loads(alice.pulumi("stack", "history", "--json", "--stack", "dev", capture=True,
                                      cwd=alice.shadow_dir).stdout)
    assert [(h["kind"], h["result"]) for h in history] == [("update", "succeeded")]
    assert lock_rows(name) == 0
    # shuyaku's deploy path stores the state compressed (zstd) in the shared database.
    stored = ok(psql(f"SELECT key FROM platform.pulumi_state WHERE key LIKE '%/.pulumi/stacks/{name}/dev.json%'"))
    assert set(stored.stdout.split()) >= {f"shuyaku_state/.pulumi/stacks/{name}/dev.json.zst"}, stored.stdout
    assert not any(k.endswith("/dev.json") for k in stored.stdout.split()), stored.stdout
    # Once Alice is done, Bob deploys from his own checkout, without Alice's local files (the passphrase's salt
    # comes from the shared state), and sees her secret output decrypted.
    assert alice.outputs()["token"] == "token-of-alice" and bob.outputs()["token"] == "token-of-alice"
    bob.up(capture=True, timeout=300)
    assert bob.outputs() == {"marker": "bob", "token": "token-of-bob"}


def test_a_vendor_reads_and_writes_its_own_state_only(tmp_path, vendors, platform_stacks):
    a, b = vendors
    # The platform's stack, deployed by the operator, and vendor B's, deployed by B.
    operator = Actor(tmp_path, "operator", "operator-passphrase")
    platform = f"statedb-{RUN_ID}-platform"
    proj = project(tmp_path, platform, {"marker": "platform"})
    operator.pulumi("login", backend_url(), cwd=proj)
    operator.pulumi("stack", "init", "dev", cwd=proj)
    platform_stacks.append(f"organization/{platform}/dev")
    operator.pulumi("up", "--yes", "--skip-preview", cwd=proj)
    vendor_b = Actor(tmp_path, "vendor-b", "vendor-b-passphrase")
    proj_b = project(tmp_path, "vendor-b-app", {"marker": "b"})
    vendor_b.pulumi("login", backend_url(b), cwd=proj_b)
    vendor_b.pulumi("stack", "init", "dev", cwd=proj_b)
    vendor_b.pulumi("up", "--yes", "--skip-preview", cwd=proj_b)

    # Vendor A with its own role only: it deploys its own project into its own table.
    vendor_a = Actor(tmp_path, "vendor-a", "vendor-a-passphrase")
    proj_a = project(tmp_path, "vendor-a-app", {"marker": "a"})
    vendor_a.pulumi("login", backend_url(a), cwd=proj_a)
    vendor_a.pulumi("stack", "init", "dev", cwd=proj_a)
    vendor_a.pulumi("up", "--yes", "--skip-preview", cwd=proj_a)
    assert json.loads(vendor_a.pulumi("stack", "output", "--json", cwd=proj_a).stdout)["marker"] == "a"
    listed = json.loads(vendor_a.pulumi("stack", "ls", "--all", "--json", cwd=tmp_path).stdout)
    assert [s["name"] for s in listed] == ["organization/vendor-a-app/dev"]  # neither B's nor the platform's

    # In psql, as A: the platform's table and B's are refused; A cannot alter its own table or add objects.
    for sql, refusal in [
        ("SELECT count(*) FROM platform.pulumi_state", "permission denied for schema platform"),
        (f"SELECT count(*) FROM vendor_{b}.pulumi_state", f"permission denied for schema vendor_{b}"),
        (f"DELETE FROM vendor_{b}.pulumi_state", f"permission denied for schema vendor_{b}"),
        (f"DROP TABLE vendor_{a}.pulumi_state", "must be owner of table pulumi_state"),
        (f"CREATE TABLE vendor_{a}.extra (i int)", f"permission denied for schema vendor_{a}"),
        ("CREATE TABLE public.extra (i int)", "permission denied for schema public"),
    ]:
        proc = psql(sql, vendor=a)
        assert proc.returncode != 0 and refusal in proc.stderr, (sql, proc.stdout, proc.stderr)
    assert int(ok(psql(f"SELECT count(*) FROM vendor_{a}.pulumi_state", vendor=a)).stdout) > 0

    # Through the engine, as A: pointing its login at the platform's or B's table is refused by the database.
    for table in ("platform.pulumi_state", f"vendor_{b}.pulumi_state"):
        other = backend_url(a).replace(f"table=vendor_{a}.pulumi_state", f"table={table}")
        proc = vendor_a.pulumi("stack", "ls", "--all", cwd=proj_a, check=False, env={"PULUMI_BACKEND_URL": other})
        assert proc.returncode != 0 and f"permission denied for schema {table.split('.')[0]}" in proc.stderr, proc
    # A StackReference from A's project to the platform's stack finds nothing in A's space, and fails.
    (proj_a / "Pulumi.peek.yaml").write_text(f"config:\n  vendor-a-app:ref: organization/{platform}/dev\n")
    vendor_a.pulumi("stack", "init", "peek", cwd=proj_a)
    peek = vendor_a.pulumi("up", "--yes", "--skip-preview", "--stack", "peek", cwd=proj_a, check=False)
    assert peek.returncode != 0 and "unknown stack" in (peek.stdout + peek.stderr).lower(), peek
    assert "token-of-platform" not in peek.stdout + peek.stderr
    # The operator, who publishes hand-offs into each vendor's space, can read A's table.
    assert int(ok(psql(f"SELECT count(*) FROM vendor_{a}.pulumi_state")).stdout) > 0


def conninfo(**kw: str) -> str:
    base = {"host": "127.0.0.1", "port": PORT, "dbname": "shuyaku_state", "user": "shuyaku_operator",
            "sslmode": "verify-full", "sslrootcert": str(BASE / "tls" / "ca.crt"),
            "passfile": str(BASE / "secrets" / "operator.pgpass"), "connect_timeout": "10"}
    base.update(kw)
    return " ".join(f"{k}={v}" for k, v in base.items())


def test_the_database_refuses_plain_connections_wrong_passwords_and_other_servers(tmp_path, state_db, monkeypatch):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    assert ok(sh([PSQL, "-X", "-At", conninfo(), "-c", "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"],
                 env=env)).stdout.strip() == "t"
    refusals = {
        "no TLS": (conninfo(sslmode="disable"), "no encryption"),
        "wrong password": (conninfo(passfile="/dev/null", password="not-the-password"),
                           'password authentication failed for user "shuyaku_operator"'),
        "superuser over TCP": (conninfo(user="postgres", passfile="/dev/null", password="x"),
                               'rejects connection for host "127.0.0.1", user "postgres"'),
        "another database": (conninfo(dbname="postgres"), 'no pg_hba.conf entry for host "127.0.0.1"'),
    }
    for what, (info, refusal) in refusals.items():
        proc = sh([PSQL, "-X", "-At", info, "-c", "SELECT 1"], env=env)
        assert proc.returncode != 0 and refusal in proc.stderr, (what, proc.stderr)
    # A server whose certificate another CA signed is not trusted (what verify-full is for).
    other_ca = tmp_path / "other-ca.crt"
    ok(sh(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
           "-subj", "/CN=another CA", "-keyout", str(tmp_path / "other-ca.key"), "-out", str(other_ca)]))
    proc = sh([PSQL, "-X", "-At", conninfo(sslrootcert=str(other_ca)), "-c", "SELECT 1"], env=env)
    assert proc.returncode != 0 and "certificate verify failed" in proc.stderr, proc.stderr

    # The engine, through shuyaku's deploy path, is refused the same way, and never shows the password it was given.
    for var in [v for v in os.environ if v.startswith(("PULUMI_", "OS_", "PG"))]:
        monkeypatch.delenv(var)
    url = backend_url()
    wrong = "Wr0ng-" + secrets.token_hex(8)
    plain = url.replace("sslmode=verify-full", "sslmode=disable")
    with_wrong = url.replace("shuyaku_operator@", f"shuyaku_operator:{wrong}@").replace("passfile=", "x_passfile=")
    with_wrong = re.sub(r"&x_passfile=[^&]*", "", with_wrong)
    untrusted = url.replace(str(BASE / "tls" / "ca.crt"), str(other_ca))
    home = tmp_path / "home"
    home.mkdir()
    cases = [("no TLS", plain, "no encryption"),
             ("wrong password", with_wrong, "password authentication failed"),
             ("another CA", untrusted, "certificate signed by unknown authority")]
    for i, (what, backend, refusal) in enumerate(cases):
        st = Stack("dev", tmp_path / "state", project_dir=project(tmp_path, f"refused-{i}"), backend_url=backend,
                   env_extra=dict(base_env(), PULUMI_HOME=str(home), PULUMI_CONFIG_PASSPHRASE="x"))
        with pytest.raises(EngineError) as exc:
            st.pulumi("stack", "ls", capture=True)
        assert refusal in str(exc.value), (what, str(exc.value))
        assert wrong not in str(exc.value)


def test_state_db_script_is_idempotent_keeps_secrets_private_and_backs_up(tmp_path, state_db, platform_stacks):
    pid = (BASE / "data" / "postmaster.pid").read_text().split()[0]
    again = ok(sh([str(STATE_DB), "--lang", "en", "up"]))
    assert "already running" in again.stdout and (BASE / "data" / "postmaster.pid").read_text().split()[0] == pid
    assert ok(sh([str(STATE_DB), "--lang", "en", "status"])).stdout.startswith(f"running: pid {pid}, 127.0.0.1:{PORT}")
    password = (BASE / "secrets" / "operator.password").read_text().strip()
    printed = again.stdout + again.stderr + ok(sh([str(STATE_DB), "env"])).stdout
    assert len(password) >= 32 and password not in printed
    log = (BASE / "log" / "postgresql.log").read_text(errors="replace")
    assert password not in log and "SCRAM-SHA-256$" not in log  # neither the password nor its verifier is logged
    assert "protocol=TLSv1.3" in log and "protocol=TLSv1.2" not in log
    for f in (BASE / "secrets").iterdir():
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, f
    assert stat.S_IMODE((BASE / "secrets").stat().st_mode) == 0o700
    # Listening on 127.0.0.1 only.
    listening = ok(sh(["ss", "-ltnH", f"sport = :{PORT}"])).stdout.split("\n")
    assert [line.split()[3] for line in listening if line.strip()] == [f"127.0.0.1:{PORT}"]
    # A backup holds the platform's table; pg_restore can read it back.
    dump = tmp_path / "state.dump"
    ok(sh([str(STATE_DB), "--lang", "en", "backup", str(dump)]))
    assert stat.S_IMODE(dump.stat().st_mode) == 0o600
    listing = ok(sh(["/usr/lib/postgresql/15/bin/pg_restore", "--list", str(dump)])).stdout
    assert re.search(r"TABLE DATA platform pulumi_state", listing), listing


def test_rotating_the_team_passphrase_keeps_both_engineers_working(tmp_path, platform_stacks, monkeypatch):
    for var in [v for v in os.environ if v.startswith(("PULUMI_", "OS_", "PG"))]:
        monkeypatch.delenv(var)
    old, new = tmp_path / "old-passphrase", tmp_path / "new-passphrase"
    for path in (old, new):
        path.write_text(secrets.token_urlsafe(24) + "\n")
        path.chmod(0o600)
    url, name = backend_url(), f"statedb-{RUN_ID}-rotate"

    def person(who: str, passphrase: Path) -> Stack:
        st = engineer(tmp_path, who, name, url, {"marker": who})
        st.env_extra.pop("PULUMI_CONFIG_PASSPHRASE")
        st.env_extra["PULUMI_CONFIG_PASSPHRASE_FILE"] = str(passphrase)
        return st

    alice, bob = person("alice", old), person("bob", old)
    alice.ensure()
    platform_stacks.append(f"organization/{name}/dev")
    alice.up(capture=True)
    bob.ensure()
    bob.up(capture=True)  # bob's local config copy now holds the salt of the old passphrase
    alice.rotate_passphrase(new)
    bob.env_extra["PULUMI_CONFIG_PASSPHRASE_FILE"] = str(old)
    with pytest.raises(EngineError, match="incorrect passphrase"):
        bob.outputs()
    bob.env_extra["PULUMI_CONFIG_PASSPHRASE_FILE"] = str(new)
    bob.up(capture=True)
    assert bob.outputs() == {"marker": "bob", "token": "token-of-bob"}
    alice.env_extra["PULUMI_CONFIG_PASSPHRASE_FILE"] = str(new)
    alice.up(capture=True)
    assert alice.outputs()["token"] == "token-of-alice"


def test_a_backup_puts_a_vendors_lost_state_back(tmp_path, vendors):
    a, _ = vendors
    vendor = Actor(tmp_path, "vendor-a", "vendor-a-passphrase")
    proj = project(tmp_path, "vendor-a-restore", {"marker": "before"})
    vendor.pulumi("login", backend_url(a), cwd=proj)
    vendor.pulumi("stack", "init", "dev", cwd=proj)
    vendor.pulumi("up", "--yes", "--skip-preview", cwd=proj)
    dump = tmp_path / "state.dump"
    ok(sh([str(STATE_DB), "--lang", "en", "backup", str(dump)]))
    vendor.pulumi("stack", "rm", "dev", "--force", "--yes", cwd=proj)  # lost
    assert vendor.pulumi("stack", "output", "--stack", "dev", cwd=proj, check=False).returncode != 0
    restored = ok(sh([str(STATE_DB), "--lang", "en", "restore", str(dump), "--schema", f"vendor_{a}"]))
    assert f"restored: {dump} (vendor_{a} only)" in restored.stdout
    outputs = json.loads(vendor.pulumi("stack", "output", "--json", "--show-secrets", "--stack", "dev", cwd=proj).stdout)
    assert outputs == {"marker": "before", "token": "token-of-before"}
    # The vendor's grants came back with its table.
    vendor.pulumi("up", "--yes", "--skip-preview", "--expect-no-changes", "--stack", "dev", cwd=proj)
    bad = sh([str(STATE_DB), "--lang", "en", "restore", str(tmp_path / "missing.dump")])
    assert bad.returncode == 2 and "cannot read the file" in bad.stderr


def test_state_db_refuses_hostile_vendor_names_and_servers_it_did_not_start(state_db):
    for name in ("Juki", "a'b", "x; DROP ROLE shuyaku_operator", "a" * 41, "9abc", ""):
        proc = sh([str(STATE_DB), "--lang", "en", "vendor", "add", name])
        assert proc.returncode == 2 and "a vendor name starts with a lower-case letter" in proc.stderr, (name, proc)
    assert "shuyaku_operator" in ok(sh([str(STATE_DB), "status"])).stdout
    # `down` stops only the server whose PID and start time it recorded.
    started = BASE / "started"
    recorded = started.read_text() if started.exists() else None
    pid = (BASE / "data" / "postmaster.pid").read_text().split()[0]
    started.write_text("1 2\n")
    try:
        proc = sh([str(STATE_DB), "--lang", "en", "down"])
    finally:
        if recorded is None:
            started.unlink()
        else:
            started.write_text(recorded)
    assert proc.returncode == 1 and f"(pid {pid}) was not started by scripts/state-db" in proc.stderr
    assert sh([str(STATE_DB), "status"]).returncode == 0


def test_an_interrupted_up_leaves_a_lock_that_names_it_until_cancelled(tmp_path, platform_stacks, monkeypatch):
    for var in [v for v in os.environ if v.startswith(("PULUMI_", "OS_", "PG"))]:
        monkeypatch.delenv(var)
    url, name = backend_url(), f"statedb-{RUN_ID}-killed"
    alice = engineer(tmp_path, "alice", name, url, {"marker": "alice", "sleep": "60"})
    bob = engineer(tmp_path, "bob", name, url, {"marker": "bob"})
    alice.ensure()
    platform_stacks.append(f"organization/{name}/dev")
    bob.ensure()
    env = alice.env()
    up = subprocess.Popen(["pulumi", "up", "--yes", "--skip-preview", "--non-interactive", "--stack", "dev",
                           "--config-file", str(alice.config_file)], cwd=alice.project_dir, env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 60
    while lock_rows(name) == 0:
        assert time.monotonic() < deadline and up.poll() is None, "alice's up never took the lock"
        time.sleep(0.2)
    os.killpg(up.pid, signal.SIGKILL)  # engine and program die without releasing the lock (a killed CI job)
    up.wait()
    with pytest.raises(StackLocked) as refused:
        bob.up(capture=True, timeout=300)
    assert f"(pid {up.pid}, " in refused.value.text.en, refused.value.text.en
    assert lock_rows(name) == 1 and not (bob.project_dir / "ran-bob").exists()
    # Once the holder confirms nothing runs, `pulumi cancel` (named in the message) clears it.
    bob.pulumi("cancel", "--yes", "--stack", "dev", capture=True, cwd=bob.shadow_dir)
    assert lock_rows(name) == 0
    bob.up(capture=True, timeout=300)
    assert bob.outputs()["marker"] == "bob"
