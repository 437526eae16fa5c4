"""Writes tests/policy/corpus/: a clean sample city and deliberately broken variants of it.

Each broken file's expected findings are written here by hand (rule id, resource name), not computed by
the rules, so the corpus test checks the rules against an independent statement of what is wrong.
Run: .venv/bin/python tests/policy/make_corpus.py  (idempotent; the test checks the files are current)
"""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "corpus"
SIG = "4dabf18193072939515e22adb298388d"
SECRET = "1b47061264138c4ac30d75fd1eb44270"
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"

T = {
    "project": "openstack:identity/project:Project",
    "group": "openstack:identity/groupV3:GroupV3",
    "role": "openstack:identity/role:Role",
    "assign": "openstack:identity/roleAssignment:RoleAssignment",
    "qc": "openstack:compute/quotaSetV2:QuotaSetV2",
    "qn": "openstack:networking/quotaV2:QuotaV2",
    "qv": "openstack:blockstorage/quoteSetV3:QuoteSetV3",
    "net": "openstack:networking/network:Network",
    "subnet": "openstack:networking/subnet:Subnet",
    "router": "openstack:networking/router:Router",
    "route": "openstack:networking/routerRoute:RouterRoute",
    "port": "openstack:networking/port:Port",
    "fipa": "openstack:networking/floatingIpAssociate:FloatingIpAssociate",
    "sg": "openstack:networking/secGroup:SecGroup",
    "rule": "openstack:networking/secGroupRule:SecGroupRule",
    "fw": "openstack:firewall/ruleV2:RuleV2",
    "rif": "openstack:networking/routerInterface:RouterInterface",
    "image": "openstack:images/image:Image",
    "keypair": "openstack:compute/keypair:Keypair",
    "stackref": "pulumi:pulumi:StackReference",
    "instance": "openstack:compute/instance:Instance",
    "volume": "openstack:blockstorage/volume:Volume",
    "provider": "pulumi:providers:openstack",
    "stack": "pulumi:pulumi:Stack",
}


def secret(value):
    return {SIG: SECRET, "plaintext": json.dumps(value)}


class City:
    """A small stack export in the shape `pulumi stack export --show-secrets` writes."""

    def __init__(self, stack: str = "onprem"):
        self.stack = stack
        self.resources: list[dict] = []
        self.by_name: dict[str, dict] = {}
        self.add("stack", f"shuyaku-{stack}", {}, custom=False)
        self.add("provider", "default_5_5_3", {"cloud": "shuyaku", "region": "RegionOne"})

    def urn(self, kind: str, name: str) -> str:
        return f"urn:pulumi:{self.stack}::shuyaku::{T[kind]}::{name}"

    def add(self, kind, name, inputs, deps=None, custom=True):
        r = {"urn": self.urn(kind, name), "custom": custom, "type": T[kind], "inputs": inputs}
        if custom and kind != "provider":
            r["id"] = f"id-{name}"
            r["provider"] = self.by_name["default_5_5_3"]["urn"] + "::prov-id"
        elif kind == "provider":
            r["id"] = "prov-id"
        if kind != "stack":
            r["parent"] = self.resources[0]["urn"]
        if deps:
            r["propertyDependencies"] = {k: [self.by_name[n]["urn"]] for k, n in deps.items()}
            r["dependencies"] = sorted({self.by_name[n]["urn"] for n in deps.values()})
        self.resources.append(r)
        self.by_name[name] = r
        return r

    def id(self, name):
        return self.by_name[name]["id"]

    def project(self, system, layer, dept, vendor, quotas=True, extra_tags=()):
        tags = [f"shuyaku:system={system}", f"shuyaku:layer={layer}", f"shuyaku:department={dept}",
                f"shuyaku:vendor={vendor}", f"shuyaku:site={self.stack}", *extra_tags]
        self.add("project", f"prj-{system}", {"name": f"prj-{system}", "description": system, "tags": tags})
        if quotas:
            for q in ("qc", "qn", "qv"):
                self.add(q, f"{q}-{system}", {"projectId": self.id(f"prj-{system}")},
                         deps={"projectId": f"prj-{system}"})

    def network(self, system, layer, cidr):
        tags = [f"shuyaku:system={system}", f"shuyaku:layer={layer}"]
        self.add("net", f"net-{system}", {"name": f"net-{system}", "tenantId": self.id(f"prj-{system}"),
                                          "tags": tags}, deps={"tenantId": f"prj-{system}"})
        self.add("subnet", f"subnet-{system}", {"cidr": cidr, "networkId": self.id(f"net-{system}"),
                                                "ipVersion": 4, "tags": tags},
                 deps={"networkId": f"net-{system}"})

    def sg(self, name, system, layer, role=None, description=True, ddr=True):
        tags = [f"shuyaku:system={system}", f"shuyaku:layer={layer}"] + ([f"shuyaku:role={role}"] if role else [])
        inputs = {"name": name, "tags": tags, "tenantId": self.id(f"prj-{system}"), "deleteDefaultRules": ddr}
        if description:
            inputs["description"] = f"{system} {role or 'servers'}"
        self.add("sg", name, inputs, deps={"tenantId": f"prj-{system}"})

    def rule(self, name, sg, direction, proto, port, remote=None, group=None, ethertype="IPv4"):
        inputs = {"securityGroupId": self.id(sg), "direction": direction, "ethertype": ethertype,
                  "protocol": proto, "portRangeMin": port, "portRangeMax": port}
        deps = {"securityGroupId": sg}
        if remote is not None:
            inputs["remoteIpPrefix"] = remote
        if group is not None:
            inputs["remoteGroupId"] = self.id(group)
            deps["remoteGroupId"] = group
        self.add("rule", name, inputs, deps=deps)

    def states(self):
        """Resources as the engine records them: outputs echo the inputs once created."""
        out = []
        for r in self.resources:
            r = dict(r)
            r.setdefault("outputs", dict(r["inputs"]))
            out.append(r)
        return out

    def doc(self):
        return {"version": 3, "deployment": {
            "manifest": {"time": "2026-11-26T12:00:00Z", "magic": "", "version": "v3.272.0"},
            "secrets_providers": {"type": "passphrase"},
            "resources": self.states()}}


