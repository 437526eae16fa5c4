"""Shared services that serve several layers do not form a path between them (issue 11).

A path through a shared service needs two things: the service accepts connections from one layer, and it can
open connections towards another layer or out of the cloud. Every base service accepts from every layer that
reaches the shared zone, so what must hold is on the second half: the plan gives no shared service any egress
except the declared mediations. The live audit reports any other egress on the real cloud (live.service_bridge,
tests/integration/test_audit_live.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from shuyaku.contracts.sitedata import SiteData
from shuyaku.platform import config, naming, synthetic

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "examples" / "sample-city" / "platform" / "site-onprem.json"
MEDIATORS = ("hub", "relay")


def sites() -> dict[str, SiteData]:
    return {"sample": SiteData.model_validate_json(SAMPLE.read_text(encoding="utf-8")), "synthetic": synthetic.site(40)}


@pytest.mark.parametrize("which", ["sample", "synthetic"])
def test_no_shared_service_opens_a_connection_except_its_declared_mediation(which: str) -> None:
    site = sites()[which]
    cfg = config.from_site(site)
    lay = cfg.layout
    cidr_of = {t.system_id: t.cidr for t in site.tenants}
    assert lay.service_rules, "the site has no shared services to judge"
    for service, rules in lay.service_rules.items():
        egress = {r.key() for r in rules if r.direction == "egress"}
        ingress_layers = {lay_name for r in rules if r.direction == "ingress"
                          for lay_name, z in ((z.layer, z) for z in site.zones) if r.cidr == z.cidr}
        if service == "patch_mirror":
            # its upstream, through the proxy only (pull-only: it never fetches on a client's behalf)
            assert egress == {("egress", "tcp", cfg.proxy_port, cfg.proxy_cidr)}, egress
        elif service == "bastion":
            # administration: SSH onwards to the zones that route to the shared zone, nothing else
            zones = {("egress", "tcp", 22, z.cidr) for z in site.zones if lay.reaches_shared(z.layer)}
            assert egress == zones, (service, egress ^ zones)
        elif service in MEDIATORS:
            planned = {("egress", f.protocol, f.port, cidr_of[f.target_system])
                       for f in site.flows if f.path == service and f.target_system in cidr_of}
            assert egress == planned, (service, egress ^ planned)
        else:
            assert egress == set(), (service, egress)
        if service in naming.BASE_SERVICES and service != "patch_mirror":
            # it serves several layers, and can reach none of them
            assert len(ingress_layers) >= 2 and not egress, (service, ingress_layers)


@pytest.mark.parametrize("which", ["sample", "synthetic"])
def test_every_path_through_a_mediator_is_a_planned_flow(which: str) -> None:
    """Through the hub or relay, layer A reaches tenant B only where a flow of the plan says so, on its port."""
    site = sites()[which]
    lay = config.from_site(site).layout
    tenant = {t.system_id: t for t in site.tenants}
    for service in MEDIATORS:
        rules = lay.service_rules.get(service, [])
        inbound = {(r.protocol, r.port, r.cidr) for r in rules if r.direction == "ingress" and r.kind == "mediated-in"}
        outbound = {(r.protocol, r.port, r.cidr) for r in rules if r.direction == "egress"}
        flows = [f for f in site.flows if f.path == service]
        assert {(f.protocol, f.port, tenant[f.source_system].cidr) for f in flows} == inbound
        assert {(f.protocol, f.port, tenant[f.target_system].cidr) for f in flows} == outbound
