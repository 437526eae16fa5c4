"""A vendor, with its own credentials and the full API, tries to leave its tenant; the cloud refuses.

Issue 11 ("prevent what can be prevented"): the operator's policy overrides (roles/openstack_policy, loaded by
`scripts/dev-cloud up` exactly as on the controllers) must refuse every attempt below, and must keep the
vendor's legitimate work (servers, ports, volumes, its own security-group rules, key pairs) working.

The setting is built by the operator (admin) the way the platform program builds it: one project per layer,
each with a network, subnet and security group owned by the project, the zone's router owned by the operator's
project with an interface on the tenant subnet, and (for the router attempts) a router the operator made
inside the My Number project. Each layer's vendor is a fresh Keystone user holding `member` on its own
project only. Everything is removed at module end.

Each attempt is one test and asserts the HTTP status of the refusal; `-s` prints one line per attempt
(`[attempt] ... -> HTTP 403`), the record bench/RESULTS.md and docs/threat-model.md draw on.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
import vendorsetting as vs
from cloudlogin import HOST
from vendorsetting import FLAVOR, IMAGE, LAYER_HOSTS, RUN, Cloud, Tenant, api, login, quietly, refused

pytestmark = pytest.mark.integration
# The module's fixtures, made in vendorsetting.py; pytest finds them by these names here.
cloud, mn, lg, workloads = vs.cloud, vs.mn, vs.lg, vs.workloads

# ------------------------------------------------------------------------------------------ control: still allowed


def test_control_vendor_deploys_like_the_vendor_template(workloads: dict[str, Tenant]) -> None:
    """Port on its subnet in its group (tagged), server on that port ACTIVE, data volume attached."""
    for layer in ("mynumber", "lgwan"):
        t = workloads[layer]
        server = t.conn.compute.get_server(t.made["server"].id)
        assert server.status == "ACTIVE"
        ports = list(t.conn.network.ports(device_id=server.id))
        assert [p.network_id for p in ports] == [t.net.id]
        assert ports[0].is_port_security_enabled is True
        assert set(t.conn.network.get_port(t.made["port"].id).tags) == {f"shuyaku:layer={layer}", "shuyaku:role=web"}
        vol = t.conn.block_storage.get_volume(t.made["volume"].id)
        assert vol.status == "in-use" and vol.attachments[0]["server_id"] == server.id


def test_control_vendor_edits_rules_of_its_own_groups(mn: Tenant) -> None:
    c = mn.conn
    rule = c.network.create_security_group_rule(
        security_group_id=mn.sg.id, direction="ingress", protocol="tcp", port_range_min=443, port_range_max=443,
        remote_ip_prefix="10.81.0.0/24", ethertype="IPv4")
    c.network.delete_security_group_rule(rule)
    own = c.network.create_security_group(name=f"va-mynumber-own-sg-{RUN}")
    rule = c.network.create_security_group_rule(
        security_group_id=own.id, direction="egress", protocol="tcp", port_range_min=5432, port_range_max=5432,
        remote_ip_prefix="10.81.0.0/24", ethertype="IPv4")
    assert rule.project_id == mn.pid
    c.network.delete_security_group(own)


def test_control_vendor_key_pair_server_group_and_explicit_port_security(mn: Tenant) -> None:
    c = mn.conn
    kp = c.compute.create_keypair(name=f"va-key-{RUN}")
    assert kp.private_key
    c.compute.delete_keypair(kp)
    group = c.compute.create_server_group(name=f"va-db-{RUN}", policies=["anti-affinity"])
    c.compute.delete_server_group(group)
    # a stack that states port security explicitly (on) is not refused: only turning it off is
    port = c.network.create_port(network_id=mn.net.id, name=f"va-explicit-ps-{RUN}", port_security_enabled=True)
    assert port.is_port_security_enabled is True
    c.network.update_port(port, name=f"va-explicit-ps-renamed-{RUN}")
    c.network.delete_port(port)


def test_control_vendor_volume_detaches_and_snapshots_within_its_project(workloads: dict[str, Tenant]) -> None:
    t = workloads["mynumber"]
    c = t.conn
    snap = c.block_storage.create_snapshot(volume_id=t.made["spare"].id, name=f"va-snap-{RUN}")
    snap = c.block_storage.wait_for_status(snap, "available", failures=["error"], wait=120)
    c.block_storage.delete_snapshot(snap)
    c.block_storage.wait_for_delete(snap, wait=120)


# ------------------------------------------------------------------------------------------ routers and gateways


def test_vendor_cannot_create_a_router(mn: Tenant) -> None:
    refused("create a router in its own project", lambda: mn.conn.network.create_router(name=f"va-rogue-{RUN}"))


def test_vendor_cannot_create_a_router_with_an_external_gateway(cloud: Cloud, mn: Tenant) -> None:
    refused("create a router with a gateway on `public` (SNAT)", lambda: mn.conn.network.create_router(
        name=f"va-rogue-gw-{RUN}", external_gateway_info={"network_id": cloud.public.id}))


def test_vendor_cannot_set_a_gateway_on_its_tenants_router(cloud: Cloud, mn: Tenant) -> None:
    refused("external gateway on the router the operator made in its project", lambda: mn.conn.network.update_router(
        cloud.tenant_router.id, external_gateway_info={"network_id": cloud.public.id}))


def test_vendor_cannot_set_a_gateway_on_the_zone_router(cloud: Cloud, mn: Tenant) -> None:
    refused("external gateway on its zone's (operator's) router", lambda: mn.conn.network.update_router(
        cloud.zone_routers["mynumber"].id, external_gateway_info={"network_id": cloud.public.id}))


def test_vendor_cannot_add_an_interface_to_a_router(cloud: Cloud, mn: Tenant) -> None:
    # its subnet's gateway address is the zone router's already, so the interface is a port of its own
    port = mn.conn.network.create_port(network_id=mn.net.id, name=f"va-if-port-{RUN}")
    try:
        refused("add a port of its own to the router in its project", lambda: mn.conn.network.add_interface_to_router(
            cloud.tenant_router.id, port_id=port.id))
        refused("add a port of its own to the LGWAN zone router", lambda: mn.conn.network.add_interface_to_router(
            cloud.zone_routers["lgwan"].id, port_id=port.id))
    finally:
        quietly(lambda: mn.conn.network.delete_port(port))


def test_vendor_cannot_add_routes_or_remove_interfaces(cloud: Cloud, mn: Tenant) -> None:
    refused("add a static route to the router in its project", lambda: mn.conn.network.add_extra_routes_to_router(
        cloud.tenant_router.id, {"router": {"routes": [{"destination": "0.0.0.0/0", "nexthop": "10.81.0.5"}]}}))
    refused("detach its subnet from the zone router", lambda: mn.conn.network.remove_interface_from_router(
        cloud.zone_routers["mynumber"].id, subnet_id=mn.subnet.id))


def test_vendor_who_widens_its_egress_still_has_no_way_past_the_proxy(cloud: Cloud) -> None:
    """The internet vendor opens its own group to the world (its right); the layer's way out stays the proxy:
    its zone router does no SNAT (so only the proxy has a route back), it cannot turn SNAT on, and it cannot get
    a floating IP (a one-to-one NAT) or move the one the operator made for a published server."""
    it = cloud.tenants["internet"]
    c = it.conn
    rule = c.network.create_security_group_rule(security_group_id=it.sg.id, direction="egress", ethertype="IPv4",
                                                protocol="tcp", port_range_min=1, port_range_max=65535,
                                                remote_ip_prefix="0.0.0.0/0")
    try:
        router = cloud.admin.network.get_router(cloud.zone_routers["internet"].id)
        assert router.external_gateway_info["enable_snat"] is False
        refused("turn SNAT on at its zone router", lambda: c.network.update_router(
            router.id, external_gateway_info={"network_id": cloud.public.id, "enable_snat": True}))
        refused("allocate a floating IP", lambda: c.network.create_ip(floating_network_id=cloud.public.id))
        port = c.network.create_port(network_id=it.net.id, name=f"va-internet-pub-{RUN}",
                                     fixed_ips=[{"subnet_id": it.subnet.id}])
        published = cloud.admin.network.create_ip(floating_network_id=cloud.public.id, project_id=it.pid)
        other = c.network.create_port(network_id=it.net.id, name=f"va-internet-other-{RUN}",
                                      fixed_ips=[{"subnet_id": it.subnet.id}])
        cloud.admin.network.update_ip(published, port_id=port.id)
        refused("move the operator's floating IP to another of its ports", lambda: c.network.update_ip(
            published.id, port_id=other.id))
        assert cloud.admin.network.get_ip(published.id).port_id == port.id
    finally:
        c.network.delete_security_group_rule(rule)


# ------------------------------------------------------------------------------------------ networks and ports


def test_vendor_cannot_create_a_network(mn: Tenant) -> None:
    refused("create a network", lambda: mn.conn.network.create_network(name=f"va-rogue-net-{RUN}"))


def test_vendor_cannot_create_or_change_a_subnet(mn: Tenant) -> None:
    refused("create a second subnet on its tenant network", lambda: mn.conn.network.create_subnet(
        network_id=mn.net.id, ip_version=4, cidr="10.81.1.0/24", name=f"va-rogue-subnet-{RUN}"))
    refused("add a host route to its subnet", lambda: mn.conn.network.update_subnet(
        mn.subnet.id, host_routes=[{"destination": "0.0.0.0/0", "nexthop": "10.81.0.5"}]))


def test_vendor_cannot_share_its_network_with_another_project(mn: Tenant, lg: Tenant) -> None:
    refused("share its network with the LGWAN tenant (RBAC)", lambda: mn.conn.network.create_rbac_policy(
        object_type="network", object_id=mn.net.id, action="access_as_shared", target_tenant=lg.pid))


def test_vendor_cannot_put_a_port_on_the_external_network(cloud: Cloud, mn: Tenant) -> None:
    refused("port on `public` (external)", lambda: mn.conn.network.create_port(network_id=cloud.public.id))


def test_vendor_cannot_put_a_port_on_the_lgwan_provider_network(cloud: Cloud, mn: Tenant) -> None:
    refused("port on `lgwan` (provider, external, shared)", lambda: mn.conn.network.create_port(
        network_id=cloud.lgwan.id))


def test_vendor_cannot_boot_a_server_on_the_lgwan_provider_network(cloud: Cloud, mn: Tenant) -> None:
    """Nova's API accepts the request (202: it checks only external networks that are not shared); the build
    then fails where the NIC is made, since nova-compute creates the port with the vendor's own token and
    Neutron refuses it: the server ends in ERROR with no port at all."""
    from openstack import exceptions

    c = mn.conn
    image = c.image.find_image(IMAGE, ignore_missing=False)
    flavor = c.compute.find_flavor(FLAVOR, ignore_missing=False)
    try:
        server = c.compute.create_server(name=f"va-rogue-srv-{RUN}", image_id=image.id, flavor_id=flavor.id,
                                         networks=[{"uuid": cloud.lgwan.id}])
    except exceptions.HttpException as e:
        assert e.status_code in (400, 403, 404), e
        print(f"\n[attempt] server with a NIC on `lgwan` -> HTTP {e.status_code}")
        return
    try:
        server = c.compute.wait_for_server(server, status="ERROR", failures=["ACTIVE"], wait=180, interval=2)
        assert list(cloud.admin.network.ports(device_id=server.id)) == []
        fault = (server.fault or {}).get("message", "")
        print(f"\n[attempt] server with a NIC on `lgwan` -> API 202, server ERROR, no port ({fault[:80]})")
    finally:
        c.compute.delete_server(server)
        c.compute.wait_for_delete(server, wait=120)


def test_vendor_cannot_attach_an_interface_on_another_network(cloud: Cloud, workloads: dict[str, Tenant]) -> None:
    t = workloads["mynumber"]
    lg = workloads["lgwan"]
    for net, what in ((cloud.lgwan.id, "`lgwan`"), (lg.net.id, "the LGWAN tenant's network")):
        refused(f"attach a second NIC on {what} to its server", lambda net=net: t.conn.compute.create_server_interface(
            t.made["server"].id, net_id=net), statuses=(400, 403, 404))
    ports = list(cloud.admin.network.ports(device_id=t.made["server"].id))
    assert [p.network_id for p in ports] == [t.net.id]


def test_vendor_cannot_turn_port_security_off(workloads: dict[str, Tenant]) -> None:
    t = workloads["mynumber"]
    refused("port security off on its server's port", lambda: t.conn.network.update_port(
        t.made["port"].id, port_security_enabled=False, security_group_ids=[]))
    refused("new port with port security off", lambda: t.conn.network.create_port(
        network_id=t.net.id, port_security_enabled=False))
    refused("port security off on its tenant network", lambda: t.conn.network.update_network(
        t.net.id, port_security_enabled=False))


def test_vendor_cannot_add_allowed_address_pairs(workloads: dict[str, Tenant]) -> None:
    t = workloads["mynumber"]
    refused("allowed address pair 0.0.0.0/0 on its server's port", lambda: t.conn.network.update_port(
        t.made["port"].id, allowed_address_pairs=[{"ip_address": "0.0.0.0/0"}]))
    refused("new port with allowed address pair 0.0.0.0/0", lambda: t.conn.network.create_port(
        network_id=t.net.id, allowed_address_pairs=[{"ip_address": "0.0.0.0/0"}]))


def test_vendor_cannot_make_a_trusted_network_device_port(mn: Tenant) -> None:
    # ports owned by `network:*` get no anti-spoofing or security-group filtering in the agent
    refused("port with device_owner network:dhcp on its network", lambda: mn.conn.network.create_port(
        network_id=mn.net.id, device_owner="network:dhcp"))


def test_vendor_with_tenants_in_two_layers_cannot_join_them(cloud: Cloud, workloads: dict[str, Tenant]) -> None:
    """Several vendors hold tenants in two layers: the My Number vendor is also made member of the internet
    tenant (by the operator), logs in there, and tries to reach its own My Number tenant from it."""
    mn, inet = workloads["mynumber"], cloud.tenants["internet"]
    cloud.admin.identity.assign_project_role_to_user(inet.project, mn.user, cloud.roles["member"])
    try:
        c = login(cloud.admin, mn.user.name, mn.password, inet.pid)
        refused("from its internet tenant: port on its My Number network", lambda: c.network.create_port(
            network_id=mn.net.id))
        image = c.image.find_image(IMAGE, ignore_missing=False)
        flavor = c.compute.find_flavor(FLAVOR, ignore_missing=False)
        refused("from its internet tenant: server with a NIC on its My Number network", lambda: c.compute.create_server(
            name=f"va-bridge-{RUN}", image_id=image.id, flavor_id=flavor.id, networks=[{"uuid": mn.net.id}]),
            statuses=(400, 403, 404))
        refused("from its internet tenant: read its My Number volume", lambda: c.block_storage.get_volume(
            mn.made["volume"].id))
        refused("from its internet tenant: share its My Number network to it (RBAC)", lambda: mn.conn.network.create_rbac_policy(
            object_type="network", object_id=mn.net.id, action="access_as_shared", target_tenant=inet.pid))
    finally:
        cloud.admin.identity.unassign_project_role_from_user(inet.project, mn.user, cloud.roles["member"])


def test_vendor_cannot_get_an_auto_allocated_topology(cloud: Cloud, mn: Tenant) -> None:
    """Neutron builds the topology inside the GET, before any policy check; what refuses it is that no external
    network is the default one (only the operator may mark one): 409, and nothing is built."""
    refused("auto-allocated topology (a router with a gateway, built for it)", lambda: api(
        mn.conn.network, "GET", f"/auto-allocated-topology/{mn.pid}"), statuses=(403, 404, 409))
    assert [r.id for r in cloud.admin.network.routers(project_id=mn.pid)] == [cloud.tenant_router.id]
    assert [n.id for n in cloud.admin.network.networks(project_id=mn.pid)] == [mn.net.id]
    assert not [n.name for n in cloud.admin.network.networks(is_default=True)]


# ------------------------------------------------------------------------------------------ images


def test_vendor_cannot_publish_an_image(mn: Tenant) -> None:
    c = mn.conn
    refused("create a public image", lambda: api(c.image, "POST", "/images",
                                                 json=vs.image_body(f"va-pub-{RUN}", visibility="public")))
    refused("create a community image", lambda: api(c.image, "POST", "/images",
                                                    json=vs.image_body(f"va-com-{RUN}", visibility="community")))
    own = api(c.image, "POST", "/images", json=vs.image_body(f"va-own-{RUN}", visibility="private"))
    patch = {"headers": {"Content-Type": "application/openstack-images-v2.1-json-patch"}}
    for vis in ("public", "community"):
        refused(f"make its private image {vis}", lambda vis=vis: api(
            c.image, "PATCH", f"/images/{own['id']}", json=[{"op": "replace", "path": "/visibility", "value": vis}],
            **patch))


def test_vendor_cannot_share_an_image(mn: Tenant, lg: Tenant) -> None:
    c = mn.conn
    img = api(c.image, "POST", "/images", json=vs.image_body(f"va-share-{RUN}", visibility="shared"))
    refused("share its image with the LGWAN tenant", lambda: api(
        c.image, "POST", f"/images/{img['id']}/members", json={"member": lg.pid}))


def test_vendor_cannot_accept_a_shared_image(cloud: Cloud, mn: Tenant, lg: Tenant) -> None:
    # the share itself is made by the operator (only it can now); accepting is still refused to the vendor
    a = cloud.admin
    img = api(a.image, "POST", "/images", json=vs.image_body(f"va-offered-{RUN}", visibility="shared", owner=lg.pid))
    api(a.image, "POST", f"/images/{img['id']}/members", json={"member": mn.pid})
    refused("accept an image shared with its project", lambda: api(
        mn.conn.image, "PUT", f"/images/{img['id']}/members/{mn.pid}", json={"status": "accepted"}))


def test_vendor_cannot_have_the_controller_fetch_a_url_into_an_image(mn: Tenant) -> None:
    """glance's web-download import makes the controller fetch the URL the caller names; it is off (loopback URL:
    nothing would leave this machine even if it were on)."""
    c = mn.conn
    image = c.image.create_image(name=f"va-fetch-{RUN}", disk_format="raw", container_format="bare",
                                 allow_duplicates=True)
    try:
        from openstack import exceptions

        # the SDK hands the import's answer back without raising: raise on it as on any other call
        refused("import an image from a URL (web-download)", lambda: exceptions.raise_from_response(
            c.image.import_image(image, method="web-download", uri="http://127.0.0.1:9/nothing")),
            statuses=(400, 403, 409))
        assert c.image.get_image(image.id).status == "queued"
    finally:
        c.image.delete_image(image)


def test_vendor_cannot_upload_a_volume_as_a_public_image(workloads: dict[str, Tenant]) -> None:
    t = workloads["mynumber"]
    refused("upload its volume to a public image", lambda: t.conn.block_storage.upload_volume_to_image(
        t.made["spare"].id, f"va-vol-pub-{RUN}", disk_format="raw", container_format="bare", visibility="public"))


# ------------------------------------------------------------------------------------------ volumes


def test_vendor_cannot_transfer_a_volume(workloads: dict[str, Tenant]) -> None:
    t = workloads["mynumber"]
    refused("create a transfer of its volume", lambda: t.conn.block_storage.create_transfer(
        volume_id=t.made["spare"].id, name=f"va-xfer-{RUN}"))


def test_vendor_cannot_accept_a_volume_transfer(cloud: Cloud, workloads: dict[str, Tenant]) -> None:
    lg, mn = workloads["lgwan"], workloads["mynumber"]
    offer = cloud.admin.block_storage.create_transfer(volume_id=lg.made["spare"].id, name=f"va-offer-{RUN}")
    try:
        refused("accept a transfer of the LGWAN tenant's volume", lambda: mn.conn.block_storage.accept_transfer(
            offer.id, offer.auth_key))
        assert cloud.admin.block_storage.get_volume(lg.made["spare"].id).project_id == lg.pid
    finally:
        quietly(lambda: cloud.admin.block_storage.delete_transfer(offer))


def test_vendor_cannot_back_up_a_volume(workloads: dict[str, Tenant]) -> None:
    # The dev cloud runs no cinder-backup; the policy refuses before the API looks for one.
    t = workloads["mynumber"]
    refused("back up its volume", lambda: t.conn.block_storage.create_backup(
        volume_id=t.made["spare"].id, name=f"va-backup-{RUN}"))


# ------------------------------------------------------------------------------------------ identity


def test_vendor_cannot_grant_roles(cloud: Cloud, mn: Tenant, lg: Tenant) -> None:
    # raw calls: the SDK's assign_project_role_to_user answers None whatever Keystone says
    c, r = mn.conn, cloud.roles

    def grant(project_id: str, user_id: str, role_id: str) -> Any:
        return api(c.identity, "PUT", f"/projects/{project_id}/users/{user_id}/roles/{role_id}")

    refused("grant itself admin on its project", lambda: grant(mn.pid, mn.user.id, r["admin"].id))
    refused("grant itself member on the LGWAN project", lambda: grant(lg.pid, mn.user.id, r["member"].id))
    refused("grant the LGWAN vendor member on its project", lambda: grant(mn.pid, lg.user.id, r["member"].id))
    assigned = {(a.scope["project"]["id"], a.role["id"]) for a in cloud.admin.identity.role_assignments(
        user_id=mn.user.id)}
    assert assigned == {(mn.pid, r["member"].id)}


def test_vendor_cannot_delegate_through_a_trust(cloud: Cloud, mn: Tenant, lg: Tenant) -> None:
    refused("trust: delegate its member role to the LGWAN vendor", lambda: mn.conn.identity.create_trust(
        trustor_user_id=mn.user.id, trustee_user_id=lg.user.id, project_id=mn.pid,
        roles=[{"name": "member"}], impersonation=False))


def test_vendor_cannot_make_an_application_credential_beyond_its_role(cloud: Cloud, mn: Tenant, lg: Tenant) -> None:
    c = mn.conn
    refused("application credential with the admin role", lambda: c.identity.create_application_credential(
        mn.user.id, f"va-ac-admin-{RUN}", roles=[{"name": "admin"}]), statuses=(400, 403, 404))
    refused("application credential for the LGWAN vendor", lambda: c.identity.create_application_credential(
        lg.user.id, f"va-ac-other-{RUN}"))
    # within its own role it may: that is how its CI should log in
    ac = c.identity.create_application_credential(mn.user.id, f"va-ac-ci-{RUN}", roles=[{"name": "member"}])
    assert [r["name"] for r in ac.roles] == ["member"]
    c.identity.delete_application_credential(mn.user.id, ac)


def test_vendor_cannot_join_a_group(cloud: Cloud, mn: Tenant) -> None:
    group = cloud.admin.identity.create_group(name=f"va-group-{RUN}", domain_id="default")
    try:
        refused("add itself to a group", lambda: mn.conn.identity.add_user_to_group(mn.user.id, group.id))
    finally:
        cloud.admin.identity.delete_group(group)


# ------------------------------------------------------------------------------------------ compute placement


def test_vendor_cannot_open_a_flavor_or_force_a_host(cloud: Cloud, mn: Tenant) -> None:
    c = mn.conn
    private = cloud.admin.compute.create_flavor(name=f"va-private-{RUN}", vcpus=1, ram=64, disk=1, is_public=False)
    try:
        refused("give its project access to a private flavor", lambda: c.compute.flavor_add_tenant_access(
            private.id, mn.pid))
        refused("create a flavor", lambda: c.compute.create_flavor(name=f"va-rogue-flv-{RUN}", vcpus=1, ram=64,
                                                                   disk=1))
    finally:
        cloud.admin.compute.delete_flavor(private)
    image = c.image.find_image(IMAGE, ignore_missing=False)
    flavor = c.compute.find_flavor(FLAVOR, ignore_missing=False)
    refused("boot on a host of its choice (zone:host)", lambda: c.compute.create_server(
        name=f"va-forced-{RUN}", image_id=image.id, flavor_id=flavor.id, networks=[{"uuid": mn.net.id}],
        availability_zone=f"nova:{HOST}"))


def test_control_each_vendors_server_lands_on_its_layers_host(cloud: Cloud, workloads: dict[str, Tenant]) -> None:
    for layer in ("mynumber", "lgwan"):
        server = cloud.admin.compute.get_server(workloads[layer].made["server"].id)
        assert server.compute_host == LAYER_HOSTS[layer], (layer, server.compute_host)


def test_vendor_cannot_see_or_boot_on_another_layers_flavor(cloud: Cloud, mn: Tenant, lg: Tenant) -> None:
    c = mn.conn
    visible = {f.name for f in c.compute.flavors()}
    assert mn.flavor.name in visible and lg.flavor.name not in visible, sorted(visible)
    image = c.image.find_image(IMAGE, ignore_missing=False)
    # Nova answers a flavor the project may not use as an unknown one
    refused("boot on the LGWAN layer's flavor", lambda: c.compute.create_server(
        name=f"va-other-flavor-{RUN}", image_id=image.id, flavor_id=lg.flavor.id, networks=[{"uuid": mn.net.id}]),
        statuses=(400, 403, 404))


def test_vendor_cannot_boot_in_another_layers_zone(cloud: Cloud, mn: Tenant, lg: Tenant) -> None:
    # its own flavor, the LGWAN layer's zone: the flavor's pin and the project's aggregate both say no
    vs.scheduler_refuses(mn, "boot its own flavor in the LGWAN layer's zone", flavor_id=mn.flavor.id,
                       availability_zone=lg.zone)
    # a public flavor with no pin, in the LGWAN layer's zone: the aggregate admits the LGWAN tenant only
    generic = mn.conn.compute.find_flavor(FLAVOR, ignore_missing=False)
    vs.scheduler_refuses(mn, "boot an unpinned public flavor in the LGWAN layer's zone", flavor_id=generic.id,
                       availability_zone=lg.zone)


def test_vendor_on_an_unpinned_flavor_still_lands_in_its_layer(cloud: Cloud, mn: Tenant) -> None:
    """With no zone and a public flavor that names no layer, the project's aggregate still decides the host."""
    c = mn.conn
    image = c.image.find_image(IMAGE, ignore_missing=False)
    generic = c.compute.find_flavor(FLAVOR, ignore_missing=False)
    server = c.compute.create_server(name=f"va-unpinned-{RUN}", image_id=image.id, flavor_id=generic.id,
                                     networks=[{"uuid": mn.net.id}])
    try:
        c.compute.wait_for_server(server, status="ACTIVE", failures=["ERROR"], wait=180, interval=2)
        assert cloud.admin.compute.get_server(server.id).compute_host == LAYER_HOSTS["mynumber"]
    finally:
        c.compute.delete_server(server, force=True)
        c.compute.wait_for_delete(server, wait=120)


