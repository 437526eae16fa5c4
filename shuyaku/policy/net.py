"""Address and port arithmetic for security-group and firewall rules, with Neutron's defaults."""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import Any

from shuyaku.policy.model import UNKNOWN, plain

IPv4Network = ipaddress.IPv4Network
IPv6Network = ipaddress.IPv6Network
Net = ipaddress.IPv4Network | ipaddress.IPv6Network

ANY4 = ipaddress.ip_network("0.0.0.0/0")
ANY6 = ipaddress.ip_network("::/0")

# Address space that never routes on the public internet (IANA special-purpose registries). Written
# out because ipaddress' is_private calls 0.0.0.0/0 private (both its ends are).
_NON_PUBLIC = [
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
        "192.0.0.0/24", "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24",
        "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
        "::/128", "::1/128", "fc00::/7", "fe80::/10", "ff00::/8", "2001:db8::/32", "100::/64",
    )
]

PORT_PROTOCOLS = {"tcp", "udp", "sctp", "6", "17", "132", "udplite", "dccp"}
ANY_PROTOCOLS = {"", "any", "0", "all"}


@lru_cache(maxsize=65536)
def parse_net(value: str) -> Net | None:
    try:
        return ipaddress.ip_network(value.strip(), strict=False)
    except (ValueError, AttributeError):
        return None


def as_net(value: Any) -> Net | object | None:
    """A network from a property value: None when absent or invalid, UNKNOWN when not yet known."""
    value = plain(value)
    if value is UNKNOWN:
        return UNKNOWN
    if not isinstance(value, str) or not value.strip():
        return None
    return parse_net(value)


@lru_cache(maxsize=65536)
def is_public(net: Net) -> bool:
    """True when any part of `net` is publicly routable."""
    return not any(net.version == n.version and net.subnet_of(n) for n in _NON_PUBLIC)  # type: ignore[arg-type]


def is_any(net: Net) -> bool:
    return net.prefixlen == 0


def within(net: Net, cidrs: list[Net]) -> bool:
    return any(net.version == c.version and net.subnet_of(c) for c in cidrs)  # type: ignore[arg-type]


def overlaps(net: Net, cidrs: list[Net]) -> bool:
    return any(net.version == c.version and net.overlaps(c) for c in cidrs)


def nets(values: Any) -> list[Net]:
    out: list[Net] = []
    for v in values or []:
        n = parse_net(str(v))
        if n is not None:
            out.append(n)
    return out


def sg_remote(props: dict[str, Any]) -> Net | object | None:
    """The remote network a Neutron security-group rule admits.

    No prefix and no remote group means every address of the rule's ethertype (Neutron's default),
    so such a rule is read as 0.0.0.0/0 or ::/0. Group-based rules return None.
    """
    prefix = as_net(props.get("remoteIpPrefix"))
    if prefix is UNKNOWN or prefix is not None:
        return prefix
    for key in ("remoteGroupId", "remoteAddressGroupId"):
        v = plain(props.get(key))
        if v is UNKNOWN:
            return UNKNOWN
        if v:
            return None
    eth = plain(props.get("ethertype"))
    if eth is UNKNOWN:
        return UNKNOWN
    return ANY6 if str(eth or "IPv4").lower() == "ipv6" else ANY4


def protocol(props: dict[str, Any]) -> str | object:
    p = plain(props.get("protocol"))
    if p is UNKNOWN:
        return UNKNOWN
    return str(p if p is not None else "").strip().lower()


def port_range(props: dict[str, Any], lo_key: str = "portRangeMin",
               hi_key: str = "portRangeMax") -> tuple[int, int] | object | None:
    """(lo, hi) of ports the rule opens; None when the protocol has no ports (ICMP and friends).

    Any-protocol rules and port protocols without a range open every port.
    """
    proto = protocol(props)
    if proto is UNKNOWN:
        return UNKNOWN
    if proto not in PORT_PROTOCOLS and proto not in ANY_PROTOCOLS:
        return None
    lo, hi = plain(props.get(lo_key)), plain(props.get(hi_key))
    if lo is UNKNOWN or hi is UNKNOWN:
        return UNKNOWN
    lo = _int(lo)
    hi = _int(hi)
    if proto in ANY_PROTOCOLS or (not lo and not hi):
        return (1, 65535)
    lo = lo or hi
    hi = hi or lo
    return (min(lo, hi), max(lo, hi))  # type: ignore[type-var]


def covers(rng: tuple[int, int] | object | None, port: int) -> bool:
    return isinstance(rng, tuple) and rng[0] <= port <= rng[1]


def only_ports(rng: tuple[int, int] | object | None, allowed: set[int]) -> bool:
    """Every port in the range is allowed (a range of thousands cannot be)."""
    if not isinstance(rng, tuple):
        return False
    lo, hi = rng
    if hi - lo > len(allowed):
        return False
    return all(p in allowed for p in range(lo, hi + 1))


def _int(v: Any) -> int | None:
    if v is None or v == "":
        return None
    try:
        return int(v)
    except (TypeError, ValueError):
        return None
