"""`shuyaku audit --live` against the real dev cloud: the small town's platform deployed by the engine, audited
clean; then changes made out of band with admin credentials (what a careless operator or a vendor's hand-made
resources leave behind), each reported with the resource named; then undone, and the audit is clean again.

The audit reads the cloud through openstacksdk only (no Pulumi state): it is given the stack config, as the
operator would give it `--stack onprem`. Its time on the deployed town is printed and recorded with the e2e phase
times. A missing engine or cloud is a failure naming the script to run, never a skip.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cloudlogin import CLOUDS, connect, operator, record_phase
from smalltown import Town

from shuyaku.contracts.sitedata import SiteData
from shuyaku.deploy.engine import ROOT, Stack

pytestmark = pytest.mark.integration

RUN = uuid.uuid4().hex[:6]
MYNUMBER, OTHER = "juki", "zeimu"  # two My Number tenants of the small town
IMAGE, FLAVOR = "debian-12-tiny", "m1.nano"  # what the dev cloud offers


def record(phase: str, seconds: float) -> None:
    record_phase("audit-live", phase, seconds)


@pytest.fixture(scope="module")
def admin() -> Any:
    return operator()


@pytest.fixture(scope="module")
def town(small_town: Town) -> tuple[Stack, dict[str, Any], SiteData]:
    """The small town's platform, planned by `shuyaku plan` and deployed by the engine (shared: conftest.py)."""
    return small_town.stack, small_town.outputs, small_town.site


def audit(st: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    """The command as an operator runs it, with the dev cloud's auditor login (GET requests only)."""
    env = {**os.environ, "OS_CLIENT_CONFIG_FILE": str(CLOUDS)}
    env.pop("OS_CLOUD", None)
    return subprocess.run([sys.executable, "-m", "shuyaku.cli", "audit", "--live", "--stack", st.name, "--stack-config",
                           str(st.config_file), "--root", str(ROOT), "--cloud", "dev-auditor", *args],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=600)


def audit_json(st: Stack) -> tuple[int, dict[str, Any]]:
    proc = audit(st, "--format", "json", "--lang", "en")
    assert proc.returncode in (0, 1), proc.stdout[-2000:] + proc.stderr[-2000:]
    return proc.returncode, json.loads(proc.stdout)


def test_the_clean_platform_reports_nothing(town: Any) -> None:
    st, outputs, _ = town
    t0 = time.monotonic()
    proc = audit(st)
    took = time.monotonic() - t0
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-1000:]
    assert "問題はありません" in proc.stdout, proc.stdout[-2000:]
    rc, doc = audit_json(st)
    assert rc == 0 and doc["findings"] == [], json.dumps(doc["findings"][:10], ensure_ascii=False, indent=1)
    record(f"audit --live, clean small town ({len(outputs['tenants'])} tenants), whole command", took)
    record("audit --live, clean small town, read and check (in-process)", doc["seconds"])


def _fresh_user(admin: Any, group_name: str) -> tuple[Any, str]:
    password = secrets.token_urlsafe(16)
    user = admin.identity.create_user(name=f"audit-hand-{RUN}", password=password, domain_id="default")
    admin.identity.add_user_to_group(user, admin.identity.find_group(group_name))
    return user, password


def _login(admin: Any, user: Any, password: str, project_id: str) -> Any:
    import openstack.connection

    auth = admin.config.config["auth"]
    return openstack.connection.Connection(auth_url=auth["auth_url"], username=user.name, password=password,
                                           project_id=project_id, user_domain_name="Default",
                                           region_name=admin.config.region_name, identity_api_version="3")


