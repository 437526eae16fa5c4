"""Each rule on a passing and a failing resource, called directly and through its CrossGuard policy."""

from __future__ import annotations

import pytest
from policy_harness import from_model, run

from shuyaku.policy import context as C
from shuyaku.policy.model import UNKNOWN, Resource, SecretValue
from shuyaku.policy.registry import all_rules, get

SETTINGS = {
    "layer_cidrs": {"mynumber": ["10.10.0.0/16"], "lgwan": ["10.20.0.0/16"], "internet": ["10.30.0.0/16"],
                    "shared": ["10.40.0.0/16"]},
    "proxy_cidrs": ["10.250.0.0/29"], "relay_cidrs": ["10.40.8.0/28"], "vdi_pool_cidrs": ["10.30.8.0/24"],
    "screen_transfer_ports": [3389, 443], "lgwan_wan_cidrs": ["10.200.0.0/14"],
    "lgwan_breakout_cidrs": ["52.94.0.0/22"], "separation_model": "alpha",
    "mynumber_ingress_exceptions": [{"source_cidr": "10.40.16.0/28", "protocol": "tcp", "port": 443}],
    "encrypted_volume_types": ["encrypted-luks"], "allowed_images": ["ubuntu-24.04-hardened"],
    "allowed_flavors": ["s1.small"], "admin_role_names": ["admin"], "admin_role_ids": [],
    "data_links": [{"source_system": "juki", "target_system": "zeimu", "protocol": "tcp", "port": 5432}],
    "warm_systems": ["juki"], "site": "",
    "privileged_role_names": ["admin", "service", "manager"],
    "provider_networks": {"lgwan": ["lgwan"], "internet": ["public"]},
    "layer_availability_zones": {"mynumber": ["az-mynumber"], "lgwan": ["az-lgwan"], "internet": ["az-internet"]},
}


def urn(name: str) -> str:
    return f"urn:pulumi:t::p::shuyaku:test::{name}"


def R(kind: str, rname: str, deps: dict[str, str] | None = None, /, **props) -> Resource:
    return Resource(urn=urn(rname), type=kind, name=rname, props=props, id=f"id-{rname}",
                    deps={k: [urn(v)] for k, v in (deps or {}).items()})


def world() -> list[Resource]:
    """Two tenants in different layers with their groups: the backdrop for stack-level cases."""
    out = []
    for system, layer, cidr, vendor in (("juki", "mynumber", "10.10.1.0/24", "acme"),
                                        ("zeimu", "lgwan", "10.20.1.0/24", "beta"),
                                        ("vdi", "internet", "10.30.8.0/24", "city")):
        tags = [f"shuyaku:system={system}", f"shuyaku:layer={layer}", "shuyaku:department=d",
                f"shuyaku:vendor={vendor}"]
        out += [R(C.T_PROJECT, f"prj-{system}", name=f"prj-{system}", tags=tags),
                R(C.T_NETWORK, f"net-{system}", {"tenantId": f"prj-{system}"}, tenantId=f"id-prj-{system}"),
                R(C.T_SUBNET, f"sn-{system}", {"networkId": f"net-{system}"}, cidr=cidr,
                  networkId=f"id-net-{system}"),
                R(C.T_SG, f"sg-{system}", {"tenantId": f"prj-{system}"}, tenantId=f"id-prj-{system}",
                  description=system, deleteDefaultRules=True,
                  tags=[*tags[:2], *(["shuyaku:role=vdi"] if system == "vdi" else [])])]
    out.append(R(C.T_GROUP, "vendor-acme-juki", name="vendor-acme-juki"))
    out += [R(C.T_ROLE, "role-member", name="member"), R(C.T_ROLE, "role-admin", name="admin")]
    return out


def rule(name, sg, direction, proto="tcp", port=None, remote=None, group=None, **extra):
    props = {"securityGroupId": f"id-{sg}", "direction": direction, "protocol": proto, "ethertype": "IPv4",
             **extra}
    if port is not None:
        props.update(portRangeMin=port, portRangeMax=port)
    if remote is not None:
        props["remoteIpPrefix"] = remote
    deps = {"securityGroupId": sg}
    if group:
        props["remoteGroupId"] = f"id-{group}"
        deps["remoteGroupId"] = group
    return R(C.T_SG_RULE, name, deps, **props)


def quotas(system):
    return [R(t, f"{t.rsplit(':', 1)[-1]}-{system}", {"projectId": f"prj-{system}"}, projectId=f"id-prj-{system}")
            for t in (C.T_QUOTA_COMPUTE, C.T_QUOTA_NETWORK, C.T_QUOTA_VOLUME)]


