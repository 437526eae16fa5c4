"""What the site-data schema cannot see: references between its parts, address overlaps, the path each link must
take under the separation model, and what the stack config asks of the data (the DR reference, isolated layers,
quota overrides). Each problem is placed in the file the user must fix, with a stable code.

`check` runs them in order and, when the data leaves a sound address plan, lays out addresses and rules
(`layout.build`) and sizes quotas against them (`quotas.check`).
"""

from __future__ import annotations

import ipaddress
import itertools
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from shuyaku.contracts import source
from shuyaku.contracts.problems import Problem, tx
from shuyaku.contracts.separation import link_path
from shuyaku.contracts.sitedata import Flow, SiteData, Tenant, Zone
from shuyaku.contracts.stack_config import key
from shuyaku.contracts.vocabulary import Layer
from shuyaku.platform import layout, quotas

if TYPE_CHECKING:
    from shuyaku.platform.settings import PlatformConfig

KEEP_ONE = tx("1つにまとめてください", "keep one")
LISTED_TENANT = tx("tenants にあるIDを書いてください", "use a system id listed under tenants")

# Problems that leave no sound address plan (zones, tenant networks, ids); others still let the remaining
# checks run, so one report lists everything.
_BLOCKING = re.compile(r"^(zones\[|tenants\[\d+\]\.(cidr|layer|system_id)$)")


def blocking(problems: Sequence[Problem]) -> bool:
    return any(_BLOCKING.match(p.field) for p in problems)


def check(cfg: PlatformConfig, src: source.Source, stack_src: source.Source,
          earlier: Sequence[Problem] = ()) -> list[Problem]:
    """Every problem in the site data and in how the stack config uses it; sets `cfg.layout` when sound.

    `earlier`: problems already found (stack config, inventory); those that block the layout count too."""
    site = cfg.site
    p: list[Problem] = []
    zones = _zones(site, src, p)
    p += _primary_stack(cfg, stack_src)
    ids = _tenant_ids(site, src, p)
    p += [stack_src.problem((key("quotaOverrides"), sid),
                            tx(f"システム「{sid}」はサイトデータにありません", f"system '{sid}' is not in the site data"),
                            tx("サイトデータの system_id を書いてください", "use a system_id from the site data"),
                            code="quota.unknown_system", key=True)
          for sid in cfg.quota_overrides if sid not in ids]
    present = _present(cfg, src, set(ids), p)
    p += _tenant_networks(site, src, zones)
    if blocking([*earlier, *p]):
        return p
    flows_ok: list[Flow] = []
    tenants = {t_.system_id: t_ for t_ in site.tenants}
    for i, f in enumerate(site.flows):
        found = _flow(cfg, src, i, f, tenants)
        p += found
        if not found:
            flows_ok.append(f)
    p += _shared_services(site, src, zones)
    p += _vdi(site, src, zones)
    if blocking([*earlier, *p]):
        return p
    lay, found = layout.build(cfg, src, flows_ok, present)
    p += found
    if lay is None:
        return p
    cfg.layout = lay
    for i, ten in enumerate(site.tenants):
        if ten.system_id in present:
            p += quotas.check(cfg, src, stack_src, i, ten, len(lay.tenant_rules[ten.system_id]),
                              len(lay.base_rules.get(ten.layer, [])))
    return p


def _zones(site: SiteData, src: source.Source, p: list[Problem]) -> dict[str, int]:
    """Layer -> index of its zone; a layer listed twice or a zone that is not IPv4 is a problem."""
    zones: dict[str, int] = {}
    for i, z in enumerate(site.zones):
        if z.layer in zones:
            p.append(src.problem(("zones", i, "layer"),
                                 tx(f"系「{z.layer}」のゾーンが重複しています", f"zone '{z.layer}' listed twice"),
                                 KEEP_ONE, code="site.duplicate_zone"))
        zones[z.layer] = i
        try:
            ipaddress.IPv4Network(z.cidr)  # the platform's rules are IPv4 (ethertype IPv4)
        except ValueError:
            p.append(src.problem(("zones", i, "cidr"),
                                 tx(f"IPv4 の CIDR ではありません: {z.cidr}", f"not an IPv4 network: {z.cidr}"),
                                 tx("例: 10.10.0.0/16（ホスト部は0）", "e.g. 10.10.0.0/16 (host bits zero)"),
                                 code="site.zone_cidr"))
    return zones


