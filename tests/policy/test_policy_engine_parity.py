"""Both modes, one real preview: the pack inside `pulumi preview` and `shuyaku policy audit` of the same
preview's JSON report the same (rule, resource URN, message) — for every corpus file, and for stack config.

Needs the engine (scripts/build-engine), not the dev cloud: nothing is created (see engine_project.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import make_corpus
import pytest
from engine_project import Project, Reported

pytestmark = pytest.mark.integration

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus"
EXPECTED = json.loads((CORPUS / "expected.json").read_text(encoding="utf-8"))
# The corpus files a program can declare (the preview file is already engine output, not a stack).
FILES = sorted(n for n in EXPECTED if "deployment" in json.loads((CORPUS / n).read_text(encoding="utf-8")))


def _names(found: set[Reported]) -> set[tuple[str, str]]:
    return {(f.rule, "STACK" if "::pulumi:pulumi:Stack::" in f.urn else f.urn.rsplit("::", 1)[-1]) for f in found}


@pytest.fixture(scope="module")
def corpus_project(tmp_path_factory):
    return Project(tmp_path_factory.mktemp("polpar-corpus"), "polpar-corpus", "polpar-corpus",
                   (HERE / "corpus_program.py").read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", FILES)
def test_pack_and_audit_agree_on_a_real_preview(corpus_project, name):
    (corpus_project.dir / "spec.json").write_text((CORPUS / name).read_text(encoding="utf-8"))
    pack_rc, pack = corpus_project.pack()
    audit_rc, audit = corpus_project.audit()
    assert pack == audit
    # And both report what the corpus says is broken, no more (the independent statement in make_corpus.py).
    want = {(rule, "STACK" if "::pulumi:pulumi:Stack::" in urn else urn.rsplit("::", 1)[-1])
            for rule, urn in EXPECTED[name]}
    assert _names(pack) == want
    # A mandatory finding fails both the preview and the audit; advisory ones neither.
    assert (pack_rc != 0) == (audit_rc == 1)


CONFIG_PROGRAM = "import pulumi\n\npulumi.export('site', pulumi.get_stack())\n"


@pytest.fixture
def config_project(tmp_path):
    return Project(tmp_path, "polpar-config", "polpar-config", CONFIG_PROGRAM)


def test_plain_text_password_in_stack_config_is_caught_by_both(config_project):
    config_project.config("dbPassword", "hunter2-but-longer")
    config_project.config("backup.adminPassword", "plain-in-a-map")  # structured config, one plain leaf
    config_project.config("region", "RegionOne")
    pack_rc, pack = config_project.pack()
    audit_rc, audit = config_project.audit()
    assert pack == audit
    assert {(f.rule, f.message.split(" ", 1)[1].split(" ", 1)[0]) for f in pack} == {
        ("stack-config-no-plaintext-secrets", "polpar-config:dbPassword"),
        ("stack-config-no-plaintext-secrets", "polpar-config:backup.adminPassword")}
    assert all(f.urn.endswith("::pulumi:pulumi:Stack::polpar-config-polpar-config") for f in pack)
    assert pack_rc != 0 and audit_rc == 1


def test_the_same_values_as_pulumi_secrets_pass_both(config_project):
    config_project.config("dbPassword", "hunter2-but-longer", secret=True)
    config_project.config("backup.adminPassword", "plain-in-a-map", secret=True)
    config_project.config("backup.user", "backup")  # plain leaf beside a secret one: the key is secret
    config_project.config("region", "RegionOne")
    assert config_project.pack() == (0, set())
    assert config_project.audit() == (0, set())


def test_corpus_program_declares_every_file():
    """Every corpus stack but the preview one is run through the engine above."""
    assert set(FILES) | {"preview-new-open-ssh.json"} == set(make_corpus.build()) - {"expected.json"}
