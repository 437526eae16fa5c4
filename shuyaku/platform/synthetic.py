"""Synthetic, valid site data of any size: for tests that need a second, differently shaped city and for
the scale benchmark. Deterministic (no randomness), so a failure reproduces exactly.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from shuyaku.contracts.sitedata import (
    DrPlan,
    Flavor,
    Flow,
    Quotas,
    ServerGroup,
    SharedService,
    SiteData,
    Tenant,
    VdiPlan,
    Zone,
)

ZONE_CIDRS = {"mynumber": "10.0.0.0/12", "lgwan": "10.16.0.0/12", "internet": "10.32.0.0/12", "shared": "10.48.0.0/12"}
FLAVORS = [
    Flavor(name="s2.small", vcpus=2, ram_mb=4096, disk_gb=40),
    Flavor(name="s4.large", vcpus=4, ram_mb=16384, disk_gb=80),
    Flavor(name="s8.xlarge", vcpus=8, ram_mb=32768, disk_gb=120),
]
IMAGES = ["debian-12", "windows-server-2022"]
SHARED = [
    SharedService(name="ntp", role_ja="時刻同期", ports=[("udp", 123)], flavor="s2.small", count=2),
    SharedService(name="dns", role_ja="名前解決", ports=[("udp", 53), ("tcp", 53)], flavor="s2.small", count=2),
    SharedService(name="logs", role_ja="ログ収集", ports=[("tcp", 6514)], flavor="s4.large", count=1),
    SharedService(name="patch_mirror", role_ja="パッチ配信", ports=[("tcp", 443)], flavor="s4.large", count=1),
    SharedService(name="backup", role_ja="バックアップ", ports=[("tcp", 9102)], flavor="s8.xlarge", count=1),
    SharedService(name="bastion", role_ja="踏み台", ports=[("tcp", 22)], flavor="s2.small", count=1),
    SharedService(name="relay", role_ja="無害化中継", ports=[("tcp", 443)], flavor="s4.large", count=2),
    SharedService(name="hub", role_ja="データ連携基盤", ports=[("tcp", 8443)], flavor="s4.large", count=2),
]
# Layer mix of a city: about half My Number, two fifths LGWAN, the rest internet and shared.
MIX = ["mynumber", "mynumber", "lgwan", "mynumber", "lgwan", "internet", "mynumber", "lgwan", "shared", "lgwan"]
VENDORS = ["さくらシステム開発", "東日本情報システム", "Kanto Data Service", "みなと電算", "OpenCity Works"]
DEPARTMENTS = ["市民課", "市民税課", "保険年金課", "総務課", "情報政策課", "子ども家庭課"]


def tenant(i: int, layer: Any, *, cidr: str, dr_tier: Any = "none", prefix: str = "T") -> Tenant:
    servers = [
        ServerGroup(role="ap", count=2, flavor="s4.large", image="debian-12", anti_affinity=True),
        ServerGroup(role="db", count=1, flavor="s8.xlarge", image="debian-12", anti_affinity=False),
    ]
    return Tenant(
        system_id=f"{prefix}{i:04d}",
        name=f"業務システム{i}",
        layer=layer,
        department=DEPARTMENTS[i % len(DEPARTMENTS)],
        vendor=VENDORS[i % len(VENDORS)],
        standard_op="juki" if i % 7 == 0 and layer == "mynumber" else None,
        dr_tier=dr_tier,
        cidr=cidr,
        quotas=Quotas(
            instances=6,
            cores=32,
            ram_mb=98304,
            volumes=10,
            gigabytes=1000,
            networks=1,
            subnets=1,
            ports=20,
            routers=0,
            security_groups=4,
            security_group_rules=80,
            floating_ips=0,
        ),
        servers=servers,
    )


def site(
    n: int, *, site_name: Any = "onprem", municipality: str = "合成市（ベンチマーク）", model: Any = "alpha", links: bool = True
) -> SiteData:
    """A city of `n` tenants: each tenant a /24 from its layer's zone, a few flows each, one in five warm."""
    counters = dict.fromkeys(ZONE_CIDRS, 1)  # block 0 of each zone is the platform's, as in `shuyaku plan`
    tenants: list[Tenant] = []
    for i in range(1, n + 1):
        layer = MIX[i % len(MIX)]
        base = ipaddress.ip_network(ZONE_CIDRS[layer])
        cidr = str(ipaddress.ip_address(int(base.network_address) + counters[layer] * 256)) + "/24"
        counters[layer] += 1
        tier = "warm" if i % 5 == 0 else ("backup" if i % 5 in (1, 2) else "none")
        tenants.append(tenant(i, layer, cidr=cidr, dr_tier=tier))
    flows: list[Flow] = []
    if links:
        by_layer: dict[str, list[Tenant]] = {}
        for ten in tenants:
            by_layer.setdefault(ten.layer, []).append(ten)
        for ten in tenants:
            peers = by_layer[ten.layer]
            k = peers.index(ten)
            if len(peers) > 1:  # one direct link inside the layer
                src = peers[(k + 1) % len(peers)]
                flows.append(
                    Flow(source_system=src.system_id, target_system=ten.system_id, protocol="tcp", port=5432, path="direct")
                )
            if ten.layer == "mynumber" and by_layer.get("lgwan") and k % 3 == 0:  # an LGWAN system feeds it through the hub
                src = by_layer["lgwan"][k % len(by_layer["lgwan"])]
                flows.append(
                    Flow(source_system=src.system_id, target_system=ten.system_id, protocol="tcp", port=8443, path="hub")
                )
            if ten.layer == "lgwan" and by_layer.get("internet") and k % 4 == 0:  # files from the internet layer, sanitised
                src = by_layer["internet"][k % len(by_layer["internet"])]
                flows.append(
                    Flow(source_system=src.system_id, target_system=ten.system_id, protocol="tcp", port=443, path="relay")
                )
    zones = [
        Zone(
            layer=layer,  # type: ignore[arg-type]
            cidr=cidr,
            availability_zone=f"az-{layer}",
            hosts=max(2, n // 20),
            host_names=[],
            flavors=FLAVORS,
            images=IMAGES,
        )
        for layer, cidr in ZONE_CIDRS.items()
    ]
    return SiteData(
        site=site_name,
        municipality=municipality,
        separation_model=model,
        zones=zones,
        tenants=tenants,
        flows=flows,
        shared_services=SHARED,
        vdi=VdiPlan(
            hosts=max(2, n // 40),
            flavor="s8.xlarge",
            concurrent_users=n * 10,
            screen_ports=[443, 3389],
            lgwan_desktop_hosts=0 if model == "alpha" else max(1, n // 80),
        ),
        dr=DrPlan(
            warm_systems=[x.system_id for x in tenants if x.dr_tier == "warm"],
            backup_systems=[x.system_id for x in tenants if x.dr_tier == "backup"],
            standby_hosts=max(1, n // 40),
            backup_tb=n * 0.5,
        ),
    )
