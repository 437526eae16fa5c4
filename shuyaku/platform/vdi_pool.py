"""VdiPool: VDI hosts in the internet layer that LGWAN terminals reach by screen transfer only, behind a
gateway group that accepts the screen ports from the terminal ranges and nothing else; and, where the
separation model puts terminals in the internet layer (β, β'), a desktop pool in the LGWAN layer.
"""

from __future__ import annotations

from typing import Any

import pulumi

from shuyaku.platform import naming
from shuyaku.platform.config import PlatformConfig
from shuyaku.platform.hosts import place_hosts
from shuyaku.platform.rules import deny_by_default_group
from shuyaku.platform.zone import Zone


class VdiPool(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        *,
        cfg: PlatformConfig,
        internet: Zone | None,
        lgwan: Zone | None,
        after: list[pulumi.Resource] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("shuyaku:platform:VdiPool", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, depends_on=after or [])
        site = cfg.site.site
        lay = cfg.layout
        vdi = cfg.site.vdi
        self.inventory: dict[str, dict[str, dict[str, Any]]] = {}
        self.security_groups: dict[str, pulumi.Output[str]] = {}
        # One pool per screen-transfer path: its own deny-by-default gateway group, then its hosts.
        pools = [
            ("vdi_gateway", lay.vdi, internet, "internet", "vdi", f"{name}-gateway", f"{name}-vdi", "vdi-gateway",
             lay.vdi_rules, "VDI gateway: screen ports from terminal ranges only; egress through the proxy", "vdi_web"),
            ("lgwan_desktop", lay.lgwan_desktops, lgwan, "lgwan", "lgwan_desktop", f"{name}-lgwan-desktop",
             f"{name}-lgwan-desktop", "lgwan-desktop", lay.desktop_rules,
             "LGWAN desktops: screen ports from terminal ranges only", "lgwan_desktops"),
        ]
        for key, block, zone, layer, role, sg_name, host_prefix, group, rules, description, group_out in pools:
            if block is None or zone is None:
                continue
            sg = deny_by_default_group(
                sg_name,
                group_name=f"{site}-{group}",
                tenant_id=None,
                rules=rules,
                opts=child,
                tags=naming.layer_tags(layer, site, role),
                description=description,
            )
            self.security_groups[key] = sg.id
            hosts = place_hosts(
                host_prefix, cfg=cfg, zone=zone, role=role, flavor=vdi.flavor, ips=block.ips, security_group=sg, opts=child
            )
            if hosts:
                # VDI hosts serve RDP (vdi_host role) and, on the internet pool, the browser path (vdi_web role)
                self.inventory.setdefault("vdi_hosts", {}).update(hosts)
                self.inventory[group_out] = hosts
        self.register_outputs(
            {
                "security_groups": self.security_groups,
                "vdi_cidr": lay.vdi.cidr if lay.vdi else None,
                "lgwan_desktop_cidr": lay.lgwan_desktops.cidr if lay.lgwan_desktops else None,
            }
        )
