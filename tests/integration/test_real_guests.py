"""Real guests on the dev cloud: Nova's libvirt driver boots the guest image under QEMU on the real compute host
(`scripts/dev-cloud up --compute qemu`), Neutron's linuxbridge agent wires real taps and bridges, and security
groups filter real packets.

The tenant network is a VLAN on the dev cloud's physical network (physnet1, the veth osphys0/osphys1): the
host reaches it the way a machine on that physical network would, from its own network namespace holding a
VLAN interface on osphys1, with an address from 198.19.100.0/24 (benchmarking range). Nothing else is routed.

Runs only when the real compute host is up (skipped otherwise: the fast suites need no guests). Two guests at
most, removed at the end.
"""

from __future__ import annotations

import shlex
import socket
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from cloudlogin import connect, record_phase

pytestmark = pytest.mark.integration

QEMU_HOST = "shuyaku-dev-qemu"
FLAVOR = "shuyaku.guest.tiny"
IMAGE = "shuyaku-guest"
CIDR_BASE = "198.19.100"
ALLOWED, UNLISTED = 8080, 5432  # both served by the guest (metadata listen_ports); only ALLOWED has a rule
BOOT_TIMEOUT = 600  # create to SSH; TCG on 2 shared cores: this only catches a hang
RUN = uuid.uuid4().hex[:6]
NS = f"shuyaku-rg-{RUN}"


def sh(*cmd: str, timeout: float = 60, check: bool = True) -> subprocess.CompletedProcess:
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if check and p.returncode != 0:
        raise AssertionError(f"{shlex.join(cmd)} -> {p.returncode}\n{p.stdout[-1500:]}\n{p.stderr[-1500:]}")
    return p


def in_ns(*cmd: str) -> list[str]:
    return ["ip", "netns", "exec", NS, *cmd]


class Cloud:
    """What the module creates: network on a free VLAN, the host's namespace on it, keypair, group, guests."""

    def __init__(self, admin, workdir: Path):
        self.admin = admin
        self.work = workdir
        self.key = workdir / "id_ed25519"
        self.servers: dict[str, Any] = {}
        self.boot_to_ssh: dict[str, float] = {}

    def network(self) -> None:
        used = {n.provider_segmentation_id for n in self.admin.network.networks()
                if n.provider_network_type == "vlan"}
        self.vlan = next(v for v in range(199, 179, -1) if v not in used)
        self.net = self.admin.network.create_network(
            name=f"rg-net-{RUN}", provider_network_type="vlan", provider_physical_network="physnet1",
            provider_segmentation_id=self.vlan)
        self.subnet = self.admin.network.create_subnet(
            network_id=self.net.id, name=f"rg-subnet-{RUN}", ip_version=4, cidr=f"{CIDR_BASE}.0/24",
            gateway_ip=f"{CIDR_BASE}.1", is_dhcp_enabled=False,
            allocation_pools=[{"start": f"{CIDR_BASE}.10", "end": f"{CIDR_BASE}.200"}])
        # the host's end of the physical network, in a namespace of its own: no route in the host's own tables
        sh("ip", "netns", "add", NS)
        link = f"rg{self.vlan}"
        sh("ip", "link", "add", "link", "osphys1", "name", link, "type", "vlan", "id", str(self.vlan))
        sh("ip", "link", "set", link, "netns", NS)
        sh(*in_ns("ip", "addr", "add", f"{CIDR_BASE}.1/24", "dev", link))
        sh(*in_ns("ip", "link", "set", link, "up"))
        sh(*in_ns("ip", "link", "set", "lo", "up"))

    def access(self) -> None:
        sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "shuyaku-real-guests", "-f", str(self.key))
        self.keypair = self.admin.compute.create_keypair(
            name=f"rg-key-{RUN}", public_key=(self.work / "id_ed25519.pub").read_text().strip())
        self.sg = self.admin.network.create_security_group(name=f"rg-sg-{RUN}",
                                                           description="real guests: ssh and one port")
        for port in (22, ALLOWED):
            self.admin.network.create_security_group_rule(
                security_group_id=self.sg.id, direction="ingress", ethertype="IPv4", protocol="tcp",
                port_range_min=port, port_range_max=port, remote_ip_prefix=f"{CIDR_BASE}.0/24")

    def boot(self, names: list[str]) -> None:
        image = self.admin.image.find_image(IMAGE, ignore_missing=False)
        flavor = self.admin.compute.find_flavor(FLAVOR, ignore_missing=False)
        started = {}
        for name in names:
            started[name] = time.monotonic()
            self.servers[name] = self.admin.compute.create_server(
                name=name, image_id=image.id, flavor_id=flavor.id, key_name=self.keypair.name,
                networks=[{"uuid": self.net.id}], security_groups=[{"name": self.sg.name}],
                metadata={"listen_ports": f"{UNLISTED},{ALLOWED}"})
        for name in names:
            self.servers[name] = self.admin.compute.wait_for_server(
                self.servers[name], status="ACTIVE", failures=["ERROR"], wait=BOOT_TIMEOUT, interval=2)
        deadline = time.monotonic() + BOOT_TIMEOUT
        for name in names:
            while self.ssh(name, "true", timeout=30, check=False).returncode != 0:
                assert time.monotonic() < deadline, f"{name}: no SSH after {BOOT_TIMEOUT} s\n{self.console(name)}"
                time.sleep(2)
            self.boot_to_ssh[name] = time.monotonic() - started[name]

    def ip(self, name: str) -> str:
        server = self.admin.compute.get_server(self.servers[name])
        return next(a["addr"] for addrs in server.addresses.values() for a in addrs if a["version"] == 4)

    def ssh_cmd(self, name: str, *command: str, key: Path | None = None) -> list[str]:
        return in_ns("ssh", "-i", str(key or self.key), "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
                     "-o", "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR",
                     f"ansible@{self.ip(name)}", shlex.join(command))

    def ssh(self, name: str, *command: str, timeout: float = 60, check: bool = True):
        p = subprocess.run(self.ssh_cmd(name, *command), capture_output=True, text=True, timeout=timeout)
        if check:
            assert p.returncode == 0, f"ssh {name} {command}: {p.returncode}\n{p.stderr[-1500:]}"
        return p

    def console(self, name: str) -> str:
        try:
            return self.admin.compute.get_server_console_output(self.servers[name], length=40)["output"]
        except Exception as e:  # only for a failure message
            return f"(no console: {e})"

    def remove(self) -> None:
        for server in self.servers.values():
            self.admin.compute.delete_server(server, ignore_missing=True)
        for server in self.servers.values():
            self.admin.compute.wait_for_delete(server, wait=180)
        for what in ("keypair", "sg", "subnet", "net"):
            obj = getattr(self, what, None)
            if obj is None:
                continue
            delete = {"keypair": self.admin.compute.delete_keypair, "sg": self.admin.network.delete_security_group,
                      "subnet": self.admin.network.delete_subnet, "net": self.admin.network.delete_network}[what]
            delete(obj, ignore_missing=True)
        sh("ip", "netns", "del", NS, check=False)


