"""Quota sizing: a tenant's quotas must hold what the plan puts in it (servers, ports, groups and rules), and the
My Number layer never gets floating IPs. A quota raised in the stack config is reported there, else in the
site data."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shuyaku.contracts import source
from shuyaku.contracts.problems import Problem, Text, tx
from shuyaku.contracts.sitedata import Tenant
from shuyaku.contracts.stack_config import key
from shuyaku.contracts.vocabulary import Layer

if TYPE_CHECKING:
    from shuyaku.platform.settings import PlatformConfig

# Neutron creates a default security group (4 rules) in every project that gets a port or group; it counts
# against the same quotas as the platform's own group.
DEFAULT_SG_RULES = 4


def needed(cfg: PlatformConfig, ten: Tenant, n_rules: int, n_base: int) -> dict[str, int]:
    """What the tenant's planned servers, network and groups take, quota key by quota key."""
    zone = next(z for z in cfg.site.zones if z.layer == ten.layer)
    flavors = {f.name: f for f in zone.flavors}
    return {
        "instances": sum(s.count for s in ten.servers),
        "cores": sum(flavors[s.flavor].vcpus * s.count for s in ten.servers if s.flavor in flavors),
        "ram_mb": sum(flavors[s.flavor].ram_mb * s.count for s in ten.servers if s.flavor in flavors),
        "ports": sum(s.count for s in ten.servers) + 1,  # + the DHCP port Neutron puts on the tenant network
        "networks": 1,
        "subnets": 1,
        # the tenant's group, its baseline group (when the layer has one) and Neutron's default group
        "security_groups": 2 + int(n_base > 0),
        "security_group_rules": n_rules + n_base + DEFAULT_SG_RULES,
    }


def check(cfg: PlatformConfig, src: source.Source, stack_src: source.Source, i: int, ten: Tenant, n_rules: int,
          n_base: int) -> list[Problem]:
    """Problems with tenant `i`'s quotas (site data `src`; overrides in the stack config `stack_src`)."""
    q = cfg.quotas(ten)
    overridden = cfg.quota_overrides.get(ten.system_id, {})
    out: list[Problem] = []

    def report(quota: str, message: Text, fix: Text, code: str) -> None:
        if quota in overridden:
            out.append(stack_src.problem((key("quotaOverrides"), ten.system_id, quota), message, fix, code=code))
        else:
            out.append(src.problem(("tenants", i, "quotas", quota), message, fix, code=code))

    for quota, want in needed(cfg, ten, n_rules, n_base).items():
        have = getattr(q, quota)
        if have < want:
            report(quota,
                   tx(f"{ten.system_id} のクォータ {quota}={have} では計画どおりに配置できません（必要 {want}）",
                      f"{ten.system_id}: quota {quota}={have} cannot hold what is planned (needs {want})"),
                   tx(f"{quota} を {want} 以上にしてください", f"raise {quota} to at least {want}"), "quota.impossible")
    if ten.layer == Layer.mynumber and q.floating_ips > 0:
        report("floating_ips",
               tx("マイナンバー利用事務系にフローティングIPは割り当てられません", "the My Number layer never gets floating IPs"),
               tx("floating_ips を 0 にしてください", "set floating_ips to 0"), "quota.mynumber_floating_ip")
    return out
