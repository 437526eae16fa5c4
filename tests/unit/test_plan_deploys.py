"""Issue 13: a plan always deploys, or `shuyaku plan` stops with the cause and writes nothing.

The sample city, the small town and a generated city of 222 systems are planned with the CLI's own code; their
site files (as written) are then run through the platform program under Pulumi's mocks, the DR stack against the
primary's real (mocked) outputs.
"""

from __future__ import annotations

import ipaddress
import math
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from shuyaku.cli.plan import PRIMARY_STACK, write_outputs
from shuyaku.contracts.plan import Plan
from shuyaku.contracts.problems import ProblemsError
from shuyaku.contracts.sitedata import SiteData
from shuyaku.inventory.load import load
from shuyaku.platform import config, mocks, program

ROOT = Path(__file__).resolve().parents[2]
CITIES = {"sample": ROOT / "examples/sample-city/inventory.yaml", "small": ROOT / "examples/small-town/inventory.yaml",
          "large": ROOT / "examples/large-city/inventory.yaml"}


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "shuyaku.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          env={"SHUYAKU_LANG": "en", "PATH": "/usr/bin:/bin"})


@pytest.mark.parametrize("city", list(CITIES))
def test_each_city_plans_and_its_own_site_files_deploy_under_mocks(city: str, tmp_path: Path) -> None:
    loaded = load(CITIES[city])
    plan, _ = write_outputs(loaded, tmp_path, 5)
    assert isinstance(plan, Plan)
    onprem = SiteData.model_validate_json((tmp_path / "site-onprem.json").read_text(encoding="utf-8"))
    dr = SiteData.model_validate_json((tmp_path / "site-dr.json").read_text(encoding="utf-8"))
    _, out = mocks.run(lambda: program.build(config.from_site(onprem)))
    assert set(out["tenants"]) == {s.id for s in loaded.inventory.systems}
    m, _ = mocks.run(lambda: program.build(config.from_site(dr, primary_stack=PRIMARY_STACK, stack="dr")),
                     stack_outputs={PRIMARY_STACK: out}, stack="dr")
    standby = {r.name.removeprefix("standby-") for r in m.of_type("shuyaku:platform:Tenant")}
    assert standby == {x.system_id for x in plan.dr.tiers if x.tier == "warm"}
    # No DR tier misses an objective unreported, and the cost lines add up, each with source and assumption.
    systems = {s.id: s for s in loaded.inventory.systems}
    for x in plan.dr.tiers:
        s = systems[x.system_id]
        assert (x.rpo_short_hours, x.rto_short_hours) == (max(0, x.tier_rpo_hours - s.rpo_hours),
                                                          max(0, x.tier_rto_hours - s.rto_hours))
    c = plan.cost
    assert c.consolidated_annual_yen == sum(x.annual_yen for x in c.consolidated_lines)
    assert c.baseline_annual_yen == sum(x.annual_yen for x in c.baseline_lines) == sum(
        s.costs.total for s in loaded.inventory.systems)
    assert all(x.source and x.assumption for x in c.baseline_lines + c.consolidated_lines)


def test_the_generated_city_is_large_and_says_what_it_declares(tmp_path: Path) -> None:
    loaded = load(CITIES["large"])
    inv = loaded.inventory
    assert len(inv.systems) >= 200
    plan, _ = write_outputs(loaded, tmp_path, 5)
    assert isinstance(plan, Plan)
    kinds = {lk.kind for lk in plan.links}
    assert {"file", "api", None} <= kinds
    assert {lk.path for lk in plan.links if lk.kind == "file"} == {"relay"}
    assert {x.tier for x in plan.dr.tiers} >= {"warm", "replica", "backup"}
    # 1/3 of the systems split their maintenance; the rest are counted as defaulted
    split = sum(1 for s in inv.systems if s.costs.maintenance_hardware is not None)
    assert 0 < split < len(inv.systems) and plan.cost.maintenance_split_defaulted == len(inv.systems) - split


def _town(tmp_path: Path, terminals: int, **edit: object) -> Path:
    raw = yaml.safe_load(CITIES["small"].read_text(encoding="utf-8"))
    raw["terminals"] = [{"department": "全庁", "layer": "lgwan", "count": terminals}] if terminals else []
    raw["municipality"]["catalogue"] = "cost-catalogue.yaml"
    for sid, link in edit.items():
        system = next(s for s in raw["systems"] if s["id"] == sid)
        system.setdefault("links", []).append(link)
    (tmp_path / "cost-catalogue.yaml").write_text((CITIES["small"].parent / "cost-catalogue.yaml").read_text(
        encoding="utf-8"), encoding="utf-8")
    path = tmp_path / "inventory.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def _lgwan_to_internet(path: Path) -> tuple[str, str]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    lgwan = next(s["id"] for s in raw["systems"] if s["layer"] == "lgwan")
    internet = next(s["id"] for s in raw["systems"] if s["layer"] == "internet")
    return lgwan, internet


def test_a_screen_link_without_terminals_is_a_validate_problem(tmp_path: Path) -> None:
    src, dst = _lgwan_to_internet(CITIES["small"])
    inv = _town(tmp_path, 0, **{src: {"target": dst, "protocol": "tcp", "port": 443}})
    r = run("validate", str(inv))
    assert r.returncode == 2 and "link.screen_without_terminals" in r.stderr and "kind: file" in r.stderr
    # Declared as a file transfer on a non-screen port, it goes through the relay and plans.
    ok = _town(tmp_path, 0, **{src: {"target": dst, "protocol": "tcp", "port": 22, "kind": "file"}})
    assert run("validate", str(ok)).returncode == 0


