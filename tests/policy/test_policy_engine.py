"""The pack in the real Pulumi engine: a preview adding an open SSH rule into My Number is blocked.

Needs the engine (scripts/build-engine), not the dev cloud: nothing is created, only previewed (see
engine_project.py). The same preview's JSON, audited, names the same (rule, resource, message).
"""

from __future__ import annotations

import json

import pytest
from engine_project import Project

pytestmark = pytest.mark.integration

PROGRAM = '''
import pulumi_openstack as openstack

tags = ["shuyaku:system=juki", "shuyaku:layer=mynumber", "shuyaku:department=d", "shuyaku:vendor=acme"]
prj = openstack.identity.Project("prj-juki", name="prj-juki-policy-test", tags=tags)
for kind, cls in (("qc", openstack.compute.QuotaSetV2), ("qn", openstack.networking.QuotaV2),
                  ("qv", openstack.blockstorage.QuoteSetV3)):
    cls(kind, project_id=prj.id)
sg = openstack.networking.SecGroup("sg-juki", description="juki app", tenant_id=prj.id, tags=tags[:2],
                                   delete_default_rules=True)
openstack.networking.SecGroupRule("r-world-ssh", security_group_id=sg.id, direction="ingress",
                                  ethertype="IPv4", protocol="tcp", port_range_min=22, port_range_max=22,
                                  remote_ip_prefix="0.0.0.0/0")
'''


@pytest.fixture(scope="module")
def program(tmp_path_factory):
    return Project(tmp_path_factory.mktemp("polpar-engine"), "policy-test", "polpar-engine", PROGRAM)


def test_mandatory_violation_blocks_the_preview_and_matches_the_audit(program):
    rc, pack = program.pack()
    assert rc != 0
    assert {(f.rule, f.urn.rsplit("::", 1)[-1]) for f in pack} == {
        ("secgroup-no-public-ssh", "r-world-ssh"), ("secgroup-no-public-ingress", "r-world-ssh"),
        ("mynumber-ingress-only-listed", "r-world-ssh")}
    audit_rc, audit = program.audit()
    assert audit_rc == 1
    assert audit == pack


def test_advisory_config_lets_the_preview_through(program, tmp_path):
    from engine_project import PACK_CONFIG

    cfg = json.loads(PACK_CONFIG.read_text())
    cfg["all"] = "advisory"
    (tmp_path / "advisory.json").write_text(json.dumps(cfg))
    rc, pack = program.pack(tmp_path / "advisory.json")
    assert rc == 0
    assert ("secgroup-no-public-ssh", "advisory") in {(f.rule, f.level) for f in pack}
    assert program.audit(tmp_path / "advisory.json") == (0, pack)


def test_the_engine_refuses_the_config_the_audit_refuses(program, tmp_path):
    """The pack's config schemas are generated from the settings model: a CIDR typo stops `pulumi preview` as it
    stops `shuyaku policy audit` (exit 2, code schema.cidr), instead of a rule silently ignoring the range."""
    import subprocess
    import sys

    from engine_project import PACK_CONFIG, ROOT

    cfg = json.loads(PACK_CONFIG.read_text())
    cfg["internet-egress-only-proxy"]["proxy_cidrs"] = ["10.250.0.300/29"]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(cfg, indent=2))
    p = program.sh("pulumi", "preview", "--policy-pack", str(ROOT / "policies"), "--policy-pack-config", str(bad))
    assert p.returncode != 0
    assert "internet-egress-only-proxy" in p.stdout + p.stderr and "proxy_cidrs" in p.stdout + p.stderr
    a = subprocess.run([sys.executable, "-m", "shuyaku.cli", "policy", "audit", "-", "--config", str(bad)],
                       input='{"deployment": {"resources": []}}', capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert a.returncode == 2 and "internet-egress-only-proxy.proxy_cidrs[0]" in a.stderr and "[schema.cidr]" in a.stderr
