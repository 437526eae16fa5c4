"""A migrated wave on real guests: the small town's platform deployed, each system of waves 1 and 2 booted from
its vendor's project on the real compute host, and `shuyaku verify --migrated` proving the separation with real
connections, through the platform's bastion, from an administrator's terminal.

What runs where (docs/real-guests.md, "The migrated wave"):
- the platform stack (Pulumi, file backend), as stacks/Pulumi.local.yaml deploys it: no servers of its own
  (`instances: false`), but its ports at the planned addresses; its four zone routers are placed on the real
  host's L3 agent and the wave's networks (and the shared segment) on its DHCP agent, by name;
- the bastion, the hub and the relay: the operator boots the guest image on the platform's own ports;
- each system of the waves: a member of its vendor group boots one guest on its tenant network, with the
  tenant's security groups, listening on the ports its planned links come in on;
- outside the cloud, namespaces on the wires: an administrator's terminal on the LGWAN wire (198.18.0.5, one of
  the stack's adminCidrs, behind the LGWAN upstream 198.51.100.1), the security cloud's proxy at the stack's
  proxy address on `public`, and an "internet" web server on `public`.
The dev cloud has one real host, so the guests of all layers share it: a test-only aggregate opens it to the
wave's projects. Compute separation (one layer per host) is proven elsewhere, through the API; here the packets.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from xml.etree import ElementTree

import pytest
import yaml
from cloudlogin import CLOUD_ENV, operator, record_phase
from guestwire import Machine, Wire, on_port
from smalltown import Town
from test_provision_hosts import latest_summary
from wave_rig import QEMU_HOST, WINDOW, Rig

from shuyaku.deploy.engine import ROOT

pytestmark = pytest.mark.integration

WAVES = (1, 2)  # wave 2 brings the relay's link (lgmail -> mail, tcp/25)
INTERNET = ("203.0.113.9", 80)
ADMIN_TERMINAL, LGWAN_UPSTREAM = "198.18.0.5", "198.51.100.1"
RUN = uuid.uuid4().hex[:6]


def record(phase: str, seconds: float) -> None:
    record_phase("migrated wave", phase, seconds)


def qemu_host_up(admin: Any) -> bool:
    return any(s.host == "shuyaku-dev-qemu" and s.state == "up" and s.status == "enabled"
               for s in admin.compute.services(binary="nova-compute"))


@pytest.fixture(scope="module")
def wave(small_town: Town, tmp_path_factory: pytest.TempPathFactory):
    admin = operator()
    if not qemu_host_up(admin):
        if os.environ.get("SHUYAKU_REQUIRE_GUESTS") == "1":
            pytest.fail("the real compute host is not up: run `scripts/dev-cloud up --compute qemu`", pytrace=False)
        pytest.skip("no real compute host (scripts/dev-cloud up --compute qemu)")
    workdir = tmp_path_factory.mktemp("wave")
    small_town.copy_plan(workdir)
    st, plan, outputs = small_town.stack, small_town.plan, small_town.outputs
    wires: list[Wire] = []
    machines: list[Machine] = []
    rig = None
    try:
        systems = [s for w in plan.waves if w.number in WAVES for s in w.systems]
        rig = Rig(admin, outputs, plan, systems, workdir, RUN)
        rig.place()
        zones = outputs["zones"]
        lgwan_gw, internet_gw = rig.gateway_ip("lgwan"), rig.gateway_ip("internet")
        public, lgwan = Wire("osphys1"), Wire("oslgwan1")
        wires += [public, lgwan]
        # the administrator's terminal behind the LGWAN upstream: the bastion answers it through the LGWAN router
        terminal = lgwan.machine("admin", [f"{LGWAN_UPSTREAM}/24", f"{ADMIN_TERMINAL}/32"],
                                 [(zones["shared"]["cidr"], lgwan_gw, ADMIN_TERMINAL)])
        proxy_ip = outputs["proxy"]["cidr"].split("/")[0]
        proxy = public.machine("proxy", [f"{proxy_ip}/24"], [(zones["internet"]["cidr"], internet_gw, None)])
        proxy.start(sys.executable, str(Path(__file__).with_name("connect_proxy.py")), proxy_ip,
                    str(outputs["proxy"]["port"]), log=str(workdir / "proxy.log"))
        internet = public.machine("internet", [f"{INTERNET[0]}/24"])
        web = workdir / "www"
        web.mkdir()
        (web / "index.html").write_text("the internet\n")
        internet.start(sys.executable, "-m", "http.server", str(INTERNET[1]), "--bind", INTERNET[0],
                       "--directory", str(web), log=str(workdir / "internet.log"))
        # the operator's desk reaches the cloud's API too (it listens on the controller's loopback here)
        terminal.forward_loopback(api_ports(admin))
        mirror = patch_mirror(admin, outputs, workdir)
        machines.append(mirror)
        t0 = time.monotonic()
        rig.boot()
        record(f"{len(rig.guests)} guests, {WINDOW} at a time: create to configured", time.monotonic() - t0)
        print("[migrated wave] create -> configured (s): "
              + ", ".join(f"{n} {g.booted:.0f}" for n, g in rig.guests.items()))
        t0 = time.monotonic()
        rig.wait_ssh(terminal)
        record("SSH through the bastion answered by every guest", time.monotonic() - t0)
        yield {"rig": rig, "terminal": terminal, "proxy": proxy, "outputs": outputs, "plan": plan,
               "workdir": workdir, "stack": st}
    finally:
        for m in machines:
            m.stop()
        if rig is not None:
            rig.remove()
        for w in wires:
            w.remove()


def api_ports(admin: Any) -> list[int]:
    urls = [urlsplit(e.url) for e in admin.identity.endpoints()]
    return sorted({u.port or 80 for u in urls if u.hostname == "127.0.0.1"})


def patch_mirror(admin: Any, outputs: dict[str, Any], workdir: Path) -> Machine:
    """The shared services' patch mirror on its own platform port: the dev cloud's signed mirror of the baseline's
    packages (scripts/guest-image.d/patchmirror.py), served over HTTP from a namespace plugged into that port."""
    image = subprocess.run([str(ROOT / "scripts" / "guest-image"), "path"], capture_output=True, text=True, check=True)
    port = next(iter(admin.network.ports(name=f"{outputs['site']}-patch-mirror-01")))
    gateway = admin.network.get_subnet(port.fixed_ips[0]["subnet_id"]).gateway_ip
    m = on_port(admin, port, "mirror", gateway, QEMU_HOST)
    m.start(sys.executable, "-m", "http.server", "80", "--bind", port.fixed_ips[0]["ip_address"], "--directory",
            str(Path(image.stdout.strip()) / "mirror"), log=str(workdir / "mirror.log"))
    return m


def shuyaku_at_desk(wave: dict[str, Any], *args: str, timeout: float = 1800) -> subprocess.CompletedProcess[str]:
    """`shuyaku ARGS` from the administrator's terminal, with the operator's cloud and the stack's state."""
    env = wave["stack"].env()
    settings = [f"{k}={env[k]}" for k in ("PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE_FILE") if k in env]
    settings += [f"{k}={v}" for k, v in CLOUD_ENV.items()]
    return wave["terminal"].run("env", *settings, sys.executable, "-m", "shuyaku.cli", *args, timeout=timeout,
                                check=False)


