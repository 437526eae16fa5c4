"""Fixtures and hooks for every integration module.

- Each module's wall time and how busy the whole machine was meanwhile (every process: the cloud's services, the
  engine, QEMU) go into the test command's phase table: they say where running modules side by side could save
  time, since a module that keeps both cores busy would gain nothing.
- `small_town`: one deployed small town for the modules that use it (smalltown.py). They run one after the other,
  first, and the town is destroyed as the last of them ends."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest
import smalltown
from cloudlogin import record_phase

TOWN_FIXTURE = "small_town"


def machine_busy_seconds() -> float:
    """CPU-seconds all cores spent on anything but idle and I/O wait since boot (/proc/stat)."""
    with open("/proc/stat", encoding="ascii") as stat:
        fields = [int(v) for v in stat.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


@pytest.fixture(scope="module", autouse=True)
def machine_load(request: pytest.FixtureRequest) -> Iterator[None]:
    t0, busy0 = time.monotonic(), machine_busy_seconds()
    yield
    wall, busy = time.monotonic() - t0, machine_busy_seconds() - busy0
    cores = os.cpu_count() or 1
    share = 100 * busy / (wall * cores) if wall > 0 else 0.0
    record_phase("module", f"{request.module.__name__}: machine CPU {busy:.0f} s, {share:.0f} % of {cores} cores", wall)


def _uses_town(item: pytest.Item) -> bool:
    return TOWN_FIXTURE in getattr(item, "fixturenames", ())


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The town's modules first, whole and in their own order; the rest after, in theirs (a stable partition)."""
    modules = {i.module.__name__ for i in items if _uses_town(i) and isinstance(i, pytest.Function)}

    def first(i: pytest.Item) -> bool:
        return isinstance(i, pytest.Function) and i.module.__name__ in modules

    items[:] = [i for i in items if first(i)] + [i for i in items if not first(i)]


class _Shared:
    def __init__(self) -> None:
        self.town: smalltown.Town | None = None
        self.users: list[str] = []  # the modules that will use the town, in run order

    def get(self, workdir_factory: pytest.TempPathFactory) -> smalltown.Town:
        if self.town is None:
            self.town = smalltown.deploy(workdir_factory.mktemp("town"))
        return self.town

    def release(self) -> None:
        town, self.town = self.town, None
        if town is not None:
            smalltown.destroy(town)


_SHARED = _Shared()


def pytest_collection_finish(session: pytest.Session) -> None:
    """After deselection (-k, -m): the modules that will really use the town, in run order."""
    _SHARED.users = list(dict.fromkeys(i.module.__name__ for i in session.items
                                       if isinstance(i, pytest.Function) and _uses_town(i)))


@pytest.fixture(scope="module")
def small_town(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[smalltown.Town]:
    name = request.module.__name__
    try:
        yield _SHARED.get(tmp_path_factory)
    finally:
        # the last user destroys it (a failure shows as this module's teardown error); a run stopped early (-x,
        # Ctrl-C) still destroys it at the session's end
        if not _SHARED.users or _SHARED.users[-1] == name:
            _SHARED.release()


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    # after pytest's own session teardown: a module stopped half-way (Ctrl-C) has removed its guests and ports by
    # then, so the destroy does not meet ports still in use
    _SHARED.release()