def baseline(stack: str = "onprem") -> City:
    c = City(stack)
    c.project("shared", "shared", "情報政策課", "city")
    c.project("juki", "mynumber", "市民課", "acme", extra_tags=["shuyaku:dr=warm"])
    c.project("zeimu", "lgwan", "税務課", "beta-soft", extra_tags=["shuyaku:dr=warm"])
    c.project("vdi", "internet", "情報政策課", "city")
    c.network("shared", "shared", "10.40.0.0/24")
    c.network("juki", "mynumber", "10.10.1.0/24")
    c.network("zeimu", "lgwan", "10.20.1.0/24")
    c.network("vdi", "internet", "10.30.8.0/24")
    # The zones' routers are the operator's (no tenant project), tagged with their layer.
    c.add("router", "rt-juki", {"name": "rt-juki", "tags": ["shuyaku:layer=mynumber", "shuyaku:role=router"]})
    c.add("router", "rt-vdi", {"name": "rt-vdi", "externalNetworkId": "ext-net-id",
                               "tags": ["shuyaku:layer=internet", "shuyaku:role=router"]})
    c.sg("sg-shared", "shared", "shared")
    c.sg("sg-relay", "shared", "shared", role="relay")
    c.sg("sg-juki", "juki", "mynumber")
    c.sg("sg-zeimu", "zeimu", "lgwan")
    c.sg("sg-vdi", "vdi", "internet", role="vdi")
    c.rule("r-shared-ssh", "sg-shared", "ingress", "tcp", 22, remote="10.40.0.0/24")
    c.rule("r-relay-sftp", "sg-relay", "ingress", "tcp", 22, remote="10.30.0.0/16")
    c.rule("r-juki-hub", "sg-juki", "ingress", "tcp", 443, remote="10.40.16.0/28")
    c.rule("r-juki-bastion", "sg-juki", "ingress", "tcp", 22, group="sg-shared")
    c.rule("r-zeimu-from-juki", "sg-zeimu", "ingress", "tcp", 5432, remote="10.10.1.0/24")
    c.rule("r-zeimu-from-relay", "sg-zeimu", "ingress", "tcp", 445, remote="10.40.8.0/28")
    c.rule("r-zeimu-to-vdi", "sg-zeimu", "egress", "tcp", 3389, remote="10.30.8.0/24")
    c.rule("r-vdi-from-lgwan", "sg-vdi", "ingress", "tcp", 3389, remote="10.20.0.0/16")
    c.rule("r-vdi-proxy", "sg-vdi", "egress", "tcp", 8080, remote="10.250.0.1/32")
    c.add("fw", "fw-dns", {"action": "allow", "protocol": "udp", "sourceIpAddress": "10.20.0.0/16",
                           "destinationIpAddress": "10.40.0.53/32", "destinationPort": "53"})
    c.add("instance", "vm-juki-app", {
        "name": "vm-juki-app", "imageName": "ubuntu-24.04-hardened", "flavorName": "s1.medium",
        "keyPair": "ops", "networks": [{"uuid": c.id("net-juki")}],
        "userData": "#cloud-config\npackage_update: true\nssh_pwauth: false\n",
        "metadata": {"shuyaku:system": "juki", "shuyaku:layer": "mynumber"}}, deps={"networks": "net-juki"})
    c.add("volume", "vol-juki-data", {"name": "vol-juki-data", "size": 100, "volumeType": "encrypted-luks",
                                      "metadata": {"shuyaku:system": "juki", "shuyaku:layer": "mynumber"}})
    c.add("role", "role-vendor", {"name": "shuyaku-vendor"})
    for vendor, system in (("acme", "juki"), ("beta-soft", "zeimu")):
        g = f"vendor-{vendor}-{system}"
        c.add("group", g, {"name": g, "description": f"{vendor} ({system})"})
        c.add("assign", f"ra-{g}", {"groupId": c.id(g), "projectId": c.id(f"prj-{system}"),
                                    "roleId": c.id("role-vendor")},
              deps={"groupId": g, "projectId": f"prj-{system}", "roleId": "role-vendor"})
    return c


