"""The 20 standardised core operations (基幹業務) that move to the Government Cloud.

Codes are stable ASCII identifiers used in inventory files and tags; names are what reports show.
"""

from __future__ import annotations

STANDARD_OPS: dict[str, tuple[str, str]] = {
    "juki": ("住民基本台帳", "Resident register"),
    "koseki": ("戸籍", "Family register"),
    "koseki_fuhyo": ("戸籍の附票", "Family register supplement"),
    "inkan": ("印鑑登録", "Seal registration"),
    "senkyo": ("選挙人名簿管理", "Electoral roll"),
    "kotei_shisan": ("固定資産税", "Fixed asset tax"),
    "kojin_juminzei": ("個人住民税", "Individual inhabitant tax"),
    "hojin_juminzei": ("法人住民税", "Corporate inhabitant tax"),
    "kei_jidosha": ("軽自動車税", "Light vehicle tax"),
    "kokuho": ("国民健康保険", "National health insurance"),
    "kokumin_nenkin": ("国民年金", "National pension"),
    "koki_korei": ("後期高齢者医療", "Late-stage elderly medical care"),
    "kaigo": ("介護保険", "Long-term care insurance"),
    "shogai": ("障害者福祉", "Disability welfare"),
    "seikatsu_hogo": ("生活保護", "Public assistance"),
    "jido_teate": ("児童手当", "Child allowance"),
    "jido_fuyo": ("児童扶養手当", "Child-rearing allowance"),
    "kodomo_kosodate": ("子ども・子育て支援", "Child and childcare support"),
    "shugaku": ("就学", "School enrolment"),
    "kenko_kanri": ("健康管理", "Health management"),
}
