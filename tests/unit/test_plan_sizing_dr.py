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


@pytest.mark.parametrize(("rpo", "rto", "tier"), [
    (1, 4, "warm"), (24, 24, "warm"),          # RTO <= 24 h: warm standby
    (48, 24.5, "backup"), (168, 168, "backup"),  # RTO <= 168 h: backup-restore
    (24, 336, "backup"),                       # RPO <= 24 h alone: backup-restore
    (24.5, 168.5, "none"), (168, 336, "none"),
])
def test_dr_tier_follows_the_stated_thresholds(rpo: float, rto: float, tier: str) -> None:
    inv = inventory([server()], rpo=rpo, rto=rto)
    assert tier_of(inv.systems[0]).tier == tier


def test_sample_city_dr_site_holds_standby_for_warm_systems_only() -> None:
    from shuyaku.plan.build import make_plan

    plan = make_plan(load(ROOT / "examples" / "sample-city" / "inventory.yaml"))
    warm = {x.system_id for x in plan.dr.tiers if x.tier == "warm"}
    assert warm and plan.dr.standby_hosts == sum(z.hosts for z in plan.dr.zones) > 0
    on_dr = {vm.split("/")[0] for z in plan.dr.zones for h in z.host_loads for vm in h.vms if not vm.startswith("platform/")}
    assert on_dr == warm
    protected = sum(v.after.disk_gb for v in plan.sizing
                    if v.system_id in {x.system_id for x in plan.dr.tiers if x.tier != "none"})
    assert plan.dr.backup_tb == pytest.approx(protected / 1000, abs=0.1)
