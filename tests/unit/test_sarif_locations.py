"""SARIF locations: relative to the repository, at the program's line where the engine recorded one.

Code-scanning views (GitHub's, GitLab's via ci/gitlab/sarif_codequality.py) show a result only where its file is a
path in the repository; an absolute runner path or line 1 of a preview file tells the reader nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from shuyaku.audit import render
from shuyaku.audit.checks import ALL
from shuyaku.audit.model import Finding
from shuyaku.contracts.problems import tx
from shuyaku.policy.audit import audit_resources
from shuyaku.policy.loader import from_document
from shuyaku.policy.report import as_sarif

SG_RULE = "openstack:networking/secGroupRule:SecGroupRule"
STACK = "urn:pulumi:ci::shuyaku-platform::pulumi:pulumi:Stack::shuyaku-platform-ci"


def _ssh_open(name: str, position: str | None) -> dict[str, Any]:
    state: dict[str, Any] = {
        "urn": f"urn:pulumi:ci::shuyaku-platform::{SG_RULE}::{name}", "custom": True, "type": SG_RULE,
        "parent": STACK,
        "inputs": {"direction": "ingress", "ethertype": "IPv4", "protocol": "tcp", "portRangeMin": 22,
                   "portRangeMax": 22, "remoteIpPrefix": "0.0.0.0/0", "securityGroupId": "sg-1"},
        "outputs": {},
    }
    if position is not None:
        state["sourcePosition"] = position
    return state


def _preview(*states: dict[str, Any]) -> dict[str, Any]:
    stack = {"urn": STACK, "custom": False, "type": "pulumi:pulumi:Stack", "inputs": {}, "outputs": {}}
    return {"steps": [{"op": "create", "urn": s["urn"], "newState": s} for s in (stack, *states)]}


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A checkout: the platform project at the root, its program in a package, a vendor project in a folder."""
    (tmp_path / ".git").mkdir()
    (tmp_path / "Pulumi.yaml").write_text("name: shuyaku-platform\nruntime: python\n")
    program = tmp_path / "shuyaku" / "platform"
    program.mkdir(parents=True)
    (program / "rules.py").write_text("\n" * 80)
    vendor = tmp_path / "vendors" / "juki"
    vendor.mkdir(parents=True)
    (vendor / "Pulumi.yaml").write_text("name: vendor-juki\nruntime: python\n")
    (vendor / "workload.py").write_text("\n" * 30)
    (tmp_path / ".venv" / "lib").mkdir(parents=True)
    (tmp_path / ".venv" / "lib" / "stack.py").write_text("\n" * 300)
    (tmp_path / "out").mkdir()
    return tmp_path


def _sarif(repo: Path, doc: dict[str, Any], name: str = "out/preview.json", **kw: Any) -> list[dict[str, Any]]:
    path = repo / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc), encoding="utf-8")
    findings = audit_resources(from_document(doc, str(path)).resources)
    assert findings, "the fixture must break a rule"
    out = json.loads(as_sarif(findings, "en", str(path), root=repo, **kw))
    return [r for r in out["runs"][0]["results"] if r["ruleId"] == "secgroup-no-public-ssh"]


def _where(result: dict[str, Any]) -> tuple[str, dict[str, int]]:
    phys = result["locations"][0]["physicalLocation"]
    return phys["artifactLocation"]["uri"], phys["region"]


