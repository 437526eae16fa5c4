"""Logging in to the dev cloud that `scripts/dev-cloud up` starts, for the integration tests.

A missing or unhealthy cloud is a failure that says to run `scripts/dev-cloud up`, never a skip.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CACHE = Path(os.environ.get("SHUYAKU_CACHE", "/var/cache/shuyaku")) / "dev-cloud"
CLOUDS = CACHE / "clouds.yaml"
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
