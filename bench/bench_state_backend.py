"""`pulumi up` on the team state database against the local file backend (not a test: it prints figures).

The real engine (scripts/build-engine) runs a program with no cloud resources: N ComponentResources (default 500)
and stack outputs, one secret. For each backend and each repeat: a fresh stack, a first `up` (creates N + 1
resources), a second `up --expect-no-changes`, then the stack is destroyed and removed (not timed). The PostgreSQL
runs use the operator's URL from `scripts/state-db env` (the database must be up) and leave nothing in its table.

Figures per run: wall time, the CPU time of the engine and its children (less sensitive to other work on the
machine), and for PostgreSQL the server's own CPU time (its backends' time, read from the postmaster's children
after the engine disconnected). Load average before and after is printed: other work may share the machine.

    .venv/bin/python bench/bench_state_backend.py                 # N=500, 3 repeats
    .venv/bin/python bench/bench_state_backend.py --boxes 100 --repeats 1
    .venv/bin/python bench/bench_state_backend.py --variants plain,zstd   # also with the engine's zstd state files
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import secrets
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = Path(os.environ.get("SHUYAKU_CACHE", "/var/cache/shuyaku"))
BIN = CACHE / "engine" / "bin"
PIDFILE = CACHE / "state-db" / "data" / "postmaster.pid"
TICK = os.sysconf("SC_CLK_TCK")
# How the engine writes its state files: as they are, or compressed (the engine's own settings).
VARIANTS = {"plain": {}, "gzip": {"PULUMI_DIY_BACKEND_GZIP": "true"}, "zstd": {"PULUMI_DIY_BACKEND_ZSTD": "true"}}

PROGRAM = """\
    import pulumi


    class Box(pulumi.ComponentResource):
        def __init__(self, name, opts=None):
            super().__init__("shuyakubench:state:Box", name, None, opts)
            self.register_outputs({})


    cfg = pulumi.Config()
    n = cfg.get_int("boxes") or 1
    boxes = [Box(f"box-{i}") for i in range(n)]
    pulumi.export("boxes", n)
    pulumi.export("names", [f"box-{i}" for i in range(n)])
    pulumi.export("token", pulumi.Output.secret("bench-token"))
    """


def engine_env(backend: str, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PULUMI_", "OS_", "PG"))}
    env.update(PATH=f"{BIN}{os.pathsep}{ROOT / '.venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}",
               PULUMI_HOME=str(home), PULUMI_SKIP_UPDATE_CHECK="true", PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION="true",
               PULUMI_IGNORE_AMBIENT_PLUGINS="true", PULUMI_BACKEND_URL=backend, PULUMI_CONFIG_PASSPHRASE="bench")
    return env


def server_cpu() -> float | None:
    """CPU seconds of the state database's postmaster and its ended backends (None when it is not running)."""
    try:
        pid = PIDFILE.read_text().split()[0]
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return sum(int(f) for f in fields[11:15]) / TICK  # utime, stime, cutime, cstime


def pg_counters() -> tuple[int, int]:
    """Rows written to the platform's state table so far, and the server's WAL position (bytes)."""
    sql = ("SELECT n_tup_ins + n_tup_upd, pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint "
           "FROM pg_stat_user_tables WHERE relid = 'platform.pulumi_state'::regclass")
    proc = subprocess.run([str(ROOT / "scripts" / "state-db"), "psql", "-At", "-F", " ", "-c", sql],
                          capture_output=True, text=True, check=True)
    rows, wal = proc.stdout.split()
    return int(rows), int(wal)


def timed(cmd: list[str], env: dict[str, str], cwd: Path) -> dict[str, float]:
    pg = env["PULUMI_BACKEND_URL"].startswith("postgres://")
    counters0 = pg_counters() if pg else (0, 0)
    before, srv0, t0 = resource.getrusage(resource.RUSAGE_CHILDREN), server_cpu(), time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    time.sleep(0.5)  # let the server's backends exit, so their time is counted in the postmaster's children
    srv1 = server_cpu()
    out = {"wall": wall, "cpu": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)}
    if srv0 is not None and srv1 is not None and pg:
        out["server"] = srv1 - srv0
    if pg:
        time.sleep(1)  # table statistics reach the shared counters within a second of the transaction's end
        counters1 = pg_counters()
        out["rows"], out["wal_mb"] = counters1[0] - counters0[0], (counters1[1] - counters0[1]) / 2**20
    return out