def _primary_stack(cfg: PlatformConfig, stack_src: source.Source) -> list[Problem]:
    """A DR stack reads the primary's outputs; a primary stack has no primary."""
    where = (key("primaryStack"),)
    if cfg.is_dr and not cfg.primary_stack:
        return [stack_src.problem(where, tx("DR サイトには主サイトのスタック参照が必要です",
                                            "the DR site needs a reference to the primary stack"),
                                  tx("例: organization/shuyaku-platform/onprem", "e.g. organization/shuyaku-platform/onprem"),
                                  code="site.dr_needs_primary", key=True)]
    if not cfg.is_dr and cfg.primary_stack:
        return [stack_src.problem(where, tx(f"サイトデータ {cfg.site_path} は主サイト（onprem）のものです",
                                            f"site data {cfg.site_path} is for the primary site (onprem)"),
                                  tx("DR スタックでは site-dr.json を指定するか、primaryStack を削除してください",
                                     "name site-dr.json for a DR stack, or remove primaryStack"),
                                  code="site.primary_is_not_dr", key=True)]
    return []


def _tenant_ids(site: SiteData, src: source.Source, p: list[Problem]) -> dict[str, int]:
    ids: dict[str, int] = {}
    for i, ten in enumerate(site.tenants):
        if ten.system_id in ids:
            p.append(src.problem(("tenants", i, "system_id"),
                                 tx(f"システムID「{ten.system_id}」が重複しています", f"duplicate system id '{ten.system_id}'"),
                                 KEEP_ONE, code="site.duplicate_tenant"))
        ids[ten.system_id] = i
    return ids


def _present(cfg: PlatformConfig, src: source.Source, ids: set[str], p: list[Problem]) -> set[str]:
    """The tenants this stack deploys: all at the primary site, the warm-standby ones at the DR site.

    Backup-and-restore systems have no tenant at the DR site: their restore target is sized from the primary's
    outputs. Warm-standby systems must be described here, since their standby is built from it."""
    site = cfg.site
    present = set(site.dr.warm_systems) if cfg.is_dr else set(ids)
    for list_key in ("warm_systems",) if cfg.is_dr else ("warm_systems", "backup_systems"):
        for j, sid in enumerate(getattr(site.dr, list_key)):
            if sid not in ids:
                p.append(src.problem(("dr", list_key, j),
                                     tx(f"システム「{sid}」は tenants にありません", f"system '{sid}' is not among tenants"),
                                     LISTED_TENANT, code="site.unknown_system"))
    return present & ids


