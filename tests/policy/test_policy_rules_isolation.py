"""The rules that keep a tenant inside its layer (issue 11): each on a passing and a failing stack, called
directly (as `shuyaku policy audit` does) and through its CrossGuard policy; and a vendor stack's untagged
resources placed by the stack's own tenant."""

from __future__ import annotations

import base64
import gzip

import pytest
from policy_harness import from_model, run
from test_policy_rules import R, W, direct, rule, settings_for

from shuyaku.policy import context as C
from shuyaku.policy.audit import audit_resources
from shuyaku.policy.model import Resource, SecretValue

VENDOR = "urn:pulumi:dev::vendor-s001::"
DEFAULT_PROVIDER = "urn:pulumi:t::p::pulumi:providers:openstack::default_5_5_3"


def V(kind: str, rname: str, deps: dict[str, str] | None = None, /, **props) -> Resource:
    """A resource of vendor project vendor-s001 (as `shuyaku vendor init` names it), untagged."""
    return Resource(urn=f"{VENDOR}{kind}::{rname}", type=kind, name=rname, props=props, id=f"id-{rname}",
                    deps={k: [f"{VENDOR}{C.T_SG if k == 'securityGroupId' else C.T_NETWORK}::{v}"]
                          for k, v in (deps or {}).items()})


def tenants(layer: str = "mynumber") -> dict:
    """The platform's hand-off as the vendor's StackReference reads it (the tenant-outputs contract, in part)."""
    return {"S001": {"system_id": "S001", "layer": layer, "cidr": "10.10.1.0/24",
                     "tags": ["shuyaku:system=S001", f"shuyaku:layer={layer}", "shuyaku:vendor=acme"]},
            "S002": {"system_id": "S002", "layer": "lgwan", "cidr": "10.20.1.0/24", "tags": []}}


def vendor_stack(layer: str = "mynumber") -> list[Resource]:
    return [V(C.T_STACK, "vendor-s001-dev"),
            V("pulumi:pulumi:StackReference", "organization/shuyaku-platform/onprem",
              name="organization/shuyaku-platform/onprem", outputs={"tenants": tenants(layer)})]


B64_SECRET = base64.b64encode(gzip.compress(b"#!/bin/sh\nexport MYSQL_PWD=hunter22\n")).decode()
WRITE_FILES = ("#cloud-config\nwrite_files:\n  - path: /etc/app/otp\n    encoding: b64\n    content: "
               + base64.b64encode(b"totp_seed: JBSWY3DPEHPK3PXPJBSWY3DP\n").decode() + "\n")

