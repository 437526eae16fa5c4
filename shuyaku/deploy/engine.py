"""Running the Pulumi engine built by scripts/build-engine: environment, state backend, stacks.

State lives in a local file backend by default; a team's backend (the PostgreSQL state database of
scripts/state-db) is taken from `PULUMI_BACKEND_URL` or the `backend` a caller passes (see backend.py, which also
keeps the URL's password out of every message). Secrets are encrypted with a passphrase: PULUMI_CONFIG_PASSPHRASE
or PULUMI_CONFIG_PASSPHRASE_FILE when set (a team's shared one, CI's from its secret store), otherwise one
generated on this machine (never in the repo).

`stacks/Pulumi.<stack>.yaml` is the one source of a stack's config. The engine gets a copy in the state directory
through `--config-file`, so its own addition (the passphrase salt) never dirties the checkout; the copy is written
again from the source before every command, so an edit takes effect at the next command. Values a caller sets for
one run (`set_config`, e.g. `shuyaku deploy --site-data`) are laid over the source in that copy, for that `Stack`
object only.

Preview, update and destroy go through Pulumi's Automation API (`auto.py`); the other commands are plain CLI
calls (see `pulumi`), where the Automation API offers nothing more or cannot do what is needed.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from shuyaku.contracts import source as yaml_source
from shuyaku.contracts.problems import Text, tx
from shuyaku.deploy import backend as backends
from shuyaku.deploy import stream

if TYPE_CHECKING:  # the Automation API loads grpc and the engine's protocol: only commands that run it pay
    from shuyaku.deploy import auto

ROOT = Path(__file__).resolve().parents[2]


# What the engine itself adds to a stack config file (the passphrase's salt, another provider's key).
ENGINE_KEYS = ("encryptionsalt", "secretsprovider", "encryptedkey")

QUOTA_TYPES = {
    "openstack:compute/quotaSetV2:QuotaSetV2",
    "openstack:networking/quotaV2:QuotaV2",
    "openstack:blockstorage/quoteSetV3:QuoteSetV3",
}


class EngineError(RuntimeError):
    """The engine is missing or a command failed; the message says what to run."""


class StackLocked(EngineError):
    """Another update of the stack holds its lock; this command stopped before changing anything."""

    def __init__(self, text: Text) -> None:
        super().__init__(text.en)
        self.text = text

    def __str__(self) -> str:
        return str(self.text)


LOCKED = "the stack is currently locked"
_HOLDER = re.compile(r"created by (\S+) \(pid (\d+)\) at (\S+)")


def locked_text(stack: str, output: str) -> Text:
    """What to tell the user whose command found the stack locked, naming who holds the lock."""
    holders = ", ".join(f"{who} (pid {pid}, {at})" for who, pid, at in _HOLDER.findall(output)) or "?"
    return tx(f"スタック {stack} は別の操作が実行中のためロックされています（{holders}）。何も変更していません。"
              f"その操作の終了を待ってから再実行してください。実行中の操作がないこと（中断された操作）を保有者に確認した"
              f"場合に限り、`pulumi cancel --stack {stack}` でロックを外せます。",
              f"Stack {stack} is locked by another operation in progress ({holders}). Nothing was changed. "
              f"Wait for it to finish, then run again. Only if its holder confirms that nothing is running (an "
              f"interrupted operation), clear the lock with `pulumi cancel --stack {stack}`.")


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


def engine_env(state_dir: Path, extra: dict[str, str] | None = None,
               backend: backends.Backend | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(engine_bin()), str(ROOT / ".venv" / "bin"), env.get("PATH", "")])
    env.setdefault("PULUMI_HOME", str(cache_dir() / "engine" / "pulumi-home"))
    env["PULUMI_SKIP_UPDATE_CHECK"] = "true"
    env["PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION"] = "true"
    resolved = backend or backends.resolve(None, state_dir)
    env.update(resolved.env())
    if not resolved.is_file:
        # Each checkpoint the engine saves is a whole-state row; compressed, a 500-resource `up` wrote 26 MiB of
        # WAL instead of 316 and took a quarter of the time (bench/RESULTS.md, "Team state"). Readers of either
        # form need no setting. A user's own choice stands.
        env.setdefault("PULUMI_DIY_BACKEND_ZSTD", "true")
    env["PULUMI_FALLBACK_TO_STATE_SECRETS_MANAGER"] = "true"
    given = {**env, **(extra or {})}
    if "PULUMI_CONFIG_PASSPHRASE" not in given and "PULUMI_CONFIG_PASSPHRASE_FILE" not in given:
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
    backend_url: str | None = field(default=None, repr=False)  # else PULUMI_BACKEND_URL, else file://state_dir
    # Values set through `set_config`, as the engine wrote them (a secret stays encrypted), laid over the source.
    overrides: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def backend(self) -> backends.Backend:
        return backends.resolve(self.backend_url, self.state_dir, {**os.environ, **self.env_extra})

    @property
    def shadow_dir(self) -> Path:
        """A copy of Pulumi.yaml without stackConfigDir, so `stack init` writes its salt beside it."""
        return self.state_dir / "projects" / self.project_dir.resolve().name

    @property
    def config_file(self) -> Path:
        """The engine's copy of the stack config (written from `config_path` before every command)."""
        return self.shadow_dir / f"Pulumi.{self.name}.yaml"

    @property
    def config_path(self) -> Path:
        """The stack config the user edits: `config_source`, else Pulumi.<stack>.yaml in the stackConfigDir."""
        if self.config_source is not None:
            return self.config_source
        project_file = self.project_dir / "Pulumi.yaml"
        project = yaml_source.load(project_file).data if project_file.is_file() else {}
        config_dir = project.get("stackConfigDir", ".") if isinstance(project, dict) else "."
        return self.project_dir / config_dir / f"Pulumi.{self.name}.yaml"

    def sync_config(self) -> None:
        """Write the engine's copy from the source as it is now, this object's overrides on top; only the
        engine's own secrets-provider keys (the salt) are kept from the previous copy."""
        source, copy = self.config_path, self.config_file
        if not self.shadow_dir.is_dir() or not source.is_file():
            return  # before `ensure`, or a project with no config file: the copy (if any) is all there is
        if copy.exists() and source.resolve() == copy.resolve():
            return  # a caller handed the copy itself as the source (e.g. `status --stack-config`)
        loaded = yaml_source.load(source).data
        doc = dict(loaded) if isinstance(loaded, dict) else {}
        previous = yaml.safe_load(copy.read_text(encoding="utf-8")) if copy.exists() else None
        for key in ENGINE_KEYS:
            if isinstance(previous, dict) and key in previous and key not in doc:
                doc[key] = previous[key]
        doc["config"] = {**(doc.get("config") or {}), **self.overrides}
        text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
        if not copy.exists() or copy.read_text(encoding="utf-8") != text:
            copy.write_text(text, encoding="utf-8")

    def env(self) -> dict[str, str]:
        backend = self.backend
        env = engine_env(self.state_dir, self.env_extra, backend)
        env.update(backend.env())  # env_extra's PULUMI_BACKEND_URL is resolved (its password moved) too
        return env

    def pulumi(self, *args: str, capture: bool = False, check: bool = True, timeout: float | None = None,
               cwd: Path | None = None, hide: tuple[str, ...] = (),
               stdin: Path | None = None) -> subprocess.CompletedProcess[str]:
        """Run the engine as a CLI command; its output and any error message are masked (the backend's password,
        `hide`). Used for what the Automation API does not cover here: feeding standard input
        (change-secrets-provider), a timeout, `--config-file` for `config set`, and flags it has no parameter for."""
        self._prepare()
        env = self.env()
        exe = self._exe(env)
        hidden = (*self.backend.hidden(), *hide)
        proc = stream.run([exe, *args, "--non-interactive"], cwd=cwd or self.project_dir, env=env,
                          timeout=timeout, capture=capture, hidden=hidden, stdin=stdin)
        if check:
            self._raise_for(proc, args, hidden, capture)
        return proc

    def _prepare(self) -> None:
        self.sync_config()
        self._forget_local_salt()

    @staticmethod
    def _exe(env: dict[str, str]) -> str:
        exe = shutil.which("pulumi", path=env["PATH"])
        if exe is None:
            raise EngineError("pulumi が見つかりません。scripts/build-engine を実行してください / "
                              "pulumi not found: run scripts/build-engine")
        return exe

    def _raise_for(self, proc: subprocess.CompletedProcess[str], args: tuple[str, ...] | list[str],
                   hidden: tuple[str, ...] | list[str], capture: bool) -> None:
        if proc.returncode == 0:
            return
        output = (proc.stderr or "") + (proc.stdout or "")
        if LOCKED in output:
            raise StackLocked(locked_text(self.name, output))
        tail = (proc.stderr or proc.stdout or "")[-4000:] if capture else ""
        shown = backends.mask(" ".join(args), list(hidden))
        raise EngineError(f"pulumi {shown} failed (exit {proc.returncode})\n{tail}")

    def operate(self, op: str, flags: auto.Flags | None = None, *, show: bool = True,
                check: bool = False) -> auto.Outcome:
        """Preview, up or destroy through the Automation API, with the changes read from the engine's events."""
        from shuyaku.deploy import auto

        self._write_shadow_project()  # the API runs every command there; a state made before may hold an old one
        self._prepare()
        env = self.env()
        engine_root = Path(self._exe(env)).resolve().parent.parent  # PulumiCommand wants <root>/bin/pulumi
        hidden = self.backend.hidden()
        outcome = auto.run(self.name, op, flags or auto.Flags(), engine_root=engine_root, work_dir=self.shadow_dir,
                           env=env, config_file=self.config_file, hidden=hidden, show=show)
        if check:
            self._raise_for(outcome.proc, [op, "--stack", self.name], hidden, capture=not show)
        return outcome

    def _op(self, op: str, extra: tuple[str, ...], *, capture: bool, check: bool,
            timeout: float | None) -> subprocess.CompletedProcess[str]:
        from shuyaku.deploy import auto

        flags = auto.parse_flags(extra)
        if flags is None or timeout is not None:  # the Automation API has no parameter for these
            cli = {"up": ("up", "--yes", "--skip-preview"), "destroy": ("destroy", "--yes", "--skip-preview"),
                   "preview": ("preview",)}[op]
            return self.pulumi(*cli, *self._stack_args(), *extra, capture=capture, check=check, timeout=timeout)
        return self.operate(op, flags, show=not capture, check=check).proc

    def ensure(self) -> None:
        """Create the state backend, the stack and its private config copy if they do not exist yet."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self._write_shadow_project()
        listed = self.pulumi("stack", "ls", "--json", capture=True, cwd=self.shadow_dir)
        names = {s["name"].split("/")[-1] for s in json.loads(listed.stdout or "[]")}
        if self.name not in names:
            self.pulumi("stack", "init", self.name, "--secrets-provider", "passphrase", capture=True,
                        cwd=self.shadow_dir)

    def _write_shadow_project(self) -> None:
        self.shadow_dir.mkdir(parents=True, exist_ok=True)
        if (self.project_dir / "Pulumi.yaml").is_file():
            text = yaml.safe_dump(self._shadow_project(), sort_keys=False, allow_unicode=True)
            (self.shadow_dir / "Pulumi.yaml").write_text(text, encoding="utf-8")

    def _shadow_project(self) -> dict[str, Any]:
        """The project file as run from the shadow folder: no stackConfigDir (the stack's config file there is the
        copy), the program and its virtualenv by absolute path. Every engine command that reads a stack's config
        runs there: the Automation API follows `up` with `stack output --show-secrets` and `stack history`, which
        take no `--config-file` and would write the passphrase salt into stacks/Pulumi.<stack>.yaml otherwise."""
        project = dict(yaml_source.load(self.project_dir / "Pulumi.yaml").data)
        project.pop("stackConfigDir", None)
        project["main"] = str((self.project_dir / str(project.get("main") or ".")).resolve())
        runtime = project.get("runtime")
        options = runtime.get("options") if isinstance(runtime, dict) else None
        if isinstance(options, dict) and isinstance(options.get("virtualenv"), str):
            options["virtualenv"] = str((self.project_dir / options["virtualenv"]).resolve())
        return project

    def _forget_local_salt(self) -> None:
        """With a shared backend the passphrase's salt lives in the stack's state (the engine falls back to it and
        copies it here). A copy goes stale when someone rotates the passphrase (`rotate_passphrase`) and then fails
        every update with "incorrect passphrase", so the local copy is dropped before each command."""
        if self.backend.is_file or not self.config_file.exists():
            return
        text = self.config_file.read_text(encoding="utf-8")
        kept = re.sub(r"(?m)^encryptionsalt:.*(?:\n|$)", "", text)
        if kept != text:
            self.config_file.write_text(kept, encoding="utf-8")

    def rotate_passphrase(self, new_passphrase_file: Path) -> None:
        """Re-encrypt the stack's config and state under the passphrase in `new_passphrase_file` (0600); the
        current one comes from the environment as for any command."""
        self.pulumi("stack", "change-secrets-provider", "passphrase", "--stack", self.name, capture=True,
                    cwd=self.shadow_dir, stdin=new_passphrase_file)

    def _stack_args(self) -> list[str]:
        return ["--stack", self.name, "--config-file", str(self.config_file)]

    def set_config(self, key: str, value: str, *, secret: bool = False, path: bool = False) -> None:
        """Set `key` for the commands this object runs, over the stack config file (which stays untouched)."""
        args = ["config", "set", key, value, *self._stack_args()]
        if secret:
            args.append("--secret")
        if path:
            args.append("--path")
        self.pulumi(*args, capture=True, hide=(value,) if secret else ())
        top = re.split(r"[.\[]", key.split(":", 1)[-1], maxsplit=1)[0]
        top_key = f"{key.split(':', 1)[0]}:{top}" if ":" in key else top
        written = yaml.safe_load(self.config_file.read_text(encoding="utf-8")) if self.config_file.exists() else {}
        if isinstance(written, dict) and top_key in (written.get("config") or {}):
            self.overrides[top_key] = written["config"][top_key]

    def up(self, *extra: str, capture: bool = False, check: bool = True,
           timeout: float | None = None) -> subprocess.CompletedProcess[str]:
        return self._op("up", extra, capture=capture, check=check, timeout=timeout)

    def preview(self, *extra: str, capture: bool = True, check: bool = False) -> subprocess.CompletedProcess[str]:
        return self._op("preview", extra, capture=capture, check=check, timeout=None)

    def destroy(self, *extra: str, capture: bool = False) -> subprocess.CompletedProcess[str]:
        return self._op("destroy", extra, capture=capture, check=True, timeout=None)

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
        if not self.backend.is_file:
            raise EngineError(t_both(
                f"共有の状態（{self.backend.display}）は自動では退避しません。`pulumi stack export --stack {self.name}"
                f" --file <退避ファイル>` で保存し、担当者間で合意してから `pulumi stack rm --force` してください。",
                f"Shared state ({self.backend.display}) is not set aside automatically: save it with `pulumi stack "
                f"export --stack {self.name} --file <file>`, agree with the team, then `pulumi stack rm --force`."))
        stamp = time.strftime("%Y%m%d-%H%M%S")
        aside = self.state_dir.with_name(f"{self.state_dir.name}.stale-{stamp}")
        self.state_dir.rename(aside)
        self.ensure()
        return aside


def t_both(ja: str, en: str) -> str:
    """A message in the user's language (the engine's errors are plain strings)."""
    return str(tx(ja, en))
