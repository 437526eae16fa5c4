"""PlatformProject: quotas for what the platform itself owns in the operator's project.

Everything not created for a tenant — the zones' segments and routers, the router interfaces on every tenant
subnet, the baseline and service security groups, the shared-service and VDI servers — belongs to the
project the program runs as. Neutron's and Nova's default quotas (10 security groups, 20 cores, ...) are far
below that, so the platform sizes its own project from the same data, before creating anything there.
"""

from __future__ import annotations

import pulumi
import pulumi_openstack as openstack

from shuyaku.contracts.sitedata import Flavor
from shuyaku.platform.config import PlatformConfig


def _room(need: int) -> int:
    # Headroom for replacements during an update (create-before-delete) and for operators' own work.
    return need + max(10, need // 2)


def needs(cfg: PlatformConfig) -> dict[str, int]:
    site, lay = cfg.site, cfg.layout
    flavors: dict[tuple[str, str], Flavor] = {(str(z.layer), f.name): f for z in site.zones for f in z.flavors}
    hosts: list[tuple[str, str, int]] = [("shared", s.flavor, len(lay.services[s.name].ips)) for s in site.shared_services]
    if lay.vdi is not None:
        hosts.append(("internet", site.vdi.flavor, len(lay.vdi.ips)))
    if lay.lgwan_desktops is not None:
        hosts.append(("lgwan", site.vdi.flavor, len(lay.lgwan_desktops.ips)))
    booted = [(layer, flavor, n if cfg.instance_limit is None else min(n, cfg.instance_limit)) for layer, flavor, n in hosts]
    if not cfg.instances:
        booted = []
    groups = len(site.shared_services) + int(lay.vdi is not None) + int(lay.lgwan_desktops is not None)
    rules = (
        sum(len(r) for r in lay.service_rules.values())
        + (len(lay.vdi_rules) if lay.vdi else 0)
        + (len(lay.desktop_rules) if lay.lgwan_desktops else 0)
    )
    routed_tenants = sum(1 for t in cfg.tenants() if t.layer in lay.router_layers)
    ports = (
        sum(n for _, _, n in hosts) + len(lay.router_ports) + len(lay.router_layers) + routed_tenants + len(site.zones)
    )  # + one DHCP port per segment
    return {
        "network": len(site.zones),
        "subnet": len(site.zones),
        "router": len(lay.router_layers),
        "port": ports,
        "security_group": groups + 1,  # + the project's default group
        "security_group_rule": rules + 4,  # + the default group's rules
        "instances": sum(n for _, _, n in booted),
        "cores": sum(flavors[(layer, f)].vcpus * n for layer, f, n in booted if (layer, f) in flavors),
        "ram": sum(flavors[(layer, f)].ram_mb * n for layer, f, n in booted if (layer, f) in flavors),
    }


class PlatformProject(pulumi.ComponentResource):
    def __init__(
        self, name: str, *, cfg: PlatformConfig, project_id: pulumi.Input[str], opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("shuyaku:platform:PlatformProject", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        n = needs(cfg)
        self.network_quota = openstack.networking.QuotaV2(
            f"{name}-network-quota",
            project_id=project_id,
            network=_room(n["network"]),
            subnet=_room(n["subnet"]),
            router=_room(n["router"]),
            port=_room(n["port"]),
            security_group=_room(n["security_group"]),
            security_group_rule=_room(n["security_group_rule"]),
            opts=child,
        )
        self.resources: list[pulumi.Resource] = [self.network_quota]
        if n["instances"]:
            self.resources.append(
                openstack.compute.QuotaSetV2(
                    f"{name}-compute-quota",
                    project_id=project_id,
                    instances=_room(n["instances"]),
                    cores=_room(n["cores"]),
                    ram=_room(n["ram"]),
                    opts=child,
                )
            )
        self.needs = n
        self.register_outputs({"needs": n})
