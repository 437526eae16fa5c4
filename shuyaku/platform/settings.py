"""The checked configuration the components receive: the stack config and the site data, typed, with the address
and rule layout already decided. Built once by `shuyaku.platform.config.load` (or `from_site`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from shuyaku.contracts.i18n import lang
from shuyaku.contracts.problems import Problem, ProblemsError, tx
from shuyaku.contracts.sitedata import Quotas, SiteData, Tenant
from shuyaku.platform.layout import Layout


class ConfigError(ProblemsError):
    """Every problem with the stack config or the data it names; rendered for the engine to print."""

    def __init__(self, problems: Iterable[Problem]):
        super().__init__(problems)

    def __str__(self) -> str:
        return self.render()

    def render(self, language: str | None = None) -> str:
        language = language or lang()
        n = len(self.problems)
        closing = tx(f"{n} 件の問題があるため、リソースは1つも作成していません。修正して再実行してください。",
                     f"{n} problem(s) found; no resource was registered. Fix them and run again.")
        return "\n".join([*(p.render(language) for p in self.problems), closing.pick(language)])

    def render_both(self) -> str:
        """The user's language first, then the other: the engine's output is pasted into tickets read by others."""
        first = lang()
        return f"{self.render(first)}\n\n{self.render('en' if first == 'ja' else 'ja')}"


@dataclass
class PlatformConfig:
    stack: str
    site_path: Path
    site: SiteData
    lgwan_network: str
    external_network: str
    proxy_cidr: str
    terminal_cidrs: list[str]
    encrypted_volume_type: str
    proxy_port: int = 8080
    admin_cidrs: list[str] = field(default_factory=list)
    plain_volume_types: list[str] = field(default_factory=list)
    inventory_path: Path | None = None
    primary_stack: str | None = None
    instances: bool = True
    operator_quotas: bool = True
    instance_limit: int | None = None
    zone_hosts: dict[str, list[str]] = field(default_factory=dict)
    isolated_layers: list[str] = field(default_factory=list)
    image_aliases: dict[str, str] = field(default_factory=dict)
    quota_overrides: dict[str, dict[str, int]] = field(default_factory=dict)
    vendor_role: str = "member"
    layout: Layout = field(default_factory=Layout)

    @property
    def is_dr(self) -> bool:
        return self.site.site == "dr"

    def quotas(self, tenant: Tenant) -> Quotas:
        over = self.quota_overrides.get(tenant.system_id)
        return tenant.quotas.model_copy(update=over) if over else tenant.quotas

    def image(self, name: str) -> str:
        return self.image_aliases.get(name, name)

    def hosts(self, layer: str) -> list[str]:
        if layer in self.zone_hosts:
            return list(self.zone_hosts[layer])
        zone = next((z for z in self.site.zones if z.layer == layer), None)
        return list(zone.host_names) if zone else []

    def tenants(self) -> list[Tenant]:
        """The tenants this stack deploys: all at the primary site, warm-standby ones at the DR site."""
        return [t_ for t_ in self.site.tenants if t_.system_id in self.layout.present]
