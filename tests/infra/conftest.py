"""Shared set-up for the testinfra suites in tests/infra.

Given an inventory (`--ansible-inventory FILE`, as `shuyaku verify` passes), the suites check those hosts.
Without one, the baseline suite brings up its own test hosts (`scripts/test-hosts up 2 --name infra`),
converges playbooks/baseline.yml through `shuyaku provision`, and takes them down when the session ends.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
from contextlib import contextmanager
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SELF_SET = "infra"
SELF_COUNT = 2
CACHE = Path(os.environ.get("SHUYAKU_CACHE", "/var/cache/shuyaku")) / "test-hosts"
# testinfra's ansible backend runs ansible-inventory from PATH: the project's venv must come first.
_VENV_BIN = str(REPO / ".venv" / "bin")
if _VENV_BIN not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = os.pathsep.join([_VENV_BIN, os.environ.get("PATH", "")])


def pytest_collection_modifyitems(config, items):
    for item in items:
        if Path(str(item.fspath)).resolve().is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.hosts)


def given_inventory(config) -> Path | None:
    inv = config.getoption("ansible_inventory", default=None)
    return Path(inv).resolve() if inv else None


def hosts_group(config) -> str:
    spec = config.getoption("hosts", default=None) or ""
    first = spec.split(",")[0] if spec else ""
    return first.removeprefix("ansible://") if first.startswith("ansible://") else "all"


def inventory_hosts(inventory: Path, group: str) -> list[str]:
    env = dict(os.environ, PATH=f"{REPO / '.venv' / 'bin'}:{os.environ.get('PATH', '')}",
               ANSIBLE_CONFIG=str(REPO / "ansible.cfg"))
    proc = subprocess.run(["ansible-inventory", "-i", str(inventory), "--list"], env=env, capture_output=True,
                          text=True, check=True)
    data = json.loads(proc.stdout)

    def collect(g: str) -> set[str]:
        node = data.get(g, {})
        hosts = set(node.get("hosts", []))
        for child in node.get("children", []):
            hosts |= collect(child)
        return hosts

    return sorted(collect(group))


def self_inventory() -> Path:
    return CACHE / "run" / SELF_SET / "inventory.yml"


@contextmanager
def _lock():
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / f".pytest-{SELF_SET}.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        yield


def ensure_self_hosts() -> Path:
    """Bring up and converge the suite's own hosts once, even with several xdist workers."""
    marker = CACHE / "run" / SELF_SET / "converged-baseline"
    with _lock():
        if marker.exists() and self_inventory().exists():
            status = subprocess.run([str(REPO / "scripts" / "test-hosts"), "status", "--name", SELF_SET],
                                    capture_output=True, text=True)
            if status.stdout.count(" yes") >= SELF_COUNT:
                return self_inventory()
        up = subprocess.run([str(REPO / "scripts" / "test-hosts"), "up", str(SELF_COUNT), "--name", SELF_SET],
                            capture_output=True, text=True)
        if up.returncode != 0:
            pytest.fail(f"scripts/test-hosts up failed:\n{up.stderr}", pytrace=False)
        inv = Path(up.stdout.strip().splitlines()[-1])
        conv = subprocess.run([str(REPO / ".venv" / "bin" / "shuyaku"), "provision", "--inventory", str(inv),
                               "--playbook", "baseline", "--lang", "en"], capture_output=True, text=True,
                              env=dict(os.environ, PATH=f"{REPO / '.venv' / 'bin'}:{os.environ.get('PATH', '')}"))
        if conv.returncode != 0:
            pytest.fail(f"shuyaku provision (baseline) failed:\n{conv.stdout[-3000:]}\n{conv.stderr[-3000:]}",
                        pytrace=False)
        marker.write_text("ok\n")
        (CACHE / "run" / SELF_SET / "started-by-pytest").write_text(str(os.getpid()))
        return inv


def pytest_sessionfinish(session, exitstatus):
    if hasattr(session.config, "workerinput"):
        return  # only the controller tears down
    flag = CACHE / "run" / SELF_SET / "started-by-pytest"
    if flag.exists() and not os.environ.get("SHUYAKU_KEEP_TEST_HOSTS"):
        subprocess.run([str(REPO / "scripts" / "test-hosts"), "down", "--name", SELF_SET], capture_output=True)
        flag.unlink(missing_ok=True)
        (CACHE / "run" / SELF_SET / "converged-baseline").unlink(missing_ok=True)


def pytest_generate_tests(metafunc):
    """One case per host: the inventory's hosts, or the suite's own test hosts."""
    if "node_name" not in metafunc.fixturenames:
        return
    inv = given_inventory(metafunc.config)
    if inv is not None:
        names = inventory_hosts(inv, hosts_group(metafunc.config))
    else:
        names = [f"{SELF_SET}-{i}" for i in range(1, SELF_COUNT + 1)]
    metafunc.parametrize("node_name", names, scope="module")


@pytest.fixture(scope="session")
def inventory_path(request) -> Path:
    return given_inventory(request.config) or ensure_self_hosts()


@pytest.fixture(scope="module")
def hostvars(node_name, inventory_path) -> dict:
    return load_hostvars(inventory_path, node_name)


@pytest.fixture(scope="module")
def node(node_name, inventory_path):
    import testinfra

    return testinfra.get_host(f"ansible://{node_name}", ansible_inventory=str(inventory_path))


def load_hostvars(inventory: Path, host: str) -> dict:
    env = dict(os.environ, PATH=f"{REPO / '.venv' / 'bin'}:{os.environ.get('PATH', '')}",
               ANSIBLE_CONFIG=str(REPO / "ansible.cfg"))
    proc = subprocess.run(["ansible-inventory", "-i", str(inventory), "--host", host], env=env,
                          capture_output=True, text=True, check=True)
    return json.loads(proc.stdout)