def test_every_guest_runs_on_the_real_host_from_its_own_project(wave: dict[str, Any]) -> None:
    rig: Rig = wave["rig"]
    for name, g in rig.guests.items():
        server = rig.admin.compute.get_server(g.server_id)
        assert (server.status, server.compute_host) == ("ACTIVE", "shuyaku-dev-qemu"), name
        # Nova's own record: each system's guest in its vendor's project, the services in the operator's
        want = wave["outputs"]["tenants"][g.system]["project_id"] if g.system else rig.admin.current_project_id
        assert server.project_id == want, name


# The chain in the test command: the My Number layer's guests. Under TCG on two cores the baseline's first 8 of 25
# tasks took 9 minutes on all nine guests of the wave (bench/RESULTS.md, session 9); the code path is the same for
# every layer's guest.
CHAIN_GROUP = "migrated_mynumber"


def operator_vars(wave: dict[str, Any]) -> Path:
    """What the platform's outputs do not decide, in the operator's own file: the log host's CA (a throwaway one
    here: no log host runs) and the operator's key for the bastion and the guests."""
    work: Path = wave["workdir"]
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ed25519", "-nodes", "-subj", "/CN=shuyaku wave log CA",
                    "-days", "1", "-keyout", str(work / "log-ca.key"), "-out", str(work / "log-ca.pem")],
                   check=True, capture_output=True)
    path = work / "operator-vars.yml"
    path.write_text(yaml.safe_dump({"baseline_log_ca_cert": (work / "log-ca.pem").read_text(),
                                    "ansible_ssh_private_key_file": str(wave["rig"].key)}), encoding="utf-8")
    return path