def cases() -> dict[str, tuple[object, list[tuple[str, str]]]]:
    """file stem -> (document, [(rule id, resource name or 'STACK')])."""
    out: dict[str, tuple[object, list[tuple[str, str]]]] = {}

    def case(stem, expected, mutate, stack="onprem"):
        c = baseline(stack)
        mutate(c)
        out[stem] = (c, expected)

    out["clean"] = (baseline(), [])
    rule_cases(case)
    combination_cases(case)
    isolation_cases(case)
    return out


def rule_cases(case) -> None:
    """One rule broken per file."""
    case("provider-no-inline-credentials", [("provider-no-inline-credentials", "default_5_5_3")],
         lambda c: c.by_name["default_5_5_3"]["inputs"].update(
             {"authUrl": "https://keystone.example.lg.jp:5000/v3", "userName": "admin", "password": "Passw0rd!"}))
    case("secgroup-no-public-ssh",
         [("secgroup-no-public-ssh", "r-bad"), ("secgroup-no-public-ingress", "r-bad")],
         lambda c: c.rule("r-bad", "sg-shared", "ingress", "tcp", 22, remote="::/0", ethertype="IPv6"))
    case("secgroup-no-public-rdp",
         [("secgroup-no-public-rdp", "r-bad"), ("secgroup-no-public-ingress", "r-bad")],
         lambda c: c.rule("r-bad", "sg-vdi", "ingress", "tcp", 3389, remote="0.0.0.0/0"))

    def admin_pass(c):
        c.add("instance", "vm-bad", {"name": "vm-bad", "imageName": "ubuntu-24.04-hardened",
                                     "flavorName": "s1.small", "adminPass": secret("S3cret-pass"),
                                     "networks": [{"uuid": c.id("net-shared")}]})
    case("instance-no-admin-pass", [("instance-no-admin-pass", "vm-bad")], admin_pass)
    case("firewall-rule-destination-required", [("firewall-rule-destination-required", "fw-bad")],
         lambda c: c.add("fw", "fw-bad", {"action": "allow", "protocol": "tcp", "sourceIpAddress": "10.20.0.0/16"}))
    case("firewall-rule-no-public-access", [("firewall-rule-no-public-access", "fw-bad")],
         lambda c: c.add("fw", "fw-bad", {"action": "allow", "protocol": "tcp", "sourceIpAddress": "8.8.8.0/24",
                                          "destinationIpAddress": "10.40.0.5/32", "destinationPort": "443"}))
    case("secgroup-no-public-ingress", [("secgroup-no-public-ingress", "r-bad")],
         lambda c: c.rule("r-bad", "sg-shared", "ingress", "tcp", 443, remote="1.2.3.0/24"))
    case("secgroup-no-public-egress", [("secgroup-no-public-egress", "r-bad")],
         lambda c: c.rule("r-bad", "sg-shared", "egress", "tcp", 443, remote="1.2.3.0/24"))
    case("secgroup-description-required", [("secgroup-description-required", "sg-bad")],
         lambda c: c.sg("sg-bad", "shared", "shared", description=False))
    case("mynumber-no-internet-path", [("mynumber-no-internet-path", "rt-juki"),
                                       ("router-no-external-gateway-in-mynumber-lgwan", "rt-juki")],
         lambda c: c.by_name["rt-juki"]["inputs"].update({"externalNetworkId": "ext-net-id"}))
    case("mynumber-ingress-only-listed", [("mynumber-ingress-only-listed", "r-bad")],
         lambda c: c.rule("r-bad", "sg-juki", "ingress", "tcp", 5432, remote="10.20.0.0/16"))
    case("lgwan-internet-screen-or-relay", [("lgwan-internet-screen-or-relay", "r-bad")],
         lambda c: c.rule("r-bad", "sg-zeimu", "egress", "tcp", 80, remote="10.30.0.0/16"))

    def egress(c):
        c.rule("r-bad", "sg-vdi", "egress", "tcp", 443, remote="93.184.216.34/32")
        c.sg("sg-vdi-web", "vdi", "internet", ddr=False)
    case("internet-egress-only-proxy",
         [("internet-egress-only-proxy", "r-bad"), ("internet-egress-only-proxy", "sg-vdi-web")], egress)
    case("lgwan-no-direct-internet", [("lgwan-no-direct-internet", "r-bad")],
         lambda c: c.rule("r-bad", "sg-zeimu", "egress", "tcp", 443, remote="52.0.0.1/32"))
    case("mynumber-volume-encrypted", [("mynumber-volume-encrypted", "vol-juki-data")],
         lambda c: c.by_name["vol-juki-data"]["inputs"].update({"volumeType": "standard"}))

    def untagged(c):
        c.add("project", "prj-legacy", {"name": "prj-legacy", "tags": ["shuyaku:system=legacy",
                                                                     "shuyaku:layer=lgwan"]})
        for q in ("qc", "qn", "qv"):
            c.add(q, f"{q}-legacy", {"projectId": c.id("prj-legacy")}, deps={"projectId": "prj-legacy"})
    case("project-required-tags", [("project-required-tags", "prj-legacy")], untagged)
    case("project-has-quotas", [("project-has-quotas", "prj-kokuho")],
         lambda c: c.project("kokuho", "lgwan", "保険年金課", "gamma", quotas=False))

    def wrong_project(c):
        c.add("assign", "ra-bad", {"groupId": c.id("vendor-acme-juki"), "projectId": c.id("prj-zeimu"),
                                   "roleId": c.id("role-vendor")},
              deps={"groupId": "vendor-acme-juki", "projectId": "prj-zeimu", "roleId": "role-vendor"})
    case("vendor-roles-own-project", [("vendor-roles-own-project", "ra-bad")], wrong_project)
    case("instance-allowed-image-flavor", [("instance-allowed-image-flavor", "vm-juki-app")],
         lambda c: c.by_name["vm-juki-app"]["inputs"].update({"imageName": "centos-7", "flavorName": "x1.huge"}))
    case("cross-tenant-rule-declared", [("cross-tenant-rule-declared", "r-bad")],
         lambda c: c.rule("r-bad", "sg-zeimu", "ingress", "tcp", 8080, remote="10.10.1.0/24"))

    def leaky(c):
        c.by_name["vm-juki-app"]["inputs"].update({
            "userData": "#cloud-config\nwrite_files:\n  - path: /root/.ssh/id_ed25519\n    content: |\n"
                        "      -----BEGIN OPENSSH PRIVATE KEY-----\n      b3BlbnNzaC1rZXktdjEAAAAA\n"
                        "      -----END OPENSSH PRIVATE KEY-----\n",
            "metadata": {"shuyaku:layer": "mynumber", "db_password": "hunter22"}})
    case("no-plaintext-secrets", [("no-plaintext-secrets", "vm-juki-app")], leaky)

    def dr(c):
        for p in c.resources:
            if p["type"] == T["project"] and p["inputs"]["name"] == "prj-zeimu":
                p["inputs"]["tags"] = [t for t in p["inputs"]["tags"] if not t.startswith("shuyaku:site=")]
    case("warm-standby-in-dr", [("warm-standby-in-dr", "STACK")], dr, stack="dr")


