"""Converge a playbook on 1, 4 and 8 fresh test hosts; print wall time, second-run time, CPU used and the
slowest tasks, so the scaling figure comes with where the time went: beside every run it prints the CPU other
jobs used meanwhile, the idle core-seconds (what no process used: our waits that nothing else filled), each
host's time without a task (waits at the linear strategy's per-task barrier, for the controller or ssh), the
load average, and how long a fixed Python loop takes (this shared machine's cores do not always run at one speed).

    .venv/bin/python bench/provision_scale.py [--sizes 1 1 1 4 8] [--playbook baseline] [--name bench]
                                              [--strategy mitogen_linear|mitogen_free|linear|free] [--forks N] [--golden]

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
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from rich.console import Console

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from shuyaku.provision.runner import RunResult, playbook_path, run_playbook  # noqa: E402

SCRIPT = REPO / "scripts" / "test-hosts"
TICK = os.sysconf("SC_CLK_TCK")


CACHE = Path(os.environ.get("SHUYAKU_CACHE", "/var/cache/shuyaku")) / "test-hosts"
CPUACCT = Path("/sys/fs/cgroup/cpuacct")


def _proc_cpu(stat: str) -> float:
    # utime, stime, cutime, cstime: the process and every child it has reaped.
    fields = stat.rsplit(")", 1)[1].split()
    return sum(int(x) for x in fields[11:15]) / TICK


def _namespace_pids(name: str) -> list[Path]:
    """/proc entries of every live process in the set's containers (their PID namespaces)."""
    namespaces = set()
    for pidfile in (CACHE / "run" / name / "hosts").glob("*/nspawn.pid"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            nspawn = pidfile.read_text().strip()
            leader = Path(f"/proc/{nspawn}/task/{nspawn}/children").read_text().split()[0]
            namespaces.add(os.readlink(f"/proc/{leader}/ns/pid"))
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            with contextlib.suppress(OSError):
                if os.readlink(proc / "ns" / "pid") in namespaces:
                    found.append(proc)
    return found


def _group(name: str) -> Path:
    return CPUACCT / f"shuyaku-bench-{name}"


def containers_cpu(name: str) -> float:
    """CPU-seconds used so far by everything that ran inside the set's containers.

    With the cpuacct group (meter_containers), the kernel's own count: every process charged as it runs, those that
    have exited included. Without it, summed over the live processes of each container's PID namespace, children
    included once reaped: a process that exits after the sum, or whose parent has not reaped it yet, is missed."""
    with contextlib.suppress(OSError, ValueError):
        return int((_group(name) / "cpuacct.usage").read_text()) / 1e9
    return live_processes_cpu(name)


def live_processes_cpu(name: str) -> float:
    """The sum over the live processes of the set's containers, their reaped children included (sessions 8-12)."""
    total = 0.0
    for proc in _namespace_pids(name):
        with contextlib.suppress(OSError):
            total += _proc_cpu((proc / "stat").read_text())
    return total


def meter_containers(name: str) -> bool:
    """Move every process of the set's containers into one cpuacct group (cgroup v1), so that what they and their
    descendants run is charged there. False where the machine has no writable cpuacct hierarchy."""
    group = _group(name)
    try:
        group.mkdir(exist_ok=True)
        for proc in _namespace_pids(name):
            with contextlib.suppress(OSError):  # a process that exited meanwhile
                (group / "cgroup.procs").write_text(proc.name)
    except OSError:
        return False
    return True


def unmeter_containers(name: str) -> None:
    """Remove the set's cpuacct group once its containers are gone (any process left goes back to the root)."""
    group = _group(name)
    with contextlib.suppress(OSError):
        for pid in (group / "cgroup.procs").read_text().split():
            with contextlib.suppress(OSError):
                (CPUACCT / "cgroup.procs").write_text(pid)
        group.rmdir()


def machine_cpu() -> tuple[float, float]:
    """(busy, idle) CPU-seconds of the whole machine so far, all cores, from /proc/stat; iowait counts as idle
    (a core waiting for the disk could run other work)."""
    fields = [int(x) / TICK for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, idle


def reference_loop() -> float:
    """CPU-seconds a fixed pure-Python loop takes right now: how fast a core of this shared machine runs (its
    speed varies with what the neighbours do to caches and shared cores), printed beside every CPU figure."""
    t0, s = time.process_time(), 0
    for i in range(3_000_000):
        s += i * i
    return time.process_time() - t0


def controller_cpu() -> float:
    """CPU-seconds of this process (ansible-runner's event threads) and its reaped children (ansible-playbook,
    its workers, ssh)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def hosts(name: str, n: int, golden: bool = False) -> tuple[Path, float]:
    """Fresh hosts (the set's old ones removed first), their CPU metered from here on; (inventory, seconds up)."""
    down(name)
    t0 = time.monotonic()
    up = subprocess.run([str(SCRIPT), "up", str(n), "--name", name, *(["--golden"] if golden else [])],
                        capture_output=True, text=True, check=True)
    took = time.monotonic() - t0
    if not meter_containers(name):
        print("  (no writable cpuacct group: host CPU summed over live processes, which misses late exits)")
    return Path(up.stdout.strip().splitlines()[-1]), took


def down(name: str) -> None:
    subprocess.run([str(SCRIPT), "down", "--name", name], capture_output=True, check=False)
    unmeter_containers(name)


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


def host_gaps(run: RunResult) -> dict[str, float]:
    """Per host: seconds of the run in which the host ran no task (waiting for the other hosts at a linear
    barrier, for the controller, or for ssh), i.e. run wall time minus the union of its tasks' spans."""
    spans: dict[str, list[tuple[datetime, datetime]]] = defaultdict(list)
    for path in (run.artifacts / "artifacts").glob("*/job_events/*.json"):
        data = json.loads(path.read_text()).get("event_data") or {}
        if data.get("host") and data.get("start") and data.get("end"):
            spans[data["host"]].append((datetime.fromisoformat(data["start"]), datetime.fromisoformat(data["end"])))
    gaps = {}
    for host, s in spans.items():
        busy, cur_b, cur_e = 0.0, None, None
        for b, e in sorted(s):
            if cur_e is None or b > cur_e:
                busy += (cur_e - cur_b).total_seconds() if cur_e is not None and cur_b is not None else 0.0
                cur_b, cur_e = b, e
            else:
                cur_e = max(cur_e, e)
        if cur_b is not None and cur_e is not None:
            busy += (cur_e - cur_b).total_seconds()
        gaps[host] = run.duration - busy
    return gaps


@dataclass
class Run:
    """One converge and what the machine did meanwhile: our CPU (the set's containers and the controller), other
    jobs' CPU, idle core-seconds, the 1-minute load average at the end."""
    result: RunResult
    hosts_cpu: float
    ctl_cpu: float
    others_cpu: float
    idle: float
    load: float
    ref: float

    @property
    def ours(self) -> float:
        return self.hosts_cpu + self.ctl_cpu


def converge(name: str, inv: Path, book: Path, artifacts: Path, forks: int, env: dict[str, str]) -> Run:
    quiet, ref = Console(file=io.StringIO()), reference_loop()
    c0, l0, k0, (m0, i0) = containers_cpu(name), live_processes_cpu(name), controller_cpu(), machine_cpu()
    r = run_playbook(book, inv, console=quiet, live=False, artifacts_dir=artifacts, forks=forks, ansible_env=env)
    hosts_cpu, live, ctl_cpu = containers_cpu(name) - c0, live_processes_cpu(name) - l0, controller_cpu() - k0
    m1, i1 = machine_cpu()
    run = Run(r, hosts_cpu, ctl_cpu, m1 - m0 - hosts_cpu - ctl_cpu, i1 - i0, os.getloadavg()[0], ref)
    gaps = sorted(host_gaps(r).values()) or [0.0]
    print(f"    run {r.duration:.1f} s: ours {run.ours:.1f} CPU-s (hosts {hosts_cpu:.1f} + controller {ctl_cpu:.1f}),"
          f" other jobs {run.others_cpu:.1f} CPU-s, idle {run.idle:.1f} core-s, load {run.load:.1f}, "
          f"{r.changed_total} changes, reference loop {ref * 1000:.0f} ms; per-host time without a task "
          f"{gaps[0]:.1f}-{gaps[-1]:.1f} s; hosts by the live-process sum {live:.1f}", flush=True)
    bad = sum(h.failed + h.unreachable for h in r.hosts.values())
    if bad:
        raise SystemExit(f"converge failed: {[(f.host, f.task, f.msg) for f in r.failures]}")
    return run


def table(rows: list[tuple[int, float, Run, Run]], cores: int) -> None:
    """The floor is the issue's: hosts × one host's CPU-s ÷ cores, with the median of the one-host runs (one run
    beside a burst of other jobs costs far more CPU-s); the second ratio is against the CPU the run itself used
    (robust to other jobs' load, which the floor's one-host figure is not)."""
    ones = [first for n, _, first, _ in rows if n == 1] or [rows[0][2]]
    one_cpu = statistics.median(r.ours / len(r.result.hosts) for r in ones)
    base = statistics.median(r.result.duration for r in ones)
    print(f"\none host's converge: {len(ones)} run(s), " + ", ".join(f"{r.ours:.1f}" for r in ones) +
          f" CPU-s (median {one_cpu:.1f}); CPU floor = hosts × {one_cpu:.1f} ÷ {cores} cores")
    print("| hosts | converge (s) | × one host | CPU hosts + controller (s) | CPU per host (s) | CPU floor (s) | "
          "converge ÷ floor | converge ÷ (own CPU ÷ cores) | other jobs' CPU (s) | idle (core-s) | load | ref. loop (ms) | "
          "second run (s) | second-run CPU (s) | changes (1st / 2nd) |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for n, _, first, second in rows:
        floor, d = n * one_cpu / cores, first.result.duration
        print(f"| {n} | {d:.1f} | {d / base:.2f} | {first.hosts_cpu:.1f} + {first.ctl_cpu:.1f} | {first.ours / n:.1f} | "
              f"{floor:.1f} | {d / floor:.2f} | {d / (first.ours / cores):.2f} | {first.others_cpu:.1f} | "
              f"{first.idle:.1f} | {first.load:.1f} | {first.ref * 1000:.0f} | {second.result.duration:.1f} | "
              f"{second.hosts_cpu:.1f} + {second.ctl_cpu:.1f} | {first.result.changed_total} / "
              f"{second.result.changed_total} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1, 4, 8], help="repeat a size to measure its spread")
    ap.add_argument("--playbook", default="baseline")
    ap.add_argument("--name", default="bench", help="test-hosts set name (default bench)")
    ap.add_argument("--strategy", choices=["linear", "free", "mitogen_linear", "mitogen_free"], default="mitogen_linear")
    ap.add_argument("--forks", type=int, default=20, help="at least the largest size, so no host waits for a fork")
    ap.add_argument("--top", type=int, default=6, help="slowest tasks shown per size")
    ap.add_argument("--artifacts", type=Path, default=REPO / "out" / "bench-provision")
    ap.add_argument("--golden", action="store_true",
                    help="hosts from the golden image (the baseline's packages installed, not enabled), as the "
                         "platform's guests boot from (scripts/test-hosts up --golden)")
    args = ap.parse_args()
    book = playbook_path(args.playbook)
    env = {"ANSIBLE_STRATEGY": args.strategy}  # the runner adds mitogen's plugin path when it is asked for
    cores = os.cpu_count() or 1
    rows = []
    try:
        inv, _ = hosts(args.name, 1, args.golden)
        print("warm-up (fills the apt proxy cache) ...", flush=True)
        converge(args.name, inv, book, args.artifacts, args.forks, env)
        for n in args.sizes:
            inv, up_s = hosts(args.name, n, args.golden)
            time.sleep(5)  # let the fresh containers finish booting before counting
            print(f"{n} host(s), up in {up_s:.1f} s:", flush=True)
            first = converge(args.name, inv, book, args.artifacts, args.forks, env)
            assert len(first.result.hosts) == n, f"expected {n} hosts in the run, saw {len(first.result.hosts)}"
            rows.append((n, up_s, first, converge(args.name, inv, book, args.artifacts, args.forks, env)))
            print(f"  slowest tasks ({n} host(s), first run): wall / sum over hosts / slowest host, s")
            for task, wall, total, worst in task_times(first.result)[:args.top]:
                print(f"    {wall:6.1f} {total:7.1f} {worst:6.1f}  {task}")
    finally:
        down(args.name)
    if rows:
        image = "golden image" if args.golden else "bare image"
        print(f"\nstrategy {args.strategy}, forks {args.forks}, {cores} cores, playbook {book.name}, {image}")
        table(rows, cores)


if __name__ == "__main__":
    main()
