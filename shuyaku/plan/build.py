"""From a loaded inventory to the Plan (plan.json) and the per-site platform data (site-<site>.json)."""

from __future__ import annotations

import gc
import hashlib
import ipaddress
import math
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager

from shuyaku.contracts.catalogue import Catalogue
from shuyaku.contracts.inventory import Direction, Inventory, Layer, System
from shuyaku.contracts.plan import HostLoad, LinkPlan, Plan, Resources, Sizing, ZonePlan
from shuyaku.contracts.problems import Problem, ProblemsError, tx
from shuyaku.contracts.separation import SCREEN_PORTS, link_path
from shuyaku.contracts.sitedata import (
    DrPlan,
    DrTier,
    Flavor,
    Flow,
    Quotas,
    ServerGroup,
    SharedService,
    SiteData,
    Tenant,
    VdiPlan,
    Zone,
)
from shuyaku.contracts.vocabulary import LAYERS
from shuyaku.inventory.load import Loaded
from shuyaku.plan import dr as dr_mod
from shuyaku.plan import flavors, images, placement
from shuyaku.plan.cost import Footprint, cost_case
from shuyaku.plan.services import SERVICES, Service
from shuyaku.plan.sizing import host_capacity, size, vm_id
from shuyaku.plan.thin_client import screen_pools
from shuyaku.plan.waves import plan_waves

# --- placement per zone ------------------------------------------------------------------------------

def site_services(site: str, links: list[LinkPlan], present: set[str]) -> list[Service]:
    """Shared services a site runs. The DR site runs those marked at_dr, and the relay or the hub only
    when a link between two systems on standby there goes through it."""
    if site == "onprem":
        return list(SERVICES)
    paths = {lk.path for lk in links if lk.source in present and lk.target in present}
    return [svc for svc in SERVICES if svc.at_dr and (svc.name not in ("relay", "hub") or svc.name in paths)]


def _service_vms(services: list[Service]) -> list[tuple[str, tuple[float, float, float], str | None]]:
    out = []
    for svc in services:
        for i in range(svc.count):
            out.append((f"platform/{svc.name}/{i}", (float(svc.shape.vcpus), float(svc.shape.ram_gb), float(svc.disk_gb)),
                        f"platform/{svc.name}" if svc.count > 1 else None))
    return out


def _zone(layer: str, vms: list[Sizing], extra: list[tuple[str, tuple[float, float, float], str | None]],
          cat: Catalogue, site: str, n_plus_one: bool) -> ZonePlan:
    ids = [vm_id(v.system_id, v.role, v.index) for v in vms] + [e[0] for e in extra]
    demands = [(v.after.vcpu, v.after.ram_gb, v.after.disk_gb) for v in vms] + [e[1] for e in extra]
    groups = [v.anti_affinity_group for v in vms] + [e[2] for e in extra]
    items = placement.Items.build(ids, demands, groups)
    c = host_capacity(cat, layer)
    cap = placement.Cap(c.vcpu, c.ram_gb, c.disk_gb)
    res = placement.plan_zone(items, cap, n_plus_one=n_plus_one)
    loads = []
    capacity = Resources(vcpu=cap.cpu, ram_gb=cap.ram, disk_gb=cap.disk)
    for k, b in enumerate(res.bins, start=1):
        loads.append(HostLoad.model_construct(  # built from checked values; thousands at scale
            name=host_name(site, layer, k), layer=Layer(layer),
            used=Resources.model_construct(vcpu=float(items.cpu[b].sum()), ram_gb=float(items.ram[b].sum()),
                                           disk_gb=float(items.disk[b].sum())),
            capacity=capacity,
            vms=[ids[i] for i in b],
        ))
    hosts = res.hosts

    def pct(total: float, per_host: float) -> float:
        return round(total / (per_host * hosts) * 100, 1) if hosts else 0.0

    return ZonePlan(
        layer=layer,  # type: ignore[arg-type]
        vms=len(ids), hosts=hosts, lower_bound=res.lower_bound, gap_pct=res.gap_pct,
        solver=res.solver,  # type: ignore[arg-type]
        optimal=res.optimal, n_plus_one=res.n_plus_one,
        vms_per_host=round(len(ids) / hosts, 2) if hosts else 0.0,
        utilisation_pct=Resources(vcpu=pct(float(items.cpu.sum()), cap.cpu), ram_gb=pct(float(items.ram.sum()), cap.ram),
                                  disk_gb=pct(float(items.disk.sum()), cap.disk)),
        host_loads=loads,
    )


