"""The out-of-band changes test_audit_live makes with admin credentials on the deployed small town: what a careless
operator or a vendor's hand-made resources leave behind. Each change records how to undo it and what the live
audit must report for it: (what was done, the check that must report it, a text the finding's resource or message
must name)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cloudlogin import vendor_member

IMAGE, FLAVOR = "debian-12-tiny", "m1.nano"  # what the dev cloud offers


@dataclass
class OutOfBand:
    admin: Any
    outputs: dict[str, Any]
    run: str
    mynumber: str  # the My Number tenant most changes land in
    other: str  # a second My Number tenant
    undo: list[Callable[[], Any]] = field(default_factory=list)
    expected: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def mine(self) -> dict[str, Any]:
        return dict(self.outputs["tenants"][self.mynumber])

    def routers_and_quotas(self) -> None:
        """1. a gateway on the My Number zone's router; 2. quotas raised over the plan; 10. SNAT on the internet
        zone's router (the layer's servers could leave past the proxy)."""
        admin, mine = self.admin, self.mine
        public = admin.network.find_network("public")
        router = admin.network.find_router("onprem-mynumber-router")
        admin.network.update_router(router, external_gateway_info={"network_id": public.id})
        self.undo.append(lambda: admin.network.update_router(router, external_gateway_info={}))
        self.expected.append(("gateway on onprem-mynumber-router", "live.router_gateway", "onprem-mynumber-router"))
        # the router quota first: a tenant's is 0
        admin.set_network_quotas(mine["project_id"], router=3)
        admin.set_compute_quotas(mine["project_id"], instances=mine["quotas"]["instances"] + 10)
        self.undo.append(lambda: admin.set_network_quotas(mine["project_id"], router=mine["quotas"]["routers"]))
        self.undo.append(lambda: admin.set_compute_quotas(mine["project_id"], instances=mine["quotas"]["instances"]))
        self.expected.append(("router quota raised", "live.quota", "routers=3"))
        self.expected.append(("instance quota raised", "live.quota", f"instances={mine['quotas']['instances'] + 10}"))
        inet_router = admin.network.find_router("onprem-internet-router")
        inet_gw = dict(inet_router.external_gateway_info)
        admin.network.update_router(inet_router, external_gateway_info={**inet_gw, "enable_snat": True})
        self.undo.append(lambda: admin.network.update_router(inet_router, external_gateway_info=inet_gw))
        self.expected.append(("SNAT on the internet zone router", "live.router_snat", "onprem-internet-router"))

    def in_the_tenant(self) -> None:
        """3. a router with an internet gateway inside a My Number tenant; 4. ingress from anywhere in the tenant's
        own group; 5. a public image owned by the tenant; 8. what the policy overrides refuse a vendor, made here by
        admin: a port on the LGWAN provider network, a port with port security off, a port with a 0.0.0.0/0
        address pair, and an egress rule to anywhere."""
        admin, mine, run = self.admin, self.mine, self.run
        public = admin.network.find_network("public")
        tenant_router = admin.network.create_router(name=f"handmade-router-{run}", project_id=mine["project_id"],
                                                    external_gateway_info={"network_id": public.id})
        self.undo.append(lambda: admin.network.delete_router(tenant_router))
        self.expected.append(("router with a gateway in the My Number tenant", "live.tenant_router",
                              tenant_router.name))
        self.expected.append(("... and its gateway", "live.router_gateway", tenant_router.name))
        self._rule("tenant", "ingress", 22, "live.sg_open_ingress", "0.0.0.0/0 ingress")
        image = admin.image.create_image(name=f"handmade-image-{run}", disk_format="raw", container_format="bare",
                                         visibility="public", owner=mine["project_id"], data=b"\0" * 512,
                                         allow_duplicates=True, wait=True)
        self.undo.append(lambda: admin.image.delete_image(image))
        self.expected.append(("public image owned by the tenant", "live.image_visibility", image.name))
        lgwan = admin.network.find_network("lgwan")
        for name, attrs, check, what in (
                (f"handmade-lgwan-{run}", {"network_id": lgwan.id}, "live.external_port",
                 "port on the lgwan provider network"),
                (f"handmade-open-{run}", {"network_id": mine["network_id"], "port_security_enabled": False,
                                          "security_groups": []}, "live.port_security", "port security off"),
                (f"handmade-pair-{run}", {"network_id": mine["network_id"],
                                          "allowed_address_pairs": [{"ip_address": "0.0.0.0/0"}]},
                 "live.address_pairs", "address pair 0.0.0.0/0")):
            made = admin.network.create_port(name=name, project_id=mine["project_id"], **attrs)
            self.undo.append(functools.partial(admin.network.delete_port, made))
            self.expected.append((what, check, name))
        self._rule("base", "egress", 443, "live.sg_egress_any", "egress 0.0.0.0/0 from a My Number tenant")

    def _rule(self, group: str, direction: str, port: int, check: str, what: str) -> None:
        admin, mine = self.admin, self.mine
        rule = admin.network.create_security_group_rule(
            security_group_id=mine["security_group_ids"][group], direction=direction, protocol="tcp",
            port_range_min=port, port_range_max=port, remote_ip_prefix="0.0.0.0/0", project_id=mine["project_id"])
        self.undo.append(lambda: admin.network.delete_security_group_rule(rule))
        self.expected.append((what, check, f"{self.mynumber}-{group}"))

    def by_hand(self) -> Any:
        """6. admin for some user on another tenant; 7. a server made by hand in the tenant (by a member of its
        vendor group, with the API, not a stack); 9. an application credential of that vendor user (allowed within
        its role: listed, as info). Returns the server."""
        admin, mine, run = self.admin, self.mine, self.run
        other = self.outputs["tenants"][self.other]
        extra, role = admin.identity.find_user("vendor-b"), admin.identity.find_role("admin")
        admin.identity.assign_project_role_to_user(other["project_id"], extra, role)
        self.undo.append(lambda: admin.identity.unassign_project_role_from_user(other["project_id"], extra, role))
        self.expected.append(("admin for vendor-b on the other tenant", "live.role_assignment", "vendor-b admin"))
        user, hand = vendor_member(admin, f"audit-hand-{run}", mine, self.undo)
        server = hand.compute.create_server(name=f"handmade-server-{run}",
                                            flavor_id=admin.compute.find_flavor(FLAVOR).id,
                                            image_id=admin.image.find_image(IMAGE).id,
                                            networks=[{"uuid": mine["network_id"]}])
        self.undo.append(lambda: admin.compute.wait_for_delete(admin.compute.delete_server(server) or server,
                                                               wait=120))
        self.expected.append(("server made by hand", "live.unmanaged_server", server.name))
        hand.identity.create_application_credential(user.id, name=f"ci-login-{run}", roles=[{"name": "member"}])
        self.expected.append(("application credential of a vendor user", "live.app_credential", f"ci-login-{run}"))
        return server

    def across_layers(self) -> None:
        """11. an internet tenant given access to a My Number tenant's flavor, and admitted to the My Number hosts;
        12. the shared DNS service allowed to open connections into a tenant: a path between layers through it."""
        admin, mine, tenants = self.admin, self.mine, self.outputs["tenants"]
        internet_sid = next(sid for sid, t in tenants.items() if t["layer"] == "internet")
        inet_pid = tenants[internet_sid]["project_id"]
        mn_flavor = admin.compute.find_flavor(mine["allowed_flavors"][0], ignore_missing=False)
        admin.compute.flavor_add_tenant_access(mn_flavor, inet_pid)
        self.undo.append(lambda: admin.compute.flavor_remove_tenant_access(mn_flavor, inet_pid))
        self.expected.append(("internet tenant on a My Number flavor", "live.flavor_access", mn_flavor.name))
        mn_agg = next(a for a in admin.compute.aggregates() if a.name == "onprem-mynumber")
        admin.compute.set_aggregate_metadata(mn_agg, {f"filter_tenant_id_{internet_sid}": inet_pid})
        self.undo.append(lambda: admin.compute.set_aggregate_metadata(
            mn_agg, {f"filter_tenant_id_{internet_sid}": None}))
        self.expected.append(("internet tenant admitted to the My Number hosts", "live.aggregate_tenants",
                              "onprem-mynumber"))
        dns_group = admin.network.find_security_group("onprem-shared-dns", ignore_missing=False)
        bridge = admin.network.create_security_group_rule(
            security_group_id=dns_group.id, direction="egress", protocol="tcp", port_range_min=22,
            port_range_max=22, remote_ip_prefix=tenants[internet_sid]["cidr"])
        self.undo.append(lambda: admin.network.delete_security_group_rule(bridge))
        self.expected.append(("shared DNS opening connections into an internet tenant", "live.service_bridge",
                              "onprem-shared-dns"))
