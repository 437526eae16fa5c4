"""Zone: one layer's share of the platform at one site — its host aggregate and availability zone, its
flavors, its own segment, and a router only where the layer may route.
"""

from __future__ import annotations

import pulumi
import pulumi_openstack as openstack

from shuyaku.contracts import sitedata
from shuyaku.platform import naming
from shuyaku.platform.config import PlatformConfig


class Zone(pulumi.ComponentResource):
    """A layer at a site. The My Number zone never gets an external gateway, whatever config says:
    the gateway is only ever set for the layers in `naming.GATEWAY_LAYERS`."""

    def __init__(
        self,
        name: str,
        *,
        cfg: PlatformConfig,
        zone: sitedata.Zone,
        provider_network_ids: dict[str, pulumi.Input[str]],
        shared: Zone | None = None,
        after: list[pulumi.Resource] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """`after`: the platform project's quotas, which must be in place before its groups and ports."""
        super().__init__("shuyaku:platform:Zone", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, depends_on=after or [])
        site, layer = cfg.site.site, zone.layer
        self.layer = layer
        self.cidr = zone.cidr
        self.availability_zone = zone.availability_zone
        self.segment_cidr = cfg.layout.segments[layer]
        self.gateway_ip = naming.gateway(self.segment_cidr)

        self._site = site
        self._hosts = cfg.hosts(layer)
        self.aggregate: openstack.compute.AggregateV2 | None = None
        # Private flavors pinned to this zone's aggregate (AggregateInstanceExtraSpecsFilter). Each tenant is
        # given access to the flavors its plan uses (Tenant), so another layer's flavor is not even visible to
        # it; which projects may use the aggregate's hosts is set once the tenants exist (`isolate`). The
        # operator's own servers need an access entry too (`give_operator_flavors`): Nova would let the admin boot
        # a private flavor, but the provider finds a flavor by name among those the project can list.
        self.flavors: dict[str, openstack.compute.Flavor] = {}
        self.operator_flavor_access: list[openstack.compute.FlavorAccess] = []
        # Nova flavor names are unique: a flavor that must be replaced goes first.
        replace_in_place = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(delete_before_replace=True))
        for f in zone.flavors:
            self.flavors[f.name] = openstack.compute.Flavor(
                f"{name}-flavor-{f.name}",
                name=naming.flavor_name(layer, f.name, site),
                vcpus=f.vcpus,
                ram=f.ram_mb,
                disk=f.disk_gb,
                is_public=False,
                extra_specs=naming.flavor_pins(layer, site),
                opts=replace_in_place,
            )
        self.flavor_names = [naming.flavor_name(layer, f.name, site) for f in zone.flavors]
        self.images = list(dict.fromkeys(cfg.image(i) for i in zone.images))
        self._segment(name, cfg, child)

        self.routes = layer in cfg.layout.router_layers
        self.router: openstack.networking.Router | None = None
        self.segment_interface: openstack.networking.RouterInterface | None = None
        children: dict[str, pulumi.Input[str]] = {}
        if self.routes:
            self._router(name, provider_network_ids, child)
            if shared is not None and shared.router is not None and shared.segment_interface is not None and layer != "shared":
                self._link_to_shared(name, cfg, shared, after or [], child)
            assert self.router is not None
            children["router_id"] = self.router.id
        self._outputs: dict[str, pulumi.Input[object]] = {
            "network_id": self.network.id,
            "subnet_id": self.subnet.id,
            "availability_zone": zone.availability_zone,
            "flavors": self.flavor_names,
            "images": self.images,
            **children,
        }

    def _segment(self, name: str, cfg: PlatformConfig, child: pulumi.ResourceOptions) -> None:
        """The zone's own segment: routers, shared services, VDI; Neutron hands out only its upper half."""
        site, layer = self._site, self.layer
        self.network = openstack.networking.Network(
            f"{name}-segment",
            name=f"{site}-{layer}-segment",
            admin_state_up=True,
            tags=naming.layer_tags(layer, site, "segment"),
            opts=child,
        )
        self.subnet = openstack.networking.Subnet(
            f"{name}-segment",
            name=f"{site}-{layer}-segment",
            network_id=self.network.id,
            cidr=self.segment_cidr,
            ip_version=4,
            gateway_ip=self.gateway_ip,
            allocation_pools=[openstack.networking.SubnetAllocationPoolArgs(**cfg.layout.pools[layer])],
            enable_dhcp=True,
            dns_nameservers=dns_servers(cfg, layer),
            tags=naming.layer_tags(layer, site, "segment"),
            opts=child,
        )

    def give_operator_flavors(self, project_id: pulumi.Input[str]) -> None:
        """Access to this zone's flavors for the project that boots the platform's own servers (seen on the dev
        cloud without it: "Unable to find flavor with name shared.m1.c2r4")."""
        for fname, flavor in self.flavors.items():
            self.operator_flavor_access.append(openstack.compute.FlavorAccess(
                f"{self._name}-operator-flavor-{fname}", flavor_id=flavor.id, tenant_id=project_id,
                opts=pulumi.ResourceOptions(parent=self)))

    def _router(self, name: str, provider_network_ids: dict[str, pulumi.Input[str]], child: pulumi.ResourceOptions) -> None:
        """The layer's router on its segment; an external gateway only for `naming.GATEWAY_LAYERS`."""
        site, layer = self._site, self.layer
        gateway_net = provider_network_ids.get(layer) if layer in naming.GATEWAY_LAYERS else None
        self.router = openstack.networking.Router(
            f"{name}-router",
            name=f"{site}-{layer}-router",
            admin_state_up=True,
            external_network_id=gateway_net,
            # The internet layer leaves only through the proxy: with no SNAT, a server whose own egress rules are
            # widened sends with its private address, to which only the proxy (outside the cloud, on the
            # external network) has a route back. The LGWAN gateway stays masqueraded: LGWAN is the layer's own.
            enable_snat=False if layer == "internet" and gateway_net is not None else None,
            tags=naming.layer_tags(layer, site, "router"),
            opts=child,
        )
        self.segment_interface = openstack.networking.RouterInterface(
            f"{name}-segment-if", router_id=self.router.id, subnet_id=self.subnet.id, opts=child
        )

    def _link_to_shared(self, name: str, cfg: PlatformConfig, shared: Zone, after: list[pulumi.Resource],
                        child: pulumi.ResourceOptions) -> None:
        """Reach the shared zone over its segment: a fixed port there, and a route each way."""
        site, layer = self._site, self.layer
        assert self.router is not None and shared.router is not None and shared.segment_interface is not None
        ip = cfg.layout.router_ports[layer]
        port = openstack.networking.Port(
            f"{name}-shared-port",
            name=f"{site}-{layer}-router-shared",
            network_id=shared.network.id,
            fixed_ips=[{"subnet_id": shared.subnet.id, "ip_address": ip}],
            admin_state_up=True,
            tags=naming.layer_tags(layer, site, "router"),
            opts=child,
        )
        link = openstack.networking.RouterInterface(
            f"{name}-shared-if", router_id=self.router.id, port_id=port.id, opts=child
        )
        # Neutron accepts a route only once its next hop sits on a subnet the router is attached to.
        both_attached = pulumi.ResourceOptions(parent=self, depends_on=[link, shared.segment_interface, *after])
        openstack.networking.RouterRoute(
            f"{name}-to-shared",
            router_id=self.router.id,
            destination_cidr=shared.cidr,
            next_hop=shared.gateway_ip,
            opts=both_attached,
        )
        openstack.networking.RouterRoute(
            f"{name}-from-shared",
            router_id=shared.router.id,
            destination_cidr=self.cidr,
            next_hop=ip,
            opts=both_attached,
        )
        if layer == naming.ADMIN_ENTRY_LAYER:
            # Administrators' terminals sit on the LGWAN side (the office network): the bastion answers them
            # through this layer's router, which reaches them over its gateway.
            for i, (cidr, hop) in enumerate(sorted(cfg.layout.admin_routes.items())):
                openstack.networking.RouterRoute(
                    f"{name}-admins-{i + 1}",
                    router_id=shared.router.id,
                    destination_cidr=cidr,
                    next_hop=hop,
                    opts=both_attached,
                )

    def isolate(self, project_ids: dict[str, pulumi.Input[str]]) -> None:
        """The host aggregate and availability zone, open only to this layer's projects
        (AggregateMultiTenancyIsolation / placement tenant filtering read `filter_tenant_id*`). Call once,
        after the tenants exist; it also completes the component."""
        metadata: dict[str, pulumi.Input[str]] = {"shuyaku_layer": self.layer, "shuyaku_site": self._site}
        for sid, pid in sorted(project_ids.items()):
            metadata[f"filter_tenant_id_{sid}"] = pid
        self.aggregate = openstack.compute.AggregateV2(
            f"{self._name}-aggregate",
            name=f"{self._site}-{self.layer}",
            zone=self.availability_zone,
            hosts=self._hosts,
            metadata=metadata,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({**self._outputs, "aggregate_id": self.aggregate.id})

    def summary(self) -> dict[str, pulumi.Input[object]]:
        return {
            "availability_zone": self.availability_zone,
            "cidr": self.cidr,
            "segment_cidr": self.segment_cidr,
            "network_id": self.network.id,
            "subnet_id": self.subnet.id,
            "router_id": self.router.id if self.router else None,
            "flavors": self.flavor_names,
            "images": self.images,
        }


def dns_servers(cfg: PlatformConfig, layer: str) -> list[str]:
    lay = cfg.layout
    dns = lay.services.get("dns")
    if dns is None:
        return []
    if layer == "shared" or (layer in lay.router_layers and "shared" in lay.router_layers):
        return list(dns.ips)
    return []
