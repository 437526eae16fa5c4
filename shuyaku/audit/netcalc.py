"""Address arithmetic the checks share (pure functions, unit-tested)."""

from __future__ import annotations

import ipaddress


def is_any(prefix: str | None, remote_group_id: str | None = None) -> bool:
    """A rule's remote is everything: 0.0.0.0/0, ::/0, or neither a prefix nor a remote group (Neutron's "any")."""
    if not prefix:
        return not remote_group_id
    try:
        return ipaddress.ip_network(prefix, strict=False).prefixlen == 0
    except ValueError:
        return False


def within(prefix: str | None, cidr: str) -> bool:
    """`prefix` lies inside `cidr` (same family). A bare address counts as a /32 (or /128)."""
    if not prefix:
        return False
    try:
        net = ipaddress.ip_network(prefix, strict=False)
        outer = ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return False
    return net.version == outer.version and net.subnet_of(outer)  # type: ignore[arg-type]


def normal(prefix: str | None) -> str | None:
    """`10.0.0.1/24` -> `10.0.0.0/24`; None for no prefix or nonsense."""
    if not prefix:
        return None
    try:
        return str(ipaddress.ip_network(prefix, strict=False))
    except ValueError:
        return None
