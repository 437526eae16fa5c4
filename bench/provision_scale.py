"""Converge a playbook on 1, 4 and 8 fresh test hosts; print wall time, second-run time, CPU used and the
slowest tasks, so the scaling figure comes with where the time went.

    .venv/bin/python bench/provision_scale.py [--sizes 1 4 8] [--playbook baseline] [--name bench]
                                              [--strategy linear|free] [--forks N]

Each size starts from fresh hosts (scripts/test-hosts up N --name NAME). A warm-up converge on one host fills
the set's apt-cacher-ng first, so the figures compare Ansible work, not the first download from Debian.
CPU is the whole machine's busy time during the converge (/proc/stat), less the busy rate measured just
before it (other jobs); with 2 cores, "CPU / 2" is the shortest wall time the work could take.
Not a test: it prints figures and does not pass or fail.
"""

from __future__ import annotations

import argparse
import io
import json
import os
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


def cpu_busy() -> float:
    """Busy CPU-seconds of the whole machine since boot (all cores)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / TICK


def background_rate(seconds: float = 5.0) -> float:
    """CPU-seconds per second other jobs use right now (measured while nothing of ours runs)."""
    b0, t0 = cpu_busy(), time.monotonic()
    time.sleep(seconds)
    return (cpu_busy() - b0) / (time.monotonic() - t0)


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


def converge(inv: Path, book: Path, artifacts: Path, forks: int, env: dict[str, str]) -> tuple[RunResult, float]:
    quiet = Console(file=io.StringIO())
    rate = background_rate()
    b0 = cpu_busy()
    r = run_playbook(book, inv, console=quiet, live=False, artifacts_dir=artifacts, forks=forks, ansible_env=env)
    cpu = cpu_busy() - b0 - rate * r.duration
    bad = sum(h.failed + h.unreachable for h in r.hosts.values())
    if bad:
        raise SystemExit(f"converge failed: {[(f.host, f.task, f.msg) for f in r.failures]}")
    return r, max(cpu, 0.0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1, 4, 8])
    ap.add_argument("--playbook", default="baseline")
    ap.add_argument("--name", default="bench", help="test-hosts set name (default bench)")
    ap.add_argument("--strategy", choices=["linear", "free"], default="linear")
    ap.add_argument("--forks", type=int, default=20, help="at least the largest size, so no host waits for a fork")
    ap.add_argument("--top", type=int, default=6, help="slowest tasks shown per size")
    ap.add_argument("--artifacts", type=Path, default=REPO / "out" / "bench-provision")
    args = ap.parse_args()
    book = playbook_path(args.playbook)
    env = {"ANSIBLE_STRATEGY": args.strategy}
    cores = os.cpu_count() or 1
    rows = []
    try:
        inv, _ = hosts(args.name, 1)
        print("warm-up (fills the apt proxy cache) ...", flush=True)
        converge(inv, book, args.artifacts, args.forks, env)
        for n in args.sizes:
            inv, up_s = hosts(args.name, n)
            first, cpu1 = converge(inv, book, args.artifacts, args.forks, env)
            assert len(first.hosts) == n, f"expected {n} hosts in the run, saw {len(first.hosts)}"
            second, cpu2 = converge(inv, book, args.artifacts, args.forks, env)
            rows.append((n, up_s, first, cpu1, second, cpu2))
            print(f"{n} host(s): up {up_s:.1f} s, converge {first.duration:.1f} s (CPU {cpu1:.0f} s, "
                  f"{first.changed_total} changes), second run {second.duration:.1f} s (CPU {cpu2:.0f} s, "
                  f"{second.changed_total} changes)", flush=True)
            print(f"  slowest tasks ({n} host(s), first run): wall / sum over hosts / slowest host, s")
            for task, wall, total, worst in task_times(first)[:args.top]:
                print(f"    {wall:6.1f} {total:7.1f} {worst:6.1f}  {task}")
    finally:
        subprocess.run([str(SCRIPT), "down", "--name", args.name], capture_output=True, check=False)
    if not rows:
        return
    base = rows[0][2].duration
    print()
    print(f"strategy {args.strategy}, forks {args.forks}, {cores} cores, playbook {book.name}")
    print("| hosts | test-hosts up (s) | converge (s) | × one host | CPU used (s) | CPU / cores (s) | "
          "second run (s) | second-run CPU (s) | changes (1st / 2nd) |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for n, up_s, first, cpu1, second, cpu2 in rows:
        print(f"| {n} | {up_s:.1f} | {first.duration:.1f} | {first.duration / base:.2f} | {cpu1:.0f} | "
              f"{cpu1 / cores:.0f} | {second.duration:.1f} | {cpu2:.0f} | "
              f"{first.changed_total} / {second.changed_total} |")


if __name__ == "__main__":
    main()
