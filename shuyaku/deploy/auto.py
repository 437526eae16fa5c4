"""Preview, update and destroy through Pulumi's Automation API, with what changed read from the engine's events.

The Automation API drives the engine built here (`PulumiCommand(root=...)`) and hands back structured events:
each step (create / update / replace / delete, by type and name), each policy violation with its rule, and the
error diagnostics. Every line of engine output passes through `backend.mask` before it is shown or kept.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pulumi import automation as auto
from pulumi.automation import errors as auto_errors
from pulumi.automation import events as ev

from shuyaku.deploy.backend import mask

# The step kinds a user is asked about; the engine's other steps (same, read, refresh, the two halves of a
# replacement) are either no change or already counted as one `replace`.
CHANGE_OPS = ("create", "update", "replace", "delete")
ROOT_TYPE = "pulumi:pulumi:Stack"


@dataclass(frozen=True)
class Step:
    op: str
    type: str
    name: str


@dataclass(frozen=True)
class Violation:
    rule: str
    level: str
    message: str
    resource: str  # the resource's name, or "" for a stack-wide rule


@dataclass
class Changes:
    """What one engine operation did or would do, read from its events."""

    steps: list[Step] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    outputs_changed: bool = False

    def changed(self) -> list[Step]:
        return [s for s in self.steps if s.op in CHANGE_OPS]

    def counts(self) -> dict[str, int]:
        out = {op: 0 for op in CHANGE_OPS}
        for s in self.changed():
            out[s.op] += 1
        return out

    @property
    def nothing_to_do(self) -> bool:
        return not self.changed() and not self.outputs_changed

    def mandatory(self) -> list[Violation]:
        return [v for v in self.violations if v.level == "mandatory"]


@dataclass
class Outcome:
    """The engine's exit status and masked output (as a CompletedProcess, which callers already read) and the
    changes its events describe."""

    proc: subprocess.CompletedProcess[str]
    changes: Changes


@dataclass(frozen=True)
class Flags:
    """The engine options shuyaku passes; the Automation API has a parameter for each."""

    refresh: bool = False
    expect_no_changes: bool = False
    policy_packs: tuple[str, ...] = ()
    policy_pack_configs: tuple[str, ...] = ()

    def kwargs(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.refresh:
            out["refresh"] = True
        if self.expect_no_changes:
            out["expect_no_changes"] = True
        if self.policy_packs:
            out["policy_packs"] = list(self.policy_packs)
            out["policy_pack_configs"] = list(self.policy_pack_configs) or None
        return out


def parse_flags(extra: Sequence[str]) -> Flags | None:
    """The CLI-style flags callers pass as Flags, or None when one has no Automation API parameter."""
    values: dict[str, Any] = {"policy_packs": [], "policy_pack_configs": []}
    args = list(extra)
    while args:
        arg = args.pop(0)
        name, eq, value = arg.partition("=")
        if name in ("--refresh", "--expect-no-changes") and not eq:
            values[name[2:].replace("-", "_")] = True
        elif name in ("--policy-pack", "--policy-pack-config") and (eq or args):
            values[name[2:].replace("-", "_") + "s"].append(value if eq else args.pop(0))
        else:
            return None
    return Flags(values.get("refresh", False), values.get("expect_no_changes", False),
                 tuple(values["policy_packs"]), tuple(values["policy_pack_configs"]))


class _Collector:
    """Turns engine events into Changes; engine text into masked lines, shown live or only kept."""

    def __init__(self, hidden: Sequence[str], show: bool) -> None:
        self.hidden = list(hidden)
        self.show = show
        self.changes = Changes()
        self.stdout: list[str] = []
        self.stderr: list[str] = []

    def out(self, line: str) -> None:
        self._line(line, self.stdout, sys.stdout)

    def err(self, line: str) -> None:
        self._line(line, self.stderr, sys.stderr)

    def _line(self, line: str, kept: list[str], sink: Any) -> None:
        line = mask(line, self.hidden)
        kept.append(line)
        if self.show:
            sink.write(line + "\n")
            sink.flush()

    def event(self, event: ev.EngineEvent) -> None:
        if event.resource_pre_event is not None:
            meta = event.resource_pre_event.metadata
            op = meta.op.value if isinstance(meta.op, ev.OpType) else str(meta.op)
            self.changes.steps.append(Step(op, meta.type, meta.urn.rsplit("::", 1)[-1]))
        elif event.res_outputs_event is not None:
            meta = event.res_outputs_event.metadata
            if meta.type == ROOT_TYPE and _outputs(meta.old) != _outputs(meta.new):
                self.changes.outputs_changed = True
        elif event.policy_event is not None:
            p = event.policy_event
            urn = p.resource_urn or ""
            self.changes.violations.append(Violation(p.policy_name, p.enforcement_level, mask(p.message, self.hidden),
                                                     urn.rsplit("::", 1)[-1] if urn else ""))
        elif event.diagnostic_event is not None and event.diagnostic_event.severity == "error":
            self.changes.errors.append(mask(event.diagnostic_event.message.strip(), self.hidden))


def _outputs(state: ev.StepEventStateMetadata | None) -> dict[str, Any]:
    return dict(state.outputs or {}) if state is not None else {}


def select(name: str, *, engine_root: Path, work_dir: Path, env: dict[str, str]) -> auto.Stack:
    """The stack `name` of the project in `work_dir`, run by the engine under `engine_root` (its bin/pulumi)."""
    workspace = auto.LocalWorkspace(work_dir=str(work_dir), env_vars=env, pulumi_home=env.get("PULUMI_HOME"),
                                    pulumi_command=auto.PulumiCommand(root=str(engine_root)))
    return auto.Stack.select(name, workspace)


def run(name: str, op: str, flags: Flags, *, engine_root: Path, work_dir: Path, env: dict[str, str],
        config_file: Path, hidden: Sequence[str], show: bool) -> Outcome:
    """Select stack `name` and run `op` (preview, up or destroy) on it; an engine failure is returned as a non-zero
    exit with its masked message, never raised."""
    c = _Collector(hidden, show)
    kwargs: dict[str, Any] = {"on_output": c.out, "on_error": c.err, "on_event": c.event,
                              "config_file": str(config_file)}
    kwargs.update({k: v for k, v in flags.kwargs().items() if op != "destroy" or k == "refresh"})
    code = 0
    try:
        stack = select(name, engine_root=engine_root, work_dir=work_dir, env=env)
        calls: dict[str, Callable[..., Any]] = {"preview": stack.preview, "up": stack.up, "destroy": stack.destroy}
        calls[op](**kwargs)
    except auto_errors.CommandError as exc:
        code = _exit_code(exc)
        if not c.stderr:  # it failed before the operation streamed anything (e.g. selecting a locked stack)
            c.err(str(exc).split("stderr:", 1)[-1].strip())
    except RuntimeError as exc:  # the SDK's own: the engine wrote no summary event, so the changes are unknown
        c.err(f"error: {exc}")
        code = 1
    cmd = ["pulumi", op, "--stack", name]
    return Outcome(subprocess.CompletedProcess(cmd, code, "\n".join(c.stdout) + "\n", "\n".join(c.stderr) + "\n"),
                   c.changes)


def _exit_code(exc: auto_errors.CommandError) -> int:
    # The SDK keeps the command's result only in the message ("code: N", then its unmasked output).
    found = re.search(r"code: (-?\d+)", str(exc))
    code = int(found.group(1)) if found else 1
    return code or 1
