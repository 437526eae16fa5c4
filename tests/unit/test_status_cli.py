"""`shuyaku status` as a monitor and a user meet it: exit codes, bad input named by file, line and field, `--since`
and `--publish` over recorded runs, the operations it reads, drift from the engine's refresh preview, the systemd
units, and the team store's table. Runs are built from the small town's plan (see test_status.py)."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace as NS
from typing import Any

import pytest
from test_status import QUOTA, run_of, town  # noqa: F401 - the module fixture is shared
from typer.testing import CliRunner

from shuyaku.audit.snapshot import Snapshot
from shuyaku.cli import app
from shuyaku.contracts.status import DriftItem, StackDrift
from shuyaku.deploy import backend as backends
from shuyaku.status import drift, history, operations

ROOT = Path(__file__).resolve().parents[2]
UNITS = ROOT / "deploy" / "systemd"


def cli(*args: str) -> Any:
    return CliRunner().invoke(app, ["status", *args], catch_exceptions=False)


@pytest.fixture
def recorded(town: dict[str, Any], tmp_path: Path) -> Path:  # noqa: F811
    """A history with a clean November and a December with a finding and two systems migrated."""
    db = tmp_path / "h.sqlite"
    store = history.SqliteStore(db)
    store.save(run_of(town, {}, "2026-11", datetime(2026, 11, 30, tzinfo=UTC)))
    store.save(run_of(town, {"mail": 1, "lgmail": 1}, "2026-12", datetime(2026, 12, 31, tzinfo=UTC), rules=[QUOTA]))
    return db


def test_exit_codes_follow_what_needs_attention(recorded: Path) -> None:
    runs = history.runs(history.SqliteStore(recorded), "town")
    clean = cli("--stack", "town", "--history", str(recorded), "--show", runs[0].id, "--lang", "en")
    assert clean.exit_code == 0, clean.output
    assert "nothing needs attention" in clean.output and "exit 0" in clean.output
    found = cli("--stack", "town", "--history", str(recorded), "--show", "latest")
    assert found.exit_code == 1 and "live.quota" in found.output and "要対応" in found.output
    missing = cli("--stack", "town", "--history", str(recorded), "--show", "nope")
    assert missing.exit_code == 2


def test_since_compares_with_a_month_a_date_or_a_run_and_json_carries_both(recorded: Path) -> None:
    base = ["--stack", "town", "--history", str(recorded), "--show", "latest", "--lang", "en"]
    for since in ("2026-11", "2026-11-30"):
        res = cli(*base, "--since", since)
        assert res.exit_code == 1 and "Changes since" in res.output
        assert "mail (" in res.output and "is now migrated" in res.output and "new finding live.quota" in res.output
    doc = json.loads(cli(*base, "--since", "2026-11", "--format", "json").output)
    assert doc["comparison"]["before"]["period"] == "2026-11" and doc["run"]["period"] == "2026-12"
    unknown = cli(*base, "--since", "2020-01-01")
    assert unknown.exit_code == 2 and "no recorded run matches" in unknown.output


def test_bad_input_exits_2_naming_file_line_and_field(recorded: Path, tmp_path: Path) -> None:
    runs = history.runs(history.SqliteStore(recorded), "town")
    doc = json.loads(runs[0].model_dump_json())
    doc["systems"][0]["active_servers"] = "two"
    bad = tmp_path / "old-run.json"
    text = json.dumps(doc, indent=1)
    bad.write_text(text, encoding="utf-8")
    line = next(i for i, s in enumerate(text.splitlines(), 1) if '"two"' in s)
    res = cli("--stack", "town", "--history", str(recorded), "--show", "latest", "--since", str(bad), "--lang", "en")
    assert res.exit_code == 2
    assert f"{bad}:{line}:" in res.output and "systems[0].active_servers" in res.output
    # a broken plan.json is named before the cloud is asked anything
    plan = tmp_path / "plan.json"
    plan.write_text('{"schema_version": 1,\n "municipality": 7}\n', encoding="utf-8")
    res = cli("--stack", "local", "--root", str(ROOT), "--plan", str(plan), "--history", str(recorded), "--lang", "en")
    assert res.exit_code == 2 and f"{plan}:2:" in res.output and "municipality" in res.output
    for args in (("--period", "2026-13"), ("--pdf",), ("--stack-config", str(tmp_path / "none.yaml"))):
        res = cli("--stack", "local", "--root", str(ROOT), "--history", str(recorded), *args)
        assert res.exit_code == 2, (args, res.output)


def test_publish_writes_the_goal_sheet_with_both_months(recorded: Path, tmp_path: Path) -> None:
    out = tmp_path / "sheet"
    res = cli("--stack", "town", "--history", str(recorded), "--show", "latest", "--publish", str(out))
    assert res.exit_code == 1
    html = (out / "index.html").read_text(encoding="utf-8")
    assert html.count('<tr class="month">') == 2 and "2026-11" in html and "2026-12" in html
    assert (out / "index.en.html").is_file() and (out / "goal-sheet.json").is_file()
    pages = tmp_path / "html"
    res = cli("--stack", "town", "--history", str(recorded), "--show", "latest", "--html", str(pages))
    ja, en = ((pages / n).read_text(encoding="utf-8") for n in ("status.html", "status.en.html"))
    assert res.exit_code == 1 and "移行の進捗" in ja and "Migration progress" in en
    for page in (ja, en):
        assert "live.quota" in page and all(f">{sid} " in page for sid in ("juki", "mail", "lgmail"))


def test_operations_read_the_last_patch_run_certificates_and_credentials(tmp_path: Path) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime(2026, 12, 1, tzinfo=UTC)
    for stamp, host, changes in (("20261101T010000000000", "vdi-1", 9), ("20261201T010000000000", "vdi-1", 2)):
        d = tmp_path / f"patch-reports-{stamp}"
        d.mkdir()
        (d / f"{host}.json").write_text(json.dumps({"host": host, "changes": [{"package": "p", "from": "1", "to": "2"}]
                                                    * changes, "rebooted": False, "reboot_required": True,
                                                    "health": "ok"}), encoding="utf-8")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "vdi-1.example.lg.jp")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now - timedelta(days=300)).not_valid_after(now + timedelta(days=10))
            .sign(key, hashes.SHA256()))
    pem = tmp_path / "vdi-1.pem"
    pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    snap = Snapshot(users={"u1": "vendor-juki-ci"}, app_credentials={"u1": [
        NS(name="ci", expires_at="2026-12-20T00:00:00"), NS(name="forever", expires_at=None)]})
    ops = operations.operations(snap, tmp_path, [pem], now, 30)
    assert ops.patch_run == "patch-reports-20261201T010000000000"
    assert [(h.host, h.packages, h.reboot_required) for h in ops.patch_hosts] == [("vdi-1", 2, True)]
    by = {e.name: e for e in ops.expiries}
    assert by["CN=vdi-1.example.lg.jp"].days_left == 10.0 and by["CN=vdi-1.example.lg.jp"].soon
    assert by["ci"].owner == "vendor-juki-ci" and by["ci"].days_left == 19.0 and by["ci"].soon
    assert by["forever"].expires is None and not by["forever"].soon
    assert not operations.operations(snap, tmp_path, [pem], now, 5).expiries[0].soon
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate", encoding="utf-8")
    with pytest.raises(ValueError, match=r"junk\.pem"):
        operations.certificates([junk], now, 30)


def test_drift_names_what_a_refresh_would_change_and_ignores_the_unchanged() -> None:
    # the shape `pulumi refresh --preview-only --json` prints (steps[] with op, urn, old and new state)
    head = "urn:pulumi:status::shuyaku-platform::shuyaku:platform:Tenant$"
    q = head + "openstack:compute/quotaSetV2:QuotaSetV2::zaimu-compute-quota"
    n = head + "openstack:networking/network:Network::web-net"
    doc = {"steps": [
        {"op": "same", "urn": "urn:pulumi:status::shuyaku-platform::pulumi:pulumi:Stack::x", "type": "pulumi:pulumi:Stack"},
        {"op": "update", "urn": q, "oldState": {"type": "openstack:compute/quotaSetV2:QuotaSetV2",
                                                 "outputs": {"instances": 2, "cores": 8, "updatedAt": "a"}},
         "newState": {"type": "openstack:compute/quotaSetV2:QuotaSetV2",
                      "outputs": {"instances": 7, "cores": 8, "updatedAt": "b"}}},
        {"op": "delete", "urn": n, "oldState": {"type": "openstack:networking/network:Network", "outputs": {}}},
        {"op": "update", "urn": n.replace("web-net", "web-subnet"),
         "newState": {"type": "openstack:networking/subnet:Subnet", "outputs": {"updatedAt": "b"}},
         "oldState": {"type": "openstack:networking/subnet:Subnet", "outputs": {"updatedAt": "a"}}},
    ]}
    seen, items = drift.parse(doc)
    assert seen == 3
    assert items == [DriftItem(urn=q, type="openstack:compute/quotaSetV2:QuotaSetV2", name="zaimu-compute-quota",
                               op="update", keys=["instances"]),
                     DriftItem(urn=n, type="openstack:networking/network:Network", name="web-net", op="delete")]
    with pytest.raises(ValueError):
        drift.parse({"resources": []})
    assert StackDrift(stack="s", checked=False, resources=0).changed == []


def test_team_history_uses_its_own_table_in_the_states_schema_and_keeps_the_password_out() -> None:
    b = backends.resolve("postgres://op:s3cret@127.0.0.1:55432/state?table=platform.pulumi_state&sslmode=verify-full",
                         Path("/nowhere"))
    store = history.open_store(None, b, Path("/nowhere"))
    assert isinstance(store, history.PostgresStore) and store.table == "platform.shuyaku_status_runs"
    assert "table=" not in store.conninfo and "sslmode=verify-full" in store.conninfo and "s3cret" not in store.conninfo
    assert "s3cret" not in store.where and store.password == "s3cret"
    assert history.pg_target("postgres://u@h/db")[1] == "public.shuyaku_status_runs"
    with pytest.raises(ValueError):
        history.pg_target("postgres://u@h/db?table=x;drop.t")
    assert isinstance(history.open_store(None, backends.resolve(None, Path("/s")), Path("/s")), history.SqliteStore)


def test_the_systemd_units_verify_and_schedule_status_monthly_and_audit_nightly(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.fail("systemd-analyze is not installed (package systemd)")
    names = ["shuyaku-status.service", "shuyaku-status.timer", "shuyaku-audit.service", "shuyaku-audit.timer"]
    assert sorted(p.name for p in UNITS.iterdir()) == sorted(names)
    for n in names:  # installed under /opt/shuyaku; verified against this checkout's own command
        (tmp_path / n).write_text((UNITS / n).read_text(encoding="utf-8").replace("/opt/shuyaku", str(ROOT)),
                                  encoding="utf-8")
    proc = subprocess.run([analyze, "verify", "--man=no", *(str(tmp_path / n) for n in names)], capture_output=True,
                          text=True, timeout=60)
    ours = [line for line in proc.stderr.splitlines() if "shuyaku" in line]
    assert proc.returncode == 0 and ours == [], proc.stderr
    status_timer = (UNITS / "shuyaku-status.timer").read_text(encoding="utf-8")
    audit_timer = (UNITS / "shuyaku-audit.timer").read_text(encoding="utf-8")
    assert "OnCalendar=*-*-01 06:00:00" in status_timer and "OnCalendar=*-*-* 02:30:00" in audit_timer
    assert "shuyaku status --stack" in (UNITS / "shuyaku-status.service").read_text(encoding="utf-8")
    assert "audit --live" in (UNITS / "shuyaku-audit.service").read_text(encoding="utf-8")


def test_the_monthly_unit_hands_the_vendors_passphrases_as_credentials_never_in_the_unit(tmp_path: Path,
                                                                                       recorded: Path) -> None:
    """The passphrases come from a root-only folder that systemd loads as credentials vendor_<V> (`%d`); the unit
    and its environment file carry none. What the unit passes is what status reads: each vendor_<V> as V's."""
    from shuyaku.cli.status import _passphrases

    unit = (UNITS / "shuyaku-status.service").read_text(encoding="utf-8")
    settings = [ln.strip() for ln in unit.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    [load] = [ln for ln in settings if ln.startswith("LoadCredential")]
    cred_id, _, folder = load.removeprefix("LoadCredential=").partition(":")
    assert cred_id == "vendor" and folder.startswith("/etc/shuyaku/") and Path(folder).is_absolute()
    [start] = [ln for ln in settings if ln.startswith("ExecStart=")]
    assert "--vendor-passphrases %d" in start
    for line in settings:  # nothing secret in the unit: no passphrase, no file of one, no password
        assert not any(w in line.upper() for w in ("PASSPHRASE=", "PASSPHRASE_FILE", "PASSWORD", "--VENDOR-PASSPHRASE "))
    # %d as systemd fills it for this unit: a file per vendor named from the ID, and other services' credentials
    creds = tmp_path / "credentials"
    creds.mkdir()
    for name in ("vendor_zaimu", "vendor_juki", "tls_key", "vendor_Bad-Name"):
        (creds / name).write_text("s3cret\n", encoding="utf-8")
    handed = tmp_path / "handed-over"
    handed.write_text("theirs\n", encoding="utf-8")
    assert _passphrases([], creds) == {"juki": creds / "vendor_juki", "zaimu": creds / "vendor_zaimu"}
    assert _passphrases([f"juki={handed}"], creds)["juki"] == handed  # given on the command line: it wins
    res = cli("--stack", "local", "--root", str(ROOT), "--history", str(recorded), "--vendor-passphrases",
              str(tmp_path / "none"), "--lang", "en")
    assert res.exit_code == 2 and f"--vendor-passphrases: no such folder: {tmp_path / 'none'}" in res.output


def test_a_finding_about_a_tenants_project_is_put_on_its_system() -> None:
    from shuyaku.audit.model import Check, Finding
    from shuyaku.contracts.problems import tx
    from shuyaku.status import rules

    check = Check("live.quota", "warning", tx("クォータ", "quota"), tx("なぜ", "why"), tx("直す", "fix"))
    quota = Finding(check=check, kind="quota", resource_id="p-zaimu", resource_name="onprem-zaimu",
                    message=tx("instances=7", "instances=7"))
    other = Finding(check=check, kind="quota", resource_id="p-else", resource_name="x", message=tx("a", "a"))
    assert [r.system_id for r in rules.from_live([quota, other], {"p-zaimu": "zaimu"})] == ["zaimu", None]
