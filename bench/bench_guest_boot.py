"""Guest boot under plain QEMU: time to SSH, QEMU's memory and CPU, and the image's sizes.

Boots the cached image from `scripts/guest-image build` (built first if missing) once per run, one guest at a
time, with a config drive as Nova would attach it, and prints a Markdown table. Not a test: it prints figures.

    .venv/bin/python bench/bench_guest_boot.py [--runs 3] [--memory 384] [--accel tcg] [--tb-size MIB]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts" / "guest-image.d"))
import qemuguest  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def guest_figures(g) -> dict:
    analyze = g.ssh("systemd-analyze", "time").stdout.strip().splitlines()
    mem = dict(line.split(":", 1) for line in g.ssh("cat", "/proc/meminfo").stdout.splitlines())
    kib = {k: int(v.split()[0]) for k, v in mem.items() if k in ("MemTotal", "MemAvailable")}
    return {"systemd_analyze": analyze[0] if analyze else "", "guest_used_mib": (kib["MemTotal"] - kib["MemAvailable"]) // 1024}


def one_boot(image: Path, work: Path, memory: int, accel: str, tb_size: int) -> dict:
    key, pub = qemuguest.new_key(work)
    drive = qemuguest.make_config_drive(work, "bench-guest", pub, {"listen_ports": "5432,8080"})
    g = qemuguest.boot(image, work, key, drive, accel=accel, memory_mib=memory, tb_size_mib=tb_size, guest_ports=(5432,))
    try:
        to_ssh = g.wait_ssh(600)
        cpu_at_ssh = cpu_seconds(g.proc.pid)
        rss_at_ssh = g.rss_kib()["VmRSS"]
        figures = guest_figures(g)
        t0 = time.monotonic()
        code = g.poweroff(timeout=120)
        return {"to_ssh_s": to_ssh, "cpu_s": cpu_at_ssh, "rss_mib": rss_at_ssh / 1024, "poweroff_s": time.monotonic() - t0,
                "exit": code, **figures}
    finally:
        g.kill()


def image_sizes(image: Path) -> list[tuple[str, str]]:
    manifest = json.loads((image / "manifest.json").read_text())
    info = json.loads(subprocess.run(["qemu-img", "info", "--output=json", str(image / "rootfs.qcow2")],
                                     capture_output=True, text=True, check=True).stdout)
    rows = [(name, f"{entry['bytes'] / 2**20:.1f} MiB") for name, entry in manifest["files"].items()]
    rows += [("root file system, used", f"{manifest['root_used_bytes'] / 2**20:.0f} MiB"),
             ("rootfs.qcow2 virtual size", f"{info['virtual-size'] / 2**20:.0f} MiB"),
             ("packages", str(len(manifest["packages"]))),
             ("kernel", manifest["kernel"]),
             ("build time (first build)", f"{manifest['build_seconds']:.0f} s")]
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--memory", type=int, default=384, help="guest memory, MiB")
    ap.add_argument("--accel", default="tcg", choices=("tcg", "kvm"))
    ap.add_argument("--tb-size", type=int, default=0, help="TCG translation cache, MiB (0: QEMU's default, as under libvirt)")
    args = ap.parse_args()
    built = subprocess.run([str(REPO / "scripts" / "guest-image"), "build"], capture_output=True, text=True, check=True)
    image = Path(built.stdout.strip().splitlines()[-1])
    load_before = os.getloadavg()
    print(f"# guest boot, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} cores, "
          f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB, {platform.python_version()}, "
          f"accel {args.accel}, tb-size {args.tb_size or 'default'}, guest memory {args.memory} MiB, "
          f"load before {load_before[0]:.2f}\n")
    print("| item | value |\n|---|---|")
    for k, v in image_sizes(image):
        print(f"| {k} | {v} |")
    print("\n| run | boot to SSH (s) | QEMU CPU to SSH (s) | QEMU RSS at SSH (MiB) | guest memory used (MiB) | "
          "poweroff (s) | systemd-analyze |\n|---:|---:|---:|---:|---:|---:|---|")
    results = []
    for i in range(1, args.runs + 1):
        work = Path(tempfile.mkdtemp(prefix="shuyaku-bench-guest-"))
        try:
            r = one_boot(image, work, args.memory, args.accel, args.tb_size)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        results.append(r)
        print(f"| {i} | {r['to_ssh_s']:.1f} | {r['cpu_s']:.1f} | {r['rss_mib']:.0f} | {r['guest_used_mib']} | "
              f"{r['poweroff_s']:.1f} | {r['systemd_analyze']} |", flush=True)
    med = statistics.median(r["to_ssh_s"] for r in results)
    print(f"\nmedian boot to SSH {med:.1f} s; max QEMU RSS {max(r['rss_mib'] for r in results):.0f} MiB; "
          f"load after {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
