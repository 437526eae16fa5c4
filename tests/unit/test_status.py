"""`shuyaku status`: progress, cost now, history, comparisons and the goal sheet over the small town.

The cloud's side is built from the platform program itself: the small town's plan and site data, deployed under
Pulumi's mocks (only the engine is mocked), give the projects with their tags, the layer aggregates with their
hosts and the flavors; the "vendor's" servers of the systems a test migrates are added with the planned flavors.
Expected figures are worked out here from the inventory and the catalogue, line by line, not by the code under test.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from types import SimpleNamespace as NS
from typing import Any

import pytest

from shuyaku.audit.snapshot import Snapshot
from shuyaku.contracts.status import Operations, RuleFinding, Said, StatusRun
from shuyaku.inventory.load import load
from shuyaku.plan.build import make_plan, make_site_data
from shuyaku.platform import config, mocks, program
from shuyaku.status import compare, costnow, history, progress, risks, sheet
from shuyaku.status.collect import exit_code, new_id

ROOT = Path(__file__).resolve().parents[2]
SMALL = ROOT / "examples" / "small-town" / "inventory.yaml"
TODAY = date(2026, 12, 15)


@pytest.fixture(scope="module")
def town() -> dict[str, Any]:
    loaded = load(SMALL)
    assert loaded.catalogue is not None
    plan = make_plan(loaded)
    site = make_site_data(plan, loaded.inventory, loaded.catalogue, "onprem")
    m, out = mocks.run(lambda: program.build(config.from_site(site)))
    return {"loaded": loaded, "plan": plan, "site": site, "mocks": m, "outputs": out,
            "dr": make_site_data(plan, loaded.inventory, loaded.catalogue, "dr")}


def snapshot(town: dict[str, Any], migrate: dict[str, int] | None = None, *, dr_hosts: bool = False) -> Snapshot:
    """The cloud as the mocked deployment left it, plus `migrate`: system id -> ACTIVE servers booted in its tenant
    (the planned flavors, in order), and with `dr_hosts` the DR site's aggregates as its site data plans them."""
    m = town["mocks"]
    snap = Snapshot()
    snap.projects = [NS(id=r.id, name=r.inputs["name"], tags=r.inputs["tags"])
                     for r in m.of_type("openstack:identity/project:Project")]
    snap.aggregates = [NS(name=r.inputs["name"], hosts=r.inputs["hosts"], metadata=r.inputs["metadata"])
                       for r in m.of_type("openstack:compute/aggregateV2:AggregateV2")]
    if dr_hosts:
        snap.aggregates += [NS(name=f"dr-{z.layer}", hosts=z.host_names, metadata={"shuyaku_site": "dr"})
                            for z in town["dr"].zones]
    flavors = {r.inputs["name"]: r.inputs for r in m.of_type("openstack:compute/flavor:Flavor")}
    tenants = town["outputs"]["tenants"]
    for sid, count in (migrate or {}).items():
        planned = [s for s in tenants[sid]["servers"] for _ in range(s["count"])]
        for i in range(count):
            f = flavors[planned[i % len(planned)]["flavor"]]
            snap.servers.append(NS(id=f"srv-{sid}-{i}", project_id=tenants[sid]["project_id"], status="ACTIVE",
                                   flavor={"original_name": f["name"], "vcpus": f["vcpus"], "ram": f["ram"]}))
            snap.volumes.append(NS(id=f"vol-{sid}-{i}", project_id=tenants[sid]["project_id"], size=50))
    snap.index()
    return snap


def systems(town: dict[str, Any], snap: Snapshot, junit: Path | None = None) -> list[Any]:
    cat = town["loaded"].catalogue
    return progress.systems(town["plan"], town["loaded"].inventory, town["site"], snap, progress.read_junit(junit),
                            cat.sizing.hardware_life_years, TODAY)


