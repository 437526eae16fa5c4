"""The dev cloud that `scripts/dev-cloud up` starts is a usable, isolated OpenStack.

Everything goes through openstacksdk (the project venv's) with the credentials from the generated
clouds.yaml, as the platform program and a vendor would. A missing or unhealthy cloud is a failure that says
to run `scripts/dev-cloud up`, never a skip.
"""

from __future__ import annotations

import stat
import subprocess
import uuid
from pathlib import Path

import pytest
from cloudlogin import CACHE, CLOUDS, HOST, connect, need_clouds

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
RUN_ID = uuid.uuid4().hex[:6]


@pytest.fixture(scope="module")
def admin():
    return connect("dev-admin")


@pytest.fixture(scope="module")
def vendor_a():
    return connect("dev-vendor-a")


@pytest.fixture(scope="module")
def vendor_b():
    return connect("dev-vendor-b")


def _tenant_network(admin, project_id: str, prefix: str, cidr: str):
    # As the platform program does: the operator makes the tenant's network and subnet in the tenant's project
    # (roles/openstack_policy keeps creating and changing networks and subnets to the operator).
    net = admin.network.create_network(name=f"{prefix}-net-{RUN_ID}", project_id=project_id)
    subnet = admin.network.create_subnet(network_id=net.id, name=f"{prefix}-subnet-{RUN_ID}", ip_version=4,
                                         cidr=cidr, is_dhcp_enabled=False, project_id=project_id)
    return net, subnet


def _boot(conn, name: str, network_id: str):
    image = conn.image.find_image("debian-12-tiny", ignore_missing=False)
    flavor = conn.compute.find_flavor("m1.nano", ignore_missing=False)
    server = conn.compute.create_server(name=name, image_id=image.id, flavor_id=flavor.id,
                                        networks=[{"uuid": network_id}])
    return conn.compute.wait_for_server(server, status="ACTIVE", failures=["ERROR"], wait=180, interval=2)


class Tenant:
    """Resources one vendor creates in its own project; removed at module end."""

    def __init__(self, admin, conn, prefix: str, cidr: str):
        self.admin = admin
        self.conn = conn
        self.project_id = conn.current_project_id
        self.net, self.subnet = _tenant_network(admin, self.project_id, prefix, cidr)
        self.sg = conn.network.create_security_group(name=f"{prefix}-sg-{RUN_ID}")
        self.rule = conn.network.create_security_group_rule(
            security_group_id=self.sg.id, direction="ingress", protocol="tcp", port_range_min=22,
            port_range_max=22, remote_ip_prefix="198.18.0.0/15", ethertype="IPv4")
        self.port = conn.network.create_port(network_id=self.net.id, name=f"{prefix}-port-{RUN_ID}")
        self.volume = conn.block_storage.create_volume(size=1, name=f"{prefix}-vol-{RUN_ID}")
        self.server = _boot(conn, f"{prefix}-srv-{RUN_ID}", self.net.id)
        self.volume = conn.block_storage.wait_for_status(self.volume, "available", failures=["error"], wait=120)

    def cleanup(self) -> None:
        c = self.conn
        c.compute.delete_server(self.server, ignore_missing=True)
        c.compute.wait_for_delete(self.server, wait=120)
        vol = c.block_storage.get_volume(self.volume.id)
        if vol.status == "in-use":
            c.block_storage.wait_for_status(vol, "available", wait=120)
        c.block_storage.delete_volume(self.volume, ignore_missing=True)
        c.block_storage.wait_for_delete(self.volume, wait=120)
        c.network.delete_port(self.port, ignore_missing=True)
        c.network.delete_security_group(self.sg, ignore_missing=True)
        self.admin.network.delete_network(self.net, ignore_missing=True)


@pytest.fixture(scope="module")
def tenant_a(admin, vendor_a):
    t = Tenant(admin, vendor_a, "test-a", "10.61.0.0/24")
    yield t
    t.cleanup()


@pytest.fixture(scope="module")
def tenant_b(admin, vendor_b):
    t = Tenant(admin, vendor_b, "test-b", "10.62.0.0/24")
    yield t
    t.cleanup()


# ------------------------------------------------------------------------------------------------ the cloud


