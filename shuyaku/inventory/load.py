"""Load and check an inventory (and the cost catalogue it is judged against) with every problem collected."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from shuyaku.i18n import t
from shuyaku.inventory import source
from shuyaku.inventory.schema import Inventory
from shuyaku.inventory.source import Problem, ProblemsError, Source
from shuyaku.plan.catalogue import Catalogue


@cache
def os_lifecycle() -> dict[str, dict[str, date]]:
    text = resources.files("shuyaku.inventory").joinpath("os_lifecycle.yaml").read_text(encoding="utf-8")
    raw = yaml.safe_load(text)
    return {family: {str(v): d for v, d in versions.items()} for family, versions in raw.items()}


@dataclass
class Loaded:
    inventory: Inventory
    catalogue: Catalogue | None
    inventory_path: Path
    catalogue_path: Path | None


def load_catalogue(path: str | Path) -> Catalogue:
    src = source.load(path)
    cat, problems = source.validate(Catalogue, src)
    if problems or cat is None:
        raise ProblemsError(problems)
    return cat


def load(path: str | Path, catalogue_path: str | Path | None = None) -> Loaded:
    """Parse, validate and cross-check; raise ProblemsError listing everything wrong in both files."""
    problems: list[Problem] = []
    src = source.load(path)
    inv, found = source.validate(Inventory, src)
    problems += found

    cat: Catalogue | None = None
    cat_path: Path | None = None
    if catalogue_path is not None:
        cat_path = Path(catalogue_path)
    else:
        raw = src.data.get("municipality") if isinstance(src.data, dict) else None
        named = raw.get("catalogue") if isinstance(raw, dict) else None
        if isinstance(named, str) and named:
            cat_path = Path(path).parent / named
    if cat_path is not None:
        try:
            cat = load_catalogue(cat_path)
        except ProblemsError as exc:
            problems += exc.problems
    problems += cross_check(src.data, src, cat)
    if problems or inv is None:
        raise ProblemsError(problems)
    return Loaded(inv, cat, Path(path), cat_path)


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
    first_seen: dict[str, int] = {}
    for i, s in systems:
        sid = s.get("id")
        if not isinstance(sid, str):
            continue
        if sid in first_seen:
            line = src.where(("systems", first_seen[sid], "id"))[0]
            problems.append(src.problem(("systems", i, "id"),
                                        t(f"システムID「{sid}」が重複しています（{line} 行目と同じ）",
                                          f"duplicate system id '{sid}' (same as line {line})"),
                                        t("別のIDを付けてください", "give it a unique id")))
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
                problems.append(src.problem(loc, t("自分自身への連携です", "a link to the system itself"),
                                            t("連携先に別のシステムIDを書いてください", "name another system")))
            elif target not in ids:
                problems.append(src.problem(loc, t(f"連携先「{target}」は台帳にありません",
                                                   f"link target '{target}' is not in the inventory"),
                                            t("systems の id のいずれかにしてください", "use an id listed under systems")))
            key = (target, str(link.get("protocol", "tcp")), link.get("port"))
            if key in seen_links:
                problems.append(src.problem(("systems", i, "links", j),
                                            t("同じ連携が重複しています", "the same link is listed twice"),
                                            t("重複を削除してください", "remove the duplicate")))
            seen_links.add(key)
        for k, srv in _items(s.get("servers")):
            problems += _check_server(src, ("systems", i, "servers", k), srv, lifecycle, fy, cat)
        cidr = s.get("cidr")
        if isinstance(cidr, str):
            layer = s.get("layer")
            supernet = cat.addressing.get(layer) if cat and isinstance(layer, str) else None  # type: ignore[call-overload]
            problems += _check_cidr(src, ("systems", i, "cidr"), cidr, supernet)
    return problems


def _check_server(src: Source, base: source.Loc, srv: dict, lifecycle: dict[str, dict[str, date]],
                  fy: float | None, cat: Catalogue | None) -> list[Problem]:
    problems: list[Problem] = []
    family, version = srv.get("os"), srv.get("os_version")
    if isinstance(family, str):
        versions = lifecycle.get(family)
        if versions is None:
            problems.append(src.problem((*base, "os"), t(f"未知のOS系列「{family}」", f"unknown OS family '{family}'"),
                                        t(f"次のいずれか: {', '.join(lifecycle)}", f"one of: {', '.join(lifecycle)}")))
        elif version is not None and str(version) not in versions:
            problems.append(src.problem((*base, "os_version"),
                                        t(f"{family} のバージョン「{version}」は未登録です",
                                          f"{family} version '{version}' is not known"),
                                        t(f"次のいずれか: {', '.join(versions)}", f"one of: {', '.join(versions)}")))
    year = _num(srv.get("purchase_year"))
    if year is not None and fy is not None and year > fy:
        problems.append(src.problem((*base, "purchase_year"),
                                    t(f"購入年度が評価年度 {int(fy)} より後です", f"bought after the fiscal year {int(fy)}"),
                                    t("購入年度か municipality.fiscal_year を直してください",
                                      "correct the year or municipality.fiscal_year")))
    if cat is not None:
        h = cat.host
        caps = {"vcpu": h.vcpu - h.reserved_vcpu, "ram_gb": h.ram_gb - h.reserved_ram_gb, "disk_gb": h.disk_gb}
        for name, cap in caps.items():
            value = _num(srv.get(name))
            if value is not None and value > cap:
                problems.append(src.problem((*base, name),
                                            t(f"{value:g} はカタログのホスト（{h.name}）の上限 {cap} を超えます",
                                              f"{value:g} exceeds what one catalogue host ({h.name}) offers: {cap}"),
                                            t("サーバを分割するか、カタログのホスト機種を見直してください",
                                              "split the server or choose a larger host model in the catalogue")))
    return problems


def _check_cidr(src: Source, loc: source.Loc, cidr: str, supernet: str | None) -> list[Problem]:
    try:
        net = ipaddress.ip_network(cidr, strict=True)
    except ValueError:
        return [src.problem(loc, t(f"CIDR の形式が正しくありません: {cidr}", f"not a valid network: {cidr}"),
                            t("例: 10.10.12.0/24（ホスト部は0）", "e.g. 10.10.12.0/24 (host bits zero)"))]
    if supernet is not None and not net.subnet_of(ipaddress.ip_network(supernet)):  # type: ignore[arg-type]
        return [src.problem(loc, t(f"{cidr} はこの系のアドレス空間 {supernet} の外です",
                                   f"{cidr} is outside this layer's range {supernet}"),
                            t(f"{supernet} の中のネットワークにしてください", f"use a network inside {supernet}"))]
    return []
