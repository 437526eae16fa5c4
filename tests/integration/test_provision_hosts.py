"""`shuyaku provision / verify / patch` against real test hosts (scripts/test-hosts, --name base, 2 hosts).

The hosts are started fresh for this module and stopped at the end; nothing is skipped when they are missing.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.hosts

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "test-hosts"
NAME = "base"
REPO_CACHE = Path(os.environ.get("SHUYAKU_CACHE", "/var/cache/shuyaku")) / "test-hosts"


def shuyaku(*args: str, timeout: int = 1200) -> subprocess.CompletedProcess:
    env = dict(os.environ, PATH=f"{REPO / '.venv' / 'bin'}:{os.environ.get('PATH', '')}", COLUMNS="200")
    return subprocess.run([str(REPO / ".venv" / "bin" / "shuyaku"), *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout)


def no_traceback(proc: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stdout[-2000:] + proc.stderr[-2000:]


def latest_summary(artifacts: Path, stem: str) -> dict:
    runs = sorted(artifacts.glob(f"*-{stem}/summary.json"))
    assert runs, f"no summary.json for {stem} under {artifacts}"
    return json.loads(runs[-1].read_text())


@pytest.fixture(scope="module")
def inventory() -> Path:
    subprocess.run([str(SCRIPT), "down", "--name", NAME], capture_output=True, text=True)
    up = subprocess.run([str(SCRIPT), "up", "2", "--name", NAME], capture_output=True, text=True, timeout=1800)
    assert up.returncode == 0, up.stderr
    path = Path(up.stdout.strip().splitlines()[-1])
    yield path
    if not os.environ.get("SHUYAKU_KEEP_TEST_HOSTS"):
        subprocess.run([str(SCRIPT), "down", "--name", NAME], capture_output=True, text=True)


@pytest.fixture(scope="module")
def hostvars(inventory) -> dict:
    data = yaml.safe_load(inventory.read_text())
    return {"all": data["all"]["vars"], "hosts": data["all"]["children"]["servers"]["hosts"]}


def pinned(hostvars: dict) -> list[str]:
    """ssh options for the set: its key, and only the host keys test-hosts recorded when it made the hosts."""
    return ["-i", hostvars["all"]["ansible_ssh_private_key_file"], "-o", "StrictHostKeyChecking=yes",
            "-o", f"UserKnownHostsFile={hostvars['all']['test_hosts_known_hosts']}",
            "-o", "GlobalKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR"]


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("artifacts")


@pytest.fixture(scope="module")
def converged(inventory, artifacts):
    first = shuyaku("provision", "--inventory", str(inventory), "--playbook", "baseline", "--artifacts",
                    str(artifacts), "--lang", "en")
    no_traceback(first)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    return latest_summary(artifacts, "baseline")


def test_baseline_converges_on_both_hosts(converged):
    assert set(converged["hosts"]) == {f"{NAME}-1", f"{NAME}-2"}
    for host, s in converged["hosts"].items():
        assert s["failed"] == 0 and s["unreachable"] == 0, host
        assert s["changed"] > 10, f"{host}: a fresh host should change a lot, got {s['changed']}"


def test_second_run_changes_nothing(converged, inventory, artifacts):
    second = shuyaku("provision", "--inventory", str(inventory), "--playbook", "baseline", "--artifacts",
                     str(artifacts), "--lang", "en")
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    summary = latest_summary(artifacts, "baseline")
    assert {h: s["changed"] for h, s in summary["hosts"].items()} == {f"{NAME}-1": 0, f"{NAME}-2": 0}
    assert "Result: baseline.yml" in second.stdout  # the summary table


def test_check_mode_reports_without_changing(converged, inventory, artifacts):
    proc = shuyaku("provision", "--inventory", str(inventory), "--playbook", "baseline", "--check",
                   "--artifacts", str(artifacts), "--lang", "en")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "check mode" in proc.stdout


def test_verify_writes_junit_and_html(converged, inventory, tmp_path):
    junit, html = tmp_path / "junit.xml", tmp_path / "summary.html"
    proc = shuyaku("verify", "--inventory", str(inventory), "--suite", "tests/infra/test_baseline.py",
                   "--junit", str(junit), "--html", str(html), "-n", "2", "--lang", "en")
    no_traceback(proc)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    xml = junit.read_text()
    assert "test_password_login_refused_even_with_the_right_password[base-1]" in xml
    assert "test_password_login_refused_even_with_the_right_password[base-2]" in xml
    page = html.read_text()
    assert "<h2>base-1</h2>" in page and "<h2>base-2</h2>" in page
    assert 'class="failed">0<' in page


def test_patch_runs_in_serial_batches_and_reports(converged, inventory, hostvars, artifacts):
    ssh = ["ssh", *pinned(hostvars)]
    h1 = hostvars["hosts"][f"{NAME}-1"]["ansible_host"]
    h2 = hostvars["hosts"][f"{NAME}-2"]["ansible_host"]
    # A real outdated package on host 1 (bookworm's tzdata; the security suite has a newer one), and a
    # pending reboot on host 2.
    down = subprocess.run([*ssh, f"ansible@{h1}", "sudo apt-get install -y -qq --allow-downgrades "
                           "tzdata=$(apt-cache madison tzdata | awk '/bookworm\\/main/ {print $3; exit}')"],
                          capture_output=True, text=True)
    assert down.returncode == 0, down.stderr
    subprocess.run([*ssh, f"ansible@{h2}", "sudo touch /var/run/reboot-required"], check=True)
    boot_before = subprocess.run([*ssh, f"ansible@{h2}", "cut -d' ' -f22 /proc/1/stat"], capture_output=True,
                                 text=True, check=True).stdout

    proc = shuyaku("patch", "--inventory", str(inventory), "--batch", "1", "--artifacts", str(artifacts),
                   "--lang", "en")
    no_traceback(proc)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "Patch report" in proc.stdout and "tzdata" in proc.stdout

    # Batches as the runner's own events show them: each batch restarts the play's first task.
    run_dir = sorted(artifacts.glob("*-patch"))[-1]
    events = [json.loads(p.read_text()) for p in sorted((run_dir / "artifacts").glob("*/job_events/*.json"),
                                                         key=lambda p: int(p.name.split("-")[0]))]
    batches: list[list[str]] = []
    first_uuid = None
    for ev in events:
        data = ev.get("event_data", {})
        if ev["event"] == "playbook_on_task_start":
            first_uuid = first_uuid or data["task_uuid"]
            if data["task_uuid"] == first_uuid:
                batches.append([])
        elif ev["event"] == "runner_on_ok" and batches and data["host"] not in batches[-1]:
            batches[-1].append(data["host"])
    assert sorted(batches) == [[f"{NAME}-1"], [f"{NAME}-2"]]
    assert latest_summary(artifacts, "patch")["batches"] == batches

    reports = {p.stem: json.loads(p.read_text()) for p in artifacts.glob("patch-reports-*/*.json")}
    upgraded = {c["package"] for c in reports[f"{NAME}-1"]["changes"]}
    assert "tzdata" in upgraded
    assert reports[f"{NAME}-1"]["rebooted"] is False
    assert reports[f"{NAME}-2"]["rebooted"] is True
    boot_after = subprocess.run([*ssh, f"ansible@{h2}", "cut -d' ' -f22 /proc/1/stat"], capture_output=True,
                                text=True, check=True).stdout
    assert boot_after != boot_before, "host 2 did not reboot"


def test_unreachable_host_gives_a_clear_error(inventory, hostvars, tmp_path):
    gw = hostvars["all"]["test_hosts_gateway"]
    ghost = gw.rsplit(".", 1)[0] + ".250"
    data = yaml.safe_load(inventory.read_text())
    data["all"]["children"] = {"servers": {"hosts": {"ghost-1": {"ansible_host": ghost}}}}
    inv = tmp_path / "ghost.yml"
    inv.write_text(yaml.safe_dump(data))
    proc = shuyaku("provision", "--inventory", str(inv), "--playbook", "baseline", "--artifacts", str(tmp_path),
                   "--lang", "en", timeout=300)
    no_traceback(proc)
    assert proc.returncode == 1
    assert f"host ghost-1 ({ghost}) is unreachable" in proc.stderr


def test_missing_required_role_variable_is_named(inventory, tmp_path):
    data = yaml.safe_load(inventory.read_text())
    del data["all"]["vars"]["baseline_patch_mirror_url"]
    inv = tmp_path / "missing.yml"
    inv.write_text(yaml.safe_dump(data))
    proc = shuyaku("provision", "--inventory", str(inv), "--playbook", "baseline", "--limit", f"{NAME}-1",
                   "--artifacts", str(tmp_path), "--lang", "en", timeout=300)
    no_traceback(proc)
    assert proc.returncode == 2
    assert "role baseline is missing required variable(s): baseline_patch_mirror_url" in proc.stderr
    assert "roles/baseline/meta/argument_specs.yml" in proc.stderr
    ja = shuyaku("provision", "--inventory", str(inv), "--playbook", "baseline", "--limit", f"{NAME}-1",
                 "--artifacts", str(tmp_path), timeout=300)
    assert ja.returncode == 2 and "必須変数がありません: baseline_patch_mirror_url" in ja.stderr


def test_bad_inventory_file_is_input_error(tmp_path):
    proc = shuyaku("provision", "--inventory", str(tmp_path / "nope.yml"), "--lang", "en")
    no_traceback(proc)
    assert proc.returncode == 2 and "no such file" in proc.stderr
    bad = tmp_path / "bad.yml"
    bad.write_text("all: [this, is, not, an, inventory\n")
    proc = shuyaku("provision", "--inventory", str(bad), "--lang", "en")
    no_traceback(proc)
    assert proc.returncode == 2


def test_test_hosts_reach_only_the_apt_proxy(inventory, hostvars):
    """scripts/test-hosts promise: a container reaches its apt proxy and nothing outside its set.

    The bridge lets the set's hosts talk to each other (the VDI tests' kiosk reaches its VDI host); here the
    baseline has converged, so the peer's own firewall drops SSH that does not come from the management
    address."""
    gw = hostvars["all"]["test_hosts_gateway"]
    h1 = hostvars["hosts"][f"{NAME}-1"]["ansible_host"]
    h2 = hostvars["hosts"][f"{NAME}-2"]["ansible_host"]
    machine = [a.split()[3].split("/")[0] for a in subprocess.run(
        ["ip", "-4", "-o", "addr", "show", "scope", "global"], capture_output=True, text=True).stdout.splitlines()
        if not a.split()[3].startswith("198.18.")]
    probe = ("import socket,sys\nfor a in sys.argv[1:]:\n h,p=a.rsplit(':',1)\n s=socket.socket(); s.settimeout(2)\n"
             " try:\n  s.connect((h,int(p))); print(a,'open')\n except OSError as e:\n  print(a,type(e).__name__)\n")
    targets = [f"{gw}:3142", f"{h2}:22", f"{gw}:2024", *(f"{m}:2024" for m in machine), "192.0.2.1:80"]
    proc = subprocess.run(["ssh", *pinned(hostvars), f"ansible@{h1}", "python3", "-c", f'"{probe}"', *targets],
                          capture_output=True, text=True, timeout=60)
    result = dict(line.split(" ", 1) for line in proc.stdout.splitlines())
    assert result[f"{gw}:3142"] == "open"      # the apt proxy
    assert result[f"{h2}:22"] == "TimeoutError"  # baseline: ssh only from the management CIDR
    for t in targets[2:]:
        assert result[t] != "open", f"{t} is reachable from a test host"


def _ssh(hostvars, host: str, *cmd: str, timeout: int = 60) -> subprocess.CompletedProcess:
    return subprocess.run(["ssh", *pinned(hostvars), f"ansible@{hostvars['hosts'][host]['ansible_host']}", *cmd],
                          capture_output=True, text=True, timeout=timeout)


def test_logs_reach_the_log_host_over_tls_only(converged, hostvars):
    """MIC 6.1: a message logged on each host arrives at the set's log host, a real rsyslogd that speaks only TLS
    (scripts/test-hosts): arriving at all proves the host forwarded over TLS and accepted the log host's
    certificate."""
    import time
    import uuid

    received = Path(hostvars["all"]["test_hosts_log_file"])
    nonces = {}
    for host in hostvars["hosts"]:
        nonces[host] = f"shuyaku-tls-probe-{uuid.uuid4().hex[:8]}"
        proc = _ssh(hostvars, host, "logger", "-t", "shuyaku-probe", nonces[host])
        assert proc.returncode == 0, proc.stderr
    deadline = time.monotonic() + 60
    missing = dict(nonces)
    while missing and time.monotonic() < deadline:
        text = received.read_text(errors="replace") if received.exists() else ""
        missing = {h: n for h, n in missing.items() if n not in text}
        time.sleep(1)
    assert not missing, f"not received by the log host within 60 s: {missing}"


def _in_container(host: str, script: str) -> None:
    """Run a shell script inside a test host's container (as its root), not over SSH."""
    nspawn = (REPO_CACHE / "run" / NAME / "hosts" / host / "nspawn.pid").read_text().strip()
    leader = Path(f"/proc/{nspawn}/task/{nspawn}/children").read_text().split()[0]
    subprocess.run(["nsenter", "-t", leader, "-a", "sh", "-c", script], check=True, timeout=60)