def test_status_says_every_service_is_healthy():
    need_clouds()
    p = subprocess.run([str(ROOT / "scripts" / "dev-cloud"), "status", "--lang", "en"], capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0, f"scripts/dev-cloud status says the cloud is not healthy:\n{p.stdout}{p.stderr}"
    assert "all services healthy" in p.stdout
    for name in ("keystone", "glance-api", "placement-api", "nova-api", "nova-compute", "neutron-server",
                 "neutron-linuxbridge-agent", "cinder-api", "cinder-volume", "mariadb", "rabbitmq"):
        assert name in p.stdout


def test_every_catalog_endpoint_answers(admin):
    import requests

    wanted = {"identity", "compute", "network", "image", "placement", "volumev3"}
    catalog = {s["type"]: s for s in admin.session.auth.get_access(admin.session).service_catalog.catalog}
    assert wanted <= set(catalog), f"catalog lacks {wanted - set(catalog)}"
    for stype in sorted(wanted):
        for ep in catalog[stype]["endpoints"]:
            assert ep["url"].startswith("http://127.0.0.1:"), f"{stype} {ep['interface']} is not on loopback"
            # the volume endpoint ends in the project ID, where Cinder serves nothing: ask its version root
            url = ep["url"].removesuffix("/" + admin.current_project_id)
            r = requests.get(url, headers={"X-Auth-Token": admin.auth_token}, timeout=10)
            assert r.status_code < 400, f"GET {url} ({stype}) -> {r.status_code}"
    # and each service does real work for an authenticated user
    assert admin.identity.get_project(admin.current_project_id).name == "admin"
    assert [f for f in admin.compute.flavors() if f.name == "m1.nano"]
    assert admin.network.find_network("public") is not None
    assert admin.image.find_image("debian-12-tiny") is not None
    assert any(rp.name == HOST for rp in admin.placement.resource_providers())
    assert admin.block_storage.find_type("encrypted") is not None


def test_control_plane_services_report_up(admin):
    nova = {s.binary: s.state for s in admin.compute.services() if s.host == HOST}
    assert nova == {"nova-conductor": "up", "nova-scheduler": "up", "nova-compute": "up"}
    agents = [a for a in admin.network.agents() if a.host == HOST]
    assert [(a.binary, a.is_alive) for a in agents] == [("neutron-linuxbridge-agent", True)]
    cinder = {s.binary: s.state for s in admin.block_storage.services()}
    assert cinder == {"cinder-scheduler": "up", "cinder-volume": "up"}


def _nat(*args: str) -> str:
    return subprocess.run(["ebtables", "-t", "nat", "--concurrent", *args], capture_output=True, text=True,
                          check=True, timeout=60).stdout


def test_orphaned_spoofing_chains_are_cleared_and_live_ones_kept():
    # Orphans left by an earlier run once made the Linux bridge agents race and one of them stop (CI of
    # 2026-12-04); `up` clears them before the agents start, and must not touch a chain whose device exists.
    dead, live = f"tapdead{RUN_ID}", "lo"
    made = [("neutronARP-", dead, ["-p", "ARP"]), ("neutronMAC-", dead, []), ("neutronARP-", live, ["-p", "ARP"])]
    for prefix, dev, match in made:
        _nat("-N", prefix + dev, "-P", "DROP")
        _nat("-A", "PREROUTING", *match, "-i", dev, "-j", prefix + dev)
    try:
        out = subprocess.run(["python3", str(ROOT / "scripts/dev-cloud.d/spoofchains.py")], capture_output=True,
                             text=True, check=True, timeout=60).stdout.split()
        assert {f"neutronARP-{dead}", f"neutronMAC-{dead}"} <= set(out)
        assert f"neutronARP-{live}" not in out
        listing = _nat("-L")
        assert dead not in listing
        assert f"Bridge chain: neutronARP-{live}," in listing and f"-i {live} -j neutronARP-{live}" in listing
    finally:
        for prefix, dev, match in made:
            subprocess.run(["ebtables", "-t", "nat", "-D", "PREROUTING", *match, "-i", dev, "-j", prefix + dev],
                           capture_output=True, timeout=60)
            subprocess.run(["ebtables", "-t", "nat", "-X", prefix + dev], capture_output=True, timeout=60)


def test_clouds_yaml_and_secrets_are_private_and_not_in_the_repo():
    import yaml

    need_clouds()
    clouds = yaml.safe_load(CLOUDS.read_text())["clouds"]
    assert set(clouds) >= {"dev-admin", "dev-vendor-a", "dev-vendor-b", "dev-auditor"}
    for path in (CLOUDS, CACHE / "secrets.json"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, f"{path} must be mode 0600"
    for name, cloud in clouds.items():
        # a password, or the auditor's application-credential secret
        secret = cloud["auth"].get("password") or cloud["auth"]["application_credential_secret"]
        hit = subprocess.run(["git", "grep", "-q", "-F", secret], cwd=ROOT)
        assert hit.returncode == 1, f"a dev-cloud secret ({name}) is committed in the repository"


def test_env_prints_lines_to_eval():
    need_clouds()
    p = subprocess.run([str(ROOT / "scripts" / "dev-cloud"), "env"], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0
    assert f"export OS_CLIENT_CONFIG_FILE={CLOUDS}" in p.stdout.splitlines()
    assert "export OS_CLOUD=dev-admin" in p.stdout.splitlines()


def test_roles_flavors_image_and_provider_networks(admin, vendor_a):
    roles = {r.name for r in admin.identity.roles()}
    assert {"admin", "member", "reader"} <= roles
    assert {"m1.nano", "m1.tiny", "m1.small"} <= {f.name for f in admin.compute.flavors()}
    image = admin.image.find_image("debian-12-tiny")
    assert (image.disk_format, image.size, image.visibility) == ("raw", 1024 * 1024, "public")
    # Glance's store is shared by every cache directory: after a --reset the data must still be there
    assert len(admin.image.download_image(image).content) == image.size
    public = admin.network.find_network("public")
    lgwan = admin.network.find_network("lgwan")
    assert (public.is_router_external, public.provider_network_type, public.provider_physical_network) == (
        True, "flat", "physnet1")
    # LGWAN on a wire of its own: it never shares a physical network with the internet
    assert (lgwan.is_router_external, lgwan.is_shared, lgwan.provider_network_type, lgwan.provider_physical_network) == (
        True, True, "flat", "physnet2")
    # a vendor can see both: it needs them for router gateways and LGWAN ports
    seen = {n.name for n in vendor_a.network.networks()}
    assert {"public", "lgwan"} <= seen


def test_encrypted_volume_type_has_a_luks_front_end_spec(admin):
    vt = admin.block_storage.find_type("encrypted", ignore_missing=False)
    enc = admin.block_storage.get_type_encryption(vt.id)
    assert (enc.provider, enc.control_location) == ("luks", "front-end")


def test_admin_sets_quotas_per_project(admin, vendor_a):
    pid = vendor_a.current_project_id
    try:
        admin.compute.update_quota_set(pid, instances=7, cores=13)
        admin.network.update_quota(pid, networks=5, security_groups=11)
        admin.block_storage.update_quota_set(pid, volumes=9, gigabytes=99)
        assert (admin.compute.get_quota_set(pid).instances, admin.compute.get_quota_set(pid).cores) == (7, 13)
        q = admin.network.get_quota(pid)
        assert (q.networks, q.security_groups) == (5, 11)
        assert admin.block_storage.get_quota_set(pid).volumes == 9
    finally:
        admin.compute.revert_quota_set(pid)
        admin.network.delete_quota(pid)
        admin.block_storage.revert_quota_set(pid)


def test_admin_creates_an_availability_zone_with_an_aggregate(admin):
    # The one compute host is not added: the platform program puts it into its own layer zones, and a host
    # belongs to one availability zone only.
    name, az = f"test-layer-{RUN_ID}", f"test-az-{RUN_ID}"
    agg = admin.compute.create_aggregate(name=name, availability_zone=az)
    try:
        admin.compute.set_aggregate_metadata(agg, {"shuyaku_layer": "test"})
        got = admin.compute.get_aggregate(agg.id)
        assert (got.name, got.availability_zone, got.metadata.get("shuyaku_layer")) == (name, az, "test")
    finally:
        admin.compute.delete_aggregate(agg)
    assert admin.compute.find_aggregate(name) is None


# ------------------------------------------------------------------------------------------------ a vendor


def test_vendor_server_goes_active_on_its_tenant_network(admin, tenant_a):
    assert tenant_a.server.status == "ACTIVE"
    assert tenant_a.server.project_id == tenant_a.project_id
    ports = list(admin.network.ports(device_id=tenant_a.server.id))
    assert len(ports) == 1 and ports[0].network_id == tenant_a.net.id
    assert ports[0].binding_vif_type == "bridge", "ML2/linuxbridge did not bind the server's port"
    assert ports[0].fixed_ips[0]["ip_address"].startswith("10.61.0.")


def test_vendor_volume_becomes_available_and_attaches(vendor_a, tenant_a):
    c = vendor_a
    c.compute.create_volume_attachment(tenant_a.server, volume_id=tenant_a.volume.id)
    vol = c.block_storage.wait_for_status(tenant_a.volume, "in-use", failures=["error"], wait=120)
    assert vol.attachments[0]["server_id"] == tenant_a.server.id
    c.compute.delete_volume_attachment(tenant_a.server, tenant_a.volume)
    c.block_storage.wait_for_status(vol, "available", failures=["error"], wait=120)


def test_vendor_encrypted_volume_is_created_and_attaches(vendor_a, tenant_a):
    c = vendor_a
    vol = c.block_storage.create_volume(size=1, name=f"test-a-enc-{RUN_ID}", volume_type="encrypted")
    try:
        vol = c.block_storage.wait_for_status(vol, "available", failures=["error"], wait=120)
        assert vol.is_encrypted
        c.compute.create_volume_attachment(tenant_a.server, volume_id=vol.id)
        c.block_storage.wait_for_status(vol, "in-use", failures=["error"], wait=120)
        c.compute.delete_volume_attachment(tenant_a.server, vol)
        c.block_storage.wait_for_status(vol, "available", failures=["error"], wait=120)
    finally:
        c.block_storage.delete_volume(vol, ignore_missing=True)
        c.block_storage.wait_for_delete(vol, wait=120)


class Attempts:
    """Calls made as one vendor against another's things: each must be refused, or list nothing of theirs."""

    def __init__(self, foreign_project_id: str):
        self.foreign_project_id = foreign_project_id
        self.count = 0
        self.succeeded: list[str] = []

    def refused(self, what: str, call) -> None:
        """The call must raise 403/404 (or a client-side not-found)."""
        from openstack import exceptions

        self.count += 1
        try:
            result = call()
        except (exceptions.ForbiddenException, exceptions.NotFoundException, exceptions.ResourceNotFound):
            return
        except exceptions.HttpException as e:
            if e.status_code in (401, 403, 404):
                return
            self.succeeded.append(f"{what}: HTTP {e.status_code} {e}")
            return
        self.succeeded.append(f"{what}: returned {result!r:.200}")

    def empty(self, what: str, call, foreign_ids: set[str]) -> None:
        """A listing may answer, but must show nothing of the other vendor's (or be refused)."""
        from openstack import exceptions

        self.count += 1
        try:
            items = list(call())
        except (exceptions.ForbiddenException, exceptions.NotFoundException, exceptions.BadRequestException):
            return  # Cinder answers 400 to a member filtering by another project: refused too
        leaked = [getattr(i, "id", i) for i in items
                  if getattr(i, "id", None) in foreign_ids or getattr(i, "project_id", None) == self.foreign_project_id]
        if leaked:
            self.succeeded.append(f"{what}: listed {leaked}")


def test_vendor_a_gets_nothing_of_vendor_b(vendor_a, vendor_b, tenant_a, tenant_b):
    """Every attempt to list, read, change or delete vendor-b's things as vendor-a is refused or empty."""
    a, b = vendor_a, tenant_b
    tried = Attempts(b.project_id)
    refused, empty = tried.refused, tried.empty
    ids = {b.server.id, b.net.id, b.subnet.id, b.port.id, b.sg.id, b.rule.id, b.volume.id}
    # list
    empty("servers all_projects", lambda: a.compute.servers(all_projects=True), ids)
    empty("servers project_id filter", lambda: a.compute.servers(project_id=b.project_id), ids)
    empty("networks project_id filter", lambda: a.network.networks(project_id=b.project_id), ids)
    empty("networks", lambda: a.network.networks(), ids)
    empty("subnets project_id filter", lambda: a.network.subnets(project_id=b.project_id), ids)
    empty("ports project_id filter", lambda: a.network.ports(project_id=b.project_id), ids)
    empty("ports on b's network", lambda: a.network.ports(network_id=b.net.id), ids)
    empty("security groups project_id filter", lambda: a.network.security_groups(project_id=b.project_id), ids)
    empty("security group rules", lambda: a.network.security_group_rules(security_group_id=b.sg.id), ids)
    empty("volumes all_projects", lambda: a.block_storage.volumes(all_projects=True), ids)
    empty("volumes project_id filter", lambda: a.block_storage.volumes(project_id=b.project_id), ids)
    # read
    refused("get server", lambda: a.compute.get_server(b.server.id))
    refused("get network", lambda: a.network.get_network(b.net.id))
    refused("get subnet", lambda: a.network.get_subnet(b.subnet.id))
    refused("get port", lambda: a.network.get_port(b.port.id))
    refused("get security group", lambda: a.network.get_security_group(b.sg.id))
    refused("get security group rule", lambda: a.network.get_security_group_rule(b.rule.id))
    refused("get volume", lambda: a.block_storage.get_volume(b.volume.id))
    refused("get b's project", lambda: a.identity.get_project(b.project_id))
    refused("b's compute quota", lambda: a.compute.get_quota_set(b.project_id))
    # change
    refused("rename server", lambda: a.compute.update_server(b.server.id, name="pwned"))
    refused("stop server", lambda: a.compute.stop_server(b.server.id))
    refused("rename network", lambda: a.network.update_network(b.net.id, name="pwned"))
    refused("port on b's network", lambda: a.network.create_port(network_id=b.net.id))
    refused("open b's security group", lambda: a.network.create_security_group_rule(
        security_group_id=b.sg.id, direction="ingress", protocol="tcp", port_range_min=1, port_range_max=65535,
        remote_ip_prefix="0.0.0.0/0", ethertype="IPv4"))
    refused("attach b's volume to a's server", lambda: a.compute.create_volume_attachment(
        tenant_a.server, volume_id=b.volume.id))
    refused("rename volume", lambda: a.block_storage.update_volume(b.volume.id, name="pwned"))
    refused("raise own quota", lambda: a.compute.update_quota_set(a.current_project_id, instances=1000))
    # delete
    refused("delete server", lambda: a.compute.delete_server(b.server.id, ignore_missing=False))
    refused("delete port", lambda: a.network.delete_port(b.port.id, ignore_missing=False))
    refused("delete security group rule", lambda: a.network.delete_security_group_rule(b.rule.id,
                                                                                       ignore_missing=False))
    refused("delete security group", lambda: a.network.delete_security_group(b.sg.id, ignore_missing=False))
    refused("delete subnet", lambda: a.network.delete_subnet(b.subnet.id, ignore_missing=False))
    refused("delete network", lambda: a.network.delete_network(b.net.id, ignore_missing=False))
    refused("delete volume", lambda: a.block_storage.delete_volume(b.volume.id, ignore_missing=False))

    assert tried.count == 35
    assert not tried.succeeded, f"{len(tried.succeeded)} of {tried.count} attempts succeeded:\n" + "\n".join(
        tried.succeeded)
    # and vendor-b's things are all still there, unchanged
    assert vendor_b.compute.get_server(b.server.id).name == b.server.name
    assert vendor_b.compute.get_server(b.server.id).status == "ACTIVE"
    assert vendor_b.network.get_network(b.net.id).name == b.net.name
    assert {r.id for r in vendor_b.network.security_group_rules(security_group_id=b.sg.id)
            if r.direction == "ingress" and r.remote_ip_prefix == "0.0.0.0/0"} == set()
    assert vendor_b.block_storage.get_volume(b.volume.id).name == b.volume.name


def test_the_dev_cloud_enforces_the_roles_policy_files() -> None:
    """`scripts/dev-cloud up` ran roles/openstack_policy here: each service's policy.yaml holds exactly the
    role's overrides, as on the controllers."""
    import yaml

    doc = yaml.safe_load((ROOT / "roles" / "openstack_policy" / "vars" / "main.yml").read_text(encoding="utf-8"))
    for svc, groups in doc["openstack_policy_rules"].items():
        want = {name: check for group in groups for name, check in group["rules"].items()}
        path = Path("/etc") / svc / "policy.yaml"
        assert path.exists(), f"{path} is missing: `scripts/dev-cloud up` applies roles/openstack_policy"
        assert yaml.safe_load(path.read_text(encoding="utf-8")) == want, f"{path} differs from the role's rules"
        assert "# Threat: " in path.read_text(encoding="utf-8")
