"""Stack config and site-data errors stop the program before any resource is registered, with a message
that names the file, the line and the field, in Japanese and in English."""

from __future__ import annotations

import json
from pathlib import Path

import pulumi
import pytest
import yaml

from shuyaku.contracts.i18n import set_lang
from shuyaku.contracts.problems import Problem
from shuyaku.contracts.sitedata import SiteData
from shuyaku.platform import config, entry, mocks, synthetic

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _english_off() -> None:
    set_lang("ja")
    yield
    set_lang(None)


def write_site(tmp_path: Path, data: dict | None = None, name: str = "site-onprem.json") -> Path:
    data = data if data is not None else synthetic.site(12).model_dump(mode="json")
    path = tmp_path / name
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    return path


def base_values(site: Path) -> dict:
    return {
        "siteData": str(site),
        "lgwanNetwork": "lgwan",
        "externalNetwork": "public",
        "proxyCidr": "192.0.2.80/32",
        "terminalCidrs": json.dumps(["172.16.0.0/16"]),
        "encryptedVolumeType": "encrypted",
    }


def run_entry(tmp_path: Path, values: dict, stack_file: str | None = None) -> tuple[str, int]:
    """Run the real entry point under mocks with this config; return the error text and resources registered."""
    root = tmp_path / "project"
    (root / "stacks").mkdir(parents=True, exist_ok=True)
    if stack_file is not None:
        (root / "stacks" / "Pulumi.test.yaml").write_text(stack_file, encoding="utf-8")
    rec = mocks.RecordingMocks()
    mocks.install(rec)
    pulumi.runtime.set_all_config({f"shuyaku:{k}": v for k, v in values.items()})
    try:
        entry.load(root, stack="test")
    except pulumi.RunError as exc:
        return str(exc), len([r for r in rec.resources if r.custom])
    finally:
        pulumi.runtime.set_all_config({})
    raise AssertionError("the config was accepted")


def test_missing_site_data_file_fails_before_any_resource(tmp_path: Path) -> None:
    values = base_values(tmp_path / "nowhere" / "site-onprem.json")
    stack_file = "config:\n  shuyaku:lgwanNetwork: lgwan\n  shuyaku:siteData: nowhere/site-onprem.json\n"
    text, registered = run_entry(tmp_path, values, stack_file)
    assert registered == 0
    assert "Pulumi.test.yaml:3:3: shuyaku:siteData" in text and "[stack.file_not_found]" in text
    # both languages, from one load: Japanese first (the user's language), then English
    ja, en = text.index("サイトデータファイルが見つかりません"), text.index("site data file not found")
    assert ja < en
    assert "shuyaku plan" in text


def problems_of(values: dict, root: Path, **kw) -> dict[str, Problem]:
    """field -> problem, for a config that must be refused."""
    with pytest.raises(config.ConfigError) as exc:
        config.load(values, stack="test", project_root=root, **kw)
    return {p.field: p for p in exc.value.problems}


def test_missing_inventory_file(tmp_path: Path) -> None:
    values = {**base_values(write_site(tmp_path)), "inventory": str(tmp_path / "inventory.yaml")}
    text, registered = run_entry(tmp_path, values)
    assert registered == 0
    assert "shuyaku:inventory" in text and "inventory file not found" in text
    assert problems_of(values, tmp_path)["shuyaku:inventory"].code == "stack.file_not_found"


def test_unknown_layer_in_config_and_in_site_data(tmp_path: Path) -> None:
    values = {
        **base_values(write_site(tmp_path)),
        "isolatedLayers": json.dumps(["mynumbr"]),
        "zoneHosts": json.dumps({"dmz": ["host-1"]}),
    }
    fields = problems_of(values, tmp_path)
    typo = fields["shuyaku:isolatedLayers[0]"]
    assert typo.code == "schema.not_allowed" and "'mynumbr'" in typo.message and "(mynumber?)" in typo.fix.en
    assert fields["shuyaku:zoneHosts.dmz"].code == "schema.not_allowed"

    data = synthetic.site(12).model_dump(mode="json")
    data["tenants"][3]["layer"] = "dmz"
    site = write_site(tmp_path, data)
    with pytest.raises(config.ConfigError) as exc:
        config.load(base_values(site), stack="test", project_root=tmp_path)
    (problem,) = exc.value.problems
    assert problem.field == "tenants[3].layer" and problem.file == str(site)
    lines = site.read_text(encoding="utf-8").splitlines()
    assert '"dmz"' in lines[problem.line - 1]  # the line the user must fix


