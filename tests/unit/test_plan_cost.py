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
    raw["host"]["price"] = {"yen": 1_000_000, "source": "test"}
    raw["host"]["amortisation_years"]["value"] = 5
    raw["maintenance_rate"]["value"] = 0.1
    raw["rack_power_per_host_year"]["yen"] = 50_000
    raw["hypervisor_support_per_host_year"]["yen"] = 30_000
    ops = raw["operations"]
    ops["base_fte"] = {"value": 1, "source": "test"}
    ops["hosts_per_fte"] = {"value": 10, "source": "test"}
    ops["systems_per_fte"] = {"value": 2, "source": "test"}
    ops["cost_per_fte"]["yen"] = 1_000_000
    carry = raw["carryover"]
    for key, value in (("hardware", 0), ("maintenance_hardware", 0), ("facility", 0), ("hardware_maintenance_share", 0.4),
                       ("maintenance_application", over.get("app_maint", 1.0)), ("licences", over.get("licences", 0.8)),
                       ("operations", over.get("app_ops", 0.5))):
        carry[key] = {"value": value, "source": f"test {key}"}
    if "licences_pessimistic" in over:
        carry["licences"] |= {"pessimistic": over["licences_pessimistic"], "optimistic": over["licences_optimistic"]}
    raw["migration"]["per_server"]["yen"] = over.get("per_server", 10_000)
    raw["migration"]["per_system"]["yen"] = 100_000
    dr = raw["dr_site"]
    dr["hosts_per_rack"] = {"value": 2, "source": "test"}
    dr["rack_increment"] = {"value": 0.5, "source": "test"}
    dr["rack_per_year"] = {"yen": 300_000, "source": "test"}
    dr["network_mbps"] = {"value": 100, "source": "test"}
    dr["network_per_year"] = {"yen": 100_000, "source": "test"}
    dr["backup_per_tb_year"] = {"yen": 1_000, "source": "test"}
    dr["replication_per_tb_year"] = {"yen": 2_000, "source": "test"}
    v = raw["vdi"]
    v["users_per_host"]["value"] = 10
    v["vdi_licence_per_user_year"]["yen"] = 1_000
    v["thin_client_price"]["yen"], v["thin_client_life_years"]["value"] = 60_000, 6
    v["thin_client_support_per_year"]["yen"] = 2_000
    v["pc_price"]["yen"], v["pc_life_years"]["value"] = 100_000, 5
    v["pc_support_per_year"]["yen"] = 5_000
    return Catalogue.model_validate(raw)


def town(split: int | None = 600_000) -> Inventory:
    def system(sid: str, costs: tuple[int, ...], op: str | None) -> dict:
        s = {"id": sid, "name": sid, "department": "d", "layer": "lgwan", "vendor": "v", "users": 1, "rpo_hours": 24,
             "rto_hours": 48, "servers": [{"role": "ap", "count": 1, "vcpu": 2, "ram_gb": 4, "disk_gb": 50, "os": "rhel",
                                           "os_version": "9", "purchase_year": 2024}],
             "costs": dict(zip(["hardware", "maintenance", "licences", "operations", "facility"], costs, strict=True))}
        if op:
            s["standard_op"] = op
        elif split is not None:
            s["costs"]["maintenance_hardware"] = split  # A1 splits its 保守; B1 leaves it to the catalogue
        return s
    return Inventory.model_validate({
        "municipality": {"name": "t", "population": 1, "separation_model": "alpha", "fiscal_year": 2026},
        "systems": [system("A1", (2_000_000, 1_000_000, 1_000_000, 2_000_000, 500_000), None),
                    system("B1", (1_000_000, 500_000, 500_000, 1_000_000, 500_000), "juki")],
        "terminals": [{"department": "d", "layer": "lgwan", "count": 25}],
    })


FP = Footprint(hosts=4, storage_gb=2000, standby_hosts=1, backup_tb=3.0, migrated_servers=5, migrated_systems=2,
               replica_tb=1.5, dr_racks=0.5, network_lines=1)


def test_consolidated_cost_lines_match_the_hand_computed_case() -> None:
    c = cost_case(town(), catalogue(), FP, years=3)
    lines = {x.key: x.annual_yen for x in c.consolidated_lines}
    assert lines == {
        "host_amortisation": 800_000,   # 4 x 1,000,000 / 5 (the host's disk is in its price: no storage line)
        "host_maintenance": 400_000,    # 4 x 1,000,000 x 0.1
        "hypervisor_support": 120_000,  # 4 x 30,000
        "rack_power": 200_000,          # 4 x 50,000
        "platform_operations": 2_500_000,  # (1 + (4 + 1) hosts / 10 + 2 systems / 2) FTE x 1,000,000
        "remaining_maintenance_application": 700_000,  # (1,000,000 - 600,000) + (500,000 - 40% default) x 1.0
        "remaining_licences": 1_200_000,   # 1,500,000 x 0.8
        "remaining_operations": 1_500_000,  # 3,000,000 x 0.5
        "dr_hosts": 330_000,            # 1 x (200,000 + 100,000 + 30,000)
        "dr_racks": 150_000,            # 0.5 rack x 300,000
        "dr_network": 100_000,          # one line
        "dr_replication": 3_000,        # 1.5 TB x 2,000
        "dr_backup": 3_000,             # 3 TB x 1,000
    }
    base = {x.key: x.annual_yen for x in c.baseline_lines}
    assert base == {"hardware": 3_000_000, "maintenance_hardware": 800_000, "maintenance_application": 700_000,
                    "licences": 1_500_000, "operations": 3_000_000, "facility": 1_000_000}
    assert c.baseline_annual_yen == 10_000_000 == sum(base.values())
    assert c.consolidated_annual_yen == 8_006_000 == sum(lines.values())
    assert (c.ratio_pct, c.reduction_pct, c.goal_met) == (80.1, 19.9, False)
    assert c.gap_to_goal_yen == 3_006_000
    assert (c.maintenance_split_defaulted, c.platform_fte) == (1, 2.5)
    assert c.migration_one_off_yen == 250_000  # 5 x 10,000 + 2 x 100,000
    assert [y.consolidated_yen for y in c.by_year] == [8_256_000, 8_006_000, 8_006_000]
    assert c.by_year[-1].cumulative_baseline_yen == 30_000_000
    assert c.break_even_year == 1
    assert c.standard_ops_annual_yen == 3_500_000
    assert all(x.source and x.assumption for x in c.consolidated_lines + c.baseline_lines)