def combination_cases(case) -> None:
    """Several rules at once, on the same and on different resources."""
    def exposed(c):
        c.by_name["rt-juki"]["inputs"].update({"externalNetworkId": "ext-net-id"})
        c.add("port", "port-juki-app", {"networkId": c.id("net-juki")}, deps={"networkId": "net-juki"})
        c.add("fipa", "fip-juki-app", {"floatingIp": "203.0.113.10", "portId": c.id("port-juki-app")},
              deps={"portId": "port-juki-app"})
        c.add("route", "route-juki-default", {"routerId": c.id("rt-juki"), "destinationCidr": "0.0.0.0/0",
                                              "nextHop": "10.10.1.254"}, deps={"routerId": "rt-juki"})
        c.rule("r-juki-world-ssh", "sg-juki", "ingress", "tcp", 22, remote="0.0.0.0/0")
    case("combo-mynumber-exposed", [
        ("mynumber-no-internet-path", "rt-juki"), ("mynumber-no-internet-path", "fip-juki-app"),
        ("router-no-external-gateway-in-mynumber-lgwan", "rt-juki"),
        ("mynumber-no-internet-path", "route-juki-default"), ("secgroup-no-public-ssh", "r-juki-world-ssh"),
        ("secgroup-no-public-ingress", "r-juki-world-ssh"), ("mynumber-ingress-only-listed", "r-juki-world-ssh"),
    ], exposed)

    def vendor_admin(c):
        c.add("role", "role-admin", {"name": "admin"})
        c.add("assign", "ra-admin", {"groupId": c.id("vendor-beta-soft-zeimu"), "projectId": c.id("prj-zeimu"),
                                     "roleId": c.id("role-admin")},
              deps={"groupId": "vendor-beta-soft-zeimu", "projectId": "prj-zeimu", "roleId": "role-admin"})
        c.add("assign", "ra-domain", {"groupId": c.id("vendor-beta-soft-zeimu"), "domainId": "default",
                                      "roleId": c.id("role-vendor")},
              deps={"groupId": "vendor-beta-soft-zeimu", "roleId": "role-vendor"})
        c.by_name["vol-juki-data"]["inputs"].pop("volumeType")
        c.sg("sg-lgwan-misc", "zeimu", "lgwan", description=False)
        c.rule("r-misc-any", "sg-lgwan-misc", "egress", "", None)
    case("combo-tenancy", [
        ("vendor-roles-own-project", "ra-admin"), ("vendor-roles-own-project", "ra-domain"),
        ("role-not-admin", "ra-admin"),
        ("mynumber-volume-encrypted", "vol-juki-data"), ("secgroup-description-required", "sg-lgwan-misc"),
        ("secgroup-no-public-egress", "r-misc-any"), ("lgwan-no-direct-internet", "r-misc-any"),
        ("lgwan-internet-screen-or-relay", "r-misc-any"),
    ], vendor_admin)


