"""Which state backend `shuyaku deploy` hands the engine, and that a backend password shows up nowhere.

The engine here is a small script standing in for `pulumi` on PATH: it records the environment it was given and
prints what the real CLI prints in the cases under test (its own URL in an error, a stack lock). The real engine
against the real state database is tested in tests/integration/test_state_db.py.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shuyaku.cli.main import app
from shuyaku.contracts.i18n import set_lang
from shuyaku.deploy import backend as backends
from shuyaku.deploy.engine import EngineError, Stack, StackLocked, engine_env

SECRET = "s3cr3t-Pa55word"
PG = f"postgres://shuyaku_operator:{SECRET}@127.0.0.1:55432/shuyaku_state?table=platform.pulumi_state&sslmode=verify-full"


@pytest.fixture(autouse=True)
def english(monkeypatch):
    set_lang("en")
    for var in ("PULUMI_BACKEND_URL", "PGPASSWORD", "PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE"):
        monkeypatch.delenv(var, raising=False)
    yield
    set_lang(None)


def test_the_file_backend_stays_the_default(tmp_path):
    b = backends.resolve(None, tmp_path / "state", environ={})
    assert (b.url, b.password, b.is_file) == (f"file://{tmp_path / 'state'}", None, True)
    assert engine_env(tmp_path / "state")["PULUMI_BACKEND_URL"] == f"file://{tmp_path / 'state'}"


def test_pulumi_backend_url_is_honoured_and_the_option_wins(tmp_path):
    env = {"PULUMI_BACKEND_URL": "postgres://op@127.0.0.1:55432/s?table=platform.pulumi_state&passfile=/x/op.pgpass"}
    b = backends.resolve(None, tmp_path, environ=env)
    assert (b.url, b.password, b.source, b.kind) == (env["PULUMI_BACKEND_URL"], None, "environment", "postgres")
    assert backends.resolve("file:///elsewhere", tmp_path, environ=env).url == "file:///elsewhere"


@pytest.mark.parametrize("url, clean, password", [
    (PG, PG.replace(f":{SECRET}@", "@"), SECRET),
    ("postgres://op:p%40ss%3Aw@127.0.0.1:55432/db?table=t", "postgres://op@127.0.0.1:55432/db?table=t", "p@ss:w"),
    ("postgres://op@127.0.0.1/db?password=hunter2&table=platform.pulumi_state",
     "postgres://op@127.0.0.1/db?table=platform.pulumi_state", "hunter2"),
    ("postgres://op@127.0.0.1/db?table=t&sslmode=verify-full", "postgres://op@127.0.0.1/db?table=t&sslmode=verify-full",
     None),
])
def test_a_password_is_moved_out_of_the_url(url, clean, password):
    b = backends.resolve(url, Path("/unused"), environ={})
    assert (b.url, b.password) == (clean, password)
    env = b.env()
    assert env["PULUMI_BACKEND_URL"] == clean
    assert env.get("PGPASSWORD") == password
    if password:
        assert password not in b.display and "****" not in clean


@pytest.mark.parametrize("text, shown", [
    (f"failed to open {PG}: refused", "failed to open postgres://shuyaku_operator:****@127.0.0.1:55432/"),
    ("x postgres://u:pa@ss@h:1/d y", "x postgres://u:****@h:1/d y"),
    ("url postgres://u@h/d?sslmode=require&password=abc&table=t", "url postgres://u@h/d?sslmode=require&password=****&table=t"),
])
def test_mask_hides_url_passwords(text, shown):
    masked = backends.mask(text)
    assert shown in masked
    assert "abc" not in masked and SECRET not in masked and "pa@ss" not in masked


def test_mask_leaves_urls_without_passwords_alone():
    for text in ("postgres://h:5432/db", "postgres://op@127.0.0.1:55432/db?passfile=/a/b.pgpass", "file:///var/x:y@z"):
        assert backends.mask(text) == text


def fake_engine(tmp_path: Path, monkeypatch, script: str) -> Path:
    """A `pulumi` on the engine's PATH that logs what it got (args, backend URL, PGPASSWORD) to calls.jsonl."""
    cache = tmp_path / "cache"
    bin_dir = cache / "engine" / "bin"
    bin_dir.mkdir(parents=True)
    log = tmp_path / "calls.jsonl"
    exe = bin_dir / "pulumi"
    exe.write_text(
        "#!/usr/bin/env python3\n"
        "import json, os, sys\n"
        # The Automation API asks the version first, with the caller's environment; below 3.205 it reads engine
        # events from the file named by --event-log (the fake writes there), above it over gRPC.
        "if sys.argv[1:] == ['version']:\n    print('v3.200.0'); sys.exit(0)\n"
        f"open({str(log)!r}, 'a').write(json.dumps({{'args': sys.argv[1:], "
        "'url': os.environ.get('PULUMI_BACKEND_URL'), 'pgpassword': os.environ.get('PGPASSWORD')}) + '\\n')\n"
        "args = [a for a in sys.argv[1:] if a != '--non-interactive']\n" + script)
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("SHUYAKU_CACHE", str(cache))
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "unit")
    return log


