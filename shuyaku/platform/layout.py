"""Addresses and security-group rules, decided from the checked site data before any resource exists.

The components only turn a Layout into resources; tests, quota sizing and the policy settings read the same
Layout, so what is checked is what is deployed.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from shuyaku.contracts import source
from shuyaku.contracts.problems import Problem, tx
from shuyaku.contracts.sitedata import Flow, Tenant
from shuyaku.contracts.vocabulary import Layer
from shuyaku.platform import naming

if TYPE_CHECKING:
    from shuyaku.platform.settings import PlatformConfig


@dataclass(frozen=True)
class Rule:
    """One security-group rule, decided from data before any resource exists (tests and quotas read these)."""

    direction: str  # ingress | egress
    protocol: str
    port: int
    cidr: str
    kind: str  # flow | flow-out | base | proxy | terminal | service | mediated-in | mediated-out | admin
    note: str

    def key(self) -> tuple[str, str, int, str]:
        return (self.direction, self.protocol, self.port, self.cidr)


@dataclass
class ServiceLayout:
    name: str
    cidr: str
    ips: list[str]


@dataclass
class Layout:
    """Addresses and rules derived from the site data; the components only turn these into resources."""

    segments: dict[str, str] = field(default_factory=dict)  # layer -> segment CIDR
    pools: dict[str, dict[str, str]] = field(default_factory=dict)  # layer -> allocation pool
    services: dict[str, ServiceLayout] = field(default_factory=dict)  # shared service -> block
    router_ports: dict[str, str] = field(default_factory=dict)  # layer -> its router's address on the shared segment
    # the shared router's routes back to the administrators' terminals: destination -> next hop (the port of the
    # layer whose network the terminals are on, naming.ADMIN_ENTRY_LAYER)
    admin_routes: dict[str, str] = field(default_factory=dict)
    vdi: ServiceLayout | None = None
    lgwan_desktops: ServiceLayout | None = None
    tenant_rules: dict[str, list[Rule]] = field(default_factory=dict)
    base_rules: dict[str, list[Rule]] = field(default_factory=dict)  # layer -> the baseline rules every tenant of the layer gets
    service_rules: dict[str, list[Rule]] = field(default_factory=dict)
    vdi_rules: list[Rule] = field(default_factory=list)
    desktop_rules: list[Rule] = field(default_factory=list)
    present: set[str] = field(default_factory=set)  # tenants this stack deploys
    router_layers: set[str] = field(default_factory=set)  # layers that get a router (not isolated by config)

    def reaches_shared(self, layer: str) -> bool:
        return layer == Layer.shared or (layer in self.router_layers and Layer.shared in self.router_layers)


def build(cfg: PlatformConfig, src: source.Source, flows: list[Flow], present: set[str]) -> tuple[Layout | None, list[Problem]]:
    """The layout for the tenants in `present` and the flows already checked; or the problem that prevents one."""
    lay = Layout(present=present)
    problem = _addresses(cfg, src, lay)
    if problem is not None:
        return None, [problem]
    tenants = {t_.system_id: t_ for t_ in cfg.site.tenants}
    rules: dict[str, list[Rule]] = {sid: [] for sid in present}
    svc_rules: dict[str, list[Rule]] = {s.name: [] for s in cfg.site.shared_services}
    for f in flows:
        _flow_rules(lay, f, tenants, rules, svc_rules)
    if {naming.ADMIN_ENTRY_LAYER, Layer.shared.value} <= lay.router_layers:
        lay.admin_routes = dict.fromkeys(cfg.admin_cidrs, lay.router_ports[naming.ADMIN_ENTRY_LAYER])
    lay.base_rules = _base_rules(cfg, lay)
    lay.tenant_rules = {sid: _dedupe(rules[sid]) for sid in rules}
    lay.service_rules = _service_rules(cfg, lay, svc_rules)
    ports = sorted(set(cfg.site.vdi.screen_ports))
    lay.vdi_rules = _dedupe(
        [Rule("ingress", "tcp", p, cidr, "terminal", "LGWAN terminals") for p in ports for cidr in cfg.terminal_cidrs]
        + [Rule("egress", "tcp", cfg.proxy_port, cfg.proxy_cidr, "proxy", "browsing through the proxy")]
        + lay.vdi_rules
    )
    lay.desktop_rules = _dedupe(
        [Rule("ingress", "tcp", p, cidr, "terminal", "terminals") for p in ports for cidr in cfg.terminal_cidrs]
    )
    return lay, []


def _addresses(cfg: PlatformConfig, src: source.Source, lay: Layout) -> Problem | None:
    """Each zone's segment, sized from what it must hold, and its pool; the shared services' and VDI's fixed
    blocks, the routers' shared ports."""
    site = cfg.site
    by_layer: dict[str, list[str]] = {}
    for ten in site.tenants:
        by_layer.setdefault(ten.layer, []).append(ten.cidr)
    lay.router_layers = {z.layer.value for z in site.zones if z.layer not in cfg.isolated_layers}
    demand = _fixed_demand(cfg, lay.router_layers)
    for i, z in enumerate(site.zones):
        wanted = demand.get(z.layer, [])
        counts = [count for _, count in wanted]
        if naming.segment_prefix(ipaddress.IPv4Network(z.cidr), counts) is None:
            return _no_room(src, i, z.cidr, z.layer, wanted)
        seg = naming.segment_cidr(z.cidr, by_layer.get(z.layer, []), counts)
        if seg is None:
            return src.problem(("zones", i, "cidr"),
                               tx(f"{z.layer} ゾーン {z.cidr} にゾーン共用セグメントの空きがありません",
                                  f"zone {z.layer} ({z.cidr}) has no free block left for its shared segment"),
                               tx("ゾーンの CIDR を広げるか、テナントを詰めてください", "widen the zone or pack the tenants"),
                               code="layout.no_segment")
        lay.segments[z.layer] = str(seg)
        allocator = naming.Allocator(seg)
        lay.pools[z.layer] = allocator.pool()
        try:
            for name, count in wanted:
                net, ips = allocator.block(count)
                _place(lay, name, ServiceLayout(name, str(net), ips))
        except ValueError as exc:
            return src.problem(("shared_services",) if z.layer == Layer.shared else ("vdi",),
                               tx(f"固定アドレスが足りません: {exc}", f"not enough fixed addresses: {exc}"),
                               tx("ゾーンの CIDR を広げてください", "widen the zone"), code="layout.no_addresses")
    return None


