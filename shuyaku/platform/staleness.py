"""A stale plan shows here: the site data must describe systems the inventory knows, in the same layer."""

from __future__ import annotations

from pathlib import Path

from shuyaku.contracts import source
from shuyaku.contracts.problems import Problem, ProblemsError, tx
from shuyaku.contracts.sitedata import SiteData


def cross_check(path: Path, site: SiteData | None, site_src: source.Source | None) -> list[Problem]:
    """Problems in the inventory itself, then each tenant the inventory does not know or puts in another layer."""
    from shuyaku.inventory.load import load as load_inventory

    try:
        inv = load_inventory(path).inventory
    except ProblemsError as exc:
        return list(exc.problems)
    if site is None or site_src is None:
        return []
    rerun = tx("`shuyaku plan` を台帳から再実行してください", "re-run `shuyaku plan` on the inventory")
    systems = {s.id: s for s in inv.systems}
    out: list[Problem] = []
    for i, ten in enumerate(site.tenants):
        sys_ = systems.get(ten.system_id)
        if sys_ is None:
            out.append(site_src.problem(("tenants", i, "system_id"),
                                        tx(f"システム「{ten.system_id}」は台帳 {path} にありません",
                                           f"system '{ten.system_id}' is not in the inventory {path}"),
                                        rerun, code="inventory.stale"))
        elif sys_.layer.value != ten.layer:
            out.append(site_src.problem(("tenants", i, "layer"),
                                        tx(f"台帳では {sys_.layer.value} 系です", f"the inventory puts it in {sys_.layer.value}"),
                                        rerun, code="inventory.layer_changed"))
    return out
