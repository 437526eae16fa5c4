"""Converge playbooks/baseline.yml on 1, 4 and 8 fresh test hosts; print wall time and second-run time.

    .venv/bin/python bench/provision_scale.py [--sizes 1 4 8] [--playbook baseline]

Each size starts from fresh hosts (scripts/test-hosts up N --name bench). A warm-up converge on one host fills
the set's apt-cacher-ng first, so the figures compare Ansible work, not the first download from Debian.
Not a test: it prints figures and does not pass or fail.
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from shuyaku.provision.runner import playbook_path, run_playbook  # noqa: E402

SCRIPT = REPO / "scripts" / "test-hosts"
NAME = "bench"


def hosts(n: int) -> tuple[Path, float]:
    subprocess.run([str(SCRIPT), "down", "--name", NAME], capture_output=True, check=False)
    t0 = time.monotonic()
    up = subprocess.run([str(SCRIPT), "up", str(n), "--name", NAME], capture_output=True, text=True, check=True)
    return Path(up.stdout.strip().splitlines()[-1]), time.monotonic() - t0


def converge(inv: Path, book: Path, artifacts: Path) -> tuple[float, int, int]:
    quiet = Console(file=io.StringIO())
    r = run_playbook(book, inv, console=quiet, live=False, artifacts_dir=artifacts)
    bad = sum(h.failed + h.unreachable for h in r.hosts.values())
    if bad:
        raise SystemExit(f"converge failed: {[(f.host, f.task, f.msg) for f in r.failures]}")
    return r.duration, r.changed_total, len(r.hosts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1, 4, 8])
    ap.add_argument("--playbook", default="baseline")
    ap.add_argument("--artifacts", type=Path, default=REPO / "out" / "bench-provision")
    args = ap.parse_args()
    book = playbook_path(args.playbook)
    rows = []
    try:
        inv, _ = hosts(1)
        print("warm-up (fills the apt proxy cache) ...", flush=True)
        converge(inv, book, args.artifacts)
        for n in args.sizes:
            inv, up_s = hosts(n)
            first, changed1, count = converge(inv, book, args.artifacts)
            assert count == n, f"expected {n} hosts in the run, saw {count}"
            second, changed2, _ = converge(inv, book, args.artifacts)
            rows.append((n, up_s, first, second, changed1, changed2))
            print(f"{n} host(s): up {up_s:.1f} s, converge {first:.1f} s ({changed1} changes), "
                  f"second run {second:.1f} s ({changed2} changes)", flush=True)
    finally:
        subprocess.run([str(SCRIPT), "down", "--name", NAME], capture_output=True, check=False)
    base = rows[0][2] if rows else 0
    print()
    print(f"| hosts | test-hosts up (s) | converge {book.name} (s) | × one host | second run (s) | "
          "changes (1st / 2nd) |")
    print("|---:|---:|---:|---:|---:|---|")
    for n, up_s, first, second, c1, c2 in rows:
        print(f"| {n} | {up_s:.1f} | {first:.1f} | {first / base:.2f} | {second:.1f} | {c1} / {c2} |")


if __name__ == "__main__":
    main()
