"""The platform for real: the Pulumi engine built here deploys the program onto the dev cloud on 127.0.0.1.

One module-scoped deployment of the small town cut to four systems (smalltown.tiny_town, one per layer: the whole
town deploys in smalltown.py; planned by `shuyaku plan`, as a user would) is checked
through the OpenStack APIs with openstacksdk; then a second `up` must change nothing, the policy pack must
pass the real preview and block a bad change, a vendor deploys into its tenant and nowhere else, the dr
stack reads the primary through its StackReference, an interrupted `up` converges, and `destroy` leaves
nothing behind. Missing engine or cloud is a failure naming the script to run, never a skip.

Backend: the local file backend (one person's and the main job's default). The same platform deploys with its
state in the PostgreSQL state database in test_safe_deploy.py (`shuyaku preview`/`deploy`, a no-op deploy, the
servers' host keys) and test_vendor_bundle.py (the vendors' side); each path runs on one backend per test command
rather than all on both (docs/team-state.md, "Which tests run on which backend").
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from cloudlogin import CLOUD_ENV, CLOUDS, operator, record_phase
from smalltown import tiny_town

from shuyaku.contracts.sitedata import SiteData
from shuyaku.deploy.engine import ROOT, Stack, engine_bin

pytestmark = pytest.mark.integration

CACHE = Path(os.environ.get("SHUYAKU_CACHE", "/var/cache/shuyaku"))
PROJECT = "shuyaku-platform"
VENDOR_TENANT, OTHER_TENANT = "juki", "zeimu"


@contextmanager
def timed(phase: str) -> Iterator[None]:
    t0 = time.monotonic()
    yield
    record_phase("e2e", phase, time.monotonic() - t0)


@pytest.fixture(scope="module")
def admin() -> Any:
    return operator()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("e2e")


@pytest.fixture(scope="module")
def inventory(workdir: Path) -> Path:
    return tiny_town(workdir / "town")


@pytest.fixture(scope="module")
def site(workdir: Path, inventory: Path) -> tuple[Path, SiteData]:
    out = workdir / "plan"
    proc = subprocess.run([sys.executable, "-m", "shuyaku.cli", "plan", str(inventory), "--out", str(out)],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    path = out / "site-onprem.json"
    return path, SiteData.model_validate_json(path.read_text(encoding="utf-8"))


def platform_stack(workdir: Path, site_path: Path, inventory: Path, name: str = "local") -> Stack:
    st = Stack(name, workdir / "state", config_source=ROOT / "stacks" / "Pulumi.local.yaml", env_extra=CLOUD_ENV)
    st.ensure()
    st.set_config("shuyaku:siteData", str(site_path))
    st.set_config("shuyaku:inventory", str(inventory))
    return st


@pytest.fixture(scope="module")
def deployed(admin: Any, workdir: Path, site: tuple[Path, SiteData],
             inventory: Path) -> Iterator[tuple[Stack, dict[str, Any]]]:
    st = platform_stack(workdir, site[0], inventory)
    try:
        with timed("first pulumi up (tiny town)"):
            proc = st.up(capture=True, check=False)
        assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
        yield st, st.outputs()
    finally:
        # Teardown is its own test (test_zz_destroy_leaves_nothing); this is the safety net.
        st.destroy(capture=True)


def dr_config(workdir: Path) -> Path:
    """The local stack's config with empty aggregates: the DR site is another cloud, and on this one each
    layer's fake host already sits in the primary's availability zone (a host belongs to one zone only)."""
    data = yaml.safe_load((ROOT / "stacks" / "Pulumi.local.yaml").read_text(encoding="utf-8"))
    data["config"]["shuyaku:zoneHosts"] = {layer: [] for layer in data["config"]["shuyaku:zoneHosts"]}
    path = workdir / "Pulumi.dr-local.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def tagged(resources: list[Any], key: str, value: str) -> list[Any]:
    return [r for r in resources if f"shuyaku:{key}={value}" in (getattr(r, "tags", None) or [])]


def test_every_tenant_project_is_tagged_and_has_its_quotas(admin: Any, deployed: Any, site: Any) -> None:
    _, outputs = deployed
    data: SiteData = site[1]
    assert set(outputs["tenants"]) == {t.system_id for t in data.tenants}
    for t in data.tenants:
        out = outputs["tenants"][t.system_id]
        project = admin.identity.get_project(out["project_id"])
        tags = set(project.tags or [])
        for key, value in [("system", t.system_id), ("layer", t.layer), ("vendor", t.vendor)]:
            assert f"shuyaku:{key}={value}" in tags, (t.system_id, key, tags)
        assert any(x.startswith("shuyaku:department=") for x in tags)
        compute = admin.get_compute_quotas(project.id)
        assert compute.instances == t.quotas.instances and compute.cores == t.quotas.cores
        assert compute.ram == t.quotas.ram_mb
        network = admin.get_network_quotas(project.id)
        assert network.security_group_rules == t.quotas.security_group_rules
        assert network.floating_ips == t.quotas.floating_ips
        volume = admin.get_volume_quotas(project.id)
        assert volume.gigabytes == t.quotas.gigabytes and volume.volumes == t.quotas.volumes


def test_tenant_networks_sit_in_their_zone_and_mynumber_never_routes_out(admin: Any, deployed: Any,
                                                                        site: Any) -> None:
    _, outputs = deployed
    for t in site[1].tenants:
        out = outputs["tenants"][t.system_id]
        subnet = admin.network.get_subnet(out["subnet_id"])
        assert subnet.cidr == t.cidr and subnet.network_id == out["network_id"]
    external = {n.id for n in admin.network.networks(is_router_external=True)}
    routers = list(admin.network.routers())
    mynumber = tagged(routers, "layer", "mynumber")
    for r in mynumber:
        gw = (r.external_gateway_info or {}).get("network_id")
        assert gw not in external, f"mynumber router {r.name} has an external gateway"
    assert not [f for f in admin.network.ips() if f.project_id in
                {outputs["tenants"][t.system_id]["project_id"] for t in site[1].tenants if t.layer == "mynumber"}]


def test_each_flow_is_exactly_one_narrow_rule(admin: Any, deployed: Any, site: Any) -> None:
    _, outputs = deployed
    data: SiteData = site[1]
    for t in data.tenants:
        out = outputs["tenants"][t.system_id]
        rules = []
        for sg_id in out["security_group_ids"].values() if isinstance(out["security_group_ids"], dict) \
                else out["security_group_ids"]:
            rules += [r for r in admin.network.security_group_rules(security_group_id=sg_id)
                      if r.direction == "ingress"]
        inbound = [f for f in data.flows if f.target_system == t.system_id]
        for r in rules:
            assert r.port_range_min == r.port_range_max, f"{t.system_id}: a port range {r.port_range_min}-{r.port_range_max}"
            net = ipaddress.ip_network(r.remote_ip_prefix) if r.remote_ip_prefix else None
            assert net is not None and net.prefixlen >= 16, f"{t.system_id}: rule from {r.remote_ip_prefix}"
            assert str(net) not in ("0.0.0.0/0", "::/0")
        ports = sorted((r.protocol, r.port_range_min) for r in rules)
        for f in inbound:
            assert (f.protocol, f.port) in ports, f"{t.system_id}: flow {f.source_system}->{f.port} has no rule"


def test_vendor_groups_hold_member_on_their_own_project_only(admin: Any, deployed: Any, site: Any) -> None:
    _, outputs = deployed
    member = admin.identity.find_role("member")
    for t in site[1].tenants:
        out = outputs["tenants"][t.system_id]
        group = admin.identity.find_group(out["vendor_group"])
        assert group is not None, out["vendor_group"]
        assignments = list(admin.identity.role_assignments(group_id=group.id))
        assert len(assignments) == 1, (t.system_id, assignments)
        (a,) = assignments
        assert a.role["id"] == member.id and a.scope["project"]["id"] == out["project_id"]


def test_second_up_changes_nothing(deployed: Any) -> None:
    st, _ = deployed
    proc = st.preview("--expect-no-changes", capture=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-1500:]
    with timed("second pulumi up (no changes)"):
        proc = st.up("--expect-no-changes", capture=True, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:]


def test_policy_pack_passes_the_real_preview(deployed: Any, workdir: Path) -> None:
    """CI runs `pulumi preview --policy-pack policies`; the platform as deployed passes every mandatory rule."""
    st, _ = deployed
    proc = st.preview("--policy-pack", str(ROOT / "policies"), "--policy-pack-config", str(pack_config(st, workdir)))
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-1500:]
    assert "Policies:" in proc.stdout or "policies" in proc.stdout.lower()


def test_dr_stack_reads_the_primary_and_deploys(admin: Any, deployed: Any, workdir: Path, inventory: Path) -> None:
    st, _ = deployed
    dr = Stack("dr", st.state_dir, config_source=dr_config(workdir), env_extra=CLOUD_ENV)
    dr.ensure()
    dr.set_config("shuyaku:siteData", str(workdir / "plan" / "site-dr.json"))
    dr.set_config("shuyaku:inventory", str(inventory))
    dr.set_config("shuyaku:primaryStack", f"organization/{PROJECT}/{st.name}")
    try:
        with timed("dr stack pulumi up"):
            proc = dr.up(capture=True, check=False)
        assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-1500:]
        dr_out = dr.outputs()
        warm = json.loads((workdir / "plan" / "site-dr.json").read_text())["dr"]["warm_systems"]
        assert warm and set(warm) <= set(dr_out["tenants"])
        assert dr_out.get("primary_stack", "").endswith(f"/{st.name}")
        for sid, out in dr_out["tenants"].items():
            project = admin.identity.get_project(out["project_id"])
            assert "shuyaku:site=dr" in (project.tags or [])
            standby = sid in warm
            assert (out.get("dr_tier") != "backup") == standby, (sid, out.get("dr_tier"))
    finally:
        assert dr.destroy(capture=True).returncode == 0


def vendor_clouds(workdir: Path, project_id: str) -> Path:
    """The vendor's own credentials (dev cloud user vendor-a), scoped to the tenant project."""
    import yaml

    clouds = yaml.safe_load(CLOUDS.read_text())["clouds"]
    auth = dict(clouds["dev-vendor-a"]["auth"])
    auth.pop("project_name", None)
    auth.pop("project_domain_name", None)
    auth["project_id"] = project_id
    path = workdir / "vendor-clouds.yaml"
    entry = {**clouds["dev-vendor-a"], "auth": auth}
    path.write_text(yaml.safe_dump({"clouds": {"vendor": entry}}))
    path.chmod(0o600)
    return path


