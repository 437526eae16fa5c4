"""The platform program's configuration: read once at the entry point, checked completely, passed down typed.

Two sources meet here: the stack config (`stacks/Pulumi.<stack>.yaml`, namespace `shuyaku`) for the facts
the plan cannot know (provider network names, the proxy, terminal ranges), and the per-site data that
`shuyaku plan` writes (`site-*.json`, named by `shuyaku:siteData`). Every problem in either is collected
and reported together — file, line, field and a fix — before a single resource is registered.
"""

from __future__ import annotations

import difflib
import ipaddress
import itertools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shuyaku.contracts import checked, source
from shuyaku.contracts.i18n import t
from shuyaku.contracts.problems import Problem, ProblemsError
from shuyaku.contracts.separation import link_path
from shuyaku.contracts.sitedata import Flow, Quotas, SiteData, Tenant
from shuyaku.platform import naming

NAMESPACE = "shuyaku"

# key -> (kind, default). Kinds are checked after JSON decoding (Pulumi hands structured values over as JSON).
KEYS: dict[str, tuple[str, Any]] = {
    "siteData": ("path", None),
    "inventory": ("path?", None),
    "lgwanNetwork": ("str", None),
    "externalNetwork": ("str", None),
    "proxyCidr": ("cidr", None),
    "proxyPort": ("port", 8080),
    "terminalCidrs": ("cidrs", None),
    "adminCidrs": ("cidrs", []),
    "encryptedVolumeType": ("str", None),
    "plainVolumeTypes": ("strs", []),
    "primaryStack": ("str?", None),
    "instances": ("bool", True),
    "operatorQuotas": ("bool", True),
    "instanceLimit": ("int?", None),
    "zoneHosts": ("layer-map", {}),
    "isolatedLayers": ("layers", []),
    "imageAliases": ("str-map", {}),
    "quotaOverrides": ("quota-map", {}),
    "vendorRole": ("str", "member"),
}
REQUIRED = ("siteData", "lgwanNetwork", "externalNetwork", "proxyCidr", "terminalCidrs", "encryptedVolumeType")


