"""Shared body of CKV_OPENSTACK_2 and _3: a well-known admin port open to every address."""

from __future__ import annotations

from shuyaku.policy import net
from shuyaku.policy.model import Resource, Rule
from shuyaku.policy.rules._common import describe, direction


def check_port(rule: Rule, res: Resource, port: int, label: str):
    if direction(res) != "ingress":
        return
    remote = net.sg_remote(res.props)
    if not isinstance(remote, net.IPv4Network | net.IPv6Network) or not net.is_any(remote):
        return
    if net.covers(net.port_range(res.props), port):
        yield rule.violation(
            res.urn,
            f"{label}（{port}/tcp）が全アドレスに公開されています: {describe(res)}",
            f"{label} ({port}/tcp) is open to every address: {describe(res)}")
