"""A generated city of 220 systems (seeded), to check that plans at that size deploy and say the truth.

    .venv/bin/python examples/large-city/generate.py      # writes inventory.yaml beside this file

About 1,000 servers across the four layers; links inside each layer, hub links between My Number and LGWAN,
LGWAN to internet links both by screen transfer (port 443, inferred) and by file transfer through the relay
(declared `kind: file`, SFTP); a third of the systems split their 保守 into hardware and application parts, the rest
leave it to the catalogue's default share; RPO and RTO mixed as a real city's are, including RPO 1 h with RTO 72 h.
"""

from __future__ import annotations

import random
from pathlib import Path

import yaml

SEED = 20261203
N_SYSTEMS = 220
FY = 2026
LAYERS = [("mynumber", 0.35), ("lgwan", 0.40), ("internet", 0.15), ("shared", 0.10)]
OS = [("windows_server", "2012 R2"), ("windows_server", "2016"), ("windows_server", "2019"), ("rhel", "7"),
      ("rhel", "8"), ("rhel", "9"), ("ubuntu", "22.04")]
ROLES = ["db", "ap", "web", "batch", "file", "report", "interface", "print"]
OBJECTIVES = [(1, 4), (1, 24), (1, 72), (24, 48), (24, 72), (168, 336), (0.5, 8)]
SHARE = {"hardware": 0.28, "maintenance": 0.30, "licences": 0.20, "operations": 0.16, "facility": 0.06}
HEADER = """# yaml-language-server: $schema=../../schemas/inventory.json
# 生成した大規模市（架空）: 220業務システム。examples/large-city/generate.py が書き出します（シード固定）。
"""


def servers(rng: random.Random, layer: str, weight: int) -> list[dict]:
    out = []
    fam, ver = rng.choice(OS)
    year = rng.randint(2015, 2024)
    for role in ROLES[: max(1, min(8, weight + rng.randint(-1, 1)))]:
        pair = layer == "mynumber" and weight >= 3 and role in ("db", "ap")
        srv: dict = {"role": role, "count": 2 if pair else 1, "vcpu": rng.choice([2, 4, 4, 8, 8, 16]),
                     "ram_gb": rng.choice([8, 16, 16, 32, 32, 64]), "disk_gb": rng.choice([100, 200, 300, 500, 1000]),
                     "os": fam, "os_version": ver, "purchase_year": year}
        if rng.random() < 0.6:
            srv["p95_cpu_pct"] = round(rng.uniform(4, 55), 1)
            srv["p95_ram_pct"] = round(rng.uniform(25, 85), 1)
        if pair:
            srv["redundancy"] = "active_standby" if role == "db" else "active_active"
        out.append(srv)
    return out


def costs(rng: random.Random, weight: int) -> dict:
    annual = int(70_000_000 * weight * rng.uniform(0.7, 1.3))
    out = {k: int(round(annual * v, -3)) for k, v in SHARE.items()}
    if rng.random() < 1 / 3:
        out["maintenance_hardware"] = int(round(out["maintenance"] * rng.uniform(0.2, 0.5), -3))
    return out


def links(rng: random.Random, sid: str, layer: str, by_layer: dict[str, list[str]]) -> list[dict]:
    out: list[dict] = []
    same = [x for x in by_layer[layer] if x != sid]
    for target in rng.sample(same, k=min(len(same), rng.randint(0, 2))):
        out.append({"target": target, "protocol": "tcp", "port": rng.choice([1433, 1521, 8080, 5432])})
    if layer == "mynumber" and by_layer["lgwan"] and rng.random() < 0.3:
        out.append({"target": rng.choice(by_layer["lgwan"]), "protocol": "tcp", "port": 8443, "kind": "api"})
    if layer == "lgwan" and by_layer["internet"] and rng.random() < 0.25:
        target = rng.choice(by_layer["internet"])
        out.append({"target": target, "protocol": "tcp", "port": 443} if rng.random() < 0.5 else
                   {"target": target, "protocol": "tcp", "port": 22, "kind": "file",
                    "purpose": "申請データの取込（無害化）"})
    return out


def build() -> dict:
    rng = random.Random(SEED)
    ids = [f"L{n:03d}" for n in range(1, N_SYSTEMS + 1)]
    layer_of = {sid: rng.choices([x for x, _ in LAYERS], weights=[w for _, w in LAYERS])[0] for sid in ids}
    by_layer: dict[str, list[str]] = {x: [s for s in ids if layer_of[s] == x and s <= "L200"] for x, _ in LAYERS}
    systems = []
    for sid in ids:
        layer = layer_of[sid]
        weight = rng.choice([1, 1, 2, 2, 3, 4, 5])
        rpo, rto = (1, 4) if layer == "shared" else rng.choice(OBJECTIVES)
        entry: dict = {"id": sid, "name": f"業務システム{sid}", "department": f"部署{rng.randint(1, 40):02d}",
                       "layer": layer, "vendor": f"ベンダー{rng.randint(1, 30):02d}", "users": rng.randint(10, 60) * weight,
                       "rpo_hours": rpo, "rto_hours": rto, "servers": servers(rng, layer, weight),
                       "costs": costs(rng, weight)}
        found = links(rng, sid, layer, by_layer)
        if found:
            entry["links"] = found
        systems.append(entry)
    # The hub and the relay: shared-zone mediators, appended last so the links above never name them.
    for sid, kind in (("L221", "hub"), ("L222", "relay")):
        systems.append({"id": sid, "name": "データ連携基盤" if kind == "hub" else "無害化中継", "department": "情報政策課",
                        "layer": "shared", "mediates": kind, "vendor": "ベンダー01", "users": 5, "rpo_hours": 1,
                        "rto_hours": 4, "servers": servers(rng, "shared", 2), "costs": costs(rng, 2)})
    return {
        "municipality": {"name": "おおぞら市（架空・生成）", "name_en": "Ozora City (fictional, generated)",
                         "population": 820000, "separation_model": "alpha", "fiscal_year": FY,
                         "catalogue": "cost-catalogue.yaml"},
        "systems": systems,
        "terminals": [{"department": "全庁（LGWAN系端末）", "layer": "lgwan", "count": 3200},
                      {"department": "住民情報系", "layer": "mynumber", "count": 900},
                      {"department": "情報政策課", "layer": "internet", "count": 40}],
    }


def main() -> None:
    out = Path(__file__).with_name("inventory.yaml")
    out.write_text(HEADER + yaml.safe_dump(build(), allow_unicode=True, sort_keys=False, width=120), encoding="utf-8")
    print(out)


if __name__ == "__main__":
    main()
