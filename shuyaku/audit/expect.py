"""What the platform should be, from the same stack config and site data the platform program reads.

Read through `shuyaku.platform.config.load`, so the audit judges the cloud by exactly the layout (addresses,
rules, quotas, names) the program would deploy; never from Pulumi state, which the audit does not trust or need.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path

from shuyaku.contracts import source
from shuyaku.contracts.sitedata import Quotas, Tenant
from shuyaku.platform import config as pconfig
from shuyaku.platform import naming

RuleKey = tuple[str, str, int, str]  # direction, protocol, port, remote CIDR


@dataclass
class Expected:
    cfg: pconfig.PlatformConfig
    site: str
    tenants: dict[str, Tenant] = field(default_factory=dict)  # system id -> the plan's tenant
    rules: dict[str, set[RuleKey]] = field(default_factory=dict)  # system id -> every rule its groups should hold
    quotas: dict[str, Quotas] = field(default_factory=dict)
    vendor_groups: dict[str, str] = field(default_factory=dict)  # system id -> group name
    zone_routers: dict[str, str] = field(default_factory=dict)  # router name -> layer
    gateway_network: dict[str, str] = field(default_factory=dict)  # layer -> the one provider network it may use
    segments: dict[str, str] = field(default_factory=dict)  # layer -> zone segment CIDR
    zone_cidrs: dict[str, str] = field(default_factory=dict)  # layer -> zone supernet
    images: dict[str, set[str]] = field(default_factory=dict)  # layer -> image names its tenants may boot
    flavors: dict[str, str] = field(default_factory=dict)  # flavor name -> layer
    availability_zones: dict[str, str] = field(default_factory=dict)  # layer -> AZ
    tenant_flavors: dict[str, set[str]] = field(default_factory=dict)  # system id -> flavor names it may use
    service_groups: dict[str, str] = field(default_factory=dict)  # shared service group name -> service
    service_egress: dict[str, set[RuleKey]] = field(default_factory=dict)  # service -> the egress the plan gives it
    # the shared router's routes back to the administrators' terminals: destination -> next hop (the admin entry
    # layer's router port on the shared segment)
    admin_routes: dict[str, str] = field(default_factory=dict)

    @property
    def vendor_role(self) -> str:
        return self.cfg.vendor_role

    def tenant_groups(self, sid: str) -> set[str]:
        """Names of the groups the platform makes in a tenant (besides Neutron's `default`)."""
        out = {f"{sid}-tenant"}
        if self.cfg.layout.base_rules.get(self.tenants[sid].layer):
            out.add(f"{sid}-base")
        return out

    def layer_of_cidr(self, cidr: str) -> str | None:
        net = ipaddress.ip_network(cidr, strict=False)
        for layer, zone in self.zone_cidrs.items():
            z = ipaddress.ip_network(zone)
            if net.version == z.version and net.subnet_of(z):  # type: ignore[arg-type]
                return layer
        return None


def from_config(cfg: pconfig.PlatformConfig) -> Expected:
    site = cfg.site.site
    lay = cfg.layout
    exp = Expected(cfg=cfg, site=site)
    for t in cfg.tenants():
        exp.tenants[t.system_id] = t
        exp.rules[t.system_id] = {r.key() for r in lay.tenant_rules.get(t.system_id, [])} | {
            r.key() for r in lay.base_rules.get(t.layer, [])}
        exp.quotas[t.system_id] = cfg.quotas(t)
        exp.vendor_groups[t.system_id] = naming.vendor_group(t, site)
        exp.tenant_flavors[t.system_id] = {naming.flavor_name(t.layer, s.flavor, site) for s in t.servers}
    for layer in lay.router_layers:
        exp.zone_routers[f"{site}-{layer}-router"] = str(layer)
    if "lgwan" in lay.router_layers:
        exp.gateway_network["lgwan"] = cfg.lgwan_network
    if "internet" in lay.router_layers:
        exp.gateway_network["internet"] = cfg.external_network
    exp.segments = {str(k): v for k, v in lay.segments.items()}
    exp.admin_routes = dict(lay.admin_routes)
    for service, rules in lay.service_rules.items():
        exp.service_groups[f"{site}-shared-{service}"] = service
        exp.service_egress[service] = {r.key() for r in rules if r.direction == "egress"}
    for z in cfg.site.zones:
        exp.zone_cidrs[str(z.layer)] = z.cidr
        exp.images[str(z.layer)] = {cfg.image(i) for i in z.images}
        exp.availability_zones[str(z.layer)] = z.availability_zone
        for f in z.flavors:
            exp.flavors[naming.flavor_name(z.layer, f.name, site)] = str(z.layer)
    return exp


def load(stack: str, project_root: Path, config_file: Path | None = None) -> Expected:
    """The expectation for `stacks/Pulumi.<stack>.yaml` (or `config_file`), read the way the platform program reads it.

    Raises OSError when the file is missing and the platform's ConfigError (a ProblemsError) when it is wrong."""
    path = config_file or project_root / "stacks" / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        raise FileNotFoundError(2, "No such file", str(path))
    loaded = source.load(path).data
    doc = loaded if isinstance(loaded, dict) else {}
    prefix = pconfig.NAMESPACE + ":"
    values = {k[len(prefix):]: v for k, v in (doc.get("config") or {}).items() if k.startswith(prefix)}
    return from_config(pconfig.load(values, stack=stack, project_root=project_root, config_file=path))
