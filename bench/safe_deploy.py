"""Safe deploys: `shuyaku preview` / `shuyaku deploy` on the sample city's `local` stack, policy pack on and off.

Usage (one step per call, each under the dev cloud's lock, so the lock is held only while a step runs):

    flock /tmp/shuyaku-devcloud.lock .venv/bin/python bench/safe_deploy.py STEP [--state DIR] [--backend postgres]

STEP: preview | preview-no-policy | deploy | deploy-again | deploy-again-no-policy | destroy.
Prints the step's wall time and the command's last lines; it passes or fails nothing. The state is a fresh
folder of its own (default /tmp/shuyaku-bench-safe-deploy), never the main job's. `--backend postgres` keeps the
state in the team database instead (`scripts/state-db env`, the operator's role), as stack `benchsafe` with the
same config (stacks/Pulumi.local.yaml), so no stack of the team's is touched; the folder then holds only the
engine's copy of the config.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = Path(os.environ.get("SHUYAKU_CACHE", "/var/cache/shuyaku"))
CLOUD_ENV = {"OS_CLIENT_CONFIG_FILE": str(CACHE / "dev-cloud" / "clouds.yaml"), "OS_CLOUD": "dev-admin"}
STEPS = {
    "preview": ["preview"],
    "preview-no-policy": ["preview", "--no-policy"],
    "deploy": ["deploy", "--yes"],
    "deploy-again": ["deploy"],  # nothing to change: no question, so no --yes needed
    "deploy-again-no-policy": ["deploy", "--no-policy"],
    "destroy": ["deploy", "--destroy", "--yes"],
}


def state_db_env() -> dict[str, str]:
    """The operator's backend settings as `scripts/state-db env` prints them (export NAME='value' lines)."""
    proc = subprocess.run([str(ROOT / "scripts" / "state-db"), "env"], capture_output=True, text=True, check=True)
    found = re.findall(r"^export (\w+)='?([^'\n]*)'?$", proc.stdout, re.MULTILINE)
    return dict(found)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("step", choices=sorted(STEPS))
    parser.add_argument("--state", type=Path, default=Path("/tmp/shuyaku-bench-safe-deploy"))
    parser.add_argument("--backend", choices=("file", "postgres"), default="file")
    args = parser.parse_args()
    env = {**os.environ, **CLOUD_ENV}
    env.pop("PULUMI_BACKEND_URL", None)
    stack = ["--stack", "local"]
    if args.backend == "postgres":
        env.update(state_db_env())
        stack = ["--stack", "benchsafe", "--stack-config", str(ROOT / "stacks" / "Pulumi.local.yaml")]
    cmd = [sys.executable, "-m", "shuyaku.cli", *STEPS[args.step], *stack, "--state", str(args.state), "--lang", "en"]
    t0 = time.monotonic()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    took = time.monotonic() - t0
    tail = (proc.stdout + proc.stderr).strip().splitlines()[-4:]
    print(f"{args.step} ({args.backend}): {took:.1f} s (exit {proc.returncode}); load {os.getloadavg()[0]:.1f}")
    print("\n".join(tail))
    return 0


if __name__ == "__main__":
    sys.exit(main())
