"""The connection matrix on the migrated guests: each case tried with a real connection from its source guest.

`shuyaku verify --migrated --stack S` writes the cases (shuyaku.verify.matrix) and an inventory whose group
`shuyaku_migrated` holds their source hosts, reached through the bastion, and runs this file with the cases' path in
SHUYAKU_MIGRATED_CASES. One test per case, named by its id (`<source host>-to-<target>-tcp<port>`), so the
JUnit XML and the summary name each connection.

Without cases (no variable, or an empty list) the one test is skipped, never passed. It probes only from hosts of
the `shuyaku_migrated` group whose address is the one the cases were made for: run over any other inventory or
group (the nspawn test hosts, `shuyaku verify --inventory`), it skips.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import given_inventory, hosts_group, load_hostvars

from shuyaku.contracts.verify import CASES_ENV, MIGRATED_GROUP, CaseSet, ConnectionCase
from shuyaku.verify.probe import PROBE, judge, parse_answers, payload

pytestmark = pytest.mark.hosts
TIMEOUT = float(os.environ.get("SHUYAKU_PROBE_TIMEOUT", "3"))


def _cases() -> list[ConnectionCase]:
    path = os.environ.get(CASES_ENV)
    if not path:
        return []
    return CaseSet.model_validate_json(Path(path).read_text(encoding="utf-8")).cases


CASES = _cases()
_ANSWERS: dict[str, dict[str, tuple[str, str]]] = {}


@pytest.fixture(scope="session")
def migrated_inventory(request) -> Path:
    inv = given_inventory(request.config)
    if inv is None or hosts_group(request.config) != MIGRATED_GROUP:
        pytest.skip(f"only over the {MIGRATED_GROUP} group of the inventory shuyaku verify --migrated writes")
    return inv


def _answers(inventory: Path, host: str) -> dict[str, tuple[str, str]]:
    """Every case of one source host, tried at once on that host (once per worker: a worker gets a host's
    whole group under --dist loadgroup)."""
    if host not in _ANSWERS:
        import testinfra

        hvars = load_hostvars(inventory, host)
        mine = [c for c in CASES if c.source_host == host]
        assert hvars.get("ansible_host") == mine[0].source_address, (
            f"{host}: the inventory's address {hvars.get('ansible_host')} is not the one the cases were made for "
            f"({mine[0].source_address})")
        node = testinfra.get_host(f"ansible://{host}", ansible_inventory=str(inventory))
        timeout = TIMEOUT * (len(mine) // 32 + 2) + 30
        run = node.run("timeout %s python3 -c %s %s %s", str(int(timeout)), PROBE, payload(mine), str(TIMEOUT))
        assert run.rc == 0, f"{host}: the probe failed (rc {run.rc}): {run.stderr[-500:]}"
        _ANSWERS[host] = parse_answers(run.stdout)
    return _ANSWERS[host]


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id, marks=pytest.mark.xdist_group(c.source_host))
                                  for c in CASES] or [pytest.param(None, id="no-cases")])
def test_connection(case: ConnectionCase | None, migrated_inventory: Path) -> None:
    if case is None:
        pytest.skip(f"no connection cases ({CASES_ENV} unset or empty)")
    answers = _answers(migrated_inventory, case.source_host)
    outcome, detail = answers.get(case.id, ("error", "no answer from the probe"))
    problem = judge(case, outcome, detail)
    assert problem is None, problem
