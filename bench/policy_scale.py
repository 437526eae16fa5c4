"""Benchmark: `shuyaku policy audit` over synthetic stack exports of 10,000 and 100,000 resources.

Prints wall and CPU time and peak memory of the audit process (interpreter start, JSON load, every rule, report).
Target: 100,000 resources in under 10 s. Usage: .venv/bin/python bench/policy_scale.py [N ...]
Exports are written under ${SHUYAKU_CACHE:-/var/cache/shuyaku}/policy-bench/ and reused.
"""

from __future__ import annotations

import ipaddress
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = Path(os.environ.get("SHUYAKU_CACHE", "/var/cache/shuyaku")) / "policy-bench"
LAYERS = {"mynumber": "10.0.0.0/10", "lgwan": "10.64.0.0/10", "internet": "10.128.0.0/10", "shared": "10.192.0.0/10"}
ORDER = ("mynumber", "lgwan", "internet")

T = {
    "project": "openstack:identity/project:Project", "qc": "openstack:compute/quotaSetV2:QuotaSetV2",
    "qn": "openstack:networking/quotaV2:QuotaV2", "qv": "openstack:blockstorage/quoteSetV3:QuoteSetV3",
    "net": "openstack:networking/network:Network", "subnet": "openstack:networking/subnet:Subnet",
    "router": "openstack:networking/router:Router", "sg": "openstack:networking/secGroup:SecGroup",
    "rule": "openstack:networking/secGroupRule:SecGroupRule", "vm": "openstack:compute/instance:Instance",
    "vol": "openstack:blockstorage/volume:Volume", "group": "openstack:identity/groupV3:GroupV3",
    "ra": "openstack:identity/roleAssignment:RoleAssignment", "role": "openstack:identity/role:Role",
}


def subnet(layer: str, i: int) -> str:
    base = ipaddress.ip_network(LAYERS[layer])
    return f"{base.network_address + 256 * i}/24"