# rule id -> (passing resources, failing resources, names of the resources the rule must flag)
CASES: dict[str, tuple[list[Resource], list[Resource], set[str]]] = {
    "tenant-no-router": (
        [*W, R(C.T_ROUTER, "rt", tags=["shuyaku:layer=lgwan"])],
        [*W, R(C.T_ROUTER, "rt", {"tenantId": "prj-zeimu"}, tenantId="id-prj-zeimu")], {"rt"}),
    "router-interface-operator-only": (
        [*W, R(C.T_ROUTER, "rt"), R(C.T_ROUTER_INTERFACE, "rif", {"routerId": "rt"}, routerId="id-rt",
                                    subnetId="id-sn-zeimu")],
        [*W, R(C.T_ROUTER, "rt", {"tenantId": "prj-zeimu"}, tenantId="id-prj-zeimu"),
         R(C.T_ROUTER_INTERFACE, "rif", {"routerId": "rt"}, routerId="id-rt", subnetId="id-sn-zeimu")], {"rif"}),
    "router-no-external-gateway-in-mynumber-lgwan": (
        [*W, R(C.T_ROUTER, "rt", tags=["shuyaku:layer=lgwan"], externalNetworkId="lgwan"),
         R(C.T_ROUTER, "rt2", tags=["shuyaku:layer=internet"], externalNetworkId="public")],
        [*W, R(C.T_ROUTER, "rt", tags=["shuyaku:layer=lgwan"], externalNetworkId="public"),
         R(C.T_ROUTER, "rt2", tags=["shuyaku:layer=mynumber"], externalFixedIps=[{"subnetId": "x"}])],
        {"rt", "rt2"}),
    "port-not-on-external-network": (
        [*W, R(C.T_PORT, "port", {"networkId": "net-zeimu"}, networkId="id-net-zeimu"),
         R(C.T_INSTANCE, "vm", networks=[{"uuid": "id-net-zeimu"}])],
        [*W, R(C.T_NETWORK, "ext", name="lgwan-provider", external=True),
         R(C.T_PORT, "port", {"networkId": "ext"}, networkId="id-ext"),
         R(C.T_INSTANCE, "vm", networks=[{"name": "lgwan"}])], {"port", "vm"}),
    "port-security-enabled": (
        [R(C.T_PORT, "port", portSecurityEnabled=True), R(C.T_NETWORK, "net")],
        [R(C.T_PORT, "port", portSecurityEnabled=False), R(C.T_NETWORK, "net", portSecurityEnabled=False)],
        {"port", "net"}),
    "port-no-wide-address-pairs": (
        [*W, R(C.T_PORT, "port", {"networkId": "net-zeimu"}, networkId="id-net-zeimu",
               allowedAddressPairs=[{"ipAddress": "10.20.1.10/32"}])],
        [*W, R(C.T_PORT, "port", {"networkId": "net-zeimu"}, networkId="id-net-zeimu",
               allowedAddressPairs=[{"ipAddress": "10.20.1.10"}, {"ipAddress": "0.0.0.0/0"}])], {"port"}),
    "image-not-public": (
        [*vendor_stack(), V(C.T_IMAGE, "img", visibility="private")],
        [*vendor_stack(), V(C.T_IMAGE, "img", visibility="community"),
         V(C.T_IMAGE_ACCESS, "member", imageId="id-img", memberId="other-project")], {"img", "member"}),
    "instance-flavor-matches-layer": (
        [*W, R(C.T_INSTANCE, "vm", tags=["shuyaku:layer=mynumber"], flavorName="mynumber.m1.small",
               availabilityZone="az-mynumber"),
         R(C.T_INSTANCE, "vm2", tags=["shuyaku:layer=lgwan"], flavorName="dr.lgwan.m1.small")],
        [*W, R(C.T_INSTANCE, "vm", tags=["shuyaku:layer=mynumber"], flavorName="internet.m1.small"),
         R(C.T_INSTANCE, "vm2", tags=["shuyaku:layer=mynumber"], flavorName="s1.small",
           availabilityZone="az-internet")], {"vm", "vm2"}),
    "secgroup-no-all-protocols-from-peer-tenant": (
        [*W, rule("r", "sg-zeimu", "ingress", port=5432, remote="10.10.1.0/24"),
         rule("r2", "sg-zeimu", "ingress", proto="", remote="10.20.1.0/24"),
         rule("r3", "sg-zeimu", "ingress", proto="icmp", remote="10.10.0.0/16")],
        [*W, rule("r", "sg-zeimu", "ingress", proto="", remote="10.10.0.0/16"),
         rule("r2", "sg-zeimu", "egress", proto="tcp", group="sg-juki")], {"r", "r2"}),
    "role-not-admin": (
        [*W, R(C.T_ROLE_ASSIGN, "ra", {"roleId": "role-member"}, roleId="id-role-member", userId="u")],
        [*W, R(C.T_ROLE, "role-svc", name="service"),
         R(C.T_ROLE_ASSIGN, "ra", {"roleId": "role-svc"}, roleId="id-role-svc", userId="u")], {"ra"}),
    "keypair-no-private-key": (
        [R(C.T_KEYPAIR, "kp", publicKey="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA ops")],
        [R(C.T_KEYPAIR, "kp", name="kp")], {"kp"}),
    "no-secrets-in-user-data": (
        [R(C.T_INSTANCE, "vm", userData=base64.b64encode(b"#cloud-config\nssh_pwauth: false\n").decode()),
         R(C.T_INSTANCE, "vm2", userData="#cloud-config\npackage_update: true\n")],
        [R(C.T_INSTANCE, "vm", userData=B64_SECRET), R(C.T_INSTANCE, "vm2", userData=WRITE_FILES)],
        {"vm", "vm2"}),
    "provider-prefer-application-credentials": (
        [Resource(DEFAULT_PROVIDER, C.T_PROVIDER, "default_5_5_3", {"cloud": "shuyaku"})],
        [Resource(DEFAULT_PROVIDER, C.T_PROVIDER, "default_5_5_3", {"password": SecretValue("from-config")})],
        {"default_5_5_3"}),
}
# What the engine sends the pack with each case: a default provider's inputs come from the stack config.
STACK_CONFIG = {"provider-prefer-application-credentials": ({"openstack:cloud": "shuyaku"},
                                                            {"openstack:password": "[secret]"})}

