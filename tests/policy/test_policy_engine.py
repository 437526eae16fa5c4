"""The pack in the real Pulumi engine: a preview adding an open SSH rule into My Number is blocked.

Needs the engine (scripts/build-engine) and the dev cloud (scripts/dev-cloud up) for provider auth;
nothing is created, only previewed. The same preview's JSON, audited, names the same (rule, resource).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENGINE = Path("/var/cache/shuyaku/engine/bin/pulumi")

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


def _sh(script: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env_setup = (f"source {ROOT}/scripts/engine-env && eval \"$({ROOT}/scripts/dev-cloud env)\" && "
                 f"export PULUMI_BACKEND_URL=file://{cwd}/state PULUMI_CONFIG_PASSPHRASE=policy-test && ")
    return subprocess.run(["bash", "-c", env_setup + script], cwd=cwd, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def program(tmp_path_factory):
    if not ENGINE.exists():
        pytest.fail("engine not built: run scripts/build-engine", pytrace=False)
    probe = subprocess.run([f"{ROOT}/scripts/dev-cloud", "status"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.fail("dev cloud not running: run scripts/dev-cloud up", pytrace=False)
    d = tmp_path_factory.mktemp("policy-program")
    (d / "state").mkdir()
    (d / "Pulumi.yaml").write_text(f"name: policy-test\nruntime:\n  name: python\n  options:\n"
                                   f"    virtualenv: {ROOT}/.venv\n")
    (d / "__main__.py").write_text(PROGRAM)
    p = _sh("pulumi stack init test", d)
    assert p.returncode == 0, p.stderr
    return d


def _reported(output: str) -> set[tuple[str, str]]:
    # "- [mandatory] [severity: high]  secgroup-no-public-ssh  (openstack:networking:SecGroupRule: r-world-ssh)"
    return {(m[0], m[1]) for m in re.findall(r"\]\s+([a-z0-9-]+)\s+\([^:]+:[^:]+:[^:]+: ([^)]+)\)", output)}


def test_mandatory_violation_blocks_the_preview_and_matches_the_audit(program):
    p = _sh(f"pulumi preview --policy-pack {ROOT}/policies --policy-pack-config {ROOT}/policies/config.local.json",
            program)
    out = p.stdout + p.stderr
    assert p.returncode != 0, out
    pack = _reported(out)
    assert pack == {("secgroup-no-public-ssh", "r-world-ssh"), ("secgroup-no-public-ingress", "r-world-ssh"),
                    ("mynumber-ingress-only-listed", "r-world-ssh")}, out

    j = _sh("pulumi preview --json > preview.json", program)
    assert j.returncode == 0, j.stderr
    a = subprocess.run([sys.executable, "-m", "shuyaku.policy", "audit", str(program / "preview.json"),
                        "--config", str(ROOT / "policies/config.local.json"), "--format", "json"],
                       capture_output=True, text=True, cwd=ROOT)
    assert a.returncode == 1
    audited = {(v["rule"], v["urn"].rsplit("::", 1)[-1]) for v in json.loads(a.stdout)["violations"]}
    assert audited == pack


def test_advisory_config_lets_the_preview_through(program, tmp_path):
    cfg = json.loads((ROOT / "policies/config.local.json").read_text())
    cfg["all"] = "advisory"
    (tmp_path / "advisory.json").write_text(json.dumps(cfg))
    p = _sh(f"pulumi preview --policy-pack {ROOT}/policies --policy-pack-config {tmp_path}/advisory.json", program)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "[advisory]" in p.stdout and "secgroup-no-public-ssh" in p.stdout
