"""Regenerate the committed per-site data of the sample city (the Pulumi stacks point at it).

Run after changing the sample inventory, the catalogue or the planner:
    .venv/bin/python -m shuyaku.cli.regen
tests/unit/test_plan_site_files.py fails while the committed files are stale.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
INVENTORY = ROOT / "examples/sample-city/inventory.yaml"
PLATFORM_DIR = ROOT / "examples/sample-city/platform"


def expected() -> dict[str, str]:
    from shuyaku.cli.plan import site_files
    from shuyaku.inventory.load import load
    from shuyaku.plan.build import make_plan

    loaded = load(INVENTORY)
    return site_files(make_plan(loaded), loaded)


def main() -> None:
    PLATFORM_DIR.mkdir(parents=True, exist_ok=True)
    for name, text in expected().items():
        (PLATFORM_DIR / name).write_text(text, encoding="utf-8")
        print(PLATFORM_DIR / name)


if __name__ == "__main__":
    main()
