"""`shuyaku assess`: ageing servers, cross-layer links, My Number readiness and the cost baseline."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
import yaml

from shuyaku.assess import Assessment, assess
from shuyaku.assess.analyse import reference_date
from shuyaku.assess.checklist import CHECK_IDS
from shuyaku.contracts.assessment import COST_KEYS
from shuyaku.contracts.inventory import Inventory
from shuyaku.inventory.links import classify_link
from shuyaku.inventory.load import load, load_catalogue

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "examples" / "sample-city" / "inventory.yaml"
CATALOGUE = ROOT / "examples" / "sample-city" / "cost-catalogue.yaml"


def server(**over: object) -> dict:
    base: dict = {"role": "ap", "count": 1, "vcpu": 2, "ram_gb": 8, "disk_gb": 100, "os": "rhel", "os_version": "9",
                  "purchase_year": 2025}
    base.update(over)
    return base


def system(sid: str, layer: str = "lgwan", **over: object) -> dict:
    base: dict = {
        "id": sid, "name": f"業務{sid}", "department": "情報政策課", "layer": layer, "vendor": "v", "users": 10,
        "rpo_hours": 24, "rto_hours": 48, "servers": [server()],
        "costs": {"hardware": 100, "maintenance": 20, "licences": 30, "operations": 40, "facility": 5},
    }
    base.update(over)
    return base


def inventory(*systems: dict, fiscal_year: int = 2026) -> Inventory:
    return Inventory.model_validate({
        "municipality": {"name": "テスト市", "population": 1000, "separation_model": "alpha", "fiscal_year": fiscal_year},
        "systems": list(systems),
    })


def ages_by_role(a: Assessment) -> dict[str, tuple[str, str]]:
    return {s.role: (s.os_status, s.hardware_status) for s in a.servers}


# --- OS end of life and hardware age ---------------------------------------------------------------------------

def test_windows_2008_r2_is_flagged_and_2022_is_not() -> None:
    inv = inventory(system("A01", servers=[
        server(role="old", os="windows_server", os_version="2008 R2"),
        server(role="new", os="windows_server", os_version="2022"),
    ]))
    a = assess(inv)
    got = {s.role: s for s in a.servers}
    assert got["old"].os_status == "eol"
    assert got["old"].os_end_of_support == date(2020, 1, 14)
    assert got["new"].os_status == "ok"
    assert a.summary.servers_os_eol == 1
    assert a.summary.systems_with_eol_os == 1


def test_os_support_is_judged_at_april_1_of_the_fiscal_year_with_a_two_year_warning_band() -> None:
    # RHEL 7 ended 2024-06-30: still supported on 2024-04-01 (FY2024) but inside the 2-year band;
    # gone by FY2025. Windows Server 2016 (2027-01-12) is a warning in FY2026, fine in FY2024.
    srv = [server(role="rhel7", os="rhel", os_version="7", purchase_year=2024),
           server(role="ws2016", os="windows_server", os_version="2016", purchase_year=2024)]
    assert reference_date(2024) == date(2024, 4, 1)
    fy2024 = ages_by_role(assess(inventory(system("A01", servers=srv), fiscal_year=2024)))
    fy2025 = ages_by_role(assess(inventory(system("A01", servers=srv), fiscal_year=2025)))
    fy2026 = ages_by_role(assess(inventory(system("A01", servers=srv), fiscal_year=2026)))
    assert fy2024["rhel7"][0] == "soon" and fy2025["rhel7"][0] == "eol"
    assert fy2024["ws2016"][0] == "ok" and fy2026["ws2016"][0] == "soon"


def test_hardware_older_than_its_life_is_flagged() -> None:
    inv = inventory(system("A01", servers=[
        server(role="y2019", purchase_year=2019),  # 7 years in FY2026
        server(role="y2021", purchase_year=2021),  # 5 fiscal years used up: at the end of a 5-year life
        server(role="y2023", purchase_year=2023),  # reaches 5 within the 2-year band
        server(role="y2026", purchase_year=2026),
    ]))
    a = assess(inv)  # no catalogue: the default life of 5 years
    assert a.hardware_life_years == 5 and a.hardware_life_source == "default"
    hw = {role: st[1] for role, st in ages_by_role(a).items()}
    assert hw == {"y2019": "over", "y2021": "over", "y2023": "soon", "y2026": "ok"}
    assert a.summary.servers_hw_over == 2


def test_hardware_life_comes_from_the_catalogue() -> None:
    cat = load_catalogue(CATALOGUE)
    cat = cat.model_copy(update={"sizing": cat.sizing.model_copy(update={"hardware_life_years": 8})})
    inv = inventory(system("A01", servers=[server(role="y2019", purchase_year=2019)]))
    a = assess(inv, cat)
    assert a.hardware_life_years == 8 and a.hardware_life_source == "catalogue"
    assert ages_by_role(a)["y2019"][1] == "soon"  # 7 years: not yet past an 8-year life


def test_server_counts_weigh_by_count() -> None:
    inv = inventory(system("A01", servers=[server(count=4, os="centos", os_version="7", purchase_year=2015)]))
    s = assess(inv).summary
    assert (s.servers, s.servers_os_eol, s.servers_hw_over) == (4, 4, 4)


# --- data links across layers ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("src", "dst", "direction", "port", "path"), [
    ("mynumber", "internet", "outbound", 443, "forbidden"),
    ("internet", "mynumber", "inbound", 1521, "forbidden"),
    ("mynumber", "lgwan", "outbound", 1521, "hub"),
    ("lgwan", "mynumber", "both", 1521, "hub"),
    ("lgwan", "internet", "outbound", 445, "relay"),
    ("internet", "lgwan", "outbound", 1433, "relay"),
    ("lgwan", "internet", "outbound", 3389, "screen"),  # an LGWAN terminal's screen session to the internet VDI
    ("internet", "lgwan", "inbound", 443, "screen"),  # the same, declared from the other end
    ("internet", "lgwan", "outbound", 443, "relay"),  # the internet side may not open a session into LGWAN
    ("lgwan", "internet", "both", 443, "relay"),  # both ways: the stricter direction wins
    ("lgwan", "lgwan", "outbound", 1521, "direct"),
    ("mynumber", "shared", "outbound", 514, "direct"),
    ("internet", "shared", "both", 53, "direct"),
])
def test_link_classification(src: str, dst: str, direction: str, port: int, path: str) -> None:
    assert classify_link(src, dst, direction, port) == path
    inv = inventory(system("A01", layer=src, links=[{"target": "B01", "port": port, "direction": direction}]),
                    system("B01", layer=dst))
    a = assess(inv)
    [finding] = a.links
    assert finding.path == path
    assert finding.compliant == (path == "direct")
    assert a.summary.links_by_path[path] == 1


# --- My Number readiness -----------------------------------------------------------------------------------------

def checks(a: Assessment, sid: str) -> dict[str, str]:
    [r] = [r for r in a.readiness if r.system_id == sid]
    return {c.id: c.status for c in r.checks}


def test_readiness_checklist_is_explicit_and_bilingual() -> None:
    a = assess(inventory(system("A01")))
    assert [c.id for c in a.checklist] == list(CHECK_IDS) == ["layer", "os", "redundancy", "links", "rpo_rto"]
    for c in a.checklist:
        assert c.label_ja and c.label_en and c.rule_ja and c.rule_en


def test_a_standard_operation_outside_the_my_number_layer_fails_placement() -> None:
    a = assess(inventory(system("A01", layer="lgwan", standard_op="juki"), system("A02", layer="mynumber", standard_op="koseki"),
                         system("A03", layer="lgwan")))
    assert checks(a, "A01")["layer"] == "fail"
    assert checks(a, "A02")["layer"] == "pass"
    assert checks(a, "A03")["layer"] == "pass"


def test_redundancy_is_required_when_rto_is_24_hours_or_less() -> None:
    none = [server(role="db"), server(role="ap")]
    some = [server(role="db", count=2, redundancy="active_standby"), server(role="ap")]
    full = [server(role="db", count=2, redundancy="active_standby"), server(role="ap", count=2, redundancy="active_active")]
    a = assess(inventory(
        system("A01", layer="mynumber", rto_hours=4, servers=none),
        system("A02", layer="mynumber", rto_hours=24, servers=some),
        system("A03", layer="mynumber", rto_hours=8, servers=full),
        system("A04", layer="mynumber", rto_hours=48, servers=none),
    ))
    assert [checks(a, s)["redundancy"] for s in ("A01", "A02", "A03", "A04")] == ["fail", "warn", "pass", "na"]


def test_a_forbidden_link_fails_both_ends_and_a_link_to_reroute_warns() -> None:
    a = assess(inventory(
        system("A01", layer="mynumber", links=[{"target": "B01", "port": 443}, {"target": "C01", "port": 1521}]),
        system("B01", layer="internet"),
        system("C01", layer="lgwan"),
        system("D01", layer="lgwan", links=[{"target": "C01", "port": 1521}]),
    ))
    assert checks(a, "A01")["links"] == "fail"
    assert checks(a, "B01")["links"] == "fail"
    assert checks(a, "C01")["links"] == "warn"  # the hub link from A01
    assert checks(a, "D01")["links"] == "pass"


def test_zero_rpo_or_rto_is_questioned() -> None:
    a = assess(inventory(system("A01", rpo_hours=0, rto_hours=48), system("A02")))
    assert checks(a, "A01")["rpo_rto"] == "warn"
    assert checks(a, "A02")["rpo_rto"] == "pass"


def test_readiness_score_and_ready_flag() -> None:
    # layer pass, os fail (2012 R2), redundancy n/a (RTO 48), links pass, rpo_rto warn: (1 + 0 + 1 + 0.5) / 4
    a = assess(inventory(system("A01", rpo_hours=0, servers=[server(os="windows_server", os_version="2012 R2")])))
    [r] = a.readiness
    assert [c.status for c in r.checks] == ["pass", "fail", "na", "pass", "warn"]
    assert r.score_pct == 62.5
    assert r.ready is False
    b = assess(inventory(system("A01")))
    assert b.readiness[0].score_pct == 100.0 and b.readiness[0].ready
    assert b.summary.systems_ready == 1


# --- cost baseline -----------------------------------------------------------------------------------------------

def test_cost_baseline_sums_equal_the_inventory_totals() -> None:
    loaded = load(SAMPLE)
    inv = loaded.inventory
    a = assess(inv, loaded.catalogue)
    for key in COST_KEYS:
        expected = sum(getattr(s.costs, key) for s in inv.systems)
        assert getattr(a.cost.total, key) == expected
        assert sum(getattr(r, key) for r in a.cost.by_department) == expected
        assert sum(getattr(r, key) for r in a.cost.by_layer) == expected
    grand = sum(s.costs.total for s in inv.systems)
    assert a.cost.total.total == grand
    assert sum(r.total for r in a.cost.by_department) == grand
    assert sum(r.systems for r in a.cost.by_layer) == len(inv.systems)
    assert {r.key for r in a.cost.by_department} == {s.department for s in inv.systems}
    assert a.cost.standard_ops_total_yen == sum(s.costs.total for s in inv.systems if s.standard_op)
    assert a.cost.per_resident_yen == pytest.approx(grand / inv.municipality.population, abs=0.05)
    totals = [r.total for r in a.cost.by_department]
    assert totals == sorted(totals, reverse=True)


def test_sample_city_findings() -> None:
    """The bundled city has end-of-life servers, a forbidden link and links to reroute, as it was made to."""
    loaded = load(SAMPLE)
    a = assess(loaded.inventory, loaded.catalogue)
    assert a.summary.systems == 80
    assert a.summary.servers_os_eol > 0 and a.summary.servers_hw_over > 0
    assert a.summary.links_by_path["forbidden"] >= 1
    assert a.summary.links_by_path["hub"] >= 1 and a.summary.links_by_path["relay"] >= 1
    assert sum(a.summary.links_by_path.values()) == a.summary.links


# --- the command -------------------------------------------------------------------------------------------------

def run(*args: str, lang: str = "ja", cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "shuyaku.cli", *args], capture_output=True, text=True, cwd=cwd,
                          env={"SHUYAKU_LANG": lang, "PATH": "/usr/bin:/bin"}, timeout=120)


def test_cli_writes_both_files_and_prints_a_summary(tmp_path: Path) -> None:
    r = run("assess", str(SAMPLE), "--out", str(tmp_path / "out"))
    assert r.returncode == 0, r.stderr
    html = tmp_path / "out" / "assessment.html"
    data = tmp_path / "out" / "assessment.json"
    assert html.is_file() and data.is_file()
    a = Assessment.model_validate_json(data.read_text(encoding="utf-8"))
    loaded = load(SAMPLE)
    assert a == assess(loaded.inventory, loaded.catalogue)
    assert '<html lang="ja">' in html.read_text(encoding="utf-8")
    assert f"{a.summary.systems} システム" in r.stdout and "OSサポート終了" in r.stdout
    assert f"{a.summary.servers_os_eol} 台" in r.stdout


def test_cli_english(tmp_path: Path) -> None:
    r = run("assess", str(SAMPLE), "--out", str(tmp_path), "--lang", "en")
    assert r.returncode == 0, r.stderr
    assert "OS out of support" in r.stdout
    assert '<html lang="en">' in (tmp_path / "assessment.html").read_text(encoding="utf-8")


def test_cli_uses_the_default_hardware_life_without_a_catalogue(tmp_path: Path) -> None:
    doc = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))
    del doc["municipality"]["catalogue"]
    path = tmp_path / "inv.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    r = run("assess", str(path), "--out", str(tmp_path), "--lang", "en")
    assert r.returncode == 0, r.stderr
    assert "default 5 years" in r.stdout
    assert json.loads((tmp_path / "assessment.json").read_text())["hardware_life_source"] == "default"


def test_cli_bad_input_lists_every_problem_and_exits_2(tmp_path: Path) -> None:
    doc = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))
    doc["systems"][0]["colour"] = "blue"  # unknown key
    doc["systems"][1]["links"] = [{"target": "NOPE", "port": 1}]  # unknown link target
    doc["municipality"]["catalogue"] = str(CATALOGUE)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    r = run("assess", str(path), "--out", str(tmp_path / "out"), "--lang", "en")
    assert r.returncode == 2
    assert "colour" in r.stderr and "NOPE" in r.stderr
    assert "bad.yaml:" in r.stderr
    assert "Traceback" not in r.stderr + r.stdout
    assert not (tmp_path / "out" / "assessment.html").exists()


def test_cli_missing_file_exits_2(tmp_path: Path) -> None:
    r = run("assess", str(tmp_path / "missing.yaml"), "--out", str(tmp_path))
    assert r.returncode == 2
    assert "missing.yaml" in r.stderr and "Traceback" not in r.stderr


def test_cli_unwritable_output_exits_2(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    r = run("assess", str(SAMPLE), "--out", str(blocker / "sub"), "--lang", "en")
    assert r.returncode == 2
    assert "cannot write" in r.stderr and "Traceback" not in r.stderr
