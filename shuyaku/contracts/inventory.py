"""The inventory of legacy systems (現行システム台帳): one YAML file per municipality.

Field descriptions are in Japanese and English because editors show them through the JSON Schema.
Every model forbids unknown keys, so a misspelt key is an error rather than a silently ignored value.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from shuyaku.contracts.standard_ops import STANDARD_OPS
from shuyaku.contracts.vocabulary import (
    LAYER_NAMES,
    MODEL_NAMES,
    Cidr4,
    Layer,
    Name,
    OsFamily,
    OsVersion,
    SeparationModel,
    SystemId,
    Text255,
    numbers_not_text,
)

__all__ = ["LAYER_NAMES", "MODEL_NAMES", "Inventory", "Layer", "SeparationModel", "System"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=False, allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _numbers_are_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        field = cls.model_fields.get(info.field_name or "")
        return numbers_not_text(value, field.annotation) if field is not None else value


class Redundancy(StrEnum):
    none = "none"
    active_standby = "active_standby"
    active_active = "active_active"


class Direction(StrEnum):
    outbound = "outbound"  # this system opens connections to the target
    inbound = "inbound"  # the target opens connections to this system
    both = "both"


class Protocol(StrEnum):
    tcp = "tcp"
    udp = "udp"


StandardOp = Literal[tuple(STANDARD_OPS)]  # type: ignore[valid-type]

# Upper bounds on every number: a mistyped 10**400 or .inf must be refused here, not overflow in the cost case.
FISCAL_YEAR_MIN, FISCAL_YEAR_MAX = 2000, 2100
YEN_MAX = 10**13  # ten trillion yen a year, far above any municipality's whole budget
Yen = Annotated[int, Field(ge=0, le=YEN_MAX, description="円/年 (yen per year)")]


class Municipality(Strict):
    name: Name = Field(description="自治体名 / municipality name")
    name_en: Name | None = Field(default=None, description="English name")
    population: int = Field(gt=0, le=50_000_000, description="人口 / population")
    separation_model: SeparationModel = Field(
        description="三層分離モデル (alpha / beta / beta_prime / alpha_prime)"
    )
    fiscal_year: int = Field(
        ge=FISCAL_YEAR_MIN, le=FISCAL_YEAR_MAX,
        description="評価基準年度 / fiscal year the assessment is made for (ages are counted to it)",
    )
    catalogue: Text255 | None = Field(
        default=None,
        description="費用カタログへの相対パス（台帳と同じフォルダの中）/ path to the cost catalogue, inside this file's folder",
    )


class Server(Strict):
    role: Name = Field(description="役割 (db, ap, web, batch…) / role")
    count: int = Field(ge=1, le=64, description="台数 / number of identical servers")
    vcpu: int = Field(ge=1, le=4096, description="vCPU（物理サーバはスレッド数）/ vCPUs (threads for physical)")
    ram_gb: float = Field(gt=0, le=65_536, description="メモリ GB / RAM in GB")
    disk_gb: float = Field(gt=0, le=10_000_000, description="ディスク GB / disk in GB")
    os: OsFamily = Field(description="OS系列 (windows_server, rhel, centos, almalinux, ubuntu, debian)")
    os_version: OsVersion
    purchase_year: int = Field(ge=1990, le=2100, description="ハードウェア購入年度 / hardware purchase year")
    p95_cpu_pct: float | None = Field(default=None, ge=0, le=100, description="CPU使用率 p95 (%)")
    p95_ram_pct: float | None = Field(default=None, ge=0, le=100, description="メモリ使用率 p95 (%)")
    redundancy: Redundancy = Field(
        default=Redundancy.none, description="冗長化 (none / active_standby / active_active)"
    )


class Costs(Strict):
    hardware: Yen = Field(description="ハードウェア（リース・償却）/ hardware lease or amortisation")
    maintenance: Yen = Field(description="保守 / maintenance (hardware and application together)")
    maintenance_hardware: Yen | None = Field(
        default=None,
        description="保守のうちハードウェア保守（集約で終了する分）。省略時はカタログの既定の割合 / the hardware part of "
                    "maintenance (ends on consolidation); when left out, the catalogue's default share applies")
    licences: Yen = Field(description="ライセンス / licences")
    operations: Yen = Field(description="運用 / operations")
    facility: Yen = Field(description="設置・電力 / facility, rack and power")

    @property
    def total(self) -> int:
        return self.hardware + self.maintenance + self.licences + self.operations + self.facility


class LinkKind(StrEnum):
    screen = "screen"  # screen transfer (VDI / virtual browser): no data crosses, only pixels
    file = "file"  # file transfer through the sanitising relay (無害化)
    api = "api"  # data exchange through the integration hub
    direct = "direct"  # plain network traffic (same layer or the shared zone)


class Link(Strict):
    target: SystemId = Field(description="連携先システムID / target system id")
    protocol: Protocol = Field(default=Protocol.tcp, description="tcp / udp")
    port: int = Field(ge=1, le=65535, description="ポート / port")
    direction: Direction = Field(
        default=Direction.outbound, description="outbound: 本システムから接続 / inbound / both"
    )
    purpose: Text255 | None = Field(default=None, description="連携内容 / what the link carries")
    kind: LinkKind | None = Field(
        default=None,
        description="連携の種類 (screen: 画面転送, file: ファイル（無害化中継）, api: データ連携基盤, direct: 直接)。"
                    "省略時はポートから推定（3389/443/6080 でインターネット接続系へ向かうものは画面転送）/ "
                    "what the link is; when left out it is inferred from the port")


class System(Strict):
    id: SystemId
    name: Name = Field(description="システム名 / name (Japanese)")
    name_en: Name | None = None
    department: Name = Field(description="所管課 / owning department")
    layer: Layer = Field(description="配置する系 / layer: mynumber, lgwan, internet, shared")
    mediates: Literal["hub", "relay"] | None = Field(
        default=None,
        description="共通基盤で系の間を仲介するシステム（hub: データ連携基盤、relay: 無害化中継）/ "
                    "a shared-zone system that mediates between layers (hub: data integration, relay: sanitising)")
    standard_op: StandardOp | None = Field(  # type: ignore[valid-type]
        default=None, description="標準化対象20業務のコード、対象外なら省略 / one of the 20 standard operations"
    )
    vendor: Name = Field(description="ベンダー / vendor")
    users: int = Field(ge=0, le=10_000_000, description="利用者数 / users")
    rpo_hours: float = Field(ge=0, le=87_600, description="目標復旧時点 RPO (時間)")
    rto_hours: float = Field(ge=0, le=87_600, description="目標復旧時間 RTO (時間)")
    cidr: Cidr4 | None = Field(default=None, description="固定するテナントネットワーク（IPv4）/ pinned tenant CIDR (IPv4)")
    servers: list[Server] = Field(min_length=1, description="サーバ構成 / servers")
    costs: Costs = Field(description="年間費用（円）/ annual costs in yen")
    links: list[Link] = Field(default_factory=list, description="データ連携 / data links")


class Terminals(Strict):
    department: Name = Field(description="部署 / department")
    layer: Layer = Field(description="端末の系 / layer the terminals sit in")
    count: int = Field(ge=0, le=1_000_000, description="台数 / number of terminals")


class Inventory(Strict):
    model_config = ConfigDict(
        extra="forbid",
        allow_inf_nan=False,
        title="shuyaku inventory (現行システム台帳)",
        json_schema_extra={"$id": "https://shuyaku.invalid/schema/inventory.json"},
    )
    municipality: Municipality
    systems: list[System] = Field(min_length=1, description="業務システム / systems")
    terminals: list[Terminals] = Field(default_factory=list, description="端末 / end-user terminals")
