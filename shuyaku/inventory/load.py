"""Load and check an inventory (and the cost catalogue it is judged against) with every problem collected."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from shuyaku.contracts import checked, source
from shuyaku.contracts.catalogue import Catalogue
from shuyaku.contracts.inventory import FISCAL_YEAR_MAX, FISCAL_YEAR_MIN, Inventory
from shuyaku.contracts.problems import Problem, ProblemsError, tx
from shuyaku.contracts.source import Loc, Source, clip
from shuyaku.contracts.vocabulary import IPV4_CIDR_PATTERN
from shuyaku.inventory.links import screen_without_terminals, shared_bridges


@cache
def os_lifecycle() -> dict[str, dict[str, date]]:
    text = resources.files("shuyaku.contracts").joinpath("os_lifecycle.yaml").read_text(encoding="utf-8")
    raw = yaml.safe_load(text)
    return {family: {str(v): d for v, d in versions.items()} for family, versions in raw.items()}


@dataclass
class Loaded:
    inventory: Inventory
    catalogue: Catalogue | None
    inventory_path: Path
    catalogue_path: Path | None
    source: Source | None = None  # positions, for later findings that name a line


def load_catalogue(path: str | Path, *, inside: Path | None = None) -> Catalogue:
    return checked.load_model(Catalogue, path, inside=inside)


def load(path: str | Path, catalogue_path: str | Path | None = None) -> Loaded:
    """Parse, validate and cross-check; raise ProblemsError listing everything wrong in both files."""
    problems: list[Problem] = []
    src = source.load(path)
    inv, found = checked.check(Inventory, src)
    problems += found

    cat: Catalogue | None = None
    cat_path: Path | None = None
    inside: Path | None = None
    if catalogue_path is not None:
        cat_path = Path(catalogue_path)
    else:
        raw = src.data.get("municipality") if isinstance(src.data, dict) else None
        named = raw.get("catalogue") if isinstance(raw, dict) else None
        if isinstance(named, str) and named:
            # A path written in the inventory stays inside its folder: an inventory from elsewhere must
            # not make the tool read (and quote) /etc/shadow.
            inside = Path(path).parent
            cat_path = inside / named
    if cat_path is not None:
        try:
            cat = load_catalogue(cat_path, inside=inside)
        except ProblemsError as exc:
            problems += exc.problems
    problems += cross_check(src.data, src, cat)
    if inv is not None:
        problems += shared_bridges(inv, src, str(path))
        problems += screen_without_terminals(inv, src, str(path))
        problems += maintenance_split(inv, src)
    if problems or inv is None:
        raise ProblemsError(problems)
    return Loaded(inv, cat, Path(path), cat_path, src)


def maintenance_split(inv: Inventory, src: Source) -> list[Problem]:
    """The hardware part of 保守 cannot exceed the whole."""
    return [src.problem(("systems", i, "costs", "maintenance_hardware"),
                        tx(f"ハードウェア保守 {s.costs.maintenance_hardware:,} 円が"
                           f"保守全体 {s.costs.maintenance:,} 円を超えています",
                           f"hardware maintenance ¥{s.costs.maintenance_hardware:,} exceeds the whole maintenance "
                           f"¥{s.costs.maintenance:,}"),
                        tx("maintenance は保守全体（ハードウェア＋アプリケーション）、maintenance_hardware はその内訳です",
                           "maintenance is the whole (hardware + application); maintenance_hardware is its hardware part"),
                        code="inventory.maintenance_split")
            for i, s in enumerate(inv.systems)
            if s.costs.maintenance_hardware is not None and s.costs.maintenance_hardware > s.costs.maintenance]


def _items(value: Any) -> list[tuple[int, dict]]:
    return [(i, v) for i, v in enumerate(value) if isinstance(v, dict)] if isinstance(value, list) else []


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def cross_check(data: Any, src: Source, cat: Catalogue | None) -> list[Problem]:
    """What a schema cannot see: references between systems, impossible sizes, unknown OS versions.

    Works on the raw document, defensively, so that these problems are reported together with the
    schema's even when some other part of the file does not validate.
    """
    if not isinstance(data, dict):
        return []
    problems: list[Problem] = []
    systems = _items(data.get("systems"))
    raw_muni = data.get("municipality")
    muni: dict = raw_muni if isinstance(raw_muni, dict) else {}
    fy = _num(muni.get("fiscal_year"))
    if fy is not None and not FISCAL_YEAR_MIN <= fy <= FISCAL_YEAR_MAX:
        fy = None  # the schema reports the year; comparing purchases with it would only add noise
    first_seen: dict[str, int] = {}
    for i, s in systems:
        sid = s.get("id")
        if not isinstance(sid, str):
            continue
        if sid in first_seen:
            line = src.where(("systems", first_seen[sid], "id"))[0]
            problems.append(src.problem(("systems", i, "id"),
                                        tx(f"システムID {clip(sid)} が重複しています（{line} 行目と同じ）",
                                           f"duplicate system id {clip(sid)} (same as line {line})"),
                                        tx("別のIDを付けてください", "give it a unique id"), code="inventory.duplicate_id"))
        else:
            first_seen[sid] = i

    ids = set(first_seen)
    lifecycle = os_lifecycle()
    for i, s in systems:
        seen_links: set[tuple[Any, ...]] = set()
        for j, link in _items(s.get("links")):
            loc = ("systems", i, "links", j, "target")
            target = link.get("target")
            if not isinstance(target, str):
                continue
            if target == s.get("id"):
                problems.append(src.problem(loc, tx("自分自身への連携です", "a link to the system itself"),
                                            tx("連携先に別のシステムIDを書いてください", "name another system"),
                                            code="inventory.link_to_self"))
            elif target not in ids:
                problems.append(src.problem(loc, tx(f"連携先 {clip(target)} は台帳にありません",
                                                    f"link target {clip(target)} is not in the inventory"),
                                            tx("systems の id のいずれかにしてください", "use an id listed under systems"),
                                            code="inventory.unknown_link_target"))
            key = (target, str(link.get("protocol", "tcp")), link.get("port"))
            if key in seen_links:
                problems.append(src.problem(("systems", i, "links", j),
                                            tx("同じ連携が重複しています", "the same link is listed twice"),
                                            tx("重複を削除してください", "remove the duplicate"),
                                            code="inventory.duplicate_link"))
            seen_links.add(key)
        for k, srv in _items(s.get("servers")):
            problems += _check_server(src, ("systems", i, "servers", k), srv, lifecycle, fy, cat)
        cidr = s.get("cidr")
        if isinstance(cidr, str):
            layer = s.get("layer")
            supernet = cat.addressing.get(layer) if cat and isinstance(layer, str) else None  # type: ignore[call-overload]
            problems += _check_cidr(src, ("systems", i, "cidr"), cidr, supernet)
    return problems


def _check_server(src: Source, base: Loc, srv: dict, lifecycle: dict[str, dict[str, date]],
                  fy: float | None, cat: Catalogue | None) -> list[Problem]:
    problems: list[Problem] = []
    family, version = srv.get("os"), srv.get("os_version")
    versions = lifecycle.get(family) if isinstance(family, str) else None  # an unknown family: the schema says so
    if versions is not None and version is not None and str(version) not in versions:
        problems.append(src.problem((*base, "os_version"),
                                    tx(f"{family} のバージョン {clip(str(version))} は未登録です",
                                       f"{family} version {clip(str(version))} is not known"),
                                    tx(f"次のいずれか: {', '.join(versions)}", f"one of: {', '.join(versions)}"),
                                    code="inventory.unknown_os_version"))
    year = _num(srv.get("purchase_year"))
    if year is not None and fy is not None and year > fy:
        problems.append(src.problem((*base, "purchase_year"),
                                    tx(f"購入年度が評価年度 {int(fy)} より後です", f"bought after the fiscal year {int(fy)}"),
                                    tx("購入年度か municipality.fiscal_year を直してください",
                                       "correct the year or municipality.fiscal_year"),
                                    code="inventory.bought_after_fiscal_year"))
    if cat is not None:
        h = cat.host
        caps = {"vcpu": h.vcpu - h.reserved_vcpu, "ram_gb": h.ram_gb - h.reserved_ram_gb, "disk_gb": h.disk_gb}
        for name, cap in caps.items():
            value = _num(srv.get(name))
            if value is not None and value > cap:
                problems.append(src.problem((*base, name),
                                            tx(f"{value:g} はカタログのホスト（{h.name}）の上限 {cap} を超えます",
                                              f"{value:g} exceeds what one catalogue host ({h.name}) offers: {cap}"),
                                            tx("サーバを分割するか、カタログのホスト機種を見直してください",
                                               "split the server or choose a larger host model in the catalogue"),
                                            code="inventory.server_larger_than_host"))
    return problems


def _check_cidr(src: Source, loc: Loc, cidr: str, supernet: str | None) -> list[Problem]:
    if not re.fullmatch(IPV4_CIDR_PATTERN, cidr):  # the schema's problem already says what is wrong
        return []
    try:
        net = ipaddress.IPv4Network(cidr, strict=True)
    except ValueError:
        return [src.problem(loc, tx(f"CIDR の形式が正しくありません: {clip(cidr)}", f"not a valid network: {clip(cidr)}"),
                            tx("例: 10.10.12.0/24（ホスト部は0）", "e.g. 10.10.12.0/24 (host bits zero)"),
                            code="inventory.cidr_host_bits")]
    if supernet is not None and not net.subnet_of(ipaddress.IPv4Network(supernet)):
        return [src.problem(loc, tx(f"{cidr} はこの系のアドレス空間 {supernet} の外です",
                                   f"{cidr} is outside this layer's range {supernet}"),
                            tx(f"{supernet} の中のネットワークにしてください", f"use a network inside {supernet}"),
                            code="inventory.cidr_outside_layer")]
    return []
