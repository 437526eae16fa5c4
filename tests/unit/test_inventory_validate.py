"""`shuyaku validate`: every class of bad input is reported at its file:line:column with a fix, exit 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from shuyaku.contracts.problems import ProblemsError
from shuyaku.inventory.load import load

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "examples" / "sample-city" / "inventory.yaml"
CATALOGUE = ROOT / "examples" / "sample-city" / "cost-catalogue.yaml"


@pytest.fixture(autouse=True)
def english(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHUYAKU_LANG", "en")


def run(*args: str, lang: str = "en") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shuyaku.cli", *args],
        capture_output=True, text=True, cwd=ROOT, env={"SHUYAKU_LANG": lang, "PATH": "/usr/bin:/bin"},
    )


def minimal_system(sid: str = "A01", **over: object) -> dict:
    base: dict = {
        "id": sid, "name": "テスト業務", "department": "情報政策課", "layer": "lgwan", "vendor": "v",
        "users": 10, "rpo_hours": 24, "rto_hours": 48,
        "servers": [{"role": "ap", "count": 1, "vcpu": 2, "ram_gb": 8, "disk_gb": 100,
                     "os": "rhel", "os_version": "8", "purchase_year": 2020}],
        "costs": {"hardware": 1, "maintenance": 1, "licences": 1, "operations": 1, "facility": 1},
    }
    base.update(over)
    return base


def write_inventory(tmp_path: Path, systems: list[dict], **muni: object) -> Path:
    m = {"name": "テスト町", "population": 1000, "separation_model": "alpha", "fiscal_year": 2026}
    m.update(muni)
    p = tmp_path / "inventory.yaml"
    p.write_text(yaml.safe_dump({"municipality": m, "systems": systems}, allow_unicode=True, sort_keys=False))
    return p


def problems_of(path: Path, catalogue: Path | None = None) -> list:
    with pytest.raises(ProblemsError) as exc:
        load(path, catalogue)
    return exc.value.problems


def test_sample_city_is_valid_and_has_what_the_issue_asks() -> None:
    inv = load(SAMPLE).inventory
    assert len(inv.systems) == 80
    ops = {s.standard_op for s in inv.systems if s.standard_op}
    assert len(ops) == 20
    assert all(1 <= sum(sv.count for sv in s.servers) <= 8 for s in inv.systems)
    assert 400_000 <= inv.municipality.population <= 460_000
    result = run("validate", str(SAMPLE))
    assert result.returncode == 0, result.stderr
    assert "80 systems" in result.stdout


def test_cost_scale_is_plausible_against_mic_survey() -> None:
    # MIC FY2017: about ¥3,742 of IT spend per resident; the business systems' server side is most but not all.
    inv = load(SAMPLE).inventory
    total = sum(s.costs.total for s in inv.systems)
    assert 0.4 <= total / (3742 * inv.municipality.population) <= 0.9


def test_missing_file_exit_2_names_it(tmp_path: Path) -> None:
    r = run("validate", str(tmp_path / "nope.yaml"))
    assert r.returncode == 2
    assert "nope.yaml" in r.stderr and "file not found" in r.stderr
    assert "Traceback" not in r.stderr


def test_yaml_syntax_error_has_line_and_column(tmp_path: Path) -> None:
    p = tmp_path / "bad.yaml"
    p.write_text("municipality:\n  name: x\n  population: [1, 2\nsystems: []\n")
    r = run("validate", str(p))
    assert r.returncode == 2
    assert f"{p}:4:" in r.stderr and "YAML syntax error" in r.stderr


def test_every_schema_problem_is_collected_with_position(tmp_path: Path) -> None:
    bad = minimal_system("A01", layer="cloud", colour="red")
    bad["servers"][0]["vcpu"] = "four"
    bad["servers"][0]["ram_gb"] = -1
    p = write_inventory(tmp_path, [bad], population=0)
    found = {(pr.field, pr.line > 0) for pr in problems_of(p)}
    assert ("municipality.population", True) in found
    assert ("systems[0].layer", True) in found
    assert ("systems[0].colour", True) in found
    assert ("systems[0].servers[0].vcpu", True) in found
    assert ("systems[0].servers[0].ram_gb", True) in found


def test_unknown_key_suggests_the_right_one(tmp_path: Path) -> None:
    p = write_inventory(tmp_path, [minimal_system(vendorr="x")])
    r = run("validate", str(p))
    assert r.returncode == 2
    assert "unknown key" in r.stderr and "did you mean 'vendor'" in r.stderr


def test_positions_point_at_the_offending_line(tmp_path: Path) -> None:
    p = write_inventory(tmp_path, [minimal_system(users=-3)])
    (problem,) = problems_of(p)
    line = p.read_text().splitlines()[problem.line - 1]
    assert line.strip().startswith("users:")
    assert problem.field == "systems[0].users"


def test_duplicate_ids_and_unknown_links_are_reported_together(tmp_path: Path) -> None:
    systems = [minimal_system("A01", links=[{"target": "ZZZ", "port": 443}]), minimal_system("A01"),
               minimal_system("B02", links=[{"target": "B02", "port": 1}])]
    msgs = [(pr.field, pr.message) for pr in problems_of(write_inventory(tmp_path, systems))]
    assert any(f == "systems[1].id" and "duplicate" in m for f, m in msgs)
    assert any(f == "systems[0].links[0].target" and "ZZZ" in m for f, m in msgs)
    assert any(f == "systems[2].links[0].target" and "itself" in m for f, m in msgs)


def test_duplicate_yaml_keys_are_an_error(tmp_path: Path) -> None:
    p = tmp_path / "dup.yaml"
    p.write_text(SAMPLE.read_text(encoding="utf-8").replace("  population: 432000\n",
                                                            "  population: 432000\n  population: 5\n", 1))
    (problem,) = problems_of(p)
    assert "duplicate key" in problem.message and problem.field == "municipality.population"


def test_server_larger_than_any_host_needs_the_catalogue(tmp_path: Path) -> None:
    big = minimal_system()
    big["servers"][0]["ram_gb"] = 4096
    p = write_inventory(tmp_path, [big])
    assert load(p).inventory  # without a catalogue there is no host to compare with
    (problem,) = problems_of(p, CATALOGUE)
    assert problem.field == "systems[0].servers[0].ram_gb" and "exceeds" in problem.message


def test_impossible_values(tmp_path: Path) -> None:
    s = minimal_system(cidr="10.20.1.7/24")
    s["servers"][0].update(purchase_year=2030, os="solaris", p95_cpu_pct=140)
    t = minimal_system("B01", cidr="10.10.0.0/24")  # an lgwan system pinned inside the mynumber range
    fields = {pr.field for pr in problems_of(write_inventory(tmp_path, [s, t]), CATALOGUE)}
    assert {"systems[0].servers[0].purchase_year", "systems[0].servers[0].os",
            "systems[0].servers[0].p95_cpu_pct", "systems[0].cidr", "systems[1].cidr"} <= fields


def test_unknown_os_version_lists_known_ones(tmp_path: Path) -> None:
    s = minimal_system()
    s["servers"][0]["os_version"] = "11"
    (problem,) = problems_of(write_inventory(tmp_path, [s]))
    assert problem.field == "systems[0].servers[0].os_version" and "9" in problem.fix


def test_json_output_lists_problems(tmp_path: Path) -> None:
    p = write_inventory(tmp_path, [minimal_system(users=-1), minimal_system("A01")])
    r = run("validate", str(p), "--format", "json")
    assert r.returncode == 2
    doc = json.loads(r.stdout)
    assert doc["ok"] is False and len(doc["problems"]) == 2
    assert {"file", "line", "column", "field", "message", "fix"} <= set(doc["problems"][0])


def test_messages_are_japanese_by_default(tmp_path: Path) -> None:
    r = run("validate", str(tmp_path / "nope.yaml"), lang="ja")
    assert "ファイルが見つかりません" in r.stderr and "修正方法" in r.stderr


def test_schema_command_prints_closed_json_schema() -> None:
    r = run("schema", "inventory")
    assert r.returncode == 0
    schema = json.loads(r.stdout)
    assert schema["additionalProperties"] is False
    assert all(d.get("additionalProperties") is False for d in schema["$defs"].values() if d.get("type") == "object")


@pytest.mark.parametrize("name", ["inventory", "catalogue", "plan", "site", "tenant-outputs", "stack-config"])
def test_committed_schemas_are_current(name: str) -> None:
    from shuyaku.cli import SchemaName, json_schema

    committed = json.loads((ROOT / "schemas" / f"{name}.json").read_text(encoding="utf-8"))
    assert committed == json_schema(SchemaName(name)), f"run: shuyaku schema {name} > schemas/{name}.json"


def test_sample_validates_against_committed_json_schema() -> None:
    import jsonschema

    schema = json.loads((ROOT / "schemas" / "inventory.json").read_text(encoding="utf-8"))
    jsonschema.validate(yaml.safe_load(SAMPLE.read_text(encoding="utf-8")), schema)


def test_a_name_typed_decomposed_is_kept_in_one_spelling(tmp_path: Path) -> None:
    """"ガ" as カ + combining mark (as some Mac and PDF copy-paste produces) is the same name: stored as NFC, so
    one system never becomes two tenants."""
    import unicodedata

    decomposed = unicodedata.normalize("NFD", "ガス水道課")
    assert decomposed != "ガス水道課"
    inv = load(write_inventory(tmp_path, [minimal_system(department=decomposed)])).inventory
    assert inv.systems[0].department == "ガス水道課"


def test_numbers_in_quotes_or_true_are_not_numbers(tmp_path: Path) -> None:
    """As the editor's JSON Schema says: "25" and true are refused where a number belongs (pydantic alone would
    take them), with the value to type."""
    p = write_inventory(tmp_path, [minimal_system(users="25", rpo_hours=True)])
    found = {pr.field: pr for pr in problems_of(p)}
    assert found["systems[0].users"].code == "schema.number_as_text" and "25" in found["systems[0].users"].fix
    assert found["systems[0].rpo_hours"].code == "schema.type"


def test_a_merged_key_may_be_overridden_but_not_written_twice(tmp_path: Path) -> None:
    """YAML merges (`<<: *base`) let a server override what it shares; that is not a duplicate key."""
    head = ("municipality: {name: テスト町, population: 1000, separation_model: alpha, fiscal_year: 2026}\n"
            "systems:\n- id: A01\n  name: 業務\n  department: 課\n  layer: lgwan\n  vendor: v\n  users: 1\n"
            "  rpo_hours: 24\n  rto_hours: 48\n"
            "  costs: {hardware: 1, maintenance: 1, licences: 1, operations: 1, facility: 1}\n"
            "  servers:\n  - &base {role: ap, count: 1, vcpu: 2, ram_gb: 8, disk_gb: 100, os: rhel, os_version: '8',"
            " purchase_year: 2020}\n")
    good = tmp_path / "merge.yaml"
    good.write_text(head + "  - <<: *base\n    role: db\n    count: 2\n", encoding="utf-8")
    servers = load(good).inventory.systems[0].servers
    assert [(s.role, s.count, s.vcpu) for s in servers] == [("ap", 1, 2), ("db", 2, 2)]
    twice = tmp_path / "twice.yaml"
    twice.write_text(head + "  - <<: *base\n    role: db\n    role: web\n", encoding="utf-8")
    (problem,) = problems_of(twice)
    assert problem.code == "yaml.duplicate_key" and problem.field == "systems[0].servers[1].role"
