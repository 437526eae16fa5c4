"""GitLab's code quality report made from the policy SARIF (ci/sarif_codequality.py, run by the policy job)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from shuyaku.policy.audit import audit_resources
from shuyaku.policy.loader import from_document
from shuyaku.policy.report import as_sarif

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("sarif_codequality", ROOT / "ci" / "sarif_codequality.py")
assert _spec and _spec.loader
cq = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cq)

SG_RULE = "openstack:networking/secGroupRule:SecGroupRule"


def _rule(name: str, port: int, prefix: str, line: int) -> dict:
    return {"urn": f"urn:pulumi:ci::p::{SG_RULE}::{name}", "custom": True, "type": SG_RULE,
            "inputs": {"direction": "ingress", "ethertype": "IPv4", "protocol": "tcp", "portRangeMin": port,
                       "portRangeMax": port, "remoteIpPrefix": prefix, "securityGroupId": "sg"},
            "outputs": {}, "sourcePosition": f"project:///prog.py#{line}"}


def _sarif(tmp_path: Path, *states: dict) -> Path:
    (tmp_path / ".git").mkdir(exist_ok=True)
    (tmp_path / "Pulumi.yaml").write_text("name: p\n")
    (tmp_path / "prog.py").write_text("\n" * 50)
    doc = {"steps": [{"op": "create", "urn": s["urn"], "newState": s} for s in states]}
    src = tmp_path / "preview.json"
    src.write_text(json.dumps(doc))
    findings = audit_resources(from_document(doc, str(src)).resources)
    out = tmp_path / "policy.sarif"
    out.write_text(as_sarif(findings, "en", str(src), root=tmp_path))
    return out


def test_each_finding_is_an_issue_at_its_repository_line_with_a_stable_fingerprint(tmp_path: Path) -> None:
    sarif = _sarif(tmp_path, _rule("ssh", 22, "0.0.0.0/0", 12), _rule("rdp", 3389, "0.0.0.0/0", 30))
    dest = tmp_path / "gl-code-quality-report.json"
    assert cq.main([str(sarif), str(dest)]) == 0
    issues = json.loads(dest.read_text())
    ssh = next(i for i in issues if i["check_name"] == "secgroup-no-public-ssh")
    assert ssh["location"] == {"path": "prog.py", "lines": {"begin": 12}}
    assert ssh["severity"] == "critical" and "SSH" in ssh["description"]  # a high, mandatory rule
    assert len({i["fingerprint"] for i in issues}) == len(issues)  # GitLab tells findings apart by it
    again = tmp_path / "again.json"
    cq.main([str(sarif), str(again)])
    assert [i["fingerprint"] for i in json.loads(again.read_text())] == [i["fingerprint"] for i in issues]


def test_a_clean_preview_is_an_empty_report_and_a_broken_sarif_says_so(tmp_path: Path, capsys) -> None:
    sarif = _sarif(tmp_path, _rule("narrow", 22, "198.18.0.0/24", 5))
    dest = tmp_path / "cq.json"
    assert cq.main([str(sarif), str(dest)]) == 0 and json.loads(dest.read_text()) == []
    (tmp_path / "bad.sarif").write_text("{not json")
    assert cq.main([str(tmp_path / "bad.sarif"), str(dest)]) == 2
    assert json.loads(dest.read_text()) == [] and "cannot read the SARIF file" in capsys.readouterr().err


def test_severity_follows_level_and_security_severity() -> None:
    assert [cq.severity("error", s) for s in ("9.5", "8.0", "5.5", None)] == ["blocker", "critical", "major", "major"]
    assert cq.severity("warning", "9.5") == "minor" and cq.severity("note", None) == "info"