def planned(town: dict[str, Any], sid: str) -> int:
    return sum(g.count for t in town["site"].tenants if t.system_id == sid for g in t.servers)


def test_a_system_is_migrated_when_its_tenant_runs_the_planned_servers(town: dict[str, Any]) -> None:
    wave2 = next(w for w in town["plan"].waves if w.number == 2)
    moving = {sid: planned(town, sid) for sid in wave2.systems}
    moving["juki"] = planned(town, "juki") - 1  # one server short of its plan
    rows = systems(town, snapshot(town, moving))
    by = {r.system_id: r for r in rows}
    assert {r.system_id for r in rows if r.migrated} == set(wave2.systems)
    assert all(r.tenant_ready for r in rows) and len(rows) == len(town["site"].tenants)
    assert by["juki"].active_servers == planned(town, "juki") - 1 and not by["juki"].migrated
    assert by["juki"].wave is None  # a standard operation: Government Cloud, not a wave
    waves = {w.number: w for w in progress.waves(town["plan"], rows)}
    assert waves[2].migrated == len(wave2.systems) and waves[1].migrated == 0
    assert waves[1].tenants_ready == len(waves[1].systems)
    # a system past its end of life and not migrated is flagged; a migrated one is not
    for r in rows:
        assert r.eol_passed == (not r.migrated and r.eol < TODAY)
    assert any(r.eol_passed for r in rows), "the small town has systems past their EOL on the test date"


def test_a_missing_tenant_is_not_ready_and_verification_comes_from_the_junit_file(town: dict[str, Any],
                                                                                   tmp_path: Path) -> None:
    snap = snapshot(town, {"mail": planned(town, "mail"), "web": planned(town, "web")})
    snap.projects = [p for p in snap.projects if "shuyaku:system=web" not in p.tags]
    junit = tmp_path / "junit.xml"
    junit.write_text("""<?xml version="1.0"?><testsuites><testsuite name="pytest">
<testcase classname="tests.infra.test_baseline" name="test_sshd[ansible://mail-1]" time="0.1"/>
<testcase classname="tests.infra.test_baseline" name="test_chrony[ansible://mail-1]" time="0.1"/>
<testcase classname="tests.infra.test_baseline" name="test_sshd[ansible://groupware-1]" time="0.1">
<failure message="sshd allows root">x</failure></testcase>
</testsuite></testsuites>""", encoding="utf-8")
    by = {r.system_id: r for r in systems(town, snap, junit)}
    assert by["mail"].migrated and by["mail"].verified == "passed"
    assert by["groupware"].verified == "failed" and by["zaimu"].verified == "not_run"
    assert not by["web"].tenant_ready and not by["web"].migrated  # its servers are no use without its project


def _expected_cost(town: dict[str, Any], migrated: set[str], hosts: int, standby: int) -> int:
    """The cost now, from the catalogue's figures and the inventory's, line by line as docs/status.md states it."""
    cat, inv = town["loaded"].catalogue, town["loaded"].inventory
    h, ops, carry = cat.host, cat.operations, cat.carryover
    assert cat.storage_per_tb_year is None and standby == 0  # the small town prices no external storage
    fte = round(ops.base_fte.value + (hosts + standby) / ops.hosts_per_fte.value
                + len(migrated) / ops.systems_per_fte.value, 2)
    platform = [hosts * h.price.yen / h.amortisation_years.value, hosts * h.price.yen * cat.maintenance_rate.value,
                hosts * cat.hypervisor_support_per_host_year.yen, hosts * cat.rack_power_per_host_year.yen,
                fte * ops.cost_per_fte.yen]
    items = dict.fromkeys(["hardware", "maintenance_hardware", "maintenance_application", "licences", "operations",
                           "facility"], 0.0)
    for s in inv.systems:
        if s.id not in migrated:
            continue
        hw = (s.costs.maintenance_hardware if s.costs.maintenance_hardware is not None
              else round(s.costs.maintenance * carry.hardware_maintenance_share.value))
        items["hardware"] += s.costs.hardware
        items["maintenance_hardware"] += hw
        items["maintenance_application"] += s.costs.maintenance - hw
        items["licences"] += s.costs.licences
        items["operations"] += s.costs.operations
        items["facility"] += s.costs.facility
    carried = [items[k] * getattr(carry, k).value for k in items if getattr(carry, k).value > 0]
    old = sum(s.costs.total for s in inv.systems if s.id not in migrated)
    return sum(round(x) for x in platform + carried) + old


