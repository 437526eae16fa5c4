"""Security groups that deny by default and admit exactly the planned rules (one CIDR, one port each)."""

from __future__ import annotations

import pulumi
import pulumi_openstack as openstack

from shuyaku.platform.config import Rule


def deny_by_default_group(
    name: str,
    *,
    group_name: str,
    description: str,
    tags: list[str],
    tenant_id: pulumi.Input[str] | None,
    rules: list[Rule],
    opts: pulumi.ResourceOptions,
) -> openstack.networking.SecGroup:
    """A group without Neutron's default allow-all egress, plus one rule per planned rule."""
    sg = openstack.networking.SecGroup(
        name, name=group_name, description=description, delete_default_rules=True, tags=tags, tenant_id=tenant_id, opts=opts
    )
    for r in rules:
        # The resource name carries the rule's identity, so adding a flow adds a rule without renaming others.
        openstack.networking.SecGroupRule(
            f"{name}-{r.direction[0]}-{r.protocol}{r.port}-{r.cidr.replace('/', '_')}",
            direction=r.direction,
            ethertype="IPv4",
            protocol=r.protocol,
            port_range_min=r.port,
            port_range_max=r.port,
            remote_ip_prefix=r.cidr,
            security_group_id=sg.id,
            tenant_id=tenant_id,
            description=f"{r.kind}: {r.note}"[:255],
            opts=opts,
        )
    return sg
