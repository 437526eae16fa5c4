"""The dr stack under a mocked StackReference whose outputs are what the primary stack really exported
(the onprem program run under mocks first)."""

from __future__ import annotations

import pytest

from shuyaku.contracts.sitedata import SiteData
from shuyaku.platform import config, mocks, program, synthetic

PRIMARY = "organization/shuyaku-platform/onprem"


def primary_and_dr(n: int = 30) -> tuple[dict, SiteData, SiteData]:
    onprem = synthetic.site(n)
    _, out = mocks.run(lambda: program.build(config.from_site(onprem)))
    warm = set(onprem.dr.warm_systems)
    # As `shuyaku plan` writes it: only warm-standby systems are tenants at the DR site.
    dr = onprem.model_copy(
        update={
            "site": "dr",
            "tenants": [t for t in onprem.tenants if t.system_id in warm],
            "flows": [f for f in onprem.flows if f.source_system in warm and f.target_system in warm],
            "vdi": onprem.vdi.model_copy(update={"hosts": 0, "lgwan_desktop_hosts": 0}),
        }
    )
    return out, onprem, dr


def test_dr_creates_standby_only_for_warm_systems_sized_from_the_primary() -> None:
    primary_out, onprem, dr = primary_and_dr()
    # The primary raised one warm system's cores after planning: the standby must follow what is deployed.
    warm = dr.dr.warm_systems
    assert warm and dr.dr.backup_systems
    primary_out["tenants"][warm[0]]["quotas"]["cores"] = 77
    cfg = config.from_site(dr, primary_stack=PRIMARY, stack="dr")
    m, out = mocks.run(lambda: program.build(cfg), stack_outputs={PRIMARY: primary_out}, stack="dr")

    refs = m.of_type("pulumi:pulumi:StackReference")
    assert [r.inputs.get("name") for r in refs] == [PRIMARY]
    standby = {r.name.removeprefix("standby-") for r in m.of_type("shuyaku:platform:Tenant")}
    assert standby == set(warm)
    none_tier = {t.system_id for t in onprem.tenants if t.dr_tier == "none"}
    projects = {r.inputs["name"] for r in m.of_type("openstack:identity/project:Project")}
    assert projects == {f"dr-{sid}" for sid in [*warm, *dr.dr.backup_systems]}
    assert not any(f"dr-{sid}" in projects for sid in none_tier)

    # networks and server groups only for warm systems; backup targets get storage, no network
    nets = m.of_type("openstack:networking/network:Network")
    assert {r.inputs["name"] for r in nets if r.inputs.get("tenantId")} == {f"{sid}-net" for sid in warm}
    groups = m.of_type("openstack:compute/serverGroup:ServerGroup")
    by_sid = {sid: [g for g in groups if g.inputs["name"].startswith(sid + "-")] for sid in warm}
    for sid in warm:
        ten = next(t for t in dr.tenants if t.system_id == sid)
        assert {g.inputs["name"] for g in by_sid[sid]} == {f"{sid}-{s.role}" for s in ten.servers}
        # created inside the tenant's project, through a provider scoped to it
        assert all(g.provider and f"standby-{sid}-scoped" in g.provider for g in by_sid[sid])
        anti = {f"{sid}-{s.role}" for s in ten.servers if s.anti_affinity}
        assert {g.inputs["name"] for g in by_sid[sid] if g.inputs["policies"] == "anti-affinity"} == anti
    assert sum(len(v) for v in by_sid.values()) == len(groups)

    cores = {r.inputs["projectId"]: r.inputs.get("cores") for r in m.of_type("openstack:compute/quotaSetV2:QuotaSetV2")}
    assert cores[f"project-standby-{warm[0]}-project"] == 77
    for sid in dr.dr.backup_systems:
        assert cores[f"project-restore-{sid}-project"] == 0  # no servers until restore day
        src = primary_out["tenants"][sid]
        vol = next(
            r
            for r in m.of_type("openstack:blockstorage/quoteSetV3:QuoteSetV3")
            if r.inputs["projectId"] == f"project-restore-{sid}-project"
        )
        assert vol.inputs["backupGigabytes"] == src["quotas"]["gigabytes"] * 2
        if src["layer"] == "mynumber":  # restored only onto encrypted volumes
            assert vol.inputs["volumeTypeQuota"]["gigabytes_dr-restore"] == "0"
            assert vol.inputs["volumeTypeQuota"]["gigabytes_encrypted"] == str(src["quotas"]["gigabytes"])
    assert set(out["tenants"]) == set(warm)
    assert set(out["backup_targets"]) == set(dr.dr.backup_systems)
    assert out["tenants"][warm[0]]["primary_project_id"] == primary_out["tenants"][warm[0]]["project_id"]
    assert [r.inputs["name"] for r in m.of_type("openstack:blockstorage/volumeTypeV3:VolumeTypeV3")] == ["dr-restore"]


def test_a_dr_stack_needs_the_primary_reference_and_dr_data() -> None:
    _, onprem, dr = primary_and_dr(12)
    with pytest.raises(config.ConfigError) as exc:
        config.from_site(dr)
    assert [(p.field, p.code) for p in exc.value.problems] == [("shuyaku:primaryStack", "site.dr_needs_primary")]
    with pytest.raises(config.ConfigError) as exc:
        config.from_site(onprem, primary_stack=PRIMARY)
    assert [(p.field, p.code) for p in exc.value.problems] == [("shuyaku:primaryStack", "site.primary_is_not_dr")]
    assert "primaryStack" in exc.value.problems[0].fix.en and "primaryStack" in exc.value.problems[0].fix.ja