SETTINGS_OF = {rid: settings_for(rid) for rid in CASES}


def test_the_operator_publishes_standard_images():
    assert direct("image-not-public", [*W, R(C.T_IMAGE, "std", visibility="public")], {}) == set()


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_passing_resource(rule_id):
    good, _bad, _names = CASES[rule_id]
    assert direct(rule_id, good, SETTINGS_OF[rule_id]) == set()
    config = STACK_CONFIG.get(rule_id, (None, None))[0]
    assert run(from_model(good), {rule_id: SETTINGS_OF[rule_id]}, config, only=rule_id) == set()


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_failing_resource(rule_id):
    _good, bad, names = CASES[rule_id]
    want = {(rule_id, r.urn) for r in bad if r.name in names}
    assert direct(rule_id, bad, SETTINGS_OF[rule_id]) == want
    config = STACK_CONFIG.get(rule_id, (None, None))[1]
    assert run(from_model(bad), {rule_id: SETTINGS_OF[rule_id]}, config, only=rule_id) == want


def test_a_secret_provider_password_is_advice_a_plain_one_is_mandatory():
    secret = [R(C.T_PROVIDER, "default_5_5_3", password=SecretValue(None))]
    plain = [R(C.T_PROVIDER, "default_5_5_3", password="Passw0rd!")]
    levels = {f.rule.id: f.level for f in audit_resources(secret, {})}
    assert levels == {"provider-prefer-application-credentials": "advisory"}
    assert {f.rule.id: f.level for f in audit_resources(plain, {})} == {"provider-no-inline-credentials": "mandatory"}


def test_vendor_role_in_stack_config_by_name():
    from shuyaku.policy.context import Index

    stack = R(C.T_STACK, "s")
    rid = "role-not-admin"
    bad = direct(rid, Index([stack], {"shuyaku:vendorRole": ("admin", False)}), settings_for(rid))
    assert bad == {(rid, stack.urn)}
    assert direct(rid, Index([stack], {"shuyaku:vendorRole": ("member", False)}), settings_for(rid)) == set()
    assert run(from_model([stack]), {rid: settings_for(rid)}, {"shuyaku:vendorRole": "admin"}, only=rid) == bad


# --- a vendor stack's untagged resources ------------------------------------------------------------------

def untagged_attempt(layer: str = "mynumber") -> list[Resource]:
    """What the issue's attacker built from a vendor stack, with no shuyaku tag anywhere."""
    return [*vendor_stack(layer),
            V(C.T_ROUTER, "rt", externalNetworkId="public"),
            V(C.T_NETWORK, "net2", name="net2"),
            V(C.T_ROUTER_INTERFACE, "rif", {"routerId": "rt"}, routerId="id-rt", subnetId="id-sn2"),
            V(C.T_PORT, "port", networkId="public"),
            V(C.T_SG, "sg", description="web"),
            V(C.T_SG_RULE, "r-any", {"securityGroupId": "sg"}, securityGroupId="id-sg", direction="ingress",
              protocol="", ethertype="IPv4", remoteIpPrefix="10.20.0.0/16"),
            V(C.T_SG_RULE, "r-out", {"securityGroupId": "sg"}, securityGroupId="id-sg", direction="egress",
              protocol="tcp", portRangeMin=443, portRangeMax=443, ethertype="IPv4", remoteIpPrefix="0.0.0.0/0"),
            V(C.T_INSTANCE, "vm", flavorName="internet.m1.small", networks=[{"uuid": "id-net2"}])]


