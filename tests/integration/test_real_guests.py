"""Real guests on the dev cloud: Nova's libvirt driver boots the guest image under QEMU on the real compute host
(`scripts/dev-cloud up --compute qemu`), Neutron's linuxbridge agent wires real taps and bridges, and security
groups filter real packets.

The guests sit on the dev cloud's flat provider network `public` (physnet1: the veth osphys0/osphys1, 203.0.113.0/24,
RFC 5737). The host reaches it the way a machine on that physical network would: the far end of the veth joins a
bridge of the test's own, and a veth pair leads from it into a network namespace with 203.0.113.5. The host's own
tables get no address or route. (A tenant VLAN network cannot work here: the kernel has no 8021q links.)

Runs only when the real compute host is up: skipped otherwise (the fast suites need no guests), except under
SHUYAKU_REQUIRE_GUESTS=1, which the test command sets after starting the host: there a missing host fails.
Two guests at most, removed at the end.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shlex
import socket
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import openstack
import pytest
from cloudlogin import connect, record_phase

pytestmark = pytest.mark.integration

QEMU_HOST = "shuyaku-dev-qemu"
FLAVOR = "shuyaku.guest.tiny"
IMAGE = "shuyaku-guest"
NETWORK = "public"  # the dev cloud's flat provider network, 203.0.113.0/24 (RFC 5737)
CIDR_BASE = "203.0.113"
HOST_IP = f"{CIDR_BASE}.5"  # outside the allocation pool (.10-.250)
GUEST_IPS = (f"{CIDR_BASE}.241", f"{CIDR_BASE}.242")  # fixed: the platform's fixed addresses sit lower (.80)
TENANT_CIDR, TENANT_IP = "198.19.77.0/24", "198.19.77.10"  # the third guest's own network, behind its router
ALLOWED, UNLISTED = 8080, 5432  # both served by the guest (metadata listen_ports); only ALLOWED has a rule
BOOT_TIMEOUT = 600  # create to SSH; TCG on 2 shared cores: this only catches a hang
RUN = uuid.uuid4().hex[:6]
NS = f"shuyaku-rg-{RUN}"
BRIDGE = f"rgbr-{RUN}"


def sh(*cmd: str, timeout: float = 60, check: bool = True) -> subprocess.CompletedProcess:
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if check and p.returncode != 0:
        raise AssertionError(f"{shlex.join(cmd)} -> {p.returncode}\n{p.stdout[-1500:]}\n{p.stderr[-1500:]}")
    return p


def in_ns(*cmd: str) -> list[str]:
    return ["ip", "netns", "exec", NS, *cmd]


class Cloud:
    """What the module creates: a project and its operator user, the host's namespace on the provider network,
    ports, keypair, security group, guests. The guests are the project's (the admin project is confined to the
    platform's aggregates once the platform stack is deployed)."""

    def __init__(self, admin, workdir: Path):
        self.admin = admin
        self.project = admin.identity.create_project(name=f"rg-{RUN}", domain_id="default",
                                                     description="test_real_guests")
        self.users: list[Any] = []
        # admin on its own project: Nova lets only admins attach a server to an external network such as `public`
        # (ExternalNetworkAttachForbidden for a member); the project stays out of the platform's aggregates
        self.conn = self.login("op", "admin")
        # the guest behind the router is a plain member's: a tenant network needs no admin
        self.member = self.login("member", "member")
        self.servers: dict[str, Any] = {}
        self.floating: dict[str, str] = {}  # guest -> the address it is reached at from outside its network
        self.bastion: dict[str, str] = {}  # guest -> the guest SSH goes through to reach it
        self.ports: list[Any] = []
        self.image_ids: dict[str, str] = {}
        self.work = workdir
        self.key = workdir / "id_ed25519"
        self.boot_to_ssh: dict[str, float] = {}
        self.boot_to_active: dict[str, float] = {}

    def login(self, who: str, role_name: str):
        password = secrets.token_hex(16)
        user = self.admin.identity.create_user(name=f"rg-{who}-{RUN}", domain_id="default", password=password,
                                               default_project_id=self.project.id)
        self.users.append(user)
        role = next(iter(self.admin.identity.roles(name=role_name)))
        self.admin.identity.assign_project_role_to_user(self.project, user, role)
        auth = self.admin.session.auth
        return openstack.connect(auth_url=auth.auth_url, username=user.name, password=password,
                                 project_id=self.project.id, user_domain_name="Default",
                                 region_name=self.admin.config.region_name, identity_api_version="3",
                                 load_envvars=False, load_yaml_config=False)

    def grant(self) -> None:
        admin = self.admin
        flavor = admin.compute.find_flavor(FLAVOR, ignore_missing=False)
        admin.compute.flavor_add_tenant_access(flavor, self.project.id)
        # a pending membership lets the project boot the image by id (the operator's policy keeps members from
        # accepting shares, so it never shows in their listings)
        for name in (IMAGE, f"{IMAGE}-kernel", f"{IMAGE}-ramdisk"):
            image = admin.image.find_image(name, ignore_missing=False)
            admin.image.add_member(image, member_id=self.project.id)
            self.image_ids[name] = image.id

    def network(self) -> None:
        # The dev cloud's flat provider network on physnet1 (a VLAN network cannot work here: this kernel has
        # no 8021q links, "Error: Unknown device type."). Its other end, osphys1, joins a bridge of the test's
        # own, and a veth pair leads from that bridge into the namespace: no address or route in the host's tables.
        self.net = self.admin.network.find_network(NETWORK, ignore_missing=False)
        self.subnet = next(iter(self.admin.network.subnets(network_id=self.net.id)))
        sh("ip", "netns", "add", NS)
        sh("ip", "link", "add", BRIDGE, "type", "bridge")
        sh("ip", "link", "add", f"rgh-{RUN}", "type", "veth", "peer", "name", f"rgn-{RUN}")
        for dev in (BRIDGE, f"rgh-{RUN}", f"rgn-{RUN}"):
            sh("sysctl", "-q", "-w", f"net.ipv6.conf.{dev}.disable_ipv6=1", check=False)
        sh("ip", "link", "set", "osphys1", "master", BRIDGE)
        sh("ip", "link", "set", f"rgh-{RUN}", "master", BRIDGE)
        sh("ip", "link", "set", f"rgn-{RUN}", "netns", NS)
        sh(*in_ns("ip", "addr", "add", f"{HOST_IP}/24", "dev", f"rgn-{RUN}"))
        for dev in (f"rgn-{RUN}", "lo"):
            sh(*in_ns("ip", "link", "set", dev, "up"))
        for dev in (BRIDGE, f"rgh-{RUN}"):
            sh("ip", "link", "set", dev, "up")

    def tenant_network(self) -> None:
        """The project's network behind a router with its gateway on `public`. Networks, subnets, routers and floating
        IPs are the operator's (roles/openstack_policy): the operator makes them in the project, as the platform's
        Tenant does, and places the router on the real host's L3 agent by name (nothing goes there by itself)."""
        op = self.admin.network
        self.tnet = op.create_network(name=f"rg-net-{RUN}", project_id=self.project.id)
        # no DHCP agent in the dev cloud: the config drive's network_data.json gives the address and the route
        self.tsubnet = op.create_subnet(network_id=self.tnet.id, ip_version=4, cidr=TENANT_CIDR,
                                        is_dhcp_enabled=False, name=f"rg-subnet-{RUN}", project_id=self.project.id)
        self.router = op.create_router(name=f"rg-router-{RUN}", project_id=self.project.id,
                                       external_gateway_info={"network_id": self.net.id})
        op.add_interface_to_router(self.router, subnet_id=self.tsubnet.id)
        # made like every router the fast tests and the platform make, and left to the schedulers
        self.idle_router = op.create_router(name=f"rg-idle-{RUN}", project_id=self.project.id,
                                            external_gateway_info={"network_id": self.net.id})
        self.l3 = next(iter(self.admin.network.agents(binary="neutron-l3-agent", host=QEMU_HOST)))
        self.admin.network.add_router_to_agent(self.l3, self.router)

    def access(self) -> None:
        sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "shuyaku-real-guests", "-f", str(self.key))
        public_key = (self.work / "id_ed25519.pub").read_text().strip()
        # keypairs are the user's: each user that boots a guest uploads the same key
        self.keypairs = [conn.compute.create_keypair(name=f"rg-key-{RUN}", public_key=public_key)
                         for conn in (self.conn, self.member)]
        self.sg = self.group("open", "ssh and one port", {22: f"{CIDR_BASE}.0/24", ALLOWED: f"{CIDR_BASE}.0/24"})
        # the guest behind the router admits SSH only from the bastion, guest a (the way `verify --migrated`
        # reaches the migrated guests); its service port stays open to the public network
        self.sg_behind = self.group("behind", "ssh from the bastion only",
                                    {22: f"{GUEST_IPS[0]}/32", ALLOWED: f"{CIDR_BASE}.0/24"})

    def group(self, name: str, description: str, rules: dict[int, str]):
        sg = self.conn.network.create_security_group(name=f"rg-sg-{name}-{RUN}",
                                                      description=f"real guests: {description}")
        for port, prefix in rules.items():
            self.conn.network.create_security_group_rule(
                security_group_id=sg.id, direction="ingress", ethertype="IPv4", protocol="tcp",
                port_range_min=port, port_range_max=port, remote_ip_prefix=prefix)
        return sg

    def ports_for(self, public: list[str], behind: str) -> dict[str, tuple[Any, Any]]:
        """name -> (who boots it, its port): on `public` the operator makes the port, in the project, with the
        project's group; behind the router the member makes its own, and the operator a floating IP for it."""
        out = {}
        for name, ip in zip(public, GUEST_IPS, strict=True):
            out[name] = (self.conn, self.admin.network.create_port(
                network_id=self.net.id, name=f"{name}-port", security_group_ids=[self.sg.id],
                project_id=self.project.id, fixed_ips=[{"subnet_id": self.subnet.id, "ip_address": ip}]))
        port = self.member.network.create_port(
            network_id=self.tnet.id, name=f"{behind}-port", security_group_ids=[self.sg_behind.id],
            fixed_ips=[{"subnet_id": self.tsubnet.id, "ip_address": TENANT_IP}])
        out[behind] = (self.member, port)
        self.fip = self.admin.network.create_ip(floating_network_id=self.net.id, port_id=port.id,
                                                project_id=self.project.id)
        self.floating[behind] = self.fip.floating_ip_address
        self.bastion[behind] = public[0]
        self.ports.extend(p for _, p in out.values())
        return out

    def boot(self, guests: dict[str, tuple[Any, Any]]) -> None:
        names = list(guests)
        flavor = self.admin.compute.find_flavor(FLAVOR, ignore_missing=False)
        started = {}
        for name, (conn, port) in guests.items():
            started[name] = time.monotonic()
            self.servers[name] = conn.compute.create_server(
                name=name, image_id=self.image_ids[IMAGE], flavor_id=flavor.id, key_name=f"rg-key-{RUN}",
                networks=[{"port": port.id}], metadata={"listen_ports": f"{UNLISTED},{ALLOWED}"})
        for name in names:
            deadline = time.monotonic() + BOOT_TIMEOUT
            while (server := self.admin.compute.get_server(self.servers[name])).status not in ("ACTIVE", "ERROR"):
                assert time.monotonic() < deadline, f"{name}: still {server.status} after {BOOT_TIMEOUT} s"
                time.sleep(2)
            assert server.status == "ACTIVE", f"{name}: {server.fault}"
            self.boot_to_active[name] = time.monotonic() - started[name]
            self.servers[name] = server
        deadline = time.monotonic() + BOOT_TIMEOUT
        for name in names:
            while self.ssh(name, "true", timeout=30, check=False).returncode != 0:
                assert time.monotonic() < deadline, f"{name}: no SSH after {BOOT_TIMEOUT} s\n{self.console(name)}"
                time.sleep(2)
            self.boot_to_ssh[name] = time.monotonic() - started[name]

    def ip(self, name: str) -> str:
        if name in self.floating:
            return self.floating[name]
        server = self.admin.compute.get_server(self.servers[name])
        return next(a["addr"] for addrs in server.addresses.values() for a in addrs if a["version"] == 4)

    def ssh_cmd(self, name: str, *command: str, key: Path | None = None, direct: bool = False) -> list[str]:
        """SSH from the host's namespace; to a guest with a bastion, through it (unless direct), with the same key:
        ProxyJump (-J) would not pass -i on to the jump."""
        opts = ["-i", str(key or self.key), "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
                "-o", "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR"]
        if name in self.bastion and not direct:
            jump = shlex.join(["ssh", *opts, "-W", "%h:%p", f"ansible@{self.ip(self.bastion[name])}"])
            opts += ["-o", f"ProxyCommand={jump}"]
        return in_ns("ssh", *opts, f"ansible@{self.ip(name)}", shlex.join(command))

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
        self.remove_tenant_network()
        for port in self.ports:
            self.admin.network.delete_port(port, ignore_missing=True)
        for conn, keypair in zip((self.conn, self.member), getattr(self, "keypairs", []), strict=False):
            conn.compute.delete_keypair(keypair, ignore_missing=True)
        for sg in (getattr(self, "sg", None), getattr(self, "sg_behind", None)):
            if sg is not None:
                self.admin.network.delete_security_group(sg, ignore_missing=True)
        for image in self.admin.image.images():
            if image.name in (IMAGE, f"{IMAGE}-kernel", f"{IMAGE}-ramdisk"):
                self.admin.image.remove_member(self.project.id, image, ignore_missing=True)
        for user in self.users:
            self.admin.identity.delete_user(user, ignore_missing=True)
        self.admin.identity.delete_project(self.project, ignore_missing=True)
        # osphys1 back out of the test's bridge first: deleting the bridge would leave it there otherwise
        sh("ip", "link", "set", "osphys1", "nomaster", check=False)
        sh("ip", "link", "del", f"rgh-{RUN}", check=False)
        sh("ip", "link", "del", BRIDGE, check=False)
        sh("ip", "netns", "del", NS, check=False)


    def remove_tenant_network(self) -> None:
        net = self.admin.network
        if getattr(self, "fip", None) is not None:
            net.delete_ip(self.fip, ignore_missing=True)
        for router in (getattr(self, "router", None), getattr(self, "idle_router", None)):
            if router is None:
                continue
            if router is self.router and getattr(self, "tsubnet", None) is not None:
                with contextlib.suppress(openstack.exceptions.SDKException):  # never added: setup failed
                    net.remove_interface_from_router(router, subnet_id=self.tsubnet.id)
            net.delete_router(router, ignore_missing=True)
        for port in self.ports:  # the guest's port on the tenant network goes before its network
            net.delete_port(port, ignore_missing=True)
        if getattr(self, "tnet", None) is not None:
            net.delete_network(self.tnet, ignore_missing=True)


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
    if not qemu or qemu[0].state != "up" or qemu[0].status != "enabled":
        why = (f"the real compute host {QEMU_HOST} is not up "
               f"({qemu[0].status}/{qemu[0].state} in Nova)" if qemu else f"{QEMU_HOST} is not in Nova")
        # The test command starts the real host and sets this: there a missing host is a broken set-up, and
        # a skip would hide it
        if os.environ.get("SHUYAKU_REQUIRE_GUESTS") == "1":
            log = Path(os.environ.get("SHUYAKU_CACHE", "/var/cache/shuyaku"), "dev-cloud/log/nova-compute-qemu.log")
            pytest.fail(f"SHUYAKU_REQUIRE_GUESTS=1 and {why}: scripts/dev-cloud up --compute qemu did not bring "
                        f"it up (its log: {log})")
        pytest.skip(f"{why}: scripts/dev-cloud up --compute qemu starts it")
    c = Cloud(admin, tmp_path_factory.mktemp("real-guests"))
    try:
        c.grant()
        c.network()
        c.tenant_network()
        c.access()
        guests = c.ports_for([f"rg-a-{RUN}", f"rg-b-{RUN}"], f"rg-c-{RUN}")
        t0 = time.monotonic()
        c.boot(guests)
        record_phase("real guests", "three guests: create to SSH", time.monotonic() - t0)
        yield c
    finally:
        c.remove()