def test_vendor_deploys_into_its_tenant_and_nowhere_else(admin: Any, deployed: Any, workdir: Path,
                                                         site: Any) -> None:
    st, outputs = deployed
    mine, other = outputs["tenants"][VENDOR_TENANT], outputs["tenants"][OTHER_TENANT]
    # The city's administrator puts the vendor's engineer into the tenant's vendor group: that is all
    # the access the vendor gets.
    user = admin.identity.find_user("vendor-a")
    group = admin.identity.find_group(mine["vendor_group"])
    admin.identity.add_user_to_group(user, group)
    project_dir = workdir / "vendor"
    vendor_env = vendor_space(st, workdir, site[0], project_dir)
    (project_dir / "venv").symlink_to(ROOT / ".venv")
    # The plan names production images; the dev cloud offers one tiny image, and the vendor picks from
    # what the platform allows this tenant, as a vendor would.
    main = project_dir / "__main__.py"
    allowed = mine["allowed_images"][0]
    text = re.sub(r'image="[^"]+"', f'image="{allowed}"', main.read_text(encoding="utf-8"))
    # One compute host: an anti-affinity pair cannot both land (Nova rightly refuses the second).
    main.write_text(re.sub(r"count=\d+", "count=1", text), encoding="utf-8")
    clouds = vendor_clouds(workdir, mine["project_id"])
    vendor_env.update(OS_CLIENT_CONFIG_FILE=str(clouds), OS_CLOUD="vendor")
    # The vendor's stack lives in its own folder with its own passphrase: not the platform's state directory.
    vst = Stack("vendor", workdir / "vendor-shadow", project_dir=project_dir, env_extra=vendor_env)
    vst.ensure()
    try:
        with timed("vendor pulumi up"):
            up = vst.up(capture=True, check=False)
        assert up.returncode == 0, up.stdout[-4000:] + up.stderr[-1500:]
        servers = list(admin.compute.servers(all_projects=True, project_id=mine["project_id"]))
        assert servers and all(s.status == "ACTIVE" for s in servers), [(s.name, s.status) for s in servers]
        for s in servers:
            for port in admin.network.ports(device_id=s.id):
                assert port.network_id == mine["network_id"], f"{s.name} has a port outside its tenant network"
        refusals, successes = try_other_tenant(clouds, other, mine)
        print(f"\n[e2e] cross-tenant attempts refused: {refusals}, succeeded: {successes}")
        assert refusals >= 10 and successes == [], successes
        untagged_server_is_judged_by_the_stacks_layer(vst, st, outputs, main, workdir)
    finally:
        vst.destroy(capture=True)
        admin.identity.remove_user_from_group(user, group)


