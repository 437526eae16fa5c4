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
from pathlib import Path
from typing import Any

import pytest
from cloudlogin import CLOUDS, connect, operator, record_phase, undo_all
from outofband import IMAGE, OutOfBand
from smalltown import Town

from shuyaku.contracts.sitedata import SiteData
from shuyaku.deploy.engine import ROOT, Stack

pytestmark = pytest.mark.integration

RUN = uuid.uuid4().hex[:6]
MYNUMBER, OTHER = "juki", "zeimu"  # two My Number tenants of the small town


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


def test_out_of_band_changes_are_each_reported_with_the_resource_named(admin: Any, town: Any) -> None:
    st, outputs, _ = town
    changes = OutOfBand(admin, outputs, RUN, MYNUMBER, OTHER)
    try:
        changes.routers_and_quotas()
        changes.in_the_tenant()
        server = changes.by_hand()
        changes.across_layers()
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
        for what, check, name in changes.expected:
            hit = [f for f in findings if f["check"] == check and (name in f["resource_name"] or name in f["message"])]
            print(f"[audit] {what}: {'REPORTED' if hit else 'NOT REPORTED'} ({check})")
            if not hit:
                missed.append((what, check, name))
        assert len(changes.expected) == 18 and missed == [], missed
        # The Japanese text and SARIF name the same resources.
        text = audit(st)
        assert text.returncode == 1 and "onprem-mynumber-router" in text.stdout and "外部ゲートウェイ" in text.stdout
        sarif = json.loads(audit(st, "--format", "sarif").stdout)
        ids = {r["ruleId"] for r in sarif["runs"][0]["results"]}
        assert {c for _, c, _ in changes.expected} <= ids
    finally:
        assert undo_all(changes.undo) == []
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
