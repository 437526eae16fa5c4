"""Converge a playbook on 1, 4 and 8 fresh test hosts; print wall time, second-run time, CPU used and the
slowest tasks, so the scaling figure comes with where the time went.

    .venv/bin/python bench/provision_scale.py [--sizes 1 4 8] [--playbook baseline] [--name bench]
                                              [--strategy mitogen_linear|mitogen_free|linear|free] [--forks N]

Each size starts from fresh hosts (scripts/test-hosts up N --name NAME). A warm-up converge on one host fills
the set's apt-cacher-ng first, so the figures compare Ansible work, not the first download from Debian.
CPU is counted for our own processes only (other jobs share the machine): everything that ran inside the
set's containers, and the controller (this process and ansible-playbook with its workers and ssh). With 2
cores, "CPU / cores" is the shortest wall time the work could take.
Not a test: it prints figures and does not pass or fail.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import resource
import subprocess
import sys
import time
from collections import defaultdict
from datetime import datetime
from pathlib import Path

from rich.console import Console

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from shuyaku.provision.runner import RunResult, playbook_path, run_playbook  # noqa: E402

SCRIPT = REPO / "scripts" / "test-hosts"
TICK = os.sysconf("SC_CLK_TCK")


CACHE = Path(os.environ.get("SHUYAKU_CACHE", "/var/cache/shuyaku")) / "test-hosts"


def _proc_cpu(stat: str) -> float:
    # utime, stime, cutime, cstime: the process and every child it has reaped.
    fields = stat.rsplit(")", 1)[1].split()
    return sum(int(x) for x in fields[11:15]) / TICK


def containers_cpu(name: str) -> float:
    """CPU-seconds used so far by everything that ran inside the set's containers.

    Summed over the live processes of each container's PID namespace, children included once reaped:
    every process that ever ran there is counted by itself or by the live ancestor that reaped it."""
    namespaces = set()
    for pidfile in (CACHE / "run" / name / "hosts").glob("*/nspawn.pid"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            nspawn = pidfile.read_text().strip()
            leader = Path(f"/proc/{nspawn}/task/{nspawn}/children").read_text().split()[0]
            namespaces.add(os.readlink(f"/proc/{leader}/ns/pid"))
    total = 0.0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if os.readlink(proc / "ns" / "pid") in namespaces:
                total += _proc_cpu((proc / "stat").read_text())
    return total


def controller_cpu() -> float:
    """CPU-seconds of this process (ansible-runner's event threads) and its reaped children (ansible-playbook,
    its workers, ssh)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def hosts(name: str, n: int) -> tuple[Path, float]:
    subprocess.run([str(SCRIPT), "down", "--name", name], capture_output=True, check=False)
    t0 = time.monotonic()
    up = subprocess.run([str(SCRIPT), "up", str(n), "--name", name], capture_output=True, text=True, check=True)
    return Path(up.stdout.strip().splitlines()[-1]), time.monotonic() - t0


def task_times(run: RunResult) -> list[tuple[str, float, float, float]]:
    """(task, wall from its first host's start to its last host's end, sum over hosts, slowest host)."""
    spans: dict[str, list[tuple[datetime, datetime, float]]] = defaultdict(list)
    for path in (run.artifacts / "artifacts").glob("*/job_events/*.json"):
        ev = json.loads(path.read_text())
        data = ev.get("event_data") or {}
        if ev.get("event") in ("runner_on_ok", "runner_on_failed", "runner_on_skipped") and data.get("start"):
            spans[data["task"]].append((datetime.fromisoformat(data["start"]), datetime.fromisoformat(data["end"]),
                                        float(data.get("duration") or 0)))
    rows = []
    for task, s in spans.items():
        wall = (max(e for _, e, _ in s) - min(b for b, _, _ in s)).total_seconds()
        rows.append((task, wall, sum(d for *_, d in s), max(d for *_, d in s)))
    return sorted(rows, key=lambda r: -r[1])