def assign(name, group, project=None, role="role-member", domain=None):
    props, deps = {"groupId": f"id-{group}", "roleId": f"id-{role}"}, {"groupId": group, "roleId": role}
    if project:
        props["projectId"], deps["projectId"] = f"id-{project}", project
    if domain:
        props["domainId"] = domain
    return R(C.T_ROLE_ASSIGN, name, deps, **props)


W = world()
INST = C.T_INSTANCE
# rule id -> (passing resources, failing resources, names of the resources the rule must flag)
CASES: dict[str, tuple[list[Resource], list[Resource], set[str]]] = {
    "provider-no-inline-credentials": (
        [R(C.T_PROVIDER, "p", cloud="shuyaku")],
        [R(C.T_PROVIDER, "p", userName="admin", password=SecretValue("x"))], {"p"}),
    "secgroup-no-public-ssh": (
        [rule("r", "sg-vdi", "ingress", port=22, remote="10.40.0.0/24")],
        [rule("r", "sg-vdi", "ingress", port=None, proto="tcp")], {"r"}),  # no range, no remote: all ports, all
    "secgroup-no-public-rdp": (
        [rule("r", "sg-vdi", "ingress", port=3389, remote="0.0.0.0/0", protocol="icmp")],
        [rule("r", "sg-vdi", "ingress", proto="", remote="::/0", ethertype="IPv6")], {"r"}),
    "instance-no-admin-pass": (
        [R(INST, "vm", keyPair="ops")], [R(INST, "vm", adminPass="hunter2")], {"vm"}),
    "firewall-rule-destination-required": (
        [R(C.T_FW_RULE, "fw", action="deny")], [R(C.T_FW_RULE, "fw", action="allow", sourceIpAddress="10.0.0.0/8")],
        {"fw"}),
    "firewall-rule-no-public-access": (
        [R(C.T_FW_RULE, "fw", action="allow", sourceIpAddress="10.0.0.0/8", destinationIpAddress="10.1.0.0/16")],
        [R(C.T_FW_RULE, "fw", action="allow", sourceIpAddress="10.0.0.0/8", destinationIpAddress="8.8.8.8/32")],
        {"fw"}),
    "secgroup-no-public-ingress": (
        [rule("r", "sg-vdi", "ingress", port=443, remote="8.8.8.8/32")],
        [rule("r", "sg-vdi", "ingress", port=443, remote="8.8.8.0/24")], {"r"}),
    "secgroup-no-public-egress": (
        [rule("r", "sg-vdi", "egress", port=443, remote="198.18.0.0/15")],
        [rule("r", "sg-vdi", "egress", port=443, remote="2600::/16", ethertype="IPv6")], {"r"}),
    "secgroup-description-required": (
        [R(C.T_SG, "sg", description="web")], [R(C.T_SG, "sg", description="  ")], {"sg"}),
    "mynumber-no-internet-path": (
        [*W, R(C.T_ROUTER, "rt", {"tenantId": "prj-juki"}, tenantId="id-prj-juki"),
         R(C.T_PORT, "port", {"networkId": "net-vdi"}, networkId="id-net-vdi"),
         R(C.T_FIP_ASSOC, "fip", {"portId": "port"}, portId="id-port")],
        [*W, R(C.T_PORT, "port", {"networkId": "net-juki"}, networkId="id-net-juki"),
         R(C.T_FIP_ASSOC, "fip", {"portId": "port"}, portId="id-port")], {"fip"}),
    "mynumber-ingress-only-listed": (
        [*W, rule("r", "sg-juki", "ingress", port=443, remote="10.40.16.0/28"),
         rule("r2", "sg-juki", "ingress", port=22, group="sg-juki")],
        [*W, rule("r", "sg-juki", "ingress", port=22, group="sg-zeimu")], {"r"}),
    "lgwan-internet-screen-or-relay": (
        [*W, rule("r", "sg-vdi", "ingress", port=3389, remote="10.20.0.0/16"),
         rule("r2", "sg-zeimu", "egress", port=443, remote="10.30.8.0/24")],
        [*W, rule("r", "sg-zeimu", "ingress", port=3389, remote="10.30.0.0/16")], {"r"}),  # VDI is not in LGWAN (α)
    "internet-egress-only-proxy": (
        [*W, rule("r", "sg-vdi", "egress", port=3128, remote="10.250.0.1/32")],
        [*W, rule("r", "sg-vdi", "egress", port=443, remote="0.0.0.0/0")], {"r"}),
    "lgwan-no-direct-internet": (
        [*W, rule("r", "sg-zeimu", "egress", port=443, remote="10.200.1.0/24")],
        [*W, rule("r", "sg-zeimu", "egress", port=443, remote="52.94.1.0/24")], {"r"}),  # breakout, but model α
    "mynumber-volume-encrypted": (
        [*W, R(C.T_VOLUME, "v", metadata={"shuyaku:layer": "mynumber"}, volumeType="encrypted-luks"),
         R(C.T_VOLUME, "v2", metadata={"shuyaku:layer": "lgwan"})],
        [*W, R(C.T_VOLUME, "v", metadata={"shuyaku:layer": "mynumber"}, volumeType="standard")], {"v"}),
    "project-required-tags": (
        [W[0]], [R(C.T_PROJECT, "p", tags=["shuyaku:system=x", "shuyaku:layer=dmz"])], {"p"}),
    "project-has-quotas": (
        [W[0], *quotas("juki")], [W[0], *quotas("juki")[:2]], {"prj-juki"}),
    "vendor-roles-own-project": (
        [*W, assign("ra", "vendor-acme-juki", "prj-juki")],
        [*W, assign("ra", "vendor-acme-juki", "prj-zeimu")], {"ra"}),
    "instance-allowed-image-flavor": (
        [R(INST, "vm", imageName="ubuntu-24.04-hardened", flavorName="s1.small")],
        [R(INST, "vm", imageName="ubuntu-24.04-hardened", flavorName="s1.small",
           blockDevices=[{"sourceType": "image", "uuid": "some-other-image", "destinationType": "volume"}])],
        {"vm"}),
    "cross-tenant-rule-declared": (
        [*W, rule("r", "sg-zeimu", "ingress", port=5432, remote="10.10.1.0/24")],
        [*W, rule("r", "sg-zeimu", "ingress", port=5432, group="sg-vdi")], {"r"}),
    "no-plaintext-secrets": (
        [R(INST, "vm", userData="#cloud-config\nssh_pwauth: false\nchpasswd:\n  expire: true\n",
           metadata={"role": "web"})],
        [R(INST, "vm", userData="#!/bin/sh\nexport OS_PASSWORD=s3cr3tpass\n")], {"vm"}),
    "warm-standby-in-dr": (
        [R(C.T_PROJECT, "p", tags=["shuyaku:system=juki", "shuyaku:site=dr"]), R(C.T_STACK, "s")],
        [R(C.T_PROJECT, "p", tags=["shuyaku:system=zeimu", "shuyaku:site=dr"]), R(C.T_STACK, "s")], {"s"}),
}