def isolation_cases(case) -> None:
    """What a tenant may not do to its own network, images, keys and roles (issue 11)."""
    def own_router(c):
        c.add("router", "rt-own", {"name": "rt-own", "tenantId": c.id("prj-zeimu")}, deps={"tenantId": "prj-zeimu"})
        c.add("rif", "rif-own", {"routerId": c.id("rt-own"), "subnetId": c.id("subnet-zeimu")},
              deps={"routerId": "rt-own", "subnetId": "subnet-zeimu"})
    case("tenant-no-router", [("tenant-no-router", "rt-own"), ("router-interface-operator-only", "rif-own")],
         own_router)

    def lgwan_gateway(c):
        c.add("router", "rt-zeimu", {"name": "rt-zeimu", "externalNetworkId": "public",
                                     "tags": ["shuyaku:layer=lgwan", "shuyaku:role=router"]})
    case("router-no-external-gateway-in-mynumber-lgwan",
         [("router-no-external-gateway-in-mynumber-lgwan", "rt-zeimu")], lgwan_gateway)
    case("port-not-on-external-network", [("port-not-on-external-network", "port-ext")],
         lambda c: c.add("port", "port-ext", {"name": "port-ext", "networkId": "ext-net-id"}))
    case("port-security-enabled", [("port-security-enabled", "port-open")],
         lambda c: c.add("port", "port-open", {"networkId": c.id("net-juki"), "portSecurityEnabled": False},
                         deps={"networkId": "net-juki"}))
    case("port-no-wide-address-pairs", [("port-no-wide-address-pairs", "port-pairs")],
         lambda c: c.add("port", "port-pairs", {"networkId": c.id("net-zeimu"),
                                                "allowedAddressPairs": [{"ipAddress": "10.20.0.0/16"}]},
                         deps={"networkId": "net-zeimu"}))
    case("instance-flavor-matches-layer", [("instance-flavor-matches-layer", "vm-juki-app")],
         lambda c: c.by_name["vm-juki-app"]["inputs"].update({"availabilityZone": "az-internet"}))
    case("secgroup-no-all-protocols-from-peer-tenant",
         [("secgroup-no-all-protocols-from-peer-tenant", "r-bad"), ("cross-tenant-rule-declared", "r-bad")],
         lambda c: c.rule("r-bad", "sg-zeimu", "ingress", "", None, remote="10.10.1.0/24"))

    def ops_admin(c):
        c.add("group", "ops-team", {"name": "ops-team", "description": "operators"})
        c.add("role", "role-admin", {"name": "admin"})
        c.add("assign", "ra-ops-admin", {"groupId": c.id("ops-team"), "projectId": c.id("prj-shared"),
                                         "roleId": c.id("role-admin")},
              deps={"groupId": "ops-team", "projectId": "prj-shared", "roleId": "role-admin"})
    case("role-not-admin", [("role-not-admin", "ra-ops-admin")], ops_admin)
    case("keypair-no-private-key", [("keypair-no-private-key", "kp-generated")],
         lambda c: c.add("keypair", "kp-generated", {"name": "kp-generated"}))
    case("no-secrets-in-user-data", [("no-secrets-in-user-data", "vm-juki-app")],
         lambda c: c.by_name["vm-juki-app"]["inputs"].update({"userData": base64.b64encode(
             b"#!/bin/sh\nexport MYSQL_PWD=hunter22\necho 'otpauth://totp/city?secret=JBSWY3DPEHPK3PXP'\n").decode()}))
    case("provider-prefer-application-credentials",
         [("provider-prefer-application-credentials", "default_5_5_3")],
         lambda c: c.by_name["default_5_5_3"]["inputs"].update(
             {"authUrl": "https://keystone.example.lg.jp:5000/v3", "userName": "deployer",
              "password": secret("Passw0rd-but-encrypted")}))


