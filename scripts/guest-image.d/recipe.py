"""The guest image recipe: a Debian 12 root from packages, packed without loop devices.

This file and everything under rootfs/ are the image's inputs: scripts/guest-image hashes them, so a change
(a package, a unit, this code) builds a new image and an unchanged recipe reuses the cached one. Package
versions are not hashed: `scripts/guest-image build --refresh` picks up new security updates.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import patchmirror

HERE = Path(__file__).resolve().parent
OVERLAY = HERE / "rootfs"
SUITE = "bookworm"
# debootstrap resolves these itself; systemd-sysv makes it a real init so units behave as on a server.
BASE_PACKAGES = [
    "systemd-sysv", "udev", "dbus", "openssh-server", "sudo", "iproute2", "iputils-ping", "netbase",
    "procps", "python3", "python3-apt", "kmod", "zstd",
]
# Installed in a second step from the full suite list (with security updates), after the initramfs
# settings are in place so that the kernel's own hook builds the small initrd.
KERNEL_PACKAGES = ["linux-image-cloud-amd64", "initramfs-tools"]
ADMIN_USER = "ansible"
UNITS_ENABLED = ["systemd-networkd.service", "shuyaku-config-drive.service", "shuyaku-listener.service"]
# Timers and services that only add background load or wait for hardware a small guest does not have.
# Under TCG the one vCPU runs every early unit in turn (each modprobe@ unit alone costs about 0.8 s), so
# the kernel-debugging mounts and modules nothing here uses go too.
UNITS_MASKED = [
    "apt-daily.timer", "apt-daily-upgrade.timer", "e2scrub_all.timer", "e2scrub_reap.service", "fstrim.timer",
    "getty@tty1.service", "systemd-networkd-wait-online.service", "man-db.timer",
    "modprobe@drm.service", "modprobe@fuse.service", "modprobe@loop.service", "modprobe@dm_mod.service",
    "modprobe@efi_pstore.service", "modprobe@configfs.service", "systemd-pstore.service", "systemd-binfmt.service",
    "proc-sys-fs-binfmt_misc.automount", "sys-fs-fuse-connections.mount", "sys-kernel-config.mount",
    "sys-kernel-debug.mount", "sys-kernel-tracing.mount", "dev-hugepages.mount",
]
# Drivers for hardware a Nova/QEMU guest never has: dropping them halves the root's module tree.
MODULE_DIRS_DROPPED = [
    "drivers/gpu", "drivers/infiniband", "drivers/media", "drivers/net/wireless", "drivers/net/ethernet",
    "drivers/scsi/qla2xxx", "drivers/scsi/lpfc", "drivers/scsi/mpt3sas", "drivers/md", "sound", "net/wireless",
    "net/bluetooth", "drivers/bluetooth", "drivers/hid", "drivers/usb", "drivers/staging", "drivers/isdn",
]
ROOT_LABEL = "shuyaku-root"
# At most a 1 GiB flavor disk: Nova refuses to boot an image larger than its flavor's root disk.
ROOT_SIZE_MIB = 1024
KERNEL_CMDLINE = "root=/dev/vda rw console=ttyS0"

Log = Callable[[str], None]


def inputs_hash() -> str:
    """The recipe (this file) and the files laid into the root; the QEMU helper beside them is not an input."""
    h = hashlib.sha256()
    inputs = [Path(__file__).resolve(), HERE / "patchmirror.py", patchmirror.BASELINE_PACKAGES,
              patchmirror.BASELINE_UNITS, *sorted(OVERLAY.rglob("*"))]
    for p in inputs:
        if p.is_file() and "__pycache__" not in p.parts:
            rel = p.relative_to(patchmirror.ROOT).as_posix()
            h.update(f"{rel}\0{oct(p.stat().st_mode & 0o777)}\0".encode())
            h.update(p.read_bytes())
            h.update(b"\0")
    return h.hexdigest()[:16]


def debian_mirror() -> str:
    """The Debian mirror apt on this machine already uses (deb822 or one-line sources)."""
    for src in [*sorted(Path("/etc/apt").glob("sources.list.d/*.sources")), Path("/etc/apt/sources.list")]:
        if not src.exists():
            continue
        for line in src.read_text().splitlines():
            words = line.split()
            if words[:1] == ["URIs:"] or words[:1] == ["deb"]:
                uri = words[1] if words[0] == "URIs:" else next((w for w in words[1:] if "://" in w), "")
                if uri.rstrip("/").endswith("/debian"):
                    return uri.rstrip("/")
    return "http://deb.debian.org/debian"


def run(cmd: list[str], logf: Path, **kw) -> None:
    with logf.open("a") as out:
        out.write(f"\n$ {' '.join(cmd)}\n")
        out.flush()
        proc = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, **kw)
    if proc.returncode:
        raise RuntimeError(f"{cmd[0]} failed (rc {proc.returncode}); see {logf}")


@contextmanager
def chroot_mounts(root: Path) -> Iterator[None]:
    """/proc, /sys and resolv.conf for apt and maintainer scripts, and a policy-rc.d so nothing starts."""
    mounted = []
    try:
        for fs, target in (("proc", "proc"), ("sysfs", "sys")):
            subprocess.run(["mount", "-t", fs, fs, str(root / target)], check=True)
            mounted.append(root / target)
        shutil.copyfile("/etc/resolv.conf", root / "etc/resolv.conf")
        policy = root / "usr/sbin/policy-rc.d"
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)
        yield
    finally:
        for m in reversed(mounted):
            subprocess.run(["umount", "-l", str(m)], check=False)
        (root / "usr/sbin/policy-rc.d").unlink(missing_ok=True)


def bootstrap(root: Path, debs: Path, logf: Path, mirror: str) -> None:
    debs.mkdir(parents=True, exist_ok=True)
    run(["debootstrap", "--variant=minbase", f"--include={','.join(BASE_PACKAGES)}", f"--cache-dir={debs}",
         SUITE, str(root), mirror], logf)


def copy_overlay(root: Path) -> None:
    for src in sorted(OVERLAY.rglob("*")):
        dst = root / src.relative_to(OVERLAY)
        if src.is_dir():
            dst.mkdir(parents=True, exist_ok=True)
        else:
            shutil.copy2(src, dst)
            os.chown(dst, 0, 0)


def install_kernel(root: Path, logf: Path, mirror: str) -> None:
    security = mirror.rsplit("/", 1)[0] + "/debian-security"
    (root / "etc/apt/sources.list").write_text(
        f"deb {mirror} {SUITE} main\ndeb {mirror} {SUITE}-updates main\ndeb {security} {SUITE}-security main\n")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive", LC_ALL="C.UTF-8")
    apt = ["chroot", str(root), "apt-get", "-y", "-q", "-o", "APT::Install-Recommends=false"]
    run([*apt, "update"], logf, env=env)
    run([*apt, "dist-upgrade"], logf, env=env)
    run([*apt, "install", *KERNEL_PACKAGES], logf, env=env)
    if not list((root / "boot").glob("initrd.img-*")):
        # The kernel's hook skips the initrd when initramfs-tools is configured after it in one transaction.
        run(["chroot", str(root), "update-initramfs", "-c", "-k", "all"], logf, env=env)


def preinstall_baseline(root: Path, names: list[str], logf: Path, env: dict[str, str]) -> None:
    """The baseline role's packages, the mirror's very files, installed in the image but not enabled: like a
    municipality's golden image. The role still installs (nothing to fetch: same versions), configures and starts
    each daemon once; only dpkg's work under TCG is saved (nine guests unpacking 18 packages took over ten minutes
    on two cores, bench/RESULTS.md)."""
    run(["chroot", str(root), "apt-get", "-y", "-q", "-o", "APT::Install-Recommends=false", "install", *names],
        logf, env=env)
    run(["chroot", str(root), "systemctl", "disable", *patchmirror.baseline_units()], logf)


def configure(root: Path, logf: Path) -> None:
    ch = ["chroot", str(root)]
    run([*ch, "useradd", "--create-home", "--shell", "/bin/bash", "--groups", "sudo", ADMIN_USER], logf)
    sudoers = root / "etc/sudoers.d" / ADMIN_USER
    sudoers.write_text(f"{ADMIN_USER} ALL=(ALL) NOPASSWD: ALL\n")
    sudoers.chmod(0o440)
    run([*ch, "systemctl", "enable", *UNITS_ENABLED], logf)
    run([*ch, "systemctl", "mask", *UNITS_MASKED], logf)
    (root / "etc/hostname").write_text("debian\n")
    (root / "etc/default/locale").write_text("LANG=C.UTF-8\n")
    (root / "etc/resolv.conf").write_text("")
    # Each guest gets its own identity at first boot.
    (root / "etc/machine-id").write_text("")
    for key in (root / "etc/ssh").glob("ssh_host_*"):
        key.unlink()


def take_kernel(root: Path, out: Path) -> str:
    kernels = sorted((root / "boot").glob("vmlinuz-*"))
    if len(kernels) != 1:
        raise RuntimeError(f"expected one kernel in {root / 'boot'}, found {[k.name for k in kernels]}")
    version = kernels[0].name.removeprefix("vmlinuz-")
    shutil.copyfile(kernels[0], out / "vmlinuz")
    shutil.copyfile(root / "boot" / f"initrd.img-{version}", out / "initrd.img")
    # The guest boots the kernel Glance hands to Nova, never the copy in its own /boot.
    for f in (root / "boot").iterdir():
        if f.is_file():
            f.unlink()
    return version


def slim(root: Path, kernel: str) -> None:
    for rel in ("usr/share/doc", "usr/share/man", "usr/share/info", "usr/share/locale", "var/lib/apt/lists",
                "var/cache/apt", "var/log/apt", "var/cache/debconf/templates.dat-old"):
        p = root / rel
        if p.is_dir():
            shutil.rmtree(p)
            p.mkdir()
        elif p.exists():
            p.unlink()
    (root / "var/lib/apt/lists/partial").mkdir(parents=True)
    (root / "var/cache/apt/archives/partial").mkdir(parents=True)
    mods = root / "lib/modules" / kernel / "kernel"
    for rel in MODULE_DIRS_DROPPED:
        shutil.rmtree(mods / rel, ignore_errors=True)
    subprocess.run(["chroot", str(root), "depmod", kernel], check=True)
    for log in (root / "var/log").rglob("*"):
        if log.is_file():
            log.write_bytes(b"")


def breakdown(root: Path) -> dict[str, int]:
    """Bytes under the directories that make up most of the root, for the manifest and the docs."""
    parts = ["usr/lib/modules", "usr/lib/x86_64-linux-gnu", "usr/lib/python3", "usr/lib/python3.11", "usr/lib/systemd",
             "usr/bin", "usr/sbin", "usr/share", "var"]
    du = subprocess.run(["du", "-sxb", *[str(root / p) for p in parts if (root / p).exists()]], capture_output=True,
                        text=True, check=True).stdout
    return {Path(path).relative_to(root).as_posix(): int(size) for size, path in (ln.split("\t", 1) for ln in du.splitlines())}


def pack(root: Path, out: Path, logf: Path) -> int:
    raw = out / "rootfs.raw"
    used = int(subprocess.run(["du", "-sxb", str(root)], capture_output=True, text=True, check=True).stdout.split()[0])
    if used > ROOT_SIZE_MIB * 2**20 * 0.8:
        raise RuntimeError(f"root is {used / 2**20:.0f} MiB, too much for a {ROOT_SIZE_MIB} MiB disk")
    run(["mke2fs", "-q", "-t", "ext4", "-L", ROOT_LABEL, "-m", "1", "-d", str(root), str(raw), f"{ROOT_SIZE_MIB}M"], logf)
    run(["e2fsck", "-fn", str(raw)], logf)
    run(["qemu-img", "convert", "-c", "-O", "qcow2", str(raw), str(out / "rootfs.qcow2")], logf)
    raw.unlink()
    return used


def file_entry(p: Path) -> dict:
    h = hashlib.sha256()
    with p.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return {"bytes": p.stat().st_size, "sha256": h.hexdigest()}


def packages(root: Path) -> dict[str, str]:
    out = subprocess.run(["chroot", str(root), "dpkg-query", "-W", "-f", "${Package}\t${Version}\n"],
                         capture_output=True, text=True, check=True).stdout
    return dict(line.split("\t", 1) for line in out.splitlines() if "\t" in line)


def build(out: Path, work: Path, debs: Path, log: Log) -> dict:
    """Builds the image into `out` (vmlinuz, initrd.img, rootfs.qcow2, manifest.json) using `work` as scratch."""
    t0 = time.monotonic()
    logf = out / "build.log"
    root = work / "root"
    mirror = debian_mirror()
    log(f"debootstrap {SUITE} from {mirror} (minbase + {len(BASE_PACKAGES)} packages)")
    bootstrap(root, debs, logf, mirror)
    copy_overlay(root)
    with chroot_mounts(root):
        log("kernel, initramfs and security updates (apt in the root)")
        install_kernel(root, logf, mirror)
        # before configure(), which empties resolv.conf: apt in the root still needs the host's mirror
        log("the patch mirror: the baseline role's packages, signed; the image trusts its key")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive", LC_ALL="C.UTF-8")
        patch_mirror = patchmirror.build(root, out, env)
        preinstall_baseline(root, patch_mirror["packages"], logf, env)
        configure(root, logf)
        pkgs = packages(root)
    kernel = take_kernel(root, out)
    slim(root, kernel)
    log("packing the root with mke2fs -d and qemu-img (no loop devices)")
    parts = breakdown(root)
    used = pack(root, out, logf)
    manifest = {
        "inputs_hash": inputs_hash(),
        "built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "build_seconds": round(time.monotonic() - t0, 1),
        "suite": SUITE,
        "mirror": mirror,
        "kernel": kernel,
        "kernel_cmdline": KERNEL_CMDLINE,
        "root_label": ROOT_LABEL,
        "root_used_bytes": used,
        "root_breakdown_bytes": parts,
        "root_virtual_bytes": ROOT_SIZE_MIB * 2**20,
        "admin_user": ADMIN_USER,
        "files": {name: file_entry(out / name) for name in ("vmlinuz", "initrd.img", "rootfs.qcow2")},
        "packages": pkgs,
        "patch_mirror": patch_mirror,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return manifest
