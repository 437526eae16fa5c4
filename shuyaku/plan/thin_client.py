"""The thin-client line, kept apart from the consolidation figure as the reference case advises.

Thin clients rarely save money; they buy security and central maintenance. The case says so in both languages.
"""

from __future__ import annotations

import math

from shuyaku.contracts.catalogue import Catalogue
from shuyaku.contracts.inventory import Inventory
from shuyaku.contracts.plan import ThinClientCase


def host_year(cat: Catalogue) -> int:
    """One host's yearly cost: amortisation + maintenance + hypervisor support (rack/power is separate)."""
    h = cat.host
    return round(h.price.yen / h.amortisation_years.value + h.price.yen * cat.maintenance_rate.value
                 + cat.hypervisor_support_per_host_year.yen)


def thin_client_case(inv: Inventory, cat: Catalogue) -> ThinClientCase:
    v = cat.vdi
    terminals = sum(x.count for x in inv.terminals)
    vdi_hosts = vdi_hosts_for(terminals, cat)
    pc = terminals * (v.pc_price.yen / v.pc_life_years.value + v.pc_support_per_year.yen)
    thin = (terminals * (v.thin_client_price.yen / v.thin_client_life_years.value + v.thin_client_support_per_year.yen)
            + vdi_hosts * (host_year(cat) + cat.rack_power_per_host_year.yen)
            + terminals * v.vdi_licence_per_user_year.yen)
    return ThinClientCase(
        terminals=terminals,
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

