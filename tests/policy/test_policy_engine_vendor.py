"""A vendor's stack that tags nothing, previewed by the real engine: the pack and the audit place every resource
in the stack's tenant (read from the platform's hand-off through the StackReference) and report the same.

Needs the engine (scripts/build-engine), not the dev cloud: the platform stack only exports its hand-off, and the
vendor stack is previewed, never created (see engine_project.py).
"""

from __future__ import annotations

import json

import pytest
from engine_project import Project

pytestmark = pytest.mark.integration

HAND_OFF = {"S001": {"system_id": "S001", "name": "住民基本台帳", "layer": "mynumber", "cidr": "10.10.1.0/24",
                     "network_id": "net-s001-id",
                     "tags": ["shuyaku:system=S001", "shuyaku:layer=mynumber", "shuyaku:vendor=acme"]},
            "S002": {"system_id": "S002", "name": "税務", "layer": "lgwan", "cidr": "10.20.1.0/24", "tags": []}}

PLATFORM = f"import pulumi\n\npulumi.export('tenants', {json.dumps(HAND_OFF, ensure_ascii=False)})\n"

# The five API calls, as a vendor's Pulumi program would make them, untagged, beside the one group that
# carries the hand-off's tags as the generated Workload's resources do (a preview shows no StackReference
# outputs, so that is where the pack learns the stack's layer; `stack export` audits read the hand-off itself).
VENDOR = '''
import pulumi
import pulumi_openstack as openstack

platform = pulumi.StackReference("organization/shuyaku-platform/onprem")
tenant = platform.require_output("tenants").apply(lambda t: t["S001"])
openstack.networking.SecGroup("sg-app", description="app", tags=tenant["tags"])
router = openstack.networking.Router("rt", name="rt", external_network_id="public")
net2 = openstack.networking.Network("net2", name="net2")
sn2 = openstack.networking.Subnet("sn2", network_id=net2.id, cidr="192.168.77.0/24")
openstack.networking.RouterInterface("rif", router_id=router.id, subnet_id=sn2.id)
openstack.networking.Port("port", network_id="public")
sg = openstack.networking.SecGroup("sg", description="web")
openstack.networking.SecGroupRule("r-any", security_group_id=sg.id, direction="ingress", ethertype="IPv4",
                                  remote_ip_prefix="10.20.0.0/16")
openstack.compute.Instance("vm", flavor_name="internet.m1.small", image_name="ubuntu-24.04-hardened",
                           networks=[{"uuid": tenant["network_id"]}, {"uuid": net2.id}])
'''

WANT = {
    ("tenant-no-router", "rt"), ("router-no-external-gateway-in-mynumber-lgwan", "rt"),
    ("mynumber-no-internet-path", "rt"), ("router-interface-operator-only", "rif"),
    ("port-not-on-external-network", "port"), ("secgroup-no-all-protocols-from-peer-tenant", "r-any"),
    ("mynumber-ingress-only-listed", "r-any"), ("instance-flavor-matches-layer", "vm"),
}


def test_untagged_vendor_stack_is_judged_by_its_tenant(tmp_path):
    platform = Project(tmp_path / "platform", "shuyaku-platform", "onprem", PLATFORM)
    up = platform.sh("pulumi", "up", "--yes", "--skip-preview")
    assert up.returncode == 0, up.stdout[-2000:] + up.stderr[-2000:]
    (tmp_path / "vendor").mkdir()
    (tmp_path / "vendor" / "state").symlink_to(tmp_path / "platform" / "state")  # one backend, as in a team
    vendor = Project(tmp_path / "vendor", "vendor-s001", "dev", VENDOR)
    pack_rc, pack = vendor.pack()
    audit_rc, audit = vendor.audit()
    assert pack == audit
    found = {(f.rule, f.urn.rsplit("::", 1)[-1]) for f in pack}
    assert found >= WANT, WANT - found
    assert pack_rc != 0 and audit_rc == 1
