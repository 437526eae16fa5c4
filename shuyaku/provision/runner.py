"""Run playbooks through ansible-runner with a live view per host and task, and a summary at the end."""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

from shuyaku.contracts.i18n import t
from shuyaku.provision.inventory import ROOT, venv_env
from shuyaku.provision.messages import ARG_SPEC_TASK, Failure, format_failure, is_input_error, result_message

PLAYBOOK_DIR = ROOT / "playbooks"


def strategy_env(strategy: str | None = None) -> dict[str, str]:
    """Ansible's strategy: mitogen's when installed (one Python per host instead of one per task: about a third
    less CPU per converged host, bench/RESULTS.md "Provisioning"), else Ansible's own. SHUYAKU_ANSIBLE_STRATEGY
    (linear, free, mitogen_linear, mitogen_free) overrides."""
    chosen = strategy or os.environ.get("SHUYAKU_ANSIBLE_STRATEGY") or "mitogen_linear"
    if not chosen.startswith("mitogen"):
        return {"ANSIBLE_STRATEGY": chosen}
    try:
        import ansible_mitogen
    except ImportError:
        return {"ANSIBLE_STRATEGY": chosen.removeprefix("mitogen_")}
    plugins = Path(ansible_mitogen.__file__).parent / "plugins" / "strategy"
    # Third-party strategies are flagged deprecated by ansible-core 2.19; the warning says nothing to an operator.
    return {"ANSIBLE_STRATEGY": chosen, "ANSIBLE_STRATEGY_PLUGINS": str(plugins),
            "ANSIBLE_DEPRECATION_WARNINGS": "False"}


def artifacts_root() -> Path:
    return Path(os.environ.get("SHUYAKU_ARTIFACTS", ROOT / "out" / "provision"))


def playbook_path(name: str) -> Path:
    """`site`, `site.yml` or a path."""
    p = Path(name)
    if p.suffix in (".yml", ".yaml") and p.exists():
        return p.resolve()
    candidate = PLAYBOOK_DIR / (name if name.endswith((".yml", ".yaml")) else f"{name}.yml")
    return candidate


@dataclass
class HostState:
    ok: int = 0
    changed: int = 0
    failed: int = 0
    unreachable: int = 0
    skipped: int = 0
    task: str = ""
    last: str = ""