def test_host_keys_are_each_hosts_own_and_recorded_at_creation(inventory, hostvars):
    known = Path(hostvars["all"]["test_hosts_known_hosts"]).read_text().splitlines()
    served = {}
    for host, hv in hostvars["hosts"].items():
        pub = (REPO_CACHE / "run" / NAME / "hosts" / host / "root" / "etc" / "ssh" / "ssh_host_ed25519_key.pub")
        served[host] = pub.read_text().split()[1]
        assert f"{hv['ansible_host']},{host} ssh-ed25519 {served[host]}" in known
    assert len(set(served.values())) == len(served), "two test hosts share one host key"
    assert "StrictHostKeyChecking=yes" in hostvars["all"]["ansible_ssh_common_args"]


def test_a_host_whose_key_changed_is_refused_by_name(converged, inventory, hostvars, tmp_path):
    """Someone answers at base-2's address with another key (here: base-2 itself, its keys regenerated inside
    the container): provision refuses it and says why, and base-1 still converges."""
    host = f"{NAME}-2"
    keys = REPO_CACHE / "run" / NAME / "hosts" / host / "root" / "etc" / "ssh"
    saved = {p.name: p.read_bytes() for p in keys.glob("ssh_host_*")}
    # Killing every sshd in the container also ends any multiplexed master that would skip the key check.
    _in_container(host, "rm -f /etc/ssh/ssh_host_*; ssh-keygen -A >/dev/null; pkill -x sshd; systemctl restart ssh")
    try:
        proc = shuyaku("provision", "--inventory", str(inventory), "--playbook", "baseline", "--artifacts",
                       str(tmp_path), "--lang", "en", timeout=600)
        no_traceback(proc)
        assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr[-2000:]
        addr = hostvars["hosts"][host]["ansible_host"]
        assert f"host {host} ({addr}) was refused: its SSH host key does not match" in proc.stderr
        summary = latest_summary(tmp_path, "baseline")
        assert summary["hosts"][host]["unreachable"] == 1
        assert summary["hosts"][f"{NAME}-1"]["failed"] == 0 and summary["hosts"][f"{NAME}-1"]["unreachable"] == 0
        ja = shuyaku("provision", "--inventory", str(inventory), "--playbook", "baseline", "--limit", host,
                     "--artifacts", str(tmp_path), timeout=600)
        assert ja.returncode == 1 and f"ホスト {host} ({addr}) の SSH ホスト鍵が記録" in ja.stderr
    finally:
        for name, data in saved.items():
            (keys / name).write_bytes(data)
        _in_container(host, "pkill -x sshd; systemctl restart ssh")
    back = shuyaku("provision", "--inventory", str(inventory), "--playbook", "baseline", "--limit", host,
                   "--artifacts", str(tmp_path), "--lang", "en", timeout=600)
    assert back.returncode == 0, back.stdout[-2000:] + back.stderr[-2000:]
