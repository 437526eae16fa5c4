"""The cost catalogue: prices and assumptions the plan and the cost case rest on.

Every figure carries its source or the assumption behind it, because the cost case is read by auditors
who must be able to check where a number came from.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from shuyaku.contracts.inventory import Layer


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class Priced(Strict):
    yen: int = Field(ge=0, description="金額（円）/ amount in yen")
    source: str = Field(min_length=1, description="出典または前提 / source or stated assumption")


class Assumed(Strict):
    value: float = Field(ge=0, description="値 / value")
    source: str = Field(min_length=1, description="出典または前提 / source or stated assumption")


class HostModel(Strict):
    name: str = Field(description="機種 / host model")
    vcpu: int = Field(gt=0, description="スレッド数 / hardware threads")
    ram_gb: int = Field(gt=0, description="メモリ GB")
    disk_gb: int = Field(gt=0, description="VM用ディスク GB（共有ストレージの割当）/ disk for VMs")
    reserved_vcpu: int = Field(ge=0, description="ハイパーバイザ予約 vCPU")
    reserved_ram_gb: int = Field(ge=0, description="ハイパーバイザ予約メモリ GB")
    price: Priced = Field(description="購入価格 / purchase price per host")
    amortisation_years: Assumed = Field(description="償却年数 / amortisation years")


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
    staff_fte: Assumed = Field(description="基盤運用要員 FTE / platform operations staff")
    cost_per_fte: Priced = Field(description="要員単価（年）/ cost per FTE per year")
    app_operations_factor: Assumed = Field(
        description="集約後に残る業務システム運用費の割合 / share of per-system operations cost that remains"
    )
    licence_factor: Assumed = Field(description="集約後に残るライセンス費の割合 / share of licences that remains")


class Migration(Strict):
    per_server: Priced = Field(description="移行費（サーバ1台あたり、一時費用）/ one-off migration cost per server")
    per_system: Priced = Field(description="移行費（システムあたり、一時費用）/ one-off migration cost per system")


class DrSite(Strict):
    facility_per_year: Priced = Field(description="庁外DC 利用料（年）/ external site per year")
    network_per_year: Priced = Field(description="回線費（年）/ inter-site network per year")
    backup_per_tb_year: Priced = Field(description="バックアップ保管（TB・年）/ backup storage per TB-year")


class Vdi(Strict):
    users_per_host: Assumed = Field(description="VDIホスト1台あたり同時利用者数")
    vdi_licence_per_user_year: Priced
    thin_client_price: Priced
    thin_client_life_years: Assumed
    thin_client_support_per_year: Priced = Field(description="シンクライアント1台の年間保守")
    pc_price: Priced = Field(description="従来型業務PCの価格")
    pc_life_years: Assumed
    pc_support_per_year: Priced = Field(description="従来型PC1台の年間運用（パッチ・資産管理・故障対応）")


class Catalogue(Strict):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, title="shuyaku cost catalogue (費用カタログ)")
    currency: str = Field(default="JPY")
    host: HostModel
    maintenance_rate: Assumed = Field(description="年間保守率（購入価格比）/ yearly maintenance rate")
    rack_power_per_host_year: Priced = Field(description="ラック・電力（ホスト1台・年）")
    storage_per_tb_year: Priced = Field(description="共有ストレージ（TB・年）")
    hypervisor_support_per_host_year: Priced = Field(description="基盤ソフトウェア保守（ホスト1台・年）")
    overcommit: dict[Layer, Overcommit] = Field(description="系ごとのオーバーコミット方針 / per-layer overcommit")
    sizing: Sizing
    operations: Operations
    migration: Migration
    dr_site: DrSite
    vdi: Vdi
    addressing: dict[Layer, str] = Field(description="系ごとのアドレス空間 (/16) / per-layer supernet")