@dataclass
class RunResult:
    playbook: Path
    status: str
    rc: int
    hosts: dict[str, HostState]
    failures: list[Failure]
    artifacts: Path
    batches: list[list[str]]
    duration: float
    stdout_tail: str = ""
    debug_msgs: dict[str, list[Any]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.rc == 0 and self.status == "successful" and not self.failures

    @property
    def changed_total(self) -> int:
        return sum(h.changed for h in self.hosts.values())


class Progress:
    """Collects runner events; renders one row per host with the task it is on."""

    def __init__(self, console: Console, live: bool):
        self.console = console
        self.live = live
        self.hosts: dict[str, HostState] = {}
        self.failures: list[Failure] = []
        self.batches: list[list[str]] = []
        self.debug_msgs: dict[str, list[Any]] = {}
        self.play = ""
        self.task = ""
        self._first_task_uuid: dict[str, str] = {}
        self._lock = threading.Lock()
        self.addresses: dict[str, str] = {}

    def host(self, name: str) -> HostState:
        return self.hosts.setdefault(name, HostState())

    def handle(self, event: dict) -> bool:
        kind = event.get("event", "")
        data = event.get("event_data", {}) or {}
        with self._lock:
            if kind == "playbook_on_play_start":
                self.play = data.get("play", "")
                if not self.live:
                    self.console.print(Text(f"▶ {self.play}", style="bold"))
            elif kind == "playbook_on_task_start":
                self.task = data.get("task", "")
                play_uuid = data.get("play_uuid", "")
                first = self._first_task_uuid.setdefault(play_uuid, data.get("task_uuid", ""))
                if data.get("task_uuid") == first:
                    self.batches.append([])  # a serial play starts each batch with its first task again
            elif kind.startswith("runner_on_") or kind.startswith("runner_item_on_"):
                self._host_event(kind, data)
        return True

    def _host_event(self, kind: str, data: dict) -> None:
        host = data.get("host", "")
        if not host:
            return
        state = self.host(host)
        task = data.get("task", "")
        state.task = task
        res = data.get("res", {}) or {}
        if self.batches and host not in self.batches[-1] and kind in (
                "runner_on_ok", "runner_on_failed", "runner_on_unreachable", "runner_on_skipped"):
            self.batches[-1].append(host)
        if kind.startswith("runner_item_on_") or kind in ("runner_on_start", "runner_retry"):
            return
        if kind == "runner_on_ok":
            state.ok += 1
            if res.get("changed"):
                state.changed += 1
                state.last = "changed"
            else:
                state.last = "ok"
            if data.get("task_action") in ("debug", "ansible.builtin.debug") and "msg" in res:
                self.debug_msgs.setdefault(host, []).append(res["msg"])
        elif kind == "runner_on_skipped":
            state.skipped += 1
            state.last = "skipped"
        elif kind == "runner_on_failed":
            if data.get("ignore_errors"):
                return
            state.failed += 1
            state.last = "failed"
            role = data.get("role", "") or ""
            self.failures.append(Failure(host=host, task=task, msg=result_message(res), role=role,
                                         address=self.addresses.get(host, "")))
        elif kind == "runner_on_unreachable":
            state.unreachable += 1
            state.last = "unreachable"
            self.failures.append(Failure(host=host, task=task, msg=result_message(res), unreachable=True,
                                         address=self.addresses.get(host, "")))
        if not self.live:
            style = {"changed": "yellow", "failed": "red", "unreachable": "red", "ok": "green"}.get(state.last, "")
            self.console.print(Text(f"  {host:<14} {state.last:<11} {task}", style=style), soft_wrap=True)

    def render(self) -> Table:
        table = Table(title=f"{self.play} — {self.task}", expand=False)
        table.add_column(t("ホスト", "host"))
        table.add_column(t("実行中のタスク", "current task"))
        table.add_column("ok", justify="right")
        table.add_column("changed", justify="right")
        table.add_column("failed", justify="right")
        with self._lock:
            for name in sorted(self.hosts):
                h = self.hosts[name]
                table.add_row(name, h.task[:70], str(h.ok), str(h.changed), str(h.failed + h.unreachable),
                              style="red" if h.failed or h.unreachable else None)
        return table


def summary_table(result: RunResult) -> Table:
    table = Table(title=t(f"結果: {result.playbook.name}", f"Result: {result.playbook.name}"))
    table.add_column(t("ホスト", "host"))
    for col in ("ok", "changed", "failed", "unreachable", "skipped"):
        table.add_column(col, justify="right")
    for name in sorted(result.hosts):
        h = result.hosts[name]
        bad = h.failed or h.unreachable
        table.add_row(name, str(h.ok), str(h.changed), str(h.failed), str(h.unreachable), str(h.skipped),
                      style="red" if bad else ("yellow" if h.changed else "green"))
    return table


def run_playbook(playbook: Path, inventory: Path, *, limit: str | None = None, check: bool = False,
                 extravars: dict[str, Any] | None = None, artifacts_dir: Path | None = None,
                 console: Console | None = None, live: bool | None = None, forks: int = 20,
                 addresses: dict[str, str] | None = None, ansible_env: dict[str, str] | None = None) -> RunResult:
    import ansible_runner

    console = console or Console(highlight=False)
    live = console.is_terminal if live is None else live
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    private = (artifacts_dir or artifacts_root()) / f"{stamp}-{playbook.stem}"
    private.mkdir(parents=True, exist_ok=True)
    # ansible-runner starts ansible-playbook from PATH; the project's venv must come first.
    env = venv_env()
    os.environ["PATH"] = env["PATH"]
    # ansible-runner turns host key checking off unless told otherwise (ANSIBLE_HOST_KEY_CHECKING=False in its
    # defaults); mitogen then connects with UserKnownHostsFile=/dev/null, accepting any key.
    envvars = {"ANSIBLE_CONFIG": env["ANSIBLE_CONFIG"], "ANSIBLE_HOST_KEY_CHECKING": "True",
               "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_NOCOLOR": "1",
               "PATH": env["PATH"], **strategy_env((ansible_env or {}).get("ANSIBLE_STRATEGY")),
               **{k: v for k, v in (ansible_env or {}).items() if k != "ANSIBLE_STRATEGY"}}
    progress = Progress(console, live)
    progress.addresses = addresses or {}
    cmdline = "--check --diff" if check else None
    kwargs: dict[str, Any] = dict(
        private_data_dir=str(private), project_dir=str(ROOT), playbook=str(playbook), inventory=str(inventory),
        limit=limit, extravars=extravars or {}, envvars=envvars, forks=forks, quiet=True,
        event_handler=progress.handle, cmdline=cmdline, rotate_artifacts=0,
    )
    start = time.monotonic()
    if live:
        thread, r = ansible_runner.run_async(**kwargs)
        with Live(progress.render(), console=console, refresh_per_second=4, transient=True) as view:
            while thread.is_alive():
                view.update(progress.render())
                thread.join(0.25)
        thread.join()
    else:
        r = ansible_runner.run(**kwargs)
    duration = time.monotonic() - start
    stats = r.stats or {}
    for key, attr in (("ok", "ok"), ("changed", "changed"), ("failures", "failed"), ("dark", "unreachable"),
                      ("skipped", "skipped")):
        for host, n in (stats.get(key) or {}).items():
            setattr(progress.host(host), attr, n)
    tail = ""
    try:
        tail = "\n".join(r.stdout.read().splitlines()[-25:])
    except Exception:
        tail = ""
    result = RunResult(playbook=playbook, status=r.status, rc=r.rc, hosts=progress.hosts,
                       failures=progress.failures, artifacts=private, batches=[b for b in progress.batches if b],
                       duration=duration, stdout_tail=tail, debug_msgs=progress.debug_msgs)
    write_summary(result)
    return result


def write_summary(result: RunResult) -> Path:
    """summary.json beside ansible-runner's artifacts, for scripts, CI and the benchmark."""
    path = result.artifacts / "summary.json"
    path.write_text(json.dumps({
        "playbook": str(result.playbook), "status": result.status, "rc": result.rc,
        "duration_s": round(result.duration, 2), "batches": result.batches,
        "hosts": {h: asdict(s) for h, s in sorted(result.hosts.items())},
        "failures": [asdict(f) for f in result.failures],
    }, ensure_ascii=False, indent=2), encoding="utf-8")
    return path


def report(result: RunResult, console: Console, err: Console) -> int:
    """Print the summary and every failure; return the exit status (0 ok, 1 failed, 2 bad role variables)."""
    if result.hosts:
        console.print(summary_table(result))
    console.print(t(f"所要時間 {result.duration:.1f} 秒、記録: {result.artifacts}",
                    f"took {result.duration:.1f} s, artifacts: {result.artifacts}"))
    if result.ok:
        return 0
    for f in result.failures:
        err.print(Text(format_failure(f), style="red"), soft_wrap=True)
    if not result.failures:
        err.print(Text(t(f"ansible-playbook が終了コード {result.rc} で失敗しました（タスク実行前のエラー）:",
                         f"ansible-playbook failed with exit code {result.rc} before any task failed:"),
                       style="red"))
        err.print(Text(result.stdout_tail), soft_wrap=True)
        return 1
    return 2 if all(is_input_error(f) for f in result.failures) else 1


__all__ = ["ARG_SPEC_TASK", "RunResult", "playbook_path", "report", "run_playbook", "summary_table"]
