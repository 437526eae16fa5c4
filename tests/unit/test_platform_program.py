"""The platform program under Pulumi's mocks: what each tenant gets, what the separation forbids, and that
data (never code) decides which resources exist.

Two cities: the sample city's plan output when `shuyaku plan` has written it (else a synthetic city of the
same size), and a second, differently shaped one (the small town's plan output, else a synthetic β city).
"""

from __future__ import annotations

import ipaddress
from functools import cache
from pathlib import Path

import pytest

from shuyaku.contracts.sitedata import SiteData
from shuyaku.platform import config, mocks, naming, program, synthetic

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "examples/sample-city/platform/site-onprem.json"
SMALL = ROOT / "examples/small-town/platform/site-onprem.json"

SGR = "openstack:networking/secGroupRule:SecGroupRule"


def _load(path: Path, fallback: SiteData) -> SiteData:
    return SiteData.model_validate_json(path.read_text(encoding="utf-8")) if path.is_file() else fallback


def _plan(inventory: Path) -> SiteData | None:
    """The site data `shuyaku plan` would write for this inventory (the plan stage's own code)."""
    try:
        from shuyaku.inventory.load import load
        from shuyaku.plan.build import make_plan, make_site_data, require_catalogue
    except ImportError:
        return None
    loaded = load(inventory)
    return make_site_data(make_plan(loaded), loaded.inventory, require_catalogue(loaded), "onprem")


@cache
def city(which: str) -> SiteData:
    if which == "sample":
        return _load(SAMPLE, synthetic.site(80, municipality="さくら市（架空・合成）"))
    if SMALL.is_file():
        return _load(SMALL, synthetic.site(23))
    planned = _plan(ROOT / "examples/small-town/inventory.yaml")
    return planned or synthetic.site(23, municipality="こもれび町（架空・合成）", model="beta")


@cache
def built(which: str) -> tuple[mocks.RecordingMocks, dict, config.PlatformConfig]:
    cfg = config.from_site(city(which))
    m, out = mocks.run(lambda: program.build(cfg))
    return m, out, cfg


CITIES = ["sample", "other"]


def named(m: mocks.RecordingMocks, prefix: str) -> list[mocks.Registered]:
    return [r for r in m.resources if r.name == prefix or r.name.startswith(prefix + "-")]