def vendor_space(st: Stack, workdir: Path, site_path: Path, project_dir: Path) -> dict[str, str]:
    """The operator publishes the tenant's hand-off into the vendor's own folder (file backend) and writes its
    project, which `vendor init` checks against that hand-off; returns the vendor's backend and passphrase."""
    run_env = {**os.environ, **st.env_extra}
    cli = [sys.executable, "-m", "shuyaku.cli", "vendor"]
    proc = subprocess.run([*cli, "publish", "--stack", st.name, "--tenant", VENDOR_TENANT, "--state", str(st.state_dir),
                           "--vendor-state", str(workdir / "vendor-state")], capture_output=True, text=True, cwd=ROOT,
                          env=run_env)
    assert proc.returncode == 0, proc.stderr
    env = {"PULUMI_BACKEND_URL": f"file://{workdir / 'vendor-state' / VENDOR_TENANT}",
           "PULUMI_CONFIG_PASSPHRASE_FILE": str(CACHE / "vendors" / VENDOR_TENANT / "passphrase")}
    assert not (workdir / "vendor-state" / VENDOR_TENANT / ".pulumi" / "stacks" / PROJECT).exists()
    proc = subprocess.run([*cli, "init", "--platform-stack", f"organization/{PROJECT}/{st.name}", "--tenant",
                           VENDOR_TENANT, "--dir", str(project_dir), "--site-data", str(site_path)],
                          capture_output=True, text=True, cwd=ROOT, env={**run_env, **env})
    assert proc.returncode == 0, proc.stderr
    return env


