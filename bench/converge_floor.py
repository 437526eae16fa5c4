"""What one bare host's converge costs without Ansible: the baseline role's heavy work done by hand, as one shell
script over one SSH connection, on a fresh bare test host. Prints the CPU-seconds used inside the host and by ssh,
beside the figures bench/provision_scale.py gives for the same host with Ansible, so the part Ansible adds (and
that pipelining, mitogen or fewer tasks could still remove) is the difference.

    .venv/bin/python bench/converge_floor.py [--runs 3] [--name floor] [--golden]

The script does what costs CPU in the role: points APT at the set's mirror and refreshes the lists, installs the
role's packages (policy-rc.d 101, as the role does), enables auditd (in a container it cannot start: the role
only enables it there), enables and starts chrony, nftables and rsyslog, and restarts journald and sshd. It
skips the small file writes (a few ms each). The host's CPU is metered as provision_scale meters it. Not a test:
it prints figures.
"""

from __future__ import annotations

import argparse
import resource
import shlex
import subprocess
import sys
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from provision_scale import containers_cpu, down, hosts, live_processes_cpu, reference_loop  # noqa: E402

PACKAGES = REPO / "roles" / "baseline" / "tasks" / "packages.yml"

BY_HAND = """set -eu
cat > /etc/apt/sources.list <<EOF
deb {mirror} bookworm main
deb {mirror} bookworm-updates main
deb {security} bookworm-security main
EOF
apt-get -q update >/dev/null
printf '#!/bin/sh\\nexit 101\\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d
DEBIAN_FRONTEND=noninteractive apt-get -q -y install --no-install-recommends {packages} >/dev/null
rm -f /usr/sbin/policy-rc.d
systemctl enable auditd >/dev/null 2>&1
systemctl enable --now chrony nftables rsyslog >/dev/null 2>&1
systemctl restart systemd-journald ssh
"""


def packages() -> list[str]:
    task = yaml.safe_load(PACKAGES.read_text(encoding="utf-8"))[0]
    return list(task["ansible.builtin.apt"]["name"])


def children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def one_run(name: str, golden: bool) -> tuple[float, float, float]:
    """(wall s, CPU-s inside the host, CPU-s of ssh) for the by-hand converge of one fresh host."""
    inventory, _ = hosts(name, 1, golden)
    inv = yaml.safe_load(inventory.read_text(encoding="utf-8"))["all"]
    v = inv["vars"]
    host = next(iter(inv["children"]["servers"]["hosts"].values()))["ansible_host"]
    script = BY_HAND.format(mirror=v["baseline_patch_mirror_url"], security=v["baseline_patch_mirror_security_url"],
                            packages=" ".join(packages()))
    # the options Ansible uses (the host keys test-hosts recorded, and only those)
    ssh = ["ssh", "-i", v["ansible_ssh_private_key_file"], *shlex.split(v["ansible_ssh_common_args"]),
           f"{v['ansible_user']}@{host}", "sudo", "sh", "-s"]
    time.sleep(2)  # the host's own start-up work settles, as before a converge
    c0, l0, s0, t0 = containers_cpu(name), live_processes_cpu(name), children_cpu(), time.monotonic()
    done = subprocess.run(ssh, input=script, capture_output=True, text=True, timeout=600)
    wall, ssh_cpu = time.monotonic() - t0, children_cpu() - s0
    host_cpu, live = containers_cpu(name) - c0, live_processes_cpu(name) - l0
    print(f"  (live-process sum, the older method: {live:.1f} CPU-s)")
    if done.returncode != 0:
        raise SystemExit(f"the by-hand converge failed: {done.stderr[-2000:]}")
    return wall, host_cpu, ssh_cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--name", default="floor", help="test-hosts set name (default floor)")
    ap.add_argument("--golden", action="store_true", help="hosts from the image with the role's packages installed")
    args = ap.parse_args()
    print(f"by hand, {'golden' if args.golden else 'bare'} image, packages: {' '.join(packages())}")
    print("| run | wall (s) | CPU inside the host (s) | CPU of ssh (s) | total (s) | ref. loop (ms) |")
    print("|---:|---:|---:|---:|---:|---:|")
    try:
        for i in range(1, args.runs + 1):
            ref = reference_loop()
            wall, host_cpu, ssh_cpu = one_run(args.name, args.golden)
            print(f"| {i} | {wall:.1f} | {host_cpu:.1f} | {ssh_cpu:.2f} | {host_cpu + ssh_cpu:.1f} | {ref * 1000:.0f} |",
                  flush=True)
    finally:
        down(args.name)


if __name__ == "__main__":
    main()