def _tenant_networks(site: SiteData, src: source.Source, zones: dict[str, int]) -> list[Problem]:
    """Each tenant sits in its layer's zone, inside the zone's network, on flavors and images the zone offers;
    no two tenant networks overlap."""
    p: list[Problem] = []
    nets: list[tuple[ipaddress.IPv4Network, int]] = []
    for i, ten in enumerate(site.tenants):
        zi = zones.get(ten.layer)
        if zi is None:
            p.append(src.problem(("tenants", i, "layer"),
                                 tx(f"系「{ten.layer}」のゾーンがありません", f"no zone for layer '{ten.layer}'"),
                                 tx("zones にその系を追加してください", "add the layer under zones"), code="site.no_zone"))
            continue
        zone = site.zones[zi]
        try:
            net = ipaddress.IPv4Network(ten.cidr)
        except ValueError:
            p.append(src.problem(("tenants", i, "cidr"),
                                 tx(f"CIDR が不正です: {ten.cidr}", f"not a valid network: {ten.cidr}"),
                                 tx("例: 10.10.12.0/24（ホスト部は0）", "e.g. 10.10.12.0/24 (host bits zero)"),
                                 code="site.tenant_cidr"))
            continue
        if not net.subnet_of(ipaddress.IPv4Network(zone.cidr)):
            p.append(src.problem(("tenants", i, "cidr"),
                                 tx(f"{ten.cidr} はゾーン {zone.cidr} の外です", f"{ten.cidr} is outside its zone {zone.cidr}"),
                                 tx(f"{zone.cidr} の中のネットワークにしてください", f"use a network inside {zone.cidr}"),
                                 code="site.outside_zone"))
        nets.append((net, i))
        p += _servers(site, src, i, zone)
    nets.sort(key=lambda x: (int(x[0].network_address), -x[0].prefixlen))
    for (a, ia), (b, ib) in itertools.pairwise(nets):
        if a.overlaps(b):
            other = site.tenants[ia].system_id
            p.append(src.problem(("tenants", ib, "cidr"),
                                 tx(f"{b} は {other} の {a} と重なっています", f"{b} overlaps {a} of {other}"),
                                 tx("重ならないネットワークにしてください", "use a network that does not overlap"),
                                 code="site.overlap"))
    return p


def _servers(site: SiteData, src: source.Source, i: int, zone: Zone) -> list[Problem]:
    ten = site.tenants[i]
    flavors = {f.name: f for f in zone.flavors}
    p: list[Problem] = []
    for k, sg in enumerate(ten.servers):
        if sg.flavor not in flavors:
            p.append(src.problem(("tenants", i, "servers", k, "flavor"),
                                 tx(f"フレーバー「{sg.flavor}」は {ten.layer} ゾーンにありません",
                                    f"flavor '{sg.flavor}' is not offered in the {ten.layer} zone"),
                                 tx(f"次のいずれか: {', '.join(flavors)}", f"use one of: {', '.join(flavors)}"),
                                 code="site.unknown_flavor"))
        if sg.image not in zone.images:
            p.append(src.problem(("tenants", i, "servers", k, "image"),
                                 tx(f"イメージ「{sg.image}」は {ten.layer} ゾーンで許可されていません",
                                    f"image '{sg.image}' is not allowed in the {ten.layer} zone"),
                                 tx(f"次のいずれか: {', '.join(zone.images)}", f"use one of: {', '.join(zone.images)}"),
                                 code="site.image_not_allowed"))
    return p