def try_other_tenant(clouds: Path, other: dict[str, Any], mine: dict[str, Any]) -> tuple[int, list[str]]:
    """Every way a vendor could reach into another tenant; each must be refused or see nothing."""
    import openstack.config
    import openstack.connection
    from openstack import exceptions

    region = openstack.config.OpenStackConfig(config_files=[str(clouds)], load_envvars=False).get_one("vendor")
    conn = openstack.connection.Connection(config=region)
    sg_other = other["security_group_ids"]["tenant"]
    attempts: dict[str, Any] = {
        "list other's networks": lambda: list(conn.network.networks(project_id=other["project_id"])),
        "read other's network": lambda: conn.network.get_network(other["network_id"]),
        "read other's subnet": lambda: conn.network.get_subnet(other["subnet_id"]),
        "rename other's network": lambda: conn.network.update_network(other["network_id"], name="owned"),
        "delete other's subnet": lambda: conn.network.delete_subnet(other["subnet_id"], ignore_missing=False),
        "port on other's network": lambda: conn.network.create_port(network_id=other["network_id"]),
        "read other's security group": lambda: conn.network.get_security_group(sg_other),
        "open other's security group": lambda: conn.network.create_security_group_rule(
            security_group_id=sg_other, direction="ingress", protocol="tcp", port_range_min=22,
            port_range_max=22, remote_ip_prefix=mine["cidr"]),
        "delete other's security group": lambda: conn.network.delete_security_group(sg_other, ignore_missing=False),
        "list all projects' servers": lambda: list(conn.compute.servers(all_projects=True)),
        "list other's servers": lambda: list(conn.compute.servers(all_projects=True, project_id=other["project_id"])),
        "list other's volumes": lambda: list(conn.block_storage.volumes(all_projects=True,
                                                                          project_id=other["project_id"])),
        "read other's project": lambda: conn.identity.get_project(other["project_id"]),
        "raise own quota": lambda: conn.set_compute_quotas(mine["project_id"], instances=1000),
        "read other's quotas": lambda: conn.get_network_quotas(other["project_id"]),
        "token for other's project": lambda: openstack.connection.Connection(
            config=openstack.config.OpenStackConfig(config_files=[str(clouds)], load_envvars=False).get_one(
                "vendor", auth={**region.auth, "project_id": other["project_id"]})).authorize(),
    }
    refused = 0
    succeeded: list[str] = []
    for what, attempt in attempts.items():
        try:
            result = attempt()
        except (exceptions.HttpException, exceptions.SDKException):
            refused += 1
            continue
        if isinstance(result, list) and result == []:
            refused += 1  # the API answered but showed nothing of the other tenant
        else:
            succeeded.append(what)
    return refused, succeeded


