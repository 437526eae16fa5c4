"""The live audit's pure pieces: address arithmetic, the expectation from a stack config, rendering.

The checks themselves are proven against the real dev cloud (tests/integration/test_audit_live.py), never over
stand-ins for OpenStack's resources."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shuyaku.audit import expect, netcalc, render
from shuyaku.audit.checks import ALL
from shuyaku.audit.model import Finding, failing
from shuyaku.contracts.problems import tx

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("prefix", "group", "anywhere"), [
    ("0.0.0.0/0", None, True), ("::/0", None, True), (None, None, True), ("", None, True),
    (None, "some-group", False), ("10.0.0.0/8", None, False), ("0.0.0.0/1", None, False), ("nonsense", None, False),
])
def test_a_rule_is_open_to_anywhere_only_when_its_remote_is_everything(prefix: str | None, group: str | None,
                                                                       anywhere: bool) -> None:
    assert netcalc.is_any(prefix, group) is anywhere


@pytest.mark.parametrize(("prefix", "cidr", "inside"), [
    ("10.10.40.5", "10.10.40.0/24", True), ("10.10.40.0/25", "10.10.40.0/24", True),
    ("10.10.40.0/23", "10.10.40.0/24", False), ("0.0.0.0/0", "10.10.40.0/24", False),
    ("fd00::1", "10.10.40.0/24", False), (None, "10.10.40.0/24", False), ("10.10.41.1", "10.10.40.0/24", False),
])
def test_an_address_pair_or_remote_is_inside_a_subnet_only_when_wholly_within_it(prefix: str | None, cidr: str,
                                                                                  inside: bool) -> None:
    assert netcalc.within(prefix, cidr) is inside


def test_the_expectation_is_the_platform_programs_own_layout() -> None:
    exp = expect.load("local", ROOT)
    assert exp.site == "onprem" and len(exp.tenants) == 80
    # the My Number zone's router is expected and may never have a gateway; LGWAN only on its provider network
    assert exp.zone_routers["onprem-mynumber-router"] == "mynumber"
    assert "mynumber" not in exp.gateway_network and exp.gateway_network["lgwan"] == "lgwan"
    sid = next(iter(exp.tenants))
    assert exp.tenant_groups(sid) >= {f"{sid}-tenant"}
    assert all(cidr != "0.0.0.0/0" for _, _, _, cidr in exp.rules[sid])
    assert exp.layer_of_cidr(exp.tenants[sid].cidr) == str(exp.tenants[sid].layer)
    # the one route besides the zones': the shared router back to the administrators, through the LGWAN router
    assert exp.admin_routes == dict.fromkeys(exp.cfg.admin_cidrs, exp.cfg.layout.router_ports["lgwan"])


def test_a_missing_stack_config_is_an_oserror_naming_the_file(tmp_path: Path) -> None:
    with pytest.raises(OSError) as info:
        expect.load("nope", tmp_path)
    assert "Pulumi.nope.yaml" in str(info.value.filename)


def _finding(severity: str | None = None) -> Finding:
    check = next(c for c in ALL if c.id == "live.router_gateway")
    return Finding(check=check, kind="router", resource_id="r-1", resource_name="onprem-mynumber-router",
                   message=tx("ルーター onprem-mynumber-router に外部ゲートウェイ public があります",
                              "router onprem-mynumber-router has an external gateway on public"),
                   project_id="p", system_id=None, severity=severity)  # type: ignore[arg-type]


def test_check_ids_are_unique_and_stable_in_form() -> None:
    ids = [c.id for c in ALL]
    assert len(ids) == len(set(ids)) and all(i.startswith("live.") for i in ids)
    assert all(c.title.ja and c.title.en and c.fix.ja and c.fix.en for c in ALL)


def test_text_names_the_resource_in_the_chosen_language() -> None:
    ja = render.as_text([_finding()], "ja", "stacks/Pulumi.onprem.yaml", 1.5)
    en = render.as_text([_finding()], "en", "stacks/Pulumi.onprem.yaml", 1.5)
    assert "live.router_gateway" in ja and "onprem-mynumber-router" in ja and "外部ゲートウェイ" in ja
    assert "external gateway on public" in en and "1 finding(s)" in en
    assert "問題はありません" in render.as_text([], "ja", "x")


def test_json_and_sarif_carry_every_finding() -> None:
    doc = json.loads(render.as_json([_finding()], "en", "s.yaml"))
    assert doc["summary"] == {"findings": 1, "error": 1, "warning": 0, "info": 0}
    assert doc["findings"][0]["resource_name"] == "onprem-mynumber-router"
    sarif = json.loads(render.as_sarif([_finding()], "ja", "s.yaml", ALL))
    assert sarif["version"] == "2.1.0"
    run = sarif["runs"][0]
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == [c.id for c in ALL]
    (result,) = run["results"]
    assert run["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == "live.router_gateway"
    assert result["level"] == "error"
    assert result["locations"][0]["logicalLocations"][0]["name"] == "onprem-mynumber-router"


def test_info_alone_does_not_fail_the_run() -> None:
    assert failing([_finding()]) and failing([_finding("warning")])
    assert not failing([_finding("info")]) and not failing([])


AUDIT_DOC = Path(__file__).resolve().parents[2] / "docs" / "audit-live.md"
TABLE_HEAD = "| id | severity | what it reports | why |\n|---|---|---|---|\n"


def checks_table() -> str:
    from shuyaku.audit.checks import ALL

    return TABLE_HEAD + "".join(f"| `{c.id}` | {c.severity} | {c.title.en} | {c.why.en} |\n" for c in ALL)


def current_doc_table(text: str) -> str:
    start = text.index(TABLE_HEAD)
    end = text.index("\n\n", start)
    return text[start:end + 1]


def test_the_docs_list_every_live_check_as_the_code_says() -> None:
    text = AUDIT_DOC.read_text(encoding="utf-8")
    assert current_doc_table(text) == checks_table(), "run: python tests/unit/test_audit_pure.py"


if __name__ == "__main__":
    text = AUDIT_DOC.read_text(encoding="utf-8")
    AUDIT_DOC.write_text(text.replace(current_doc_table(text), checks_table()), encoding="utf-8")
    print(AUDIT_DOC)
