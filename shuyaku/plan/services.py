"""The platform's own shared services in the management zone: what they are, their ports and sizes.

They take capacity in the shared zone like any tenant VM, so the placement counts them. Each runs as a
redundant pair on distinct hosts. At the DR site only what standby systems need during a disaster runs.
"""

from __future__ import annotations

from dataclasses import dataclass

from shuyaku.plan.flavors import FlavorShape


@dataclass(frozen=True)
class Service:
    name: str
    role_ja: str
    role_en: str
    ports: tuple[tuple[str, int], ...]
    shape: FlavorShape
    disk_gb: int
    count: int = 2
    at_dr: bool = True


SERVICES: tuple[Service, ...] = (
    Service("ntp", "時刻同期", "time (NTP)", (("udp", 123),), FlavorShape(2, 4), 40),
    Service("dns", "名前解決", "name resolution (DNS)", (("udp", 53), ("tcp", 53)), FlavorShape(2, 4), 40),
    Service("logs", "ログ集約", "log collection", (("tcp", 6514), ("udp", 514)), FlavorShape(4, 16), 2000),
    Service("patch_mirror", "パッチ配信ミラー", "patch mirror", (("tcp", 443), ("tcp", 80)), FlavorShape(2, 8), 1000,
            at_dr=False),
    Service("backup", "バックアップ", "backup", (("tcp", 9102), ("tcp", 9103)), FlavorShape(4, 16), 500),
    Service("bastion", "踏み台（保守用接続）", "bastion (maintenance access)", (("tcp", 22), ("tcp", 3389)),
            FlavorShape(2, 4), 40),
    Service("relay", "無害化中継（ファイル）", "file-sanitising relay (無害化)", (("tcp", 443),), FlavorShape(4, 8), 200),
    Service("hub", "データ連携基盤", "data-integration hub (データ連携基盤)", (("tcp", 443),), FlavorShape(8, 32), 500),
)
