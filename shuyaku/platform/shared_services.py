"""SharedServices: the management zone's services (NTP, DNS, logs, patch mirror, backup, bastion), the
file-sanitising relay between the internet and LGWAN layers, and the data-integration hub through which
systems of different layers exchange data. Each service is one address block and one security group.
"""

from __future__ import annotations

from typing import Any

import pulumi

from shuyaku.platform import naming
from shuyaku.platform.config import PlatformConfig
from shuyaku.platform.hosts import place_hosts
from shuyaku.platform.rules import deny_by_default_group
from shuyaku.platform.zone import Zone


class SharedServices(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        *,
        cfg: PlatformConfig,
        zone: Zone,
        after: list[pulumi.Resource] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("shuyaku:platform:SharedServices", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, depends_on=after or [])
        site = cfg.site.site
        lay = cfg.layout
        self.security_groups: dict[str, pulumi.Output[str]] = {}
        self.addresses: dict[str, dict[str, object]] = {}
        self.inventory: dict[str, dict[str, dict[str, Any]]] = {}
        for svc in cfg.site.shared_services:
            block = lay.services[svc.name]
            rules = lay.service_rules[svc.name]
            sg = deny_by_default_group(
                f"{name}-{svc.name}",
                group_name=f"{site}-shared-{svc.name}",
                tenant_id=None,
                rules=rules,
                opts=child,
                tags=naming.layer_tags("shared", site, svc.name),
                description=f"{svc.role_ja} ({svc.name}): {len(rules)} rules",
            )
            self.security_groups[svc.name] = sg.id
            self.addresses[svc.name] = {
                "cidr": block.cidr,
                "ips": block.ips,
                "ports": [f"{proto}/{port}" for proto, port in svc.ports],
            }
            hosts = place_hosts(
                f"{name}-{svc.name}",
                cfg=cfg,
                zone=zone,
                role=svc.name,
                flavor=svc.flavor,
                ips=block.ips,
                security_group=sg,
                opts=child,
            )
            if hosts:
                # one group per service, and `shared` for every one (the group the provisioning stage targets)
                self.inventory[svc.name] = hosts
                self.inventory.setdefault("shared", {}).update(hosts)
        self.register_outputs({"security_groups": self.security_groups, "addresses": self.addresses})