def synth(n: int) -> tuple[dict, dict]:
    """A city of ~n resources: tenants of 26 resources each, about 1% of them misconfigured."""
    stack = "urn:pulumi:bench::shuyaku::pulumi:pulumi:Stack::shuyaku-bench"
    res: list[dict] = [{"urn": stack, "type": "pulumi:pulumi:Stack", "custom": False, "inputs": {}, "outputs": {}},
                       {"urn": "urn:pulumi:bench::shuyaku::pulumi:providers:openstack::default", "id": "p",
                        "type": "pulumi:providers:openstack", "custom": True, "inputs": {"cloud": "shuyaku"}}]
    res.append({"urn": "urn:pulumi:bench::shuyaku::role::member", "type": T["role"], "id": "role-member",
                "inputs": {"name": "member"}})
    links = []
    counters = dict.fromkeys(ORDER, 0)

    def add(kind, name, inputs, deps=None):
        urn = f"urn:pulumi:bench::shuyaku::{T[kind]}::{name}"
        r = {"urn": urn, "type": T[kind], "custom": True, "id": f"id-{name}", "parent": stack,
             "provider": "urn:pulumi:bench::shuyaku::pulumi:providers:openstack::default::p",
             "inputs": inputs, "outputs": dict(inputs)}
        if deps:
            r["propertyDependencies"] = {k: [f"urn:pulumi:bench::shuyaku::{T[t]}::{v}"] for k, (t, v) in deps.items()}
        res.append(r)

    i = 0
    while len(res) < n:
        layer = ORDER[i % 3]
        k = counters[layer]
        counters[layer] += 1
        sys_ = f"s{i:05d}"
        vendor = f"v{i % 40:02d}"
        bad = i % 97 == 0
        tags = [f"shuyaku:system={sys_}", f"shuyaku:layer={layer}", "shuyaku:department=d", f"shuyaku:vendor={vendor}"]
        add("project", f"prj-{sys_}", {"name": f"prj-{sys_}", "tags": tags})
        for q in ("qc", "qn", "qv"):
            add(q, f"{q}-{sys_}", {"projectId": f"id-prj-{sys_}"}, {"projectId": ("project", f"prj-{sys_}")})
        pdep = {"tenantId": ("project", f"prj-{sys_}")}
        add("net", f"net-{sys_}", {"name": sys_, "tenantId": f"id-prj-{sys_}", "tags": tags[:2]}, pdep)
        cidr = subnet(layer, k)
        add("subnet", f"sn-{sys_}", {"cidr": cidr, "networkId": f"id-net-{sys_}", "tags": tags[:2]},
            {"networkId": ("net", f"net-{sys_}")})
        add("router", f"rt-{sys_}", {"name": sys_, "tenantId": f"id-prj-{sys_}", "tags": tags[:2],
                                     **({"externalNetworkId": "ext"} if bad and layer == "mynumber" else {})}, pdep)
        for sg in ("app", "db"):
            add("sg", f"sg-{sg}-{sys_}", {"name": sg, "description": sg, "tenantId": f"id-prj-{sys_}",
                                          "deleteDefaultRules": True, "tags": tags[:2]}, pdep)
        peer_layer = layer
        peer = subnet(peer_layer, max(k - 1, 0))
        rules = [("app", "ingress", 443, subnet(layer, k)), ("app", "ingress", 22, "10.192.0.0/24"),
                 ("app", "egress", 5432, cidr), ("db", "ingress", 5432, cidr), ("db", "ingress", 22, "10.192.0.0/24"),
                 ("app", "ingress", 8443, peer), ("db", "egress", 123, "10.192.1.0/24"),
                 ("app", "ingress", 22, "0.0.0.0/0" if bad else "10.192.2.0/24")]
        if k > 0:
            links.append({"source_system": f"s{i - 3:05d}", "target_system": sys_, "protocol": "tcp", "port": 8443})
        for j, (sg, d, port, remote) in enumerate(rules):
            add("rule", f"r{j}-{sys_}", {"securityGroupId": f"id-sg-{sg}-{sys_}", "direction": d, "protocol": "tcp",
                                         "ethertype": "IPv4", "portRangeMin": port, "portRangeMax": port,
                                         "remoteIpPrefix": remote}, {"securityGroupId": ("sg", f"sg-{sg}-{sys_}")})
        for v in range(4):
            add("vm", f"vm{v}-{sys_}", {"name": f"vm{v}", "imageName": "ubuntu-24.04-hardened", "flavorName": "s1.medium",
                                        "keyPair": "ops", "networks": [{"uuid": f"id-net-{sys_}"}],
                                        "userData": "#cloud-config\npackage_update: true\n",
                                        "metadata": {"shuyaku:layer": layer}}, {"networks": ("net", f"net-{sys_}")})
            add("vol", f"vol{v}-{sys_}", {"size": 50, "volumeType": "encrypted-luks",
                                          "metadata": {"shuyaku:layer": layer, "shuyaku:system": sys_}})
        g = f"vendor-{vendor}-{sys_}"
        add("group", g, {"name": g})
        add("ra", f"ra-{sys_}", {"groupId": f"id-{g}", "projectId": f"id-prj-{sys_}", "roleId": "role-member"},
            {"groupId": ("group", g), "projectId": ("project", f"prj-{sys_}")})
        i += 1
    settings = {"settings": {
        "layer_cidrs": {k: [v] for k, v in LAYERS.items()}, "proxy_cidrs": ["10.250.0.0/29"],
        "encrypted_volume_types": ["encrypted-luks"], "allowed_images": ["ubuntu-24.04-hardened"],
        "allowed_flavors": ["s1.medium"], "data_links": links}}
    return {"version": 3, "deployment": {"manifest": {}, "resources": res}}, settings


def main(sizes: list[int]) -> None:
    sys.path.insert(0, str(ROOT))
    from shuyaku.policy.config import expand
    from shuyaku.policy.registry import all_rules

    CACHE.mkdir(parents=True, exist_ok=True)
    print(f"{'resources':>10} {'file MB':>8} {'wall s':>7} {'cpu s':>6} {'peak RSS MB':>12} {'violations':>10}")
    for n in sizes:
        export, cfg = CACHE / f"export-{n}.json", CACHE / f"config-{n}.json"
        if not export.exists() or not cfg.exists():
            doc, settings = synth(n)
            export.write_text(json.dumps(doc))
            cfg.write_text(json.dumps(expand(settings, all_rules())))
        count = len(json.loads(export.read_text())["deployment"]["resources"])
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu0 = usage.ru_utime + usage.ru_stime
        t0 = time.perf_counter()
        p = subprocess.run([sys.executable, "-m", "shuyaku.cli", "policy", "audit", str(export), "--config", str(cfg),
                            "--format", "json"], capture_output=True, text=True, cwd=ROOT)
        elapsed = time.perf_counter() - t0
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = usage.ru_utime + usage.ru_stime - cpu0
        if p.returncode not in (0, 1):
            raise SystemExit(p.stderr)
        found = json.loads(p.stdout)["summary"]["violations"]
        # ru_maxrss of children is the largest child so far; sizes run smallest first, so it is this one.
        rss = usage.ru_maxrss / 1024
        print(f"{count:>10} {export.stat().st_size / 1e6:>8.1f} {elapsed:>7.2f} {cpu:>6.2f} {rss:>12.0f} {found:>10}")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [10_000, 100_000])
