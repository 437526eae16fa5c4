"""The setting a vendor attacks in test_vendor_attempts.py, built by the operator as the platform program builds it
(one project per layer with its network, subnet and group, the zone's operator-owned router, a private flavor on the
layer's aggregate), the vendors' own sessions, and the module-scoped fixtures that make and remove it."""

from __future__ import annotations

import contextlib
import secrets
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cloudlogin import HOST, connect

ROOT = Path(__file__).resolve().parents[2]
RUN = uuid.uuid4().hex[:6]
IMAGE = "debian-12-tiny"
FLAVOR = "m1.nano"
LAYERS = {"mynumber": "10.81.0.0/24", "lgwan": "10.82.0.0/24", "internet": "10.83.0.0/24"}
# scripts/dev-cloud runs one fake compute host per layer (LAYER_HOSTS there).
LAYER_HOSTS = {layer: f"{HOST}-{layer}" for layer in LAYERS}
SITE = f"va-{RUN}"  # the aggregates' and flavors' site pin, so nothing here matches a deployed stack's
# What the API answers a refused call with: 403 (policy), 404 (not visible to this project).
REFUSED = (403, 404)


def admin_conn():
    return connect("dev-admin")


def login(admin, username: str, password: str, project_id: str):
    import openstack.connection

    auth = admin.config.config["auth"]
    return openstack.connection.Connection(
        auth_url=auth["auth_url"], username=username, password=password, project_id=project_id,
        user_domain_name="Default", region_name=admin.config.region_name, identity_api_version="3",
        interface="public")


def api(proxy, method: str, url: str, **kw: Any) -> Any:
    """A raw call through the SDK's service proxy that raises the SDK's HttpException on 4xx/5xx."""
    from openstack import exceptions

    resp = proxy.request(url, method, **kw)
    exceptions.raise_from_response(resp)
    return resp.json() if resp.content else None


def refused(what: str, call: Callable[[], Any], statuses: tuple[int, ...] = REFUSED) -> int:
    """The call must be refused by the API with one of `statuses`; returns the status seen."""
    from openstack import exceptions

    try:
        result = call()
    except exceptions.HttpException as e:
        status = e.status_code
        assert status in statuses, f"{what}: answered HTTP {status}, expected a refusal {statuses}: {e}"
        print(f"\n[attempt] {what} -> HTTP {status}")
        return int(status)
    pytest.fail(f"{what}: the API allowed it (it must refuse): {result!r:.300}")


@dataclass
class Tenant:
    """One layer's business system as the platform leaves it, plus its vendor's own session."""

    layer: str
    project: Any
    user: Any
    password: str
    net: Any
    subnet: Any
    sg: Any
    flavor: Any = None  # the layer's private flavor, pinned to its aggregate, open to this project only
    zone: str = ""  # the layer's availability zone
    conn: Any = None
    made: dict[str, Any] = field(default_factory=dict)  # what the vendor itself made (control tests)

    @property
    def pid(self) -> str:
        return self.project.id


@dataclass
class Cloud:
    admin: Any
    tenants: dict[str, Tenant]
    zone_routers: dict[str, Any]
    tenant_router: Any  # operator-made, owned by the My Number project, no interfaces
    roles: dict[str, Any]
    public: Any
    lgwan: Any
    aggregates: list[Any] = field(default_factory=list)


def setup_cloud(admin) -> Cloud:
    roles = {r.name: r for r in admin.identity.roles()}
    public = admin.network.find_network("public", ignore_missing=False)
    lgwan = admin.network.find_network("lgwan", ignore_missing=False)
    tenants: dict[str, Tenant] = {}
    zone_routers: dict[str, Any] = {}
    for layer, cidr in LAYERS.items():
        project = admin.identity.create_project(name=f"va-{layer}-{RUN}", domain_id="default",
                                                description=f"vendor attempts: {layer} tenant (test)")
        password = secrets.token_hex(16)
        user = admin.identity.create_user(name=f"va-vendor-{layer}-{RUN}", domain_id="default",
                                          password=password, default_project_id=project.id)
        admin.identity.assign_project_role_to_user(project, user, roles["member"])
        # as the platform program does: the network, subnet and group belong to the tenant's project
        net = admin.network.create_network(name=f"va-{layer}-net-{RUN}", project_id=project.id)
        subnet = admin.network.create_subnet(network_id=net.id, project_id=project.id, ip_version=4, cidr=cidr,
                                             name=f"va-{layer}-subnet-{RUN}", is_dhcp_enabled=False)
        sg = admin.network.create_security_group(name=f"va-{layer}-tenant-{RUN}", project_id=project.id)
        # the zone's router belongs to the operator; LGWAN and internet zones have a gateway
        gateway = {"lgwan": lgwan.id, "internet": public.id}.get(layer)
        info = {"network_id": gateway, **({"enable_snat": False} if layer == "internet" else {})}
        router = admin.network.create_router(
            name=f"va-{layer}-router-{RUN}", **({"external_gateway_info": info} if gateway else {}))
        admin.network.add_interface_to_router(router, subnet_id=subnet.id)
        zone_routers[layer] = router
        tenants[layer] = Tenant(layer, project, user, password, net, subnet, sg)
    tenant_router = admin.network.create_router(name=f"va-mynumber-own-router-{RUN}",
                                                project_id=tenants["mynumber"].pid)
    aggregates = [place_layer(admin, t) for t in tenants.values()]
    for t in tenants.values():
        t.conn = login(admin, t.user.name, t.password, t.pid)
        t.conn.authorize()
    return Cloud(admin, tenants, zone_routers, tenant_router, roles, public, lgwan, aggregates)


