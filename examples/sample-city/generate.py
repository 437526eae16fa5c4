"""Writes examples/sample-city/inventory.yaml: a fictional mid-size city (~430,000 people, 80 systems).

The systems, departments and layers are what a Japanese city of that size runs; sizes, ages and costs are
drawn from a fixed seed so the file is reproducible. Scale of costs: MIC's FY2017 survey of municipal IT
spending gives about ¥3,742 per resident per year, i.e. about ¥1.6 billion for 430,000 people; the 80
business systems' server-side costs here sum to a little over ¥1 billion, the rest being networks,
terminals and staff. Run: .venv/bin/python examples/sample-city/generate.py
"""

from __future__ import annotations

import random
from pathlib import Path

import yaml

SEED = 20261126
FY = 2026

# id, name, department, layer, standard op (or ""), weight (relative size/cost)
SYSTEMS = [
    ("S001", "住民基本台帳システム", "市民課", "mynumber", "juki", 5),
    ("S002", "戸籍システム", "市民課", "mynumber", "koseki", 4),
    ("S003", "戸籍附票システム", "市民課", "mynumber", "koseki_fuhyo", 1),
    ("S004", "印鑑登録システム", "市民課", "mynumber", "inkan", 1),
    ("S005", "選挙人名簿管理システム", "選挙管理委員会事務局", "mynumber", "senkyo", 1),
    ("S006", "固定資産税システム", "資産税課", "mynumber", "kotei_shisan", 4),
    ("S007", "個人住民税システム", "市民税課", "mynumber", "kojin_juminzei", 5),
    ("S008", "法人住民税システム", "市民税課", "mynumber", "hojin_juminzei", 2),
    ("S009", "軽自動車税システム", "市民税課", "mynumber", "kei_jidosha", 1),
    ("S010", "国民健康保険システム", "保険年金課", "mynumber", "kokuho", 4),
    ("S011", "国民年金システム", "保険年金課", "mynumber", "kokumin_nenkin", 1),
    ("S012", "後期高齢者医療システム", "保険年金課", "mynumber", "koki_korei", 2),
    ("S013", "介護保険システム", "介護保険課", "mynumber", "kaigo", 4),
    ("S014", "障害者福祉システム", "障がい福祉課", "mynumber", "shogai", 2),
    ("S015", "生活保護システム", "生活福祉課", "mynumber", "seikatsu_hogo", 2),
    ("S016", "児童手当システム", "子ども家庭課", "mynumber", "jido_teate", 1),
    ("S017", "児童扶養手当システム", "子ども家庭課", "mynumber", "jido_fuyo", 1),
    ("S018", "子ども・子育て支援システム", "保育課", "mynumber", "kodomo_kosodate", 3),
    ("S019", "学齢簿・就学システム", "学務課", "mynumber", "shugaku", 1),
    ("S020", "健康管理システム", "健康推進課", "mynumber", "kenko_kanri", 3),
    ("S021", "収納管理システム", "納税課", "mynumber", "", 3),
    ("S022", "滞納管理システム", "納税課", "mynumber", "", 2),
    ("S023", "宛名管理システム", "情報政策課", "mynumber", "", 2),
    ("S024", "団体内統合宛名システム", "情報政策課", "mynumber", "", 2),
    ("S025", "中間サーバー連携システム", "情報政策課", "mynumber", "", 2),
    ("S026", "福祉総合システム", "福祉総務課", "mynumber", "", 3),
    ("S027", "就学援助システム", "学務課", "mynumber", "", 1),
    ("S028", "保育料管理システム", "保育課", "mynumber", "", 1),
    ("S029", "証明書コンビニ交付システム", "市民課", "mynumber", "", 2),
    ("S030", "住登外者管理システム", "市民課", "mynumber", "", 1),
    ("S031", "税務共通システム", "市民税課", "mynumber", "", 2),
    ("S032", "口座振替管理システム", "納税課", "mynumber", "", 1),
    ("S033", "医療費助成システム", "子ども家庭課", "mynumber", "", 1),
    ("S034", "予防接種管理システム", "健康推進課", "mynumber", "", 2),
    ("S035", "財務会計システム", "会計課", "lgwan", "", 4),
    ("S036", "人事給与システム", "職員課", "lgwan", "", 3),
    ("S037", "文書管理システム", "総務課", "lgwan", "", 3),
    ("S038", "電子決裁システム", "総務課", "lgwan", "", 2),
    ("S039", "庶務事務システム", "職員課", "lgwan", "", 2),
    ("S040", "契約管理システム", "契約課", "lgwan", "", 1),
    ("S041", "例規集システム", "法務課", "lgwan", "", 1),
    ("S042", "議会会議録システム", "議会事務局", "lgwan", "", 1),
    ("S043", "統合型GIS", "都市計画課", "lgwan", "", 3),
    ("S044", "道路台帳システム", "道路管理課", "lgwan", "", 2),
    ("S045", "下水道台帳システム", "下水道課", "lgwan", "", 2),
    ("S046", "市営住宅管理システム", "住宅課", "lgwan", "", 1),
    ("S047", "施設予約システム（職員用）", "生涯学習課", "lgwan", "", 1),
    ("S048", "図書館システム", "中央図書館", "lgwan", "", 3),
    ("S049", "備品管理システム", "管財課", "lgwan", "", 1),
    ("S050", "庁内グループウェア", "情報政策課", "lgwan", "", 3),
    ("S051", "統計分析システム", "企画政策課", "lgwan", "", 1),
    ("S052", "選挙開票システム", "選挙管理委員会事務局", "lgwan", "", 1),
    ("S053", "農地台帳システム", "農業委員会事務局", "lgwan", "", 1),
    ("S054", "建築確認システム", "建築指導課", "lgwan", "", 2),
    ("S055", "環境測定管理システム", "環境保全課", "lgwan", "", 1),
    ("S056", "ごみ収集管理システム", "清掃事務所", "lgwan", "", 1),
    ("S057", "消防OA・指令支援システム", "消防本部", "lgwan", "", 3),
    ("S058", "水道料金システム", "水道局", "lgwan", "", 3),
    ("S059", "学校徴収金システム", "学務課", "lgwan", "", 1),
    ("S060", "教職員人事システム", "教育総務課", "lgwan", "", 1),
    ("S061", "監査事務システム", "監査委員事務局", "lgwan", "", 1),
    ("S062", "入札参加資格審査システム", "契約課", "lgwan", "", 1),
    ("S063", "住居表示システム", "市民課", "lgwan", "", 1),
    ("S064", "屋外広告物管理システム", "都市計画課", "lgwan", "", 1),
    ("S065", "LGWANメールシステム", "情報政策課", "lgwan", "", 2),
    ("S066", "公共施設マネジメントシステム", "管財課", "lgwan", "", 1),
    ("S067", "庁内ポータル", "情報政策課", "lgwan", "", 1),
    ("S068", "市公式ウェブサイトCMS", "広報課", "internet", "", 2),
    ("S069", "インターネットメールシステム", "情報政策課", "internet", "", 2),
    ("S070", "電子申請システム", "情報政策課", "internet", "", 2),
    ("S071", "施設予約システム（市民向け）", "生涯学習課", "internet", "", 1),
    ("S072", "防災情報配信システム", "防災課", "internet", "", 2),
    ("S073", "オープンデータサイト", "企画政策課", "internet", "", 1),
    ("S074", "図書館蔵書検索（OPAC）", "中央図書館", "internet", "", 1),
    ("S075", "電子入札システム", "契約課", "internet", "", 1),
    ("S076", "統合認証基盤（Active Directory）", "情報政策課", "shared", "", 2),
    ("S077", "資産・ログ管理システム", "情報政策課", "shared", "", 2),
    ("S078", "ファイル無害化システム", "情報政策課", "shared", "", 1),
    ("S079", "データ連携基盤（EAI）", "情報政策課", "shared", "", 2),
    ("S080", "バックアップシステム", "情報政策課", "shared", "", 2),
]

