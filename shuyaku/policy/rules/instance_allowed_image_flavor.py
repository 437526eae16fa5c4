"""Tenancy: instances boot only allowed images on allowed flavors."""

from __future__ import annotations

from shuyaku.policy.context import T_INSTANCE
from shuyaku.policy.model import UNKNOWN, Rule, msg, plain


def _images(res) -> list[str]:
    out = []
    for key in ("imageName", "imageId"):
        v = plain(res.props.get(key))
        if isinstance(v, str) and v:
            out.append(v)
            break
    devices = plain(res.props.get("blockDevices"))
    for d in devices if isinstance(devices, list) else []:
        d = plain(d)
        if isinstance(d, dict) and plain(d.get("sourceType")) == "image":
            u = plain(d.get("uuid"))
            if isinstance(u, str) and u:
                out.append(u)
    return out


def check(res, settings):
    images = set(settings.get("allowed_images") or [])
    flavors = set(settings.get("allowed_flavors") or [])
    if images:
        for img in _images(res):
            if img not in images:
                yield RULE.violation(res.urn, f"許可されていないイメージ {img} を使っています。",
                                     f"the instance uses image {img}, which is not allowed.")
    if flavors:
        flavor = plain(res.props.get("flavorName"))
        if not isinstance(flavor, str) or not flavor:
            flavor = plain(res.props.get("flavorId"))
        if isinstance(flavor, str) and flavor and flavor is not UNKNOWN and flavor not in flavors:
            yield RULE.violation(res.urn, f"許可されていないフレーバー {flavor} を使っています。",
                                 f"the instance uses flavor {flavor}, which is not allowed.")


RULE = Rule(
    id="instance-allowed-image-flavor",
    title=msg("インスタンスは許可されたイメージとフレーバーを使う", "Instances use allowed images and flavors"),
    description=msg(
        "インスタンス（ブートボリュームの元イメージを含む）は allowed_images のイメージと allowed_flavors の"
        "フレーバーだけを使う。一覧が空なら確認しない。",
        "Instances (and the images their boot volumes come from) use only images in allowed_images and "
        "flavors in allowed_flavors; an empty list is not checked."),
    severity="medium",
    enforcement="mandatory",
    sources=("shuyaku テナント規約（パッチ適用済みの標準イメージ）", "shuyaku tenancy convention: patched standard images"),
    remediation=msg("標準イメージ・標準フレーバーに変更するか、共通基盤担当に追加を依頼する。",
                    "Switch to a standard image and flavor, or ask the platform team to add one."),
    resource_types=(T_INSTANCE,),
    config_keys=("allowed_images", "allowed_flavors"),
    check=check,
    tags=("tenancy",),
)