def test_out_of_band_changes_are_each_reported_with_the_resource_named(admin: Any, town: Any) -> None:
    st, outputs, _ = town
    mine, other = outputs["tenants"][MYNUMBER], outputs["tenants"][OTHER]
    public = admin.network.find_network("public")
    undo: list[Callable[[], Any]] = []
    # (what was done, the check that must report it, a text the finding's resource or message must name)
    expected: list[tuple[str, str, str]] = []
    try:
        # 1. a gateway on the My Number zone's router (the operator's own router)
        router = admin.network.find_router("onprem-mynumber-router")
        admin.network.update_router(router, external_gateway_info={"network_id": public.id})
        undo.append(lambda: admin.network.update_router(router, external_gateway_info={}))
        expected.append(("gateway on onprem-mynumber-router", "live.router_gateway", "onprem-mynumber-router"))
        # 2. quotas raised over the plan (the router quota first: a tenant's is 0)
        admin.set_network_quotas(mine["project_id"], router=3)
        admin.set_compute_quotas(mine["project_id"], instances=mine["quotas"]["instances"] + 10)
        undo.append(lambda: admin.set_network_quotas(mine["project_id"], router=mine["quotas"]["routers"]))
        undo.append(lambda: admin.set_compute_quotas(mine["project_id"], instances=mine["quotas"]["instances"]))
        expected.append(("router quota raised", "live.quota", "routers=3"))
        expected.append(("instance quota raised", "live.quota", f"instances={mine['quotas']['instances'] + 10}"))
        # 3. a router inside a My Number tenant, with a gateway to the internet
        tenant_router = admin.network.create_router(name=f"handmade-router-{RUN}", project_id=mine["project_id"],
                                                    external_gateway_info={"network_id": public.id})
        undo.append(lambda: admin.network.delete_router(tenant_router))
        expected.append(("router with a gateway in the My Number tenant", "live.tenant_router", tenant_router.name))
        expected.append(("... and its gateway", "live.router_gateway", tenant_router.name))
        # 4. ingress from anywhere in the tenant's own group
        rule = admin.network.create_security_group_rule(
            security_group_id=mine["security_group_ids"]["tenant"], direction="ingress", protocol="tcp",
            port_range_min=22, port_range_max=22, remote_ip_prefix="0.0.0.0/0", project_id=mine["project_id"])
        undo.append(lambda: admin.network.delete_security_group_rule(rule))
        expected.append(("0.0.0.0/0 ingress", "live.sg_open_ingress", f"{MYNUMBER}-tenant"))
        # 5. a public image owned by the tenant
        image = admin.image.create_image(name=f"handmade-image-{RUN}", disk_format="raw", container_format="bare",
                                         visibility="public", owner=mine["project_id"], data=b"\0" * 512,
                                         allow_duplicates=True, wait=True)
        undo.append(lambda: admin.image.delete_image(image))
        expected.append(("public image owned by the tenant", "live.image_visibility", image.name))
        # 6. admin for some user on another tenant
        extra = admin.identity.find_user("vendor-b")
        role = admin.identity.find_role("admin")
        admin.identity.assign_project_role_to_user(other["project_id"], extra, role)
        undo.append(lambda: admin.identity.unassign_project_role_from_user(other["project_id"], extra, role))
        expected.append(("admin for vendor-b on the other tenant", "live.role_assignment", "vendor-b admin"))
        # 7. a server made by hand in the tenant (by a member of its vendor group, with the API, not a stack)
        user, password = _fresh_user(admin, mine["vendor_group"])
        undo.append(lambda: admin.identity.delete_user(user))
        hand = _login(admin, user, password, mine["project_id"])
        server = hand.compute.create_server(name=f"handmade-server-{RUN}", flavor_id=admin.compute.find_flavor(FLAVOR).id,
                                            image_id=admin.image.find_image(IMAGE).id,
                                            networks=[{"uuid": mine["network_id"]}])
        undo.append(lambda: admin.compute.wait_for_delete(admin.compute.delete_server(server) or server, wait=120))
        expected.append(("server made by hand", "live.unmanaged_server", server.name))
        # 8. what the policy overrides refuse a vendor, made here by admin in the tenant: a port on the LGWAN provider
        # network, a port with port security off, a port with a 0.0.0.0/0 address pair; an egress rule to anywhere
        lgwan = admin.network.find_network("lgwan")
        for name, attrs in ((f"handmade-lgwan-{RUN}", {"network_id": lgwan.id}),
                            (f"handmade-open-{RUN}", {"network_id": mine["network_id"], "port_security_enabled": False,
                                                      "security_groups": []}),
                            (f"handmade-pair-{RUN}", {"network_id": mine["network_id"],
                                                      "allowed_address_pairs": [{"ip_address": "0.0.0.0/0"}]})):
            made = admin.network.create_port(name=name, project_id=mine["project_id"], **attrs)
            undo.append(lambda made=made: admin.network.delete_port(made))
        expected.append(("port on the lgwan provider network", "live.external_port", f"handmade-lgwan-{RUN}"))
        expected.append(("port security off", "live.port_security", f"handmade-open-{RUN}"))
        expected.append(("address pair 0.0.0.0/0", "live.address_pairs", f"handmade-pair-{RUN}"))
        egress = admin.network.create_security_group_rule(
            security_group_id=mine["security_group_ids"]["base"], direction="egress", protocol="tcp",
            port_range_min=443, port_range_max=443, remote_ip_prefix="0.0.0.0/0", project_id=mine["project_id"])
        undo.append(lambda: admin.network.delete_security_group_rule(egress))
        expected.append(("egress 0.0.0.0/0 from a My Number tenant", "live.sg_egress_any", f"{MYNUMBER}-base"))
        # 9. an application credential of a vendor user (allowed within its role: listed, as info)
        hand.identity.create_application_credential(user.id, name=f"ci-login-{RUN}", roles=[{"name": "member"}])
        expected.append(("application credential of a vendor user", "live.app_credential", f"ci-login-{RUN}"))
        # 10. SNAT on the internet zone's router: the layer's servers could leave past the proxy
        inet_router = admin.network.find_router("onprem-internet-router")
        inet_gw = dict(inet_router.external_gateway_info)
        admin.network.update_router(inet_router, external_gateway_info={**inet_gw, "enable_snat": True})
        undo.append(lambda: admin.network.update_router(inet_router, external_gateway_info=inet_gw))
        expected.append(("SNAT on the internet zone router", "live.router_snat", "onprem-internet-router"))
        # 11. an internet tenant given access to a My Number tenant's flavor, and admitted to the My Number hosts
        internet_sid = next(sid for sid, t in outputs["tenants"].items() if t["layer"] == "internet")
        inet_pid = outputs["tenants"][internet_sid]["project_id"]
        mn_flavor = admin.compute.find_flavor(mine["allowed_flavors"][0], ignore_missing=False)
        admin.compute.flavor_add_tenant_access(mn_flavor, inet_pid)
        undo.append(lambda: admin.compute.flavor_remove_tenant_access(mn_flavor, inet_pid))
        expected.append(("internet tenant on a My Number flavor", "live.flavor_access", mn_flavor.name))
        mn_agg = next(a for a in admin.compute.aggregates() if a.name == "onprem-mynumber")
        admin.compute.set_aggregate_metadata(mn_agg, {f"filter_tenant_id_{internet_sid}": inet_pid})
        undo.append(lambda: admin.compute.set_aggregate_metadata(mn_agg, {f"filter_tenant_id_{internet_sid}": None}))
        expected.append(("internet tenant admitted to the My Number hosts", "live.aggregate_tenants", "onprem-mynumber"))
        # 12. the shared DNS service allowed to open connections into a tenant: a path between layers through it
        dns_group = admin.network.find_security_group("onprem-shared-dns", ignore_missing=False)
        bridge = admin.network.create_security_group_rule(
            security_group_id=dns_group.id, direction="egress", protocol="tcp", port_range_min=22,
            port_range_max=22, remote_ip_prefix=outputs["tenants"][internet_sid]["cidr"])
        undo.append(lambda: admin.network.delete_security_group_rule(bridge))
        expected.append(("shared DNS opening connections into an internet tenant", "live.service_bridge",
                         "onprem-shared-dns"))
        with contextlib.suppress(Exception):  # its port too, once Nova has made it (default group: allow-all egress)
            admin.compute.wait_for_server(server, status="ACTIVE", failures=["ERROR"], wait=60)

        t0 = time.monotonic()
        rc, doc = audit_json(st)
        record("audit --live, small town with out-of-band changes", time.monotonic() - t0)
        assert rc == 1
        findings = doc["findings"]
        for f in findings:
            print(f"[audit] {f['severity']:7} {f['check']:24} {f['kind']} {f['resource_name']}: {f['message']}")
        missed = []
        for what, check, name in expected:
            hit = [f for f in findings if f["check"] == check and (name in f["resource_name"] or name in f["message"])]
            print(f"[audit] {what}: {'REPORTED' if hit else 'NOT REPORTED'} ({check})")
            if not hit:
                missed.append((what, check, name))
        assert missed == [], missed
        # The Japanese text and SARIF name the same resources.
        text = audit(st)
        assert text.returncode == 1 and "onprem-mynumber-router" in text.stdout and "外部ゲートウェイ" in text.stdout
        sarif = json.loads(audit(st, "--format", "sarif").stdout)
        ids = {r["ruleId"] for r in sarif["runs"][0]["results"]}
        assert {c for _, c, _ in expected} <= ids
    finally:
        errors = []
        for step in reversed(undo):
            try:
                step()
            except Exception as e:  # undo everything that can be undone, then say what could not
                errors.append(repr(e))
        assert errors == [], errors
    rc, doc = audit_json(st)
    assert rc == 0 and doc["findings"] == [], json.dumps(doc["findings"][:10], ensure_ascii=False, indent=1)


