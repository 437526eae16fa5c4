"""A throw-away Pulumi project run by the real engine, and both policy modes over one of its previews.

The engine is the one scripts/build-engine built. Nothing is created: a preview of new resources never calls
OpenStack (the provider authenticates lazily), so the OS_* settings name a closed port on 127.0.0.1 and
the dev cloud need not run. State and secrets live in the project's own directory.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENGINE = Path(os.environ.get("SHUYAKU_CACHE", "/var/cache/shuyaku")) / "engine/bin/pulumi"
PACK_CONFIG = ROOT / "policies/config.local.json"
# Port 9 (discard) on loopback: nothing listens, so any attempt to reach the cloud fails at once.
OFFLINE_CLOUD = {"OS_AUTH_URL": "http://127.0.0.1:9/v3", "OS_USERNAME": "preview", "OS_PASSWORD": "unused",
                 "OS_PROJECT_NAME": "preview", "OS_USER_DOMAIN_NAME": "Default",
                 "OS_PROJECT_DOMAIN_NAME": "Default", "OS_REGION_NAME": "RegionOne"}


@dataclass(frozen=True)
class Reported:
    rule: str
    urn: str
    message: str  # the violation's own sentence (no title, no fix)
    level: str  # mandatory | advisory


class Project:
    def __init__(self, where: Path, name: str, stack: str, program: str):
        if not ENGINE.exists():
            pytest.fail("engine not built: run scripts/build-engine", pytrace=False)
        self.dir, self.stack, self.name = where, stack, name
        self.configured: dict[str, tuple[str, bool]] = {}
        (where / "state").mkdir(parents=True, exist_ok=True)
        (where / "Pulumi.yaml").write_text(f"name: {name}\nruntime:\n  name: python\n  options:\n"
                                           f"    virtualenv: {ROOT}/.venv\n")
        (where / "__main__.py").write_text(program)
        # A provider that names `cloud: shuyaku` (as the corpus provider does) reads it from clouds.yaml.
        (where / "clouds.yaml").write_text(json.dumps({"clouds": {"shuyaku": {"auth": {
            "auth_url": OFFLINE_CLOUD["OS_AUTH_URL"], "username": "preview", "password": "unused",
            "project_name": "preview", "user_domain_name": "Default", "project_domain_name": "Default"},
            "region_name": "RegionOne"}}}))
        p = self.sh("pulumi", "stack", "init", stack)
        assert p.returncode == 0, p.stderr

    def sh(self, *argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        # The shell's own OS_* (scripts/test exports the dev cloud's) must not reach the provider: OS_CLOUD wins
        # over the settings here.
        ambient = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
        full = {**ambient, **OFFLINE_CLOUD, **(env or {}),
                "PULUMI_BACKEND_URL": f"file://{self.dir}/state", "PULUMI_CONFIG_PASSPHRASE": "policy-parity",
                "PULUMI_STACK": self.stack, "SHUYAKU_LANG": "ja",
                "OS_CLIENT_CONFIG_FILE": str(self.dir / "clouds.yaml")}
        full.pop("PULUMI_CONFIG_PASSPHRASE_FILE", None)
        cmd = f"source {ROOT}/scripts/engine-env && exec \"$@\""
        return subprocess.run(["bash", "-c", cmd, "sh", *argv], cwd=self.dir, env=full, capture_output=True,
                              text=True, timeout=300)

    def config(self, key: str, value: str, secret: bool = False) -> None:
        p = self.sh("pulumi", "config", "set", "--path", *(["--secret"] if secret else ["--plaintext"]), key, value)
        assert p.returncode == 0, p.stderr
        self.configured[key] = (value, secret)

    def provider_config(self, inputs: dict[str, tuple[str, bool]]) -> None:
        """Make the stack config hold exactly these `openstack:*` keys (key -> (value, secret))."""
        want = dict(inputs)
        gone = [k for k in self.configured if k.startswith("openstack:") and k not in want]
        if gone:
            p = self.sh("pulumi", "config", "rm-all", *gone)
            assert p.returncode == 0, p.stderr
            for k in gone:
                del self.configured[k]
        for k, (value, secret) in want.items():
            if self.configured.get(k) != (value, secret):
                self.config(k, value, secret)

    def import_state(self, export: dict, stack: str, project: str) -> None:
        """Make a stack export (from another stack and project) this stack's state: its resources exist."""
        text = json.dumps(export).replace(f"urn:pulumi:{stack}::{project}::", f"urn:pulumi:{self.stack}::{self.name}::")
        doc = json.loads(text.replace(f'"{project}-{stack}"', f'"{self.name}-{self.stack}"'))
        cur = json.loads(self.sh("pulumi", "stack", "export").stdout)["deployment"]
        doc["deployment"]["manifest"], doc["deployment"]["secrets_providers"] = cur["manifest"], cur["secrets_providers"]
        for r in doc["deployment"]["resources"]:
            if r["type"] == "pulumi:providers:openstack":  # as the engine records a default provider
                r["inputs"]["version"] = r["outputs"]["version"] = "5.5.3"
        (self.dir / "import.json").write_text(json.dumps(doc))
        p = self.sh("pulumi", "stack", "import", "--file", str(self.dir / "import.json"))
        assert p.returncode == 0, p.stderr

    def pack(self, pack_config: Path = PACK_CONFIG) -> tuple[int, set[Reported]]:
        """`pulumi preview --policy-pack policies`: exit status and what the engine reported, from its own
        machine-readable events (PULUMI_ENABLE_STREAMING_JSON_PREVIEW: one engine event per line)."""
        p = self.sh("pulumi", "preview", "--json", "--policy-pack", str(ROOT / "policies"),
                    "--policy-pack-config", str(pack_config), env={"PULUMI_ENABLE_STREAMING_JSON_PREVIEW": "true"})
        out: set[Reported] = set()
        for line in p.stdout.splitlines():
            ev = json.loads(line).get("policyEvent") if line.startswith("{") else None
            if ev:
                # title, the violation, "対処: fix" (crossguard.text): keep the violation's own sentence.
                message = ev["message"].strip().split("\n")[1]
                out.add(Reported(ev["policyName"], ev["resourceUrn"], message, ev["enforcementLevel"]))
        assert out or p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
        return p.returncode, out

    def audit(self, pack_config: Path = PACK_CONFIG) -> tuple[int, set[Reported]]:
        """`pulumi preview --json --show-sames > preview.json`, then `shuyaku policy audit preview.json`."""
        p = self.sh("pulumi", "preview", "--json", "--show-sames")
        assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
        (self.dir / "preview.json").write_text(p.stdout)
        a = subprocess.run([sys.executable, "-m", "shuyaku.cli", "policy", "audit", str(self.dir / "preview.json"),
                            "--config", str(pack_config), "--format", "json"],
                           capture_output=True, text=True, cwd=ROOT, timeout=120, env={**os.environ,
                                                                                        "SHUYAKU_LANG": "ja"})
        assert a.returncode in (0, 1), a.stderr
        assert "--show-sames" not in a.stderr, a.stderr
        return a.returncode, {Reported(v["rule"], v["urn"], v["message"], v["level"])
                              for v in json.loads(a.stdout)["violations"]}
