"""MIC three-layer measures: My Number data at rest sits on an encrypted volume type."""

from __future__ import annotations

from shuyaku.policy.context import T_INSTANCE, T_VOLUME, Index
from shuyaku.policy.model import UNKNOWN, Rule, msg, plain


def check_stack(resources, settings):
    index = Index.ensure(resources)
    encrypted = set(settings.get("encrypted_volume_types") or [])
    for v in index.of_type(T_VOLUME):
        if index.layer(v) != "mynumber":
            continue
        vt = plain(v.props.get("volumeType"))
        if vt is UNKNOWN or vt in encrypted:
            continue
        yield RULE.violation(
            v.urn,
            f"マイナンバー系のボリュームが暗号化ボリュームタイプではありません（{vt or '既定'}）。",
            f"a My Number volume is not on an encrypted volume type ({vt or 'default'}).")
    for inst in index.of_type(T_INSTANCE):
        if index.layer(inst) != "mynumber":
            continue
        devices = plain(inst.props.get("blockDevices"))
        for d in devices if isinstance(devices, list) else []:
            d = plain(d)
            if not isinstance(d, dict) or plain(d.get("destinationType")) != "volume":
                continue
            if plain(d.get("sourceType")) == "volume":
                continue  # an existing volume: checked as a Volume
            vt = plain(d.get("volumeType"))
            if vt is UNKNOWN or vt in encrypted:
                continue
            yield RULE.violation(
                inst.urn,
                f"マイナンバー系のインスタンスが暗号化されていないボリュームを作成します（{vt or '既定'}）。",
                f"a My Number instance creates a volume that is not encrypted ({vt or 'default'}).")


RULE = Rule(
    id="mynumber-volume-encrypted",
    title=msg("マイナンバー系のボリュームは暗号化する", "My Number volumes are encrypted"),
    description=msg(
        "マイナンバー系のボリューム（メタデータ shuyaku:layer やプロジェクトのタグで判断）と、インスタンスが"
        "作るボリュームは、encrypted_volume_types に載った暗号化ボリュームタイプを使う。",
        "Volumes in the My Number layer (known from their shuyaku:layer metadata or their project's tags), "
        "and volumes an instance there creates, use a volume type listed in encrypted_volume_types."),
    severity="high",
    enforcement="mandatory",
    sources=("MIC 三層の対策: マイナンバー利用事務系の情報の暗号化",),
    remediation=msg("volume_type に暗号化ボリュームタイプ（encrypted_volume_types）を指定する。",
                    "Set volume_type to an encrypted volume type (encrypted_volume_types)."),
    resource_types=(T_VOLUME, T_INSTANCE),
    config_keys=("encrypted_volume_types",),
    check_stack=check_stack,
    tags=("separation",),
    requires=("encrypted_volume_types",),
)