def untagged_server_is_judged_by_the_stacks_layer(vst: Stack, st: Stack, outputs: dict[str, Any], main: Path,
                                                  workdir: Path) -> None:
    """An untagged server on an internet-layer flavor, added to the My Number vendor's program: the pack knows the
    stack's tenant from the project config `vendor init` writes, its layer from the platform's hand-off, and
    refuses the preview."""
    other_layer = next(t for t in outputs["tenants"].values() if t["layer"] == "internet")
    program = main.read_text(encoding="utf-8")
    main.write_text(program + (
        "\nimport pulumi_openstack as _rogue\n"
        f"_rogue.compute.Instance('rogue', name='rogue', flavor_name={other_layer['allowed_flavors'][0]!r}, "
        f"image_name={outputs['tenants'][VENDOR_TENANT]['allowed_images'][0]!r}, "
        f"networks=[{{'uuid': {outputs['tenants'][VENDOR_TENANT]['network_id']!r}}}])\n"), encoding="utf-8")
    try:
        proc = vst.preview("--policy-pack", str(ROOT / "policies"), "--policy-pack-config", str(pack_config(st, workdir)))
        assert proc.returncode != 0 and "instance-flavor-matches-layer" in proc.stdout, proc.stdout[-3000:]
        assert "rogue" in proc.stdout
    finally:
        main.write_text(program, encoding="utf-8")


def pack_config(st: Stack, workdir: Path) -> Path:
    """The pack's config generated from the platform stack's config, as CI runs it."""
    from shuyaku.platform import config as pconfig
    from shuyaku.policy import config as cfgmod
    from shuyaku.policy.registry import all_rules
    from shuyaku.policy.sitecfg import settings_from_platform

    doc = yaml.safe_load(st.config_file.read_text(encoding="utf-8"))
    values = {k.split(":", 1)[1]: v for k, v in doc["config"].items() if k.startswith("shuyaku:")}
    cfg = pconfig.load(values, stack=st.name, project_root=ROOT, config_file=st.config_file)
    path = workdir / "pack-config.json"
    path.write_text(json.dumps(cfgmod.expand({"enforcement": {}, "settings": settings_from_platform(cfg)},
                                             all_rules())), encoding="utf-8")
    return path


def test_vendor_cannot_widen_another_tenants_reach(admin: Any, deployed: Any, workdir: Path) -> None:
    """A vendor may change its own tenant's groups (its project, its risk, caught by audit), but nothing it does
    may widen what another tenant can reach: no group of another project takes its rules, and it cannot share
    its own groups or network to other projects (RBAC quota 0)."""
    from openstack import exceptions

    _, outputs = deployed
    mine = outputs["tenants"][VENDOR_TENANT]
    user = admin.identity.find_user("vendor-a")
    group = admin.identity.find_group(mine["vendor_group"])
    admin.identity.add_user_to_group(user, group)
    try:
        import openstack.config
        import openstack.connection

        clouds = vendor_clouds(workdir, mine["project_id"])
        region = openstack.config.OpenStackConfig(config_files=[str(clouds)], load_envvars=False).get_one("vendor")
        conn = openstack.connection.Connection(config=region)
        # The baseline group is the tenant's own: no other project holds it or sees it through a share.
        base = admin.network.get_security_group(mine["security_group_ids"]["base"])
        assert base.project_id == mine["project_id"]
        assert not list(admin.network.rbac_policies(object_id=base.id))
        others = [t for sid, t in outputs["tenants"].items() if sid != VENDOR_TENANT and "base" in t["security_group_ids"]]
        assert others, "the test inventory needs a second tenant with a baseline group"
        widened = []
        for other in others:
            for sg in other["security_group_ids"].values():
                try:
                    rule = conn.network.create_security_group_rule(
                        security_group_id=sg, direction="ingress", protocol="tcp", port_range_min=22,
                        port_range_max=22, remote_ip_prefix="10.0.0.0/8")
                except exceptions.HttpException:
                    continue
                admin.network.delete_security_group_rule(rule.id)
                widened.append(sg)
        assert widened == [], "a vendor added an ingress rule to another tenant's security group"
        shares = []
        for what, object_type, object_id in (("group", "security_group", base.id), ("network", "network", mine["network_id"])):
            try:
                made = conn.network.create_rbac_policy(object_type=object_type, object_id=object_id,
                                                       action="access_as_shared", target_tenant=others[0]["project_id"])
            except exceptions.HttpException:
                continue
            admin.network.delete_rbac_policy(made.id)
            shares.append(what)
        assert shares == [], f"a vendor shared its own {shares} with another project"
    finally:
        admin.identity.remove_user_from_group(user, group)


