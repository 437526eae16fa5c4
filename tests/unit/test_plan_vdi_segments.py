"""The screen-transfer (VDI) pools: one sizing for the zones, the site data, the cost and the report; and a zone's
own segment that stays where it is when systems are added to the inventory."""

from __future__ import annotations

import hashlib
import ipaddress
from pathlib import Path

import yaml

from shuyaku.contracts.inventory import Inventory
from shuyaku.inventory.load import Loaded, load
from shuyaku.plan.build import make_plan, make_site_data, reserved_slots
from shuyaku.platform import config
from shuyaku.report import plan_report

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "examples/sample-city/inventory.yaml"
SMALL = ROOT / "examples/small-town/inventory.yaml"


def _cells(html: str, figure: str) -> str:
    at = html.index(f'data-f="{figure}"')
    return html[html.index(">", at) + 1:html.index("<", at)]


def test_vdi_hosts_are_counted_once_in_every_total(tmp_path: Path) -> None:
    for path in (SAMPLE, SMALL):
        loaded = load(path)
        assert loaded.catalogue is not None
        plan = make_plan(loaded)
        onprem = make_site_data(plan, loaded.inventory, loaded.catalogue, "onprem")
        zones = {z.layer.value: z for z in plan.zones}
        # the pools the platform builds are the hosts the plan adds to their zones ...
        assert zones["internet"].vdi_hosts == onprem.vdi.hosts > 0
        lgwan_pool = zones["lgwan"].vdi_hosts
        assert lgwan_pool == onprem.vdi.lgwan_desktop_hosts
        # ... the hosts every aggregate gets (each named once) ...
        for z in onprem.zones:
            assert z.hosts == zones[z.layer.value].total_hosts == len(set(z.host_names))
        # ... and the hosts the thin-client line prices, for the terminals they serve
        tc = plan.cost.thin_client
        assert tc.vdi_hosts == onprem.vdi.hosts + onprem.vdi.lgwan_desktop_hosts
        assert tc.terminals == onprem.vdi.concurrent_users + (
            sum(t.count for t in loaded.inventory.terminals if t.layer == "internet") if lgwan_pool else 0)
        # the report's zone table and its headline card say the same total
        html = plan_report.render(plan, loaded.inventory, tmp_path / path.parent.name, "ja").read_text(encoding="utf-8")
        total = sum(z.total_hosts for z in plan.zones)
        assert int(_cells(html, "vdi_total")) == onprem.vdi.hosts + onprem.vdi.lgwan_desktop_hosts
        assert int(_cells(html, "packed_total")) + int(_cells(html, "vdi_total")) == total
        at = html.index('data-figure="hosts_total"')
        assert html[html.index(">", at) + 1:].startswith(f"{total:,}")


def _town_with(tmp_path: Path, terminals: int, extra_ids: list[str]) -> Loaded:
    raw = yaml.safe_load(SMALL.read_text(encoding="utf-8"))
    raw["terminals"] = [{"department": "全庁", "layer": "lgwan", "count": terminals}]
    raw["municipality"]["catalogue"] = "cost-catalogue.yaml"
    template = next(s for s in raw["systems"] if s["layer"] == "internet")
    for sid in extra_ids:
        raw["systems"].append(dict(template, id=sid, name=f"追加 {sid}", links=[], cidr=None))
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "cost-catalogue.yaml").write_text((SMALL.parent / "cost-catalogue.yaml").read_text(encoding="utf-8"),
                                                  encoding="utf-8")
    (tmp_path / "inventory.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return load(tmp_path / "inventory.yaml")


def _layout(loaded: Loaded) -> tuple[dict[str, str], str, str]:
    """Tenant CIDRs, the internet zone's segment and the VDI block, as the platform program lays them out."""
    assert loaded.catalogue is not None
    onprem = make_site_data(make_plan(loaded), loaded.inventory, loaded.catalogue, "onprem")
    lay = config.from_site(onprem).layout
    assert lay.vdi is not None
    return {t.system_id: t.cidr for t in onprem.tenants}, lay.segments["internet"], lay.vdi.cidr


def test_adding_systems_moves_no_tenant_and_not_the_vdi_segment(tmp_path: Path) -> None:
    """4,000 LGWAN terminals need a VDI block wider than a /24, so the internet zone's segment spans several /24
    slots at the zone's start. New systems whose ids hash into exactly those slots are added one by one: without
    the reservation each would take a slot there and push the segment (and every VDI host's address) elsewhere."""
    base = _town_with(tmp_path / "base", 4_000, [])
    keep = reserved_slots(base.inventory, base.catalogue)["internet"]  # type: ignore[arg-type]
    assert len(keep) > 1
    # ids that hash into the segment's slots (the zone is a /16: 256 slots)
    hits = [sid for sid in (f"net{i:03d}" for i in range(3000))
            if int.from_bytes(hashlib.sha256(sid.encode()).digest()[:4], "big") % 256 in keep][:3]
    assert len(hits) == 3
    before, segment, vdi = _layout(base)
    assert ipaddress.ip_network(segment).prefixlen < 24 and ipaddress.ip_network(vdi).subnet_of(
        ipaddress.ip_network(segment))  # type: ignore[arg-type]
    for n in range(1, len(hits) + 1):
        after, seg_after, vdi_after = _layout(_town_with(tmp_path / f"plus{n}", 4_000, hits[:n]))
        assert {k: after[k] for k in before} == before
        assert (seg_after, vdi_after) == (segment, vdi)
        assert not any(ipaddress.ip_network(after[sid]).overlaps(ipaddress.ip_network(segment)) for sid in hits[:n])
        assert len(set(after.values())) == len(after)


def test_the_examples_keep_their_single_slot_reservation() -> None:
    """Where the VDI block fits a /24 (every bundled example), only slot 0 is kept, as before: no renumbering."""
    for path in (SAMPLE, SMALL, ROOT / "examples/large-city/inventory.yaml"):
        loaded = load(path)
        assert loaded.catalogue is not None
        assert set(map(frozenset, reserved_slots(loaded.inventory, loaded.catalogue).values())) == {frozenset({0})}
        assert isinstance(loaded.inventory, Inventory)
