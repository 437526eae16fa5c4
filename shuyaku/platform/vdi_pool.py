"""VdiPool: VDI hosts in the internet layer that LGWAN terminals reach by screen transfer only, behind a
gateway group that accepts the screen ports from the terminal ranges and nothing else; and, where the
separation model puts terminals in the internet layer (β, β'), a desktop pool in the LGWAN layer.
"""

from __future__ import annotations

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
        self.inventory: dict[str, dict[str, dict[str, str]]] = {}
        self.security_groups: dict[str, pulumi.Output[str]] = {}
        if lay.vdi is not None and internet is not None:
            sg = deny_by_default_group(
                f"{name}-gateway",
                group_name=f"{site}-vdi-gateway",
                tenant_id=None,
                rules=lay.vdi_rules,
                opts=child,
                tags=naming.layer_tags("internet", site, "vdi"),
                description="VDI gateway: screen ports from terminal ranges only; egress through the proxy",
            )
            self.security_groups["vdi_gateway"] = sg.id
            hosts = place_hosts(
                f"{name}-vdi",
                cfg=cfg,
                zone=internet,
                role="vdi",
                flavor=vdi.flavor,
                ips=lay.vdi.ips,
                security_group=sg,
                opts=child,
            )
            if hosts:
                # VDI hosts serve RDP (vdi_host role) and the browser path (vdi_web role) on the same address
                self.inventory.setdefault("vdi_hosts", {}).update(hosts)
                self.inventory["vdi_web"] = hosts
        if lay.lgwan_desktops is not None and lgwan is not None:
            sg = deny_by_default_group(
                f"{name}-lgwan-desktop",
                group_name=f"{site}-lgwan-desktop",
                tenant_id=None,
                rules=lay.desktop_rules,
                opts=child,
                tags=naming.layer_tags("lgwan", site, "lgwan_desktop"),
                description="LGWAN desktops: screen ports from terminal ranges only",
            )
            self.security_groups["lgwan_desktop"] = sg.id
            hosts = place_hosts(
                f"{name}-lgwan-desktop",
                cfg=cfg,
                zone=lgwan,
                role="lgwan_desktop",
                flavor=vdi.flavor,
                ips=lay.lgwan_desktops.ips,
                security_group=sg,
                opts=child,
            )
            if hosts:
                self.inventory.setdefault("vdi_hosts", {}).update(hosts)
                self.inventory["lgwan_desktops"] = hosts
        self.register_outputs(
            {
                "security_groups": self.security_groups,
                "vdi_cidr": lay.vdi.cidr if lay.vdi else None,
                "lgwan_desktop_cidr": lay.lgwan_desktops.cidr if lay.lgwan_desktops else None,
            }
        )