def test_the_auditor_login_reads_everything_and_can_change_nothing(admin: Any, town: Any) -> None:
    """The audit's login (scripts/dev-cloud: user shuyaku-auditor, an application credential whose access rules
    allow GET only) reads every project's resources, and the services refuse it any change."""
    from keystoneauth1 import exceptions as ksa_exceptions
    from openstack import exceptions

    _, outputs, _ = town
    ro = connect("dev-auditor")
    mine = outputs["tenants"][MYNUMBER]
    # another project's network and group rules, seen (the listings a project-scoped login gets empty)
    assert any(n.id == mine["network_id"] for n in ro.network.networks())
    assert any(r.security_group_id == mine["security_group_ids"]["tenant"] for r in ro.network.security_group_rules())
    assert {a.name for a in ro.compute.aggregates()} >= {"onprem-mynumber"}
    flavor = admin.compute.find_flavor(mine["allowed_flavors"][0], ignore_missing=False)
    access_before = sorted(a["tenant_id"] for a in admin.compute.get_flavor_access(flavor))
    attempts = {
        "create a network": lambda: ro.network.create_network(name=f"auditor-net-{RUN}"),
        "raise a tenant's router quota": lambda: ro.set_network_quotas(mine["project_id"], router=5),
        "delete a tenant's security group": lambda: ro.network.delete_security_group(
            mine["security_group_ids"]["tenant"]),
        "open a My Number flavor to an internet tenant": lambda: ro.compute.flavor_add_tenant_access(
            flavor.id, next(t for t in outputs["tenants"].values() if t["layer"] == "internet")["project_id"]),
        "make an image public": lambda: ro.image.update_image(ro.image.find_image(IMAGE), visibility="community"),
    }
    for what, call in attempts.items():
        # refused with 401 by the service's middleware (nova-api's uwsgi resets the connection of a refused POST)
        with pytest.raises((exceptions.HttpException, exceptions.SDKException, ksa_exceptions.ClientException)) as refused:
            call()
        print(f"\n[audit] auditor login: {what} -> {type(refused.value).__name__} "
              f"{getattr(refused.value, 'status_code', '')}")
    # and nothing changed, as admin sees it
    assert not admin.network.find_network(f"auditor-net-{RUN}")
    assert admin.get_network_quotas(mine["project_id"])["router"] == mine["quotas"]["routers"]
    assert admin.network.get_security_group(mine["security_group_ids"]["tenant"]) is not None
    assert sorted(a["tenant_id"] for a in admin.compute.get_flavor_access(flavor)) == access_before
    assert admin.image.find_image(IMAGE).visibility == "public"


