"""Benchmark: the planning engine on seeded synthetic inventories of about 80, 1,000, 10,000 and 100,000 VMs.

For each size, in a fresh child process (so that peak memory is that size's own): build the inventory,
run `make_plan` (sizing, placement with N+1 per zone, DR site, waves, cost), and on the same VMs in the
same process run plain first-fit-decreasing (FFD) per zone plus one spare host (the simplest valid N+1
layout). Prints time, peak RSS, hosts, lower bound and gap for both; `--markdown` prints a table row.

    .venv/bin/python bench/plan_scale.py                # all sizes
    .venv/bin/python bench/plan_scale.py --sizes 80 1000

Targets (issue 2): sample city < 2 s with gap 0; 100,000 VMs < 60 s and < 4 GB; never more hosts than
FFD; gap <= 5 % from 10,000 VMs up. This is a benchmark: it reports, it does not pass or fail.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SEED = 20261126
SIZES = [80, 1_000, 10_000, 100_000]
LAYERS = [("mynumber", 0.40), ("lgwan", 0.40), ("internet", 0.12), ("shared", 0.08)]
OS = [("windows_server", "2012 R2"), ("windows_server", "2016"), ("windows_server", "2019"), ("rhel", "7"),
      ("rhel", "8"), ("centos", "7"), ("ubuntu", "20.04"), ("debian", "11")]
ROLES = ["db", "ap", "web", "batch", "file", "report", "interface", "print"]


def synthetic(vms: int, seed: int = SEED) -> dict:
    """A plausible inventory with about `vms` servers: 1-8 roles per system, redundant db/ap pairs in
    larger My Number systems, 60 % of servers with p95 utilisation, 30 % odd disk sizes, links to a few
    earlier systems."""
    rng = random.Random(seed)
    systems: list[dict] = []
    total = 0
    while total < vms:
        n = len(systems) + 1
        layer = rng.choices([x for x, _ in LAYERS], weights=[w for _, w in LAYERS])[0]
        weight = rng.choice([1, 1, 2, 2, 3, 4, 5])
        fam, ver = rng.choice(OS)
        year = rng.randint(2014, 2024)
        servers = []
        for role in ROLES[: max(1, min(8, weight + rng.randint(-1, 1)))]:
            pair = layer == "mynumber" and weight >= 3 and role in ("db", "ap")
            s: dict = {"role": role, "count": 2 if pair else 1,
                       "vcpu": rng.choice([2, 4, 4, 8, 8, 16]) * (2 if weight >= 4 and role == "db" else 1),
                       "ram_gb": rng.choice([8, 16, 16, 32, 32, 64]) * (2 if weight >= 4 and role == "db" else 1),
                       # 30 % odd sizes (legacy disks are not all round numbers)
                       "disk_gb": (rng.randint(40, 1500) if rng.random() < 0.3 else rng.choice([100, 200, 300, 500, 1000]))
                       * (2 if role in ("db", "file") else 1),
                       "os": fam, "os_version": ver, "purchase_year": year}
            if rng.random() < 0.6:
                s["p95_cpu_pct"] = round(rng.uniform(4, 55), 1)
                s["p95_ram_pct"] = round(rng.uniform(25, 85), 1)
            if pair:
                s["redundancy"] = "active_standby" if role == "db" else "active_active"
            servers.append(s)
            total += s["count"]
        links = []
        if n > 1:
            for t in sorted({rng.randint(max(1, n - 30), n - 1) for _ in range(rng.choice([0, 1, 1, 2]))}):
                links.append({"target": f"Y{t:06d}", "port": rng.choice([443, 1433, 1521, 5432])})
        rpo, rto = rng.choice([(1, 4), (24, 48), (24, 72), (168, 336)])
        annual = 2_000_000 * weight
        systems.append({
            "id": f"Y{n:06d}", "name": f"業務システム{n}", "department": f"部署{n % 40}", "layer": layer,
            "vendor": f"ベンダー{n % 17}", "users": 10 * weight, "rpo_hours": rpo, "rto_hours": rto,
            "servers": servers, "links": links,
            "costs": {"hardware": int(annual * 0.28), "maintenance": int(annual * 0.17), "licences": int(annual * 0.22),
                      "operations": int(annual * 0.25), "facility": int(annual * 0.08)},
        })
    return {"municipality": {"name": f"合成市{vms}", "population": vms * 50, "separation_model": "alpha",
                             "fiscal_year": 2026},
            "systems": systems,
            "terminals": [{"department": "全庁", "layer": "lgwan", "count": max(10, vms * 4)}]}


def one(vms: int) -> dict:
    """Runs in the child: the planner and the FFD baseline on one synthetic inventory."""
    from shuyaku.contracts.inventory import Inventory
    from shuyaku.inventory.load import Loaded, load_catalogue
    from shuyaku.plan import placement
    from shuyaku.plan.build import _service_vms, make_plan
    from shuyaku.plan.sizing import host_capacity, vm_id

    cat = load_catalogue(ROOT / "examples" / "sample-city" / "cost-catalogue.yaml")
    t0 = time.perf_counter()
    inv = Inventory.model_validate(synthetic(vms))
    t_build = time.perf_counter() - t0
    loaded = Loaded(inv, cat, Path("synthetic.yaml"), None)
    t0, c0 = time.perf_counter(), time.process_time()
    plan = make_plan(loaded)
    t_plan, c_plan = time.perf_counter() - t0, time.process_time() - c0
    rss_plan = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB -> MiB

    # FFD baseline on the very same VMs (the plan's own sizing) and the same capacities.
    t0 = time.perf_counter()
    ffd_hosts = 0
    zones = []
    for z in plan.zones:
        vms_z = [v for v in plan.sizing if v.layer == z.layer]
        extra = _service_vms(False) if z.layer == "shared" else []
        items = placement.Items.build(
            [vm_id(v.system_id, v.role, v.index) for v in vms_z] + [e[0] for e in extra],
            [(v.after.vcpu, v.after.ram_gb, v.after.disk_gb) for v in vms_z] + [e[1] for e in extra],
            [v.anti_affinity_group for v in vms_z] + [e[2] for e in extra])
        c = host_capacity(cat, z.layer)
        f = placement.ffd(items, placement.Cap(c.vcpu, c.ram_gb, c.disk_gb)).hosts + 1  # + spare: valid N+1
        ffd_hosts += f
        zones.append({"layer": z.layer, "vms": z.vms, "hosts": z.hosts, "lower_bound": z.lower_bound, "gap_pct": z.gap_pct,
                      "ffd_hosts": f, "solver": z.solver, "optimal": z.optimal, "n_plus_one": z.n_plus_one})
    t_ffd = time.perf_counter() - t0
    hosts = sum(z.hosts for z in plan.zones)
    lb = sum(z.lower_bound for z in plan.zones)
    return {
        "target_vms": vms, "vms": len(plan.sizing), "systems": len(inv.systems),
        "build_s": round(t_build, 2), "plan_s": round(t_plan, 2), "plan_cpu_s": round(c_plan, 2), "ffd_s": round(t_ffd, 2),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "peak_rss_plan_mib": round(rss_plan, 1),
        "hosts": hosts, "lower_bound": lb, "gap_pct": round((hosts - lb) / lb * 100, 2) if lb else 0.0,
        "max_zone_gap_pct": max(z["gap_pct"] for z in zones), "ffd_hosts": ffd_hosts,
        "never_worse_than_ffd": all(z["hosts"] <= z["ffd_hosts"] for z in zones),
        "standby_hosts": plan.dr.standby_hosts, "waves": len(plan.waves), "zones": zones,
    }


def sample_city() -> dict:
    from shuyaku.inventory.load import load
    from shuyaku.plan.build import make_plan

    loaded = load(ROOT / "examples" / "sample-city" / "inventory.yaml")
    make_plan(loaded)  # warm-up: imports (OR-Tools) are not the solve
    t0 = time.perf_counter()
    plan = make_plan(loaded)
    hosts = sum(z.hosts for z in plan.zones)
    lb = sum(z.lower_bound for z in plan.zones)
    return {"plan_s": round(time.perf_counter() - t0, 2), "vms": sum(z.vms for z in plan.zones), "hosts": hosts,
            "lower_bound": lb, "gap_pct": round((hosts - lb) / lb * 100, 2),
            "all_optimal": all(z.optimal for z in plan.zones)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="*", default=SIZES)
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--sample-city", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one(args.one)))
        return
    if args.sample_city:
        print(json.dumps(sample_city()))
        return

    def child(*flags: str) -> dict:
        out = subprocess.run([sys.executable, __file__, *flags], capture_output=True, text=True, check=True)
        return json.loads(out.stdout.strip().splitlines()[-1])

    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    sc = child("--sample-city")
    print(f"sample city: {sc['vms']} VMs, {sc['hosts']} hosts, lower bound {sc['lower_bound']}, gap {sc['gap_pct']} %, "
          f"all zones proven optimal: {sc['all_optimal']}, plan {sc['plan_s']} s")
    print("| VMs | systems | plan s (wall) | plan s (CPU) | peak RSS MiB | hosts | lower bound | gap % | max zone gap % |"
          " FFD hosts | FFD s | ≤ FFD |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---:|")
    for n in args.sizes:
        r = child("--one", str(n))
        print(f"| {r['vms']:,} | {r['systems']:,} | {r['plan_s']} | {r['plan_cpu_s']} | {r['peak_rss_mib']:,.0f} | "
              f"{r['hosts']:,} | "
              f"{r['lower_bound']:,} | {r['gap_pct']} | {r['max_zone_gap_pct']} | {r['ffd_hosts']:,} | {r['ffd_s']} | "
              f"{'yes' if r['never_worse_than_ffd'] else 'NO'} |", flush=True)
        print("<!-- " + json.dumps(r["zones"]) + " -->", flush=True)


if __name__ == "__main__":
    main()
