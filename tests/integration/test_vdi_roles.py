"""The VDI roles end to end on real test hosts: converge, converge again (nothing may change), verify with
the testinfra suites, and refuse a run that lacks a required variable with argument_specs' message.

`.venv/bin/pytest -m hosts tests/integration/test_vdi_roles.py` starts `scripts/test-hosts up 3 --name vdi`
(a VDI host, a web gateway, a thin client), and stops them at the end.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "infra"))
from vdi_env import PLAYBOOKS, REPO, VdiEnv, _env, converge_all, get_env, run_playbook

pytestmark = pytest.mark.hosts


@pytest.fixture(scope="module")
def env(request) -> VdiEnv:
    return get_env(request.config)


@pytest.fixture(scope="module")
def second_runs(env) -> dict:
    t0 = time.monotonic()
    out = converge_all(env.inventory, env.extravars, env.workdir, "second")
    print(f"[vdi] second converge of all three playbooks: {time.monotonic() - t0:.0f} s wall", file=sys.stderr)
    return out


@pytest.mark.parametrize("playbook", PLAYBOOKS)
def test_first_converge_succeeds_on_every_host(env, playbook):
    first = env.first_converge.get(playbook)
    if first is None:
        pytest.fail("hosts were given from outside (SHUYAKU_VDI_INVENTORY); this test converges its own set")
    assert first.rc == 0 and not first.failed_hosts(), first.stdout[-4000:]
    assert first.stats.get("ok"), "no host was converged"
    print(f"[vdi] {playbook}: first converge {first.seconds:.0f} s", file=sys.stderr)


@pytest.mark.parametrize("playbook", PLAYBOOKS)
def test_second_converge_changes_nothing(second_runs, playbook):
    res = second_runs[playbook]
    assert res.rc == 0, res.stdout[-4000:]
    changed_tasks = [
        line for line in res.stdout.splitlines() if line.startswith("changed:")
    ]
    assert res.changed() == {}, f"second run changed {res.changed()}:\n" + "\n".join(changed_tasks)


def test_testinfra_suites_pass_on_the_converged_hosts(env, second_runs, tmp_path):
    junit = tmp_path / "vdi-infra.xml"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-m", "hosts", "-q", "-p", "no:cacheprovider", f"--junitxml={junit}",
         "tests/infra/test_vdi_host.py", "tests/infra/test_vdi_web.py", "tests/infra/test_thin_client.py"],
        cwd=REPO, capture_output=True, text=True, timeout=1200,
        env={**_env(), "SHUYAKU_VDI_INVENTORY": str(env.inventory), "SHUYAKU_VDI_WORKDIR": str(env.workdir)},
    )
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    assert " passed" in proc.stdout and " skipped" not in proc.stdout, proc.stdout[-2000:]


@pytest.mark.parametrize(
    ("playbook", "drop", "group"),
    [
        ("vdi_host", "vdi_host_tls_cert_file", "vdi_hosts"),
        ("vdi_web", "vdi_web_targets", "vdi_web"),
        ("thin_client", "thin_client_vdi_host", "thin_clients"),
    ],
)
def test_missing_required_variable_is_a_clear_error(env, playbook, drop, group):
    """argument_specs stops the play before any change and names the variable."""
    extravars = {k: v for k, v in env.extravars.items() if k != drop}
    vars_file = env.workdir / f"missing-{drop}.json"
    vars_file.write_text(__import__("json").dumps(extravars))
    vars_file.chmod(0o600)
    p = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", str(env.inventory),
         str(REPO / "playbooks" / f"{playbook}.yml"), "-e", f"@{vars_file}"],
        cwd=REPO, capture_output=True, text=True, env=_env(), timeout=300,
    )
    out = p.stdout + p.stderr
    assert p.returncode != 0
    assert "missing required arguments" in out and drop in out, out[-3000:]
    assert "Traceback" not in out
    # It failed at validation: no task of the role ran.
    assert "changed=0" in out and "ok=1" in out.split("PLAY RECAP")[-1], out[-1500:]


def zone_inventory(env) -> Path:
    """The test inventory plus each group's zone flows in group_vars, as a site keeps them: the VDI host
    takes RDP from the thin client (and the test controller), the gateway takes HTTPS from the controller
    (the browser), and the thin client may open RDP to the VDI host and nothing else."""
    gw = env.inventory_vars().get("test_hosts_gateway", "198.18.0.1")
    tc, vdi = env.addr("thin_clients"), env.addr("vdi_hosts")
    group_vars = {
        "vdi_hosts": {"baseline_allowed_flows": [
            {"proto": "tcp", "port": 3389, "from": f"{tc}/32", "comment": "RDP from the thin clients"},
            {"proto": "tcp", "port": 3389, "from": f"{gw}/32", "comment": "RDP from the test controller"}]},
        "vdi_web": {"baseline_allowed_flows": [
            {"proto": "tcp", "port": 6080, "from": f"{gw}/32", "comment": "noVNC from the test controller"}]},
        "thin_clients": {"baseline_egress_restricted": True, "baseline_egress_flows": [
            {"proto": "tcp", "port": 3389, "to": f"{vdi}/32", "comment": "RDP to the VDI pool"}]},
    }
    d = env.workdir / "site-inventory"
    (d / "group_vars").mkdir(parents=True, exist_ok=True)
    shutil.copy(env.inventory, d / "hosts.yml")
    for group, data in group_vars.items():
        (d / "group_vars" / f"{group}.yml").write_text(yaml.safe_dump(data))
    return d


# TCP targets print "open" or the error; "udp:" targets send one datagram: a packet the host's own
# output policy drops fails at once with PermissionError (EPERM), one that leaves prints "sent". (A
# dropped TCP SYN would only time out, indistinguishable from a drop at the far end.)
PROBE = ("import socket,sys\nfor a in sys.argv[1:]:\n u=a.startswith('udp:'); h,p=a.removeprefix('udp:').rsplit(':',1)\n"
         " s=socket.socket(type=socket.SOCK_DGRAM if u else socket.SOCK_STREAM); s.settimeout(3)\n"
         " try:\n  s.sendto(b'x',(h,int(p))) if u else s.connect((h,int(p))); print(a,'sent' if u else 'open')\n"
         " except OSError as e:\n  print(a,type(e).__name__)\n")


def test_with_baseline_site_converges_twice_and_vdi_still_verifies(env, second_runs, tmp_path):
    """The VDI roles also hold on hosts hardened by the baseline role (site.yml: baseline first, then
    each group's playbook): the site converges, a second run changes nothing, and the VDI checks pass
    (the kiosk's desktop included) through baseline's default-drop firewalls opened only for each zone's
    flows."""
    if not (REPO / "playbooks" / "site.yml").exists() or not (REPO / "roles" / "baseline").exists():
        pytest.fail("playbooks/site.yml or roles/baseline missing")
    inventory = zone_inventory(env)
    first = run_playbook("site", inventory, env.extravars, env.workdir, "site-first")
    print(f"[vdi] site.yml (baseline + VDI) first run: {first.seconds:.0f} s", file=sys.stderr)
    assert first.rc == 0, first.stdout[-6000:]
    again = run_playbook("site", inventory, env.extravars, env.workdir, "site-second")
    print(f"[vdi] site.yml second run: {again.seconds:.0f} s, changed={again.changed()}", file=sys.stderr)
    assert again.rc == 0, again.stdout[-6000:]
    assert again.changed() == {}, "second site run changed:\n" + "\n".join(
        line for line in again.stdout.splitlines() if line.startswith("changed:"))
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-m", "hosts", "-q", "-p", "no:cacheprovider",
         "tests/infra/test_vdi_host.py", "tests/infra/test_vdi_web.py", "tests/infra/test_thin_client.py"],
        cwd=REPO, capture_output=True, text=True, timeout=1200,
        env={**_env(), "SHUYAKU_VDI_INVENTORY": str(env.inventory), "SHUYAKU_VDI_WORKDIR": str(env.workdir)},
    )
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]

    # The thin client's own firewall: RDP to the VDI host, the patch mirror and NTP leave it; anything
    # else is stopped on the thin client itself.
    gw = env.inventory_vars()["test_hosts_gateway"]
    vdi, web = env.addr("vdi_hosts"), env.addr("vdi_web")
    targets = [f"{vdi}:3389", f"{gw}:3142", f"udp:{gw}:123", f"udp:{vdi}:3389", f"udp:{web}:6080",
               f"udp:{gw}:53"]
    out = env.host("thin_clients").run(f"python3 -c {shlex.quote(PROBE)} {' '.join(targets)}").stdout
    result = dict(line.split(" ", 1) for line in out.splitlines())
    assert result == {f"{vdi}:3389": "open", f"{gw}:3142": "open", f"udp:{gw}:123": "sent",
                      f"udp:{vdi}:3389": "PermissionError", f"udp:{web}:6080": "PermissionError",
                      f"udp:{gw}:53": "PermissionError"}, out