@pytest.mark.parametrize("which", CITIES)
def test_every_tenant_gets_its_project_quotas_network_and_one_vendor_grant(which: str) -> None:
    m, out, cfg = built(which)
    site = cfg.site
    assert set(out["tenants"]) == {t.system_id for t in site.tenants}
    projects = {r.inputs["name"]: r for r in m.of_type("openstack:identity/project:Project")}
    assignments = m.of_type("openstack:identity/roleAssignment:RoleAssignment")
    groups = {r.id: r for r in m.of_type("openstack:identity/groupV3:GroupV3")}
    for t in site.tenants:
        sid = t.system_id
        project = projects[f"onprem-{sid}"]
        tags = set(project.inputs["tags"])
        for key, value in (
            ("system", sid),
            ("layer", t.layer),
            ("department", t.department),
            ("vendor", t.vendor),
            ("dr", t.dr_tier),
        ):
            assert f"shuyaku:{key}={value}" in tags
        if t.standard_op:
            assert f"shuyaku:stdop={t.standard_op}" in tags
        # exactly one role assignment on this project, for this system's vendor group, and that group nowhere else
        mine = [a for a in assignments if a.inputs.get("projectId") == project.id]
        assert len(mine) == 1
        group = groups[mine[0].inputs["groupId"]]
        assert group.inputs["name"] == naming.vendor_group(t, "onprem")
        assert [a for a in assignments if a.inputs.get("groupId") == group.id] == mine

        kinds = {"QuotaSetV2", "QuotaV2", "QuoteSetV3"}
        quotas = {
            r.typ.split(":")[-1]: r.inputs
            for r in m.resources
            if r.inputs.get("projectId") == project.id and r.typ.split(":")[-1] in kinds
        }
        assert set(quotas) == kinds
        assert quotas["QuotaSetV2"]["cores"] == t.quotas.cores
        assert quotas["QuotaSetV2"]["instances"] == t.quotas.instances
        assert quotas["QuotaSetV2"]["ram"] == t.quotas.ram_mb
        assert quotas["QuotaV2"]["port"] == t.quotas.ports
        assert quotas["QuoteSetV3"]["gigabytes"] == t.quotas.gigabytes

        nets = [r for r in m.of_type("openstack:networking/network:Network") if r.inputs.get("tenantId") == project.id]
        subnets = [r for r in m.of_type("openstack:networking/subnet:Subnet") if r.inputs.get("tenantId") == project.id]
        assert len(nets) == 1 and len(subnets) == 1
        assert subnets[0].inputs["cidr"] == t.cidr and subnets[0].inputs["networkId"] == nets[0].id
        sgs = {r.inputs["name"]: r for r in m.of_type("openstack:networking/secGroup:SecGroup")
               if r.inputs.get("tenantId") == project.id}
        has_base = t.layer in cfg.layout.base_rules
        assert set(sgs) == {f"{sid}-tenant"} | ({f"{sid}-base"} if has_base else set())
        assert all(g.inputs["deleteDefaultRules"] is True for g in sgs.values())

        tenant_out = out["tenants"][sid]
        assert tenant_out["project_id"] == project.id
        assert tenant_out["network_id"] == nets[0].id and tenant_out["subnet_id"] == subnets[0].id
        base = {"base": sgs[f"{sid}-base"].id} if has_base else {}
        assert tenant_out["security_group_ids"] == {"tenant": sgs[f"{sid}-tenant"].id, **base}
        if has_base:
            # the baseline is the tenant's own copy of its layer's rules, not a group shared across tenants
            got = {(r.inputs["direction"], r.inputs["protocol"], r.inputs["portRangeMin"], r.inputs["remoteIpPrefix"])
                   for r in m.of_type(SGR) if r.inputs["securityGroupId"] == base["base"]}
            assert got == {(r.direction, r.protocol, r.port, r.cidr) for r in cfg.layout.base_rules[t.layer]}
        assert not m.of_type("openstack:networking/rbacPolicyV2:RbacPolicyV2")
        network_quota = next(r for r in named(m, f"tenant-{sid}") if r.typ.endswith("QuotaV2"))
        assert network_quota.inputs["rbacPolicy"] == 0
        # a tenant sees only the private flavors its own servers use, through one access entry each
        used = sorted({s.flavor for s in t.servers})
        assert tenant_out["allowed_flavors"] == [f"{t.layer}.{f}" for f in used]
        access = [r for r in m.of_type("openstack:compute/flavorAccess:FlavorAccess")
                  if r.inputs["tenantId"] == project.id]
        flavors = {r.id: r for r in m.of_type("openstack:compute/flavor:Flavor")}
        assert sorted(flavors[a.inputs["flavorId"]].inputs["name"] for a in access) == tenant_out["allowed_flavors"]
        assert tenant_out["quotas"]["cores"] == t.quotas.cores


@pytest.mark.parametrize("which", CITIES)
def test_resource_count_per_tenant_is_fixed_by_its_data(which: str) -> None:
    m, _, cfg = built(which)
    for t in cfg.site.tenants:
        mine = named(m, f"tenant-{t.system_id}")
        rules = cfg.layout.tenant_rules[t.system_id]
        routed = t.layer in cfg.layout.router_layers
        base = cfg.layout.base_rules.get(t.layer, [])
        # component, project, group, grant, 3 quotas, network, subnet, security group (+ router interface)
        # (+ the tenant's baseline group) + one per rule + one flavor access per flavor its servers use
        flavors = len({s.flavor for s in t.servers})
        assert len(mine) == 10 + int(routed) + int(bool(base)) + len(rules) + len(base) + flavors, t.system_id
        assert sum(r.typ == SGR for r in mine) == len(rules) + len(base)


