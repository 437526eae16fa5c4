"""`shuyaku vendor init` and the vendor project it writes, run under Pulumi's mocks against the platform's
real outputs (the platform program built under mocks on the same site data)."""

from __future__ import annotations

import filecmp
import ipaddress
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

        rec, _ = mocks.run(program_, stack_outputs={STACK: outputs}, project="vendor")
    finally:
        sys.path.remove(str(project))
        sys.modules.pop("workload", None)
    return rec


def test_init_writes_a_project_and_refuses_bad_input(tmp_path: Path) -> None:
    site = site_file(tmp_path)
    target = tmp_path / "vendor-t0003"
    ok = runner.invoke(shuyaku_app, ["vendor", "init", "--platform-stack", STACK, "--tenant", "T0003", "--dir", str(target),
                                 "--site-data", str(site)])
    assert ok.exit_code == 0, ok.output
    assert sorted(p.name for p in target.iterdir()) == sorted(cli.FILES)
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