def direct(rule_id: str, resources: list[Resource], settings) -> set[tuple[str, str | None]]:
    r = get(rule_id)
    if r.check is not None:
        return {(v.rule_id, v.urn) for res in resources if res.type in r.resource_types
                for v in r.check(res, settings)}
    return {(v.rule_id, v.urn) for v in r.check_stack(resources, settings)}


def settings_for(rule_id: str) -> dict:
    return {k: SETTINGS[k] for k in get(rule_id).config_keys}


def test_every_rule_has_cases():
    from test_policy_rules_isolation import CASES as ISOLATION

    assert not set(CASES) & set(ISOLATION)
    assert set(CASES) | set(ISOLATION) == {r.id for r in all_rules()} - {"stack-config-no-plaintext-secrets"}


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_passing_resource(rule_id):
    good, _bad, _names = CASES[rule_id]
    assert direct(rule_id, good, settings_for(rule_id)) == set()
    assert run(from_model(good), {rule_id: settings_for(rule_id)}, only=rule_id) == set()


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_failing_resource(rule_id):
    _good, bad, names = CASES[rule_id]
    want = {(rule_id, r.urn) for r in bad if r.name in names}
    assert direct(rule_id, bad, settings_for(rule_id)) == want
    # Through the CrossGuard policy: same rule, same resources.
    assert run(from_model(bad), {rule_id: settings_for(rule_id)}, only=rule_id) == want


def test_stack_config_secrets_both_modes():
    from shuyaku.policy.context import Index

    stack = R(C.T_STACK, "s")
    rule_ = get("stack-config-no-plaintext-secrets")
    plain = {"app:dbPassword": ("hunter22", False), "app:key": ("-----BEGIN RSA PRIVATE KEY-----\n", False)}
    ok = {"app:dbPassword": ("hunter22", True), "app:region": ("RegionOne", False)}
    assert {v.urn for v in rule_.check_stack(Index([stack], plain), {})} == {stack.urn}
    assert list(rule_.check_stack(Index([stack], ok), {})) == []
    got = run(from_model([stack]), {}, {"app:dbPassword": "hunter22"}, only=rule_.id)
    assert got == {(rule_.id, stack.urn)}
    assert run(from_model([stack]), {}, {"app:dbPassword": "[secret]"}, only=rule_.id) == set()