def converge(name: str, inv: Path, book: Path, artifacts: Path, forks: int,
             env: dict[str, str]) -> tuple[RunResult, float, float]:
    """One run; returns it with the CPU-seconds the containers and the controller used meanwhile."""
    quiet = Console(file=io.StringIO())
    c0, k0 = containers_cpu(name), controller_cpu()
    r = run_playbook(book, inv, console=quiet, live=False, artifacts_dir=artifacts, forks=forks, ansible_env=env)
    hosts_cpu, ctl_cpu = containers_cpu(name) - c0, controller_cpu() - k0
    bad = sum(h.failed + h.unreachable for h in r.hosts.values())
    if bad:
        raise SystemExit(f"converge failed: {[(f.host, f.task, f.msg) for f in r.failures]}")
    return r, hosts_cpu, ctl_cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1, 4, 8])
    ap.add_argument("--playbook", default="baseline")
    ap.add_argument("--name", default="bench", help="test-hosts set name (default bench)")
    ap.add_argument("--strategy", choices=["linear", "free", "mitogen_linear", "mitogen_free"], default="mitogen_linear")
    ap.add_argument("--forks", type=int, default=20, help="at least the largest size, so no host waits for a fork")
    ap.add_argument("--top", type=int, default=6, help="slowest tasks shown per size")
    ap.add_argument("--artifacts", type=Path, default=REPO / "out" / "bench-provision")
    args = ap.parse_args()
    book = playbook_path(args.playbook)
    env = {"ANSIBLE_STRATEGY": args.strategy}  # the runner adds mitogen's plugin path when it is asked for
    cores = os.cpu_count() or 1
    rows = []
    try:
        inv, _ = hosts(args.name, 1)
        print("warm-up (fills the apt proxy cache) ...", flush=True)
        converge(args.name, inv, book, args.artifacts, args.forks, env)
        for n in args.sizes:
            inv, up_s = hosts(args.name, n)
            time.sleep(5)  # let the fresh containers finish booting before counting
            first, hcpu1, ccpu1 = converge(args.name, inv, book, args.artifacts, args.forks, env)
            assert len(first.hosts) == n, f"expected {n} hosts in the run, saw {len(first.hosts)}"
            second, hcpu2, ccpu2 = converge(args.name, inv, book, args.artifacts, args.forks, env)
            rows.append((n, up_s, first, hcpu1, ccpu1, second, hcpu2, ccpu2))
            print(f"{n} host(s): up {up_s:.1f} s, converge {first.duration:.1f} s (CPU hosts {hcpu1:.1f} s + "
                  f"controller {ccpu1:.1f} s, {first.changed_total} changes), second run {second.duration:.1f} s "
                  f"(CPU hosts {hcpu2:.1f} s + controller {ccpu2:.1f} s, {second.changed_total} changes), "
                  f"load {os.getloadavg()[0]:.1f}", flush=True)
            print(f"  slowest tasks ({n} host(s), first run): wall / sum over hosts / slowest host, s")
            for task, wall, total, worst in task_times(first)[:args.top]:
                print(f"    {wall:6.1f} {total:7.1f} {worst:6.1f}  {task}")
    finally:
        subprocess.run([str(SCRIPT), "down", "--name", args.name], capture_output=True, check=False)
    if not rows:
        return
    base = rows[0][2].duration
    one_cpu = (rows[0][3] + rows[0][4]) / rows[0][0]  # CPU-s of one host's converge (the first size, per host)
    print()
    print(f"strategy {args.strategy}, forks {args.forks}, {cores} cores, playbook {book.name}; CPU floor = hosts × "
          f"{one_cpu:.1f} CPU-s ÷ {cores} cores (the shortest wall time the work allows on idle cores)")
    print("| hosts | up (s) | converge (s) | × one host | CPU hosts + controller (s) | CPU per host (s) | "
          "CPU floor (s) | converge ÷ floor | second run (s) | second-run CPU (s) | changes (1st / 2nd) |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for n, up_s, first, h1, c1, second, h2, c2 in rows:
        floor = n * one_cpu / cores
        print(f"| {n} | {up_s:.1f} | {first.duration:.1f} | {first.duration / base:.2f} | {h1:.1f} + {c1:.1f} | "
              f"{(h1 + c1) / n:.1f} | {floor:.1f} | {first.duration / floor:.2f} | {second.duration:.1f} | "
              f"{h2:.1f} + {c2:.1f} | {first.changed_total} / {second.changed_total} |")


if __name__ == "__main__":
    main()
