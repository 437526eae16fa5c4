"""The sample city's platform, built by the real program under Pulumi's mocks, passes every rule; the same
model with a deliberate mistake does not. Settings come from the stack config, as `shuyaku policy config
--stack` derives them for CI."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

from shuyaku.platform import config as pconfig
from shuyaku.platform import mocks
from shuyaku.platform import program as platform
from shuyaku.policy.audit import audit_resources
from shuyaku.policy.config import expand
from shuyaku.policy.loader import engine_value  # secrets as the engine passes them (a server's user data)
from shuyaku.policy.model import Resource
from shuyaku.policy.registry import all_rules
from shuyaku.policy.sitecfg import settings_for_stack

ROOT = Path(__file__).resolve().parents[2]

PRIMARY = "organization/shuyaku-platform/onprem"


def model(records, stack: str) -> list[Resource]:
    """Registered resources -> the policy model (mock ids stand in for the ids references carry)."""
    out = [Resource(urn=f"urn:pulumi:{stack}::shuyaku-platform::pulumi:pulumi:Stack::shuyaku-platform-{stack}",
                    type="pulumi:pulumi:Stack", name=f"shuyaku-platform-{stack}", props={})]
    for r in records:
        out.append(Resource(urn=f"urn:pulumi:{stack}::shuyaku-platform::{r.typ}::{r.name}", type=r.typ, name=r.name,
                            props=engine_value(dict(r.inputs)), id=r.id, provider=r.provider))
    return out


def cfg_for(stack: str) -> pconfig.PlatformConfig:
    import yaml

    f = ROOT / "stacks" / f"Pulumi.{stack}.yaml"
    values = {k.split(":", 1)[1]: v for k, v in yaml.safe_load(f.read_text())["config"].items()
              if k.startswith("shuyaku:")}
    return pconfig.load(values, stack=stack, project_root=ROOT, config_file=f)


@cache
def _onprem():
    return mocks.run(lambda: platform.build(cfg_for("onprem")).outputs)


@cache
def built(stack: str):
    onprem_m, onprem_out = _onprem()
    if stack == "onprem":
        return model(onprem_m.resources, stack)
    m, _ = mocks.run(lambda: platform.build(cfg_for("dr")).outputs, stack_outputs={PRIMARY: onprem_out}, stack="dr")
    return model(m.resources, stack)


def pack_config(stack: str) -> dict:
    return expand({"enforcement": {"all": "mandatory"}, "settings": settings_for_stack(ROOT, stack)}, all_rules())




@pytest.mark.parametrize("stack", ["onprem", "dr"])
def test_sample_city_platform_has_no_violations(stack):
    resources = built(stack)
    findings = audit_resources(resources, pack_config(stack))
    assert [(f.rule.id, f.urn, f.violation.message.en) for f in findings] == []
    # The rules did see the platform: tenants, their layers and rules are resolved, not skipped.
    from shuyaku.policy.context import T_SG_RULE, Index

    index = Index(resources)
    rules = index.of_type(T_SG_RULE)
    assert rules and all(index.layer(r) for r in rules)


def _add(resources, kind, name, **props):
    resources.append(Resource(urn=f"urn:pulumi:onprem::shuyaku-platform::{kind}::{name}", type=kind, name=name,
                              props=props, id=f"id-{name}"))


def test_mistakes_in_the_built_platform_are_caught():
    resources = copy.deepcopy(built("onprem"))
    by_type = {}
    for r in resources:
        by_type.setdefault(r.type, []).append(r)
    tenant_sg = {}
    for sg in by_type["openstack:networking/secGroup:SecGroup"]:
        layer = next((t.split("=")[1] for t in sg.props.get("tags", []) if t.startswith("shuyaku:layer=")), None)
        if any(t.startswith("shuyaku:system=") for t in sg.props.get("tags", [])):
            tenant_sg.setdefault(layer, sg)
    mn, lg = tenant_sg["mynumber"], tenant_sg["lgwan"]
    rule = "openstack:networking/secGroupRule:SecGroupRule"
    _add(resources, rule, "bad-from-lgwan", securityGroupId=mn.id, direction="ingress", protocol="tcp",
         portRangeMin=5432, portRangeMax=5432, remoteIpPrefix="10.20.0.0/16", ethertype="IPv4")
    _add(resources, rule, "bad-lgwan-out", securityGroupId=lg.id, direction="egress", protocol="tcp",
         portRangeMin=443, portRangeMax=443, remoteIpPrefix="0.0.0.0/0", ethertype="IPv4")
    router = next(r for r in by_type["openstack:networking/router:Router"]
                  if "shuyaku:layer=mynumber" in r.props.get("tags", []))
    router.props["externalNetworkId"] = "public-net"
    ra = by_type["openstack:identity/roleAssignment:RoleAssignment"]
    ra[0].props["projectId"] = ra[1].props["projectId"]
    found = {(f.rule.id, f.urn.rsplit("::", 1)[-1]) for f in audit_resources(resources, pack_config("onprem"))}
    assert ("mynumber-ingress-only-listed", "bad-from-lgwan") in found
    assert ("lgwan-no-direct-internet", "bad-lgwan-out") in found
    assert ("lgwan-internet-screen-or-relay", "bad-lgwan-out") in found
    assert ("mynumber-no-internet-path", router.name) in found
    assert ("vendor-roles-own-project", ra[0].name) in found


def test_missing_standby_is_caught_in_the_dr_stack():
    resources = [r for r in built("dr")]
    projects = [r for r in resources if r.type == "openstack:identity/project:Project"]
    dropped = projects[0]
    system = next(t.split("=")[1] for t in dropped.props["tags"] if t.startswith("shuyaku:system="))
    resources = [r for r in resources if r is not dropped]
    found = [(f.rule.id, f.violation.message.en) for f in audit_resources(resources, pack_config("dr"))
             if f.rule.id == "warm-standby-in-dr"]
    assert len(found) == 1 and system in found[0][1]


def test_policy_config_for_a_stack_from_the_cli():
    p = subprocess.run([sys.executable, "-m", "shuyaku.cli", "policy", "config", "--stack", "onprem"], cwd=ROOT,
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert {k: v for k, v in doc.items() if k != "all"} == {k: v for k, v in pack_config("onprem").items()
                                                           if k != "all"}
    assert doc["mynumber-volume-encrypted"]["encrypted_volume_types"] == ["encrypted"]
    bad = subprocess.run([sys.executable, "-m", "shuyaku.cli", "policy", "config", "--stack", "nosuch"], cwd=ROOT,
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


def test_what_a_tenant_could_add_to_the_built_platform_is_caught():
    """The issue's attempts, laid on the sample city as the real program builds it: a router and an interface
    in a My Number tenant's project, a port on the LGWAN provider network, a server on another layer's flavor."""
    resources = copy.deepcopy(built("onprem"))
    project = next(r for r in resources if r.type == "openstack:identity/project:Project"
                   and "shuyaku:layer=mynumber" in r.props.get("tags", []))
    server_tags = [t for t in project.props["tags"] if t.split("=")[0] in ("shuyaku:system", "shuyaku:layer")]
    _add(resources, "openstack:networking/router:Router", "own-rt", tenantId=project.id, externalNetworkId="public")
    _add(resources, "openstack:networking/routerInterface:RouterInterface", "own-rif", routerId="id-own-rt",
         subnetId="x")
    _add(resources, "openstack:networking/port:Port", "lgwan-port", networkId="lgwan")
    _add(resources, "openstack:compute/instance:Instance", "vm-wrong-flavor", tags=server_tags,
         flavorName="internet.m1.small", availabilityZone="nova")
    found = {(f.rule.id, f.urn.rsplit("::", 1)[-1]) for f in audit_resources(resources, pack_config("onprem"))}
    assert {("tenant-no-router", "own-rt"), ("router-interface-operator-only", "own-rif"),
            ("router-no-external-gateway-in-mynumber-lgwan", "own-rt"),
            ("port-not-on-external-network", "lgwan-port"),
            ("instance-flavor-matches-layer", "vm-wrong-flavor")} <= found