VENDORS = ["東日本情報システム", "中央電算サービス", "北関東ソフトウェア", "市民サービス総研", "富岳データ",
           "みなと情報技術", "さくらシステム開発", "ひかり自治体ソリューションズ"]

# Legacy links (source -> target, port). Some cross layers directly, as legacy systems do; the
# assessment must find them. A link from S070 (internet) to S001 (mynumber) is one it must forbid.
LINKS = [
    ("S023", "S001", 1521), ("S024", "S023", 1521), ("S025", "S024", 443), ("S002", "S001", 1521),
    ("S003", "S002", 1521), ("S004", "S001", 1521), ("S005", "S001", 1521), ("S006", "S023", 1521),
    ("S007", "S023", 1521), ("S008", "S031", 1521), ("S009", "S031", 1521), ("S031", "S023", 1521),
    ("S021", "S007", 1521), ("S021", "S006", 1521), ("S022", "S021", 1521), ("S032", "S021", 1521),
    ("S010", "S023", 1521), ("S011", "S023", 1521), ("S012", "S010", 1521), ("S013", "S023", 1521),
    ("S014", "S026", 1521), ("S015", "S026", 1521), ("S016", "S023", 1521), ("S017", "S016", 1521),
    ("S018", "S023", 1521), ("S028", "S018", 1521), ("S019", "S001", 1521), ("S027", "S019", 1521),
    ("S020", "S023", 1521), ("S034", "S020", 1521), ("S033", "S023", 1521), ("S029", "S001", 1521),
    ("S030", "S023", 1521),
    # mynumber <-> lgwan: legacy direct DB links that must move to the integration hub
    ("S021", "S035", 1433), ("S036", "S007", 1521), ("S063", "S001", 1521),
    # lgwan internal
    ("S038", "S037", 443), ("S039", "S036", 1433), ("S040", "S035", 1433), ("S062", "S040", 1433),
    ("S044", "S043", 5432), ("S045", "S043", 5432), ("S066", "S049", 1433), ("S067", "S050", 443),
    ("S059", "S035", 1433),
    # internet <-> lgwan, and one forbidden internet -> mynumber
    ("S071", "S047", 1433), ("S074", "S048", 8080), ("S068", "S037", 445), ("S070", "S001", 1521),
    # shared services everyone uses
    ("S050", "S076", 636), ("S037", "S076", 636), ("S035", "S076", 636), ("S001", "S079", 443),
    ("S035", "S079", 443), ("S069", "S078", 25),
]

