"""Policy settings from what the platform stage already knows: the plan's site data and the stack config.

`shuyaku policy config --stack onprem` writes the pack config for a stack from these, so the rules check
the same CIDRs, flows and volume types the platform program was built from (data flows one way: plan ->
platform config -> policy config).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def settings_from_platform(cfg: Any) -> dict[str, Any]:
    """Flat policy settings from a checked `shuyaku.platform.config.PlatformConfig`."""
    from shuyaku.platform import naming

    site = cfg.site
    lay = cfg.layout
    layer_cidrs: dict[str, list[str]] = {}
    for z in site.zones:
        layer_cidrs.setdefault(z.layer, []).append(z.cidr)
    # The LGWAN terminals sit outside the zones but belong to the LGWAN layer.
    layer_cidrs.setdefault("lgwan", []).extend(c for c in cfg.terminal_cidrs if c not in layer_cidrs["lgwan"])
    services = getattr(lay, "services", {}) or {}
    vdi = [b.cidr for b in (lay.vdi, lay.lgwan_desktops) if b is not None]
    images = sorted({cfg.image(i) for z in site.zones for i in z.images})
    flavors = sorted({naming.flavor_name(z.layer, f.name, site.site) for z in site.zones for f in z.flavors})
    return {
        "separation_model": site.separation_model,
        "layer_cidrs": layer_cidrs,
        "proxy_cidrs": [cfg.proxy_cidr],
        "relay_cidrs": [services["relay"].cidr] if "relay" in services else [],
        "vdi_pool_cidrs": vdi,
        "screen_transfer_ports": sorted(set(site.vdi.screen_ports)),
        "encrypted_volume_types": [cfg.encrypted_volume_type],
        "allowed_images": images,
        "allowed_flavors": flavors,
        "data_links": [{"source_system": f.source_system, "target_system": f.target_system,
                        "protocol": f.protocol, "port": f.port} for f in site.flows],
        "warm_systems": list(site.dr.warm_systems),
        "provider_networks": {"lgwan": [cfg.lgwan_network], "internet": [cfg.external_network]},
        "layer_availability_zones": _zones(site),
        "site": site.site,
    }


def _zones(site: Any) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for z in site.zones:
        if z.availability_zone not in out.setdefault(z.layer, []):
            out[z.layer].append(z.availability_zone)
    return out


def settings_for_stack(project_root: Path, stack: str) -> dict[str, Any]:
    """Read `stacks/Pulumi.<stack>.yaml` the way the platform program does and derive the settings.

    Raises the platform's ConfigError (every problem, file and field named) when the stack config is wrong.
    """
    from shuyaku.contracts import source
    from shuyaku.platform import config as pconfig

    config_file = project_root / "stacks" / f"Pulumi.{stack}.yaml"
    # Through the one adapter: a stack file is the user's, so it gets the same bounds and messages.
    loaded = source.load(config_file).data
    doc = loaded if isinstance(loaded, dict) else {}
    prefix = pconfig.NAMESPACE + ":"
    values = {k[len(prefix):]: v for k, v in (doc.get("config") or {}).items() if k.startswith(prefix)}
    cfg = pconfig.load(values, stack=stack, project_root=project_root, config_file=config_file)
    return settings_from_platform(cfg)