def test_structured_stack_config_reads_the_same_from_preview_and_engine():
    from shuyaku.policy import loader
    from shuyaku.policy.context import Index

    # `pulumi config set --path --secret db.pw x` + `db.user`: preview JSON masks the leaf, the engine marks the key.
    preview = loader.stack_config_from_preview({"app:db": '{"pw":"[secret]","user":"a"}',
                                                "app:backup": '{"adminPassword":"plain1","host":"h"}'})
    engine = loader.stack_config_from_engine({"app:db": '{"pw":"x","user":"a"}',
                                              "app:backup": '{"adminPassword":"plain1","host":"h"}'}, ["app:db"])
    assert preview == engine
    stack = R(C.T_STACK, "s")
    found = get("stack-config-no-plaintext-secrets").check_stack(Index([stack], preview), {})
    assert [v.message.en for v in found] == [
        "stack config app:backup.adminPassword holds a secret (secret-named key) in plain text."]


def test_default_provider_is_read_from_stack_config():
    from shuyaku.policy import loader

    prov = "urn:pulumi:s::p::pulumi:providers:openstack::default_5_5_3"
    sg = R(C.T_SG, "sg", {})
    sg.provider = prov + "::04da6b54-80e4-46f7-96ec-b56ff0331ba9"
    config = {"openstack:password": ("[secret]", True), "openstack:token": ("t0ken-plain", False),
              "app:x": ("y", False)}
    out = loader.with_default_providers([sg], config)
    (p,) = [r for r in out if r.urn == prov]
    assert p.props == {"password": SecretValue(None), "token": "t0ken-plain"}
    messages = {v.message.en for v in get("provider-no-inline-credentials").check_stack(out, {})}
    assert messages == {"the OpenStack provider has token set in plain text."}
    # The encrypted password is accepted; the advisory rule prefers application credentials.
    advice = {v.message.en for v in get("provider-prefer-application-credentials").check_stack(out, {})}
    assert advice == {"the OpenStack provider reads password from encrypted stack config "
                      "(application credentials are preferred)."}
    assert loader.with_default_providers([sg], None) == [sg]  # no config seen: nothing to say


def test_a_secret_in_user_data_counts_whether_readable_or_not():
    """The pack reads a secret's value, preview JSON shows "[secret]": the rule judges the mark alone."""
    rule_ = get("no-plaintext-secrets")
    for value in (SecretValue("#cloud-config\nssh_pwauth: false\n"), SecretValue(None)):
        vm = R(C.T_INSTANCE, "vm", userData=value, metadata={"api_token": value, "role": "app"})
        assert [v.message.en for v in rule_.check(vm, {})] == [
            "userData contains a secret (Pulumi secret).", "metadata.api_token contains a secret (Pulumi secret)."]


def test_nested_metadata_is_checked_under_its_own_key():
    """Values are judged by the nearest key above them, lists included; harmless keys and values pass."""
    vm = R(C.T_INSTANCE, "vm", metadata={"app": {"db_passwords": ["hunter22"], "hosts": ["db1", "db2"]},
                                         "notes": ["export API_TOKEN=abcdef123"], "port": 5432})
    assert [v.message.en for v in get("no-plaintext-secrets").check(vm, {})] == [
        "metadata.app.db_passwords[0] contains a secret (secret-named key).",
        "metadata.notes[0] contains a secret (password in environment)."]


def test_alpha_prime_allows_the_listed_breakout():
    res = [*W, rule("r", "sg-zeimu", "egress", port=443, remote="52.94.1.0/24")]
    s = {**settings_for("lgwan-no-direct-internet"), "separation_model": "α'"}
    assert direct("lgwan-no-direct-internet", res, s) == set()


def test_beta_allows_screen_transfer_into_lgwan_desktops():
    vdi_lgwan = R(C.T_SG, "sg-lgdesk", {"tenantId": "prj-zeimu"}, tenantId="id-prj-zeimu", description="d",
                  tags=["shuyaku:layer=lgwan", "shuyaku:role=vdi"])
    res = [*W, vdi_lgwan, rule("r", "sg-lgdesk", "ingress", port=3389, remote="10.30.0.0/16")]
    s = settings_for("lgwan-internet-screen-or-relay")
    assert direct("lgwan-internet-screen-or-relay", res, s) != set()
    assert direct("lgwan-internet-screen-or-relay", res, {**s, "separation_model": "beta"}) == set()


