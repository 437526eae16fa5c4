"""The migrated wave's guests on the dev cloud (tests/integration/test_migrated_wave.py): what the operator places on
the real host's agents, the guests it and the vendors boot, and the inventory `verify --migrated` is given.
"""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cloudlogin import undo_all, vendor_member
from guestwire import Machine

from shuyaku.provision.guests import console_host_keys

QEMU_HOST = "shuyaku-dev-qemu"
AGGREGATE = "shuyaku-qemu"
FLAVOR = "shuyaku.guest.tiny"
IMAGE = "shuyaku-guest"
SERVICES = ("bastion", "hub", "relay")
ADMIN_USER = "ansible"  # the guest image's login (scripts/guest-image.d)
BOOT_TIMEOUT = 1500  # all the guests under TCG on 2 shared cores (about 6 min measured): this only catches a hang
# Guests booting at once: a dozen together on 2 cores took minutes each and timed units out; a few at a time
# finish sooner in all (each boot is CPU-bound under TCG, so the total CPU is the same either way). A rolling
# window: the next guest is created as soon as one is configured.
WINDOW = 5


@dataclass
class Guest:
    name: str
    layer: str
    project_id: str
    server_id: str
    address: str
    system: str | None = None  # the migrated system, or None for the platform's own service guest
    service: str | None = None
    host_key: str = ""
    created: float = 0.0
    booted: float = 0.0  # create -> configured (host key and listener ports on the console)


