"""`shuyaku status` time on the sample city (bench/RESULTS.md, "Status"). Prints figures; passes or fails nothing.

Three phases, each one command so the shared dev cloud's lock is held only while it runs:

    flock /tmp/shuyaku-devcloud.lock bash -c 'source scripts/engine-env; eval "$(scripts/dev-cloud env)";
        .venv/bin/python bench/bench_status.py up'        # plan the sample city, `pulumi up` it as stack benchstatus
    ... bench/bench_status.py status [--runs 3] [-- extra status options]   # each run one process, timed
    ... bench/bench_status.py down                        # destroy it

The stack is the sample city from stacks/Pulumi.local.yaml (no service VMs, nothing migrated), its state in
$SHUYAKU_CACHE/bench-status/state (the file backend), its history beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from shuyaku.deploy.engine import Stack, cache_dir  # noqa: E402

WORK = cache_dir() / "bench-status"
NAME = "benchstatus"
CLOUD = {"OS_CLOUD": os.environ.get("OS_CLOUD", "dev-admin")}


def stack() -> Stack:
    return Stack(NAME, WORK / "state", config_source=ROOT / "stacks" / "Pulumi.local.yaml",
                 env_extra={k: v for k, v in os.environ.items() if k == "OS_CLIENT_CONFIG_FILE"} | CLOUD)


def up() -> None:
    plan = WORK / "plan"
    inventory = ROOT / "examples" / "sample-city" / "inventory.yaml"
    subprocess.run([sys.executable, "-m", "shuyaku.cli", "plan", str(inventory), "--out", str(plan)], check=True,
                   cwd=ROOT, capture_output=True)
    st = stack()
    st.ensure()
    st.set_config("shuyaku:siteData", str(plan / "site-onprem.json"))
    st.set_config("shuyaku:inventory", str(ROOT / "examples" / "sample-city" / "inventory.yaml"))
    t0 = time.monotonic()
    st.up(capture=True)
    print(f"pulumi up (sample city): {time.monotonic() - t0:.1f} s, {len(st.resources())} resources")


def status(runs: int, extra: list[str]) -> None:
    st = stack()
    env = {**os.environ, **CLOUD}
    env.pop("PULUMI_BACKEND_URL", None)
    for i in range(runs):
        t0 = time.monotonic()
        proc = subprocess.run([sys.executable, "-m", "shuyaku.cli", "status", "--stack", NAME, "--stack-config",
                               str(st.config_file), "--cloud", CLOUD["OS_CLOUD"], "--state", str(st.state_dir),
                               "--history", str(WORK / "history.sqlite"), "--no-record", "--format", "json",
                               "--lang", "en", *extra], capture_output=True, text=True, cwd=ROOT, env=env, timeout=1800)
        took = time.monotonic() - t0
        if proc.returncode not in (0, 1):
            print(f"run {i + 1}: exit {proc.returncode} after {took:.1f} s\n{proc.stderr[-2000:]}")
            continue
        doc = json.loads(proc.stdout)
        drift = "; ".join(f"{d['stack']} {d['seconds']:.1f} s ({d['resources']} resources, {len(d['changed'])} changed)"
                          if d["checked"] else f"{d['stack']} not checked ({d['why']})" for d in doc["drift"])
        print(f"run {i + 1}: whole command {took:.1f} s, measured {doc['seconds']:.1f} s, exit {proc.returncode}, "
              f"findings {len(doc['rules'])}, drift: {drift or '-'}, ratio {doc['cost']['ratio_pct']} %")


def down() -> None:
    t0 = time.monotonic()
    stack().destroy(capture=True)
    print(f"pulumi destroy (sample city): {time.monotonic() - t0:.1f} s")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("phase", choices=["up", "status", "down"])
    ap.add_argument("--runs", type=int, default=3)
    a, extra = ap.parse_known_args()  # the rest (after --) goes to status as it is
    {"up": up, "down": down}.get(a.phase, lambda: status(a.runs, [x for x in extra if x != "--"]))()