def test_cost_now_counts_the_allocated_hosts_and_the_unmigrated_systems_at_their_old_cost(town: dict[str, Any]) -> None:
    plan, inv, cat = town["plan"], town["loaded"].inventory, town["loaded"].catalogue
    hosts = sum(z.hosts for z in plan.zones)  # the packed hosts; the VDI pools' are priced apart (next test)
    for moving in ({}, {"lgmail": planned(town, "lgmail"), "mail": planned(town, "mail")}):
        snap = snapshot(town, moving)
        rows = systems(town, snap)
        alloc = costnow.allocated(snap, "onprem")
        assert (alloc.hosts, alloc.vdi_hosts, alloc.standby_hosts) == (hosts, plan.cost.thin_client.vdi_hosts, 0)
        assert alloc.servers_active == sum(moving.values()) and alloc.volume_gb == 50.0 * sum(moving.values())
        now = costnow.cost_now(plan, inv, cat, alloc, rows)
        want = _expected_cost(town, set(moving), hosts, 0)
        assert now.now_yen == want
        assert now.ratio_pct == round(want / plan.cost.baseline_annual_yen * 100, 1)
        assert now.baseline_yen == sum(s.costs.total for s in inv.systems)
        assert now.not_migrated_yen == sum(s.costs.total for s in inv.systems if s.id not in moving)
    # the DR site's standby hosts are priced once they exist
    rows = systems(town, snapshot(town, {}, dr_hosts=True))
    alloc = costnow.allocated(snapshot(town, {}, dr_hosts=True), "onprem")
    with_dr = costnow.cost_now(plan, inv, cat, alloc, rows)
    assert alloc.standby_hosts == len({h for z in town["dr"].zones for h in z.host_names}) > 0
    assert any(x.key == "dr_hosts" and x.annual_yen > 0 for x in with_dr.lines)


def test_each_host_is_priced_once_the_vdi_pools_in_the_thin_client_line_not_in_the_ratio(town: dict[str, Any]) -> None:
    """The VDI pools' hosts sit in the layer aggregates beside the packed hosts; the plan prices them once, in the
    thin-client line. Counted as platform hosts too, a cloud built and migrated exactly as planned would cost more
    than the plan says it costs."""
    plan, inv, cat = town["plan"], town["loaded"].inventory, town["loaded"].catalogue
    everything = {t.system_id: planned(town, t.system_id) for t in town["site"].tenants}
    snap = snapshot(town, everything, dr_hosts=True)
    in_aggregates = {h for a in snap.aggregates if a.metadata.get("shuyaku_site") == "onprem" for h in a.hosts}
    vdi = plan.cost.thin_client.vdi_hosts
    assert vdi > 0 and len(in_aggregates) == sum(z.hosts for z in plan.zones) + vdi
    rows = systems(town, snap)
    assert all(r.migrated for r in rows)
    cost = costnow.cost_now(plan, inv, cat, costnow.allocated(snap, "onprem"), rows)
    assert (cost.now_yen, cost.ratio_pct) == (plan.cost.consolidated_annual_yen, plan.cost.ratio_pct)
    assert (cost.allocated.vdi_hosts, cost.plan_vdi_hosts) == (vdi, vdi)
    # beside the ratio: the hosts' part of the plan's thin-client line (what is left without the terminals)
    v, tc = cat.vdi, plan.cost.thin_client
    terminals = tc.terminals * (v.thin_client_price.yen / v.thin_client_life_years.value
                                + v.thin_client_support_per_year.yen + v.vdi_licence_per_user_year.yen)
    assert cost.vdi_yen == round(tc.thin_client_annual_yen - terminals)
    # a host that is in two aggregates, or a VDI host numbered past the plan's pools, is still counted once, apart
    snap.aggregates.append(NS(name="spare", metadata={"shuyaku_site": "onprem"},
                              hosts=[snap.aggregates[0].hosts[0], "onprem-internet-vdi-100"]))
    again = costnow.allocated(snap, "onprem")
    assert (again.hosts, again.vdi_hosts) == (cost.allocated.hosts, vdi + 1)


