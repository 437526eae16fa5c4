"""MIC three-layer measures: a server runs on its own layer's flavors and hosts."""

from __future__ import annotations

from shuyaku.contracts.vocabulary import LAYERS
from shuyaku.policy.context import T_INSTANCE, Index
from shuyaku.policy.model import Rule, msg, plain

_SITES = ("onprem", "dr")


def flavor_layer(name: object) -> str | None:
    """The layer a platform flavor name is for: `<layer>.<flavor>` or `<site>.<layer>.<flavor>`."""
    if not isinstance(name, str):
        return None
    parts = name.split(".")
    if len(parts) >= 2 and parts[0] in LAYERS:
        return parts[0]
    if len(parts) >= 3 and parts[0] in _SITES and parts[1] in LAYERS:
        return parts[1]
    return None


def check_stack(resources, settings):
    index = Index.ensure(resources)
    zones = {z: layer for layer, names in (settings.get("layer_availability_zones") or {}).items() for z in names}
    for inst in index.of_type(T_INSTANCE):
        layer = index.layer(inst)
        if layer is None:
            continue
        flavor = plain(inst.props.get("flavorName"))
        other = flavor_layer(flavor)
        if other is not None and other != layer:
            yield RULE.violation(inst.urn, f"{layer} 系のサーバが {other} 系のフレーバー {flavor} を使っています。",
                                 f"a {layer} server uses flavor {flavor} of the {other} layer.")
        az = plain(inst.props.get("availabilityZone"))
        if isinstance(az, str) and az and zones.get(az.split(":", 1)[0], layer) != layer:
            yield RULE.violation(inst.urn, f"{layer} 系のサーバが {zones[az.split(':', 1)[0]]} 系の可用性ゾーン {az} "
                                           "にあります。",
                                 f"a {layer} server is in availability zone {az} of the "
                                 f"{zones[az.split(':', 1)[0]]} layer.")


RULE = Rule(
    id="instance-flavor-matches-layer",
    title=msg("サーバは自分の系のフレーバーと可用性ゾーンを使う", "Servers use their own layer's flavors and zone"),
    description=msg(
        "基盤のフレーバー名は系で始まり（<系>.<名前>、DR では <サイト>.<系>.<名前>）、各系のホストは専用の"
        "集約と可用性ゾーン（layer_availability_zones）にある。他の系のフレーバーやゾーンで起動すると、"
        "系の異なるサーバが同じホストに同居する。",
        "Platform flavor names start with their layer (<layer>.<name>, <site>.<layer>.<name> off the primary "
        "site) and each layer's hosts form their own aggregate and availability zone "
        "(layer_availability_zones). Booting on another layer's flavor or zone puts servers of different "
        "layers on one host."),
    severity="high",
    enforcement="mandatory",
    sources=("MIC 三層の対策: 系ごとの分離（仮想化基盤の分離）", "MIC three-layer measures: separate hosts per layer"),
    remediation=msg("引き渡し情報の allowed_flavors と availability_zone を使う。",
                    "Use allowed_flavors and availability_zone from the tenant outputs."),
    resource_types=(T_INSTANCE,),
    config_keys=("layer_availability_zones",),
    check_stack=check_stack,
    tags=("separation",),
)
