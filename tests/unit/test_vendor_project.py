"""`shuyaku vendor init` and the vendor project it writes, run under Pulumi's mocks against the platform's
real outputs (the platform program built under mocks on the same site data)."""

from __future__ import annotations

import filecmp
import ipaddress
import re
import runpy
import sys
from functools import cache
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shuyaku.cli import app as shuyaku_app
from shuyaku.cli import vendor as cli
from shuyaku.contracts.sitedata import SiteData
from shuyaku.platform import config, mocks, program, synthetic
from shuyaku.vendor import handoff, manifest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples/vendor-juki"
SAMPLE_SITE = ROOT / "examples/sample-city/platform/site-onprem.json"
STACK = "organization/shuyaku-platform/onprem"
runner = CliRunner()


@cache
def platform_outputs(site_json: str) -> dict:
    site = SiteData.model_validate_json(site_json)
    _, out = mocks.run(lambda: program.build(config.from_site(site)))
    return out


def site_file(tmp_path: Path) -> Path:
    path = tmp_path / "site-onprem.json"
    path.write_text(synthetic.site(15).model_dump_json(indent=1), encoding="utf-8")
    return path


def run_project(project: Path, outputs: dict, main: str | None = None) -> mocks.RecordingMocks:
    """Run a vendor project's __main__.py the way the Python language host does (its directory on sys.path)."""
    sys.modules.pop("workload", None)
    sys.path.insert(0, str(project))
    try:
        def program_() -> dict:
            g = runpy.run_path(main or str(project / "__main__.py"), run_name="__main__")
            return {"servers": g["workload"].servers}

        # Each project reads its tenant's hand-off, as `vendor publish` writes it, and nothing of the platform.
        handoffs = {handoff.reference(sid, t["site"]): {"tenant": t} for sid, t in outputs["tenants"].items()}
        rec, _ = mocks.run(program_, stack_outputs=handoffs, project="vendor")
    finally:
        sys.path.remove(str(project))
        sys.modules.pop("workload", None)
    return rec


def test_init_writes_a_project_and_refuses_bad_input(tmp_path: Path) -> None:
    site = site_file(tmp_path)
    target = tmp_path / "vendor-t0003"
    ok = runner.invoke(shuyaku_app, ["vendor", "init", "--platform-stack", STACK, "--tenant", "T0003", "--dir", str(target),
                                 "--site-data", str(site), "--no-check"])
    assert ok.exit_code == 0, ok.output
    assert sorted(p.name for p in target.iterdir()) == sorted([*cli.FILES, manifest.NAME])
    readme = (target / "README.md").read_text(encoding="utf-8")
    assert "デプロイ手順" in readme and "pulumi up" in readme and "T0003-net" in readme

    again = runner.invoke(shuyaku_app, ["vendor", "init", "--platform-stack", STACK, "--tenant", "T0003", "--dir", str(target),
                                    "--site-data", str(site)])
    assert again.exit_code == 2 and "空ではありません" in again.output

    unknown = runner.invoke(shuyaku_app, ["vendor", "init", "--platform-stack", STACK, "--tenant", "T0030", "--dir",
                                      str(tmp_path / "x"), "--site-data", str(site), "--lang", "en"])
    assert unknown.exit_code == 2 and "no tenant T0030" in unknown.output and "close matches: T0013" in unknown.output
    assert not (tmp_path / "x").exists()

    bad_ref = runner.invoke(shuyaku_app, ["vendor", "init", "--platform-stack", "onprem", "--tenant", "T0003", "--dir",
                                      str(tmp_path / "y"), "--site-data", str(site)])
    assert bad_ref.exit_code == 2 and "組織/プロジェクト/スタック" in bad_ref.output

    broken = tmp_path / "broken.json"
    broken.write_text('{"site": "onprem"}', encoding="utf-8")
    bad_site = runner.invoke(shuyaku_app, ["vendor", "init", "--platform-stack", STACK, "--tenant", "T0003", "--dir",
                                       str(tmp_path / "z"), "--site-data", str(broken)])
    assert bad_site.exit_code == 2 and "broken.json" in bad_site.output
    assert "Traceback" not in bad_site.output


