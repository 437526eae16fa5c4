"""Boot one guest image under plain QEMU with an OpenStack-style config drive (no libvirt, no Nova).

Used by `scripts/guest-image probe`, tests/integration/test_guest_image.py and bench/bench_guest_boot.py.
Networking is QEMU's user mode with restrict=on: the guest reaches nothing, and only the ports forwarded
here, bound to 127.0.0.1, reach the guest. Its addresses come from 198.18.0.0/15, like every test host.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import signal
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

GUEST_NET = "198.19.254"  # QEMU's private user-mode network; no host interface carries it
GUEST_ADDR = f"{GUEST_NET}.10"
GUEST_GW = f"{GUEST_NET}.2"
DHCP_ADDR = f"{GUEST_NET}.15"  # the first address QEMU's DHCP server hands out (dhcpstart below)
GUEST_MAC = "52:54:00:c6:13:fe"
QEMU = "qemu-system-x86_64"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def network_data(static: bool = True) -> dict:
    """network_data.json as Nova writes it for one port, static or with DHCP."""
    net: dict = {"id": "network0", "link": "tap0", "network_id": str(uuid.uuid4())}
    if static:
        net |= {"type": "ipv4", "ip_address": GUEST_ADDR, "netmask": "255.255.255.0",
                "routes": [{"network": "0.0.0.0", "netmask": "0.0.0.0", "gateway": GUEST_GW}]}
    else:
        net |= {"type": "ipv4_dhcp"}
    return {"links": [{"id": "tap0", "type": "ovs", "vif_id": str(uuid.uuid4()), "mtu": 1450,
                       "ethernet_mac_address": GUEST_MAC}],
            "networks": [net],
            "services": [{"type": "dns", "address": f"{GUEST_NET}.3"}]}


def make_config_drive(workdir: Path, hostname: str, public_key: str, meta: dict[str, str],
                      network: dict | None = None) -> Path:
    """An ISO 9660 config drive labelled config-2, laid out and mastered the way Nova does it."""
    tree = workdir / "config-drive"
    latest = tree / "openstack" / "latest"
    latest.mkdir(parents=True, exist_ok=True)
    server_id = str(uuid.uuid4())
    meta_data = {"uuid": server_id, "name": hostname, "hostname": f"{hostname}.novalocal",
                 "availability_zone": "nova", "launch_index": 0, "project_id": "0" * 32,
                 "public_keys": {"shuyaku": public_key}, "keys": [{"name": "shuyaku", "type": "ssh", "data": public_key}],
                 "meta": meta}
    (latest / "meta_data.json").write_text(json.dumps(meta_data))
    (latest / "network_data.json").write_text(json.dumps(network if network is not None else network_data()))
    (latest / "vendor_data.json").write_text("{}")
    iso = workdir / "config-drive.iso"
    subprocess.run(["genisoimage", "-o", str(iso), "-ldots", "-allow-lowercase", "-allow-multidot", "-l",
                    "-publisher", "shuyaku", "-quiet", "-J", "-r", "-V", "config-2", str(tree)],
                   check=True, timeout=60, capture_output=True)
    return iso


@dataclass
class Guest:
    proc: subprocess.Popen
    workdir: Path
    key: Path
    ssh_port: int
    forwards: dict[int, int] = field(default_factory=dict)  # guest port → 127.0.0.1 port
    user: str = "ansible"
    started: float = field(default_factory=time.monotonic)

    @property
    def console(self) -> Path:
        return self.workdir / "console.log"

    def ssh_cmd(self, *command: str, key: Path | None = None, options: tuple[str, ...] = ()) -> list[str]:
        return ["ssh", "-i", str(key or self.key), "-p", str(self.ssh_port), "-o", "BatchMode=yes", *options,
                "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
                "-o", "ConnectTimeout=5", "-o", "IdentitiesOnly=yes", f"{self.user}@127.0.0.1",
                # ssh hands the remote shell one string: quote here so arguments arrive as given.
                *([shlex.join(command)] if command else [])]

    def ssh(self, *command: str, timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run(self.ssh_cmd(*command), capture_output=True, text=True, timeout=timeout)

    def wait_ssh(self, timeout: float) -> float:
        """Seconds from QEMU's start until a command runs over SSH; raises with the console's tail."""
        deadline = self.started + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"QEMU exited (rc {self.proc.returncode}):\n{self.console_tail()}")
            # QEMU accepts on the forwarded port before the guest is up, so wait for sshd's banner first:
            # an ssh attempt into a guest without its address yet would sit out its whole ConnectTimeout.
            if self.ssh_banner():
                try:
                    if self.ssh("true", timeout=20).returncode == 0:
                        return time.monotonic() - self.started
                except subprocess.TimeoutExpired:
                    pass
            time.sleep(0.2)
        raise TimeoutError(f"no SSH after {timeout:.0f} s:\n{self.console_tail()}")

    def ssh_banner(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.ssh_port), timeout=1) as sock:
                sock.settimeout(1)
                return sock.recv(4) == b"SSH-"
        except OSError:
            return False

    def console_tail(self, lines: int = 40) -> str:
        text = self.console.read_text(errors="replace") if self.console.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def rss_kib(self) -> dict[str, int]:
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        return {k: int(line.split()[1]) for line in status.splitlines()
                for k in ("VmRSS", "VmHWM") if line.startswith(k + ":")}

    def poweroff(self, timeout: float = 60) -> int:
        """Shuts the guest down from inside and waits for QEMU to exit; kills it if it does not."""
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.ssh("sudo", "systemctl", "poweroff", "--no-block", timeout=15)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise

    def kill(self) -> None:
        # Only the QEMU process this object started, by its PID.
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)


def qemu_command(image_dir: Path, disk: Path, drive: Path | None, console: Path, netdev: str, *,
                 accel: str = "tcg", memory_mib: int = 384, cmdline: str = "", tb_size_mib: int = 0) -> list[str]:
    cpu = ["-cpu", "host"] if accel == "kvm" else []
    # TCG's translation cache is 1 GiB by default in QEMU 7.2; its pages count in QEMU's RSS once filled.
    accel_opt = f"{accel},tb-size={tb_size_mib}" if accel == "tcg" and tb_size_mib else accel
    cmd = [QEMU, "-machine", "pc", "-accel", accel_opt, *cpu, "-m", str(memory_mib), "-smp", "1",
           "-nodefaults", "-no-user-config", "-display", "none", "-vga", "none", "-monitor", "none",
           "-serial", f"file:{console}", "-no-reboot",
           "-kernel", str(image_dir / "vmlinuz"), "-initrd", str(image_dir / "initrd.img"),
           "-append", cmdline or "root=/dev/vda rw console=ttyS0 panic=-1",
           "-drive", f"file={disk},if=virtio,format=qcow2,cache=unsafe",
           "-netdev", netdev, "-device", f"virtio-net-pci,netdev=n0,mac={GUEST_MAC},romfile=",
           "-device", "virtio-rng-pci"]
    if drive is not None:
        # Nova's libvirt driver attaches the config drive as an IDE cdrom on the pc machine type.
        cmd += ["-drive", f"file={drive},media=cdrom,if=ide,readonly=on"]
    return cmd


def boot(image_dir: Path, workdir: Path, key: Path, drive: Path | None, *, guest_ports: tuple[int, ...] = (),
         guest_addr: str = GUEST_ADDR, accel: str = "tcg", memory_mib: int = 384, tb_size_mib: int = 0,
         cmdline: str = "") -> Guest:
    """Starts QEMU on a copy-on-write overlay (the cached image stays untouched) and returns at once."""
    workdir.mkdir(parents=True, exist_ok=True)
    disk = workdir / "disk.qcow2"
    disk.unlink(missing_ok=True)
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", str(image_dir / "rootfs.qcow2"),
                    str(disk)], check=True, timeout=60)
    ssh_port = free_port()
    forwards = {p: free_port() for p in guest_ports}
    fwd = [f"hostfwd=tcp:127.0.0.1:{ssh_port}-{guest_addr}:22"]
    fwd += [f"hostfwd=tcp:127.0.0.1:{h}-{guest_addr}:{g}" for g, h in forwards.items()]
    netdev = ",".join([f"user,id=n0,net={GUEST_NET}.0/24,host={GUEST_GW},dns={GUEST_NET}.3",
                       f"dhcpstart={DHCP_ADDR},restrict=on", *fwd])
    console = workdir / "console.log"
    console.unlink(missing_ok=True)
    cmd = qemu_command(image_dir, disk, drive, console, netdev, accel=accel, memory_mib=memory_mib,
                       tb_size_mib=tb_size_mib, cmdline=cmdline)
    (workdir / "qemu.cmd").write_text(" ".join(cmd) + "\n")
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=(workdir / "qemu.out").open("w"),
                            stderr=subprocess.STDOUT, start_new_session=True)
    return Guest(proc=proc, workdir=workdir, key=key, ssh_port=ssh_port, forwards=forwards)


def new_key(workdir: Path) -> tuple[Path, str]:
    key = workdir / "id_ed25519"
    key.unlink(missing_ok=True)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "shuyaku-guest-test", "-f", str(key)],
                   check=True, timeout=30)
    return key, (workdir / "id_ed25519.pub").read_text().strip()