def connect_from(cloud: Cloud, source: str | None, target: str, port: int) -> str:
    """The first line a TCP connection to target:port gets, or 'timeout'/'refused'. From the host's namespace
    (source None) or from inside a guest."""
    probe = ("import socket,sys\ns=socket.socket(); s.settimeout(5)\n"
             "try:\n s.connect((sys.argv[1], int(sys.argv[2]))); print(s.makefile().readline().strip())\n"
             "except socket.timeout: print('timeout')\nexcept ConnectionRefusedError: print('refused')\n")
    ip = cloud.ip(target)
    if source is None:
        p = sh(*in_ns("/usr/bin/python3", "-c", probe, ip, str(port)), timeout=30)
    else:
        p = cloud.ssh(source, "python3", "-c", probe, ip, str(port), timeout=60)
    return p.stdout.strip()


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory):
    admin = connect("dev-admin")
    qemu = [s for s in admin.compute.services(binary="nova-compute") if s.host == QEMU_HOST]
    if not qemu or qemu[0].state != "up":
        pytest.skip("the real compute host is not up: scripts/dev-cloud up --compute qemu")
    c = Cloud(admin, tmp_path_factory.mktemp("real-guests"))
    try:
        c.network()
        c.access()
        t0 = time.monotonic()
        c.boot([f"rg-a-{RUN}", f"rg-b-{RUN}"])
        record_phase("real guests", "two guests: create to SSH", time.monotonic() - t0)
        yield c
    finally:
        c.remove()


def names(cloud: Cloud) -> tuple[str, str]:
    a, b = cloud.servers
    return a, b