ATTEMPT_FOUND = {
    ("tenant-no-router", "rt"), ("router-interface-operator-only", "rif"),
    ("router-no-external-gateway-in-mynumber-lgwan", "rt"), ("mynumber-no-internet-path", "rt"),
    ("port-not-on-external-network", "port"), ("secgroup-no-all-protocols-from-peer-tenant", "r-any"),
    ("mynumber-ingress-only-listed", "r-any"), ("instance-flavor-matches-layer", "vm"),
    ("secgroup-no-public-egress", "r-out"),
}


def _settings() -> dict:
    from test_policy_rules import SETTINGS

    return {"settings": SETTINGS}


def test_untagged_vendor_resources_take_the_stack_tenant():
    from shuyaku.policy.context import Index

    res = untagged_attempt()
    index = Index(res)
    assert index.stack_tenant is not None and index.stack_tenant.system == "S001"
    assert {r.name: index.layer(r) for r in res[2:]} == dict.fromkeys((r.name for r in res[2:]), "mynumber")
    assert index.system(res[-1]) == "S001"
    found = {(f.rule.id, f.urn.rsplit("::", 1)[-1]) for f in audit_resources(res, _settings())}
    assert found >= ATTEMPT_FOUND
    # The pack sees the same stack the same way.
    pack = {(rid, urn.rsplit("::", 1)[-1]) for rid, urn in run(from_model(res), _pack_config())}
    assert pack >= ATTEMPT_FOUND
    assert pack == found


def _pack_config() -> dict:
    from test_policy_rules import SETTINGS

    from shuyaku.policy.config import expand
    from shuyaku.policy.registry import all_rules

    return expand({"settings": SETTINGS}, all_rules())


def test_the_platform_hand_off_wins_over_the_vendor_config():
    """A vendor cannot move its stack to a laxer layer by its own config: the platform's outputs decide."""
    from shuyaku.policy.context import Index

    res = untagged_attempt()
    index = Index(res, {"vendor-s001:layer": ("internet", False), "vendor-s001:platformStack": ("x", False)})
    assert index.layer(res[-1]) == "mynumber"
    # With no hand-off in the stack (a preview without the reference), the config places it.
    alone = [r for r in res if r.type != "pulumi:pulumi:StackReference"]
    assert Index(alone, {"shuyaku:layer": ("lgwan", False)}).layer(alone[-1]) == "lgwan"
    assert Index(alone).layer(alone[-1]) is None


def test_the_platform_stack_is_not_a_tenant():
    """The operator's stack (a DR stack reads the primary's tenants too) keeps its routers."""
    from shuyaku.policy.context import Index

    ref = R("pulumi:pulumi:StackReference", "primary", outputs={"tenants": tenants()})
    index = Index([*W, ref, R(C.T_ROUTER, "rt", tags=["shuyaku:layer=lgwan"])])
    assert index.stack_tenant is None
    assert direct("tenant-no-router", list(index), {}) == set()


def test_keys_naming_a_password_or_otp_seed_hold_secrets():
    """db_pw, MYSQL_PWD and a TOTP seed under its own key are secrets wherever they are written."""
    from test_policy_rules import get

    vm = R(C.T_INSTANCE, "vm", metadata={"db_pw": "Zq8sd7f6", "MYSQL_PWD": "hunter22", "totp": "JBSWY3DPEHPK3PXP",
                                         "ssh_pwauth": "false", "shuyaku_role": "db"})
    assert [v.message.en for v in get("no-plaintext-secrets").check(vm, {})] == [
        "metadata.db_pw contains a secret (secret-named key).",
        "metadata.MYSQL_PWD contains a secret (secret-named key).",
        "metadata.totp contains a secret (secret-named key)."]