def preview_case() -> tuple[dict, list[tuple[str, str]]]:
    """`pulumi preview --json` of a change adding an open SSH rule whose group id is not known yet,
    with a plain-text password in stack config."""
    c = baseline()
    c.rule("r-new-ssh", "sg-juki", "ingress", "tcp", 22, remote="0.0.0.0/0")
    c.by_name["r-new-ssh"]["inputs"]["securityGroupId"] = UNKNOWN
    c.by_name["r-new-ssh"]["outputs"] = {}
    steps = []
    for r in c.states():
        state = {k: v for k, v in r.items() if k != "id" or r["urn"] != c.by_name["r-new-ssh"]["urn"]}
        steps.append({"op": "create" if r["urn"] == c.by_name["r-new-ssh"]["urn"] else "same",
                      "urn": r["urn"], "provider": r.get("provider", ""), "newState": state})
    steps.append({"op": "delete", "urn": c.urn("rule", "r-old"),
                  "oldState": {"urn": c.urn("rule", "r-old"), "type": T["rule"],
                               "inputs": {"direction": "ingress", "remoteIpPrefix": "0.0.0.0/0"}}})
    doc = {"config": {"openstack:cloud": "shuyaku", "shuyaku:dbPassword": "hunter22",
                      "shuyaku:apiToken": "[secret]"},
           "steps": steps, "diagnostics": [], "duration": 1000000000,
           "changeSummary": {"create": 1, "same": len(steps) - 2, "delete": 1}}
    expected = [("secgroup-no-public-ssh", "r-new-ssh"), ("secgroup-no-public-ingress", "r-new-ssh"),
                ("mynumber-ingress-only-listed", "r-new-ssh"), ("stack-config-no-plaintext-secrets", "STACK")]
    return doc, expected


