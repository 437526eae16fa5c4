"""The connection matrix of `verify --migrated`: what a source guest must reach and what it must not, bounded,
seeded and covering every ordered layer pair and every system (shuyaku.verify.matrix)."""

from __future__ import annotations

import itertools
import json

import pytest

from shuyaku.contracts.plan import LinkPlan, Plan
from shuyaku.contracts.verify import CaseSet, Proxy
from shuyaku.contracts.vocabulary import Layer
from shuyaku.verify.matrix import LISTENER, Guest, MatrixError, MatrixInput, Mediator, build_cases, linked_pairs

LAYERS = (Layer.mynumber, Layer.lgwan, Layer.internet, Layer.shared)
PROXY = Proxy(address="192.0.2.80", port=8080)
INTERNET = Proxy(address="198.18.99.1", port=80)


def link(src: str, dst: str, layers: dict[str, Layer], port: int, path: str) -> LinkPlan:
    return LinkPlan(source=src, target=dst, protocol="tcp", port=port, source_layer=layers[src],
                    target_layer=layers[dst], path=path)  # type: ignore[arg-type]


def city(n: int, *, every: int = 7) -> MatrixInput:
    """n systems spread over the four layers, a direct link inside each layer every few systems, and hub and
    relay links across; one guest each, the hub and relay with a host of their own."""
    layers = {f"s{i:03d}": LAYERS[i % 4] for i in range(n)}
    ids = sorted(layers)
    links = []
    for i in range(0, n - 4, every):  # i and i + 4 share a layer
        links.append(link(ids[i], ids[i + 4], layers, 1433, "direct"))
    my = [s for s in ids if layers[s] == Layer.mynumber]
    lg = [s for s in ids if layers[s] == Layer.lgwan]
    it = [s for s in ids if layers[s] == Layer.internet]
    links += [link(my[0], lg[0], layers, 443, "hub"), link(lg[1], it[1], layers, 25, "relay")]
    # Only `links` and `municipality` are read by the matrix; the rest of a plan does not matter here.
    plan = Plan.model_construct(municipality="試験市", links=links)
    guests = {sid: [Guest(f"{sid}-01", f"10.{i // 250}.{i % 250}.10")] for i, sid in enumerate(ids)}
    mediators = {"hub": Mediator("hub", "10.40.0.30", (443,), Guest("hub-01", "10.40.0.30")),
                 "relay": Mediator("relay", "10.40.0.28", (443,), Guest("relay-01", "10.40.0.28"))}
    return MatrixInput(stack="test", municipality="試験市", plan=plan, layers=layers, guests=guests,
                       mediators=mediators, proxy=PROXY, internet=INTERNET)


def unlinked(cs: CaseSet) -> list:
    return [c for c in cs.cases if c.why in ("unlinked_pair", "mynumber_outside") and c.target_layer is not None
            and c.source not in ("hub", "relay") and c.target not in ("hub", "relay")]


def test_sampled_matrix_covers_every_layer_pair_and_every_system_within_the_bound() -> None:
    m = city(80)
    cs = build_cases(m, bound=320)
    assert len(cs.cases) <= 320
    cov = cs.coverage
    assert cov.unlinked_possible > 3000 and cov.unlinked_tried < cov.unlinked_possible  # really sampled
    pairs = unlinked(cs)
    tried_layers = {(c.source_layer, c.target_layer) for c in pairs}
    assert tried_layers == set(itertools.product(LAYERS, LAYERS))  # all 16 ordered pairs, same layer included
    assert {c.source for c in pairs} == set(m.layers) == {c.target for c in pairs}
    assert all(c.expect == "refuse" for c in pairs)
    assert sum(p.tried for p in cov.unlinked_by_layer) == cov.unlinked_tried == len(pairs)
    assert sum(p.possible for p in cov.unlinked_by_layer) == cov.unlinked_possible
    assert all(p.tried >= 1 for p in cov.unlinked_by_layer)
    linked = linked_pairs(m.plan)
    assert not any((c.source, c.target) in linked for c in pairs)


def test_same_inputs_and_seed_give_the_same_cases_in_a_stable_order() -> None:
    one = build_cases(city(80), bound=320, seed=7).model_dump_json()
    assert build_cases(city(80), bound=320, seed=7).model_dump_json() == one
    other = build_cases(city(80), bound=320, seed=8)
    assert other.model_dump_json() != one  # the seed decides the sample ...
    assert len(other.cases) == len(json.loads(one)["cases"])  # ... not its size
    keys = [(c.source_host, c.target, c.port, c.via is not None, c.id) for c in other.cases]
    assert keys == sorted(keys)
    assert len({c.id for c in other.cases}) == len(other.cases)