def _no_room(src: source.Source, i: int, cidr: str, layer: str, wanted: list[tuple[str, int]]) -> Problem:
    """The fixed addresses a zone's segment must hold exceed half the zone: say how many, for what, and how wide
    the zone must be."""
    total = sum(count for _, count in wanted)
    what = ", ".join(f"{name.removeprefix(_ROUTER)} {count}" for name, count in wanted)
    need = naming.segment_prefix(ipaddress.IPv4Network(cidr), [count for _, count in wanted], largest=1)
    wider = f"/{need - 1}" if need is not None else "?"
    return src.problem(("zones", i, "cidr"),
                       tx(f"{layer} ゾーン {cidr} の半分に固定アドレス {total} 個（{what}）が収まりません",
                          f"half of the {layer} zone {cidr} cannot hold its {total} fixed addresses ({what})"),
                       tx(f"ゾーンを {wider} 以上に広げるか、端末あたりの VDI 台数を見直してください",
                          f"widen the zone to {wider} or more, or revisit the VDI hosts the terminals need"),
                       code="layout.no_addresses")


def _fixed_demand(cfg: PlatformConfig, router_layers: set[str]) -> dict[str, list[tuple[str, int]]]:
    """Layer -> the fixed blocks its segment holds, in the order they are taken (the order keeps today's
    addresses): the shared services, then each other routed layer's port on the shared segment; the VDI hosts in
    the internet zone; the LGWAN desktops in the LGWAN zone."""
    site = cfg.site
    out: dict[str, list[tuple[str, int]]] = {Layer.shared.value: [(s.name, s.count) for s in site.shared_services]}
    if Layer.shared in router_layers:
        out[Layer.shared.value] += [(f"{_ROUTER}{layer}", 1) for layer in sorted(router_layers - {Layer.shared.value})]
    if site.vdi.hosts:
        out[Layer.internet.value] = [("vdi", site.vdi.hosts)]
    if site.vdi.lgwan_desktop_hosts:
        out[Layer.lgwan.value] = [("lgwan_desktop", site.vdi.lgwan_desktop_hosts)]
    return out


_ROUTER = "router:"


def _place(lay: Layout, name: str, block: ServiceLayout) -> None:
    if name.startswith(_ROUTER):
        lay.router_ports[name.removeprefix(_ROUTER)] = block.ips[0]
    elif name == "vdi":
        lay.vdi = block
    elif name == "lgwan_desktop":
        lay.lgwan_desktops = block
    else:
        lay.services[name] = block


