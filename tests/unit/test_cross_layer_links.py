"""A My Number system linked straight to an internet system is named by validate, assess and plan,
at its line in the inventory, and --strict makes CI fail on it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SMALL = ROOT / "examples" / "small-town"


def _town(tmp_path: Path, extra_link: str | None) -> Path:
    for name in ("inventory.yaml", "cost-catalogue.yaml"):
        (tmp_path / name).write_text((SMALL / name).read_text(encoding="utf-8"), encoding="utf-8")
    inv = tmp_path / "inventory.yaml"
    if extra_link:
        text = inv.read_text(encoding="utf-8")
        inv.write_text(text.replace("  links:\n", f"  links:\n  - {extra_link}\n", 1), encoding="utf-8")
    return inv


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "shuyaku.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=120)


def test_validate_json_names_the_forbidden_link_with_code_and_line(tmp_path: Path) -> None:
    inv = _town(tmp_path, "{target: mail, protocol: tcp, port: 25, purpose: 通知}")
    r = run("validate", str(inv), "--format", "json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    forbidden = [p for p in doc["problems"] if p["code"] == "link.forbidden"]
    assert len(forbidden) == 1
    p = forbidden[0]
    assert p["field"] == "systems[0].links[0]" and p["line"] == 49 and p["severity"] == "warning"
    assert p["message_ja"].startswith("juki → mail tcp/25: マイナンバー利用事務系とインターネット接続系")
    assert p["message_en"].startswith("juki → mail tcp/25")
    mediated = {p["message_en"].split(":")[0] for p in doc["problems"] if p["code"] == "link.mediated"}
    assert "lgmail → mail tcp/25" in mediated


@pytest.mark.parametrize("command", ["validate", "assess", "plan"])
def test_strict_exits_1_and_the_terminal_names_the_link(tmp_path: Path, command: str) -> None:
    inv = _town(tmp_path, "{target: mail, protocol: tcp, port: 25}")
    extra = [] if command == "validate" else ["--out", str(tmp_path / "out")]
    loose = run(command, str(inv), *extra)
    assert loose.returncode == 0, loose.stderr
    assert "juki → mail tcp/25: マイナンバー利用事務系とインターネット接続系は接続できません" in loose.stderr
    strict = run(command, str(inv), *extra, "--strict", "--lang", "en")
    assert strict.returncode == 1
    assert "juki → mail tcp/25: the My Number layer and the Internet layer never connect" in strict.stderr


def test_strict_passes_a_town_without_forbidden_links(tmp_path: Path) -> None:
    r = run("validate", str(_town(tmp_path, None)), "--strict")
    assert r.returncode == 0, r.stderr
    assert "[禁止]" not in r.stderr and "[経由]" in r.stderr


def _with_shared_bridge(tmp_path: Path, mediates: str | None) -> Path:
    """The small town's shared AD server gains links into the My Number and internet layers."""
    inv = _town(tmp_path, None)
    text = inv.read_text(encoding="utf-8")
    head, ad, tail = text.partition("- id: ad\n")
    assert ad, "the small town has a shared system 'ad'"
    extra = f"  mediates: {mediates}\n" if mediates else ""
    body = tail.replace("  layer: shared\n", "  layer: shared\n" + extra, 1)
    links = "  links:\n  - {target: juki, protocol: tcp, port: 443}\n  - {target: mail, protocol: tcp, port: 25}\n"
    body = body.replace("terminals:\n", links + "terminals:\n", 1)
    inv.write_text(head + ad + body, encoding="utf-8")
    return inv


@pytest.mark.parametrize("mediates", [None, "hub", "relay"])
def test_a_shared_system_linking_two_layers_is_refused(tmp_path: Path, mediates: str | None) -> None:
    inv = _with_shared_bridge(tmp_path, mediates)
    r = run("validate", str(inv), "--format", "json")
    assert r.returncode == 2, r.stdout + r.stderr
    problems = json.loads(r.stdout)["problems"]
    bridge = [p for p in problems if p["code"] == "link.shared_bridge"]
    assert len(bridge) == 1 and bridge[0]["field"].endswith(".links")
    assert "マイナンバー利用事務系とインターネット接続系" in bridge[0]["message_ja"]


def test_the_sample_citys_hub_and_relay_mediate_only_their_own_layers() -> None:
    r = run("validate", str(ROOT / "examples" / "sample-city" / "inventory.yaml"), "--format", "json")
    assert r.returncode == 0, r.stdout
    assert not [p for p in json.loads(r.stdout)["problems"] if p["code"] == "link.shared_bridge"]