def test_a_finding_points_at_the_programs_line_relative_to_the_repository(repo: Path) -> None:
    (result,) = _sarif(repo, _preview(_ssh_open("bastion-ssh", "project:///shuyaku/platform/rules.py#61,9")))
    assert _where(result) == ("shuyaku/platform/rules.py", {"startLine": 61, "startColumn": 9})
    phys = result["locations"][0]["physicalLocation"]
    assert phys["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
    assert result["locations"][0]["logicalLocations"][0]["fullyQualifiedName"].endswith("::bastion-ssh")


def test_without_a_position_the_audited_file_is_named_relative_not_absolute(repo: Path, monkeypatch) -> None:
    monkeypatch.chdir(repo / "out")  # the CLI gets a path relative to where it runs
    path = repo / "out" / "preview.json"
    path.write_text(json.dumps(_preview(_ssh_open("open", None))), encoding="utf-8")
    findings = audit_resources(from_document(json.loads(path.read_text()), "preview.json").resources)
    doc = json.loads(as_sarif(findings, "en", "preview.json", root=repo))
    uris = {_where(r)[0] for r in doc["runs"][0]["results"]}
    assert uris == {"out/preview.json"}
    assert {a["location"]["uri"] for a in doc["runs"][0]["artifacts"]} == {"out/preview.json"}


def test_the_sdks_own_frames_and_missing_files_fall_back_to_the_audited_file(repo: Path) -> None:
    results = _sarif(repo, _preview(_ssh_open("a", "project:///.venv/lib/stack.py#235"),
                                    _ssh_open("b", "project:///shuyaku/platform/gone.py#3"),
                                    _ssh_open("c", "project:///shuyaku/platform/rules.py")))
    assert [_where(r) for r in results] == [("out/preview.json", {"startLine": 1})] * 3


def test_a_vendor_project_in_a_folder_resolves_against_its_own_pulumi_yaml(repo: Path) -> None:
    (result,) = _sarif(repo, _preview(_ssh_open("web", "project:///workload.py#12")), "vendors/juki/preview.json")
    assert _where(result) == ("vendors/juki/workload.py", {"startLine": 12})
    (given,) = _sarif(repo, _preview(_ssh_open("web", "project:///workload.py#7")), "x.json",
                      project_dir=repo / "vendors" / "juki")
    assert _where(given) == ("vendors/juki/workload.py", {"startLine": 7})


def test_a_stack_export_with_file_uris_is_placed_too(repo: Path) -> None:
    state = _ssh_open("bastion-ssh", f"file://{repo}/shuyaku/platform/rules.py#44")
    state["id"] = "r-1"
    doc = {"version": 3, "deployment": {"resources": [
        {"urn": STACK, "custom": False, "type": "pulumi:pulumi:Stack"}, state]}}
    (result,) = _sarif(repo, doc, "out/state.json")
    assert _where(result) == ("shuyaku/platform/rules.py", {"startLine": 44})


def test_the_ci_checkout_is_the_root_and_a_file_outside_it_is_an_absolute_uri(repo: Path, tmp_path_factory,
                                                                              monkeypatch) -> None:
    monkeypatch.setenv("CI_PROJECT_DIR", str(repo))
    monkeypatch.chdir(tmp_path_factory.mktemp("elsewhere"))
    path = repo / "out" / "p.json"
    doc = _preview(_ssh_open("x", "project:///shuyaku/platform/rules.py#5"))
    path.write_text(json.dumps(doc), encoding="utf-8")
    findings = audit_resources(from_document(doc, str(path)).resources)
    sarif = json.loads(as_sarif(findings, "en", str(path)))  # no root given: CI_PROJECT_DIR
    assert {_where(r)[0] for r in sarif["runs"][0]["results"]} == {"shuyaku/platform/rules.py"}
    outside = tmp_path_factory.mktemp("outside") / "p.json"
    outside.write_text(json.dumps(_preview(_ssh_open("x", None))), encoding="utf-8")
    sarif = json.loads(as_sarif(findings, "en", str(outside)))
    assert sarif["runs"][0]["artifacts"][0]["location"] == {"uri": outside.resolve().as_uri()}


def test_the_live_audit_names_the_stack_config_relative_to_the_repository(repo: Path, monkeypatch) -> None:
    monkeypatch.chdir(repo / "out")
    check = next(c for c in ALL if c.id == "live.router_gateway")
    found = Finding(check=check, kind="router", resource_id="r-1", resource_name="onprem-mynumber-router",
                    message=tx("外部ゲートウェイがあります", "has an external gateway"), project_id="p", system_id=None)
    doc = json.loads(render.as_sarif([found], "en", str(repo / "stacks" / "Pulumi.onprem.yaml"), ALL, root=repo))
    loc = doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert loc == {"uri": "stacks/Pulumi.onprem.yaml", "uriBaseId": "%SRCROOT%"}
    doc = json.loads(render.as_sarif([found], "en", "../stacks/Pulumi.onprem.yaml", ALL, root=repo))
    assert doc["runs"][0]["artifacts"][0]["location"]["uri"] == "stacks/Pulumi.onprem.yaml"
