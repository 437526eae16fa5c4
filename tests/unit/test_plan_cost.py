"""The cost case, checked against figures worked out by hand for a two-system town."""

from __future__ import annotations

from pathlib import Path

import yaml

from shuyaku.contracts.catalogue import Catalogue
from shuyaku.contracts.inventory import Inventory
from shuyaku.inventory.load import load
from shuyaku.plan.cost import Footprint, cost_case

ROOT = Path(__file__).resolve().parents[2]


def catalogue(**over: float) -> Catalogue:
    raw = yaml.safe_load((ROOT / "examples" / "sample-city" / "cost-catalogue.yaml").read_text(encoding="utf-8"))
    raw["host"]["price"]["yen"] = 1_000_000
    raw["host"]["amortisation_years"]["value"] = 5
    raw["maintenance_rate"]["value"] = 0.1
    raw["rack_power_per_host_year"]["yen"] = 50_000
    raw["hypervisor_support_per_host_year"]["yen"] = 30_000
    raw["storage_per_tb_year"]["yen"] = 10_000
    raw["operations"]["staff_fte"]["value"] = 2
    raw["operations"]["cost_per_fte"]["yen"] = 1_000_000
    raw["operations"]["app_operations_factor"]["value"] = over.get("app_ops", 0.5)
    raw["operations"]["licence_factor"]["value"] = over.get("licences", 0.8)
    raw["migration"]["per_server"]["yen"] = over.get("per_server", 10_000)
    raw["migration"]["per_system"]["yen"] = 100_000
    raw["dr_site"]["facility_per_year"]["yen"] = 300_000
    raw["dr_site"]["network_per_year"]["yen"] = 100_000
    raw["dr_site"]["backup_per_tb_year"]["yen"] = 1_000
    v = raw["vdi"]
    v["users_per_host"]["value"] = 10
    v["vdi_licence_per_user_year"]["yen"] = 1_000
    v["thin_client_price"]["yen"], v["thin_client_life_years"]["value"] = 60_000, 6
    v["thin_client_support_per_year"]["yen"] = 2_000
    v["pc_price"]["yen"], v["pc_life_years"]["value"] = 100_000, 5
    v["pc_support_per_year"]["yen"] = 5_000
    return Catalogue.model_validate(raw)


def town() -> Inventory:
    def system(sid: str, costs: tuple[int, ...], op: str | None) -> dict:
        s = {"id": sid, "name": sid, "department": "d", "layer": "lgwan", "vendor": "v", "users": 1, "rpo_hours": 24,
             "rto_hours": 48, "servers": [{"role": "ap", "count": 1, "vcpu": 2, "ram_gb": 4, "disk_gb": 50, "os": "rhel",
                                           "os_version": "9", "purchase_year": 2024}],
             "costs": dict(zip(["hardware", "maintenance", "licences", "operations", "facility"], costs, strict=True))}
        if op:
            s["standard_op"] = op
        return s
    return Inventory.model_validate({
        "municipality": {"name": "t", "population": 1, "separation_model": "alpha", "fiscal_year": 2026},
        "systems": [system("A1", (2_000_000, 1_000_000, 1_000_000, 2_000_000, 500_000), None),
                    system("B1", (1_000_000, 500_000, 500_000, 1_000_000, 500_000), "juki")],
        "terminals": [{"department": "d", "layer": "lgwan", "count": 25}],
    })


FP = Footprint(hosts=4, storage_gb=2000, standby_hosts=1, backup_tb=3.0, migrated_servers=5, migrated_systems=2)


def test_consolidated_cost_lines_match_the_hand_computed_case() -> None:
    c = cost_case(town(), catalogue(), FP, years=3)
    lines = {x.key: x.annual_yen for x in c.consolidated_lines}
    assert lines == {
        "host_amortisation": 800_000,   # 4 x 1,000,000 / 5
        "host_maintenance": 400_000,    # 4 x 1,000,000 x 0.1
        "rack_power": 200_000,          # 4 x 50,000
        "hypervisor_support": 120_000,  # 4 x 30,000
        "storage": 20_000,              # 2 TB x 10,000
        "platform_operations": 2_000_000,
        "dr_hosts": 330_000,            # 1 x (200,000 + 100,000 + 30,000)
        "dr_facility": 300_000,
        "dr_network": 100_000,
        "dr_backup": 3_000,             # 3 TB x 1,000
        "licences": 1_200_000,          # 1,500,000 x 0.8
        "app_operations": 1_500_000,    # 3,000,000 x 0.5
    }
    assert c.baseline_annual_yen == 10_000_000
    assert {x.key: x.annual_yen for x in c.baseline_lines}["operations"] == 3_000_000
    assert c.consolidated_annual_yen == 6_973_000
    assert (c.ratio_pct, c.reduction_pct, c.goal_met) == (69.7, 30.3, False)
    assert c.migration_one_off_yen == 250_000  # 5 x 10,000 + 2 x 100,000
    assert [y.consolidated_yen for y in c.by_year] == [7_223_000, 6_973_000, 6_973_000]
    assert c.by_year[-1].cumulative_baseline_yen == 30_000_000
    assert c.break_even_year == 1
    assert c.standard_ops_annual_yen == 3_500_000
    assert all(x.source for x in c.consolidated_lines + c.baseline_lines)


def test_halving_goal_and_a_later_break_even() -> None:
    c = cost_case(town(), catalogue(licences=0.0, app_ops=0.0, per_server=4_000_000), FP, years=5)
    # 6,973,000 - 1,200,000 - 1,500,000 = 4,273,000 a year: 42.7% of 10,000,000
    assert (c.consolidated_annual_yen, c.ratio_pct, c.goal_met) == (4_273_000, 42.7, True)
    # one-off 20,200,000: cumulative 24.473M vs 10M, 28.746M vs 20M, 33.019M vs 30M, 37.292M vs 40M -> year 4
    assert c.migration_one_off_yen == 20_200_000
    assert c.break_even_year == 4


def test_thin_clients_are_costed_apart_and_honestly() -> None:
    tc = cost_case(town(), catalogue(), FP).thin_client
    assert tc.terminals == 25
    assert tc.pc_annual_yen == 625_000  # 25 x (100,000/5 + 5,000)
    # 25 x (60,000/6 + 2,000) + (ceil(25/10)+1 = 4 hosts) x (330,000 + 50,000 rack) + 25 x 1,000
    assert tc.thin_client_annual_yen == 300_000 + 1_520_000 + 25_000
    assert tc.difference_yen == tc.thin_client_annual_yen - tc.pc_annual_yen > 0
    assert tc.security_benefits_ja and tc.security_benefits_en and tc.maintenance_benefits_ja and tc.maintenance_benefits_en


def test_sample_city_cost_case_is_like_for_like_and_reported_against_the_halving_goal() -> None:
    from shuyaku.plan.build import make_plan

    loaded = load(ROOT / "examples" / "sample-city" / "inventory.yaml")
    c = make_plan(loaded).cost
    assert c.baseline_annual_yen == sum(s.costs.total for s in loaded.inventory.systems)
    assert c.goal_met == (c.ratio_pct <= 50)
    assert 0 < c.standard_ops_annual_yen < c.baseline_annual_yen
    assert c.consolidated_annual_yen == sum(x.annual_yen for x in c.consolidated_lines)
