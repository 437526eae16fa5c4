"""The broken-configuration corpus: every file caught in full, by the CLI and by the pack alike."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import make_corpus
import policy_harness as harness
import pytest

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests/policy/corpus"
CONFIG = ROOT / "policies/config.local.json"
EXPECTED = json.loads((CORPUS / "expected.json").read_text(encoding="utf-8"))


def audit(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "shuyaku.cli", "policy", "audit", *args],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)


def test_corpus_files_are_current():
    """The committed files are what make_corpus.py writes (no hand edits drifting from the expectations)."""
    for name, text in make_corpus.build().items():
        assert (CORPUS / name).read_text(encoding="utf-8") == text, f"re-run tests/policy/make_corpus.py ({name})"


def test_every_rule_has_its_own_broken_file():
    from shuyaku.policy.registry import rule_ids

    single = {name.removesuffix(".json") for name in EXPECTED} - {"clean"}
    missing = [r for r in rule_ids() if r not in single and not any(r in {v[0] for v in EXPECTED[f]}
                                                                      for f in EXPECTED)]
    assert not missing
    caught = {v[0] for vs in EXPECTED.values() for v in vs}
    assert caught == set(rule_ids())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_audit_catches_exactly_what_is_broken(name):
    p = audit(str(CORPUS / name), "--config", str(CONFIG), "--format", "json")
    assert p.returncode in (0, 1), p.stderr
    got = {(v["rule"], v["urn"]) for v in json.loads(p.stdout)["violations"]}
    want = {tuple(v) for v in EXPECTED[name]}
    assert got == want
    levels = json.loads(CONFIG.read_text())
    mandatory = any(harness.level(levels, rule, "mandatory") == "mandatory" for rule, _ in want)
    assert p.returncode == (1 if mandatory else 0)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_pack_reports_the_same_as_the_audit(name):
    doc = json.loads((CORPUS / name).read_text(encoding="utf-8"))
    # As the engine does, the pack gets the stack config, where a default provider's inputs come from.
    got = harness.run(harness.states(doc), json.loads(CONFIG.read_text()), harness.stack_config_of(doc))
    extra = {(rule, doc["deployment"]["resources"][0]["urn"]) for rule, _ in harness.FROM_PROVIDER_CONFIG.get(name, ())}
    assert got == {tuple(v) for v in EXPECTED[name]} | extra


def test_real_engine_preview_json():
    """`pulumi preview --json` as pulumi v3.274.1 wrote it (unknown ids, property dependencies, config)."""
    f = ROOT / "tests/policy/fixtures/engine-preview.json"
    p = audit(str(f), "--config", str(CONFIG), "--format", "json")
    assert p.returncode == 1
    got = {(v["rule"], v["urn"].rsplit("::", 1)[-1]) for v in json.loads(p.stdout)["violations"]}
    want = {("secgroup-no-public-ssh", "r-world-ssh"), ("secgroup-no-public-ingress", "r-world-ssh"),
            ("mynumber-ingress-only-listed", "r-world-ssh"), ("project-has-quotas", "prj-juki"),
            ("stack-config-no-plaintext-secrets", "policy-engine-check-dev")}
    assert got == want
    # The pack gets the same config (decrypted, with the secret keys listed) and reports the same.
    doc = json.loads(f.read_text())
    pack = {(r, u.rsplit("::", 1)[-1])
            for r, u in harness.run(harness.states(doc), json.loads(CONFIG.read_text()), doc.get("config"))}
    assert pack == want
