"""Right-sizing and DR tiers: what a planner would check by hand for a few servers."""

from __future__ import annotations

from pathlib import Path

import pytest

from shuyaku.contracts.inventory import Inventory
from shuyaku.inventory.load import load, load_catalogue
from shuyaku.plan import flavors
from shuyaku.plan.dr import tier_of
from shuyaku.plan.sizing import size

ROOT = Path(__file__).resolve().parents[2]
CAT = load_catalogue(ROOT / "examples" / "sample-city" / "cost-catalogue.yaml")


def inventory(servers: list[dict], layer: str = "lgwan", rpo: float = 24, rto: float = 48) -> Inventory:
    return Inventory.model_validate({
        "municipality": {"name": "t", "population": 1, "separation_model": "alpha", "fiscal_year": 2026},
        "systems": [{"id": "A1", "name": "n", "department": "d", "layer": layer, "vendor": "v", "users": 1,
                     "rpo_hours": rpo, "rto_hours": rto, "servers": servers,
                     "costs": {"hardware": 0, "maintenance": 0, "licences": 0, "operations": 0, "facility": 0}}],
    })


def server(**kw: object) -> dict:
    base: dict = {"role": "ap", "count": 1, "vcpu": 16, "ram_gb": 64, "disk_gb": 300, "os": "rhel", "os_version": "8",
                  "purchase_year": 2020}
    base.update(kw)
    return base


def test_measured_utilisation_shrinks_a_server_to_the_target_peak() -> None:
    # 16 vCPU at p95 14% -> 16*14/70 = 3.2 -> 4; 64 GB at p95 35% -> 32 GB. Target peak 70% (catalogue).
    (vm,) = size(inventory([server(p95_cpu_pct=14, p95_ram_pct=35)]), CAT)
    assert vm.basis == "utilisation"
    assert (vm.after.vcpu, vm.after.ram_gb, vm.after.disk_gb) == (4, 32, 300)
    assert vm.flavor == "m1.c4r32"


def test_without_utilisation_the_spec_is_kept_and_the_minimum_applies() -> None:
    (vm,) = size(inventory([server(vcpu=1, ram_gb=2)]), CAT)
    assert vm.basis == "spec"
    assert (vm.after.vcpu, vm.after.ram_gb) == (CAT.sizing.min_vcpu, CAT.sizing.min_ram_gb)


def test_a_busy_server_is_sized_up_not_down() -> None:
    (vm,) = size(inventory([server(vcpu=4, p95_cpu_pct=90, ram_gb=8, p95_ram_pct=90)]), CAT)
    assert vm.after.vcpu >= 6 and vm.after.ram_gb >= 12


def test_each_of_count_becomes_a_vm_and_redundant_ones_share_an_anti_affinity_group() -> None:
    vms = size(inventory([server(role="db", count=2, redundancy="active_standby"), server(role="batch", count=3)]), CAT)
    assert [(v.role, v.index) for v in vms] == [("db", 0), ("db", 1), ("batch", 0), ("batch", 1), ("batch", 2)]
    assert {v.anti_affinity_group for v in vms if v.role == "db"} == {"A1/db"}
    assert {v.anti_affinity_group for v in vms if v.role == "batch"} == {None}


def test_flavor_ladder_rounds_up_to_the_next_rung() -> None:
    assert flavors.fit(3, 9).name == "m1.c4r12"
    assert flavors.fit(64, 512).name == "m1.c64r512"
    assert flavors.fit(70, 600).name == "m1.c80r640"
    assert flavors.parse("m1.c4r12") == flavors.FlavorShape(4, 12)