@pytest.mark.parametrize("which", CITIES)
def test_my_number_layer_never_reaches_outside(which: str) -> None:
    m, out, cfg = built(which)
    routers = {r.inputs["name"]: r.inputs for r in m.of_type("openstack:networking/router:Router")}
    assert "externalNetworkId" not in routers["onprem-mynumber-router"]
    assert "externalNetworkId" not in routers["onprem-shared-router"]
    assert routers["onprem-lgwan-router"]["externalNetworkId"] == "getNetwork-lgwan"
    assert routers["onprem-internet-router"]["externalNetworkId"] == "getNetwork-public"
    # the internet layer leaves only through the proxy: no masquerading on its router
    assert routers["onprem-internet-router"]["enableSnat"] is False
    assert "enableSnat" not in routers["onprem-lgwan-router"]
    assert not [r for r in m.resources if "floatingIp" in r.typ]
    mynumber = {t.system_id for t in cfg.site.tenants if t.layer == "mynumber"}
    internet = {t.cidr for t in cfg.site.tenants if t.layer == "internet"} | {
        cfg.site.zones[[z.layer for z in cfg.site.zones].index("internet")].cidr
    }
    for sid in mynumber:
        assert out["tenants"][sid]["floating_ips_allowed"] is False
        quota = next(r for r in named(m, f"tenant-{sid}") if r.typ.endswith("QuotaV2"))
        assert quota.inputs["floatingip"] == 0
        for r in named(m, f"tenant-{sid}"):
            if r.typ == SGR:
                peer = ipaddress.ip_network(r.inputs["remoteIpPrefix"])
                assert not any(peer.overlaps(ipaddress.ip_network(c)) for c in internet), r.name
    # internet-layer tenants leave only towards the security-cloud proxy, the shared services and planned peers
    shared = ipaddress.ip_network(next(z.cidr for z in cfg.site.zones if z.layer == "shared"))
    internet_groups = {r.id for r in m.of_type("openstack:networking/secGroup:SecGroup") if r.inputs["name"].endswith("-base")
                       and next(t for t in cfg.site.tenants if r.inputs["name"] == f"{t.system_id}-base").layer == "internet"}
    base = [r.inputs for r in m.of_type(SGR) if r.inputs["securityGroupId"] in internet_groups]
    # ... and admit only the bastion, over SSH
    bastion = ipaddress.ip_network(out["shared_services"]["bastion"]["cidr"])
    assert {(r["protocol"], r["portRangeMin"], ipaddress.ip_network(r["remoteIpPrefix"])) for r in base
            if r["direction"] == "ingress"} == {("tcp", 22, bastion)}
    base = [r for r in base if r["direction"] == "egress"]
    assert base
    assert {ipaddress.ip_network(r["remoteIpPrefix"]) for r in base if not ipaddress.ip_network(r["remoteIpPrefix"])
            .subnet_of(shared)} == {ipaddress.ip_network(cfg.proxy_cidr)}
    for t in cfg.site.tenants:
        if t.layer != "internet":
            continue
        planned = {x.cidr for f in cfg.site.flows if f.source_system == t.system_id
                   for x in cfg.site.tenants if x.system_id == f.target_system}
        mediated = {b.cidr for b in cfg.layout.services.values()} | ({cfg.layout.vdi.cidr} if cfg.layout.vdi else set())
        for r in named(m, f"tenant-{t.system_id}"):
            if r.typ == SGR and r.inputs["direction"] == "egress":
                assert r.inputs["remoteIpPrefix"] in planned | mediated | {cfg.proxy_cidr}, r.name


@pytest.mark.parametrize("which", CITIES)
def test_each_flow_yields_exactly_its_one_rule_and_nothing_wider(which: str) -> None:
    m, _, cfg = built(which)
    lay = cfg.layout
    tenants = {t.system_id: t for t in cfg.site.tenants}

    def source_of(f: object) -> str:
        path = f.path  # type: ignore[attr-defined]
        if path == "direct":
            return tenants[f.source_system].cidr  # type: ignore[attr-defined]
        return lay.vdi.cidr if path == "screen" else lay.services[path].cidr  # type: ignore[union-attr]

    ingress_by_sg: dict[str, list[dict]] = {}
    for r in m.of_type(SGR):
        assert r.inputs["portRangeMin"] == r.inputs["portRangeMax"], r.name
        prefix = ipaddress.ip_network(r.inputs["remoteIpPrefix"])
        assert prefix.prefixlen >= 8, r.name  # never 0.0.0.0/0, never "anything"
        assert r.inputs["protocol"] in ("tcp", "udp")
        if r.inputs["direction"] == "ingress":
            ingress_by_sg.setdefault(r.inputs["securityGroupId"], []).append(r.inputs)
    expected: dict[str, set[tuple]] = {}
    for f in cfg.site.flows:
        sg = f"secgroup-tenant-{f.target_system}-sg"
        key = (f.protocol, f.port, source_of(f))
        hits = [r for r in ingress_by_sg.get(sg, []) if (r["protocol"], r["portRangeMin"], r["remoteIpPrefix"]) == key]
        assert len(hits) == 1, (f, hits)
        expected.setdefault(sg, set()).add(key)
        src = ipaddress.ip_network(key[2])
        if f.path == "direct":
            assert src == ipaddress.ip_network(tenants[f.source_system].cidr)
    # and a tenant admits nothing that is not a planned link
    for t in cfg.site.tenants:
        sg = f"secgroup-tenant-{t.system_id}-sg"
        got = {(r["protocol"], r["portRangeMin"], r["remoteIpPrefix"]) for r in ingress_by_sg.get(sg, [])}
        assert got == expected.get(sg, set()), t.system_id