def test_zz_destroy_leaves_nothing(admin: Any, deployed: Any) -> None:
    st, outputs = deployed
    project_ids = [t["project_id"] for t in outputs["tenants"].values()]
    # `shuyaku deploy --fresh-if-cloud-rebuilt` (the main job) must tell a live state from one whose cloud lost
    # everything: keep a copy of the live state, destroy, and ask both.
    assert not st.describes_a_rebuilt_cloud()
    before = st.state_dir.with_name("state-before-destroy")
    shutil.copytree(st.state_dir, before)
    with timed("pulumi destroy"):
        proc = st.destroy(capture=True)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert st.resources() == []
    assert Stack(st.name, before, config_source=st.config_source, env_extra=CLOUD_ENV).describes_a_rebuilt_cloud()
    for pid in project_ids:
        assert admin.identity.find_project(pid) is None
    leftovers = [n.name for n in admin.network.networks() if any(t.startswith("shuyaku:") for t in n.tags or [])]
    leftovers += [g.name for g in admin.network.security_groups() if any(t.startswith("shuyaku:") for t in g.tags or [])]
    leftovers += [r.name for r in admin.network.routers() if any(t.startswith("shuyaku:") for t in r.tags or [])]
    leftovers += [p.name for p in admin.identity.projects() if any(t.startswith("shuyaku:") for t in p.tags or [])]
    leftovers += [g.name for g in admin.identity.groups() if g.name.startswith("vendor-")]
    assert leftovers == []


def test_interrupted_up_converges_without_duplicates(admin: Any, workdir: Path, site: Any, inventory: Path) -> None:
    """Ctrl-C part way through a first `up`; the next `up` finishes the job and creates nothing twice."""
    st = platform_stack(workdir / "interrupt", site[0], inventory)
    cmd = [str(engine_bin() / "pulumi"), "up", "--yes", "--skip-preview", "--non-interactive", "--stack", st.name,
           "--config-file", str(st.config_file)]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=st.env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    created = 0
    assert proc.stdout is not None
    for line in proc.stdout:
        created += " created (" in line
        if created >= 25:
            proc.send_signal(signal.SIGINT)
            break
    proc.communicate(timeout=600)
    assert created >= 25 and proc.returncode != 0, "the first up was not interrupted part way"
    try:
        with timed("pulumi up after an interrupted up"):
            done = st.up(capture=True, check=False)
        assert done.returncode == 0, done.stdout[-3000:]
        outputs = st.outputs()
        data: SiteData = site[1]
        for t in data.tenants:
            projects = tagged(list(admin.identity.projects()), "system", t.system_id)
            assert len(projects) == 1, (t.system_id, [p.id for p in projects])
            nets = tagged(list(admin.network.networks()), "system", t.system_id)
            assert len(nets) == 1, (t.system_id, [n.id for n in nets])
        assert set(outputs["tenants"]) == {t.system_id for t in data.tenants}
        assert st.preview("--expect-no-changes", capture=True).returncode == 0
    finally:
        st.destroy(capture=True)