def calls(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()]


def test_the_engine_never_receives_the_password_in_its_url(tmp_path, monkeypatch, capsys):
    log = fake_engine(tmp_path, monkeypatch, (
        "print('connecting to', os.environ['PULUMI_BACKEND_URL'].replace('@', ':' + os.environ['PGPASSWORD'] + '@'))\n"
        "sys.exit(0)\n"))
    st = Stack("dev", tmp_path / "state", project_dir=tmp_path, backend_url=PG)
    st.pulumi("whoami")  # streamed to the terminal
    seen = calls(log)[0]
    assert seen["url"] == PG.replace(f":{SECRET}@", "@") and seen["pgpassword"] == SECRET
    out = capsys.readouterr().out
    assert "connecting to postgres://shuyaku_operator:****@127.0.0.1" in out and SECRET not in out
    captured = st.pulumi("whoami", capture=True)
    assert "****" in captured.stdout and SECRET not in captured.stdout


def test_an_engine_error_is_masked(tmp_path, monkeypatch):
    monkeypatch.setenv("PULUMI_BACKEND_URL", PG)
    fake_engine(tmp_path, monkeypatch, (
        f"sys.stderr.write('error: unable to open state database \"{PG}\": pq: password authentication failed\\n')\n"
        "sys.exit(255)\n"))
    st = Stack("dev", tmp_path / "state", project_dir=tmp_path)
    with pytest.raises(EngineError) as exc:
        st.pulumi("stack", "ls", capture=True)
    assert "password authentication failed" in str(exc.value)
    assert SECRET not in str(exc.value) and "shuyaku_operator:****@" in str(exc.value)


def test_a_secret_config_value_is_not_in_the_error(tmp_path, monkeypatch):
    fake_engine(tmp_path, monkeypatch, "sys.stderr.write('error: no stack\\n'); sys.exit(1)\n")
    st = Stack("dev", tmp_path / "state", project_dir=tmp_path)
    with pytest.raises(EngineError) as exc:
        st.set_config("shuyaku:adminPassword", "TopSecret-42", secret=True)
    assert "TopSecret-42" not in str(exc.value) and "****" in str(exc.value)


LOCKED_OUTPUT = (
    "sys.stderr.write('error: the stack is currently locked by 1 lock(s). Either wait for the other process(es) to "
    "end or delete the lock file with `pulumi cancel`.\\n  postgres://****:****@127.0.0.1:55432/shuyaku_state/"
    ".pulumi/locks/organization/p/dev/abc.json: created by alice@ws1 (pid 4242) at 2026-12-03T10:00:00Z\\n')\n"
    "sys.exit(255)\n")


def test_a_locked_stack_says_who_holds_it_in_both_languages(tmp_path, monkeypatch):
    fake_engine(tmp_path, monkeypatch, LOCKED_OUTPUT)
    st = Stack("dev", tmp_path / "state", project_dir=tmp_path)
    with pytest.raises(StackLocked) as exc:
        st.up(capture=False)
    assert "Stack dev is locked by another operation in progress (alice@ws1 (pid 4242, 2026-12-03T10:00:00Z))" \
        in str(exc.value)
    assert "Nothing was changed" in str(exc.value) and "pulumi cancel --stack dev" in str(exc.value)
    assert "何も変更していません" in exc.value.text.ja and "alice@ws1" in exc.value.text.ja


def test_shared_state_is_never_set_aside_by_moving_a_directory(tmp_path, monkeypatch):
    fake_engine(tmp_path, monkeypatch, "sys.exit(0)\n")
    st = Stack("dev", tmp_path / "state", project_dir=tmp_path, backend_url=PG)
    (tmp_path / "state").mkdir()
    with pytest.raises(EngineError, match="not set aside automatically"):
        st.set_aside()
    assert (tmp_path / "state").is_dir()


EMIT = """\
def emit(*events):
    path = args[args.index('--event-log') + 1]
    with open(path, 'a') as log:
        for i, e in enumerate(events):
            log.write(json.dumps({'sequence': i, 'timestamp': 0, **e}) + '\\n')
def step(op, kind, name):
    return {'resourcePreEvent': {'metadata': {'op': op, 'urn': f'urn:pulumi:dev::p::{kind}::{name}', 'type': kind,
                                              'provider': ''}}}
def summary(**changes):
    return {'summaryEvent': {'maybeCorrupt': False, 'durationSeconds': 0, 'resourceChanges': changes,
                             'policyPacks': {}}}
"""

