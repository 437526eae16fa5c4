"""Tenant: one business system's place on the platform — a tagged Keystone project with quotas, its vendor's
group (member on this project only), a network in its layer's zone, a deny-by-default security group
that admits exactly the planned data links, and its own copy of the layer's baseline group.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pulumi
import pulumi_openstack as openstack

from shuyaku.contracts import sitedata, tenant_outputs
from shuyaku.platform import naming
from shuyaku.platform.config import PlatformConfig, Rule
from shuyaku.platform.rules import deny_by_default_group
from shuyaku.platform.zone import Zone, dns_servers


class Tenant(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        *,
        cfg: PlatformConfig,
        tenant: sitedata.Tenant,
        zone: Zone,
        role_id: pulumi.Input[str],
        quota_source: pulumi.Output[dict[str, Any]] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """`quota_source`: at the DR site, the primary's exported quotas for this tenant, so the standby holds
        exactly what production holds; the site data's quotas are the fallback."""
        super().__init__("shuyaku:platform:Tenant", name, None, opts)
        tags = naming.tenant_tags(tenant, cfg.site.site)
        self.system_id = tenant.system_id
        self.layer = tenant.layer
        self.flavors = sorted({s.flavor for s in tenant.servers})  # the only flavors its project may see
        quota = _quota_reader(cfg.quotas(tenant), quota_source)
        self._identity(name, cfg, tenant, tags, role_id)
        for f in self.flavors:
            if f in zone.flavors:
                openstack.compute.FlavorAccess(f"{name}-flavor-{f}", flavor_id=zone.flavors[f].id,
                                               tenant_id=self.project.id, opts=pulumi.ResourceOptions(parent=self))
        self.quota_resources = self._quotas(name, cfg, tenant, quota)
        # Quotas first: Neutron counts the network, the groups and their rules against them.
        after_quota = pulumi.ResourceOptions(parent=self, depends_on=[self.quota_resources[1]])
        self._network(name, cfg, tenant, zone, tags, after_quota)
        security_groups = self._groups(name, cfg, tenant, tags, after_quota)
        pid = self.project.id
        quotas = {k: quota(k) for k in sitedata.Quotas.model_fields}
        self.output_fields = self._outputs(cfg, tenant, zone, tags, security_groups, quotas)
        self.outputs = export_outputs(self.output_fields)
        self.register_outputs(
            {
                "project_id": pid,
                "network_id": self.network.id,
                "subnet_id": self.subnet.id,
                "security_group_id": self.security_group.id,
            }
        )

    def _identity(self, name: str, cfg: PlatformConfig, tenant: sitedata.Tenant, tags: list[str],
                  role_id: pulumi.Input[str]) -> None:
        """The tagged project and the vendor's group, member on this project only."""
        child = pulumi.ResourceOptions(parent=self)
        sid = tenant.system_id
        self.project = openstack.identity.Project(
            f"{name}-project",
            name=naming.project_name(cfg.site.site, sid),
            description=f"{tenant.name}（{tenant.vendor}）",
            enabled=True,
            tags=tags,
            opts=child,
        )
        self.group = openstack.identity.GroupV3(
            f"{name}-vendor",
            name=naming.vendor_group(tenant, cfg.site.site),
            description=f"{tenant.vendor}: {tenant.name} ({sid})",
            opts=child,
        )
        self.role_assignment = openstack.identity.RoleAssignment(
            f"{name}-vendor-member", group_id=self.group.id, project_id=self.project.id, role_id=role_id, opts=child
        )

    def _quotas(self, name: str, cfg: PlatformConfig, tenant: sitedata.Tenant,
                quota: Callable[[str], pulumi.Input[int]]) -> list[pulumi.CustomResource]:
        """Compute, network and volume quotas: [compute, network, volume]."""
        child = pulumi.ResourceOptions(parent=self)
        pid = self.project.id
        anti = sum(1 for s in tenant.servers if s.anti_affinity)
        compute_q = openstack.compute.QuotaSetV2(
            f"{name}-compute-quota",
            project_id=pid,
            instances=quota("instances"),
            cores=quota("cores"),
            ram=quota("ram_mb"),
            server_groups=max(anti, 1) * 2,
            server_group_members=max([s.count for s in tenant.servers] + [1]) * 2,
            opts=child,
        )
        network_q = openstack.networking.QuotaV2(
            f"{name}-network-quota",
            project_id=pid,
            network=quota("networks"),
            subnet=quota("subnets"),
            port=quota("ports"),
            router=quota("routers"),
            security_group=quota("security_groups"),
            security_group_rule=quota("security_group_rules"),
            floatingip=0 if tenant.layer == "mynumber" else quota("floating_ips"),
            # A tenant never shares its networks or groups with another project (Neutron lets an owner do so).
            rbac_policy=0,
            opts=child,
        )
        volume_q = openstack.blockstorage.QuoteSetV3(
            f"{name}-volume-quota",
            project_id=pid,
            volumes=quota("volumes"),
            gigabytes=quota("gigabytes"),
            volume_type_quota=_volume_type_quota(cfg, tenant, quota),
            opts=child,
        )
        return [compute_q, network_q, volume_q]

    def _network(self, name: str, cfg: PlatformConfig, tenant: sitedata.Tenant, zone: Zone, tags: list[str],
                 after_quota: pulumi.ResourceOptions) -> None:
        """The tenant's network and subnet in its zone, on the zone's router where the layer routes."""
        sid, pid = tenant.system_id, self.project.id
        self.network = openstack.networking.Network(
            f"{name}-net", name=f"{sid}-net", tenant_id=pid, admin_state_up=True, tags=tags, opts=after_quota
        )
        routed = zone.router is not None
        self.subnet = openstack.networking.Subnet(
            f"{name}-subnet",
            name=f"{sid}-subnet",
            network_id=self.network.id,
            tenant_id=pid,
            cidr=tenant.cidr,
            ip_version=4,
            enable_dhcp=True,
            gateway_ip=naming.gateway(tenant.cidr) if routed else None,
            no_gateway=None if routed else True,
            dns_nameservers=dns_servers(cfg, tenant.layer),
            tags=tags,
            opts=after_quota,
        )
        if routed:
            openstack.networking.RouterInterface(
                f"{name}-router-if",
                router_id=zone.router.id,  # type: ignore[union-attr]
                subnet_id=self.subnet.id,
                opts=pulumi.ResourceOptions(parent=self),
            )

    def _groups(self, name: str, cfg: PlatformConfig, tenant: sitedata.Tenant, tags: list[str],
                after_quota: pulumi.ResourceOptions) -> dict[str, pulumi.Input[str]]:
        """The tenant's deny-by-default group (its planned links only) and its own copy of the layer's baseline."""
        sid = tenant.system_id

        def own_group(resource: str, kind: str, rules: list[Rule], description: str) -> openstack.networking.SecGroup:
            return deny_by_default_group(f"{name}-{resource}", group_name=f"{sid}-{kind}", tags=tags,
                                         tenant_id=self.project.id, rules=rules, opts=after_quota, description=description)

        rules = cfg.layout.tenant_rules[sid]
        self.security_group = own_group("sg", "tenant", rules, f"{sid}: deny by default; only planned links ({len(rules)} rules)")
        security_groups: dict[str, pulumi.Input[str]] = {"tenant": self.security_group.id}
        # The layer's baseline (egress to the shared services; the proxy for the internet layer) is copied into a
        # group the tenant owns. A group shared through Neutron RBAC would let every tenant of the layer add rules
        # to it (Neutron allows the sharing project that), widening it for all of them.
        self.base_security_group: openstack.networking.SecGroup | None = None
        base_rules = cfg.layout.base_rules.get(tenant.layer, [])
        if base_rules:
            reach = "shared services, proxy" if tenant.layer == "internet" else "shared services"
            self.base_security_group = own_group(
                "base", "base", base_rules, f"{sid}: {tenant.layer} baseline ({len(base_rules)} rules: {reach})"
            )
            security_groups["base"] = self.base_security_group.id
        return security_groups

    def _outputs(
        self,
        cfg: PlatformConfig,
        tenant: sitedata.Tenant,
        zone: Zone,
        tags: list[str],
        security_groups: dict[str, pulumi.Input[str]],
        quotas: dict[str, pulumi.Input[int]],
    ) -> dict[str, Any]:
        """The fields of this tenant's `TenantOutputs`, some still Pulumi Inputs (ids the cloud assigns)."""
        site = cfg.site.site
        flavors = {f.name: f for f in next(z for z in cfg.site.zones if z.layer == tenant.layer).flavors}
        return {
            "system_id": tenant.system_id,
            "name": tenant.name,
            "layer": tenant.layer,
            "site": site,
            "project_id": self.project.id,
            "project_name": naming.project_name(site, tenant.system_id),
            "vendor_group": naming.vendor_group(tenant, site),
            "network_id": self.network.id,
            "subnet_id": self.subnet.id,
            "cidr": tenant.cidr,
            "security_group_ids": security_groups,
            "availability_zone": zone.availability_zone,
            "allowed_flavors": [naming.flavor_name(tenant.layer, f, site) for f in self.flavors],
            "allowed_images": zone.images,
            "volume_type": cfg.encrypted_volume_type if tenant.layer == "mynumber" else None,
            "floating_ips_allowed": tenant.layer != "mynumber",
            "tags": tags,
            "quotas": quotas,
            "servers": [
                {
                    "role": s.role,
                    "count": s.count,
                    "flavor": naming.flavor_name(tenant.layer, s.flavor, site),
                    "image": cfg.image(s.image),
                    "anti_affinity": s.anti_affinity,
                    "vcpus": flavors[s.flavor].vcpus,
                    "ram_mb": flavors[s.flavor].ram_mb,
                }
                for s in tenant.servers
            ],
            "dr_tier": tenant.dr_tier,
        }