def place_layer(admin, t: Tenant) -> Any:
    """As the platform program places a layer: a private flavor pinned to the layer's aggregate and opened to the
    tenant, and the aggregate (the layer's host, its own availability zone) admitting only the tenant."""
    host = LAYER_HOSTS[t.layer]
    taken = [a.name for a in admin.compute.aggregates() if host in (a.hosts or []) and a.availability_zone]
    assert not taken, (f"{host} already sits in availability zone aggregate(s) {taken}: a deployed stack holds it; "
                       "destroy it (or `scripts/dev-cloud up --reset`) before this module")
    t.flavor = admin.compute.create_flavor(name=f"va-{t.layer}.small-{RUN}", vcpus=1, ram=128, disk=1,
                                           is_public=False)
    admin.compute.create_flavor_extra_specs(t.flavor, {"aggregate_instance_extra_specs:shuyaku_layer": t.layer,
                                                       "aggregate_instance_extra_specs:shuyaku_site": SITE})
    admin.compute.flavor_add_tenant_access(t.flavor, t.pid)
    t.zone = f"va-{t.layer}-{RUN}"
    agg = admin.compute.create_aggregate(name=f"va-{t.layer}-{RUN}", availability_zone=t.zone)
    admin.compute.set_aggregate_metadata(agg, {"shuyaku_layer": t.layer, "shuyaku_site": SITE,
                                               f"filter_tenant_id_{t.layer}": t.pid})
    admin.compute.add_host_to_aggregate(agg, host)
    return agg


def quietly(call: Callable[[], Any]) -> None:
    with contextlib.suppress(Exception):
        call()


def teardown_cloud(c: Cloud) -> None:
    """Remove everything the module made, whatever the vendors managed to create, as admin."""
    a = c.admin
    pids = {t.pid for t in c.tenants.values()}
    for pid in pids:
        for s in a.compute.servers(all_projects=True, project_id=pid):
            quietly(lambda s=s: a.compute.delete_server(s, force=True))
    for pid in pids:
        for s in a.compute.servers(all_projects=True, project_id=pid):
            quietly(lambda s=s: a.compute.wait_for_delete(s, wait=120))
        for tr in a.block_storage.transfers(all_projects=True):
            if tr.volume_id in {v.id for v in a.block_storage.volumes(all_projects=True, project_id=pid)}:
                quietly(lambda tr=tr: a.block_storage.delete_transfer(tr))
        for v in a.block_storage.volumes(all_projects=True, project_id=pid):
            quietly(lambda v=v: a.block_storage.wait_for_status(v, "available", failures=["error"], wait=60))
            quietly(lambda v=v: a.block_storage.delete_volume(v, force=True))
        for b in a.block_storage.backups(all_projects=True, project_id=pid):
            quietly(lambda b=b: a.block_storage.delete_backup(b, force=True))
        for img in a.image.images(owner=pid):
            quietly(lambda img=img: a.image.delete_image(img))
        for g in a.compute.server_groups(all_projects=True):
            if g.project_id == pid:
                quietly(lambda g=g: a.compute.delete_server_group(g))
    routers = [*c.zone_routers.values(), c.tenant_router]
    routers += [r for pid in pids for r in a.network.routers(project_id=pid) if r.id not in {x.id for x in routers}]
    for r in routers:
        for p in a.network.ports(device_id=r.id, device_owner="network:router_interface"):
            for ip in p.fixed_ips:
                quietly(lambda r=r, ip=ip: a.network.remove_interface_from_router(r, subnet_id=ip["subnet_id"]))
        quietly(lambda r=r: a.network.update_router(r, external_gateway_info={}))
        quietly(lambda r=r: a.network.delete_router(r))
    for pid in pids:
        for fip in a.network.ips(project_id=pid):
            quietly(lambda fip=fip: a.network.delete_ip(fip))
        for rbac in a.network.rbac_policies(project_id=pid):
            quietly(lambda rbac=rbac: a.network.delete_rbac_policy(rbac))
        for p in a.network.ports(project_id=pid):
            quietly(lambda p=p: a.network.delete_port(p))
        for n in a.network.networks(project_id=pid):
            quietly(lambda n=n: a.network.delete_network(n))
        for sg in a.network.security_groups(project_id=pid):
            quietly(lambda sg=sg: a.network.delete_security_group(sg))
    for agg in c.aggregates:
        for host in a.compute.get_aggregate(agg).hosts or []:
            quietly(lambda agg=agg, host=host: a.compute.remove_host_from_aggregate(agg, host))
        quietly(lambda agg=agg: a.compute.delete_aggregate(agg))
    for t in c.tenants.values():
        if t.flavor is not None:
            quietly(lambda t=t: a.compute.delete_flavor(t.flavor))
        quietly(lambda t=t: a.identity.delete_user(t.user))
        quietly(lambda t=t: a.identity.delete_project(t.project))