def test_unknown_values_during_preview_are_not_guessed():
    r = rule("r", "sg-vdi", "ingress", port=22, remote="0.0.0.0/0")
    r.props["remoteIpPrefix"] = UNKNOWN
    for rid in ("secgroup-no-public-ssh", "secgroup-no-public-ingress"):
        assert direct(rid, [r], {}) == set()


def test_admin_role_by_literal_id():
    res = [*W, R(C.T_ROLE_ASSIGN, "ra", {"groupId": "vendor-acme-juki", "projectId": "prj-juki"},
                 groupId="id-vendor-acme-juki", projectId="id-prj-juki", roleId="9fe2ff9e")]
    s = {**settings_for("vendor-roles-own-project"), "admin_role_ids": ["9fe2ff9e"]}
    assert direct("vendor-roles-own-project", res, s) == {("vendor-roles-own-project", res[-1].urn)}


def test_mynumber_denies_addresses_in_no_layer():
    rid = "mynumber-ingress-only-listed"
    res = [*W, rule("r", "sg-juki", "ingress", port=22, remote="172.31.250.0/24")]
    assert direct(rid, res, settings_for(rid)) == {(rid, res[-1].urn)}
    assert run(from_model(res), {rid: settings_for(rid)}, only=rid) == {(rid, res[-1].urn)}


@pytest.mark.parametrize(("text", "kind"), [
    ("#cloud-config\nusers:\n  - name: ops\n    plain_text_passwd: hunter22\n", "cloud-init password"),
    ("#cloud-config\nchpasswd:\n  list: |\n    root:Sup3rSecret\n", "chpasswd entry"),
    ("#!/bin/sh\necho 'x9!kq' | passwd --stdin root\n", "passwd --stdin"),
    ("#!/bin/sh\nmysql --password=Zq8sd7f6 -e 'select 1'\n", "password option"),
    ("export OS_APPLICATION_CREDENTIAL_SECRET=abcdef123456\n", "password in environment"),
    ("key: |\n  -----BEGIN EC PRIVATE KEY-----\n  MHcCAQEE\n", "private key"),
    ("token ghp_" + "a" * 36, "GitHub token"),
    ("#!/bin/sh\nexport MYSQL_PWD=hunter22\n", "password-named setting"),
    ("db:\n  db_pw: Zq8sd7f6\n", "password-named setting"),
    ("app_password = s3cret-x\n", "password in environment"),
    ("otpauth://totp/city:ops?secret=JBSWY3DPEHPK3PXP&issuer=city", "TOTP seed"),
    ("totp_seed: JBSWY3DPEHPK3PXPJBSWY3DP\n", "TOTP seed"),
    ("#cloud-config\nssh_pwauth: false\npackage_update: true\n", None),
    ("#cloud-config\npassword: ${VAULT_PASSWORD}\n", None),
    ("#cloud-config\nchpasswd:\n  expire: true\n  list: |\n    root:$6$rounds=4096$abc$def\n", None),
    ("#!/bin/sh\nexport DB_PASSWORD=\"$(cat /run/secrets/db)\"\n", None),
])
def test_secret_patterns(text, kind):
    from shuyaku.policy.rules import _secrets

    assert _secrets.find(text) == kind


def test_checks_return_lists():
    inst = R(INST, "vm", adminPass="x")
    assert get("instance-no-admin-pass").check(inst, {}) == [get("instance-no-admin-pass").violation(
        inst.urn, "インスタンスに adminPass（管理者パスワード）が設定されています。",
        "the instance has adminPass (an administrator password) set.")]
    assert get("project-has-quotas").check_stack([], {}) == []


def test_volume_layer_from_the_server_it_is_attached_to():
    """A vendor stack's volumes carry no tags; the attached server's tags place them."""
    rid = "mynumber-volume-encrypted"
    vm = R(INST, "vm", tags=["shuyaku:system=juki", "shuyaku:layer=mynumber"])
    vol = R(C.T_VOLUME, "vol", volumeType="standard")
    att = R("openstack:compute/volumeAttach:VolumeAttach", "att", {"instanceId": "vm", "volumeId": "vol"},
            instanceId="id-vm", volumeId="id-vol")
    assert direct(rid, [vm, vol, att], settings_for(rid)) == {(rid, vol.urn)}
    assert run(from_model([vm, vol, att]), {rid: settings_for(rid)}, only=rid) == {(rid, vol.urn)}
    vol.props["volumeType"] = "encrypted-luks"
    assert direct(rid, [vm, vol, att], settings_for(rid)) == set()