def host_name(site: str, layer: str, k: int) -> str:
    return f"{site}-{layer}-{k:02d}"


def vdi_host_name(site: str, layer: str, k: int) -> str:
    return f"{site}-{layer}-vdi-{k:02d}"


# --- links ---------------------------------------------------------------------------------------------

def plan_links(inv: Inventory) -> list[LinkPlan]:
    """Every inventory link, oriented from the side that connects to the side that listens."""
    layer = {s.id: s.layer.value for s in inv.systems}
    out: list[LinkPlan] = []
    seen: set[tuple[str, str, str, int]] = set()
    for s in inv.systems:
        for link in s.links:
            if link.target not in layer:
                continue
            pairs = {Direction.outbound: [(s.id, link.target)], Direction.inbound: [(link.target, s.id)],
                     Direction.both: [(s.id, link.target), (link.target, s.id)]}[link.direction]
            for src, dst in pairs:
                key = (src, dst, link.protocol.value, link.port)
                if key in seen:
                    continue
                seen.add(key)
                kind = link.kind.value if link.kind else None
                out.append(LinkPlan(source=src, target=dst, protocol=link.protocol.value, port=link.port,
                                    source_layer=layer[src], target_layer=layer[dst],  # type: ignore[arg-type]
                                    path=link_path(layer[src], layer[dst], link.port, kind),
                                    kind=kind))  # type: ignore[arg-type]
    return out


# --- the plan ------------------------------------------------------------------------------------------

def require_catalogue(loaded: Loaded) -> Catalogue:
    if loaded.catalogue is None:
        raise ProblemsError([Problem(
            str(loaded.inventory_path), 0, 0, "municipality.catalogue",
            tx("費用カタログが指定されていません", "no cost catalogue given"),
            tx("--catalogue でファイルを指定するか、台帳の municipality.catalogue に相対パスを書いてください",
               "pass --catalogue FILE or set municipality.catalogue to a path relative to the inventory"),
            "plan.no_catalogue")])
    return loaded.catalogue