def run_of(town: dict[str, Any], moving: dict[str, int], period: str, when: datetime, *,
           rules: list[RuleFinding] | None = None) -> StatusRun:
    plan, inv, cat = town["plan"], town["loaded"].inventory, town["loaded"].catalogue
    snap = snapshot(town, moving)
    rows = systems(town, snap)
    cost = costnow.cost_now(plan, inv, cat, costnow.allocated(snap, "onprem"), rows)
    found = rules or []
    run = StatusRun(id=new_id(when), taken_at=when, period=period, stack="town", site="onprem",
                     municipality=Said(ja=inv.municipality.name, en=inv.municipality.name_en or inv.municipality.name),
                     drift=[], rules=found, rules_checked=["live"], systems=rows,
                     waves=progress.waves(plan, rows), cost=cost, operations=Operations(patch_run=None, warn_days=30),
                     risks=[], exit_code=exit_code([], found, rows, False), seconds=1.0)
    run.risks = risks.open_risks(plan, run, when.date())
    return run


QUOTA = RuleFinding(source="live", id="live.quota", severity="warning", resource="quota juki", system_id="juki",
                    message=Said(ja="クォータ instances=14", en="quota instances=14"))


def test_history_keeps_runs_and_the_trend_takes_each_months_last(town: dict[str, Any], tmp_path: Path) -> None:
    store = history.SqliteStore(tmp_path / "h.sqlite")
    nov1 = run_of(town, {}, "2026-11", datetime(2026, 11, 2, tzinfo=UTC))
    nov2 = run_of(town, {"mail": 1}, "2026-11", datetime(2026, 11, 28, tzinfo=UTC))
    dec = run_of(town, {"mail": 1, "lgmail": 1}, "2026-12", datetime(2026, 12, 1, tzinfo=UTC), rules=[QUOTA])
    for r in (nov1, nov2, dec):
        store.save(r)
    back = history.runs(store, "town")
    assert [r.id for r in back] == [nov1.id, nov2.id, dec.id] and back[2] == dec
    assert history.runs(store, "other") == []
    trend = compare.monthly(back)
    assert [(t.period, t.id) for t in trend] == [("2026-11", nov2.id), ("2026-12", dec.id)]
    assert [t.ratio_pct for t in trend] == [nov2.cost.ratio_pct, dec.cost.ratio_pct]
    assert trend[1].migrated == 2 and trend[1].findings == 1
    assert compare.previous_month(back, dec) == nov2