def provision(wave: dict[str, Any], vars_file: Path, artifacts: Path) -> tuple[subprocess.CompletedProcess[str], dict]:
    done = shuyaku_at_desk(wave, "provision", "--stack", wave["stack"].name, "--cloud", CLOUD_ENV["OS_CLOUD"],
                           "--plan", str(wave["workdir"] / "plan" / "plan.json"), "--vars", str(vars_file),
                           "--playbook", "baseline", "--limit", CHAIN_GROUP, "--artifacts", str(artifacts),
                           "--lang", "en")
    if done.returncode != 0:  # what the guests' consoles say (an OOM, a panic) goes with the failure
        rig: Rig = wave["rig"]
        for g in rig.guests.values():
            if f"migrated_{g.layer}" == CHAIN_GROUP:
                console = rig.admin.compute.get_server_console_output(g.server_id, length=60).get("output", "")
                print(f"\n[migrated wave] console of {g.name}:\n{console}")
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    return done, latest_summary(artifacts, "baseline")


def test_the_chain_baseline_through_the_bastion_then_verify(wave: dict[str, Any]) -> None:
    """`shuyaku provision --stack S --cloud C` finds the vendors' servers, applies the baseline role to them through
    the bastion (packages from the platform's patch mirror), changes nothing the second time; `verify` then runs the
    baseline's checks on them. The connection matrix that follows runs through these guests' own firewalls."""
    rig: Rig = wave["rig"]
    vars_file, artifacts = operator_vars(wave), wave["workdir"] / "artifacts"
    migrated = {g.name for g in rig.guests.values() if g.system and f"migrated_{g.layer}" == CHAIN_GROUP}
    assert migrated
    t0 = time.monotonic()
    first, summary = provision(wave, vars_file, artifacts)
    record(f"provision baseline, {len(migrated)} guest(s) through the bastion", time.monotonic() - t0)
    print(first.stdout[-3000:])
    assert set(summary["hosts"]) == migrated
    for host, s in summary["hosts"].items():
        assert (s["failed"], s["unreachable"]) == (0, 0) and s["changed"] > 10, (host, s)
    t0 = time.monotonic()
    _, again = provision(wave, vars_file, artifacts)
    record("provision baseline again (no change)", time.monotonic() - t0)
    assert {h: s["changed"] for h, s in again["hosts"].items()} == dict.fromkeys(migrated, 0)
    # every migrated guest read the patch mirror's signed index (its packages, the mirror's very files, were in the
    # image already: docs/guest-image.md), and nothing else asked the mirror
    log = (wave["workdir"] / "mirror.log").read_text().splitlines()
    asked = {line.split()[0] for line in log if "/dists/bookworm/InRelease" in line}
    assert asked == {g.address for g in rig.guests.values() if g.name in migrated}, asked
    out = wave["workdir"] / "verify-baseline"
    t0 = time.monotonic()
    checked = shuyaku_at_desk(wave, "verify", "--stack", wave["stack"].name, "--cloud", CLOUD_ENV["OS_CLOUD"],
                              "--vars", str(vars_file), "--group", CHAIN_GROUP, "--suite",
                              str(ROOT / "tests" / "infra" / "test_baseline.py"), "--junit", str(out / "junit.xml"),
                              "--html", str(out / "summary.html"), "--lang", "en")
    record("verify: the baseline's checks on the guests", time.monotonic() - t0)
    print(checked.stdout[-4000:])
    assert checked.returncode == 0, failed_checks(out / "junit.xml") + checked.stderr[-3000:]
    assert not failed_checks(out / "junit.xml")


def failed_checks(junit: Path) -> str:
    """Each failed check with the start of its message: the console's tail would show only the last one."""
    if not junit.exists():
        return "(no JUnit written)\n"
    cases = ElementTree.parse(junit).getroot().iter("testcase")
    return "".join(f"{c.get('name')}: {(f.get('message') or f.text or '')[:800]}\n"
                   for c in cases for f in c if f.tag in ("failure", "error"))


