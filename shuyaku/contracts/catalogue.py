"""The cost catalogue: prices and assumptions the plan and the cost case rest on.

Every figure carries its source or the assumption behind it, because the cost case is read by auditors
who must be able to check where a number came from.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shuyaku.contracts.inventory import Layer


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class Priced(Strict):
    yen: int = Field(ge=0, description="金額（円）/ amount in yen")
    source: str = Field(min_length=1, description="出典または前提 / source or stated assumption")
    pessimistic: int | None = Field(
        default=None, ge=0, description="悲観ケースの金額（省略時は yen）/ amount in the pessimistic case")
    optimistic: int | None = Field(
        default=None, ge=0, description="楽観ケースの金額（省略時は yen）/ amount in the optimistic case")


class Assumed(Strict):
    value: float = Field(ge=0, description="値（想定ケース）/ value (expected case)")
    source: str = Field(min_length=1, description="出典または前提 / source or stated assumption")
    pessimistic: float | None = Field(
        default=None, ge=0, description="悲観ケースの値（省略時は value）/ value in the pessimistic case")
    optimistic: float | None = Field(
        default=None, ge=0, description="楽観ケースの値（省略時は value）/ value in the optimistic case")


class Positive(Assumed):
    """An assumption used as a divisor: every case must be above zero."""

    value: float = Field(gt=0, description="値（想定ケース）/ value (expected case)")
    pessimistic: float | None = Field(default=None, gt=0, description="悲観ケースの値 / pessimistic case")
    optimistic: float | None = Field(default=None, gt=0, description="楽観ケースの値 / optimistic case")


class Share(Assumed):
    """A share between 0 and 1 in every case."""

    value: float = Field(ge=0, le=1, description="割合（想定ケース）/ share (expected case)")
    pessimistic: float | None = Field(default=None, ge=0, le=1, description="悲観ケースの割合 / pessimistic case")
    optimistic: float | None = Field(default=None, ge=0, le=1, description="楽観ケースの割合 / optimistic case")


class HostModel(Strict):
    name: str = Field(description="機種 / host model")
    vcpu: int = Field(gt=0, description="スレッド数 / hardware threads")
    ram_gb: int = Field(gt=0, description="メモリ GB")
    disk_gb: int = Field(gt=0, description="VM用ディスク GB（共有ストレージの割当）/ disk for VMs")
    reserved_vcpu: int = Field(ge=0, description="ハイパーバイザ予約 vCPU")
    reserved_ram_gb: int = Field(ge=0, description="ハイパーバイザ予約メモリ GB")
    price: Priced = Field(description="購入価格 / purchase price per host")
    amortisation_years: Positive = Field(description="償却年数 / amortisation years")


class Overcommit(Strict):
    cpu: float = Field(ge=1.0, description="CPUオーバーコミット率 / vCPU per hardware thread")
    ram: float = Field(ge=1.0, le=1.5, description="メモリオーバーコミット率")


class Sizing(Strict):
    target_peak_pct: float = Field(
        gt=0, le=100, description="実測p95からの適正化で目標とするピーク使用率 / target peak utilisation"
    )
    min_vcpu: int = Field(ge=1)
    min_ram_gb: float = Field(gt=0)
    hardware_life_years: int = Field(ge=1, description="ハードウェア更新目安年数 / hardware life")


class Operations(Strict):
    """Platform staff scale with what they run: a base team, plus one FTE per so many hosts and systems."""

    base_fte: Assumed = Field(description="基盤運用の最小要員 FTE / platform staff for any size")
    hosts_per_fte: Positive = Field(description="ホスト何台ごとに1人増やすか / one more FTE per this many hosts")
    systems_per_fte: Positive = Field(
        description="テナント（業務システム）何件ごとに1人増やすか / one more FTE per this many systems")
    cost_per_fte: Priced = Field(description="要員単価（年）/ cost per FTE per year")


class Carryover(Strict):
    """What each baseline line becomes on consolidation: the share of it that continues (0 = ends)."""

    hardware: Assumed = Field(description="サーバ機器（リース・償却）のうち残る割合 / share of server hardware that remains")
    maintenance_hardware: Assumed = Field(description="ハードウェア保守のうち残る割合 / share of hardware maintenance")
    maintenance_application: Assumed = Field(
        description="アプリケーション保守のうち残る割合（ベンダー保守は継続）/ share of application maintenance")
    licences: Assumed = Field(description="ライセンスのうち残る割合 / share of licences that remains")
    operations: Assumed = Field(description="業務システムごとの運用費のうち残る割合 / share of per-system operations")
    facility: Assumed = Field(description="各課の設置・電力のうち残る割合 / share of per-system facility costs")
    hardware_maintenance_share: Share = Field(description="台帳で保守の内訳がない場合にハードウェア保守とみなす割合 / "
                         "default hardware share of 保守 where the inventory does not split it")


class DrTierSpec(Strict):
    rpo_hours: float = Field(ge=0, description="この方式で達成できる RPO（時間）/ data loss this tier can promise")
    rto_hours: float = Field(ge=0, description="この方式で達成できる RTO（時間）/ recovery time this tier can promise")
    source: str = Field(min_length=1, description="前提 / how the tier achieves it")


class DrTiers(Strict):
    """What each DR tier can promise; a system gets the cheapest tier that meets both its RPO and RTO."""

    warm: DrTierSpec = Field(description="ウォームスタンバイ（DRサイトで待機系が稼働、非同期レプリケーション）")
    replica: DrTierSpec = Field(description="レプリケーション（ボリューム非同期複製・ログ配送、DRサイトで起動）")
    backup: DrTierSpec = Field(description="バックアップ・リストア（日次の庁外バックアップから復元）")
    none: DrTierSpec = Field(description="対策なし（インストール媒体と紙の記録から再構築）")


class Migration(Strict):
    per_server: Priced = Field(description="移行費（サーバ1台あたり、一時費用）/ one-off migration cost per server")
    per_system: Priced = Field(description="移行費（システムあたり、一時費用）/ one-off migration cost per system")


class DrSite(Strict):
    hosts_per_rack: Positive = Field(description="ラック1本あたりのホスト数 / hosts per rack at the DR site")
    rack_increment: Positive = Field(
        description="借りられるラックの単位（1=1ラック、0.25=1/4ラック）/ smallest rack share rented")
    rack_per_year: Priced = Field(description="庁外DC ラック1本の利用料（年・電力込み）/ one rack per year, power included")
    network_mbps: Positive = Field(description="回線1本の帯域 Mbps / bandwidth of one inter-site line")
    network_per_year: Priced = Field(description="回線1本の費用（年）/ one inter-site line per year")
    backup_per_tb_year: Priced = Field(description="バックアップ保管（TB・年）/ backup storage per TB-year")
    replication_per_tb_year: Priced = Field(
        description="複製先ストレージとレプリケーション（TB・年）/ replica storage and replication per TB-year")
    daily_change_rate: Share = Field(description="1日に書き換わるデータの割合（複製帯域の見積り）/ share of data changed per day")
    tiers: DrTiers


class Vdi(Strict):
    users_per_host: Positive = Field(description="VDIホスト1台あたり同時利用者数")
    vdi_licence_per_user_year: Priced
    thin_client_price: Priced
    thin_client_life_years: Positive
    thin_client_support_per_year: Priced = Field(description="シンクライアント1台の年間保守")
    pc_price: Priced = Field(description="従来型業務PCの価格")
    pc_life_years: Positive
    pc_support_per_year: Priced = Field(description="従来型PC1台の年間運用（パッチ・資産管理・故障対応）")


class Catalogue(Strict):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, title="shuyaku cost catalogue (費用カタログ)")
    currency: str = Field(default="JPY")
    host: HostModel
    maintenance_rate: Assumed = Field(description="年間保守率（購入価格比）/ yearly maintenance rate")
    rack_power_per_host_year: Priced = Field(description="ラック・電力（ホスト1台・年）")
    storage_per_tb_year: Priced | None = Field(
        default=None,
        description="外部共有ストレージ（TB・年）。ホストのディスク（host.disk_gb）が購入価格に含まれる場合は書かない"
                    "（二重計上しない）/ external shared storage per TB-year; leave out when host.price buys host.disk_gb")
    hypervisor_support_per_host_year: Priced = Field(description="基盤ソフトウェア保守（ホスト1台・年）")
    overcommit: dict[Layer, Overcommit] = Field(description="系ごとのオーバーコミット方針 / per-layer overcommit")
    sizing: Sizing
    operations: Operations
    carryover: Carryover = Field(description="集約後に残る現行費用の割合 / what continues of today's costs")
    migration: Migration
    dr_site: DrSite
    vdi: Vdi
    addressing: dict[Layer, str] = Field(description="系ごとのアドレス空間 (/16) / per-layer supernet")


Case = Literal["pessimistic", "expected", "optimistic"]
CASES: tuple[Case, ...] = ("pessimistic", "expected", "optimistic")


def scenario(cat: Catalogue, case: Case) -> Catalogue:
    """The catalogue with every ranged figure (`pessimistic` / `optimistic`) set to that case's value."""
    if case == "expected":
        return cat

    def pick(node: Any) -> Any:
        if isinstance(node, dict):
            out = {k: pick(v) for k, v in node.items()}
            if "source" in node and node.get(case) is not None:
                out["yen" if "yen" in node else "value"] = node[case]
            return out
        if isinstance(node, list):
            return [pick(v) for v in node]
        return node

    return Catalogue.model_validate(pick(cat.model_dump(mode="json")))


def ranged(cat: Catalogue) -> list[tuple[str, Priced | Assumed]]:
    """Every figure that carries a range, with its dotted place in the catalogue (for the report)."""
    out: list[tuple[str, Priced | Assumed]] = []

    def walk(node: BaseModel, path: str) -> None:
        for name in type(node).model_fields:
            value = getattr(node, name)
            here = f"{path}.{name}" if path else name
            if isinstance(value, Priced | Assumed):
                if value.pessimistic is not None or value.optimistic is not None:
                    out.append((here, value))
            elif isinstance(value, BaseModel):
                walk(value, here)

    walk(cat, "")
    return out