def test_since_finds_a_run_by_id_date_month_or_file_and_names_what_changed(town: dict[str, Any], tmp_path: Path) -> None:
    store = history.SqliteStore(tmp_path / "h.sqlite")
    a = run_of(town, {}, "2026-11", datetime(2026, 11, 2, tzinfo=UTC))
    b = run_of(town, {"mail": 1, "lgmail": 1}, "2026-12", datetime(2026, 12, 3, tzinfo=UTC), rules=[QUOTA])
    for r in (a, b):
        store.save(r)
    runs = history.runs(store, "town")
    exported = tmp_path / "a.json"
    exported.write_text(a.model_dump_json(indent=1), encoding="utf-8")
    for spec in (a.id, "2026-11-30", "2026-11", str(exported)):
        assert compare.find_since(store, "town", spec, runs).id == a.id, spec
    for spec in ("2026-10-01", "2025-01", "not-a-run"):
        with pytest.raises(compare.SinceError):
            compare.find_since(store, "town", spec, runs)
    diff = compare.compare(a, b)
    kinds = [c.kind for c in diff.changes]
    assert kinds.count("migrated") == 2 and "finding_new" in kinds and "ratio" in kinds
    assert any("live.quota" in c.text.en and "quota juki" in c.text.ja for c in diff.changes)
    assert diff.before.ratio_pct == a.cost.ratio_pct and diff.after.ratio_pct == b.cost.ratio_pct


def test_a_stored_run_that_does_not_match_the_model_is_named_by_place_and_field(town: dict[str, Any]) -> None:
    from shuyaku.contracts.problems import ProblemsError

    doc = json.loads(run_of(town, {}, "2026-11", datetime(2026, 11, 2, tzinfo=UTC)).model_dump_json())
    doc["cost"]["ratio_pct"] = "half"
    text = json.dumps(doc, indent=1)
    with pytest.raises(ProblemsError) as e:
        history.parse_run(text, "runs.json")
    (p,) = e.value.problems
    assert p.file == "runs.json" and p.field == "cost.ratio_pct" and p.line == text.splitlines().index(
        next(line for line in text.splitlines() if '"half"' in line)) + 1


def test_the_goal_sheet_shows_both_months_the_trend_the_waves_and_what_changed(town: dict[str, Any],
                                                                                tmp_path: Path) -> None:
    nov = run_of(town, {}, "2026-11", datetime(2026, 11, 30, tzinfo=UTC))
    dec = run_of(town, {"mail": planned(town, "mail"), "lgmail": planned(town, "lgmail")}, "2026-12",
                 datetime(2026, 12, 31, tzinfo=UTC), rules=[QUOTA])
    written = sheet.publish(dec, [nov, dec], tmp_path / "site")
    assert [p.name for p in written] == ["goal-sheet.json", "index.html", "index.en.html"]
    ja = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    en = (tmp_path / "site" / "index.en.html").read_text(encoding="utf-8")
    for page in (ja, en):
        assert page.count('<tr class="month">') == 2 and "2026-11" in page and "2026-12" in page
        assert f"{nov.cost.ratio_pct:.1f}%" in page and f"{dec.cost.ratio_pct:.1f}%" in page
        assert "<script" not in page
    assert '<ul id="risks"><li>' in ja and "live.quota" in ja.split('id="risks"')[1].split("</ul>")[0]
    assert "を過ぎても未移行" in ja and "not migrated past" in en
    assert "目標管理シート" in ja and "第2波" in ja and "前月からの変化" in ja and "移行済みになりました" in ja
    assert "Goal sheet" in en and "wave 2" in en and "is now migrated" in en and "halve" in en.lower()
    # no Japanese on the English page besides the link to the Japanese one and names the inventory gives only in Japanese
    rest = en.replace("日本語", "")
    for s in town["loaded"].inventory.systems:
        rest = rest if s.name_en else rest.replace(s.name, "")
    assert not [ch for ch in rest if "\u3040" <= ch <= "\u30ff" or "\u4e00" <= ch <= "\u9fff" or ch in "（）、。"]
    data = json.loads((tmp_path / "site" / "goal-sheet.json").read_text(encoding="utf-8"))
    assert [t["period"] for t in data["trend"]] == ["2026-11", "2026-12"] and data["since"] == "2026-11"
    assert data["measured"]["ratio_pct"] == dec.cost.ratio_pct and len(data["waves"]) == len(town["plan"].waves)
    assert {c["kind"] for c in data["changes"]} >= {"ratio", "migrated", "finding_new"}