def _flow(cfg: PlatformConfig, src: source.Source, i: int, f: Flow, tenants: dict[str, Tenant]) -> list[Problem]:
    """Problems with flow `i`: unknown ends, a link the separation forbids, the wrong path for the layers it
    joins, a layer cut off by config, or a mediator the site lacks. No problem: the flow is laid out."""
    site = cfg.site
    ends = [src.problem(("flows", i, end_key),
                        tx(f"システム「{end}」は tenants にありません", f"system '{end}' is not among tenants"),
                        LISTED_TENANT, code="site.unknown_system")
            for end, end_key in ((f.source_system, "source_system"), (f.target_system, "target_system"))
            if end not in tenants]
    if ends:
        return ends
    s_layer, d_layer = tenants[f.source_system].layer, tenants[f.target_system].layer
    want = link_path(s_layer, d_layer, f.port, f.kind)
    if want == "forbidden":
        return [src.problem(("flows", i),
                            tx(f"{s_layer} 系から {d_layer} 系への連携は禁止されています（三層の対策）",
                               f"a link from the {s_layer} to the {d_layer} layer is forbidden (three-layer separation)"),
                            tx("この連携を削除し、業務手順で代替してください",
                               "remove the link; replace it by a manual procedure"),
                            code="site.flow_forbidden")]
    if f.path != want:
        return [src.problem(("flows", i, "path"),
                            tx(f"{s_layer}→{d_layer}{_declared(f)} の経路は {want} でなければなりません",
                               f"a {s_layer}→{d_layer} link{_declared(f)} must take the {want} path"),
                            tx(f"path を {want} にしてください（`shuyaku plan` を再実行）",
                               f"set path to {want} (re-run `shuyaku plan`)"),
                            code="site.flow_path")]
    cut_off = [x for x in (s_layer, d_layer) if x in cfg.isolated_layers]
    if cut_off and (s_layer != d_layer or f.path != "direct"):
        return [src.problem(("flows", i),
                            tx(f"{cut_off[0]} 系は設定 isolatedLayers で切り離されているため、この連携は届きません",
                               f"the {cut_off[0]} layer is isolated (config isolatedLayers), so this link cannot be carried"),
                            tx("連携を削除するか、isolatedLayers からその系を外してください",
                               "remove the link, or take the layer out of isolatedLayers"),
                            code="site.isolated_layer")]
    if f.path in ("hub", "relay") and f.path not in {s.name for s in site.shared_services}:
        return [src.problem(("flows", i, "path"), tx(f"共通基盤に {f.path} がありません", f"no {f.path} among shared_services"),
                            tx(f"shared_services に {f.path} を追加してください", f"add {f.path} to shared_services"),
                            code="site.no_mediator")]
    if f.path == "screen" and site.vdi.hosts == 0:
        return [src.problem(("flows", i, "path"),
                            tx("画面転送の経路ですが VDI ホストが0台です", "a screen-transfer link but no VDI hosts"),
                            tx("vdi.hosts を1以上にしてください", "set vdi.hosts to 1 or more"), code="site.no_vdi_hosts")]
    return []


def _declared(f: Flow) -> str:
    """What decided the path: the declared kind, or the port when none is declared."""
    return f" (kind: {f.kind})" if f.kind is not None else f" ({f.protocol}/{f.port})"


def _shared_services(site: SiteData, src: source.Source, zones: dict[str, int]) -> list[Problem]:
    if not site.shared_services:
        return []
    if Layer.shared not in zones:
        return [src.problem(("shared_services", 0), tx("shared ゾーンがありません", "no shared zone"),
                            tx("zones に shared を追加してください", "add a shared zone"), code="site.no_shared_zone")]
    offered = {f.name for f in site.zones[zones[Layer.shared]].flavors}
    return [src.problem(("shared_services", i, "flavor"),
                        tx(f"フレーバー「{s.flavor}」は shared ゾーンにありません",
                           f"flavor '{s.flavor}' is not offered in the shared zone"),
                        tx("shared ゾーンのフレーバーにしてください", "use a flavor of the shared zone"),
                        code="site.unknown_flavor")
            for i, s in enumerate(site.shared_services) if s.flavor not in offered]


def _vdi(site: SiteData, src: source.Source, zones: dict[str, int]) -> list[Problem]:
    """The VDI hosts sit in the internet zone, the LGWAN desktops in the LGWAN zone, on a flavor it offers."""
    p: list[Problem] = []
    for layer, n in ((Layer.internet.value, site.vdi.hosts), (Layer.lgwan.value, site.vdi.lgwan_desktop_hosts)):
        if n == 0:
            continue
        if layer not in zones:
            p.append(src.problem(("vdi",), tx(f"VDI に {layer} ゾーンが必要です", f"VDI needs a {layer} zone"),
                                 tx(f"zones に {layer} を追加してください", f"add a {layer} zone"), code="site.vdi_zone"))
        elif site.vdi.flavor not in {f.name for f in site.zones[zones[layer]].flavors}:
            p.append(src.problem(("vdi", "flavor"),
                                 tx(f"フレーバー「{site.vdi.flavor}」は {layer} ゾーンにありません",
                                    f"flavor '{site.vdi.flavor}' is not offered in the {layer} zone"),
                                 tx(f"{layer} ゾーンのフレーバーにしてください", f"use a flavor of the {layer} zone"),
                                 code="site.unknown_flavor"))
    return p