def test_the_full_matrix_is_tried_when_it_fits() -> None:
    cs = build_cases(city(12), bound=400)
    assert cs.coverage.unlinked_tried == cs.coverage.unlinked_possible == 12 * 11 - 4  # 4 planned pairs
    assert len(cs.cases) <= 400


def test_a_bound_too_small_to_cover_the_layers_and_systems_is_refused_not_silently_cut() -> None:
    with pytest.raises(MatrixError, match="max-cases"):
        build_cases(city(80), bound=200)
    with pytest.raises(MatrixError, match="5000"):
        build_cases(city(12), bound=0)


def test_planned_links_direct_and_through_the_hub_and_relay() -> None:
    m = city(12)
    cs = build_cases(m)
    by = {c.id: c for c in cs.cases}
    direct = [c for c in cs.cases if c.why == "planned_direct"]
    assert direct and all(c.expect == "allow" and c.banner == LISTENER for c in direct)
    for ln in (x for x in m.plan.links if x.path in ("hub", "relay")):
        src, dst = m.guests[ln.source][0], m.guests[ln.target][0]
        med = m.mediators[ln.path]
        first = by[f"{src.host}-to-{ln.path}-tcp{ln.port}"]
        assert (first.expect, first.address, first.why) == ("allow", med.address, "planned_to_mediator")
        second = by[f"{med.host.host}-to-{ln.target}-tcp{ln.port}"]  # type: ignore[union-attr]
        assert (second.expect, second.address, second.source) == ("allow", dst.address, ln.path)
        around = by[f"{src.host}-to-{ln.target}-tcp{ln.port}"]
        assert (around.expect, around.why) == ("refuse", "mediated_bypass")


def test_my_number_sources_reach_nothing_outside_the_layer_but_the_hub_on_its_listed_ports() -> None:
    m = city(16)
    cs = build_cases(m)
    hub_ports = {(ln.source, ln.port) for ln in m.plan.links if ln.path == "hub"}
    for sid in (s for s, layer in m.layers.items() if layer == Layer.mynumber):
        mine = [c for c in cs.cases if c.source == sid]
        outside = [c for c in mine if c.target_layer != Layer.mynumber]
        allowed = [c for c in outside if c.expect == "allow"]
        assert all(c.target == "hub" and (sid, c.port) in hub_ports for c in allowed), allowed
        refused_targets = {c.target for c in outside if c.expect == "refuse"}
        assert {"proxy", "internet", "relay", "hub"} <= refused_targets
        others = {s for s, layer in m.layers.items() if layer != Layer.mynumber}
        assert others <= refused_targets  # every other layer's system, when the bound allows it (it does here)
        unlisted = next(c for c in mine if c.why == "mynumber_hub_unlisted")
        assert (sid, unlisted.port) not in hub_ports


def test_internet_sources_go_out_through_the_proxy_only_and_lgwan_sources_not_at_all() -> None:
    m = city(16)
    cs = build_cases(m)
    for sid, layer in m.layers.items():
        mine = {(c.target, c.via is not None, c.expect) for c in cs.cases if c.source == sid and c.target
                in ("internet", "proxy")}
        if layer == Layer.internet:
            assert mine == {("internet", True, "allow"), ("internet", False, "refuse")}
            via = next(c for c in cs.cases if c.source == sid and c.via is not None)
            assert via.via == PROXY and via.address == INTERNET.address
        elif layer in (Layer.lgwan, Layer.mynumber):
            assert mine == {("internet", False, "refuse"), ("proxy", False, "refuse")}


def test_what_is_left_out_is_said() -> None:
    m = city(12)
    del m.guests["s001"]  # not migrated yet: its links cannot be tried
    m.internet = None
    cs = build_cases(m)
    whats = {u.what for u in cs.coverage.untried}
    assert "internet" in whats
    assert any("s001" in u.en and "not migrated" in u.en for u in cs.coverage.untried)
    assert not any("s001" in (c.source, c.target) for c in cs.cases)
    assert cs.coverage.planned_tried < cs.coverage.planned_links


def test_refused_pairs_are_tried_on_a_port_the_target_serves() -> None:
    m = city(12)
    served = {ln.target: ln.port for ln in m.plan.links}
    for c in unlinked(build_cases(m)):
        assert c.port == served.get(c.target, 22)


def test_a_system_named_like_a_shared_service_cannot_hide_a_case() -> None:
    m = city(12)
    # s001 renamed `hub`: "s000-01-to-hub-tcp443" would be both the hub leg (allowed) and a refused pair.
    m.layers["hub"] = m.layers.pop("s001")
    m.guests["hub"] = m.guests.pop("s001")
    m.plan = Plan.model_construct(municipality="試験市", links=[
        ln if ln.target != "s001" else ln.model_copy(update={"target": "hub"}) for ln in m.plan.links])
    served = {ln.target for ln in m.plan.links}
    assert "hub" in served
    with pytest.raises(MatrixError, match="hub"):
        build_cases(m)