def run_verify(wave: dict[str, Any], label: str) -> tuple[subprocess.CompletedProcess[str], dict[str, int]]:
    """`shuyaku verify --migrated` from the administrator's terminal (the only place outside the cloud the bastion
    admits SSH from), and its tally."""
    rig: Rig = wave["rig"]
    workdir: Path = wave["workdir"]
    out = workdir / f"verify-{label}"
    # the guests are found in the cloud (the vendors' servers in their projects, the operator's on the service
    # ports), each with the host key its console printed: nothing is joined by hand
    t0 = time.monotonic()
    done = shuyaku_at_desk(wave, "verify", "--migrated", "--stack", wave["stack"].name, "--cloud", CLOUD_ENV["OS_CLOUD"],
                           "--plan", str(workdir / "plan" / "plan.json"),
                           "--internet-host", f"{INTERNET[0]}:{INTERNET[1]}", "--private-key", str(rig.key),
                           "--junit", str(out / "junit.xml"), "--html", str(out / "summary.html"), "--lang", "en")
    record(f"verify --migrated ({label})", time.monotonic() - t0)
    print(done.stdout[-5000:])
    got = re.search(r"tried (\d+) of (\d+): allowed as planned (\d+), refused as planned (\d+), unexpected (\d+), "
                    r"not run (\d+)", " ".join(done.stdout.split()))
    assert got, done.stdout[-3000:] + done.stderr[-3000:]
    tally = dict(zip(("tried", "total", "allowed", "refused", "unexpected", "not_run"), map(int, got.groups()),
                     strict=True))
    print(f"\n[migrated wave] matrix ({label}): {tally}; guests {len(rig.guests)}")
    return done, tally


def test_verify_migrated_proves_every_case_through_the_bastion(wave: dict[str, Any]) -> None:
    """After the chain: the My Number layer's guests behind their own host firewalls, the others as deployed."""
    rig: Rig = wave["rig"]
    done, got = run_verify(wave, "after-chain")
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    cases = json.loads((wave["workdir"] / "verify-after-chain" / "migrated-cases.json").read_text())["cases"]
    planned = [c for c in cases if c["expect"] == "allow"]
    assert (got["tried"], got["unexpected"], got["not_run"]) == (got["total"], 0, 0) and got["total"] == len(cases)
    assert (got["allowed"], got["refused"]) == (len(planned), len(cases) - len(planned))
    # every planned link between the migrated systems was tried, and every kind of rule the issue names
    links = {f"{lk.source}->{lk.target} tcp/{lk.port}" for lk in wave["plan"].links
             if lk.source in rig.systems and lk.target in rig.systems and lk.protocol == "tcp"}
    assert links and links <= {c["link"] for c in planned}
    assert {"internet_via_proxy", "internet_direct", "lgwan_internet", "unlinked_pair"} <= {c["why"] for c in cases}
    # the proxy saw the internet-layer guests' CONNECTs and nothing from another layer
    log = (wave["workdir"] / "proxy.log").read_text()
    internet_guests = {g.address for g in rig.guests.values() if g.layer == "internet"}
    seen = {line.rsplit(" ", 1)[-1] for line in log.splitlines() if line.startswith("CONNECT")}
    assert seen and seen <= internet_guests, (seen, internet_guests)


WIDENERS = ("atena", "jinji", "web")  # one vendor of each business layer


def test_vendors_who_widen_their_own_groups_still_cannot_leave_their_layer(wave: dict[str, Any]) -> None:
    """A vendor may edit its own tenant's groups (its right): three vendors, one per business layer, open theirs to
    every TCP port of 0.0.0.0/0, both ways. The same matrix, run again, must still behave as planned: what keeps
    each layer in is the routing (no route out of My Number, LGWAN's way out is the LGWAN wire, the internet
    layer's router does no SNAT) and the other tenants' groups, which these vendors cannot touch."""
    rig: Rig = wave["rig"]
    widened = []
    for sid in WIDENERS:
        vendor = rig.vendors[sid]
        group = wave["outputs"]["tenants"][sid]["security_group_ids"]["tenant"]
        for direction in ("ingress", "egress"):
            widened.append((vendor, vendor.network.create_security_group_rule(
                security_group_id=group, direction=direction, ethertype="IPv4", protocol="tcp", port_range_min=1,
                port_range_max=65535, remote_ip_prefix="0.0.0.0/0")))
    try:
        time.sleep(5)  # the agent applies rules on its next loop (2 s)
        done, got = run_verify(wave, "widened")
        assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
        assert got["unexpected"] == 0 and got["tried"] == got["total"] > 0
    finally:
        for vendor, rule in widened:
            vendor.network.delete_security_group_rule(rule)