def test_application_maintenance_continues_whatever_the_split() -> None:
    """The issue's finding: the baseline's whole 保守 line vanished. Its application part must reappear."""
    for split in (None, 0, 600_000, 1_000_000):
        c = cost_case(town(split), catalogue(), FP)
        base = {x.key: x.annual_yen for x in c.baseline_lines}
        cons = {x.key: x.annual_yen for x in c.consolidated_lines}
        assert base["maintenance_hardware"] + base["maintenance_application"] == 1_500_000
        assert cons["remaining_maintenance_application"] == base["maintenance_application"] > 0 or split == 1_000_000
    assert cost_case(town(None), catalogue(), FP).maintenance_split_defaulted == 2


def test_halving_goal_and_a_later_break_even() -> None:
    c = cost_case(town(), catalogue(licences=0.0, app_ops=0.0, app_maint=0.0, per_server=4_000_000), FP, years=5)
    # 8,006,000 - 700,000 - 1,200,000 - 1,500,000 = 4,606,000 a year: 46.1% of 10,000,000
    assert (c.consolidated_annual_yen, c.ratio_pct, c.goal_met) == (4_606_000, 46.1, True)
    assert not any(x.key.startswith("remaining_") for x in c.consolidated_lines)  # a share of 0 has ended
    # one-off 20,200,000: cumulative 24.806M vs 10M, 29.412M vs 20M, 34.018M vs 30M, 38.624M vs 40M -> year 4
    assert c.migration_one_off_yen == 20_200_000
    assert c.break_even_year == 4


def test_sensitivity_takes_each_ranged_figure_from_the_catalogue() -> None:
    c = cost_case(town(), catalogue(licences_pessimistic=1.0, licences_optimistic=0.6), FP)
    got = {s.case: (s.consolidated_annual_yen, s.ratio_pct) for s in c.sensitivity}
    # licences 1,500,000 x 1.0 / 0.8 / 0.6 against 10,000,000
    assert got == {"pessimistic": (8_306_000, 83.1), "expected": (8_006_000, 80.1), "optimistic": (7_706_000, 77.1)}
    flat = cost_case(town(), catalogue(), FP)
    assert {s.ratio_pct for s in flat.sensitivity} == {80.1}  # no ranges: the three cases agree


def test_platform_staff_and_dr_racks_scale_with_the_platform() -> None:
    from shuyaku.plan import dr

    cat = catalogue()
    small = cost_case(town(), cat, FP)
    large = cost_case(town(), cat, Footprint(hosts=88, storage_gb=2000, standby_hosts=30, backup_tb=3.0,
                                              migrated_servers=5, migrated_systems=2, dr_racks=dr.racks(30, cat)))
    assert large.platform_fte == 1 + 118 / 10 + 1 > small.platform_fte
    assert dr.racks(30, cat) == 15 and dr.racks(3, cat) == 1.5 and dr.racks(0, cat) == 0
    assert dr.network_lines(250, cat) == 3 and dr.network_lines(0, cat) == 1


def test_thin_clients_are_costed_apart_and_honestly() -> None:
    tc = cost_case(town(), catalogue(), FP).thin_client
    assert tc.terminals == 25
    assert tc.pc_annual_yen == 625_000  # 25 x (100,000/5 + 5,000)
    # 25 x (60,000/6 + 2,000) + (ceil(25/10)+1 = 4 hosts) x (330,000 + 50,000 rack) + 25 x 1,000
    # + the staff who run those 4 hosts: 4 / hosts_per_fte 10 x 1,000,000 per FTE
    assert tc.vdi_hosts == 4
    assert tc.thin_client_annual_yen == 300_000 + 1_520_000 + 25_000 + 400_000
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
    assert c.baseline_annual_yen == sum(x.annual_yen for x in c.baseline_lines)
    ratios = [s.ratio_pct for s in c.sensitivity]
    assert ratios == sorted(ratios, reverse=True) and ratios[1] == c.ratio_pct
    kept = {x.item for x in c.consolidated_lines if x.key.startswith("remaining_")}
    assert {"maintenance_application", "licences", "operations"} <= kept
