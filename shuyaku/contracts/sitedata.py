"""Per-site platform data: the contract between `shuyaku plan` (writer) and the Pulumi program (reader).

`shuyaku plan` writes one file per site (`site-onprem.json`, `site-dr.json`); the platform program reads
the file its stack config names. Adding a system to the inventory changes this data, never the program.
City-specific network facts that the plan cannot know (terminal ranges, proxy address, provider network
names) live in the stack config instead.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

from shuyaku.contracts.separation import Kind
from shuyaku.contracts.vocabulary import Layer, SeparationModel

Path = Literal["direct", "hub", "relay", "screen"]
DrTier = Literal["warm", "backup", "none"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Flavor(Strict):
    name: str
    vcpus: int = Field(ge=1)
    ram_mb: int = Field(ge=64)
    disk_gb: int = Field(ge=1)


class Zone(Strict):
    layer: Layer
    cidr: str = Field(description="zone supernet; tenant networks are carved from it")
    availability_zone: str
    hosts: int = Field(ge=0, description="compute hosts planned for this zone at this site")
    host_names: list[str] = Field(default_factory=list)
    flavors: list[Flavor]
    images: list[str] = Field(description="image names tenants in this zone may boot")


class Quotas(Strict):
    instances: int = Field(ge=0)
    cores: int = Field(ge=0)
    ram_mb: int = Field(ge=0)
    volumes: int = Field(ge=0)
    gigabytes: int = Field(ge=0)
    networks: int = Field(ge=0)
    subnets: int = Field(ge=0)
    ports: int = Field(ge=0)
    routers: int = Field(ge=0)
    security_groups: int = Field(ge=0)
    security_group_rules: int = Field(ge=0)
    floating_ips: int = Field(ge=0)


class ServerGroup(Strict):
    role: str
    count: int = Field(ge=1)
    flavor: str
    image: str
    anti_affinity: bool = Field(description="servers of this role must sit on distinct hosts")


class Flow(Strict):
    """One permitted data link, seen from the receiving tenant."""

    source_system: str
    target_system: str
    protocol: Literal["tcp", "udp"]
    port: int = Field(ge=1, le=65535)
    path: Path = Field(description="direct in one layer; hub/relay/screen when the flow crosses layers")
    kind: Kind | None = Field(
        default=None,
        description="what the inventory declares the link to be (screen / file / api / direct); left out: "
                    "inferred from the port, as before the field existed")

    @model_serializer(mode="wrap")
    def _without_undeclared_kind(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """A link whose kind is not declared is written as before the field existed, so regenerated site files
        (and the stacks that read them) do not change."""
        out: dict[str, Any] = handler(self)
        if out.get("kind") is None:
            out.pop("kind", None)
        return out


class Tenant(Strict):
    system_id: str
    name: str
    layer: Layer
    department: str
    vendor: str
    standard_op: str | None = None
    dr_tier: DrTier
    cidr: str
    quotas: Quotas
    servers: list[ServerGroup]


class SharedService(Strict):
    name: Literal["ntp", "dns", "logs", "patch_mirror", "backup", "bastion", "relay", "hub"]
    role_ja: str
    ports: list[tuple[Literal["tcp", "udp"], int]]
    flavor: str
    count: int = Field(ge=1)


class VdiPlan(Strict):
    hosts: int = Field(ge=0, description="VDI hosts in the internet layer (screen transfer to LGWAN terminals)")
    flavor: str
    concurrent_users: int = Field(ge=0)
    screen_ports: list[int] = Field(description="RDP and TLS browser ports the gateway exposes")
    lgwan_desktop_hosts: int = Field(ge=0, description="pool for LGWAN desktops when the model needs it")


class DrPlan(Strict):
    warm_systems: list[str]
    backup_systems: list[str]
    standby_hosts: int = Field(ge=0)
    backup_tb: float = Field(ge=0)


class SiteData(Strict):
    model_config = ConfigDict(extra="forbid", title="shuyaku per-site platform data")
    schema_version: Literal[1] = 1
    site: Literal["onprem", "dr"]
    municipality: str
    separation_model: SeparationModel
    zones: list[Zone]
    tenants: list[Tenant]
    flows: list[Flow]
    shared_services: list[SharedService]
    vdi: VdiPlan
    dr: DrPlan
