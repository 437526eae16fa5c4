"""The screen-transfer (VDI) pools and the thin-client line, kept apart from the consolidation figure as the
reference case advises.

Thin clients rarely save money; they buy security and central maintenance. The case says so in both languages.

One sizing serves every figure: the pools `screen_pools` sizes are the hosts the plan adds to their zones, the hosts
the site data gives the platform, and the hosts this line prices (once, here: the inventory's baseline holds no
screen-transfer system today, so pricing them in the consolidation ratio would compare unlike with like).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

from shuyaku.contracts.catalogue import Catalogue
from shuyaku.contracts.inventory import Inventory
from shuyaku.contracts.plan import ThinClientCase


def host_year(cat: Catalogue) -> int:
    """One host's yearly cost: amortisation + maintenance + hypervisor support (rack/power is separate)."""
    h = cat.host
    return round(h.price.yen / h.amortisation_years.value + h.price.yen * cat.maintenance_rate.value
                 + cat.hypervisor_support_per_host_year.yen)


@dataclass(frozen=True)
class ScreenPools:
    """Who reaches another layer by screen transfer, and the hosts that serves them.

    LGWAN terminals reach the internet through the VDI pool in the internet zone (every model). Under β and β'
    the terminals in the internet layer reach their LGWAN work through a desktop pool in the LGWAN zone."""

    lgwan_users: int
    internet_hosts: int  # the VDI pool, in the internet zone
    desktop_users: int
    lgwan_desktop_hosts: int  # the desktop pool, in the LGWAN zone (β, β')

    @property
    def users(self) -> int:
        return self.lgwan_users + self.desktop_users

    @property
    def hosts(self) -> int:
        return self.internet_hosts + self.lgwan_desktop_hosts

    def hosts_in(self, layer: str) -> int:
        return {"internet": self.internet_hosts, "lgwan": self.lgwan_desktop_hosts}.get(layer, 0)


def screen_pools(inv: Inventory, cat: Catalogue) -> ScreenPools:
    by_layer: dict[str, int] = defaultdict(int)
    for term in inv.terminals:
        by_layer[term.layer.value] += term.count
    beta = inv.municipality.separation_model.value in ("beta", "beta_prime")
    desktop_users = by_layer["internet"] if beta else 0
    return ScreenPools(lgwan_users=by_layer["lgwan"], internet_hosts=vdi_hosts_for(by_layer["lgwan"], cat),
                       desktop_users=desktop_users, lgwan_desktop_hosts=vdi_hosts_for(desktop_users, cat))


def thin_client_case(inv: Inventory, cat: Catalogue) -> ThinClientCase:
    """PCs against thin clients for the terminals the screen-transfer pools serve (their desktop sessions run
    there); the pools' hosts are the ones the platform deploys."""
    v = cat.vdi
    pools = screen_pools(inv, cat)
    terminals = pools.users
    vdi_hosts = pools.hosts
    pc = terminals * (v.pc_price.yen / v.pc_life_years.value + v.pc_support_per_year.yen)
    # The pools' hosts cost what any platform host costs, and the platform staff run them too (their share of
    # hosts_per_fte, which the consolidation line counts only for the packed hosts).
    staff = vdi_hosts / cat.operations.hosts_per_fte.value * cat.operations.cost_per_fte.yen
    thin = (terminals * (v.thin_client_price.yen / v.thin_client_life_years.value + v.thin_client_support_per_year.yen)
            + vdi_hosts * (host_year(cat) + cat.rack_power_per_host_year.yen) + staff
            + terminals * v.vdi_licence_per_user_year.yen)
    return ThinClientCase(
        terminals=terminals,
        vdi_hosts=vdi_hosts,
        pc_annual_yen=round(pc),
        thin_client_annual_yen=round(thin),
        difference_yen=round(thin) - round(pc),
        security_benefits_ja=[
            "端末にデータが残らない（紛失・盗難時の情報漏えいを防ぐ）",
            "クリップボード・USB・プリンタのリダイレクトを中央で一括制御",
            "画面転送のみで系間を分離（データそのものは系をまたがない）",
        ],
        security_benefits_en=[
            "No data stays on the terminal (a lost or stolen device leaks nothing)",
            "Clipboard, USB and printer redirection controlled centrally, for every desk at once",
            "Layers separated by screen transfer only (the data itself never crosses a layer)",
        ],
        maintenance_benefits_ja=[
            "パッチ・ソフトウェア更新はVDIイメージに一度適用するだけ",
            "端末故障時は交換するだけで、設定・データの移行が不要",
            f"端末の更新周期が {v.thin_client_life_years.value:g} 年と長い（PCは {v.pc_life_years.value:g} 年）",
        ],
        maintenance_benefits_en=[
            "Patches and software updates applied once, to the VDI image",
            "A broken terminal is simply swapped: no settings or data to move",
            f"Terminals last {v.thin_client_life_years.value:g} years (PCs {v.pc_life_years.value:g})",
        ],
    )


def vdi_hosts_for(users: int, cat: Catalogue) -> int:
    """Hosts for `users` concurrent desktops, plus one so that losing a host loses no desktops."""
    return 0 if users <= 0 else math.ceil(users / cat.vdi.users_per_host.value) + 1

