"""Benchmark: what reading the inventory costs, for a good file and for a 500-byte alias bomb.

For `validate`, `assess` and `plan` on the sample city (`examples/sample-city/inventory.yaml`, 80 systems, with
its cost catalogue) and on a "billion laughs" file (9 levels of 9 aliases), each run is a fresh child process
(`python -m shuyaku.cli ...`) measured through `os.wait4`: wall time, CPU time (user + system) and peak RSS;
the median of `--runs` runs is printed; with `--before`, the two trees take turns run by run. The reading step
alone (`inventory.load.load`, in-process) is timed too, to tell this layer apart from plan and report code.

`--before REV` measures the same against an earlier commit too (default b7ba15e, the state before the contracts
layer), from a temporary `git worktree` with PYTHONPATH pointing at it; the worktree is removed afterwards.
The earlier code had no alias budget, so its children run under an address-space cap (`--cap-mb`) and a
timeout: a bomb there ends as "killed" or "out of memory", which is the figure.

    .venv/bin/python bench/input_bounds.py                   # this tree
    .venv/bin/python bench/input_bounds.py --before b7ba15e  # and the commit before the contracts layer

This is a benchmark: it reports, it does not pass or fail.
"""

from __future__ import annotations

import argparse
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STAGES = ("validate", "assess", "plan")


def bomb_text() -> str:
    lines = ["a: &a [" + ", ".join(["lolololol"] * 9) + "]"]
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    return "# billion laughs\n" + "\n".join(lines) + "\n"


@dataclass
class Sample:
    exit: int | str
    wall: float
    cpu: float
    rss_mb: float


def run_once(tree: Path, args: list[str], cap_mb: int, timeout: float) -> Sample:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(tree), "SHUYAKU_LANG": "ja", "HOME": tempfile.gettempdir()}
    cap = cap_mb * 1024 * 1024

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    start = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "shuyaku.cli", *args], cwd=tree, env=env, preexec_fn=limit,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    killed = threading.Event()

    def kill() -> None:
        killed.set()
        os.kill(proc.pid, signal.SIGKILL)

    timer = threading.Timer(timeout, kill)
    timer.start()
    err = proc.stderr.read() if proc.stderr else b""  # drained so that a chatty child never blocks
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        timer.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - start
    code: int | str = proc.returncode
    if killed.is_set():
        code = f"killed after {timeout:.0f} s"
    elif b"MemoryError" in err:
        code = f"out of memory (cap {cap_mb} MB)"
    elif b"Traceback" in err:
        code = f"{proc.returncode} (traceback)"
    return Sample(code, wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


LOAD_ONLY = """
import statistics, sys, time
from shuyaku.inventory.load import load
path = sys.argv[1]
load(path)
times = []
for _ in range(int(sys.argv[2])):
    start = time.process_time()
    load(path)
    times.append(time.process_time() - start)
print(statistics.median(times))
"""


def load_only(tree: Path, runs: int) -> float:
    """The reading step alone (parse, model, cross-check, catalogue), in-process: what this layer changed,
    apart from interpreter start and the plan and report code."""
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(tree), "HOME": tempfile.gettempdir()}
    inventory = str(tree / "examples" / "sample-city" / "inventory.yaml")
    out = subprocess.run([sys.executable, "-c", LOAD_ONLY, inventory, str(runs)], cwd=tree, env=env,
                         capture_output=True, text=True, check=True).stdout
    return float(out.strip())


def table(trees: dict[str, Path], runs: int, cap_mb: int, timeout: float) -> None:
    """Every case on every tree, the trees taking turns run by run, so that a change in the machine's load
    falls on both alike."""
    with tempfile.TemporaryDirectory() as tmp:
        bomb = Path(tmp) / "bomb.yaml"
        bomb.write_text(bomb_text())
        cases = [("sample city", None), (f"alias bomb ({len(bomb_text().encode())} B)", bomb)]
        for what, inventory in cases:
            for stage in STAGES:
                samples: dict[str, list[Sample]] = {label: [] for label in trees}
                for _ in range(runs):
                    for label, tree in trees.items():
                        if samples[label] and isinstance(samples[label][0].exit, str):
                            continue  # killed once: the rest would repeat it
                        path = inventory or tree / "examples" / "sample-city" / "inventory.yaml"
                        args = [stage, str(path)] + ([] if stage == "validate" else ["--out", f"{tmp}/out"])
                        samples[label].append(run_once(tree, args, cap_mb, timeout))
                for label, got in samples.items():
                    s = Sample(got[0].exit, statistics.median(x.wall for x in got),
                               statistics.median(x.cpu for x in got), statistics.median(x.rss_mb for x in got))
                    print(f"| {label} | {what} | {stage} | {s.exit} | {s.wall:.2f} | {s.cpu:.2f} | {s.rss_mb:.0f} |",
                          flush=True)
    for label, tree in trees.items():
        print(f"{label}: reading the sample city in-process (parse, model, cross-check, catalogue), median CPU of "
              f"15: {load_only(tree, 15) * 1000:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="runs per case (the median is printed)")
    parser.add_argument("--before", nargs="?", const="b7ba15e", default=None, help="also measure this commit")
    parser.add_argument("--worktree", type=Path, default=Path("/tmp/shuyaku-before"))
    parser.add_argument("--cap-mb", type=int, default=2048, help="address-space cap per child (MB)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds before a child is killed")
    opts = parser.parse_args()

    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print("| tree | input | command | exit | wall (s) | CPU (s) | peak RSS (MB) |")
    print("|---|---|---|---|---:|---:|---:|")
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout
    trees = {f"after ({head.strip()} + working tree)": ROOT}
    if opts.before:
        subprocess.run(["git", "worktree", "add", "--detach", str(opts.worktree), opts.before], cwd=ROOT, check=True,
                       capture_output=True)
        trees[f"before ({opts.before})"] = opts.worktree
    try:
        table(trees, opts.runs, opts.cap_mb, opts.timeout)
    finally:
        if opts.before:
            subprocess.run(["git", "worktree", "remove", "--force", str(opts.worktree)], cwd=ROOT, check=False)
    print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