# The sample catalogue's tiers: warm RPO 0.25 h / RTO 4 h, replica 0.25 h / 24 h, backup 24 h / 48 h,
# none 720 h / 720 h. A system takes the cheapest tier meeting both objectives.
@pytest.mark.parametrize(("rpo", "rto", "tier"), [
    (1, 4, "warm"), (0.25, 4, "warm"),
    (1, 24, "replica"), (1, 72, "replica"),     # RPO 1 h: the nightly backup would lose up to a day
    (24, 24, "replica"),                       # RTO 24 h: a restore takes two days
    (24, 48, "backup"), (168, 336, "backup"),
    (720, 720, "none"), (800, 1000, "none"),
])
def test_dr_tier_is_the_cheapest_that_meets_both_rpo_and_rto(rpo: float, rto: float, tier: str) -> None:
    inv = inventory([server()], rpo=rpo, rto=rto)
    got = tier_of(inv.systems[0], CAT)
    assert got.tier == tier
    assert (got.rpo_short_hours, got.rto_short_hours) == (0, 0)
    assert got.tier_rpo_hours <= rpo and got.tier_rto_hours <= rto


@pytest.mark.parametrize(("rpo", "rto", "short"), [(0, 4, (0.25, 0)), (1, 1, (0, 3)), (0, 2, (0.25, 2))])
def test_a_tier_that_misses_says_which_objective_and_by_how_much(rpo: float, rto: float, short: tuple) -> None:
    got = tier_of(inventory([server()], rpo=rpo, rto=rto).systems[0], CAT)
    assert got.tier == "warm"
    assert (got.rpo_short_hours, got.rto_short_hours) == short
    assert ("RPO" in got.reason) and ("RTO" in got.reason)


def test_the_issues_case_rpo_1h_rto_72h_is_replicated_not_left_to_the_nightly_backup() -> None:
    plan = make_plan_for([server(disk_gb=2000)], rpo=1, rto=72)
    (tier,) = plan.dr.tiers
    assert tier.tier == "replica"
    assert plan.dr.replica_tb == 2.0 and plan.dr.backup_tb == 2.0
    assert plan.dr.replication_mbps > 0
    lines = {x.key: x.annual_yen for x in plan.cost.consolidated_lines}
    assert lines["dr_replication"] == 2 * CAT.dr_site.replication_per_tb_year.yen
    assert plan.dr.standby_hosts == 0 and lines["dr_racks"] == 0


def make_plan_for(servers: list[dict], rpo: float, rto: float):  # type: ignore[no-untyped-def]
    from shuyaku.inventory.load import Loaded
    from shuyaku.plan.build import make_plan

    inv = inventory(servers, rpo=rpo, rto=rto)
    return make_plan(Loaded(inv, CAT, ROOT / "x.yaml", None))


def test_every_system_of_the_sample_city_meets_its_rpo_and_rto_or_the_plan_says_so() -> None:
    from shuyaku.plan.build import make_plan

    plan = make_plan(load(ROOT / "examples" / "sample-city" / "inventory.yaml"))
    systems = {s.id: s for s in load(ROOT / "examples" / "sample-city" / "inventory.yaml").inventory.systems}
    for x in plan.dr.tiers:
        s = systems[x.system_id]
        met = x.tier_rpo_hours <= s.rpo_hours and x.tier_rto_hours <= s.rto_hours
        assert met == (x.rpo_short_hours == x.rto_short_hours == 0)
    assert plan.dr.misses == sum(1 for x in plan.dr.tiers if x.rpo_short_hours or x.rto_short_hours)


def test_sample_city_dr_site_holds_standby_for_warm_systems_only() -> None:
    from shuyaku.plan.build import make_plan

    plan = make_plan(load(ROOT / "examples" / "sample-city" / "inventory.yaml"))
    warm = {x.system_id for x in plan.dr.tiers if x.tier == "warm"}
    assert warm and plan.dr.standby_hosts == sum(z.hosts for z in plan.dr.zones) > 0
    on_dr = {vm.split("/")[0] for z in plan.dr.zones for h in z.host_loads for vm in h.vms if not vm.startswith("platform/")}
    assert on_dr == warm
    protected = sum(v.after.disk_gb for v in plan.sizing
                    if v.system_id in {x.system_id for x in plan.dr.tiers if x.tier != "none"})
    replicated = sum(v.after.disk_gb for v in plan.sizing
                     if v.system_id in {x.system_id for x in plan.dr.tiers if x.tier in ("warm", "replica")})
    assert plan.dr.replica_tb == pytest.approx(replicated / 1000, abs=0.1)
    assert plan.dr.backup_tb == pytest.approx(protected / 1000, abs=0.1)
