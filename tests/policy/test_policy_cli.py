"""`shuyaku policy` as a user meets it: exit codes, languages, formats, and the generated files."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from shuyaku.contracts.policy_settings import settings_schema
from shuyaku.policy import config as cfgmod
from shuyaku.policy import report
from shuyaku.policy.crossguard import policies
from shuyaku.policy.docs import markdown
from shuyaku.policy.registry import all_rules, get, rule_ids

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests/policy/corpus"
CONFIG = ROOT / "policies/config.local.json"


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "shuyaku.cli", "policy", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=120, env={**os.environ, **(env or {})})


@pytest.mark.parametrize(("content", "code"), [
    (None, "audit.unreadable"), (b"{\"a\":", "audit.not_json"), (b"[1]", "audit.not_object"),
    (b"{\"foo\": 1}", "audit.not_state"), (b"\xff\xfe\x00garbage", "audit.not_json"),
    (b"{\"a\": \"\xff\"}", "audit.not_utf8"),
    (b"{\"deployment\": {\"resources\": [{\"urn\": 1}]}}", "audit.bad_resource")])
def test_unreadable_input_exits_2_with_a_clear_message(tmp_path, content, code):
    f = tmp_path / "state.json"
    if content is not None:
        f.write_bytes(content)
    p = cli("audit", str(f))
    assert p.returncode == 2
    assert p.stderr.startswith(f"{f}:") and f"[{code}]" in p.stderr and "Traceback" not in p.stderr
    assert p.stdout == ""


def test_invalid_config_names_every_problem(tmp_path):
    bad = tmp_path / "c.json"
    bad.write_text(json.dumps({"all": "strict", "secgroup-no-public-shh": "advisory",
                               "mynumber-volume-encrypted": {"encrypted_volume_types": "luks"},
                               "internet-egress-only-proxy": {"proxy_cidrs": ["10.0.0.300/32"]}}, indent=2))
    p = cli("audit", str(CORPUS / "clean.json"), "--config", str(bad), "--lang", "en")
    assert p.returncode == 2 and "Traceback" not in p.stderr and p.stdout == ""
    # file:line:column: field: message [code], each where the user must fix it.
    for where, code in ((f"{bad}:2:10: all.enforcementLevel:", "[schema.not_allowed]"),
                        (f"{bad}:3:3: secgroup-no-public-shh:", "[policy.unknown_rule]"),
                        (f"{bad}:5:31: mynumber-volume-encrypted.encrypted_volume_types:", "[schema.type]"),
                        (f"{bad}:9:7: internet-egress-only-proxy.proxy_cidrs[0]:", "[schema.cidr]")):
        line = next((x for x in p.stderr.splitlines() if x.startswith(where)), "")
        assert line.endswith(code), (where, p.stderr)
    assert "did you mean 'secgroup-no-public-ssh'?" in p.stderr  # the fix names the nearest rule


def test_invalid_settings_document_is_refused_with_codes(tmp_path):
    bad = tmp_path / "s.json"
    bad.write_text(json.dumps({"enforcement": {"secgroup-no-public-shh": "advisory"},
                               "settings": {"separation_model": "gamma", "layer_cidrs": {"lgwam": ["10.0.0.0/8"]},
                                            "screen_transfer_ports": [0, "443"], "proxy_cidr": []}}, indent=2))
    p = cli("config", str(bad), "--lang", "en")
    assert p.returncode == 2 and "Traceback" not in p.stderr and p.stdout == ""
    codes = {line.split(": ", 2)[1]: line.rsplit(" ", 1)[-1] for line in p.stderr.splitlines() if line.startswith(str(bad))}
    assert codes == {"enforcement.secgroup-no-public-shh": "[policy.unknown_rule]",
                     "settings.separation_model": "[schema.not_allowed]",
                     "settings.layer_cidrs.lgwam": "[schema.not_allowed]",
                     "settings.screen_transfer_ports[0]": "[schema.range]",
                     "settings.screen_transfer_ports[1]": "[schema.number_as_text]",
                     "settings.proxy_cidr": "[schema.unknown_key]"}
    # A pack config is not a settings document: `policy config` says which format it wants.
    p = cli("config", str(CONFIG), "--lang", "en")
    assert p.returncode == 2 and "[policy.not_settings_document]" in p.stderr


def test_clean_stack_exits_0_and_says_so():
    p = cli("audit", str(CORPUS / "clean.json"), "--config", str(CONFIG))
    assert p.returncode == 0
    assert p.stdout.strip().endswith(report.summary([], "ja"))
    doc = json.loads(cli("audit", str(CORPUS / "clean.json"), "--config", str(CONFIG), "-f", "json").stdout)
    assert doc["summary"] == {"violations": 0, "mandatory": 0, "advisory": 0} and doc["violations"] == []


def test_text_report_names_rule_resource_and_fix_in_both_languages():
    f = str(CORPUS / "secgroup-no-public-ssh.json")
    ja = cli("audit", f, "--config", str(CONFIG))
    en = cli("audit", f, "--config", str(CONFIG), env={"SHUYAKU_LANG": "en"})
    urn = "urn:pulumi:onprem::shuyaku::openstack:networking/secGroupRule:SecGroupRule::r-bad"
    assert ja.returncode == en.returncode == 1
    rule = get("secgroup-no-public-ssh")
    assert rule.id in ja.stdout and urn in ja.stdout and rule.remediation.ja in ja.stdout
    assert "fix: Narrow remote_ip_prefix" in en.stdout and "2 violations (2 mandatory, 0 advisory)" in en.stdout


def test_advisory_only_findings_do_not_fail_the_build():
    p = cli("audit", str(CORPUS / "secgroup-description-required.json"), "--config", str(CONFIG), "-f", "json")
    doc = json.loads(p.stdout)
    assert p.returncode == 0
    assert doc["summary"] == {"violations": 1, "mandatory": 0, "advisory": 1}


def test_config_can_disable_or_soften_a_rule(tmp_path):
    cfg = json.loads(CONFIG.read_text())
    cfg["secgroup-no-public-ssh"] = "disabled"
    cfg["secgroup-no-public-ingress"] = {"enforcementLevel": "advisory"}
    f = tmp_path / "c.json"
    f.write_text(json.dumps(cfg))
    p = cli("audit", str(CORPUS / "secgroup-no-public-ssh.json"), "--config", str(f), "-f", "json")
    doc = json.loads(p.stdout)
    assert p.returncode == 0
    assert [(v["rule"], v["level"]) for v in doc["violations"]] == [("secgroup-no-public-ingress", "advisory")]


# The parts of SARIF 2.1.0 (OASIS) that code-scanning views rely on.
SARIF_SCHEMA = {
    "type": "object", "required": ["version", "runs", "$schema"],
    "properties": {
        "version": {"const": "2.1.0"},
        "runs": {"type": "array", "minItems": 1, "items": {
            "type": "object", "required": ["tool", "results"],
            "properties": {
                "tool": {"type": "object", "required": ["driver"], "properties": {"driver": {
                    "type": "object", "required": ["name", "rules"],
                    "properties": {"rules": {"type": "array", "items": {
                        "type": "object", "required": ["id", "shortDescription"],
                        "properties": {"shortDescription": {"type": "object", "required": ["text"]},
                                       "defaultConfiguration": {"type": "object", "properties": {
                                           "level": {"enum": ["none", "note", "warning", "error"]}}}}}}}}}},
                "results": {"type": "array", "items": {
                    "type": "object", "required": ["ruleId", "level", "message", "locations"],
                    "properties": {
                        "level": {"enum": ["none", "note", "warning", "error"]},
                        "message": {"type": "object", "required": ["text"]},
                        "locations": {"type": "array", "minItems": 1, "items": {
                            "type": "object", "required": ["logicalLocations"],
                            "properties": {"logicalLocations": {"type": "array", "minItems": 1, "items": {
                                "type": "object", "required": ["fullyQualifiedName"]}}}}}}}}}}}},
}


def test_sarif_is_valid_and_points_at_urns(tmp_path):
    out = tmp_path / "r.sarif"
    p = cli("audit", str(CORPUS / "combo-mynumber-exposed.json"), "--config", str(CONFIG), "-f", "sarif",
            "-o", str(out), "--lang", "en")
    assert p.returncode == 1
    doc = json.loads(out.read_text())
    jsonschema.validate(doc, SARIF_SCHEMA)
    run = doc["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == rule_ids()
    expected = {tuple(v) for v in json.loads((CORPUS / "expected.json").read_text())["combo-mynumber-exposed.json"]}
    got = {(r["ruleId"], r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"]) for r in run["results"]}
    assert got == expected
    for r in run["results"]:
        assert rules[r["ruleIndex"]]["id"] == r["ruleId"]
        assert r["level"] == "error"


def test_list_shows_every_rule():
    p = cli("list")
    assert p.returncode == 0
    for rid in rule_ids():
        assert rid in p.stdout
    assert get("mynumber-no-internet-path").title.ja in p.stdout  # Japanese unless told otherwise
    listed = json.loads(cli("list", "--format", "json", "--lang", "en").stdout)
    assert [r["id"] for r in listed] == rule_ids()
    assert all(r["title"] and r["remediation"] and r["sources"] for r in listed)


def test_shuyaku_policy_command_is_wired():
    exe = shutil.which("shuyaku", path=str(ROOT / ".venv/bin"))
    if exe is None:
        pytest.fail("shuyaku console script not installed: run scripts/setup-python")
    p = subprocess.run([exe, "policy", "list", "--format", "json"], capture_output=True, text=True, cwd=ROOT)
    assert p.returncode == 0, p.stderr
    assert [r["id"] for r in json.loads(p.stdout)] == rule_ids()


def test_docs_page_is_current():
    page = (ROOT / "docs/policies.md").read_text(encoding="utf-8")
    assert page == markdown(), "run: shuyaku policy docs > docs/policies.md"
    for r in all_rules():
        assert f"### {r.id}" in page


def test_example_pack_config_is_generated_from_the_settings():
    settings = json.loads((ROOT / "policies/settings.local.json").read_text())
    assert json.loads(CONFIG.read_text()) == cfgmod.expand(settings, all_rules())
    p = cli("config", "policies/settings.local.json")
    assert p.returncode == 0 and json.loads(p.stdout) == json.loads(CONFIG.read_text())


def test_pack_config_satisfies_each_policy_schema_as_the_engine_checks_it():
    cfg = json.loads(CONFIG.read_text())
    for policy in policies():
        if policy.config_schema is None:
            continue
        schema = {"type": "object", "properties": policy.config_schema.properties}
        props = {k: v for k, v in (cfg.get(policy.name) or {}).items() if k != "enforcementLevel"}
        jsonschema.validate(props, schema)


def test_pack_policies_mirror_the_rules():
    pols = policies()
    assert [p.name for p in pols] == rule_ids()
    for p, r in zip(pols, all_rules(), strict=True):
        assert p.severity.value == r.severity and p.enforcement_level.value == r.enforcement
        assert p.remediation_steps and p.description
        assert set(p.config_schema.properties if p.config_schema else {}) == set(r.config_keys)


def test_pack_project_file_points_at_the_project_venv():
    meta = yaml.safe_load((ROOT / "policies/PulumiPolicy.yaml").read_text())
    assert meta["runtime"]["name"] == "python"
    venv = (ROOT / "policies" / meta["runtime"]["options"]["virtualenv"]).resolve()
    assert venv == (ROOT / ".venv").resolve()
    assert (ROOT / "policies/__main__.py").read_text().count("policies()") == 1


def test_audit_without_settings_warns_what_it_cannot_check():
    p = cli("audit", str(CORPUS / "clean.json"), "--lang", "en")
    assert "mynumber-ingress-only-listed checks only part of its rule: layer_cidrs not set" in p.stderr
    with_cfg = cli("audit", str(CORPUS / "clean.json"), "--config", str(CONFIG))
    assert with_cfg.stderr == ""


def test_audit_reads_a_pipe():
    data = (CORPUS / "preview-new-open-ssh.json").read_text()
    p = subprocess.run([sys.executable, "-m", "shuyaku.cli", "policy", "audit", "-", "--config", str(CONFIG), "-f", "json"],
                       input=data, capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert p.returncode == 1
    assert json.loads(p.stdout)["summary"]["violations"] == 4


def test_settings_schema_is_current_and_checks_the_example():
    schema = json.loads((ROOT / "policies/settings.schema.json").read_text())
    assert schema == settings_schema(rule_ids()), "run: shuyaku policy schema > policies/settings.schema.json"
    jsonschema.Draft202012Validator.check_schema(schema)
    example = json.loads((ROOT / "policies/settings.local.json").read_text())
    jsonschema.validate(example, schema)
    typo = {"settings": {"layer_cidr": {}}, "enforcement": {"secgroup-no-public-shh": "advisory"}}
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(typo))
    assert len(errors) == 2


def test_preview_without_unchanged_resources_is_flagged(tmp_path):
    """`pulumi preview --json` without --show-sames leaves out unchanged resources; the audit says so."""
    doc = json.loads((CORPUS / "preview-new-open-ssh.json").read_text())
    full = cli("audit", str(CORPUS / "preview-new-open-ssh.json"), "--config", str(CONFIG))
    assert "--show-sames" not in full.stderr
    doc["steps"] = [s for s in doc["steps"] if s["op"] != "same" or s["urn"].endswith("::shuyaku-onprem")]
    (tmp_path / "changes-only.json").write_text(json.dumps(doc))
    p = cli("audit", str(tmp_path / "changes-only.json"), "--config", str(CONFIG), "--lang", "en")
    assert p.returncode == 1  # the new open SSH rule is still caught
    assert "make it with `pulumi preview --json --show-sames`" in p.stderr