class Rig:
    def __init__(self, admin: Any, outputs: dict[str, Any], plan: Any, systems: list[str], workdir: Path,
                 run: str) -> None:
        self.admin, self.outputs, self.plan, self.systems, self.work, self.run = admin, outputs, plan, systems, workdir, run
        self.undo: list[Callable[[], Any]] = []
        self.guests: dict[str, Guest] = {}
        self.vendors: dict[str, Any] = {}  # system -> its vendor's connection (a member of its vendor group)
        self.key = workdir / "id_ed25519"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(self.key)], check=True)
        self.public_key = (workdir / "id_ed25519.pub").read_text().strip()
        self.known_hosts = workdir / "known_hosts"
        self.l3 = next(iter(admin.network.agents(binary="neutron-l3-agent", host=QEMU_HOST)))
        self.dhcp = next(iter(admin.network.agents(binary="neutron-dhcp-agent", host=QEMU_HOST)))

    # ------------------------------------------------------------------ what the operator places
    def gateway_ip(self, layer: str) -> str:
        router = self.admin.network.get_router(self.outputs["zones"][layer]["router_id"])
        return router.external_gateway_info["external_fixed_ips"][0]["ip_address"]

    def place(self) -> None:
        """The zone routers on the real host's L3 agent, the wave's networks and the shared segment on its DHCP
        agent (nothing goes there by itself), and the real host opened to the wave's projects and the operator's."""
        net, compute = self.admin.network, self.admin.compute
        for z in self.outputs["zones"].values():
            if z.get("router_id"):
                router = net.get_router(z["router_id"])
                net.add_router_to_agent(self.l3, router)
                self.undo.append(lambda r=router: net.remove_router_from_agent(self.l3, r))
        tenants = self.outputs["tenants"]
        for net_id in [self.outputs["zones"]["shared"]["network_id"], *(tenants[s]["network_id"] for s in self.systems)]:
            network = net.get_network(net_id)
            net.add_dhcp_agent_to_network(self.dhcp, network)
            self.undo.append(lambda n=network: net.remove_dhcp_agent_from_network(self.dhcp, n))
        aggregate = next(a for a in compute.aggregates() if a.name == AGGREGATE)
        projects = {f"filter_tenant_id_wave_{s}": tenants[s]["project_id"] for s in self.systems}
        projects["filter_tenant_id_wave_operator"] = self.admin.current_project_id
        compute.set_aggregate_metadata(aggregate, projects)
        self.undo.append(lambda: compute.set_aggregate_metadata(aggregate, dict.fromkeys(projects)))
        flavor = compute.find_flavor(FLAVOR, ignore_missing=False)
        self.images = {n: self.admin.image.find_image(n, ignore_missing=False)
                       for n in (IMAGE, f"{IMAGE}-kernel", f"{IMAGE}-ramdisk")}
        for s in self.systems:
            pid = tenants[s]["project_id"]
            compute.flavor_add_tenant_access(flavor, pid)
            self.undo.append(lambda p=pid: compute.flavor_remove_tenant_access(flavor, p))
            for image in self.images.values():  # pending is enough to boot by id
                self.admin.image.add_member(image, member_id=pid)
                self.undo.append(lambda i=image, p=pid: self.admin.image.remove_member(p, i))
        self.flavor = flavor

    # ------------------------------------------------------------------ the guests
    def listen_ports(self, system: str | None, service: str | None) -> str:
        """The ports the guest's listener serves: the planned links' ports into the system; a mediator's own
        service ports and the ports of the links it mediates."""
        if system is not None:
            ports = {lk.port for lk in self.plan.links if lk.target == system and lk.protocol == "tcp"}
        else:
            svc = self.outputs["shared_services"][service]
            ports = {int(p[4:]) for p in svc["ports"] if p.startswith("tcp/")} if service != "bastion" else set()
            ports |= {lk.port for lk in self.plan.links if lk.path == service and lk.protocol == "tcp"}
        return ",".join(str(p) for p in sorted(ports - {22}))

    def _server(self, conn: Any, name: str, port_id: str, keypair: str, listen: str) -> Any:
        return conn.compute.create_server(name=name, flavor_id=self.flavor.id, image_id=self.images[IMAGE].id,
                                          networks=[{"port": port_id}], key_name=keypair,
                                          metadata={"listen_ports": listen} if listen else {})

    def boot(self) -> None:
        """The operator's service guests on the platform's own ports, each system's guest from its vendor's project;
        then every guest ACTIVE and its host key read from its console (Nova's channel, not the network)."""
        admin = self.admin
        pending: list[tuple[Any, Guest, Callable[[], Any]]] = []
        kp = admin.compute.create_keypair(name=f"wave-operator-{self.run}", public_key=self.public_key)
        self.undo.append(lambda: admin.compute.delete_keypair(kp))
        site = self.outputs["site"]
        for svc in SERVICES:
            name = f"{site}-{svc}-01"
            port = next(iter(admin.network.ports(name=name)))
            pending.append((admin, Guest(name, "shared", admin.current_project_id, "", port.fixed_ips[0]["ip_address"],
                                         service=svc), lambda n=name, p=port.id, s=svc: self._server(
                admin, n, p, kp.name, self.listen_ports(None, s))))
        for sid in self.systems:
            ten = self.outputs["tenants"][sid]
            vendor = self.vendors[sid] = self._vendor(ten)
            vkp = vendor.compute.create_keypair(name=f"wave-{sid}-{self.run}", public_key=self.public_key)
            self.undo.append(lambda v=vendor, k=vkp: v.compute.delete_keypair(k))
            name = f"{sid}-1"
            port = vendor.network.create_port(name=name, network_id=ten["network_id"],
                                              security_group_ids=list(ten["security_group_ids"].values()))
            self.undo.append(lambda p=port: admin.network.delete_port(p, ignore_missing=True))
            pending.append((vendor, Guest(name, ten["layer"], ten["project_id"], "", port.fixed_ips[0]["ip_address"],
                                          system=sid), lambda n=name, p=port.id, v=vendor, k=vkp.name, s=sid: self._server(
                v, n, p, k, self.listen_ports(s, None))))
        self._boot_rolling(pending)
        self.known_hosts.write_text("".join(f"{g.address} {g.host_key}\n" for g in self.guests.values()))

    def _track(self, conn: Any, guest: Guest, create: Callable[[], Any]) -> None:
        guest.created = time.monotonic()
        server = create()
        guest.server_id = server.id
        self.guests[guest.name] = guest
        self.undo.append(lambda: self.admin.compute.delete_server(server.id, ignore_missing=True))

    def _vendor(self, tenant: dict[str, Any]) -> Any:
        """A member of the tenant's vendor group, logged in to the tenant (as `shuyaku vendor grant` sets one up)."""
        return vendor_member(self.admin, f"wave-{tenant['system_id']}-{self.run}", tenant, self.undo)[1]

    def _boot_rolling(self, pending: list[tuple[Any, Guest, Callable[[], Any]]]) -> None:
        deadline = time.monotonic() + BOOT_TIMEOUT
        waiting: dict[str, Guest] = {}
        while pending or waiting:
            while pending and len(waiting) < WINDOW:
                conn, guest, create = pending.pop(0)
                self._track(conn, guest, create)
                waiting[guest.name] = guest
            for name, g in list(waiting.items()):
                server = self.admin.compute.get_server(g.server_id)
                assert server.status != "ERROR", f"{name}: {server.fault}"
                if server.status != "ACTIVE":
                    continue
                console = self.admin.compute.get_server_console_output(g.server_id).get("output", "")
                found = console_host_keys(console)  # the parser `provision/verify --cloud` use
                # the listener's ports are the first-boot script's last line: the guest is configured
                if found and "shuyaku-config-drive: listen_ports" in console:
                    g.host_key = found[0]
                    g.booted = time.monotonic() - g.created
                    del waiting[name]
            assert time.monotonic() < deadline, f"not booted in {BOOT_TIMEOUT} s: {sorted(waiting)}"
            time.sleep(5)

    @property
    def bastion(self) -> Guest:
        return next(g for g in self.guests.values() if g.service == "bastion")

    def ssh(self, terminal: Machine, guest: Guest, *command: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        pin = ["-o", "StrictHostKeyChecking=yes", "-o", f"UserKnownHostsFile={self.known_hosts}", "-o",
               "GlobalKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-o", "ConnectTimeout=10", "-i", str(self.key),
               "-o", "IdentitiesOnly=yes"]
        hop = ["ssh", *pin, "-W", "%h:%p", f"{ADMIN_USER}@{self.bastion.address}"]
        via = [] if guest is self.bastion else ["-o", "ProxyCommand=" + " ".join(hop)]
        return terminal.run("ssh", *pin, *via, f"{ADMIN_USER}@{guest.address}", *command, timeout=timeout, check=False)

    def wait_ssh(self, terminal: Machine) -> None:
        """Every guest answers SSH from the administrator's terminal, the bastion straight, the others through it."""
        deadline = time.monotonic() + BOOT_TIMEOUT

        def answered(g: Guest) -> None:
            while (done := self.ssh(terminal, g, "true")).returncode != 0:
                assert time.monotonic() < deadline, f"{g.name} ({g.address}): no SSH: {done.stderr[-800:]}"
                time.sleep(5)
        answered(self.bastion)
        with ThreadPoolExecutor(max_workers=6) as pool:
            for f in [pool.submit(answered, g) for g in self.guests.values() if g.service != "bastion"]:
                f.result()

    def remove(self) -> None:
        errors = undo_all(self.undo)
        for g in self.guests.values():
            with contextlib.suppress(Exception):
                self.admin.compute.wait_for_delete(self.admin.compute.get_server(g.server_id), wait=180)
        assert not errors, errors[:5]