def names(cloud: Cloud) -> tuple[str, str]:
    """The two guests on `public` (the third is behind its router)."""
    a, b, _ = cloud.servers
    return a, b


def test_guests_run_under_qemu_on_the_real_host(cloud: Cloud) -> None:
    domains = sh("virsh", "-c", "qemu:///system", "list", "--name").stdout.split()
    for name, server in cloud.servers.items():
        server = cloud.admin.compute.get_server(server)
        assert server.compute_host == QEMU_HOST, f"{name} landed on {server.compute_host}"
        assert server.instance_name in domains, f"{name}: no running libvirt domain {server.instance_name}"
        ps = sh("pgrep", "-f", f"guest={server.instance_name},").stdout.split()
        assert len(ps) == 1, f"{name}: expected one QEMU process, found {ps}"
        # the figures for bench/RESULTS.md "Guests": Nova's view, the host's, and the guest's own clock
        print(f"{name}: create to ACTIVE {cloud.boot_to_active[name]:.1f} s, create to SSH "
              f"{cloud.boot_to_ssh[name]:.1f} s, QEMU RSS {rss_mib(int(ps[0])):.0f} MiB, "
              f"guest: {guest_boot_time(cloud, name)}")


def guest_boot_time(cloud: Cloud, name: str) -> str:
    """The guest's own account of its boot (kernel, initrd, userspace), once systemd says it has finished."""
    deadline = time.monotonic() + 120
    while (p := cloud.ssh(name, "systemd-analyze", "time", check=False)).returncode != 0:
        if time.monotonic() > deadline:
            return f"systemd-analyze: {p.stderr.strip()[-200:]}"
        time.sleep(3)
    return p.stdout.strip().splitlines()[0].removeprefix("Startup finished in ")


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
        assert port.security_group_ids in ([cloud.sg.id], [cloud.sg_behind.id])
        tap = f"tap{port.id[:11]}"
        master = Path(f"/sys/class/net/{tap}/master").resolve().name
        assert port.network_id in (cloud.net.id, cloud.tnet.id)
        assert master == f"brq{port.network_id[:11]}", f"{tap} is in {master}"


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
    rule = cloud.conn.network.create_security_group_rule(
        security_group_id=cloud.sg.id, direction="ingress", ethertype="IPv4", protocol="tcp",
        port_range_min=UNLISTED, port_range_max=UNLISTED, remote_ip_prefix=f"{cloud.ip(a)}/32")
    try:
        deadline = time.monotonic() + 60  # the agent applies rules on its next loop (2 s)
        while (got := connect_from(cloud, a, b, UNLISTED)) != f"shuyaku-listener {b} {UNLISTED}":
            assert time.monotonic() < deadline, f"rule added, still {got}"
        assert connect_from(cloud, None, b, UNLISTED) == "timeout", "the rule names guest a only"
    finally:
        cloud.conn.network.delete_security_group_rule(rule)
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


