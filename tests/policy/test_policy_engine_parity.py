"""Both modes, one real preview: the pack inside `pulumi preview` and `shuyaku policy audit` of the same
preview's JSON report the same (rule, resource URN, message) — for every corpus file, and for stack config.

Needs the engine (scripts/build-engine), not the dev cloud: nothing is created (see engine_project.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import make_corpus
import policy_harness
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


def _both_report_the_corpus(project: Project, name: str, doc: dict) -> None:
    (project.dir / "spec.json").write_text(json.dumps(doc))
    project.provider_config(policy_harness.default_provider_config(doc))
    pack_rc, pack = project.pack()
    audit_rc, audit = project.audit()
    assert pack == audit
    # And both report what the corpus says is broken, no more (the independent statement in make_corpus.py).
    want = {(rule, "STACK" if "::pulumi:pulumi:Stack::" in urn else urn.rsplit("::", 1)[-1])
            for rule, urn in EXPECTED[name]}
    assert _names(pack) == want | policy_harness.FROM_PROVIDER_CONFIG.get(name, set())
    # A mandatory finding fails both the preview and the audit; advisory ones neither.
    assert (pack_rc != 0) == (audit_rc == 1)


@pytest.mark.parametrize("name", FILES)
def test_pack_and_audit_agree_on_a_real_preview(corpus_project, name):
    _both_report_the_corpus(corpus_project, name, json.loads((CORPUS / name).read_text(encoding="utf-8")))


# Files whose rules follow references across the stack (projects, groups, roles, providers), where an
# unchanged resource matters most; each costs a stack import and two previews.
EXISTING = ["combo-mynumber-exposed.json", "combo-tenancy.json", "cross-tenant-rule-declared.json",
            "provider-no-inline-credentials.json", "vendor-roles-own-project.json", "warm-standby-in-dr.json"]


@pytest.mark.parametrize("name", EXISTING)
def test_pack_and_audit_agree_on_an_existing_stack(tmp_path, name):
    """The corpus stack already deployed (its export imported as state), previewed again: unchanged
    resources are `same` steps, in the preview JSON only with --show-sames."""
    doc = json.loads((CORPUS / name).read_text(encoding="utf-8"))
    project = Project(tmp_path, "polpar-existing", "polpar-existing", (HERE / "corpus_program.py").read_text())
    stack = doc["deployment"]["resources"][0]["urn"].split("::")[0].rsplit(":", 1)[-1]
    project.import_state(doc, stack, "shuyaku")
    _both_report_the_corpus(project, name, doc)


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
    assert set(FILES) | {"preview-new-open-ssh.json", "vendor-untagged.json"} == set(make_corpus.build()) - {
        "expected.json"}


SECRETS_PROGRAM = '''
import pulumi
import pulumi_openstack as openstack

explicit = openstack.Provider("os-explicit", auth_url="http://127.0.0.1:9/v3", user_name="preview",
                              password="inline-password", tenant_name="preview")
openstack.compute.Instance(
    "vm-secret-data", image_name="ubuntu-24.04-hardened", flavor_name="s1.small",
    user_data=pulumi.Output.secret("#cloud-config\\nchpasswd:\\n  list: |\\n    root:hunter22\\n"),
    metadata={"db_password": pulumi.Output.secret("hunter22"), "role": "app"},
    opts=pulumi.ResourceOptions(provider=explicit))
'''


def test_values_marked_secret_read_the_same_in_both(tmp_path):
    """Secrets look different to the two modes (the pack reads them, preview JSON shows "[secret]"), so the
    rules judge them by their mark alone; a default provider reads its password from stack config."""
    project = Project(tmp_path, "polpar-secrets", "polpar-secrets", SECRETS_PROGRAM)
    project.config("openstack:password", "from-config", secret=True)
    project.config("openstack:authUrl", "http://127.0.0.1:9/v3")
    _, pack = project.pack()
    _, audit = project.audit()
    assert pack == audit
    got = {(f.rule, f.urn.rsplit("::", 1)[-1], f.message) for f in pack}
    assert got == {
        ("provider-no-inline-credentials", "os-explicit", "OpenStack プロバイダに password が直接設定されています。"),
        ("no-plaintext-secrets", "vm-secret-data", "userData に秘密情報（Pulumi secret）が含まれています。"),
        ("no-plaintext-secrets", "vm-secret-data", "metadata.db_password に秘密情報（Pulumi secret）が含まれています。"),
    }