class ConfigError(Exception):
    """Every problem with the stack config or the data it names; rendered for the engine to print."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(problems, key=lambda p: (p.file, p.line, p.column, p.field))
        super().__init__(self.render())

    def render(self) -> str:
        lines = [p.render() for p in self.problems]
        lines.append(
            t(
                f"{len(self.problems)} 件の問題があるため、リソースは1つも作成していません。修正して再実行してください。",
                f"{len(self.problems)} problem(s) found; no resource was registered. Fix them and run again.",
            )
        )
        return "\n".join(lines)


@dataclass(frozen=True)
class Rule:
    """One security-group rule, decided from data before any resource exists (tests and quotas read these)."""

    direction: str  # ingress | egress
    protocol: str
    port: int
    cidr: str
    kind: str  # flow | flow-out | base | proxy | terminal | service | mediated-in | mediated-out | admin
    note: str

    def key(self) -> tuple[str, str, int, str]:
        return (self.direction, self.protocol, self.port, self.cidr)


@dataclass
class ServiceLayout:
    name: str
    cidr: str
    ips: list[str]


@dataclass
class Layout:
    """Addresses and rules derived from the site data; the components only turn these into resources."""

    segments: dict[str, str] = field(default_factory=dict)  # layer -> segment CIDR
    pools: dict[str, dict[str, str]] = field(default_factory=dict)  # layer -> allocation pool
    services: dict[str, ServiceLayout] = field(default_factory=dict)  # shared service -> block
    router_ports: dict[str, str] = field(default_factory=dict)  # layer -> its router's address on the shared segment
    vdi: ServiceLayout | None = None
    lgwan_desktops: ServiceLayout | None = None
    tenant_rules: dict[str, list[Rule]] = field(default_factory=dict)
    base_rules: dict[str, list[Rule]] = field(default_factory=dict)  # layer -> the baseline rules every tenant of the layer gets
    service_rules: dict[str, list[Rule]] = field(default_factory=dict)
    vdi_rules: list[Rule] = field(default_factory=list)
    desktop_rules: list[Rule] = field(default_factory=list)
    present: set[str] = field(default_factory=set)  # tenants this stack deploys
    router_layers: set[str] = field(default_factory=set)  # layers that get a router (not isolated by config)


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


class _Collector:
    """Problems in the stack config file, located at the key that caused them."""

    def __init__(self, config_file: Path | None, stack: str):
        self.file = config_file
        self.stack = stack
        self.problems: list[Problem] = []
        self.src: source.Source | None = None
        if config_file is not None and config_file.is_file():
            try:
                self.src = source.load(config_file)
            except ProblemsError as exc:
                self.problems += exc.problems

    def add(self, key: str, message: str, fix: str, sub: str = "") -> None:
        name = f"{NAMESPACE}:{key}"
        line, col = (0, 0)
        if self.src is not None:
            line, col = self.src.where(("config", name), key=True)
        where = str(self.file) if self.file else f"Pulumi.{self.stack}.yaml"
        self.problems.append(Problem(where, line, col, name + sub, message, fix))


def _decode(kind: str, raw: Any) -> Any:
    if isinstance(raw, str) and kind not in ("path", "path?", "str", "str?", "cidr"):
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            return raw
    return raw


def load(values: Mapping[str, Any], *, stack: str, project_root: Path, config_file: Path | None = None) -> PlatformConfig:
    """Build and check the typed config; raise ConfigError listing every problem.

    `values` holds the `shuyaku:` keys without their namespace (either plain values or the JSON strings
    the engine passes). Relative paths are relative to the project root (where Pulumi.yaml sits), so
    the program behaves the same whatever directory the engine starts it in.
    """
    c = _Collector(config_file, stack)
    v: dict[str, Any] = {}
    for key, raw in values.items():
        if key not in KEYS:
            near = difflib.get_close_matches(key, list(KEYS), n=1)
            c.add(
                key,
                t("未知の設定キーです", "unknown config key"),
                t(
                    f"「{NAMESPACE}:{near[0]}」の誤りではありませんか。" if near else f"使えるキー: {', '.join(KEYS)}",
                    f"did you mean '{NAMESPACE}:{near[0]}'?" if near else f"known keys: {', '.join(KEYS)}",
                ),
            )
            continue
        v[key] = _decode(KEYS[key][0], raw)
    for key in REQUIRED:
        if v.get(key) in (None, "", []):
            c.add(
                key,
                t("必須の設定がありません", "required setting is missing"),
                t(
                    f"`pulumi config set {NAMESPACE}:{key} <値> -s {stack}` で設定してください",
                    f"set it with `pulumi config set {NAMESPACE}:{key} <value> -s {stack}`",
                ),
            )
    out: dict[str, Any] = {}
    for key, (kind, default) in KEYS.items():
        if key not in v or v[key] is None:
            out[key] = default
            continue
        out[key] = _check_kind(c, key, kind, v[key], project_root)

    site: SiteData | None = None
    site_src: source.Source | None = None
    if isinstance(out.get("siteData"), Path):
        try:
            site_src = source.load(out["siteData"])
            site, found = checked.check(SiteData, site_src)
            c.problems += found
        except ProblemsError as exc:
            c.problems += exc.problems
    if isinstance(out.get("inventory"), Path):
        _cross_check_inventory(c, out["inventory"], site, site_src)

    if site is None or site_src is None:
        raise ConfigError(c.problems)
    # Config problems are already recorded; stand-ins let the site checks run too, so one run reports all.
    out = {
        **out,
        "proxyCidr": out["proxyCidr"] or "192.0.2.0/32",
        "terminalCidrs": out["terminalCidrs"] or [],
        "lgwanNetwork": out["lgwanNetwork"] or "",
        "externalNetwork": out["externalNetwork"] or "",
        "encryptedVolumeType": out["encryptedVolumeType"] or "",
    }
    cfg = PlatformConfig(
        stack=stack,
        site_path=out["siteData"],
        site=site,
        lgwan_network=out["lgwanNetwork"],
        external_network=out["externalNetwork"],
        proxy_cidr=out["proxyCidr"],
        proxy_port=out["proxyPort"],
        terminal_cidrs=out["terminalCidrs"],
        admin_cidrs=out["adminCidrs"],
        encrypted_volume_type=out["encryptedVolumeType"],
        plain_volume_types=out["plainVolumeTypes"],
        inventory_path=out["inventory"],
        primary_stack=out["primaryStack"],
        instances=out["instances"],
        operator_quotas=out["operatorQuotas"],
        instance_limit=out["instanceLimit"],
        zone_hosts=out["zoneHosts"],
        isolated_layers=out["isolatedLayers"],
        image_aliases=out["imageAliases"],
        quota_overrides=out["quotaOverrides"],
        vendor_role=out["vendorRole"],
    )
    _check_site(c, cfg, site_src)
    if c.problems:
        raise ConfigError(c.problems)
    return cfg


def from_site(site: SiteData, **kw: Any) -> PlatformConfig:
    """A checked config around in-memory site data (tests and benchmarks; no files involved)."""
    defaults: dict[str, Any] = {
        "stack": "test",
        "site_path": Path("<memory>"),
        "lgwan_network": "lgwan",
        "external_network": "public",
        "proxy_cidr": "192.0.2.80/32",
        "terminal_cidrs": ["172.20.0.0/16"],
        "encrypted_volume_type": "encrypted",
    }
    defaults.update(kw)
    cfg = PlatformConfig(site=site, **defaults)
    c = _Collector(None, cfg.stack)
    src = source.Source(path=cfg.site_path, data=site.model_dump(mode="json"))
    _check_site(c, cfg, src)
    if c.problems:
        raise ConfigError(c.problems)
    return cfg


def _check_kind(c: _Collector, key: str, kind: str, value: Any, root: Path) -> Any:
    def bad(ja: str, en: str, fix_ja: str, fix_en: str) -> None:
        c.add(key, t(ja, en), t(fix_ja, fix_en))

    if kind in ("path", "path?"):
        if not isinstance(value, str) or not value:
            bad(
                "パスを文字列で書いてください",
                "expected a path",
                "例: examples/sample-city/platform/site-onprem.json",
                "e.g. examples/sample-city/platform/site-onprem.json",
            )
            return None
        p = Path(value)
        p = p if p.is_absolute() else root / p
        if not p.is_file():
            what = ("サイトデータ", "site data") if key == "siteData" else ("台帳", "inventory")
            bad(
                f"{what[0]}ファイルが見つかりません: {p}",
                f"{what[1]} file not found: {p}",
                "パスを確認してください（Pulumi.yaml のあるディレクトリからの相対パス）。"
                "サイトデータは `shuyaku plan` が書き出します",
                "check the path (relative to the directory holding Pulumi.yaml); `shuyaku plan` writes the site data",
            )
            return None
        return p
    if kind in ("str", "str?"):
        if not isinstance(value, str) or not value.strip():
            bad("文字列を書いてください", "expected text", "値を入れてください", "give a value")
            return None
        if key == "primaryStack" and value.count("/") != 2:
            bad(
                f"スタック参照の形式が違います: {value}",
                f"not a stack reference: {value}",
                "organization/shuyaku-platform/onprem の形で書いてください",
                "write it as organization/shuyaku-platform/onprem",
            )
        return value
    if kind == "cidr":
        return _cidr(c, key, value)
    if kind == "cidrs":
        if not isinstance(value, list):
            bad("CIDR のリストを書いてください", "expected a list of CIDRs", '例: ["10.200.0.0/16"]', 'e.g. ["10.200.0.0/16"]')
            return []
        return [x for x in (_cidr(c, key, item, f"[{i}]") for i, item in enumerate(value)) if x]
    if kind in ("port", "int?"):
        if isinstance(value, str) and value.isdigit():
            value = int(value)
        lo, hi = (1, 65535) if kind == "port" else (0, 10**6)
        if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
            bad(
                f"整数 {lo}〜{hi} を書いてください: {value!r}",
                f"expected a whole number {lo}-{hi}: {value!r}",
                "値を直してください",
                "correct the value",
            )
            return KEYS[key][1]
        return value
    if kind == "bool":
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        if not isinstance(value, bool):
            bad(
                f"true / false を書いてください: {value!r}",
                f"expected true or false: {value!r}",
                "値を直してください",
                "correct the value",
            )
            return KEYS[key][1]
        return value
    if kind == "strs":
        if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
            bad("文字列のリストを書いてください", "expected a list of names", '例: ["standard"]', 'e.g. ["standard"]')
            return []
        return value
    if kind == "layers":
        if not isinstance(value, list):
            bad("系のリストを書いてください", "expected a list of layers", '例: ["mynumber"]', 'e.g. ["mynumber"]')
            return []
        for i, layer in enumerate(value):
            _layer(c, key, layer, f"[{i}]")
        return [x for x in value if x in naming.LAYERS]
    if kind == "layer-map":
        if not isinstance(value, dict):
            bad(
                "系ごとのホスト名リストを書いてください",
                "expected a mapping of layer to host names",
                "例: {mynumber: [host-a]}",
                "e.g. {mynumber: [host-a]}",
            )
            return {}
        for layer, hosts in value.items():
            _layer(c, key, layer, f".{layer}")
            if not isinstance(hosts, list) or not all(isinstance(h, str) for h in hosts):
                c.add(
                    key,
                    t("ホスト名のリストを書いてください", "expected a list of host names"),
                    t("例: [compute-01]", "e.g. [compute-01]"),
                    f".{layer}",
                )
        return {k: list(h) for k, h in value.items() if k in naming.LAYERS and isinstance(h, list)}
    if kind == "str-map":
        if not isinstance(value, dict) or not all(isinstance(x, str) for x in value.values()):
            bad(
                "名前の対応表を書いてください",
                "expected a mapping of names",
                "例: {debian-12: debian-12-tiny}",
                "e.g. {debian-12: debian-12-tiny}",
            )
            return {}
        return value
    if kind == "quota-map":
        if not isinstance(value, dict):
            bad(
                "システムIDごとのクォータを書いてください",
                "expected a mapping of system id to quotas",
                "例: {S001: {cores: 64}}",
                "e.g. {S001: {cores: 64}}",
            )
            return {}
        out: dict[str, dict[str, int]] = {}
        for sid, quotas in value.items():
            if not isinstance(quotas, dict):
                c.add(
                    key,
                    t("クォータの項目を書いてください", "expected quota keys"),
                    t("例: {cores: 64}", "e.g. {cores: 64}"),
                    f".{sid}",
                )
                continue
            for qk, qv in quotas.items():
                if qk not in Quotas.model_fields:
                    near = difflib.get_close_matches(str(qk), list(Quotas.model_fields), n=1)
                    c.add(
                        key,
                        t(f"未知のクォータ項目「{qk}」", f"unknown quota '{qk}'"),
                        t(f"使える項目: {', '.join(Quotas.model_fields)}", f"known quotas: {', '.join(Quotas.model_fields)}")
                        + (f" ({near[0]}?)" if near else ""),
                        f".{sid}.{qk}",
                    )
                elif not isinstance(qv, int) or isinstance(qv, bool) or qv < 0:
                    c.add(
                        key,
                        t(f"クォータは0以上の整数です: {qv!r}", f"a quota is a whole number >= 0: {qv!r}"),
                        t("値を直してください", "correct the value"),
                        f".{sid}.{qk}",
                    )
                else:
                    out.setdefault(str(sid), {})[qk] = qv
        return out
    raise AssertionError(kind)


def _cidr(c: _Collector, key: str, value: Any, sub: str = "") -> str | None:
    try:
        return str(ipaddress.ip_network(str(value), strict=True))
    except ValueError:
        c.add(
            key,
            t(f"CIDR の形式が正しくありません: {value!r}", f"not a valid network: {value!r}"),
            t("例: 10.200.0.0/16（ホスト部は0）", "e.g. 10.200.0.0/16 (host bits zero)"),
            sub,
        )
        return None


def _layer(c: _Collector, key: str, layer: Any, sub: str) -> None:
    if layer not in naming.LAYERS:
        near = difflib.get_close_matches(str(layer), naming.LAYERS, n=1)
        c.add(
            key,
            t(f"未知の系です: {layer!r}", f"unknown layer: {layer!r}"),
            t(f"次のいずれか: {', '.join(naming.LAYERS)}", f"use one of: {', '.join(naming.LAYERS)}")
            + (f" ({near[0]}?)" if near else ""),
            sub,
        )


def _cross_check_inventory(c: _Collector, path: Path, site: SiteData | None, site_src: source.Source | None) -> None:
    """The site data must describe systems the inventory knows, in the same layer (a stale plan shows here)."""
    from shuyaku.inventory.load import load as load_inventory

    try:
        inv = load_inventory(path).inventory
    except ProblemsError as exc:
        c.problems += exc.problems
        return
    if site is None or site_src is None:
        return
    systems = {s.id: s for s in inv.systems}
    for i, ten in enumerate(site.tenants):
        sys_ = systems.get(ten.system_id)
        if sys_ is None:
            c.problems.append(
                site_src.problem(
                    ("tenants", i, "system_id"),
                    t(
                        f"システム「{ten.system_id}」は台帳 {path} にありません",
                        f"system '{ten.system_id}' is not in the inventory {path}",
                    ),
                    t("`shuyaku plan` を台帳から再実行してください", "re-run `shuyaku plan` on the inventory"),
                )
            )
        elif sys_.layer.value != ten.layer:
            c.problems.append(
                site_src.problem(
                    ("tenants", i, "layer"),
                    t(f"台帳では {sys_.layer.value} 系です", f"the inventory puts it in {sys_.layer.value}"),
                    t("`shuyaku plan` を台帳から再実行してください", "re-run `shuyaku plan` on the inventory"),
                )
            )


def _blocking(problems: list[Problem]) -> bool:
    """Problems that leave no sound address plan (zones, tenant networks, ids); others still let the
    remaining checks run, so one report lists everything."""
    return any(re.match(r"^(zones\[|tenants\[\d+\]\.(cidr|layer|system_id)$)", p.field) for p in problems)


def _check_site(c: _Collector, cfg: PlatformConfig, src: source.Source) -> None:
    """What the schema cannot see: references, address overlaps, paths, and quotas too small to be usable."""
    site = cfg.site
    p = c.problems
    zones: dict[str, int] = {}
    for i, z in enumerate(site.zones):
        if z.layer in zones:
            p.append(
                src.problem(
                    ("zones", i, "layer"),
                    t(f"系「{z.layer}」のゾーンが重複しています", f"zone '{z.layer}' listed twice"),
                    t("1つにまとめてください", "keep one"),
                )
            )
        zones[z.layer] = i
        try:
            ipaddress.IPv4Network(z.cidr)  # the platform's rules are IPv4 (ethertype IPv4)
        except ValueError:
            p.append(
                src.problem(
                    ("zones", i, "cidr"),
                    t(f"IPv4 の CIDR ではありません: {z.cidr}", f"not an IPv4 network: {z.cidr}"),
                    t("例: 10.10.0.0/16（ホスト部は0）", "e.g. 10.10.0.0/16 (host bits zero)"),
                )
            )
    if cfg.is_dr and not cfg.primary_stack:
        c.add(
            "primaryStack",
            t("DR サイトには主サイトのスタック参照が必要です", "the DR site needs a reference to the primary stack"),
            t("例: organization/shuyaku-platform/onprem", "e.g. organization/shuyaku-platform/onprem"),
        )
    if not cfg.is_dr and cfg.primary_stack:
        c.add(
            "primaryStack",
            t(
                f"サイトデータ {cfg.site_path} は主サイト（onprem）のものです",
                f"site data {cfg.site_path} is for the primary site (onprem)",
            ),
            t(
                "DR スタックでは site-dr.json を指定するか、primaryStack を削除してください",
                "name site-dr.json for a DR stack, or remove primaryStack",
            ),
        )

    ids: dict[str, int] = {}
    for i, ten in enumerate(site.tenants):
        if ten.system_id in ids:
            p.append(
                src.problem(
                    ("tenants", i, "system_id"),
                    t(f"システムID「{ten.system_id}」が重複しています", f"duplicate system id '{ten.system_id}'"),
                    t("1つにまとめてください", "keep one"),
                )
            )
        ids[ten.system_id] = i
    for sid in cfg.quota_overrides:
        if sid not in ids:
            c.add(
                "quotaOverrides",
                t(f"システム「{sid}」はサイトデータにありません", f"system '{sid}' is not in the site data"),
                t("サイトデータの system_id を書いてください", "use a system_id from the site data"),
                f".{sid}",
            )

    present = set(ids)
    if cfg.is_dr:
        present = set(site.dr.warm_systems)
    # Backup-and-restore systems have no tenant at the DR site: their restore target is sized from the
    # primary's outputs. Warm-standby systems must be described here, since their standby is built from it.
    for key in ("warm_systems",) if cfg.is_dr else ("warm_systems", "backup_systems"):
        for j, sid in enumerate(getattr(site.dr, key)):
            if sid not in ids:
                p.append(
                    src.problem(
                        ("dr", key, j),
                        t(f"システム「{sid}」は tenants にありません", f"system '{sid}' is not among tenants"),
                        t("tenants にあるIDを書いてください", "use a system id listed under tenants"),
                    )
                )
    present &= set(ids)

    nets: list[tuple[ipaddress.IPv4Network, int]] = []
    for i, ten in enumerate(site.tenants):
        zi = zones.get(ten.layer)
        if zi is None:
            p.append(
                src.problem(
                    ("tenants", i, "layer"),
                    t(f"系「{ten.layer}」のゾーンがありません", f"no zone for layer '{ten.layer}'"),
                    t("zones にその系を追加してください", "add the layer under zones"),
                )
            )
            continue
        zone = site.zones[zi]
        try:
            net = ipaddress.ip_network(ten.cidr)
            if not net.subnet_of(ipaddress.ip_network(zone.cidr)):  # type: ignore[arg-type]
                p.append(
                    src.problem(
                        ("tenants", i, "cidr"),
                        t(f"{ten.cidr} はゾーン {zone.cidr} の外です", f"{ten.cidr} is outside its zone {zone.cidr}"),
                        t(f"{zone.cidr} の中のネットワークにしてください", f"use a network inside {zone.cidr}"),
                    )
                )
            nets.append((net, i))  # type: ignore[arg-type]
        except (ValueError, TypeError):
            p.append(
                src.problem(
                    ("tenants", i, "cidr"),
                    t(f"CIDR が不正です: {ten.cidr}", f"not a valid network: {ten.cidr}"),
                    t("例: 10.10.12.0/24（ホスト部は0）", "e.g. 10.10.12.0/24 (host bits zero)"),
                )
            )
            continue
        flavors = {f.name: f for f in zone.flavors}
        for k, sg in enumerate(ten.servers):
            if sg.flavor not in flavors:
                p.append(
                    src.problem(
                        ("tenants", i, "servers", k, "flavor"),
                        t(
                            f"フレーバー「{sg.flavor}」は {ten.layer} ゾーンにありません",
                            f"flavor '{sg.flavor}' is not offered in the {ten.layer} zone",
                        ),
                        t(f"次のいずれか: {', '.join(flavors)}", f"use one of: {', '.join(flavors)}"),
                    )
                )
            if sg.image not in zone.images:
                p.append(
                    src.problem(
                        ("tenants", i, "servers", k, "image"),
                        t(
                            f"イメージ「{sg.image}」は {ten.layer} ゾーンで許可されていません",
                            f"image '{sg.image}' is not allowed in the {ten.layer} zone",
                        ),
                        t(f"次のいずれか: {', '.join(zone.images)}", f"use one of: {', '.join(zone.images)}"),
                    )
                )
    nets.sort(key=lambda x: (int(x[0].network_address), -x[0].prefixlen))
    for (a, ia), (b, ib) in itertools.pairwise(nets):
        if a.overlaps(b):
            p.append(
                src.problem(
                    ("tenants", ib, "cidr"),
                    t(
                        f"{b} は {site.tenants[ia].system_id} の {a} と重なっています",
                        f"{b} overlaps {a} of {site.tenants[ia].system_id}",
                    ),
                    t("重ならないネットワークにしてください", "use a network that does not overlap"),
                )
            )
    if _blocking(p):
        return

    shared_names = {s.name: s for s in site.shared_services}
    flows_ok: list[Flow] = []
    tenants = {t_.system_id: t_ for t_ in site.tenants}
    for i, f in enumerate(site.flows):
        bad = False
        for end, key in ((f.source_system, "source_system"), (f.target_system, "target_system")):
            if end not in tenants:
                bad = True
                p.append(
                    src.problem(
                        ("flows", i, key),
                        t(f"システム「{end}」は tenants にありません", f"system '{end}' is not among tenants"),
                        t("tenants にあるIDを書いてください", "use a system id listed under tenants"),
                    )
                )
        if bad:
            continue
        s_layer, d_layer = tenants[f.source_system].layer, tenants[f.target_system].layer
        want = link_path(s_layer, d_layer, f.port)
        if want == "forbidden":
            p.append(
                src.problem(
                    ("flows", i),
                    t(
                        f"{s_layer} 系から {d_layer} 系への連携は禁止されています（三層の対策）",
                        f"a link from the {s_layer} to the {d_layer} layer is forbidden (three-layer separation)",
                    ),
                    t("この連携を削除し、業務手順で代替してください", "remove the link; replace it by a manual procedure"),
                )
            )
            continue
        if f.path != want:
            p.append(
                src.problem(
                    ("flows", i, "path"),
                    t(
                        f"{s_layer}→{d_layer} の経路は {want} でなければなりません",
                        f"a {s_layer}→{d_layer} link must take the {want} path",
                    ),
                    t(f"path を {want} にしてください（`shuyaku plan` を再実行）", f"set path to {want} (re-run `shuyaku plan`)"),
                )
            )
            continue
        cut_off = [x for x in (s_layer, d_layer) if x in cfg.isolated_layers]
        if cut_off and (s_layer != d_layer or f.path != "direct"):
            p.append(
                src.problem(
                    ("flows", i),
                    t(
                        f"{cut_off[0]} 系は設定 isolatedLayers で切り離されているため、この連携は届きません",
                        f"the {cut_off[0]} layer is isolated (config isolatedLayers), so this link cannot be carried",
                    ),
                    t(
                        "連携を削除するか、isolatedLayers からその系を外してください",
                        "remove the link, or take the layer out of isolatedLayers",
                    ),
                )
            )
            continue
        if f.path in ("hub", "relay") and f.path not in shared_names:
            p.append(
                src.problem(
                    ("flows", i, "path"),
                    t(f"共通基盤に {f.path} がありません", f"no {f.path} among shared_services"),
                    t(f"shared_services に {f.path} を追加してください", f"add {f.path} to shared_services"),
                )
            )
            continue
        if f.path == "screen" and site.vdi.hosts == 0:
            p.append(
                src.problem(
                    ("flows", i, "path"),
                    t("画面転送の経路ですが VDI ホストが0台です", "a screen-transfer link but no VDI hosts"),
                    t("vdi.hosts を1以上にしてください", "set vdi.hosts to 1 or more"),
                )
            )
            continue
        flows_ok.append(f)

    for i, s in enumerate(site.shared_services):
        shared_zone = site.zones[zones["shared"]] if "shared" in zones else None
        if shared_zone is None:
            p.append(
                src.problem(
                    ("shared_services", i),
                    t("shared ゾーンがありません", "no shared zone"),
                    t("zones に shared を追加してください", "add a shared zone"),
                )
            )
            break
        if s.flavor not in {f.name for f in shared_zone.flavors}:
            p.append(
                src.problem(
                    ("shared_services", i, "flavor"),
                    t(
                        f"フレーバー「{s.flavor}」は shared ゾーンにありません",
                        f"flavor '{s.flavor}' is not offered in the shared zone",
                    ),
                    t("shared ゾーンのフレーバーにしてください", "use a flavor of the shared zone"),
                )
            )
    for layer, n in (("internet", site.vdi.hosts), ("lgwan", site.vdi.lgwan_desktop_hosts)):
        if n == 0:
            continue
        if layer not in zones:
            p.append(
                src.problem(
                    ("vdi",),
                    t(f"VDI に {layer} ゾーンが必要です", f"VDI needs a {layer} zone"),
                    t(f"zones に {layer} を追加してください", f"add a {layer} zone"),
                )
            )
        elif site.vdi.flavor not in {f.name for f in site.zones[zones[layer]].flavors}:
            p.append(
                src.problem(
                    ("vdi", "flavor"),
                    t(
                        f"フレーバー「{site.vdi.flavor}」は {layer} ゾーンにありません",
                        f"flavor '{site.vdi.flavor}' is not offered in the {layer} zone",
                    ),
                    t(f"{layer} ゾーンのフレーバーにしてください", f"use a flavor of the {layer} zone"),
                )
            )
    if _blocking(p):
        return
    lay = _layout(c, cfg, flows_ok, present)
    if lay is None:
        return
    cfg.layout = lay
    for i, ten in enumerate(site.tenants):
        if ten.system_id in present:
            _check_quotas(c, cfg, src, i, ten, len(lay.tenant_rules[ten.system_id]), len(lay.base_rules.get(ten.layer, [])))


def _layout(c: _Collector, cfg: PlatformConfig, flows: list[Flow], present: set[str]) -> Layout | None:
    site = cfg.site
    lay = Layout(present=present)
    by_layer: dict[str, list[str]] = {}
    for ten in site.tenants:
        by_layer.setdefault(ten.layer, []).append(ten.cidr)
    allocators: dict[str, naming.Allocator] = {}
    for i, z in enumerate(site.zones):
        seg = naming.segment_cidr(z.cidr, by_layer.get(z.layer, []))
        if seg is None:
            c.problems.append(
                Problem(
                    str(cfg.site_path),
                    0,
                    0,
                    f"zones[{i}].cidr",
                    t(
                        f"{z.layer} ゾーン {z.cidr} にゾーン共用セグメントの空きがありません",
                        f"zone {z.layer} ({z.cidr}) has no free block left for its shared segment",
                    ),
                    t("ゾーンの CIDR を広げるか、テナントを詰めてください", "widen the zone or pack the tenants"),
                )
            )
            return None
        lay.segments[z.layer] = str(seg)
        allocators[z.layer] = naming.Allocator(seg)
        lay.pools[z.layer] = allocators[z.layer].pool()
    lay.router_layers = {layer for layer in lay.segments if layer not in cfg.isolated_layers}
    try:
        if "shared" in allocators:
            for s in site.shared_services:
                net, ips = allocators["shared"].block(s.count)
                lay.services[s.name] = ServiceLayout(s.name, str(net), ips)
            if "shared" in lay.router_layers:
                for layer in sorted(lay.router_layers - {"shared"}):
                    lay.router_ports[layer] = allocators["shared"].block(1)[1][0]
        if site.vdi.hosts and "internet" in allocators:
            net, ips = allocators["internet"].block(site.vdi.hosts)
            lay.vdi = ServiceLayout("vdi", str(net), ips)
        if site.vdi.lgwan_desktop_hosts and "lgwan" in allocators:
            net, ips = allocators["lgwan"].block(site.vdi.lgwan_desktop_hosts)
            lay.lgwan_desktops = ServiceLayout("lgwan_desktop", str(net), ips)
    except ValueError as exc:
        c.problems.append(
            Problem(
                str(cfg.site_path),
                0,
                0,
                "shared_services",
                t(f"固定アドレスが足りません: {exc}", f"not enough fixed addresses: {exc}"),
                t("ゾーンの CIDR を広げてください", "widen the zone"),
            )
        )
        return None

    tenants = {t_.system_id: t_ for t_ in site.tenants}
    rules: dict[str, list[Rule]] = {sid: [] for sid in present}
    svc_rules: dict[str, list[Rule]] = {s.name: [] for s in site.shared_services}

    def reaches_shared(layer: str) -> bool:
        return layer == "shared" or (layer in lay.router_layers and "shared" in lay.router_layers)

    def middle(path: str) -> str:
        if path == "screen":
            assert lay.vdi is not None
            return lay.vdi.cidr
        return lay.services[path].cidr

    for f in flows:
        src_t, dst_t = tenants[f.source_system], tenants[f.target_system]
        label = f"{f.source_system}->{f.target_system} {f.protocol}/{f.port} ({f.path})"
        if f.path == "direct":
            if f.target_system in present and f.source_system in present:
                rules[f.target_system].append(Rule("ingress", f.protocol, f.port, src_t.cidr, "flow", label))
                rules[f.source_system].append(Rule("egress", f.protocol, f.port, dst_t.cidr, "flow-out", label))
            continue
        mid = middle(f.path)
        if f.target_system in present:
            rules[f.target_system].append(Rule("ingress", f.protocol, f.port, mid, "flow", label))
        if f.source_system in present:
            rules[f.source_system].append(Rule("egress", f.protocol, f.port, mid, "flow-out", label))
        target = svc_rules.get(f.path) if f.path != "screen" else lay.vdi_rules
        if target is not None:
            if f.source_system in present:
                target.append(Rule("ingress", f.protocol, f.port, src_t.cidr, "mediated-in", label))
            if f.target_system in present:
                target.append(Rule("egress", f.protocol, f.port, dst_t.cidr, "mediated-out", label))

    # What every tenant of a layer may reach (the shared services; the proxy for the internet layer) is decided
    # once per layer here; each tenant gets its own copy as a second group, so its first group holds only its
    # planned links and no tenant can change what another tenant may reach.
    base = [s for s in site.shared_services if s.name in naming.BASE_SERVICES]
    for z in site.zones:
        layer_rules: list[Rule] = []
        if reaches_shared(z.layer):
            for s in base:
                for proto, port in s.ports:
                    layer_rules.append(Rule("egress", proto, port, lay.services[s.name].cidr, "base", s.name))
        if z.layer == "internet":
            layer_rules.append(Rule("egress", "tcp", cfg.proxy_port, cfg.proxy_cidr, "proxy", "security cloud proxy"))
        if layer_rules:
            lay.base_rules[z.layer] = _dedupe(layer_rules)
    for sid in present:
        rules[sid] = _dedupe(rules[sid])

    clients = [site.zones[i].cidr for i, z in enumerate(site.zones) if reaches_shared(z.layer)]
    for s in site.shared_services:
        out = svc_rules[s.name]
        if s.name in naming.BASE_SERVICES:
            for proto, port in s.ports:
                out += [Rule("ingress", proto, port, cidr, "service", f"{s.name} clients") for cidr in clients]
        if s.name == "bastion":
            out += [
                Rule("ingress", proto, port, cidr, "admin", "administrators")
                for proto, port in s.ports
                for cidr in cfg.admin_cidrs
            ]
        if s.name == "patch_mirror":
            out.append(Rule("egress", "tcp", cfg.proxy_port, cfg.proxy_cidr, "proxy", "upstream through the proxy"))
        svc_rules[s.name] = _dedupe(out)
    lay.service_rules = svc_rules
    lay.tenant_rules = rules
    ports = sorted(set(site.vdi.screen_ports))
    lay.vdi_rules = _dedupe(
        [Rule("ingress", "tcp", p, cidr, "terminal", "LGWAN terminals") for p in ports for cidr in cfg.terminal_cidrs]
        + [Rule("egress", "tcp", cfg.proxy_port, cfg.proxy_cidr, "proxy", "browsing through the proxy")]
        + lay.vdi_rules
    )
    lay.desktop_rules = _dedupe(
        [Rule("ingress", "tcp", p, cidr, "terminal", "terminals") for p in ports for cidr in cfg.terminal_cidrs]
    )
    return lay


def _dedupe(rules: list[Rule]) -> list[Rule]:
    seen: dict[tuple[str, str, int, str], Rule] = {}
    for r in rules:
        seen.setdefault(r.key(), r)
    return list(seen.values())


# Neutron creates a default security group (4 rules) in every project that gets a port or group; it counts
# against the same quotas as the platform's own group.
DEFAULT_SG_RULES = 4


def _check_quotas(
    c: _Collector, cfg: PlatformConfig, src: source.Source, i: int, ten: Tenant, n_rules: int, n_base: int
) -> None:
    q = cfg.quotas(ten)
    zone = next(z for z in cfg.site.zones if z.layer == ten.layer)
    flavors = {f.name: f for f in zone.flavors}
    need = {
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
    overridden = cfg.quota_overrides.get(ten.system_id, {})
    for key, want in need.items():
        have = getattr(q, key)
        if have < want:
            msg = t(
                f"{ten.system_id} のクォータ {key}={have} では計画どおりに配置できません（必要 {want}）",
                f"{ten.system_id}: quota {key}={have} cannot hold what is planned (needs {want})",
            )
            fix = t(f"{key} を {want} 以上にしてください", f"raise {key} to at least {want}")
            if key in overridden:
                c.add("quotaOverrides", msg, fix, f".{ten.system_id}.{key}")
            else:
                c.problems.append(src.problem(("tenants", i, "quotas", key), msg, fix))
    if ten.layer == "mynumber" and q.floating_ips > 0:
        msg = t("マイナンバー利用事務系にフローティングIPは割り当てられません", "the My Number layer never gets floating IPs")
        fix = t("floating_ips を 0 にしてください", "set floating_ips to 0")
        if "floating_ips" in overridden:
            c.add("quotaOverrides", msg, fix, f".{ten.system_id}.floating_ips")
        else:
            c.problems.append(src.problem(("tenants", i, "quotas", "floating_ips"), msg, fix))