def test_only_the_router_placed_by_name_gets_a_namespace(cloud: Cloud) -> None:
    """The L3 agent on the real host is admin-down: it hosts the router the operator placed there and no other,
    so the routers the fast tests and the platform make stay API-only."""
    agent = cloud.admin.network.get_agent(cloud.l3)
    assert agent.is_alive and not agent.is_admin_state_up
    hosted = {r.id for r in cloud.admin.network.agent_hosted_routers(agent)}
    assert cloud.router.id in hosted and cloud.idle_router.id not in hosted
    assert not list(cloud.admin.network.routers_hosting_l3_agents(cloud.idle_router))
    netns = sh("ip", "netns", "list").stdout
    assert f"qrouter-{cloud.router.id}" in netns and f"qrouter-{cloud.idle_router.id}" not in netns


def test_guest_behind_the_router_is_reached_at_its_floating_ip(cloud: Cloud) -> None:
    """From the public network, only the floating IP leads in (through the router namespace's NAT), and the
    guest's security group still filters behind it."""
    c = list(cloud.servers)[2]
    server = cloud.admin.compute.get_server(cloud.servers[c])
    assert server.compute_host == QEMU_HOST
    fixed = [a["addr"] for addrs in server.addresses.values() for a in addrs]
    assert TENANT_IP in fixed, fixed
    assert connect_from(cloud, None, c, ALLOWED) == f"shuyaku-listener {c} {ALLOWED}"
    assert connect_from(cloud, None, c, UNLISTED) == "timeout"
    route = cloud.ssh(c, "ip", "-4", "route", "show", "default").stdout
    assert "via 198.19.77.1" in route, route


def test_guest_behind_the_router_reaches_out_through_it(cloud: Cloud) -> None:
    """Outbound, the router takes the guest's packets to the public network (the guest on `public` answers)."""
    a, _ = names(cloud)
    c = list(cloud.servers)[2]
    assert connect_from(cloud, c, a, ALLOWED) == f"shuyaku-listener {a} {ALLOWED}"


def test_guest_behind_the_router_admits_ssh_only_through_the_bastion(cloud: Cloud) -> None:
    """SSH to c's floating IP straight from the public network times out (its group admits SSH from guest a
    only); through guest a as the jump host it logs in, with the same key."""
    c = list(cloud.servers)[2]
    direct = subprocess.run(cloud.ssh_cmd(c, "true", direct=True), capture_output=True, text=True, timeout=60)
    assert direct.returncode == 255 and "timed out" in direct.stderr, direct.stderr
    assert cloud.ssh(c, "hostname").stdout.strip() == c
    seen = cloud.ssh(c, "sh", "-c", "echo $SSH_CONNECTION").stdout.split()
    assert seen[0] == GUEST_IPS[0], f"the guest saw the login come from {seen[0]}, not the bastion"