@pytest.fixture(scope="module")
def cloud() -> Iterator[Cloud]:
    admin = admin_conn()
    c = setup_cloud(admin)
    try:
        yield c
    finally:
        teardown_cloud(c)


@pytest.fixture(scope="module")
def mn(cloud: Cloud) -> Tenant:
    return cloud.tenants["mynumber"]


@pytest.fixture(scope="module")
def lg(cloud: Cloud) -> Tenant:
    return cloud.tenants["lgwan"]


def boot(t: Tenant, name: str, **net: Any):
    image = t.conn.image.find_image(IMAGE, ignore_missing=False)
    networks = [net] if net else [{"uuid": t.net.id}]
    server = t.conn.compute.create_server(name=name, image_id=image.id, flavor_id=t.flavor.id, networks=networks,
                                          availability_zone=t.zone)
    return t.conn.compute.wait_for_server(server, status="ACTIVE", failures=["ERROR"], wait=180, interval=2)


@pytest.fixture(scope="module")
def workloads(cloud: Cloud) -> dict[str, Tenant]:
    """Each of the My Number and LGWAN vendors deploys what the vendor project template deploys: a port on its
    tenant subnet in the tenant's group, a server on that port, a data volume attached to it."""
    for t in (cloud.tenants["mynumber"], cloud.tenants["lgwan"]):
        c = t.conn
        port = c.network.create_port(network_id=t.net.id, name=f"va-{t.layer}-web-01-{RUN}",
                                     fixed_ips=[{"subnet_id": t.subnet.id}], security_group_ids=[t.sg.id],
                                     is_admin_state_up=True)
        c.network.set_tags(port, ["shuyaku:layer=" + t.layer, "shuyaku:role=web"])
        volume = c.block_storage.create_volume(size=1, name=f"va-{t.layer}-web-01-data-{RUN}")
        server = boot(t, f"va-{t.layer}-web-01-{RUN}", port=port.id)
        volume = c.block_storage.wait_for_status(volume, "available", failures=["error"], wait=120)
        c.compute.create_volume_attachment(server, volume_id=volume.id)
        volume = c.block_storage.wait_for_status(volume, "in-use", failures=["error"], wait=120)
        spare = c.block_storage.create_volume(size=1, name=f"va-{t.layer}-spare-{RUN}")
        spare = c.block_storage.wait_for_status(spare, "available", failures=["error"], wait=120)
        t.made.update(port=port, server=server, volume=volume, spare=spare)
    return cloud.tenants


# ------------------------------------------------------------------------------------------ helpers of the attempts


def image_body(name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "disk_format": "raw", "container_format": "bare", **extra}


def scheduler_refuses(t: Tenant, what: str, **kw: Any) -> None:
    """Nova accepts the request (202) and its scheduler finds no host: the server ends in ERROR on no host."""
    from openstack import exceptions

    c = t.conn
    image = c.image.find_image(IMAGE, ignore_missing=False)
    server = c.compute.create_server(name=f"va-elsewhere-{RUN}", image_id=image.id, networks=[{"uuid": t.net.id}],
                                     **kw)
    try:
        with pytest.raises(exceptions.ResourceFailure):
            c.compute.wait_for_server(server, status="ACTIVE", failures=["ERROR"], wait=180, interval=2)
        got = c.compute.get_server(server.id)
        fault = (got.fault or {}).get("message", "")
        assert got.status == "ERROR" and "No valid host" in fault, (got.status, fault)
        print(f"\n[attempt] {what} -> 202, server ERROR: {fault}")
    finally:
        c.compute.delete_server(server, force=True)
        c.compute.wait_for_delete(server, wait=120)