def test_guests_run_under_qemu_on_the_real_host(cloud: Cloud) -> None:
    domains = sh("virsh", "-c", "qemu:///system", "list", "--name").stdout.split()
    for name, server in cloud.servers.items():
        server = cloud.admin.compute.get_server(server)
        assert server.compute_host == QEMU_HOST, f"{name} landed on {server.compute_host}"
        assert server.instance_name in domains, f"{name}: no running libvirt domain {server.instance_name}"
        ps = sh("pgrep", "-f", f"guest={server.instance_name},").stdout.split()
        assert len(ps) == 1, f"{name}: expected one QEMU process, found {ps}"
        print(f"{name}: create to SSH {cloud.boot_to_ssh[name]:.1f} s, QEMU RSS {rss_mib(int(ps[0])):.0f} MiB")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def test_ports_are_real_taps_bound_and_active(cloud: Cloud) -> None:
    for server in cloud.servers.values():
        (port,) = list(cloud.admin.network.ports(device_id=server.id))
        assert port.binding_host_id == QEMU_HOST and port.binding_vif_type == "bridge"
        assert port.status == "ACTIVE", "the agent reports the tap plugged"
        tap = f"tap{port.id[:11]}"
        master = Path(f"/sys/class/net/{tap}/master").resolve().name
        assert master == f"brq{cloud.net.id[:11]}", f"{tap} is in {master}"


def test_ssh_with_the_keypair_only(cloud: Cloud) -> None:
    a, _ = names(cloud)
    assert cloud.ssh(a, "hostname").stdout.strip() == a, "hostname from the config drive's metadata"
    other = cloud.work / "other_ed25519"
    sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other))
    refused = subprocess.run(cloud.ssh_cmd(a, "true", key=other), capture_output=True, text=True, timeout=60)
    assert refused.returncode == 255 and "Permission denied" in refused.stderr


def test_the_guest_serves_both_ports_itself(cloud: Cloud) -> None:
    """The listener answers on both declared ports inside the guest: a refusal from outside is the filter's."""
    a, _ = names(cloud)
    for port in (ALLOWED, UNLISTED):
        line = cloud.ssh(a, "python3", "-c", "import socket,sys; s=socket.create_connection(('127.0.0.1', "
                         f"{port})); print(s.makefile().readline().strip())").stdout.strip()
        assert line == f"shuyaku-listener {a} {port}"


def test_security_group_filters_packets_from_the_host(cloud: Cloud) -> None:
    a, _ = names(cloud)
    assert connect_from(cloud, None, a, ALLOWED) == f"shuyaku-listener {a} {ALLOWED}"
    assert connect_from(cloud, None, a, UNLISTED) == "timeout", "no rule: the packets are dropped"


def test_security_group_filters_packets_between_guests(cloud: Cloud) -> None:
    a, b = names(cloud)
    assert connect_from(cloud, a, b, ALLOWED) == f"shuyaku-listener {b} {ALLOWED}"
    assert connect_from(cloud, a, b, UNLISTED) == "timeout"


def test_a_rule_added_opens_the_port_and_removing_it_closes_it(cloud: Cloud) -> None:
    a, b = names(cloud)
    rule = cloud.admin.network.create_security_group_rule(
        security_group_id=cloud.sg.id, direction="ingress", ethertype="IPv4", protocol="tcp",
        port_range_min=UNLISTED, port_range_max=UNLISTED, remote_ip_prefix=f"{cloud.ip(a)}/32")
    try:
        deadline = time.monotonic() + 60  # the agent applies rules on its next loop (2 s)
        while (got := connect_from(cloud, a, b, UNLISTED)) != f"shuyaku-listener {b} {UNLISTED}":
            assert time.monotonic() < deadline, f"rule added, still {got}"
        assert connect_from(cloud, None, b, UNLISTED) == "timeout", "the rule names guest a only"
    finally:
        cloud.admin.network.delete_security_group_rule(rule)
    deadline = time.monotonic() + 60
    while (got := connect_from(cloud, a, b, UNLISTED)) != "timeout":
        assert time.monotonic() < deadline, f"rule removed, still {got}"


def test_console_log_shows_the_first_boot(cloud: Cloud) -> None:
    a, _ = names(cloud)
    out = cloud.console(a)
    assert "shuyaku" in out, out[-2000:]


def test_nothing_but_the_namespace_holds_the_guest_range() -> None:
    """The host itself has no address or route in the guests' range: only the test's namespace reaches them."""
    addrs = sh("ip", "-4", "-o", "addr").stdout + sh("ip", "-4", "route").stdout
    assert CIDR_BASE not in addrs
    assert socket.gethostname()  # the host is still itself (no namespace leaked into the test process)
