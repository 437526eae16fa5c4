"""Machines outside the cloud, on the dev cloud's physical wires, for the migrated wave's tests.

`scripts/dev-cloud` gives each provider network a veth pair: the agents' end (`osphys0`, `oslgwan0`) and a far end
(`osphys1`, `oslgwan1`). A `Wire` joins the far end to a bridge of its own; a `Machine` is a network namespace
with a veth into that bridge: the host's own tables get no address or route in these ranges.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def sh(*cmd: str, timeout: float = 60, check: bool = True) -> subprocess.CompletedProcess[str]:
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if check and p.returncode != 0:
        raise AssertionError(f"{shlex.join(cmd)} -> {p.returncode}\n{p.stdout[-1500:]}\n{p.stderr[-1500:]}")
    return p


@dataclass
class Machine:
    ns: str
    addresses: list[str]  # CIDR notation; the first one's prefix is on-link
    routes: list[tuple[str, str, str | None]] = field(default_factory=list)  # (destination, via, source)
    procs: list[subprocess.Popen[Any]] = field(default_factory=list)

    def run(self, *cmd: str, timeout: float = 60, check: bool = True) -> subprocess.CompletedProcess[str]:
        return sh("ip", "netns", "exec", self.ns, *cmd, timeout=timeout, check=check)

    def start(self, *cmd: str, log: str) -> None:
        with open(log, "ab") as out:
            self.procs.append(subprocess.Popen(["ip", "netns", "exec", self.ns, *cmd], stdout=out,
                                               stderr=subprocess.STDOUT))

    def forward_loopback(self, ports: list[int]) -> None:
        """This machine's 127.0.0.1:PORT reaches the controller's (the cloud's APIs), as an operator's desk does."""
        proc = subprocess.Popen([sys.executable, str(Path(__file__).with_name("nsforward.py")), self.ns,
                                 *map(str, ports)], stdout=subprocess.PIPE, text=True)
        self.procs.append(proc)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready", "nsforward did not start"

    def stop(self) -> None:
        for p in self.procs:
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        sh("ip", "netns", "del", self.ns, check=False)


class Wire:
    """One provider network's wire, with the machines the test puts on it."""

    def __init__(self, far_end: str) -> None:
        self.far_end = far_end
        self.tag = uuid.uuid4().hex[:5]
        self.bridge = f"wb{self.tag}"
        self.machines: list[Machine] = []
        sh("ip", "link", "add", self.bridge, "type", "bridge")
        sh("sysctl", "-q", "-w", f"net.ipv6.conf.{self.bridge}.disable_ipv6=1", check=False)
        sh("ip", "link", "set", far_end, "master", self.bridge)
        sh("ip", "link", "set", self.bridge, "up")

    def machine(self, name: str, addresses: list[str], routes: list[tuple[str, str, str | None]] | None = None) -> Machine:
        m = Machine(f"shuyaku-{name}-{self.tag}", addresses, routes or [])
        outer, inner = f"w{self.tag}{len(self.machines)}h", f"w{self.tag}{len(self.machines)}n"
        sh("ip", "netns", "add", m.ns)
        sh("ip", "link", "add", outer, "type", "veth", "peer", "name", inner)
        sh("sysctl", "-q", "-w", f"net.ipv6.conf.{outer}.disable_ipv6=1", check=False)
        sh("ip", "link", "set", outer, "master", self.bridge)
        sh("ip", "link", "set", outer, "up")
        sh("ip", "link", "set", inner, "netns", m.ns)
        m.run("sysctl", "-q", "-w", f"net.ipv6.conf.{inner}.disable_ipv6=1", check=False)
        for addr in addresses:
            m.run("ip", "addr", "add", addr, "dev", inner)
        for dev in (inner, "lo"):
            m.run("ip", "link", "set", dev, "up")
        for dest, via, src in m.routes:
            m.run("ip", "route", "add", dest, "via", via, *(("src", src) if src else ()))
        self.machines.append(m)
        return m

    def remove(self) -> None:
        for m in self.machines:
            m.stop()
        sh("ip", "link", "set", self.far_end, "nomaster", check=False)
        sh("ip", "link", "del", self.bridge, check=False)


def on_port(admin: Any, port: Any, name: str, gateway: str, host: str) -> Machine:
    """A namespace plugged into a Neutron port on the real host the way Nova plugs a guest: the port bound to the
    host (admin) as a compute port, the host end of a veth named tap<port id> and put into the network's bridge
    (os-vif's part), so that the host's linuxbridge agent filters it with the port's security groups exactly as it
    does a guest's tap."""
    admin.network.update_port(port, binding_host_id=host, device_owner="compute:shuyaku-test",
                              device_id=str(uuid.uuid4()))
    ip, subnet = port.fixed_ips[0]["ip_address"], admin.network.get_subnet(port.fixed_ips[0]["subnet_id"])
    m = Machine(f"shuyaku-{name}-{uuid.uuid4().hex[:5]}", [f"{ip}/{subnet.cidr.split('/')[1]}"],
                [("default", gateway, None)])
    sh("ip", "netns", "add", m.ns)
    try:
        _plug(admin, port, m)
    except BaseException:
        m.stop()
        raise
    return m


def _plug(admin: Any, port: Any, m: Machine) -> None:
    tap, inner, gateway = f"tap{port.id[:11]}", f"p{port.id[:11]}", m.routes[0][1]
    sh("ip", "link", "add", tap, "type", "veth", "peer", "name", inner)
    sh("ip", "link", "set", inner, "netns", m.ns)
    m.run("ip", "link", "set", inner, "address", port.mac_address)
    m.run("ip", "addr", "add", m.addresses[0], "dev", inner)
    for dev in (inner, "lo"):
        m.run("ip", "link", "set", dev, "up")
    m.run("ip", "route", "add", "default", "via", gateway)
    # a compute port's tap is put into the network's bridge by the hypervisor's side (os-vif), not by the agent;
    # os-vif makes the bridge when the host has no port on that network yet, and so does this
    bridge = f"brq{port.network_id[:11]}"
    if sh("ip", "link", "show", bridge, check=False).returncode != 0:
        sh("ip", "link", "add", bridge, "type", "bridge", "forward_delay", "0")
        sh("ip", "link", "set", bridge, "up")
    sh("ip", "link", "set", tap, "master", bridge)
    sh("ip", "link", "set", tap, "up")
    deadline = time.monotonic() + 120
    while admin.network.get_port(port.id).status != "ACTIVE":  # the agent has seen it and written its filters
        assert time.monotonic() < deadline, f"{port.name}: the agent did not take {tap}"
        time.sleep(2)