def test_generated_project_places_servers_only_in_its_tenant_network(tmp_path: Path) -> None:
    site = site_file(tmp_path)
    target = tmp_path / "vendor"
    cli.init(STACK, "T0003", target, site)
    outputs = platform_outputs(site.read_text(encoding="utf-8"))
    tenant = outputs["tenants"]["T0003"]
    rec = run_project(target, outputs)

    ports = rec.of_type("openstack:networking/port:Port")
    servers = rec.of_type("openstack:compute/instance:Instance")
    planned = next(t for t in SiteData.model_validate_json(site.read_text()).tenants if t.system_id == "T0003")
    assert len(servers) == len(ports) == sum(s.count for s in planned.servers)
    assert {p.inputs["networkId"] for p in ports} == {tenant["network_id"]}
    assert all(p.inputs["fixedIps"] == [{"subnetId": tenant["subnet_id"]}] for p in ports)
    assert all(p.inputs["securityGroupIds"] == list(tenant["security_group_ids"].values()) for p in ports)
    assert set(tenant["security_group_ids"]) == {"tenant", "base"}
    port_ids = {p.id for p in ports}
    for s in servers:
        assert [n["port"] for n in s.inputs["networks"]] and all(n["port"] in port_ids for n in s.inputs["networks"])
        assert all(set(n) == {"port"} for n in s.inputs["networks"])  # no second network, no network by name
        assert s.inputs["flavorName"] in tenant["allowed_flavors"]
        assert s.inputs["imageName"] in tenant["allowed_images"]
        assert s.inputs["availabilityZone"] == tenant["availability_zone"]
        assert set(tenant["tags"]) <= set(s.inputs["tags"])
    # nothing else that could reach another network
    kinds = {r.typ for r in rec.custom()} - {"pulumi:pulumi:StackReference"}
    assert kinds <= {"openstack:networking/port:Port", "openstack:compute/instance:Instance",
                     "openstack:compute/serverGroup:ServerGroup"}
    anti = [s for s in planned.servers if s.anti_affinity and s.count > 1]
    assert len(rec.of_type("openstack:compute/serverGroup:ServerGroup")) == len(anti)


def test_disallowed_flavor_or_image_is_refused_before_anything_is_created(tmp_path: Path) -> None:
    site = site_file(tmp_path)
    target = tmp_path / "vendor"
    cli.init(STACK, "T0003", target, site)
    outputs = platform_outputs(site.read_text(encoding="utf-8"))
    main = target / "__main__.py"
    text = main.read_text(encoding="utf-8")
    other_layer_flavor = next(f for f in outputs["tenants"]["T0005"]["allowed_flavors"])  # another layer's flavor
    assert other_layer_flavor not in outputs["tenants"]["T0003"]["allowed_flavors"]
    bad = tmp_path / "bad_main.py"
    bad.write_text(text.replace('flavor="mynumber.s4.large"', f'flavor="{other_layer_flavor}"', 1)
                   .replace('image="debian-12"', 'image="centos-6"', 1), encoding="utf-8")
    with pytest.raises(Exception, match=r"許可されていません / flavor .* is not allowed") as exc:
        run_project(target, outputs, main=str(bad))
    assert "centos-6" in str(exc.value)


def test_my_number_data_volumes_use_the_encrypted_type(tmp_path: Path) -> None:
    site = site_file(tmp_path)
    target = tmp_path / "vendor"
    cli.init(STACK, "T0003", target, site)  # T0003 sits in the My Number layer
    outputs = platform_outputs(site.read_text(encoding="utf-8"))
    assert outputs["tenants"]["T0003"]["layer"] == "mynumber"
    main = target / "__main__.py"
    main.write_text(main.read_text(encoding="utf-8").replace("anti_affinity=False)", "anti_affinity=False, volume_gb=50)"),
                    encoding="utf-8")
    rec = run_project(target, outputs)
    volumes = rec.of_type("openstack:blockstorage/volume:Volume")
    assert volumes and {v.inputs["volumeType"] for v in volumes} == {"encrypted"}
    assert not [r for r in rec.resources if "floatingIp" in r.typ]


def test_committed_example_is_current_and_stays_in_the_resident_register_tenant(tmp_path: Path) -> None:
    fresh = tmp_path / "vendor-juki"
    cli.init(STACK, "S001", fresh, cwd=ROOT)
    for name in cli.FILES:
        assert filecmp.cmp(fresh / name, EXAMPLE / name, shallow=False), f"{name}: regenerate examples/vendor-juki"
    outputs = platform_outputs(SAMPLE_SITE.read_text(encoding="utf-8"))
    juki = outputs["tenants"]["S001"]
    rec = run_project(EXAMPLE, outputs)
    ports = rec.of_type("openstack:networking/port:Port")
    assert ports and {p.inputs["networkId"] for p in ports} == {juki["network_id"]}
    cidr = ipaddress.ip_network(juki["cidr"])
    assert cidr.prefixlen == 24
    assert {s.inputs["availabilityZone"] for s in rec.of_type("openstack:compute/instance:Instance")} == {"az-mynumber"}


