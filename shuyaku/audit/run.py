"""`audit --live` end to end: the expectation from the stack config, one read of the cloud, every check."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from shuyaku.audit import checks, expect, snapshot
from shuyaku.audit.model import Finding


@dataclass
class Result:
    findings: list[Finding]
    seconds: float  # the whole audit: read and check
    read_seconds: float  # of which reading the cloud
    tenants: int


def connect(cloud: str | None) -> Any:
    """A logged-in openstacksdk connection: the named clouds.yaml entry, or OS_CLOUD / OS_* from the environment."""
    import logging

    import openstack

    # keystoneauth logs its version-discovery retries as warnings; the command says itself, in one line, what failed.
    logging.getLogger("keystoneauth").setLevel(logging.ERROR)
    conn = openstack.connect(cloud=cloud) if cloud else openstack.connect()
    conn.authorize()
    return conn


def audit(exp: expect.Expected, conn: Any) -> Result:
    t0 = time.monotonic()
    snap = snapshot.read(conn, exp.site, exp.vendor_groups.values())
    ctx = checks.Context(exp, snap)
    found = checks.run(ctx)
    return Result(found, time.monotonic() - t0, snap.seconds, len(ctx.tenants))

