"""Tenant outputs: the hand-off the platform publishes per tenant, and the only thing a vendor project (and
the DR stack) reads back from the platform's stack.

The platform stack exports `tenants: {system_id: TenantOutputs}`. Three readers depend on this shape:

- the platform itself builds it (`shuyaku.platform.tenant`), validating the finished values;
- the DR stack reads the primary's through a StackReference and validates them here before sizing its
  standby and restore projects (`shuyaku.platform.dr_site`);
- a vendor project (`shuyaku vendor init`) receives them through its own StackReference and checks them
  against the published JSON Schema (`schemas/tenant-outputs.json`, copied into the project), because a
  vendor's project never imports shuyaku.

Nothing here is secret: ids, names, addresses, quotas and tags only. Pulumi stack outputs travel as JSON,
so whole numbers may come back as floats (4.0); the models accept those and give ints.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shuyaku.contracts.problems import Text, tx
from shuyaku.contracts.sitedata import Quotas
from shuyaku.contracts.vocabulary import Cidr4, Layer, SystemId


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ServerOutputs(_Strict):
    """One planned server group of the tenant, as the platform resolved it."""

    role: str = Field(description="役割（例: app, db） / the servers' role, e.g. app or db")
    count: int = Field(ge=1, description="計画台数 / planned number of servers")
    flavor: str = Field(description="基盤上のフレーバー名（系ごと） / the platform's flavor name (per layer)")
    image: str = Field(description="基盤上のイメージ名 / the image name on the platform")
    anti_affinity: bool = Field(description="別ホストに分散配置するか / servers must sit on distinct hosts")
    vcpus: int = Field(ge=1, description="1台あたりの vCPU 数 / vCPUs per server")
    ram_mb: int = Field(ge=64, description="1台あたりのメモリ（MB） / memory per server (MB)")


class TenantOutputs(_Strict):
    """One tenant's hand-off: where its servers go and what it may use.

    Pulumi drops null values from stack outputs, so the optional keys (`volume_type` outside the My Number
    layer, the two DR-only keys on the primary site) are absent there rather than null; both read as null."""

    model_config = ConfigDict(
        extra="forbid",
        title="shuyaku tenant outputs",
        json_schema_extra={"description": "基盤スタックがテナントごとに公開する引き渡し情報（秘密情報なし） / "
                                          "what the platform stack publishes per tenant (no secrets)"},
    )

    system_id: SystemId
    name: str = Field(description="業務システム名 / business system name")
    layer: Layer = Field(description="三層の系 / the separation layer")
    site: Literal["onprem", "dr"] = Field(description="サイト（庁内 / 庁外） / site: primary or DR")
    project_id: str = Field(min_length=1, description="Keystone プロジェクトID / Keystone project id")
    project_name: str = Field(min_length=1, description="Keystone プロジェクト名 / Keystone project name")
    vendor_group: str = Field(
        min_length=1, description="このプロジェクトだけに member 権限を持つベンダーグループ / "
                                  "the vendor's group (member on this project only)")
    network_id: str = Field(min_length=1, description="テナント専用ネットワークID / the tenant's network id")
    subnet_id: str = Field(min_length=1, description="テナント専用サブネットID / the tenant's subnet id")
    cidr: Cidr4
    security_group_ids: dict[Literal["tenant", "base"], str] = Field(
        description="サーバに付けるセキュリティグループ（tenant: 計画された連携だけ、base: 系の共通ルール） / "
                    "groups every server gets (tenant: planned links only; base: the layer's baseline)")
    availability_zone: str = Field(description="系専用の可用性ゾーン / the layer's availability zone")
    allowed_flavors: list[str] = Field(description="使えるフレーバー / flavors the tenant may use")
    allowed_images: list[str] = Field(description="使えるイメージ / images the tenant may boot")
    volume_type: str | None = Field(
        default=None,
        description="データボリュームに使うボリュームタイプ（マイナンバー利用事務系は暗号化タイプ、他は null） / "
                    "volume type for data volumes (the encrypted type in the My Number layer, else null)")
    floating_ips_allowed: bool = Field(description="フローティングIPを使えるか / whether floating IPs are allowed")
    tags: list[str] = Field(description="全リソースに付けるタグ（shuyaku:key=value） / tags for every resource")
    quotas: Quotas = Field(description="プロジェクトのクォータ / the project's quotas")
    servers: list[ServerOutputs] = Field(description="計画されたサーバ構成 / the planned servers")
    dr_tier: Literal["warm", "backup", "none"] = Field(description="DR 区分 / disaster-recovery tier")
    primary_project_id: str | None = Field(
        default=None, description="DR 待機テナントのみ: 主サイトのプロジェクトID / DR standby only: the primary's project id")
    server_group_ids: dict[str, str] | None = Field(
        default=None, description="DR 待機テナントのみ: 役割ごとのサーバグループID / DR standby only: server group per role")


class TenantOutputsError(ValueError):
    """The outputs read back for one tenant do not match the contract; `text` says which field and why."""

    def __init__(self, text: Text):
        self.text = text
        super().__init__(f"{text.ja}\n{text.en}")


def json_schema() -> dict[str, Any]:
    """The published JSON Schema (`shuyaku schema tenant-outputs`, schemas/tenant-outputs.json)."""
    schema = TenantOutputs.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


def export(fields: dict[str, Any]) -> dict[str, Any]:
    """Validate the platform's resolved values for one tenant and give the JSON it exports."""
    return TenantOutputs.model_validate(fields).model_dump(mode="json")


def parse(value: Any, *, system_id: str, where: Text) -> TenantOutputs:
    """One tenant's outputs as read from `where` (e.g. the primary stack); an error names the tenant and fields."""
    if value is None:
        raise TenantOutputsError(tx(
            f"{where.ja} にテナント {system_id} の出力がありません",
            f"{where.en} exports no outputs for tenant {system_id}"))
    try:
        return TenantOutputs.model_validate(value)
    except ValidationError as exc:
        lines_ja, lines_en = [], []
        for e in exc.errors():
            field = ".".join(str(p) for p in e["loc"]) or "(root)"
            what = "未知の項目" if e["type"] == "extra_forbidden" else (
                "必須項目がありません" if e["type"] == "missing" else e["msg"])
            lines_ja.append(f"  {field}: {what}")
            lines_en.append(f"  {field}: {e['msg']}")
        raise TenantOutputsError(tx(
            f"{where.ja} のテナント {system_id} の出力が契約（tenant-outputs）に合いません:\n" + "\n".join(lines_ja)
            + "\n  基盤スタックを同じ版の shuyaku で更新（pulumi up）してください",
            f"the outputs of tenant {system_id} in {where.en} do not match the tenant-outputs contract:\n"
            + "\n".join(lines_en) + "\n  update that stack with the same shuyaku version (pulumi up)")) from None
