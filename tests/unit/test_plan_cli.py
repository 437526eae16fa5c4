"""`shuyaku plan`: exit 0 with plan.json and site files on good input; exit 2 with every problem on bad input."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from shuyaku.contracts.plan import Plan
from shuyaku.contracts.sitedata import SiteData

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "examples" / "sample-city" / "inventory.yaml"
SMALL = ROOT / "examples" / "small-town" / "inventory.yaml"


def run(*args: str, lang: str = "en") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "shuyaku.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          env={"SHUYAKU_LANG": lang, "PATH": "/usr/bin:/bin"})


def test_plan_writes_the_plan_and_both_site_files_and_prints_a_summary(tmp_path: Path) -> None:
    r = run("plan", str(SMALL), "--out", str(tmp_path), "--years", "7")
    assert r.returncode == 0, r.stderr
    plan = Plan.model_validate_json((tmp_path / "plan.json").read_text(encoding="utf-8"))
    assert plan.cost.years == 7 and len(plan.cost.by_year) == 7
    for site in ("onprem", "dr"):
        assert SiteData.model_validate_json((tmp_path / f"site-{site}.json").read_text(encoding="utf-8")).site == site
    assert "hosts" in r.stdout and "lower bound" in r.stdout and "50%" in r.stdout and "break-even" in r.stdout
    assert "Traceback" not in r.stderr


def test_plan_twice_gives_identical_files(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    assert run("plan", str(SAMPLE), "--out", str(a)).returncode == 0
    assert run("plan", str(SAMPLE), "--out", str(b)).returncode == 0
    for name in ("plan.json", "site-onprem.json", "site-dr.json"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_summary_is_japanese_by_default(tmp_path: Path) -> None:
    r = run("plan", str(SMALL), "--out", str(tmp_path), lang="ja")
    assert r.returncode == 0 and "ホスト" in r.stdout and "損益分岐" in r.stdout


def test_bad_inventory_exits_2_listing_every_problem(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    text = SMALL.read_text(encoding="utf-8").replace("vcpu: 8\n    ram_gb: 32", "vcpu: -8\n    ram_gb: 32", 1)
    text = text.replace("{target: atena, protocol: tcp, port: 1433, purpose",
                        "{target: nowhere, protocol: tcp, port: 1433, purpose")
    (tmp_path / "cost-catalogue.yaml").write_text((SMALL.parent / "cost-catalogue.yaml").read_text(encoding="utf-8"),
                                                  encoding="utf-8")
    bad.write_text(text, encoding="utf-8")
    r = run("plan", str(bad), "--out", str(tmp_path / "out"))
    assert r.returncode == 2
    assert "vcpu" in r.stderr and "nowhere" in r.stderr and "2 problem(s)" in r.stderr
    assert f"{bad}:" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "out" / "plan.json").exists()


def test_missing_file_and_missing_catalogue_exit_2(tmp_path: Path) -> None:
    r = run("plan", str(tmp_path / "none.yaml"), "--out", str(tmp_path))
    assert r.returncode == 2 and "file not found" in r.stderr
    lone = tmp_path / "lone.yaml"
    text = SMALL.read_text(encoding="utf-8")
    assert "  catalogue: cost-catalogue.yaml\n" in text
    lone.write_text(text.replace("  catalogue: cost-catalogue.yaml\n", ""), encoding="utf-8")
    r = run("plan", str(lone), "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and "--catalogue" in r.stderr and "Traceback" not in r.stderr


def test_unwritable_output_exits_2(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    r = run("plan", str(SMALL), "--out", str(blocker / "sub"))
    assert r.returncode == 2 and "--out" in r.stderr and "Traceback" not in r.stderr