def test_init_finds_the_site_data_through_the_platform_stack_or_says_how(tmp_path: Path) -> None:
    # outside any platform checkout and without --site-data: a clear instruction, and nothing written
    with pytest.raises(cli.InitError, match="--site-data"):
        cli.init(STACK, "S001", tmp_path / "a", cwd=tmp_path)
    assert not (tmp_path / "a").exists()
    missing = cli.InitError
    with pytest.raises(missing, match="--site-data"):
        cli.find_site_data(cli.StackRef.parse(STACK), tmp_path)
    with pytest.raises(missing, match=r"Pulumi\.nosuch\.yaml"):
        cli.find_site_data(cli.StackRef.parse("organization/shuyaku-platform/nosuch"), ROOT)


def test_a_backup_only_system_has_no_standby_tenant_at_the_dr_site(tmp_path: Path) -> None:
    onprem = synthetic.site(15)
    warm = set(onprem.dr.warm_systems)
    dr = onprem.model_copy(update={"site": "dr", "tenants": [t for t in onprem.tenants if t.system_id in warm]})
    path = tmp_path / "site-dr.json"
    path.write_text(dr.model_dump_json(), encoding="utf-8")
    backup = onprem.dr.backup_systems[0]
    res = runner.invoke(shuyaku_app, ["vendor", "init", "--platform-stack", "organization/shuyaku-platform/dr", "--tenant",
                                      backup, "--dir", str(tmp_path / "v"), "--site-data", str(path), "--lang", "en"])
    assert res.exit_code == 2 and "backup-and-restore" in res.output


# ------------------------------------------------------------------------------------------- hostile input

HOSTILE = [
    'a"""; import os; os.system("id") #',
    "line one\nline two\r\n$(touch /tmp/pwned) `id` ; rm -rf ~",
    "quote ' and \" and trailing backslash \\",
    "```\n# heading | a | b |\n<script>alert(1)</script> [x](javascript:alert(1))",
    "nul\x00 bell\x07 sep\u2028 bidi\u202eevil",
]


def hostile_site(text: str) -> tuple[SiteData, str]:
    """A site whose tenant T0003 carries `text` in every free-text field, its id included (built without
    validation, as a hand-edited site file might be if a check upstream were missing)."""
    site = synthetic.site(15)
    sid = f"T0003{text}"
    tenants = [t.model_copy(update={"system_id": sid, "name": text, "department": text, "vendor": text})
               if t.system_id == "T0003" else t for t in site.tenants]
    return site.model_copy(update={"tenants": tenants, "municipality": text}), sid


def docstring_and_literals(source: str) -> tuple[str | None, dict[str, object]]:
    import ast

    tree = ast.parse(source)
    literals: dict[str, object] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            value = node.value.values[-1] if isinstance(node.value, ast.BoolOp) else node.value
            if isinstance(value, ast.Constant):
                literals[node.targets[0].id] = value.value
    return ast.get_docstring(tree, clean=False), literals


@pytest.mark.parametrize("text", HOSTILE, ids=["triple-quote", "newline-shell", "quotes-backslash", "markdown-html",
                                               "control-bidi"])