def one_run(backend: str, variant: str, boxes: int, work: Path) -> dict[str, dict[str, float]]:
    name = f"bench-state-{secrets.token_hex(3)}"
    proj = work / name
    proj.mkdir()
    (proj / "Pulumi.yaml").write_text(textwrap.dedent(f"""\
        name: {name}
        runtime:
          name: python
          options:
            toolchain: pip
            virtualenv: {ROOT / '.venv'}
        """))
    (proj / "__main__.py").write_text(textwrap.dedent(PROGRAM))
    (proj / "Pulumi.bench.yaml").write_text(f"config:\n  {name}:boxes: \"{boxes}\"\n")
    home = work / f"{name}-home"
    home.mkdir()
    env = dict(engine_env(backend, home), **VARIANTS[variant])
    p = ["pulumi", "--non-interactive"]
    subprocess.run([*p, "stack", "init", "bench"], env=env, cwd=proj, check=True, capture_output=True)
    try:
        first = timed([*p, "up", "--yes", "--skip-preview", "--stack", "bench"], env, proj)
        noop = timed([*p, "up", "--yes", "--skip-preview", "--expect-no-changes", "--stack", "bench"], env, proj)
    finally:
        subprocess.run([*p, "destroy", "--yes", "--skip-preview", "--stack", "bench"], env=env, cwd=proj,
                       capture_output=True)
        subprocess.run([*p, "stack", "rm", "bench", "--yes", "--force", "--remove-backups"], env=env, cwd=proj,
                       capture_output=True)
    return {"up": first, "noop": noop}


def postgres_url() -> str:
    proc = subprocess.run([str(ROOT / "scripts" / "state-db"), "env"], capture_output=True, text=True, check=False)
    match = re.search(r"^export PULUMI_BACKEND_URL='([^']+)'$", proc.stdout, re.MULTILINE)
    if proc.returncode != 0 or not match:
        sys.exit("the state database is not ready: run scripts/state-db up first\n" + proc.stderr)
    return match.group(1)


def summary(runs: list[dict[str, dict[str, float]]], phase: str, key: str) -> str:
    values = [r[phase][key] for r in runs if key in r[phase]]
    if not values:
        return "–"
    return f"{statistics.median(values):.1f} s ({min(values):.1f}–{max(values):.1f})"


def table(results: dict[str, list[dict[str, dict[str, float]]]], boxes: int) -> str:
    lines = [f"| backend | first `up` ({boxes + 1} created): wall | engine CPU | server CPU "
             "| no-op `up`: wall | engine CPU | server CPU |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for kind, runs in results.items():
        cells = [summary(runs, ph, k) for ph in ("up", "noop") for k in ("wall", "cpu", "server")]
        lines.append(f"| {kind} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--boxes", type=int, default=500)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--variants", default="plain", help=f"comma-separated, of {', '.join(VARIANTS)}")
    args = ap.parse_args()
    if not (BIN / "pulumi").exists():
        sys.exit(f"{BIN / 'pulumi'} is missing: run scripts/build-engine first")
    variants = args.variants.split(",")
    if not set(variants) <= set(VARIANTS):
        sys.exit(f"--variants: choose from {', '.join(VARIANTS)}")
    pg = postgres_url()
    load0 = os.getloadavg()
    results: dict[str, list[dict[str, dict[str, float]]]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-state-") as tmp:
        work = Path(tmp)
        for i in range(args.repeats):  # interleaved, so that a burst of other work hits every row alike
            for variant in variants:
                for backend in ("file", "PostgreSQL (state-db, TLS)"):
                    kind = backend if variant == "plain" else f"{backend}, {variant}"
                    state = work / f"file-state-{i}"
                    state.mkdir(exist_ok=True)
                    run = one_run(pg if backend != "file" else f"file://{state}", variant, args.boxes, work)
                    results.setdefault(kind, []).append(run)
                    print(f"{kind} run {i + 1}: up {run['up']['wall']:.1f} s, no-op up {run['noop']['wall']:.1f} s,"
                          f" load {os.getloadavg()[0]:.1f}", flush=True)
    load1 = os.getloadavg()
    out = table(results, args.boxes)
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(out)
    for kind, runs in results.items():
        if "rows" in runs[0]["up"]:
            for phase in ("up", "noop"):
                rows = statistics.median(r[phase]["rows"] for r in runs)
                wal = statistics.median(r[phase]["wal_mb"] for r in runs)
                print(f"{kind}, {phase}: {rows:.0f} rows written to the state table, {wal:.0f} MiB of WAL (median)")
    print(f"load average before {load0[0]:.1f}/{load0[1]:.1f}, after {load1[0]:.1f}/{load1[1]:.1f}; {when}")


if __name__ == "__main__":
    main()