def test_vdi_gateway_admits_only_screen_ports_from_terminal_ranges() -> None:
    m, out, cfg = built("sample")
    gateway = [r.inputs for r in m.of_type(SGR) if r.inputs["securityGroupId"] == "secgroup-vdi-gateway"]
    ingress = [r for r in gateway if r["direction"] == "ingress"]
    assert ingress and {r["remoteIpPrefix"] for r in ingress} == set(cfg.terminal_cidrs)
    assert {r["portRangeMin"] for r in ingress} == set(cfg.site.vdi.screen_ports)
    egress = [r for r in gateway if r["direction"] == "egress"]
    screen_targets = {
        cfg.site.tenants[[t.system_id for t in cfg.site.tenants].index(f.target_system)].cidr
        for f in cfg.site.flows
        if f.path == "screen"
    }
    assert {r["remoteIpPrefix"] for r in egress} <= {cfg.proxy_cidr} | screen_targets
    assert out["vdi"]["cidr"] == cfg.layout.vdi.cidr and out["vdi"]["terminal_cidrs"] == cfg.terminal_cidrs  # type: ignore[union-attr]
    assert out["shared_services"]["relay"]["cidr"] == cfg.layout.services["relay"].cidr
    # the Ansible inventory another stage reads: {group: {host: {ansible_host: ip}}}
    inv = out["ansible_inventory"]
    assert len(inv["vdi_hosts"]) == len(inv["vdi_web"]) == cfg.site.vdi.hosts
    vdi_net = ipaddress.ip_network(cfg.layout.vdi.cidr)  # type: ignore[union-attr]
    assert all(ipaddress.ip_address(h["ansible_host"]) in vdi_net for h in inv["vdi_hosts"].values())
    for svc in cfg.site.shared_services:
        block = ipaddress.ip_network(cfg.layout.services[svc.name].cidr)
        assert len(inv[svc.name]) == svc.count
        assert all(ipaddress.ip_address(h["ansible_host"]) in block for h in inv[svc.name].values())
    assert set(inv["shared"]) == {h for svc in cfg.site.shared_services for h in inv[svc.name]}
    # the provisioning stage reads exactly this output (when that stage is present in this checkout)
    try:
        from shuyaku.provision.inventory import outputs_to_inventory
    except ImportError:
        return
    children = outputs_to_inventory(inv)["all"]["children"]
    assert set(children["vdi_hosts"]["hosts"]) == set(inv["vdi_hosts"])


def test_without_instances_the_addresses_stay_but_no_server_is_booted() -> None:
    cfg = config.from_site(city("other"), instances=False)
    m, out = mocks.run(lambda: program.build(cfg))
    assert not m.of_type("openstack:compute/instance:Instance")
    assert out["ansible_inventory"] == {}
    assert len(m.of_type("openstack:networking/port:Port")) >= sum(s.count for s in cfg.site.shared_services)


def test_adding_one_system_adds_exactly_that_systems_resources() -> None:
    base = synthetic.site(20)
    extra_tenant = synthetic.tenant(99, "lgwan", cidr="10.16.200.0/24", prefix="N")
    grown = base.model_copy(update={"tenants": [*base.tenants, extra_tenant]})
    m1, _ = mocks.run(lambda: program.build(config.from_site(base)))
    m2, out2 = mocks.run(lambda: program.build(config.from_site(grown)))
    before = {(r.typ, r.name) for r in m1.resources}
    after = {(r.typ, r.name) for r in m2.resources}
    assert before <= after
    added = after - before
    assert added and all(name.startswith("tenant-N0099") for _, name in added)
    assert {typ.split(":")[-1] for typ, _ in added} >= {"Project", "GroupV3", "RoleAssignment", "Network", "Subnet", "SecGroup"}
    assert "N0099" in out2["tenants"]
    # the only change elsewhere: the LGWAN aggregate now admits the new project as well
    agg = next(r for r in m2.of_type("openstack:compute/aggregateV2:AggregateV2") if r.inputs["name"] == "onprem-lgwan")
    assert agg.inputs["metadata"]["filter_tenant_id_N0099"] == "project-tenant-N0099-project"
    # Each mocked run makes its servers new SSH host keys (the engine keeps them in the state: see
    # test_platform_hostkeys), so the servers' user data is left out of this comparison.
    def inputs(m: mocks.RecordingMocks) -> dict:
        return {(r.typ, r.name): {k: v for k, v in r.inputs.items() if k != "userData"}
                for r in m.resources if not r.typ.startswith("pulumi-python:dynamic")}
    inputs1, inputs2 = inputs(m1), inputs(m2)
    changed = [k for k, v in inputs1.items() if inputs2[k] != v]
    # (and the platform project's port quota, which holds the new router interface)
    assert set(changed) <= {("openstack:compute/aggregateV2:AggregateV2", "zone-lgwan-aggregate"),
                            ("openstack:networking/quotaV2:QuotaV2", "platform-project-network-quota")}
    assert ("openstack:compute/aggregateV2:AggregateV2", "zone-lgwan-aggregate") in changed


