"""Pulumi mocks that record what a program registers: shared by the unit tests and the scale benchmark.

Only the engine is mocked; the program, its components and the pulumi-openstack SDK classes are the real
ones, so a property name the provider does not know fails here as it would in `pulumi preview`.
"""

from __future__ import annotations

import base64
import threading
from dataclasses import dataclass, field
from typing import Any

import dill
import pulumi


@dataclass
class Registered:
    typ: str
    name: str
    inputs: dict[str, Any]
    id: str
    custom: bool
    provider: str | None


@dataclass
class RecordingMocks(pulumi.runtime.Mocks):
    """Every resource and invoke, with ids that say what they are (`<type-name>-<resource name>`)."""

    stack_outputs: dict[str, dict[str, Any]] = field(default_factory=dict)  # stack name -> outputs
    preview: bool = False
    resources: list[Registered] = field(default_factory=list)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        if args.typ == "pulumi:pulumi:StackReference":
            name = args.inputs.get("name") or args.name
            outputs = self.stack_outputs.get(name)
            if outputs is None:
                raise KeyError(f"no mocked outputs for stack reference {name!r}")
            rid = name
            state: dict[str, Any] = {"name": name, "outputs": outputs, "secretOutputNames": []}
        elif args.typ.startswith("pulumi-python:dynamic") and not self.preview:
            rid, state = run_dynamic_create(args.inputs)
        else:
            short = args.typ.split(":")[-1].lower()
            rid = f"{short}-{args.name}"
            state = dict(args.inputs)
        with self._lock:
            self.resources.append(Registered(args.typ, args.name, dict(args.inputs), rid, bool(args.custom), args.provider))
        return rid, state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        with self._lock:
            self.calls.append((args.token, dict(args.args)))
        name = args.args.get("name", "")
        if args.token == "openstack:identity/getAuthScope:getAuthScope":
            return {"name": name, "userId": "user-platform", "projectId": "project-admin"}, []
        return {"id": f"{args.token.split(':')[-1]}-{name}", "name": name, **args.args}, []

    # queries the tests and the benchmark share
    def of_type(self, typ: str) -> list[Registered]:
        return [r for r in self.resources if r.typ == typ]

    def custom(self) -> list[Registered]:
        return [r for r in self.resources if r.custom]


def run_dynamic_create(inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """What the engine does with a Python dynamic resource on `up`: unpickle its provider from the inputs and
    call its `create`. The provider is the program's own code, so it runs for real here too."""
    from pulumi.dynamic.dynamic import PROVIDER_KEY

    pickled = inputs[PROVIDER_KEY]
    if isinstance(pickled, dict):  # a secret as the mock monitor passes it: the signature key and the value
        pickled = pickled["value"]
    provider = dill.loads(base64.b64decode(pickled))
    props = {k: v for k, v in inputs.items() if k != PROVIDER_KEY}
    result = provider.create(props)
    return result.id, {**props, **(result.outs or {})}


def install(mocks: RecordingMocks, *, project: str = "shuyaku-platform", stack: str = "test", preview: bool = False) -> None:
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=preview)


def run(
    fn: Any,
    *,
    stack_outputs: dict[str, dict[str, Any]] | None = None,
    stack: str = "test",
    preview: bool = False,
    project: str = "shuyaku-platform",
) -> tuple[RecordingMocks, dict[str, Any]]:
    """Run `fn` (which registers resources and returns a dict of outputs, or an object with `.outputs`)
    under fresh mocks; return the recorder and the outputs with every Output resolved."""
    mocks = RecordingMocks(stack_outputs=dict(stack_outputs or {}), preview=preview)
    install(mocks, project=project, stack=stack, preview=preview)
    captured: dict[str, Any] = {}

    @pulumi.runtime.test
    def go() -> Any:
        result = fn()
        outs = getattr(result, "outputs", result) or {}
        return pulumi.Output.from_input(outs).apply(lambda v: captured.update(v or {}))

    go()
    return mocks, captured
