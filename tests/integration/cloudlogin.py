"""Logging in to the dev cloud that `scripts/dev-cloud up` starts, for the integration tests.

A missing or unhealthy cloud is a failure that says to run `scripts/dev-cloud up`, never a skip.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

CACHE = Path(os.environ.get("SHUYAKU_CACHE", "/var/cache/shuyaku")) / "dev-cloud"
CLOUDS = CACHE / "clouds.yaml"
# The environment that points the engine and openstacksdk at the dev cloud as its admin (the operator).
CLOUD_ENV = {"OS_CLIENT_CONFIG_FILE": str(CLOUDS), "OS_CLOUD": "dev-admin"}
HOST = "shuyaku-dev"
HOW = "run `scripts/dev-cloud up` (as root) first"


def need_clouds() -> None:
    if not CLOUDS.exists():
        pytest.fail(f"{CLOUDS} does not exist: the dev cloud was never set up; {HOW}", pytrace=False)


def connect(cloud: str):
    """A logged-in openstacksdk connection for one entry of the generated clouds.yaml."""
    import openstack.config
    import openstack.connection

    need_clouds()
    try:
        region = openstack.config.OpenStackConfig(config_files=[str(CLOUDS)], load_envvars=False).get_one(cloud)
        conn = openstack.connection.Connection(config=region)
        conn.authorize()
    except Exception as e:  # keystoneauth's ConnectFailure is not an SDKException
        pytest.fail(f"cannot log in to the dev cloud as {cloud}: {e}; {HOW}", pytrace=False)
    return conn


def operator():
    """The dev cloud's admin, as the platform program runs: the engine must be built, and the operator's own
    project (which holds the platform's shared services) unlimited, as scripts/dev-cloud leaves it: sizing it is
    the cloud builder's decision, not one of the tenants' quotas the program manages."""
    from shuyaku.deploy.engine import engine_bin

    if not (engine_bin() / "pulumi").exists():
        pytest.fail("the Pulumi engine is not built: run scripts/build-engine", pytrace=False)
    conn = connect("dev-admin")
    pid = conn.current_project_id
    conn.set_network_quotas(pid, security_group=-1, security_group_rule=-1, port=-1, network=-1, subnet=-1,
                            rbac_policy=-1, router=-1)
    conn.set_compute_quotas(pid, instances=-1, cores=-1, ram=-1, server_groups=-1, server_group_members=-1)
    return conn


def record_phase(suite: str, phase: str, seconds: float) -> None:
    """Print a phase's time and add it to the test command's phase table (build/artefacts/phase-times.tsv)."""
    from shuyaku.deploy.engine import ROOT

    print(f"\n[{suite}] {phase}: {seconds:.1f} s")
    times = ROOT / "build" / "artefacts" / "phase-times.tsv"
    times.parent.mkdir(parents=True, exist_ok=True)
    with times.open("a", encoding="utf-8") as out:
        out.write(f"{suite}: {phase}\t{seconds:.1f}\n")


def undo_all(steps: list[Callable[[], Any]]) -> list[str]:
    """Run every undo step, newest first, even after one fails; returns the failures (empty when all worked)."""
    errors = []
    for step in reversed(steps):
        try:
            step()
        except Exception as e:  # every step is tried, then the caller says what could not be undone
            errors.append(repr(e))
    return errors


def vendor_member(admin: Any, name: str, tenant: dict[str, Any], undo: list[Callable[[], Any]]) -> tuple[Any, Any]:
    """A fresh member of the tenant's vendor group, logged in to the tenant (as `shuyaku vendor grant` sets one up):
    (the user, its connection). Deleting the user is added to `undo`."""
    import openstack.connection

    password = secrets.token_urlsafe(16)
    user = admin.identity.create_user(name=name, password=password, domain_id="default")
    undo.append(lambda: admin.identity.delete_user(user))
    admin.identity.add_user_to_group(user, admin.identity.find_group(tenant["vendor_group"]))
    auth = admin.config.config["auth"]
    conn = openstack.connection.Connection(auth_url=auth["auth_url"], username=user.name, password=password,
                                           project_id=tenant["project_id"], user_domain_name="Default",
                                           region_name=admin.config.region_name, identity_api_version="3")
    return user, conn