def test_aggregates_admit_only_their_layers_projects() -> None:
    m, _, cfg = built("sample")
    for agg in m.of_type("openstack:compute/aggregateV2:AggregateV2"):
        layer = agg.inputs["metadata"]["shuyaku_layer"]
        admitted = {k.removeprefix("filter_tenant_id_") for k in agg.inputs["metadata"] if k.startswith("filter_tenant_id_")}
        want = {t.system_id for t in cfg.site.tenants if t.layer == layer}
        assert admitted - {"platform"} == want
        assert ("platform" in admitted) == (layer in program.platform_layers(cfg))


def test_an_isolated_layer_gets_no_router_and_no_way_out() -> None:
    site = synthetic.site(20)
    with pytest.raises(config.ConfigError) as exc:  # its hub links could not be carried
        config.from_site(site, isolated_layers=["mynumber"])
    assert set(exc.value.codes()) == {"site.isolated_layer"}
    assert all(p.field.startswith("flows[") and "isolatedLayers" in p.fix for p in exc.value.problems)
    tenants = {t.system_id: t.layer for t in site.tenants}
    inside = [f for f in site.flows if tenants[f.source_system] == tenants[f.target_system]]
    cfg = config.from_site(site.model_copy(update={"flows": inside}), isolated_layers=["mynumber"])
    m, out = mocks.run(lambda: program.build(cfg))
    routers = {r.inputs["name"] for r in m.of_type("openstack:networking/router:Router")}
    assert "onprem-mynumber-router" not in routers and "onprem-lgwan-router" in routers
    for t in cfg.site.tenants:
        if t.layer != "mynumber":
            continue
        mine = named(m, f"tenant-{t.system_id}")
        assert not [r for r in mine if r.typ.endswith("RouterInterface")]
        subnet = next(r for r in mine if r.typ.endswith("subnet:Subnet"))
        assert subnet.inputs.get("noGateway") is True and not subnet.inputs.get("dnsNameservers")
        assert set(out["tenants"][t.system_id]["security_group_ids"]) == {"tenant"}
    assert "mynumber" not in cfg.layout.base_rules


@pytest.mark.parametrize("which", CITIES)
def test_the_platform_project_has_room_for_what_the_platform_owns(which: str) -> None:
    m, _, _ = built(which)
    quota = next(r.inputs for r in m.of_type("openstack:networking/quotaV2:QuotaV2")
                 if r.name == "platform-project-network-quota")
    assert quota["projectId"] == "project-admin"
    own_groups = [r for r in m.of_type("openstack:networking/secGroup:SecGroup") if not r.inputs.get("tenantId")]
    own_group_ids = {r.id for r in own_groups}
    own_rules = [r for r in m.of_type(SGR) if r.inputs["securityGroupId"] in own_group_ids]
    assert quota["securityGroup"] >= len(own_groups) + 1
    assert quota["securityGroupRule"] >= len(own_rules) + 4
    ports = len(m.of_type("openstack:networking/port:Port"))
    ports += len(m.of_type("openstack:networking/routerInterface:RouterInterface"))
    assert quota["port"] >= ports
    servers = m.of_type("openstack:compute/instance:Instance")
    compute = next(r.inputs for r in m.of_type("openstack:compute/quotaSetV2:QuotaSetV2")
                   if r.name == "platform-project-compute-quota")
    assert compute["instances"] >= len(servers)


def _with_vdi(site: SiteData, hosts: int, desktops: int = 0) -> SiteData:
    return site.model_copy(update={"vdi": site.vdi.model_copy(update={"hosts": hosts, "lgwan_desktop_hosts": desktops})})