@pytest.mark.parametrize("terminals", [4_000, 20_000])
def test_vdi_is_sized_from_terminals_and_plan_never_writes_what_the_platform_refuses(terminals: int,
                                                                                       tmp_path: Path) -> None:
    from shuyaku.plan.build import vdi_plan

    loaded = load(_town(tmp_path, terminals))
    assert loaded.catalogue is not None
    vdi = vdi_plan(loaded.inventory, loaded.catalogue)
    assert vdi.hosts == math.ceil(terminals / loaded.catalogue.vdi.users_per_host.value) + 1
    out = tmp_path / "out"
    try:
        write_outputs(loaded, out, 5)
    except ProblemsError as exc:
        codes = [p.code for p in exc.problems]
        assert codes[0] == "plan.platform_rejects" and len(codes) > 1
        assert not (out / "site-onprem.json").exists() and not (out / "plan.json").exists()
        return
    onprem = SiteData.model_validate_json((out / "site-onprem.json").read_text(encoding="utf-8"))
    config.from_site(onprem)  # it was written, so the platform accepts it


def _segments_and_blocks(out: dict) -> dict[str, ipaddress.IPv4Network]:
    return {layer: ipaddress.ip_network(z["segment_cidr"]) for layer, z in out["zones"].items()}


@pytest.mark.parametrize("terminals", [4_000, 20_000])
def test_vdi_for_thousands_of_terminals_plans_and_deploys(terminals: int, tmp_path: Path) -> None:
    """The internet zone's segment grows to hold the VDI block the terminals need; nothing else moves."""
    plan, _ = write_outputs(load(_town(tmp_path, terminals)), tmp_path / "out", 5)
    assert isinstance(plan, Plan)
    onprem = SiteData.model_validate_json((tmp_path / "out" / "site-onprem.json").read_text(encoding="utf-8"))
    m, out = mocks.run(lambda: program.build(config.from_site(onprem)))
    segments = _segments_and_blocks(out)
    vdi = ipaddress.ip_network(out["vdi"]["cidr"])
    assert vdi.subnet_of(segments["internet"]) and segments["internet"].prefixlen < 24  # type: ignore[arg-type]
    # every VDI host has its own fixed address inside the block, on a port of the zone's one segment
    vdi_ports = [ipaddress.ip_address(r.inputs["fixedIps"][0]["ipAddress"])
                 for r in m.of_type("openstack:networking/port:Port") if r.name.startswith("vdi-vdi-")]
    assert len(vdi_ports) == len(set(vdi_ports)) == onprem.vdi.hosts and all(ip in vdi for ip in vdi_ports)
    for ten in onprem.tenants:
        assert not ipaddress.ip_network(ten.cidr).overlaps(segments[ten.layer])
    # the other zones keep the segment they have without terminals (no renumbering)
    write_outputs(load(_town(tmp_path, 40)), tmp_path / "small", 5)
    before = SiteData.model_validate_json((tmp_path / "small" / "site-onprem.json").read_text(encoding="utf-8"))
    _, out_small = mocks.run(lambda: program.build(config.from_site(before)))
    kept = _segments_and_blocks(out_small)
    assert {k: v for k, v in segments.items() if k != "internet"} == {k: v for k, v in kept.items() if k != "internet"}
    assert out["shared_services"] == out_small["shared_services"]


def test_a_declared_file_transfer_on_443_deploys(tmp_path: Path) -> None:
    """kind: file on tcp/443 from LGWAN to the internet layer goes through the relay, not the VDI."""
    src, dst = _lgwan_to_internet(CITIES["small"])
    inv = _town(tmp_path, 40, **{src: {"target": dst, "protocol": "tcp", "port": 443, "kind": "file"}})
    write_outputs(load(inv), tmp_path / "out", 5)
    onprem = SiteData.model_validate_json((tmp_path / "out" / "site-onprem.json").read_text(encoding="utf-8"))
    flow = next(f for f in onprem.flows if (f.source_system, f.target_system, f.port) == (src, dst, 443))
    assert (flow.path, flow.kind) == ("relay", "file")
    cfg = config.from_site(onprem)
    relay, vdi = cfg.layout.services["relay"].cidr, cfg.layout.vdi.cidr  # type: ignore[union-attr]
    egress = {(r.port, r.cidr) for r in cfg.layout.tenant_rules[src] if r.direction == "egress"}
    assert (443, relay) in egress and (443, vdi) not in egress
    # The same link declared as screen transfer goes through the VDI instead.
    inv = _town(tmp_path, 40, **{src: {"target": dst, "protocol": "tcp", "port": 443, "kind": "screen"}})
    write_outputs(load(inv), tmp_path / "screen", 5)
    screen = config.from_site(SiteData.model_validate_json((tmp_path / "screen" / "site-onprem.json").read_text(
        encoding="utf-8")))
    egress = {(r.port, r.cidr) for r in screen.layout.tenant_rules[src] if r.direction == "egress"}
    assert (443, screen.layout.vdi.cidr) in egress and (443, relay) not in egress  # type: ignore[union-attr]


def test_plan_exits_2_naming_the_platforms_cause_and_writes_nothing(tmp_path: Path) -> None:
    """20,000 LGWAN terminals need 1,001 VDI hosts; an internet range of /21 (room for the town's four internet
    systems) has no segment that holds them: at most half the zone is the platform's."""
    inv = _town(tmp_path, 20_000)
    catalogue = tmp_path / "cost-catalogue.yaml"
    raw = yaml.safe_load(catalogue.read_text(encoding="utf-8"))
    raw["addressing"]["internet"] = "10.30.0.0/21"
    catalogue.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    r = run("plan", str(inv), "--out", str(tmp_path / "out"))
    assert r.returncode == 2
    assert "plan.platform_rejects" in r.stderr and "layout.no_addresses" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "out").exists()