def vendor_preview_case() -> tuple[dict, list[tuple[str, str]]]:
    """`pulumi preview --json` of a vendor's stack (project vendor-s001, as `shuyaku vendor init` names it) that
    tags nothing: the stack's tenant, read from the platform's hand-off, places every resource."""
    c = City("dev")
    for r in c.resources:
        r["urn"] = r["urn"].replace("::shuyaku::", "::vendor-s001::")
    c.urn = lambda kind, name: f"urn:pulumi:dev::vendor-s001::{T[kind]}::{name}"  # type: ignore[method-assign]
    hand_off = {"S001": {"system_id": "S001", "layer": "mynumber", "cidr": "10.10.1.0/24",
                         "tags": ["shuyaku:system=S001", "shuyaku:layer=mynumber", "shuyaku:vendor=acme"]}}
    ref = c.add("stackref", "organization/shuyaku-platform/onprem", {"name": "organization/shuyaku-platform/onprem"})
    ref.update(custom=True, outputs={"name": "organization/shuyaku-platform/onprem", "outputs": {"tenants": hand_off},
                                     "secretOutputNames": []})
    ref.pop("provider")
    c.add("router", "rt", {"name": "rt", "externalNetworkId": "public"})
    c.add("rif", "rif", {"routerId": c.id("rt"), "subnetId": "tenant-subnet-id"}, deps={"routerId": "rt"})
    c.add("port", "port", {"name": "port", "networkId": "public"})
    c.add("image", "img", {"name": "img", "visibility": "public", "containerFormat": "bare", "diskFormat": "qcow2"})
    steps = [{"op": "read" if r["type"] == T["stackref"] else "create", "urn": r["urn"],
              "provider": r.get("provider", ""), "newState": r} for r in c.states()]
    doc = {"config": {"vendor-s001:platformStack": "organization/shuyaku-platform/onprem"},
           "steps": steps, "diagnostics": [], "duration": 1000000000, "changeSummary": {"create": len(steps) - 1}}
    expected = [("tenant-no-router", "rt"), ("router-no-external-gateway-in-mynumber-lgwan", "rt"),
                ("mynumber-no-internet-path", "rt"), ("router-interface-operator-only", "rif"),
                ("port-not-on-external-network", "port"), ("image-not-public", "img")]
    return doc, [(rule, c.by_name[name]["urn"]) for rule, name in expected]


def build() -> dict[str, str]:
    """Every corpus file's text, by file name."""
    files: dict[str, str] = {}
    expected: dict[str, list[list[str]]] = {}
    for stem, (city, exp) in cases().items():
        files[f"{stem}.json"] = json.dumps(city.doc(), ensure_ascii=False, indent=1) + "\n"
        expected[f"{stem}.json"] = sorted([rule, _urn(city, name)] for rule, name in exp)
    doc, exp = preview_case()
    files["preview-new-open-ssh.json"] = json.dumps(doc, ensure_ascii=False, indent=1) + "\n"
    stack_urn = "urn:pulumi:onprem::shuyaku::pulumi:pulumi:Stack::shuyaku-onprem"
    expected["preview-new-open-ssh.json"] = sorted(
        [rule, stack_urn if name == "STACK" else f"urn:pulumi:onprem::shuyaku::{T['rule']}::{name}"]
        for rule, name in exp)
    doc, exp_urns = vendor_preview_case()
    files["vendor-untagged.json"] = json.dumps(doc, ensure_ascii=False, indent=1) + "\n"
    expected["vendor-untagged.json"] = sorted([rule, urn] for rule, urn in exp_urns)
    files["expected.json"] = json.dumps(expected, ensure_ascii=False, indent=1, sort_keys=True) + "\n"
    return files


def _urn(city: City, name: str) -> str:
    if name == "STACK":
        return city.resources[0]["urn"]
    return city.by_name[name]["urn"]


if __name__ == "__main__":
    OUT.mkdir(exist_ok=True)
    for fname, text in build().items():
        (OUT / fname).write_text(text, encoding="utf-8")
    print(f"wrote {len(build())} files to {OUT}", file=sys.stderr)