def test_impossible_quotas_in_data_and_in_config(tmp_path: Path) -> None:
    data = synthetic.site(12).model_dump(mode="json")
    data["tenants"][0]["quotas"]["cores"] = 2  # its servers need 16 cores
    data["tenants"][1]["quotas"]["security_group_rules"] = 3
    site = write_site(tmp_path, data)
    values = {
        **base_values(site),
        "quotaOverrides": json.dumps({"T0003": {"instances": 1}, "T0099": {"cores": 8}, "T0004": {"coers": 8}}),
    }
    fields = problems_of(values, tmp_path)
    cores = fields["tenants[0].quotas.cores"]
    assert cores.code == "quota.impossible" and "needs 16" in cores.message.en and "必要 16" in cores.message.ja
    assert cores.line > 0 and cores.file == str(site)
    assert fields["tenants[1].quotas.security_group_rules"].code == "quota.impossible"
    assert fields["shuyaku:quotaOverrides.T0003.instances"].code == "quota.impossible"
    assert fields["shuyaku:quotaOverrides.T0099"].code == "quota.unknown_system"
    assert fields["shuyaku:quotaOverrides.T0004.coers"].code == "schema.unknown_key"
    assert "cores" in fields["shuyaku:quotaOverrides.T0004.coers"].fix  # did you mean


def test_my_number_floating_ips_and_forbidden_links_are_refused(tmp_path: Path) -> None:
    site = synthetic.site(12)
    mynumber = next(t for t in site.tenants if t.layer == "mynumber")
    internet = next(t for t in site.tenants if t.layer == "internet")
    mynumber.quotas.floating_ips = 1
    bad_flow = site.flows[0].model_copy(
        update={"source_system": internet.system_id, "target_system": mynumber.system_id, "path": "direct"}
    )
    site.flows.append(bad_flow)
    with pytest.raises(config.ConfigError) as exc:
        config.from_site(site)
    codes = set(exc.value.codes())
    assert {"quota.mynumber_floating_ip", "site.flow_forbidden"} <= codes
    forbidden = next(p for p in exc.value.problems if p.code == "site.flow_forbidden")
    assert forbidden.field == f"flows[{len(site.flows) - 1}]"
    assert "禁止" in forbidden.message.ja and "forbidden" in forbidden.message.en


def test_unknown_key_and_bad_values_are_all_reported_together(tmp_path: Path) -> None:
    values = {
        **base_values(write_site(tmp_path)),
        "terminalCidr": "10.0.0.0/8",
        "proxyCidr": "192.0.2.80/33",
        "instances": "yes",
        "primaryStack": "onprem",
    }
    with pytest.raises(config.ConfigError) as exc:
        config.load(values, stack="test", project_root=tmp_path)
    found = {(p.field, p.code) for p in exc.value.problems}
    assert {
        ("shuyaku:terminalCidr", "schema.unknown_key"),
        ("shuyaku:proxyCidr", "schema.cidr"),
        ("shuyaku:instances", "schema.type"),
        ("shuyaku:primaryStack", "stack.stack_reference"),
        ("shuyaku:primaryStack", "site.primary_is_not_dr"),  # onprem site data: the site checks ran too
    } <= found
    fields = {p.field: p for p in exc.value.problems}
    assert "shuyaku:terminalCidrs" in fields["shuyaku:terminalCidr"].fix  # did you mean