def test_hostile_names_render_as_data_in_every_file(tmp_path: Path, text: str) -> None:
    import ast
    import shlex

    import yaml

    site, sid = hostile_site(text)
    tenant = next(t for t in site.tenants if t.system_id == sid)
    ref = cli.StackRef("org$(id)", "shuyaku-'platform\"", "onprem`x`")
    target = tmp_path / f"dir $(touch x) 'q' {sid[-12:]}"
    files = cli.render(ref, site, tenant, target)

    doc, literals = docstring_and_literals(files["__main__.py"])
    assert doc is not None and doc.startswith(f"{text}（{sid}）のサーバ構成")  # the docstring reads back as the data
    assert literals["SYSTEM_ID"] == sid and literals["HANDOFF_STACK"] == handoff.reference(sid, site.site)
    ast.parse(files["workload.py"])
    servers = [n for n in ast.walk(ast.parse(files["__main__.py"])) if isinstance(n, ast.Call)
               and getattr(n.func, "id", "") == "Server"]
    assert len(servers) == len(tenant.servers)

    project = yaml.safe_load(files["Pulumi.yaml"])
    assert set(project) == {"name", "description", "runtime", "config"}
    # the hostile id reads back as the tenant the pack judges the stack by, not as extra keys
    assert project["config"] == {"tenant": {"value": sid}, "layer": {"value": str(tenant.layer)}}
    assert project["description"].startswith(f"{text}（{sid}）")
    assert project["runtime"] == {"name": "python", "options": {"toolchain": "pip", "virtualenv": "venv"}}
    assert project["name"].startswith("vendor-t0003") and all(c.isalnum() or c in "-_." for c in project["name"])

    readme = files["README.md"]
    fences = [i for i, line in enumerate(readme.splitlines()) if line.startswith("```")]
    assert len(fences) == 2, "a value closed or opened a code fence"
    shell = readme.splitlines()[fences[0] + 1:fences[1]]
    assert len(shell) == 7 and all("\n" not in line for line in shell)
    words = {line.split()[0]: line for line in shell}
    if all(c.isprintable() for c in target.name):
        assert shlex.split(words["cd"]) == ["cd", target.name]
    # the project reads its hand-off by the name baked into __main__.py: no platform stack to configure
    assert not [line for line in shell if line.startswith("pulumi config set")]
    assert shlex.split(next(line for line in shell if line.startswith("pulumi stack init"))) == \
        ["pulumi", "stack", "init", ref.stack]
    table = [line for line in readme.splitlines() if line.startswith("| ")]
    assert len(table) == 9  # the header, seven facts and the My Number row: no value added or split a row
    assert all(len(re.findall(r"(?<!\\)\|", line)) == 3 for line in table), "a value added a table cell"
    assert "\u202e" not in readme and "\x00" not in readme and "\u2028" not in readme
    # outside code spans (which Markdown prints as text), no tag or link survives unescaped
    lines = readme.splitlines()
    prose = "\n".join(re.sub(r"(?<!`)(`+)(?!`).*?(?<!`)\1(?!`)", "", line)
                      for line in lines[:fences[0]] + lines[fences[1] + 1:])
    assert not re.search(r"(?<!\\)<script", prose) and not re.search(r"(?<!\\)\]\(javascript", prose)


def test_a_template_line_without_an_escaping_filter_is_refused() -> None:
    from shuyaku.vendor import escape

    env = escape.environment()
    with pytest.raises(escape.UnescapedValueError, match="without an escaping filter"):
        env.from_string("x = {{ name }}").render(name='"; import os')
    assert env.from_string("x = {{ name | py }}").render(name='"; import os') == 'x = "\\"; import os"'


def test_an_unwritable_directory_is_a_message_not_a_traceback(tmp_path: Path) -> None:
    site = site_file(tmp_path)
    blocker = tmp_path / "a-file"
    blocker.write_text("x", encoding="utf-8")
    for target in ["/proc/self/x", str(blocker / "sub")]:
        res = runner.invoke(shuyaku_app, ["vendor", "init", "--platform-stack", STACK, "--tenant", "T0003", "--dir", target,
                                          "--site-data", str(site), "--lang", "en", "--no-check"])
        assert res.exit_code == 2, res.output
        assert "cannot create the project in" in res.output and "--dir" in res.output
        assert "Traceback" not in res.output and isinstance(res.exception, SystemExit)
    ja = runner.invoke(shuyaku_app, ["vendor", "init", "--platform-stack", STACK, "--tenant", "T0003", "--dir",
                                     "/proc/self/x", "--site-data", str(site), "--lang", "ja", "--no-check"])
    assert ja.exit_code == 2 and "プロジェクトを作成できません" in ja.output


def test_generated_project_refuses_outputs_that_break_the_contract(tmp_path: Path) -> None:
    import copy
    import json

    site = site_file(tmp_path)
    target = tmp_path / "vendor"
    cli.init(STACK, "T0003", target, site)
    committed = json.loads((ROOT / "schemas/tenant-outputs.json").read_text(encoding="utf-8"))
    assert json.loads((target / "tenant-outputs.schema.json").read_text(encoding="utf-8")) == committed
    assert "jsonschema==" in (target / "requirements.txt").read_text(encoding="utf-8")
    outputs = copy.deepcopy(platform_outputs(site.read_text(encoding="utf-8")))
    mine = outputs["tenants"]["T0003"]
    del mine["network_id"]
    mine["network_name"] = "someone-elses-net"
    mine["quotas"]["instances"] = "many"
    with pytest.raises(Exception, match=r"tenant-outputs\.schema\.json") as exc:
        run_project(target, outputs)
    text = str(exc.value)
    assert "T0003" in text and "'network_id' is a required property" in text and "network_name" in text
    assert "quotas.instances" in text