def _flow_rules(lay: Layout, f: Flow, tenants: dict[str, Tenant], rules: dict[str, list[Rule]],
                svc_rules: dict[str, list[Rule]]) -> None:
    """One planned link: rules on both tenants (for those this stack deploys) and on the mediating service."""
    src_t, dst_t = tenants[f.source_system], tenants[f.target_system]
    how = f.path if f.kind is None else f"{f.path}, declared {f.kind}"
    label = f"{f.source_system}->{f.target_system} {f.protocol}/{f.port} ({how})"
    present = lay.present
    if f.path == "direct":
        if f.target_system in present and f.source_system in present:
            rules[f.target_system].append(Rule("ingress", f.protocol, f.port, src_t.cidr, "flow", label))
            rules[f.source_system].append(Rule("egress", f.protocol, f.port, dst_t.cidr, "flow-out", label))
        return
    if f.path == "screen":
        assert lay.vdi is not None
        mid = lay.vdi.cidr
    else:
        mid = lay.services[f.path].cidr
    if f.target_system in present:
        rules[f.target_system].append(Rule("ingress", f.protocol, f.port, mid, "flow", label))
    if f.source_system in present:
        rules[f.source_system].append(Rule("egress", f.protocol, f.port, mid, "flow-out", label))
    target = svc_rules.get(f.path) if f.path != "screen" else lay.vdi_rules
    if target is not None:
        if f.source_system in present:
            target.append(Rule("ingress", f.protocol, f.port, src_t.cidr, "mediated-in", label))
        if f.target_system in present:
            target.append(Rule("egress", f.protocol, f.port, dst_t.cidr, "mediated-out", label))


def _base_rules(cfg: PlatformConfig, lay: Layout) -> dict[str, list[Rule]]:
    """What every tenant of a layer may reach (the shared services; the proxy for the internet layer), decided
    once per layer; each tenant gets its own copy as a second group, so its first group holds only its planned
    links and no tenant can change what another tenant may reach."""
    base = [s for s in cfg.site.shared_services if s.name in naming.BASE_SERVICES]
    bastion = lay.services.get("bastion")
    out: dict[str, list[Rule]] = {}
    for z in cfg.site.zones:
        layer_rules: list[Rule] = []
        if lay.reaches_shared(z.layer):
            for s in base:
                for proto, port in s.ports:
                    layer_rules.append(Rule("egress", proto, port, lay.services[s.name].cidr, "base", s.name))
            if bastion is not None:
                # administration (Ansible, verify) reaches a system only from the bastion, and only over SSH
                layer_rules.append(Rule("ingress", *naming.ADMIN_SSH, bastion.cidr, "admin", "from the bastion"))
        if z.layer == Layer.internet:
            layer_rules.append(Rule("egress", "tcp", cfg.proxy_port, cfg.proxy_cidr, "proxy", "security cloud proxy"))
        if layer_rules:
            out[z.layer] = _dedupe(layer_rules)
    return out


def _service_rules(cfg: PlatformConfig, lay: Layout, svc_rules: dict[str, list[Rule]]) -> dict[str, list[Rule]]:
    site = cfg.site
    clients = [z.cidr for z in site.zones if lay.reaches_shared(z.layer)]
    for s in site.shared_services:
        out = svc_rules[s.name]
        if s.name in naming.BASE_SERVICES:
            for proto, port in s.ports:
                out += [Rule("ingress", proto, port, cidr, "service", f"{s.name} clients") for cidr in clients]
        if s.name == "bastion":
            out += [
                Rule("ingress", proto, port, cidr, "admin", "administrators")
                for proto, port in s.ports
                for cidr in cfg.admin_cidrs
            ]
            # onwards over SSH only, to the zones that route to the shared zone (their tenants and services)
            out += [Rule("egress", *naming.ADMIN_SSH, cidr, "admin", "administration") for cidr in clients]
        elif "bastion" in lay.services:
            out.append(Rule("ingress", *naming.ADMIN_SSH, lay.services["bastion"].cidr, "admin", "from the bastion"))
        if s.name == "patch_mirror":
            out.append(Rule("egress", "tcp", cfg.proxy_port, cfg.proxy_cidr, "proxy", "upstream through the proxy"))
        svc_rules[s.name] = _dedupe(out)
    return svc_rules


def _dedupe(rules: list[Rule]) -> list[Rule]:
    seen: dict[tuple[str, str, int, str], Rule] = {}
    for r in rules:
        seen.setdefault(r.key(), r)
    return list(seen.values())