@pytest.mark.parametrize("stack", ["local", "onprem", "dr"])
def test_committed_stack_configs_are_valid(tmp_path: Path, stack: str) -> None:
    raw = yaml.safe_load((ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text(encoding="utf-8"))["config"]
    values = {k.split(":", 1)[1]: (v if isinstance(v, str) else json.dumps(v)) for k, v in raw.items()}
    site_file = ROOT / values["siteData"]
    if not site_file.is_file():  # the plan's output is committed by the plan stage; stand in until it is
        values["siteData"] = str(
            write_site(tmp_path, synthetic.site(10, site_name="dr" if stack == "dr" else "onprem").model_dump(mode="json"))
        )
        values.pop("inventory", None)
    cfg = config.load(values, stack=stack, project_root=ROOT, config_file=ROOT / "stacks" / f"Pulumi.{stack}.yaml")
    assert cfg.is_dr == (stack == "dr")
    if stack == "local":
        # no service VMs; each business layer's aggregate holds the dev cloud's fake host for that layer
        assert cfg.instances is False and cfg.hosts("shared") == []
        assert all(cfg.hosts(la) == [f"shuyaku-dev-{la}"] for la in ("mynumber", "lgwan", "internet"))


def test_values_as_the_engine_passes_them_secrets_included(tmp_path: Path) -> None:
    """The engine hands every value over as text (structured ones as JSON, secrets decrypted): typed the same."""
    values = {
        **base_values(write_site(tmp_path)),
        "proxyPort": "3128",
        "instances": "false",
        "operatorQuotas": "True",
        "adminCidrs": json.dumps(["10.9.0.0/24"]),
        "quotaOverrides": json.dumps({"T0001": {"cores": 64}}),
        "zoneHosts": json.dumps({"mynumber": ["cmp-01"]}),
        "encryptedVolumeType": "luks",  # as a secret-typed value arrives once decrypted: plain text
    }
    cfg = config.load(values, stack="test", project_root=tmp_path)
    assert (cfg.proxy_port, cfg.instances, cfg.operator_quotas) == (3128, False, True)
    assert cfg.admin_cidrs == ["10.9.0.0/24"] and cfg.encrypted_volume_type == "luks"
    assert cfg.quota_overrides == {"T0001": {"cores": 64}} and cfg.hosts("mynumber") == ["cmp-01"]
    assert cfg.quotas(cfg.site.tenants[0]).cores == 64


def test_problems_point_into_the_stack_config_file(tmp_path: Path) -> None:
    site = write_site(tmp_path)
    stack_file = tmp_path / "Pulumi.test.yaml"
    stack_file.write_text(
        "config:\n"
        f"  shuyaku:siteData: {site}\n"
        "  shuyaku:terminalCidrs:\n"
        "    - 172.16.0.0/16\n"
        "    - 172.17.0.1/16\n"
        "  shuyaku:quotaOverrides:\n"
        "    T0002:\n"
        "      cores: -1\n"
        "  shuyaku:vendorRol: member\n",
        encoding="utf-8",
    )
    values = {"siteData": str(site), "terminalCidrs": ["172.16.0.0/16", "172.17.0.1/16"],
              "quotaOverrides": {"T0002": {"cores": -1}}, "vendorRol": "member"}
    with pytest.raises(config.ConfigError) as exc:
        config.load(values, stack="test", project_root=tmp_path, config_file=stack_file)
    where = {p.field: (p.line, p.column, p.code) for p in exc.value.problems if p.file == str(stack_file)}
    assert where["shuyaku:terminalCidrs[1]"] == (5, 7, "stack.cidr_host_bits")
    assert where["shuyaku:quotaOverrides.T0002.cores"] == (8, 14, "schema.range")
    assert where["shuyaku:vendorRol"] == (9, 3, "schema.unknown_key")
    missing = {f for f, (_, _, code) in where.items() if code == "stack.missing"}
    assert missing == {"shuyaku:lgwanNetwork", "shuyaku:externalNetwork", "shuyaku:proxyCidr", "shuyaku:encryptedVolumeType"}
    fix = next(p.fix for p in exc.value.problems if p.field == "shuyaku:proxyCidr")
    assert "pulumi config set shuyaku:proxyCidr" in fix.en and "pulumi config set shuyaku:proxyCidr" in fix.ja
    assert all(p.code != "general" for p in exc.value.problems)


def test_the_entry_point_loads_once_and_prints_both_languages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real = config.load

    def counted(*args, **kw):
        calls.append(1)
        return real(*args, **kw)

    monkeypatch.setattr(config, "load", counted)
    values = {**base_values(write_site(tmp_path)), "proxyPort": "0"}
    text, registered = run_entry(tmp_path, values)
    assert registered == 0 and len(calls) == 1
    assert text.count("[schema.range]") == 2  # the one problem, once per language
    assert text.index("リソースは1つも作成していません") < text.index("no resource was registered")


def _dup_zone(d: dict) -> None:
    d["zones"].append(dict(d["zones"][0]))


def _wrong_path(d: dict) -> None:
    d["flows"][0]["path"] = "relay" if d["flows"][0]["path"] != "relay" else "hub"


def _overlap(d: dict) -> None:
    d["tenants"][1]["cidr"] = d["tenants"][0]["cidr"]


def _flavor(d: dict) -> None:
    d["tenants"][2]["servers"][0]["flavor"] = "no-such-flavor"


@pytest.mark.parametrize(("change", "field", "code"), [
    (_dup_zone, "zones[4].layer", "site.duplicate_zone"),
    (_wrong_path, "flows[0].path", "site.flow_path"),
    (_overlap, "tenants[1].cidr", "site.overlap"),
    (_flavor, "tenants[2].servers[0].flavor", "site.unknown_flavor"),
])
def test_site_cross_checks_name_the_field_and_code(tmp_path: Path, change, field: str, code: str) -> None:
    data = synthetic.site(12).model_dump(mode="json")
    change(data)
    site = write_site(tmp_path, data)
    found = {(p.field, p.code) for p in problems_of(base_values(site), tmp_path).values()}
    assert (field, code) in found


def test_a_stale_plan_is_named_against_the_inventory(tmp_path: Path) -> None:
    inventory = ROOT / "examples/sample-city/inventory.yaml"
    values = {**base_values(write_site(tmp_path)), "inventory": str(inventory)}  # synthetic ids: not in it
    problems = problems_of(values, tmp_path)
    assert problems["tenants[0].system_id"].code == "inventory.stale"
    assert "shuyaku plan" in problems["tenants[0].system_id"].fix.en


@pytest.mark.parametrize("role", ["admin", "service", "Admin"])
def test_vendor_role_comes_from_an_allow_list(tmp_path: Path, role: str) -> None:
    """`shuyaku:vendorRole: admin` would give every vendor the whole cloud; it is refused before any resource."""
    values = {**base_values(write_site(tmp_path)), "vendorRole": role}
    with pytest.raises(config.ConfigError) as exc:
        config.load(values, stack="test", project_root=tmp_path)
    assert ("shuyaku:vendorRole", "schema.not_allowed") in {(p.field, p.code) for p in exc.value.problems}


def test_vendor_role_member_and_reader_are_accepted(tmp_path: Path) -> None:
    for role in ("member", "reader"):
        cfg = config.load({**base_values(write_site(tmp_path)), "vendorRole": role}, stack="test", project_root=tmp_path)
        assert cfg.vendor_role == role


def _lgwan_to_internet(d: dict, kind: str | None, path: str, port: int = 443) -> int:
    """Add a flow from an LGWAN tenant to an internet tenant; return its index."""
    lgwan = next(t["system_id"] for t in d["tenants"] if t["layer"] == "lgwan")
    internet = next(t["system_id"] for t in d["tenants"] if t["layer"] == "internet")
    flow = {"source_system": lgwan, "target_system": internet, "protocol": "tcp", "port": port, "path": path}
    if kind is not None:
        flow["kind"] = kind
    d["flows"].append(flow)
    return len(d["flows"]) - 1


@pytest.mark.parametrize(("kind", "port", "path"), [
    (None, 443, "screen"),  # undeclared: the port decides, as before the field existed
    (None, 22, "relay"),
    ("file", 443, "relay"),  # declared: the kind decides, whatever the port
    ("api", 443, "relay"),
    ("screen", 8443, "screen"),
])
def test_the_declared_kind_decides_screen_or_relay_and_the_other_path_is_refused(
        tmp_path: Path, kind: str | None, port: int, path: str) -> None:
    data = synthetic.site(12).model_dump(mode="json")
    i = _lgwan_to_internet(data, kind, path, port)
    cfg = config.load(base_values(write_site(tmp_path, data)), stack="test", project_root=tmp_path)
    flow = cfg.site.flows[i]
    assert (flow.kind, flow.path) == (kind, path)
    via = cfg.layout.vdi.cidr if path == "screen" else cfg.layout.services["relay"].cidr  # type: ignore[union-attr]
    assert any((r.direction, r.port, r.cidr) == ("egress", port, via) for r in cfg.layout.tenant_rules[flow.source_system])
    other = {"screen": "relay", "relay": "screen"}[path]
    data["flows"][i]["path"] = other
    problem = problems_of(base_values(write_site(tmp_path, data)), tmp_path)[f"flows[{i}].path"]
    assert problem.code == "site.flow_path" and f"must take the {path} path" in problem.message.en
    assert (f"kind: {kind}" if kind else f"tcp/{port}") in problem.message.en


def test_a_declared_kind_opens_no_path_the_layers_forbid(tmp_path: Path) -> None:
    data = synthetic.site(12).model_dump(mode="json")
    mynumber = next(t["system_id"] for t in data["tenants"] if t["layer"] == "mynumber")
    lgwan = next(t["system_id"] for t in data["tenants"] if t["layer"] == "lgwan")
    internet = next(t["system_id"] for t in data["tenants"] if t["layer"] == "internet")
    data["flows"] += [
        {"source_system": internet, "target_system": mynumber, "protocol": "tcp", "port": 443, "path": "screen",
         "kind": "screen"},
        {"source_system": lgwan, "target_system": mynumber, "protocol": "tcp", "port": 5432, "path": "direct",
         "kind": "direct"},
    ]
    n = len(data["flows"])
    found = problems_of(base_values(write_site(tmp_path, data)), tmp_path)
    assert found[f"flows[{n - 2}]"].code == "site.flow_forbidden"
    assert found[f"flows[{n - 1}].path"].code == "site.flow_path" and "hub" in found[f"flows[{n - 1}].path"].message.en


def test_a_site_file_without_kinds_stays_valid_and_is_written_unchanged() -> None:
    committed = (ROOT / "examples/sample-city/platform/site-onprem.json").read_text(encoding="utf-8")
    site = SiteData.model_validate_json(committed)
    assert site.flows and all(f.kind is None for f in site.flows) and '"kind"' not in committed
    assert json.loads(committed) == site.model_dump(mode="json")