OS_CHOICES = [  # (family, version, weight); an honest mix, with end-of-life ones still in service
    ("windows_server", "2008 R2", 2), ("windows_server", "2012 R2", 8), ("windows_server", "2016", 10),
    ("windows_server", "2019", 8), ("windows_server", "2022", 4), ("rhel", "6", 2), ("rhel", "7", 6),
    ("rhel", "8", 5), ("rhel", "9", 2), ("centos", "7", 3), ("ubuntu", "18.04", 1), ("ubuntu", "22.04", 1),
]
ROLES = ["db", "ap", "web", "batch", "file", "print", "report", "interface"]


def build() -> dict:
    rng = random.Random(SEED)
    systems = []
    total_weight = sum(w for *_, w in SYSTEMS)
    budget = 1_050_000_000  # yen/year across the 80 systems (see module docstring)
    for sid, name, dept, layer, op, weight in SYSTEMS:
        n_roles = min(len(ROLES), max(1, min(8, weight + rng.randint(-1, 1))))
        servers = []
        redundant = layer == "mynumber" and weight >= 3
        purchase = rng.choice([2015, 2016, 2017, 2018, 2019, 2020, 2021, 2022, 2023, 2024])
        fam, ver, _ = rng.choices(OS_CHOICES, weights=[w for *_, w in OS_CHOICES])[0]
        for r in ROLES[:n_roles]:
            count = 2 if redundant and r in ("db", "ap") else 1
            vcpu = rng.choice([2, 4, 4, 8, 8, 16]) * (2 if weight >= 4 and r == "db" else 1)
            ram = rng.choice([8, 16, 16, 32, 32, 64]) * (2 if weight >= 4 and r == "db" else 1)
            disk = rng.choice([100, 200, 300, 500, 1000]) * (2 if r in ("db", "file") else 1)
            srv: dict = {"role": r, "count": count, "vcpu": vcpu, "ram_gb": ram, "disk_gb": disk,
                         "os": fam, "os_version": ver, "purchase_year": purchase}
            if rng.random() < 0.6:  # about 60% of servers have monitoring data
                srv["p95_cpu_pct"] = round(rng.uniform(4, 55), 1)
                srv["p95_ram_pct"] = round(rng.uniform(25, 85), 1)
            if count > 1:
                srv["redundancy"] = "active_standby" if r == "db" else "active_active"
            servers.append(srv)
        annual = int(budget * weight / total_weight * rng.uniform(0.8, 1.2))
        share = {"hardware": 0.28, "maintenance": 0.17, "licences": 0.22, "operations": 0.25, "facility": 0.08}
        costs = {k: int(round(annual * v, -3)) for k, v in share.items()}
        users = rng.randint(10, 60) * weight
        if layer == "mynumber":
            rpo, rto = (1, 4) if weight >= 4 else (24, 48)
        elif layer == "shared":
            rpo, rto = (1, 4)
        else:
            rpo, rto = rng.choice([(24, 72), (24, 48), (168, 336)])
        entry: dict = {"id": sid, "name": name, "department": dept, "layer": layer}
        if sid in MEDIATORS:
            entry["mediates"] = MEDIATORS[sid]
        if op:
            entry["standard_op"] = op
        entry.update({"vendor": rng.choice(VENDORS), "users": users, "rpo_hours": rpo, "rto_hours": rto,
                      "servers": servers, "costs": costs})
        links = [{"target": t, "protocol": "tcp", "port": p} for s, t, p in LINKS if s == sid]
        if links:
            entry["links"] = links
        systems.append(entry)
    terminals = [
        {"department": d, "layer": lay, "count": c}
        for d, lay, c in [
            ("市民課", "mynumber", 120), ("市民税課", "mynumber", 90), ("資産税課", "mynumber", 60),
            ("納税課", "mynumber", 70), ("保険年金課", "mynumber", 80), ("介護保険課", "mynumber", 50),
            ("福祉部各課", "mynumber", 160), ("子ども家庭課", "mynumber", 60), ("保育課", "mynumber", 40),
            ("健康推進課", "mynumber", 40), ("学務課", "mynumber", 20),
            ("全庁（LGWAN系端末）", "lgwan", 2600), ("情報政策課", "internet", 20), ("広報課", "internet", 15),
        ]
    ]
    return {
        "municipality": {"name": "さくら市（架空）", "name_en": "Sakura City (fictional)", "population": 432000,
                         "separation_model": "alpha", "fiscal_year": FY, "catalogue": "cost-catalogue.yaml"},
        "systems": systems,
        "terminals": terminals,
    }


# The shared zone's systems that stand between layers: the sanitising relay and the data-integration hub.
MEDIATORS = {"S078": "relay", "S079": "hub"}

HEADER = """# yaml-language-server: $schema=../../schemas/inventory.json
# 現行システム台帳（サンプル）: 架空の中規模市（人口約43万人）の80業務システム。
# Generated by examples/sample-city/generate.py (seeded); edit freely, it is only an example.
"""


def main() -> None:
    out = Path(__file__).with_name("inventory.yaml")
    body = yaml.safe_dump(build(), allow_unicode=True, sort_keys=False, width=120)
    out.write_text(HEADER + body, encoding="utf-8")
    print(out)


if __name__ == "__main__":
    main()
