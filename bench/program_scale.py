"""How the platform program scales with the number of tenants (not a test: it prints figures).

Builds the real program (`shuyaku.platform.program.build`) under Pulumi's mocks — the engine is the only
stand-in — for synthetic cities of 80, 500 and 2,000 tenants, and for the sample city's plan output when it
exists. Each size runs in a fresh process so that peak memory (max RSS) belongs to that size alone.

    .venv/bin/python bench/program_scale.py                 # 80, 500, 2000
    .venv/bin/python bench/program_scale.py --sizes 80 --record   # also rewrite "## Platform program" in bench/RESULTS.md
"""

from __future__ import annotations

import argparse
import json
import os
import platform as host
import re
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "examples/sample-city/platform/site-onprem.json"
RESULTS = ROOT / "bench/RESULTS.md"


def one(size: str) -> dict:
    """Measure one city in this process."""
    import warnings

    warnings.simplefilter("ignore", DeprecationWarning)
    t0 = time.perf_counter()
    from shuyaku.contracts.sitedata import SiteData
    from shuyaku.platform import config, mocks, program, synthetic

    t_import = time.perf_counter() - t0
    site = SiteData.model_validate_json(SAMPLE.read_text(encoding="utf-8")) if size == "sample" else synthetic.site(int(size))
    if os.environ.get("SHUYAKU_BENCH_DEFAULT_GC") != "1":
        program.tune_gc()  # as the entry point does (stacks/__main__.py -> shuyaku.platform.entry.main)
    t1 = time.perf_counter()
    cfg = config.from_site(site)
    t_config = time.perf_counter() - t1
    t2, c2 = time.perf_counter(), time.process_time()
    rec, out = mocks.run(lambda: program.build(cfg))
    t_build, c_build = time.perf_counter() - t2, time.process_time() - c2
    custom = len(rec.custom())
    return {
        "size": size,
        "tenants": len(site.tenants),
        "flows": len(site.flows),
        "config_s": round(t_config, 3),
        "build_s": round(t_build, 2),
        "cpu_s": round(c_build, 2),  # CPU time of the build, all threads: less sensitive to other jobs on the machine
        "import_s": round(t_import, 2),
        "resources": custom,
        "components": len(rec.resources) - custom,
        "outputs_tenants": len(out["tenants"]),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def measure(sizes: list[str]) -> list[dict]:
    rows = []
    for size in sizes:
        proc = subprocess.run([sys.executable, __file__, "--one", size], capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            sys.stderr.write(proc.stderr[-3000:])
            raise SystemExit(f"size {size} failed")
        row = json.loads(proc.stdout.strip().splitlines()[-1])
        rows.append(row)
        print(f"{row['size']:>6}: {row['tenants']:5d} tenants {row['resources']:6d} resources "
              f"config {row['config_s']:6.2f} s  build {row['build_s']:7.2f} s (cpu {row['cpu_s']:7.2f} s)  "
              f"{1000 * row['build_s'] / row['tenants']:6.1f} ms/tenant  peak {row['peak_rss_mib']:7.1f} MiB", flush=True)
    return rows


def load_avg() -> str:
    try:
        return " ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "?"


def table(rows: list[dict]) -> str:
    lines = ["| city | tenants | flows | resources registered | config check (s) | build, wall (s) | build, CPU (s) "
             "| ms per tenant (wall) | ms per resource (wall) | peak memory (MiB) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        name = "sample city (plan output)" if r["size"] == "sample" else f"synthetic {r['size']}"
        lines.append(f"| {name} | {r['tenants']} | {r['flows']} | {r['resources']} | {r['config_s']:.2f} | {r['build_s']:.2f} "
                     f"| {r['cpu_s']:.2f} "
                     f"| {1000 * r['build_s'] / r['tenants']:.1f} | {1000 * r['build_s'] / r['resources']:.2f} "
                     f"| {r['peak_rss_mib']:.0f} |")
    return "\n".join(lines)


def record(rows: list[dict], load_before: str, load_after: str) -> None:
    synth = [r for r in rows if r["size"] != "sample"]
    growth = ""
    if len(synth) >= 2:
        a, b = synth[0], synth[-1]

        def per(r: dict, key: str) -> float:
            return 1000 * r[key] / r["tenants"]

        growth = (f"Per tenant, from {a['tenants']} to {b['tenants']} tenants: CPU {per(a, 'cpu_s'):.1f} → "
                  f"{per(b, 'cpu_s'):.1f} ms (× {per(b, 'cpu_s') / per(a, 'cpu_s'):.2f}; 1.00 = perfectly linear), "
                  f"wall {per(a, 'build_s'):.1f} → {per(b, 'build_s'):.1f} ms (× {per(b, 'build_s') / per(a, 'build_s'):.2f}, "
                  f"inflated by the other jobs); resources per tenant "
                  f"{a['resources'] / a['tenants']:.1f} → {b['resources'] / b['tenants']:.1f}.")
    section = f"""## Platform program

`bench/program_scale.py` builds the platform program (`shuyaku.platform.program.build`) under Pulumi's mocks
(the real components and pulumi-openstack classes; only the engine is mocked), one fresh process per city.
Synthetic cities come from `shuyaku.platform.synthetic` (layer mix ½ My Number, ⅖ LGWAN; 1–3 links per tenant).

Machine: {os.cpu_count()} cores, {_mem_gib()} GiB, shared with other jobs (load average {load_before} before,
{load_after} after); Python {host.python_version()}, pulumi 3.272.0, pulumi-openstack 5.5.3.
Date: {datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")}.

{table(rows)}

{growth}
Target: 80 tenants in under 5 s. Almost all of the time is the Pulumi Python SDK's per-resource
registration work (serialising inputs, capturing a stack trace per resource, the asyncio round trip to the
monitor), so build time follows the number of resources, and the number of resources follows the data:
about 11 per tenant plus one per security-group rule.
"""
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n"
    pattern = re.compile(r"^## Platform program\n.*?(?=^## |\Z)", re.S | re.M)
    text = pattern.sub(section + "\n", text) if pattern.search(text) else text.rstrip("\n") + "\n\n" + section
    RESULTS.write_text(text, encoding="utf-8")
    print(f"recorded in {RESULTS}")


def _mem_gib() -> str:
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            kb = int(f.readline().split()[1])
        return f"{kb / 1024 / 1024:.0f}"
    except (OSError, ValueError, IndexError):
        return "?"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="80,500,2000", help="comma-separated tenant counts; 'sample' = the sample city")
    ap.add_argument("--record", action="store_true", help="rewrite the '## Platform program' section of bench/RESULTS.md")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one(args.one)))
        return
    sizes = [s for s in args.sizes.split(",") if s]
    if SAMPLE.is_file() and "sample" not in sizes:
        sizes = ["sample", *sizes]
    before = load_avg()
    rows = measure(sizes)
    after = load_avg()
    print(f"load average before {before}, after {after}")
    if args.record:
        record(rows, before, after)


if __name__ == "__main__":
    main()
