"""Names, tags and addresses the platform derives from site data, in one place.

The policy pack, audits and vendor projects find resources by these names and tags, so they are
computed here once and never spelled out in the components.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Sequence

from shuyaku.contracts import tags
from shuyaku.contracts.sitedata import Tenant
from shuyaku.contracts.vocabulary import LAYERS as LAYERS

# Layers whose servers may reach the outside through a provider network. The My Number layer is
# absent on purpose: it never gets an external gateway, whatever the data or config says.
GATEWAY_LAYERS = ("lgwan", "internet")
# Shared services every tenant consumes (and so may reach); hub and relay are reached only by the
# tenants whose flows name them, bastion only by administrators.
BASE_SERVICES = ("ntp", "dns", "logs", "patch_mirror", "backup")
# How the bastion reaches the hosts it administers (Ansible, `shuyaku verify`): SSH, and nothing else.
ADMIN_SSH = ("tcp", 22)
# The layer whose network administrators' terminals are on: the shared zone routes them back through its router.
ADMIN_ENTRY_LAYER = "lgwan"


def vendor_slug(vendor: str) -> str:
    """An ASCII slug for a vendor name; Japanese names (no ASCII letters) get a stable short hash.

    Keystone accepts Unicode group names, but operators type these names in shells and policies
    match them with `vendor-<slug>-<system>`, so they stay ASCII.
    """
    ascii_part = re.sub(r"[^a-z0-9]+", "-", vendor.lower()).strip("-")
    if len(ascii_part) >= 3:
        return ascii_part[:24].strip("-")
    return "v" + hashlib.sha256(vendor.encode("utf-8")).hexdigest()[:8]


def vendor_group(tenant: Tenant, site: str = "onprem") -> str:
    """`vendor-<slug>-<system>` on the primary site; other sites add their name before the system id, so a
    cloud that serves both sites (the dev cloud) never sees two groups of one name."""
    return dr_group_name(f"vendor-{vendor_slug(tenant.vendor)}-{tenant.system_id}", tenant.system_id, site)


def dr_group_name(primary_group: str, system_id: str, site: str) -> str:
    if site == "onprem":
        return primary_group
    return f"{primary_group.removesuffix('-' + system_id)}-{site}-{system_id}"


def project_name(site: str, system_id: str) -> str:
    return f"{site}-{system_id}"


def flavor_name(layer: str, flavor: str, site: str = "onprem") -> str:
    # Nova flavor names are global; one zone's flavors are pinned to its aggregate, so they carry the layer
    # (and, off the primary site, the site, for a cloud that serves both).
    return f"{layer}.{flavor}" if site == "onprem" else f"{site}.{layer}.{flavor}"


FLAVOR_PIN = "aggregate_instance_extra_specs:shuyaku_layer"
FLAVOR_SITE_PIN = "aggregate_instance_extra_specs:shuyaku_site"


def flavor_pins(layer: str, site: str) -> dict[str, str]:
    """A zone's flavors land only on hosts whose aggregate carries the same layer and site (a cloud serving both
    sites has two aggregates per layer)."""
    return {FLAVOR_PIN: layer, FLAVOR_SITE_PIN: site}


def tenant_tags(t: Tenant, site: str) -> list[str]:
    out = [
        tags.tag("system", t.system_id),
        tags.tag("layer", t.layer),
        tags.tag("department", t.department),
        tags.tag("vendor", t.vendor),
        tags.tag("dr", t.dr_tier),
        tags.tag("site", site),
    ]
    if t.standard_op:
        out.append(tags.tag("stdop", t.standard_op))
    return out


def layer_tags(layer: str, site: str, role: str) -> list[str]:
    return [tags.tag("layer", layer), tags.tag("site", site), tags.tag("role", role)]


Net = ipaddress.IPv4Network


def segment_cidr(zone_cidr: str, taken: list[str], demand: Sequence[int] = ()) -> Net | None:
    """The zone's own segment (routers, shared services, VDI), sized from `demand` (the fixed blocks it must hold,
    in the order they are taken; see `segment_prefix`). It sits at the zone's first block, which `shuyaku plan`
    keeps free for the platform, or else at the highest free block. A collision is checked, never assumed away.
    None: no free block of that size, or no segment of the zone holds the demand (`segment_prefix` says which).
    """
    zone = ipaddress.IPv4Network(zone_cidr)
    prefix = segment_prefix(zone, demand)
    if prefix is None or prefix > 29:
        return None
    used = [ipaddress.IPv4Network(c) for c in taken]
    candidates = list(zone.subnets(new_prefix=prefix)) if zone.prefixlen > prefix - 12 else []
    if not candidates:  # a huge zone: only look at its ends
        first = ipaddress.IPv4Network((int(zone.network_address), prefix))
        last = ipaddress.IPv4Network((int(zone.broadcast_address) - 2 ** (32 - prefix) + 1, prefix))
        candidates = [first, last]
    # The plan keeps the first block of each zone for the platform (slot 0); use it, else the top end.
    for cand in [candidates[0], *reversed(candidates[-64:])]:
        if not any(cand.overlaps(u) for u in used):
            return cand
    return None


def segment_prefix(zone: Net, demand: Sequence[int], largest: int | None = None) -> int | None:
    """The segment's prefix: today's /24 (half the zone, in a zone smaller than a /23) while it holds `demand`,
    else the longest prefix that does; a segment never takes more than half its zone (`largest`, to ask what a
    wider zone would need). None when no segment that size holds the demand."""
    prefix = 24 if zone.prefixlen <= 23 else zone.prefixlen + 1
    largest = zone.prefixlen + 1 if largest is None else largest
    while not _holds(prefix, demand):
        if prefix <= largest:
            return None
        prefix -= 1
    return prefix


def _holds(prefix: int, demand: Sequence[int]) -> bool:
    trial = Allocator(ipaddress.IPv4Network((0, prefix)))
    try:
        for count in demand:
            trial.block(count)
    except ValueError:
        return False
    return True


class Allocator:
    """Fixed addresses inside a segment: aligned blocks, so each service is exactly one CIDR.

    The lower half of the segment is reserved for these; Neutron hands out the upper half
    (the subnet's allocation pool), so fixed and dynamic addresses never meet.
    """

    def __init__(self, segment: Net):
        self.segment = segment
        self.next = int(segment.network_address) + 16 if segment.num_addresses >= 64 else int(segment.network_address) + 4
        self.limit = int(segment.network_address) + segment.num_addresses // 2

    def block(self, count: int) -> tuple[Net, list[str]]:
        size = 1
        while size < count:
            size *= 2
        start = (self.next + size - 1) // size * size
        if start + size > self.limit:
            raise ValueError(f"segment {self.segment} has no room for {count} more fixed addresses")
        self.next = start + size
        net = ipaddress.ip_network(f"{ipaddress.ip_address(start)}/{32 - (size.bit_length() - 1)}")
        return net, [str(ipaddress.ip_address(start + i)) for i in range(count)]  # type: ignore[return-value]

    def pool(self) -> dict[str, str]:
        """The dynamic range: the upper half, minus the broadcast address."""
        top = int(self.segment.network_address) + self.segment.num_addresses
        return {"start": str(ipaddress.ip_address(self.limit)), "end": str(ipaddress.ip_address(top - 2))}


def gateway(cidr: str | Net) -> str:
    return str(next(ipaddress.ip_network(str(cidr)).hosts()))