# ------------------------------------------------------------------------------------------ another tenant's things


def test_vendor_cannot_touch_another_tenants_network(mn: Tenant, lg: Tenant) -> None:
    c = mn.conn
    refused("read the LGWAN tenant's network", lambda: c.network.get_network(lg.net.id))
    refused("rename the LGWAN tenant's network", lambda: c.network.update_network(lg.net.id, name="pwned"))
    refused("port on the LGWAN tenant's network", lambda: c.network.create_port(network_id=lg.net.id))
    refused("rule in the LGWAN tenant's group", lambda: c.network.create_security_group_rule(
        security_group_id=lg.sg.id, direction="ingress", protocol="tcp", port_range_min=1, port_range_max=65535,
        remote_ip_prefix="10.81.0.0/24", ethertype="IPv4"))


def test_vendor_cannot_touch_another_tenants_server(workloads: dict[str, Tenant]) -> None:
    mn, lg = workloads["mynumber"], workloads["lgwan"]
    sid = lg.made["server"].id
    refused("read the LGWAN tenant's server", lambda: mn.conn.compute.get_server(sid))
    refused("stop the LGWAN tenant's server", lambda: mn.conn.compute.stop_server(sid))
    refused("snapshot the LGWAN tenant's server", lambda: mn.conn.compute.create_server_image(sid, f"va-x-{RUN}"))
    assert lg.conn.compute.get_server(sid).status == "ACTIVE"


def test_vendor_cannot_touch_another_tenants_volume(workloads: dict[str, Tenant]) -> None:
    mn, lg = workloads["mynumber"], workloads["lgwan"]
    vid = lg.made["spare"].id
    refused("read the LGWAN tenant's volume", lambda: mn.conn.block_storage.get_volume(vid))
    refused("attach the LGWAN tenant's volume to its server", lambda: mn.conn.compute.create_volume_attachment(
        mn.made["server"].id, volume_id=vid), statuses=(400, 403, 404))
    refused("transfer the LGWAN tenant's volume", lambda: mn.conn.block_storage.create_transfer(volume_id=vid))
    time.sleep(1)
    assert lg.conn.block_storage.get_volume(vid).status == "available"