def test_bad_input_exits_2_with_one_line(town: Any, tmp_path: Path) -> None:
    st, _, _ = town
    env = {**os.environ, "OS_CLIENT_CONFIG_FILE": str(CLOUDS)}
    missing = subprocess.run([sys.executable, "-m", "shuyaku.cli", "audit", "--live", "--stack", "nosuchstack",
                              "--root", str(tmp_path), "--cloud", "dev-admin"],
                             capture_output=True, text=True, cwd=ROOT, env=env)
    assert missing.returncode == 2 and "Pulumi.nosuchstack.yaml" in missing.stderr
    nowhere = tmp_path / "clouds.yaml"
    nowhere.write_text("clouds:\n  gone:\n    auth: {auth_url: 'http://127.0.0.1:9/v3', username: x, password: y,"
                       " project_name: z, user_domain_name: Default, project_domain_name: Default}\n")
    unreachable = subprocess.run([sys.executable, "-m", "shuyaku.cli", "audit", "--live", "--stack", st.name,
                                  "--stack-config", str(st.config_file), "--root", str(ROOT), "--cloud", "gone",
                                  "--lang", "en"],
                                 capture_output=True, text=True, cwd=ROOT, env={**env, "OS_CLIENT_CONFIG_FILE": str(nowhere)})
    assert unreachable.returncode == 2, unreachable.stderr
    assert unreachable.stderr.strip().startswith("cannot reach the cloud"), unreachable.stderr
    assert len(unreachable.stderr.strip().splitlines()) == 1, unreachable.stderr


def test_a_reader_login_is_reported_as_a_partial_audit(admin: Any, town: Any, tmp_path: Path) -> None:
    """A project-scoped reader gets some cross-project listings refused and others (Neutron, Cinder) answered with
    its own project only, silently: the audit must not look clean with such a login."""
    import yaml

    st, _, _ = town
    password = secrets.token_urlsafe(16)
    user = admin.identity.create_user(name=f"audit-reader-{RUN}", password=password, domain_id="default")
    try:
        admin.identity.assign_project_role_to_user(admin.current_project_id, user, admin.identity.find_role("reader"))
        auth = admin.config.config["auth"]
        clouds = tmp_path / "clouds.yaml"
        clouds.write_text(yaml.safe_dump({"clouds": {"reader": {"auth": {
            "auth_url": auth["auth_url"], "username": user.name, "password": password,
            "project_id": admin.current_project_id, "user_domain_name": "Default"}, "identity_api_version": 3}}}))
        proc = subprocess.run([sys.executable, "-m", "shuyaku.cli", "audit", "--live", "--stack", st.name,
                               "--stack-config", str(st.config_file), "--root", str(ROOT), "--cloud", "reader",
                               "--format", "json", "--lang", "en"],
                              capture_output=True, text=True, cwd=ROOT, env={**os.environ, "OS_CLIENT_CONFIG_FILE": str(clouds)})
        assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr[-2000:]
        checks = {f["check"] for f in json.loads(proc.stdout)["findings"]}
        assert "live.unreadable" in checks, checks
    finally:
        admin.identity.delete_user(user)
