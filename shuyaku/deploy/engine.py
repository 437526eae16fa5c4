"""Running the Pulumi engine built by scripts/build-engine: environment, state backend, stacks.

State lives in a local file backend and secrets are encrypted with a passphrase generated on this machine
(never in the repo). The committed stack config is copied into the state directory and used through
`--config-file`, so the engine's own additions (the passphrase salt) never dirty the checkout and a fresh
clone with fresh state always starts consistent.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from shuyaku.contracts import source as yaml_source

ROOT = Path(__file__).resolve().parents[2]


QUOTA_TYPES = {
    "openstack:compute/quotaSetV2:QuotaSetV2",
    "openstack:networking/quotaV2:QuotaV2",
    "openstack:blockstorage/quoteSetV3:QuoteSetV3",
}


class EngineError(RuntimeError):
    """The engine is missing or a command failed; the message says what to run."""


def cache_dir() -> Path:
    return Path(os.environ.get("SHUYAKU_CACHE", "/var/cache/shuyaku"))


def engine_bin() -> Path:
    return cache_dir() / "engine" / "bin"


def passphrase_file() -> Path:
    path = cache_dir() / "secrets" / "pulumi-passphrase"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(32))
    return path


def engine_env(state_dir: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(engine_bin()), str(ROOT / ".venv" / "bin"), env.get("PATH", "")])
    env.setdefault("PULUMI_HOME", str(cache_dir() / "engine" / "pulumi-home"))
    env["PULUMI_SKIP_UPDATE_CHECK"] = "true"
    env["PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION"] = "true"
    env["PULUMI_BACKEND_URL"] = f"file://{state_dir}"
    env["PULUMI_FALLBACK_TO_STATE_SECRETS_MANAGER"] = "true"
    if "PULUMI_CONFIG_PASSPHRASE" not in env:
        env["PULUMI_CONFIG_PASSPHRASE_FILE"] = str(passphrase_file())
    env.update(extra or {})
    return env


@dataclass
class Stack:
    """One stack of a Pulumi project, driven through the CLI."""

    name: str
    state_dir: Path
    project_dir: Path = ROOT
    config_source: Path | None = None
    env_extra: dict[str, str] = field(default_factory=dict)

    @property
    def shadow_dir(self) -> Path:
        """A copy of Pulumi.yaml without stackConfigDir, so `stack init` writes its salt beside it."""
        return self.state_dir / "projects" / self.project_dir.resolve().name

    @property
    def config_file(self) -> Path:
        return self.shadow_dir / f"Pulumi.{self.name}.yaml"

    def env(self) -> dict[str, str]:
        return engine_env(self.state_dir, self.env_extra)

    def pulumi(self, *args: str, capture: bool = False, check: bool = True, timeout: float | None = None,
               cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        exe = shutil.which("pulumi", path=self.env()["PATH"])
        if exe is None:
            raise EngineError("pulumi が見つかりません。scripts/build-engine を実行してください / "
                              "pulumi not found: run scripts/build-engine")
        cmd = [exe, *args, "--non-interactive"]
        proc = subprocess.run(cmd, cwd=cwd or self.project_dir, env=self.env(), text=True, timeout=timeout,
                              capture_output=capture)
        if check and proc.returncode != 0:
            tail = (proc.stderr or proc.stdout or "")[-4000:] if capture else ""
            raise EngineError(f"pulumi {' '.join(args)} failed (exit {proc.returncode})\n{tail}")
        return proc

    def ensure(self) -> None:
        """Create the state backend, the stack and its private config copy if they do not exist yet."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.shadow_dir.mkdir(parents=True, exist_ok=True)
        project = yaml_source.load(self.project_dir / "Pulumi.yaml").data
        config_dir = project.pop("stackConfigDir", ".")
        (self.shadow_dir / "Pulumi.yaml").write_text(yaml.safe_dump(project, sort_keys=False), encoding="utf-8")
        source = self.config_source or self.project_dir / config_dir / f"Pulumi.{self.name}.yaml"
        if not self.config_file.exists() and source.exists():
            shutil.copyfile(source, self.config_file)
        listed = self.pulumi("stack", "ls", "--json", capture=True, cwd=self.shadow_dir)
        names = {s["name"].split("/")[-1] for s in json.loads(listed.stdout or "[]")}
        if self.name not in names:
            self.pulumi("stack", "init", self.name, "--secrets-provider", "passphrase", capture=True,
                        cwd=self.shadow_dir)

    def _stack_args(self) -> list[str]:
        return ["--stack", self.name, "--config-file", str(self.config_file)]

    def set_config(self, key: str, value: str, *, secret: bool = False, path: bool = False) -> None:
        args = ["config", "set", key, value, *self._stack_args()]
        if secret:
            args.append("--secret")
        if path:
            args.append("--path")
        self.pulumi(*args, capture=True)

    def up(self, *extra: str, capture: bool = False, check: bool = True,
           timeout: float | None = None) -> subprocess.CompletedProcess[str]:
        return self.pulumi("up", "--yes", "--skip-preview", *self._stack_args(), *extra,
                           capture=capture, check=check, timeout=timeout)

    def preview(self, *extra: str, capture: bool = True, check: bool = False) -> subprocess.CompletedProcess[str]:
        return self.pulumi("preview", *self._stack_args(), *extra, capture=capture, check=check)

    def destroy(self, *extra: str, capture: bool = False) -> subprocess.CompletedProcess[str]:
        return self.pulumi("destroy", "--yes", "--skip-preview", *self._stack_args(), *extra, capture=capture)

    def outputs(self) -> dict[str, Any]:
        proc = self.pulumi("stack", "output", "--json", "--show-secrets", "--stack", self.name, capture=True,
                            cwd=self.shadow_dir)
        return json.loads(proc.stdout or "{}")

    def export(self) -> dict[str, Any]:
        proc = self.pulumi("stack", "export", "--stack", self.name, capture=True, cwd=self.shadow_dir)
        return json.loads(proc.stdout)

    def resources(self) -> list[dict[str, Any]]:
        return [r for r in self.export().get("deployment", {}).get("resources", []) or []
                if not r["type"].startswith("pulumi:")]

    def describes_a_rebuilt_cloud(self) -> bool:
        """True when the projects this stack made (and the quotas it set on them) are all unknown to the cloud
        (OS_CLOUD): the cloud was rebuilt (e.g. `scripts/dev-cloud up --reset`) and the state describes resources
        that are gone. `pulumi refresh` cannot repair that: Nova answers 400, not 404, for a quota of an unknown
        project, and a refresh that stops part way leaves quotas pointing at projects it has already dropped."""
        made: set[str] = set()
        for r in self.resources():
            if r["type"] == "openstack:identity/project:Project" and r.get("id"):
                made.add(r["id"])
            elif r["type"] in QUOTA_TYPES and (r.get("inputs") or {}).get("projectId"):
                made.add(r["inputs"]["projectId"])
        import openstack.config
        import openstack.connection

        env = self.env()  # the stack's own cloud settings, which may differ from this process's environment
        files = [env["OS_CLIENT_CONFIG_FILE"]] if env.get("OS_CLIENT_CONFIG_FILE") else None
        region = openstack.config.OpenStackConfig(config_files=files).get_one(env.get("OS_CLOUD"))
        conn = openstack.connection.Connection(config=region)
        made.discard(conn.current_project_id)  # the operator's own project: the stack sizes it, never makes it
        if not made:
            return False
        known = {p.id for p in conn.identity.projects()}  # type: ignore[union-attr]  # Keystone v3 only here
        return not made & known

    def set_aside(self) -> Path:
        """Move the whole state directory out of the way (kept for the record) and start an empty one."""
        stamp = time.strftime("%Y%m%d-%H%M%S")
        aside = self.state_dir.with_name(f"{self.state_dir.name}.stale-{stamp}")
        self.state_dir.rename(aside)
        self.ensure()
        return aside
