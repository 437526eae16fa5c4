"""Every live check. Each module holds one check or a small group: its `Check`s (stable ids `live.*`) and a
`run(ctx)` that yields findings. `ALL` is the registry the CLI, the docs and SARIF read."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from shuyaku.audit.checks import (
    identity,
    images,
    placement,
    ports,
    quotas,
    routers,
    secgroups,
    services,
    unmanaged,
)
from shuyaku.audit.checks.context import Context
from shuyaku.audit.model import Check, Finding

MODULES: list[Any] = [routers, ports, secgroups, services, images, identity, quotas, placement, unmanaged]
ALL: list[Check] = [c for m in MODULES for c in m.CHECKS]
RUNNERS: list[Callable[[Context], Iterable[Finding]]] = [m.run for m in MODULES]


def run(ctx: Context) -> list[Finding]:
    found: list[Finding] = []
    for runner in RUNNERS:
        found.extend(runner(ctx))
    return sorted(found, key=Finding.sort_key)


__all__ = ["ALL", "Context", "run"]
