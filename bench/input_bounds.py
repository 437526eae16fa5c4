"""Benchmark: what reading the inventory costs, for a good file and for a 500-byte alias bomb.

For `validate`, `assess` and `plan` on the sample city (`examples/sample-city/inventory.yaml`, 80 systems, with
its cost catalogue) and on a "billion laughs" file (9 levels of 9 aliases), each run is a fresh child process
(`python -m shuyaku.cli ...`) measured through `os.wait4`: wall time, CPU time (user + system) and peak RSS;
the median of `--runs` runs is printed.

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


def measure(tree: Path, stage: str, inventory: Path, out: Path, runs: int, cap_mb: int, timeout: float) -> Sample:
    args = [stage, str(inventory)] + ([] if stage == "validate" else ["--out", str(out)])
    samples = [run_once(tree, args, cap_mb, timeout) for _ in range(runs)]
    if any(isinstance(s.exit, str) for s in samples):  # a killed run: once is enough, the rest would repeat it
        return samples[0]
    return Sample(samples[0].exit, statistics.median(s.wall for s in samples),
                  statistics.median(s.cpu for s in samples), statistics.median(s.rss_mb for s in samples))


def table(label: str, tree: Path, runs: int, cap_mb: int, timeout: float, bomb_runs: int) -> list[str]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        bomb = Path(tmp) / "bomb.yaml"
        bomb.write_text(bomb_text())
        cases = [("sample city", tree / "examples" / "sample-city" / "inventory.yaml", runs),
                 (f"alias bomb ({len(bomb_text().encode())} B)", bomb, bomb_runs)]
        for what, inventory, n in cases:
            for stage in STAGES:
                s = measure(tree, stage, inventory, Path(tmp) / "out", n, cap_mb, timeout)
                row = f"| {label} | {what} | {stage} | {s.exit} | {s.wall:.2f} | {s.cpu:.2f} | {s.rss_mb:.0f} |"
                print(row, flush=True)
                rows.append(row)
    return rows


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
    table(f"after ({head.strip()} + working tree)", ROOT, opts.runs, opts.cap_mb, opts.timeout, opts.runs)
    if opts.before:
        subprocess.run(["git", "worktree", "add", "--detach", str(opts.worktree), opts.before], cwd=ROOT, check=True,
                       capture_output=True)
        try:
            table(f"before ({opts.before})", opts.worktree, opts.runs, opts.cap_mb, opts.timeout, 1)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(opts.worktree)], cwd=ROOT, check=False)
    print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
