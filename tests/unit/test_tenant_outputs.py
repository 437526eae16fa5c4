"""The tenant-outputs contract: what the platform exports per tenant is the published model and schema, and
the DR stack refuses a primary whose outputs break it, naming the tenant and the field."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema
import pytest

from shuyaku.contracts import tenant_outputs
from shuyaku.contracts.problems import tx
from shuyaku.contracts.sitedata import SiteData
from shuyaku.contracts.tenant_outputs import TenantOutputs
from shuyaku.platform import config, mocks, program, synthetic
from shuyaku.platform.dr_site import PrimaryOutputsError

ROOT = Path(__file__).resolve().parents[2]
PRIMARY = "organization/shuyaku-platform/onprem"


@pytest.fixture(scope="module")
def primary() -> tuple[dict, SiteData]:
    onprem = synthetic.site(12)
    _, out = mocks.run(lambda: program.build(config.from_site(onprem)))
    return out, onprem


def dr_site(onprem: SiteData) -> SiteData:
    warm = set(onprem.dr.warm_systems)
    return onprem.model_copy(update={
        "site": "dr",
        "tenants": [t for t in onprem.tenants if t.system_id in warm],
        "flows": [f for f in onprem.flows if f.source_system in warm and f.target_system in warm],
        "vdi": onprem.vdi.model_copy(update={"hosts": 0, "lgwan_desktop_hosts": 0}),
    })


def run_dr(primary_out: dict, onprem: SiteData) -> dict:
    cfg = config.from_site(dr_site(onprem), primary_stack=PRIMARY, stack="dr")
    _, out = mocks.run(lambda: program.build(cfg), stack_outputs={PRIMARY: primary_out}, stack="dr")
    return out


def test_every_exported_tenant_matches_the_model_and_the_committed_schema(primary: tuple[dict, SiteData]) -> None:
    out, onprem = primary
    schema = json.loads((ROOT / "schemas/tenant-outputs.json").read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    assert set(out["tenants"]) == {t.system_id for t in onprem.tenants}
    for sid, exported in out["tenants"].items():
        assert not list(validator.iter_errors(exported)), sid
        model = TenantOutputs.model_validate(exported)
        assert model.system_id == sid and model.primary_project_id is None
    dr_out = run_dr(out, onprem)
    for sid, exported in dr_out["tenants"].items():
        assert not list(validator.iter_errors(exported)), sid
        model = TenantOutputs.model_validate(exported)
        assert model.site == "dr" and model.primary_project_id == out["tenants"][sid]["project_id"]
        assert model.server_group_ids and set(model.server_group_ids) == {s.role for s in model.servers}


def test_numbers_read_back_as_json_floats_are_whole_numbers(primary: tuple[dict, SiteData]) -> None:
    out, _ = primary
    sid, exported = next(iter(out["tenants"].items()))
    as_json = copy.deepcopy(exported)
    as_json["quotas"] = {k: float(v) for k, v in as_json["quotas"].items()}
    model = tenant_outputs.parse(as_json, system_id=sid, where=tx("テスト", "test"))
    assert isinstance(model.quotas.cores, int) and model.quotas.cores == exported["quotas"]["cores"]


@pytest.mark.parametrize("breakage", ["missing vendor_group", "unknown key", "no tenant"])
def test_dr_refuses_primary_outputs_that_break_the_contract(primary: tuple[dict, SiteData], breakage: str) -> None:
    out, onprem = primary
    broken = copy.deepcopy(out)
    sid = onprem.dr.backup_systems[0]  # a restore target: sized and named only from the primary's outputs
    if breakage == "missing vendor_group":
        del broken["tenants"][sid]["vendor_group"]
        expected = ["vendor_group", "必須項目がありません", "Field required"]
    elif breakage == "unknown key":
        broken["tenants"][sid]["vendor_groups"] = "x"
        expected = ["vendor_groups", "未知の項目", "Extra inputs are not permitted"]
    else:
        del broken["tenants"][sid]
        expected = ["exports no outputs for tenant", "の出力がありません"]
    with pytest.raises(PrimaryOutputsError) as exc:
        run_dr(broken, onprem)
    text = str(exc.value)
    assert sid in text and PRIMARY in text and "vendor-unknown" not in text
    for part in expected:
        assert part in text, text
