"""The per-site platform data: current in the repository, stable addressing, only permitted flows."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
import yaml

from shuyaku.cli import regen
from shuyaku.contracts.inventory import Inventory
from shuyaku.contracts.sitedata import SiteData
from shuyaku.inventory.load import load
from shuyaku.plan.build import make_plan, make_site_data, tenant_cidrs

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "examples" / "sample-city" / "inventory.yaml"
SMALL = ROOT / "examples" / "small-town" / "inventory.yaml"


def test_committed_sample_city_site_files_are_current() -> None:
    for name, text in regen.expected().items():
        committed = (regen.PLATFORM_DIR / name).read_text(encoding="utf-8")
        assert committed == text, f"{name} is stale: run .venv/bin/python -m shuyaku.cli.regen"
        SiteData.model_validate_json(committed)


@pytest.fixture(scope="module", params=[SAMPLE, SMALL], ids=["sample-city", "small-town"])
def sites(request: pytest.FixtureRequest) -> tuple:
    loaded = load(request.param)
    plan = make_plan(loaded)
    assert loaded.catalogue is not None
    return (loaded, plan, make_site_data(plan, loaded.inventory, loaded.catalogue, "onprem"),
            make_site_data(plan, loaded.inventory, loaded.catalogue, "dr"))


def test_onprem_has_every_zone_and_a_tenant_per_system_with_room_for_its_vms(sites: tuple) -> None:
    loaded, plan, onprem, _ = sites
    inv: Inventory = loaded.inventory
    assert [z.layer for z in onprem.zones] == ["mynumber", "lgwan", "internet", "shared"]
    # every host of the zone's aggregate: the packed ones and the screen-transfer pool's, named once each
    assert {z.layer: z.hosts for z in onprem.zones} == {z.layer: z.total_hosts for z in plan.zones}
    assert all(len(set(z.host_names)) == z.hosts for z in onprem.zones)
    assert [t.system_id for t in onprem.tenants] == [s.id for s in inv.systems]
    for tenant in onprem.tenants:
        vms = [v for v in plan.sizing if v.system_id == tenant.system_id]
        q = tenant.quotas
        assert q.instances > len(vms) and q.cores >= sum(v.after.vcpu for v in vms)
        assert q.ram_mb >= sum(v.after.ram_gb for v in vms) * 1024 and q.gigabytes >= sum(v.after.disk_gb for v in vms)
        zone = next(z for z in onprem.zones if z.layer == tenant.layer)
        assert {g.flavor for g in tenant.servers} <= {f.name for f in zone.flavors}
        assert {g.image for g in tenant.servers} <= set(zone.images)
        assert ipaddress.ip_network(tenant.cidr).subnet_of(ipaddress.ip_network(zone.cidr))  # type: ignore[arg-type]
        if tenant.layer == "mynumber":
            assert q.floating_ips == 0
    cidrs = [t.cidr for t in onprem.tenants]
    assert len(cidrs) == len(set(cidrs)), "no two tenants share a network"


def test_flows_are_the_permitted_links_and_forbidden_ones_are_listed_in_the_plan(sites: tuple) -> None:
    _, plan, onprem, _ = sites
    allowed = {(lk.source, lk.target, lk.port) for lk in plan.links if lk.path != "forbidden"}
    assert {(f.source_system, f.target_system, f.port) for f in onprem.flows} == allowed
    for f in onprem.flows:
        lk = next(lk for lk in plan.links if (lk.source, lk.target, lk.port) == (f.source_system, f.target_system, f.port))
        assert f.path == lk.path
    if plan.municipality.startswith("さくら"):
        forbidden = [(lk.source, lk.target) for lk in plan.links if lk.path == "forbidden"]
        assert ("S070", "S001") in forbidden  # internet -> My Number: never a flow


def test_dr_site_holds_only_warm_standby_systems(sites: tuple) -> None:
    _, plan, _, dr = sites
    warm = [x.system_id for x in plan.dr.tiers if x.tier == "warm"]
    assert [t.system_id for t in dr.tenants] == warm
    assert all(t.dr_tier == "warm" for t in dr.tenants)
    assert sum(z.hosts for z in dr.zones) == plan.dr.standby_hosts == dr.dr.standby_hosts
    assert dr.dr.backup_systems == [x.system_id for x in plan.dr.tiers if x.tier == "backup"]
    present = set(warm)
    assert all(f.source_system in present and f.target_system in present for f in dr.flows)


def test_small_town_beta_model_gets_an_lgwan_desktop_pool_and_its_pinned_network() -> None:
    loaded = load(SMALL)
    plan = make_plan(loaded)
    assert loaded.catalogue is not None
    onprem = make_site_data(plan, loaded.inventory, loaded.catalogue, "onprem")
    assert onprem.separation_model == "beta"
    assert onprem.vdi.lgwan_desktop_hosts > 0
    assert next(t for t in onprem.tenants if t.system_id == "juki").cidr == "10.10.40.0/24"


def test_adding_a_system_does_not_renumber_the_others() -> None:
    loaded = load(SAMPLE)
    assert loaded.catalogue is not None
    before = tenant_cidrs(loaded.inventory, loaded.catalogue)
    raw = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))
    for n in range(81, 91):
        new = dict(raw["systems"][40], id=f"S{n:03d}", links=[])
        raw["systems"].append(new)
        inv = Inventory.model_validate(raw)
        after = tenant_cidrs(inv, loaded.catalogue)
        assert {k: after[k] for k in before} == before
        assert len(set(after.values())) == len(after)


def test_generated_networks_never_overlap_a_pinned_one() -> None:
    loaded = load(SAMPLE)
    assert loaded.catalogue is not None
    raw = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))
    lgwan = [s for s in raw["systems"] if s["layer"] == "lgwan"]
    # Pin a /20 in the middle of the LGWAN range: sixteen /24 slots that hashing must step around.
    lgwan[0]["cidr"] = "10.20.16.0/20"
    cidrs = tenant_cidrs(Inventory.model_validate(raw), loaded.catalogue)
    pinned = ipaddress.ip_network("10.20.16.0/20")
    others = [ipaddress.ip_network(c) for sid, c in cidrs.items() if sid != lgwan[0]["id"]]
    assert not any(n.overlaps(pinned) for n in others)
    assert len(set(cidrs.values())) == len(cidrs)


def test_shared_services_in_the_site_data_are_the_ones_given_capacity(sites: tuple) -> None:
    _, plan, onprem, dr = sites
    for site, zones in ((onprem, plan.zones), (dr, plan.dr.zones)):
        placed: dict[str, int] = {}
        for z in zones:
            for h in z.host_loads:
                for vm in h.vms:
                    if vm.startswith("platform/"):
                        name = vm.split("/")[1]
                        placed[name] = placed.get(name, 0) + 1
        assert placed == {s.name: s.count for s in site.shared_services}, site.site
