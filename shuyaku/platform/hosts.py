"""Fixed-address hosts the platform itself runs (shared services, VDI): a port at a planned address, and a
server on it when the stack deploys servers. Both components use this, and both feed the Ansible inventory,
each server with the public half of the SSH host key it is given at first boot (hostkeys.py).
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_openstack as openstack

from shuyaku.platform import hostkeys, naming
from shuyaku.platform.config import PlatformConfig
from shuyaku.platform.zone import Zone


def boot_image(images: list[str]) -> str:
    # The platform's own hosts are Linux (Ansible-managed); prefer a Debian image when the zone offers one.
    return next((i for i in images if "debian" in i.lower()), images[0] if images else "")


def place_hosts(
    prefix: str,
    *,
    cfg: PlatformConfig,
    zone: Zone,
    role: str,
    flavor: str,
    ips: list[str],
    security_group: openstack.networking.SecGroup,
    opts: pulumi.ResourceOptions,
) -> dict[str, dict[str, Any]]:
    """Ports for every planned host; servers only when the stack deploys them. Returns inventory entries."""
    site = cfg.site.site
    tags = naming.layer_tags(zone.layer, site, role)
    limit = len(ips) if cfg.instance_limit is None else min(len(ips), cfg.instance_limit)
    hosts: dict[str, dict[str, Any]] = {}
    for i, ip in enumerate(ips):
        host = f"{site}-{role.replace('_', '-')}-{i + 1:02d}"
        port = openstack.networking.Port(
            f"{prefix}-{i + 1:02d}",
            name=host,
            network_id=zone.network.id,
            admin_state_up=True,
            fixed_ips=[{"subnet_id": zone.subnet.id, "ip_address": ip}],
            security_group_ids=[security_group.id],
            tags=tags,
            opts=opts,
        )
        if not cfg.instances or i >= limit:
            continue
        key = hostkeys.HostKey(f"{prefix}-{i + 1:02d}-host-key", host=host, opts=opts)
        openstack.compute.Instance(
            f"{prefix}-{i + 1:02d}",
            name=host,
            flavor_name=naming.flavor_name(zone.layer, flavor, site),
            image_name=boot_image(zone.images),
            availability_zone=zone.availability_zone,
            networks=[{"port": port.id}],
            tags=tags,
            metadata={"shuyaku_role": role, "shuyaku_layer": zone.layer},
            user_data=hostkeys.user_data(key),
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(
                depends_on=[*zone.flavors.values(), *zone.operator_flavor_access])),
        )
        hosts[host] = {
            "ansible_host": ip,
            "shuyaku_layer": zone.layer,
            "shuyaku_role": role,
            "shuyaku_site": site,
            "shuyaku_ssh_host_keys": [key.public_key],
        }
    return hosts
