"""The platform program as a function: `build(cfg)` registers every resource of one site and returns the
stack outputs, so the entry point, the tests (under Pulumi's mocks) and the benchmark run the same code.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_openstack as openstack

from shuyaku.contracts.vocabulary import Layer
from shuyaku.platform.config import PlatformConfig
from shuyaku.platform.dr_site import DrSite
from shuyaku.platform.platform_project import PlatformProject
from shuyaku.platform.shared_services import SharedServices
from shuyaku.platform.tenant import Tenant
from shuyaku.platform.vdi_pool import VdiPool
from shuyaku.platform.zone import Zone

# The shared zone first: every other zone's router reaches it; then the vocabulary's order.
LAYER_ORDER: tuple[Layer, ...] = (Layer.shared, *(layer for layer in Layer if layer is not Layer.shared))


@dataclass
class Platform:
    zones: dict[str, Zone] = field(default_factory=dict)
    tenants: dict[str, Tenant] = field(default_factory=dict)
    shared: SharedServices | None = None
    vdi: VdiPool | None = None
    platform: PlatformProject | None = None
    dr: DrSite | None = None
    outputs: dict[str, Any] = field(default_factory=dict)


def build(cfg: PlatformConfig) -> Platform:
    """Register the site's resources. `cfg` is already checked (config.load / config.from_site)."""
    site = cfg.site
    p = Platform()
    provider_networks: dict[str, pulumi.Input[str]] = {}
    routed = cfg.layout.router_layers
    if "lgwan" in routed:
        provider_networks["lgwan"] = openstack.networking.get_network_output(name=cfg.lgwan_network, external=True).id
    if "internet" in routed:
        provider_networks["internet"] = openstack.networking.get_network_output(name=cfg.external_network, external=True).id
    role_id = openstack.identity.get_role_output(name=cfg.vendor_role).id
    # Who runs the program: its project hosts the platform's own servers, its user creates DR server groups.
    scope = openstack.identity.get_auth_scope_output(name="shuyaku-platform")

    # One cloud serving both sites (the dev cloud) has one operator project; there the cloud builder sizes
    # it (operatorQuotas: false), or the two stacks would fight over its quotas.
    after: list[pulumi.Resource] = []
    if cfg.operator_quotas:
        p.platform = PlatformProject("platform-project", cfg=cfg, project_id=scope.project_id)
        after = p.platform.resources
    by_layer = {z.layer: z for z in site.zones}
    for layer in LAYER_ORDER:
        if layer in by_layer:
            p.zones[layer] = Zone(
                f"zone-{layer}",
                cfg=cfg,
                zone=by_layer[layer],
                provider_network_ids=provider_networks,
                shared=p.zones.get("shared"),
                after=after,
            )
    if cfg.instances:  # the platform's own servers boot on its zones' private flavors
        for zone_name in sorted(platform_layers(cfg) & set(p.zones)):
            p.zones[zone_name].give_operator_flavors(scope.project_id)
    if site.shared_services and "shared" in p.zones:
        p.shared = SharedServices("shared-services", cfg=cfg, zone=p.zones["shared"], after=after)
    if cfg.layout.vdi is not None or cfg.layout.lgwan_desktops is not None:
        p.vdi = VdiPool("vdi", cfg=cfg, internet=p.zones.get("internet"), lgwan=p.zones.get("lgwan"), after=after)

    tenants_out: dict[str, Any] = {}
    if cfg.is_dr:
        p.dr = DrSite("dr", cfg=cfg, zones=p.zones, role_id=role_id, operator_user_id=scope.user_id)
        p.tenants = dict(p.dr.standby)
        tenants_out = dict(p.dr.tenant_outputs)
    else:
        for ten in cfg.tenants():
            tenant = Tenant(f"tenant-{ten.system_id}", cfg=cfg, tenant=ten, zone=p.zones[ten.layer], role_id=role_id)
            p.tenants[ten.system_id] = tenant
            tenants_out[ten.system_id] = tenant.outputs

    for zone_layer, zone in p.zones.items():
        projects: dict[str, pulumi.Input[str]] = {sid: t.project.id for sid, t in p.tenants.items() if t.layer == zone_layer}
        if zone_layer in platform_layers(cfg):
            projects["platform"] = scope.project_id
        zone.isolate(projects)

    inventory = merged_inventory(p)
    p.outputs = {
        "site": site.site,
        "municipality": site.municipality,
        "separation_model": site.separation_model,
        "tenants": tenants_out,
        "zones": {layer: z.summary() for layer, z in p.zones.items()},
        "shared_services": p.shared.addresses if p.shared else {},
        "security_groups": {**(p.shared.security_groups if p.shared else {}), **(p.vdi.security_groups if p.vdi else {})},
        "ansible_inventory": inventory,
        # Addresses the policy pack's configuration needs (screen-transfer sources, mediated paths).
        "vdi": {
            "cidr": cfg.layout.vdi.cidr if cfg.layout.vdi else None,
            "lgwan_desktop_cidr": cfg.layout.lgwan_desktops.cidr if cfg.layout.lgwan_desktops else None,
            "screen_ports": list(site.vdi.screen_ports),
            "terminal_cidrs": list(cfg.terminal_cidrs),
        },
        "proxy": {"cidr": cfg.proxy_cidr, "port": cfg.proxy_port},
    }
    if p.dr is not None:
        p.outputs["backup_targets"] = p.dr.backup_targets
        p.outputs["primary_stack"] = cfg.primary_stack
    return p


def merged_inventory(p: Platform) -> dict[str, dict[str, dict[str, Any]]]:
    """The `ansible_inventory` output: every group of the shared services and the VDI pool."""
    inventory: dict[str, dict[str, dict[str, Any]]] = {}
    for part in (p.shared, p.vdi):
        if part is not None:
            for group, hosts in part.inventory.items():
                inventory.setdefault(group, {}).update(hosts)
    return inventory


def platform_layers(cfg: PlatformConfig) -> set[str]:
    """Layers whose hosts also run the platform's own servers (shared services, VDI, LGWAN desktops)."""
    out = {"shared"} if cfg.site.shared_services else set()
    if cfg.layout.vdi is not None:
        out.add("internet")
    if cfg.layout.lgwan_desktops is not None:
        out.add("lgwan")
    return out


def tune_gc() -> None:
    """Fewer cyclic-GC passes while registering: the Pulumi SDK keeps several objects per resource alive until
    the program ends, and the default thresholds rescan all of them again and again (measured: 36 % less CPU
    at 300 tenants). Nothing here relies on cycles being freed early; the process is short-lived."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)


def export(platform: Platform) -> None:
    for key, value in platform.outputs.items():
        pulumi.export(key, value)