DEPLOY_ENGINE = EMIT + """\
if args[:1] == ['preview']:
    emit(step('create', 't:m:Box', 'box-1'), summary(create=1))
elif args[:2] == ['stack', 'ls']:
    print('[]')
elif args[:2] == ['stack', 'export']:
    print(json.dumps({'deployment': {'resources': [{'type': 'pulumi:pulumi:Stack'}, {'type': 't:m:Box'}]}}))
elif args[:2] == ['stack', 'output']:
    print('{}')
elif args[:2] == ['stack', 'history']:  # the Automation API reads the last update's summary after `up`
    print(json.dumps([{'kind': 'update', 'startTime': '2026-12-03T10:00:00.000Z', 'message': '', 'environment': {},
                       'config': {}, 'result': 'succeeded'}]))
sys.exit(0)
"""


def test_deploy_backend_option_reaches_the_engine_without_its_password(tmp_path, monkeypatch):
    log = fake_engine(tmp_path, monkeypatch, DEPLOY_ENGINE)
    result = CliRunner().invoke(app, ["deploy", "--stack", "dev", "--state", str(tmp_path / "state"),
                                      "--backend", PG, "--lang", "en", "--yes", "--no-policy"])
    assert result.exit_code == 0, result.output
    flat = result.output.replace("\n", "")  # the console wraps long lines
    assert SECRET not in flat
    assert "shuyaku_operator:****@" not in flat  # the URL the engine got has no password at all
    assert "state: postgres://shuyaku_operator@127.0.0.1:55432/shuyaku_state" in flat
    assert "warning: the --backend URL holds a password" in flat
    up = [c for c in calls(log) if "up" in c["args"]]
    assert up and all(c["url"] == PG.replace(f":{SECRET}@", "@") and c["pgpassword"] == SECRET for c in calls(log))


def test_deploy_without_a_backend_keeps_the_file_backend(tmp_path, monkeypatch):
    log = fake_engine(tmp_path, monkeypatch, DEPLOY_ENGINE)
    result = CliRunner().invoke(app, ["deploy", "--stack", "dev", "--state", str(tmp_path / "state"), "--lang", "en",
                                      "--yes", "--no-policy"])
    assert result.exit_code == 0, result.output
    assert {c["url"] for c in calls(log)} == {f"file://{tmp_path / 'state'}"}
    assert all(c["pgpassword"] is None for c in calls(log))
    assert os.environ.get("PULUMI_BACKEND_URL") is None


def test_a_team_passphrase_file_already_set_is_used(tmp_path, monkeypatch):
    monkeypatch.setenv("SHUYAKU_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE_FILE", str(tmp_path / "team-passphrase"))
    env = engine_env(tmp_path / "state")
    assert env["PULUMI_CONFIG_PASSPHRASE_FILE"] == str(tmp_path / "team-passphrase")
    assert not (tmp_path / "cache" / "secrets").exists()  # no machine passphrase generated beside it
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE_FILE")
    extra = engine_env(tmp_path / "state", {"PULUMI_CONFIG_PASSPHRASE": "given"})
    assert extra["PULUMI_CONFIG_PASSPHRASE"] == "given" and "PULUMI_CONFIG_PASSPHRASE_FILE" not in extra


def test_a_stale_local_salt_is_dropped_only_with_a_shared_backend(tmp_path, monkeypatch):
    log = fake_engine(tmp_path, monkeypatch, "print(sys.stdin.read().strip()[::-1]); sys.exit(0)\n")
    for backend, kept in ((PG, False), (None, True)):
        st = Stack("dev", tmp_path / f"state-{kept}", project_dir=tmp_path, backend_url=backend)
        st.config_file.parent.mkdir(parents=True)
        st.config_file.write_text("encryptionsalt: v1:old\nconfig:\n  p:marker: one\n")
        st.pulumi("up", capture=True)
        assert ("encryptionsalt" in st.config_file.read_text()) is kept
        assert "p:marker: one" in st.config_file.read_text()
    new = tmp_path / "new-passphrase"
    new.write_text("new-one\n")
    st.rotate_passphrase(new)
    assert calls(log)[-1]["args"][:3] == ["stack", "change-secrets-provider", "passphrase"]
    assert st.pulumi("whoami", capture=True, stdin=new).stdout.strip() == "eno-wen"  # stdin reaches the engine


def test_a_shared_backend_gets_compressed_state_unless_the_user_chose(tmp_path, monkeypatch):
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "unit")
    monkeypatch.delenv("PULUMI_DIY_BACKEND_ZSTD", raising=False)
    pg = backends.resolve(PG, tmp_path, environ={})
    assert engine_env(tmp_path, backend=pg)["PULUMI_DIY_BACKEND_ZSTD"] == "true"
    assert "PULUMI_DIY_BACKEND_ZSTD" not in engine_env(tmp_path)  # the file backend keeps plain JSON files
    monkeypatch.setenv("PULUMI_DIY_BACKEND_ZSTD", "false")
    assert engine_env(tmp_path, backend=pg)["PULUMI_DIY_BACKEND_ZSTD"] == "false"
