"""Helpers shared by several rules: reading security-group rules and mapping addresses to layers."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from shuyaku.policy import net
from shuyaku.policy.context import T_SG, Index
from shuyaku.policy.model import UNKNOWN, Resource, plain


def direction(res: Resource) -> str | object:
    d = plain(res.props.get("direction"))
    return UNKNOWN if d is UNKNOWN else str(d or "").lower()


def describe(res: Resource) -> str:
    """"ingress tcp 22 from 0.0.0.0/0" — how an operator would say the rule."""
    p = res.props
    d = direction(res)
    proto = net.protocol(p)
    rng = net.port_range(p)
    remote = net.sg_remote(p)
    ports = ""
    if isinstance(rng, tuple):
        ports = " all ports" if rng == (1, 65535) else (f" {rng[0]}" if rng[0] == rng[1] else f" {rng[0]}-{rng[1]}")
    if remote is None:
        who = "security group " + str(plain(p.get("remoteGroupId")) or plain(p.get("remoteAddressGroupId")))
    elif remote is UNKNOWN:
        who = "(unknown)"
    else:
        who = str(remote)
    prep = "from" if d == "ingress" else "to"
    return f"{d} {proto or 'any'}{ports} {prep} {who}"


def layer_nets(settings: dict[str, Any]) -> dict[str, list[net.Net]]:
    return {layer: net.nets(cidrs) for layer, cidrs in (settings.get("layer_cidrs") or {}).items()}


def remote_layers(index: Index, res: Resource, settings: dict[str, Any]) -> set[str] | None:
    """Layers a rule's remote end lies in; 'public' for internet addresses outside every layer.

    None when it cannot be known (unknown during preview, or a remote group outside this stack).
    """
    remote = net.sg_remote(res.props)
    if remote is UNKNOWN:
        return None
    if remote is None:
        group = index.ref(res, "remoteGroupId", (T_SG,))
        if group is None:
            return None
        layer = index.layer(group)
        return {layer} if layer else None

    table = index.memo.get(("layer_nets", id(settings)))
    if table is None:
        table = index.memo[("layer_nets", id(settings))] = tuple(
            (layer, tuple(cidrs)) for layer, cidrs in layer_nets(settings).items())
    return set(_classify(remote, table))


@lru_cache(maxsize=65536)
def _classify(remote: net.Net, table: tuple[tuple[str, tuple[net.Net, ...]], ...]) -> frozenset[str]:
    out = {layer for layer, cidrs in table if net.overlaps(remote, list(cidrs))}
    all_cidrs = [c for _layer, cidrs in table for c in cidrs]
    if net.is_public(remote) and not net.within(remote, all_cidrs):
        out.add("public")
    return frozenset(out)


def remote_group(index: Index, res: Resource) -> Resource | None:
    return index.ref(res, "remoteGroupId", (T_SG,))


def tenant_owned(index: Index, res: Resource) -> str | None:
    """The tenant (system id, "?" when unknown) a resource belongs to when it is in a vendor stack or in a
    tenant's project (a project tagged with a system); None when the operator owns it."""
    st = index.stack_tenant
    if st is not None:
        return st.system or "?"
    proj = index.project(res)
    if proj is not None and proj is not res and index.own_tags(proj).get("system"):
        return index.own_tags(proj)["system"]
    return None


def names_of(index: Index, value: Any, types: tuple[str, ...]) -> set[str]:
    """A reference as the names it may be known by: the literal (an id or a name), and the name of the
    resource in this stack it points at."""
    out: set[str] = set()
    v = plain(value)
    if isinstance(v, str) and v:
        out.add(v)
        for target in index.by_id.get(v, ()):
            if target.type in types and isinstance(n := plain(target.props.get("name")), str):
                out.add(n)
    return out
