"""Tenancy: every Keystone project says which system, layer, department and vendor it belongs to."""

from __future__ import annotations

from shuyaku.contracts import tags as vocab
from shuyaku.contracts.vocabulary import LAYERS
from shuyaku.policy.context import T_PROJECT, tags_of
from shuyaku.policy.model import UNKNOWN, Rule, msg, plain

_DR = ("warm", "backup", "none")


def check(res, settings):
    if plain(res.props.get("isDomain")) is True or plain(res.props.get("tags")) is UNKNOWN:
        return
    tags = tags_of(res)
    missing = [k for k in vocab.REQUIRED_PROJECT_KEYS if not tags.get(k)]
    if missing:
        names = ", ".join(f"shuyaku:{k}" for k in missing)
        yield RULE.violation(res.urn, f"プロジェクトに必須タグがありません: {names}",
                             f"the project lacks required tags: {names}")
    layer = tags.get("layer")
    if layer and layer not in LAYERS:
        yield RULE.violation(res.urn, f"shuyaku:layer={layer} は未知の系です（{', '.join(LAYERS)}）。",
                             f"shuyaku:layer={layer} is not a layer ({', '.join(LAYERS)}).")
    dr = tags.get("dr")
    if dr and dr not in _DR:
        yield RULE.violation(res.urn, f"shuyaku:dr={dr} は未知の DR 区分です（{', '.join(_DR)}）。",
                             f"shuyaku:dr={dr} is not a DR tier ({', '.join(_DR)}).")


RULE = Rule(
    id="project-required-tags",
    title=msg("プロジェクトにはシステム・系・所管課・ベンダーのタグを付ける",
              "Projects carry system, layer, department and vendor tags"),
    description=msg(
        "各 Keystone プロジェクトは shuyaku:system / layer / department / vendor のタグを持ち、layer と dr は"
        "既知の値をとる。ルールや監査はこのタグでテナントの所属を判断する。",
        "Every Keystone project carries shuyaku:system, layer, department and vendor tags, with known "
        "layer and dr values; rules and auditors tell a tenant's place from them."),
    severity="medium",
    enforcement="mandatory",
    sources=("shuyaku テナント規約", "shuyaku tenancy convention"),
    remediation=msg("インベントリにシステムの所管課・ベンダー・系を記入し、プラットフォームからタグを付け直す。",
                    "Fill in the system's department, vendor and layer in the inventory and re-apply the "
                    "platform so it tags the project."),
    resource_types=(T_PROJECT,),
    check=check,
    tags=("tenancy",),
)
