"""CKV_OPENSTACK_3: no ingress from 0.0.0.0/0 or ::/0 to port 3389 (RDP)."""

from __future__ import annotations

from shuyaku.policy.context import T_SG_RULE
from shuyaku.policy.model import Rule, msg
from shuyaku.policy.rules._public_port import check_port


def check(res, settings):
    yield from check_port(RULE, res, 3389, "RDP")


RULE = Rule(
    id="secgroup-no-public-rdp",
    title=msg("RDP（3389）を全アドレスに開けない", "No RDP (3389) open to 0.0.0.0/0 or ::/0"),
    description=msg(
        "セキュリティグループルールが 0.0.0.0/0 または ::/0 から 3389 番ポートへの受信を許可してはならない。"
        "接続元を指定しないルールは Neutron では全アドレスと同じ。",
        "A security group rule must not admit traffic to port 3389 from 0.0.0.0/0 or ::/0. A rule with "
        "neither a remote prefix nor a remote group means every address in Neutron."),
    severity="high",
    enforcement="mandatory",
    sources=("CKV_OPENSTACK_3",),
    remediation=msg(
        "remote_ip_prefix を運用端末や踏み台のアドレス範囲に絞るか、remote_group_id で踏み台の"
        "セキュリティグループを指定する。",
        "Narrow remote_ip_prefix to the operators' or bastion's range, or use remote_group_id "
        "naming the bastion's security group."),
    resource_types=(T_SG_RULE,),
    check=check,
    tags=("parity",),
)