def _quota_reader(q: sitedata.Quotas, quota_source: pulumi.Output[dict[str, Any]] | None,
                  ) -> Callable[[str], pulumi.Input[int]]:
    """A quota by key: the primary's exported value at the DR site (`quota_source`), else the checked config's."""

    def quota(key: str) -> pulumi.Input[int]:
        fallback = getattr(q, key)
        if quota_source is None:
            return fallback
        return quota_source.apply(lambda src: int((src or {}).get(key, fallback)))

    return quota


def _volume_type_quota(cfg: PlatformConfig, tenant: sitedata.Tenant,
                       quota: Callable[[str], pulumi.Input[int]]) -> dict[str, pulumi.Input[str]] | None:
    """Per-volume-type quotas: for the My Number layer only the encrypted type has room, so a My Number volume
    cannot be created unencrypted."""
    if tenant.layer != "mynumber" or not cfg.plain_volume_types:
        return None
    per_type: dict[str, pulumi.Input[str]] = {}
    # Cinder reports volumes/gigabytes/snapshots for every type and the provider reads all of them back,
    # so every type the cloud has must be named here, or each `up` would show a change.
    for vt in cfg.plain_volume_types:
        per_type[f"volumes_{vt}"] = "0"
        per_type[f"gigabytes_{vt}"] = "0"
        per_type[f"snapshots_{vt}"] = "0"
    per_type[f"volumes_{cfg.encrypted_volume_type}"] = pulumi.Output.from_input(quota("volumes")).apply(str)
    per_type[f"gigabytes_{cfg.encrypted_volume_type}"] = pulumi.Output.from_input(quota("gigabytes")).apply(str)
    per_type[f"snapshots_{cfg.encrypted_volume_type}"] = "-1"  # bounded by the project's snapshot quota
    return per_type


def export_outputs(fields: dict[str, Any]) -> pulumi.Output[dict[str, Any]]:
    """The tenant's exported hand-off, validated against `TenantOutputs` once every value is known.

    The fields hold Pulumi Outputs (project, network, subnet and group ids) until the cloud answers, so the
    model cannot be built when the program runs; it is built inside `apply`, over the resolved values, and
    what is exported is its JSON dump. A field the contract does not know, or a value of the wrong type,
    fails the deploy there, instead of reaching a vendor. (In a preview of new tenants the ids are unknown,
    so the whole hand-off shows as unknown until the deploy.)
    """
    return pulumi.Output.from_input(fields).apply(tenant_outputs.export)