@pytest.mark.parametrize("which", CITIES)
def test_the_examples_keep_their_first_slash24_segments(which: str) -> None:
    """What fits a /24 stays where it was: the zone's first /24, so no deployed platform is renumbered."""
    _, out, cfg = built(which)
    for z in cfg.site.zones:
        first = next(ipaddress.ip_network(z.cidr).subnets(new_prefix=24))
        assert out["zones"][z.layer]["segment_cidr"] == str(first) == cfg.layout.segments[z.layer]


def test_zone_segments_grow_with_vdi_demand_and_nothing_else_moves() -> None:
    base = synthetic.site(40, model="beta")  # tenants fill each zone from its second /24 on
    small, big = config.from_site(_with_vdi(base, 4, 2)), config.from_site(_with_vdi(base, 700, 300))
    for layer, hosts in (("internet", 700), ("lgwan", 300)):
        seg = ipaddress.ip_network(big.layout.segments[layer])
        block = big.layout.vdi if layer == "internet" else big.layout.lgwan_desktops
        assert block is not None and len(block.ips) == hosts and len(set(block.ips)) == hosts
        assert ipaddress.ip_network(block.cidr).subnet_of(seg) and seg.prefixlen < 24  # type: ignore[arg-type]
        # the fixed block sits below Neutron's pool, which keeps the upper half of the grown segment
        pool = big.layout.pools[layer]
        assert max(ipaddress.ip_address(ip) for ip in block.ips) < ipaddress.ip_address(pool["start"])
        assert ipaddress.ip_address(pool["end"]) < seg.broadcast_address
        assert not any(ipaddress.ip_network(t.cidr).overlaps(seg) for t in base.tenants)
    for name in ("segments", "services", "router_ports"):
        kept, grown = getattr(small.layout, name), getattr(big.layout, name)
        assert {k: v for k, v in kept.items() if k not in ("internet", "lgwan")} == \
               {k: v for k, v in grown.items() if k not in ("internet", "lgwan")}
    m, out = mocks.run(lambda: program.build(big))
    subnet = next(r for r in m.of_type("openstack:networking/subnet:Subnet") if r.name == "zone-internet-segment")
    assert subnet.inputs["cidr"] == big.layout.segments["internet"] == out["zones"]["internet"]["segment_cidr"]
    vdi_ips = {r.inputs["fixedIps"][0]["ipAddress"] for r in m.of_type("openstack:networking/port:Port")
               if r.name.startswith("vdi-vdi-")}
    assert vdi_ips == set(big.layout.vdi.ips)  # type: ignore[union-attr]


def test_a_demand_beyond_half_the_zone_names_how_wide_the_zone_must_be() -> None:
    base = synthetic.site(12)  # its internet tenants sit in the first /24s of 10.32.0.0
    zones = [z.model_copy(update={"cidr": "10.32.0.0/21"}) if z.layer == "internet" else z for z in base.zones]
    site = _with_vdi(base.model_copy(update={"zones": zones}), 1001)
    with pytest.raises(config.ConfigError) as exc:
        config.from_site(site)
    p = next(p for p in exc.value.problems if p.code == "layout.no_addresses")
    i = next(k for k, z in enumerate(site.zones) if z.layer == "internet")
    assert p.field == f"zones[{i}].cidr" and "1001" in p.message.en and "/19" in p.fix.en
    # the same demand fits once the zone is as wide as the fix says
    wide = [z.model_copy(update={"cidr": "10.32.0.0/19"}) if z.layer == "internet" else z for z in site.zones]
    assert config.from_site(site.model_copy(update={"zones": wide})).layout.vdi is not None


@pytest.mark.parametrize("which", ["sample"])
def test_the_shared_router_answers_administrators_only_through_the_lgwan_router(which: str) -> None:
    cfg = config.from_site(city(which), admin_cidrs=["198.18.0.0/24", "198.18.9.0/24"])
    m, _ = mocks.run(lambda: program.build(cfg))
    routes = {(r.inputs["destinationCidr"], r.inputs["nextHop"])
              for r in m.of_type("openstack:networking/routerRoute:RouterRoute")
              if r.name.endswith(tuple(f"-admins-{i + 1}" for i in range(len(cfg.admin_cidrs))))}
    assert cfg.admin_cidrs and routes == set(cfg.layout.admin_routes.items())
    assert set(cfg.layout.admin_routes.values()) == {cfg.layout.router_ports["lgwan"]}