@contextmanager
def _without_gc_pauses() -> Iterator[None]:
    """The planner allocates hundreds of thousands of small objects next to an inventory of millions;
    each automatic collection would rescan them all (measured: half the sizing time at 100,000 VMs).
    It creates no reference cycles worth collecting, so collection waits until it is done."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def make_plan(loaded: Loaded, years: int = 5, max_wave: int | None = None) -> Plan:
    with _without_gc_pauses():
        return _make_plan(loaded, years, max_wave)


def _make_plan(loaded: Loaded, years: int, max_wave: int | None) -> Plan:
    inv = loaded.inventory
    cat = require_catalogue(loaded)
    sizing = size(inv, cat)
    by_layer: dict[str, list[Sizing]] = defaultdict(list)
    for v in sizing:
        by_layer[v.layer].append(v)
    pools = screen_pools(inv, cat)
    zones = []
    for layer in LAYERS:
        extra = _service_vms(list(SERVICES)) if layer == "shared" else []
        if by_layer[layer] or extra or pools.hosts_in(layer):
            zone = _zone(layer, by_layer[layer], extra, cat, "onprem", n_plus_one=True)
            # The screen-transfer pool's hosts sit in the zone's aggregate beside the packed ones (the platform
            # places the VDI servers in the zone's availability zone); they have their own spare (vdi_hosts_for).
            zone.vdi_hosts = pools.hosts_in(layer)
            zones.append(zone)

    dr_in = dr_mod.assess(inv, sizing, cat)
    links = plan_links(inv)
    dr_services = site_services("dr", links, {v.system_id for v in dr_in.warm_vms})
    warm_by_layer: dict[str, list[Sizing]] = defaultdict(list)
    for v in dr_in.warm_vms:
        warm_by_layer[v.layer].append(v)
    dr_zones = []
    if dr_in.warm_vms:
        for layer in LAYERS:
            extra = _service_vms(dr_services) if layer == "shared" else []
            if warm_by_layer[layer] or extra:
                # No N+1 at the DR site: it is itself the answer to losing the primary; a second,
                # simultaneous failure is outside the plan (stated in the report).
                dr_zones.append(_zone(layer, warm_by_layer[layer], extra, cat, "dr", n_plus_one=False))
    standby = sum(z.hosts for z in dr_zones)
    dr_plan = dr_mod.site_plan(dr_in, standby, cat)
    dr_plan.zones = dr_zones

    kw = {} if max_wave is None else {"max_size": max_wave}
    waves, gov = plan_waves(inv, cat.sizing.hardware_life_years, **kw)
    fp = Footprint(
        hosts=sum(z.hosts for z in zones),
        storage_gb=sum(v.after.disk_gb for v in sizing) + sum(e[1][2] for e in _service_vms(list(SERVICES))),
        standby_hosts=standby,
        backup_tb=dr_in.backup_tb,
        migrated_servers=len(sizing),
        migrated_systems=len(inv.systems),
        replica_tb=dr_in.replica_tb,
        dr_racks=dr_plan.racks,
        network_lines=dr_plan.network_lines,
    )
    return Plan(
        municipality=inv.municipality.name,
        fiscal_year=inv.municipality.fiscal_year,
        separation_model=inv.municipality.separation_model.value,
        sizing=sizing,
        zones=zones,
        dr=dr_plan,
        waves=waves,
        government_cloud=gov,
        links=links,
        cost=cost_case(inv, cat, fp, years),
    )


# --- per-site data -------------------------------------------------------------------------------------

HEADROOM = 0.5  # quotas = planned use x 1.5: room to build a replacement VM before removing the old one
SLOTS_PER_ZONE = 256  # /24 tenant networks in a /16 zone supernet
RESERVED_SLOTS = {0}  # x.y.0.0/24 of each zone is kept for the platform's own networks
FIXED_OFFSET = 16  # the platform's segment keeps its first 16 addresses (gateway, routers) before fixed blocks


def segment_slots(fixed: list[int]) -> int:
    """How many /24 slots at the start of a zone its segment needs to hold these fixed blocks (in order):
    each block an aligned power of two after the first 16 addresses, all in the segment's lower half (the
    platform's allocator; the upper half is Neutron's pool). Reserving them keeps the segment at the zone's first
    block, so a system added later never pushes the segment (and the VDI hosts' addresses) somewhere else."""
    size = 256
    while True:
        nxt = FIXED_OFFSET
        for count in fixed:
            block = 1 << max(0, count - 1).bit_length()
            nxt = -(-nxt // block) * block + block
        if nxt <= size // 2:
            return size // 256
        size *= 2


def reserved_slots(inv: Inventory, cat: Catalogue) -> dict[str, set[int]]:
    """Layer -> the /24 slots kept for the zone's own segment: slot 0, and as many more as the screen-transfer pool
    in that zone needs (they depend on terminals, never on systems)."""
    pools = screen_pools(inv, cat)
    services = [svc.count for svc in SERVICES] + [1] * (len(LAYERS) - 1)  # shared services, then each router's port
    fixed = {"internet": [pools.internet_hosts], "lgwan": [pools.lgwan_desktop_hosts], "shared": services}
    return {layer: set(range(segment_slots([c for c in fixed.get(layer, []) if c]))) | RESERVED_SLOTS
            for layer in LAYERS}


def _quota(used: float) -> int:
    return math.ceil(used * (1 + HEADROOM))


def tenant_cidrs(inv: Inventory, cat: Catalogue) -> dict[str, str]:
    """A /24 per system from its layer's supernet. Pinned `cidr` values are honoured first; the rest
    take the slot their id hashes to, probing forward when it is taken, in inventory order — so a system
    appended to the inventory never renumbers the others, and the zone's own segment (its first slots, as many as
    its VDI pool needs) is never taken. A system inserted before others can move a later one only when it lands on
    the very slot that one probed to; pin `cidr` to freeze a network for good."""
    out: dict[str, str] = {}
    reserved = reserved_slots(inv, cat)
    used: dict[str, set[int]] = defaultdict(set)
    nets = {layer: ipaddress.ip_network(cat.addressing[layer]) for layer in cat.addressing}
    for s in inv.systems:
        if s.cidr:
            out[s.id] = s.cidr
            net = nets.get(s.layer)
            pinned = ipaddress.ip_network(s.cidr)
            if net is not None and pinned.subnet_of(net):  # type: ignore[arg-type]
                # Every /24 the pinned network touches is taken (a /23 takes two, a /25 one).
                first = (int(pinned.network_address) - int(net.network_address)) >> 8
                used[s.layer.value].update(range(first, first + max(1, 2 ** (24 - pinned.prefixlen))))
    problems: list[Problem] = []
    for s in inv.systems:
        if s.id in out:
            continue
        net = nets[s.layer]
        slots = min(SLOTS_PER_ZONE, 2 ** (24 - net.prefixlen)) if net.prefixlen <= 24 else 0
        taken = used[s.layer.value]
        # Never more than half the zone: the platform refuses a segment that large anyway, and says so better.
        keep = {k for k in reserved[s.layer.value] if k < max(1, slots // 2)}
        if len(taken | keep) >= slots:
            problems.append(Problem("catalogue", 0, 0, f"addressing.{s.layer.value}",
                                    tx(f"{s.layer.value} のアドレス空間に /24 の空きがありません（{s.id}）",
                                       f"no free /24 left in the {s.layer.value} range for {s.id}"),
                                    tx("より大きなアドレス空間を指定するか、cidr を固定してください",
                                       "give the layer a larger range or pin cidr"), "plan.address_space_full"))
            continue
        slot = int.from_bytes(hashlib.sha256(s.id.encode()).digest()[:4], "big") % slots
        while slot in taken or slot in keep:
            slot = (slot + 1) % slots
        taken.add(slot)
        out[s.id] = str(ipaddress.ip_network((int(net.network_address) + (slot << 8), 24)))
    if problems:
        raise ProblemsError(problems)
    return out


def _tenant(s: System, vms: list[Sizing], cidr: str, tier: DrTier) -> Tenant:
    groups: dict[str, list[Sizing]] = defaultdict(list)
    for v in vms:
        groups[v.role].append(v)
    servers = []
    for srv in s.servers:
        mine = groups[srv.role]
        servers.append(ServerGroup(role=srv.role, count=srv.count, flavor=mine[0].flavor,
                                   image=images.target_image(srv.os, s.layer.value),
                                   anti_affinity=mine[0].anti_affinity_group is not None))
    n = len(vms)
    cores = sum(v.after.vcpu for v in vms)
    ram_mb = sum(v.after.ram_gb for v in vms) * 1024
    gb = sum(v.after.disk_gb for v in vms)
    instances = max(_quota(n), n + 1)
    fips = 2 if s.layer == Layer.internet else 0  # only internet-facing services publish an address
    # The operator makes the tenant's one network and subnet and routes it through the zone router, so a
    # tenant needs no router of its own and no second segment: quotas say so, beside the policy overrides.
    quotas = Quotas(instances=instances, cores=_quota(cores), ram_mb=_quota(ram_mb), volumes=max(_quota(n), n + 1),
                    gigabytes=_quota(gb), networks=1, subnets=1, ports=instances * 2 + 4, routers=0,
                    security_groups=10, security_group_rules=100, floating_ips=fips)
    return Tenant(system_id=s.id, name=s.name, layer=s.layer, department=s.department, vendor=s.vendor,
                  standard_op=s.standard_op, dr_tier=tier, cidr=cidr, quotas=quotas, servers=servers)


SITE_TIER: dict[str, DrTier] = {"warm": "warm", "replica": "backup", "backup": "backup", "none": "none"}


def make_site_data(plan: Plan, inventory: Inventory, catalogue: Catalogue, site: str) -> SiteData:
    if site not in ("onprem", "dr"):
        raise ValueError(f"unknown site {site!r}")
    # The platform knows two DR tiers with a footprint: warm standby (a tenant at the DR site) and restore at
    # the DR site. A replica system is restored there too (from its replicated volumes, not the nightly copy).
    tier: dict[str, DrTier] = {x.system_id: SITE_TIER[x.tier] for x in plan.dr.tiers}
    warm = [x.system_id for x in plan.dr.tiers if x.tier == "warm"]
    backup = [x.system_id for x in plan.dr.tiers if SITE_TIER[x.tier] == "backup"]
    cidrs = tenant_cidrs(inventory, catalogue)
    vms_of: dict[str, list[Sizing]] = defaultdict(list)
    for v in plan.sizing:
        vms_of[v.system_id].append(v)
    systems = inventory.systems if site == "onprem" else [s for s in inventory.systems if tier.get(s.id) == "warm"]
    tenants = [_tenant(s, vms_of[s.id], cidrs[s.id], tier.get(s.id, "none")) for s in systems]
    present = {s.id for s in systems}

    zone_plans: dict[str, ZonePlan] = {z.layer: z for z in (plan.zones if site == "onprem" else plan.dr.zones)}
    layers = LAYERS if site == "onprem" else [layer for layer in LAYERS if layer in zone_plans]
    services = site_services(site, plan.links, present)
    svc_shapes = {svc.shape for svc in services}
    zones = []
    for layer in layers:
        zp = zone_plans.get(layer)
        shapes = {flavors.parse(v.flavor) for v in plan.sizing if v.layer == layer and v.system_id in present}
        shapes |= set(flavors.STANDARD)
        if layer == "shared":
            shapes |= svc_shapes
        zones.append(Zone(
            layer=layer,  # type: ignore[arg-type]
            cidr=catalogue.addressing[layer],  # type: ignore[index]
            availability_zone=f"{'az' if site == 'onprem' else 'dr'}-{layer}",
            hosts=zp.total_hosts if zp else 0,
            host_names=([h.name for h in zp.host_loads] + [vdi_host_name(site, layer, k) for k in range(1, zp.vdi_hosts + 1)]
                        if zp else []),
            flavors=[Flavor(name=f.name, vcpus=f.vcpus, ram_mb=f.ram_mb, disk_gb=flavors.ROOT_DISK_GB) for f in sorted(shapes)],
            images=list(images.ZONE_IMAGES[layer]),
        ))

    flows = [Flow(source_system=lk.source, target_system=lk.target, protocol=lk.protocol, port=lk.port,
                  path=lk.path, kind=lk.kind)
             for lk in plan.links if lk.path != "forbidden" and lk.source in present and lk.target in present]
    shared = [SharedService(name=svc.name, role_ja=svc.role_ja, ports=list(svc.ports),  # type: ignore[arg-type]
                            flavor=svc.shape.name, count=svc.count) for svc in services]

    vdi = VdiPlan(hosts=0, flavor=flavors.FlavorShape(4, 8).name, concurrent_users=0,
                  screen_ports=sorted(SCREEN_PORTS), lgwan_desktop_hosts=0)
    if site == "onprem":
        vdi = vdi_plan(inventory, catalogue)
    return SiteData(
        site=site,  # type: ignore[arg-type]
        municipality=inventory.municipality.name,
        separation_model=inventory.municipality.separation_model,
        zones=zones,
        tenants=tenants,
        flows=flows,
        shared_services=shared,
        vdi=vdi,
        dr=DrPlan(warm_systems=warm, backup_systems=backup, standby_hosts=plan.dr.standby_hosts, backup_tb=plan.dr.backup_tb),
    )


# Per desktop session: the virtual browser / screen-transfer desktop a task worker uses.
VDI_SESSION = flavors.FlavorShape(4, 8)


def vdi_plan(inv: Inventory, cat: Catalogue) -> VdiPlan:
    """Screen transfer across layers (`thin_client.screen_pools`): the same hosts the zones and the cost count."""
    pools = screen_pools(inv, cat)
    return VdiPlan(hosts=pools.internet_hosts, flavor=VDI_SESSION.name, concurrent_users=pools.lgwan_users,
                   screen_ports=sorted(SCREEN_PORTS), lgwan_desktop_hosts=pools.lgwan_desktop_hosts)
