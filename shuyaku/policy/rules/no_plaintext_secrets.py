"""Secrets: no passwords, private keys or tokens in user data, metadata or image properties."""

from __future__ import annotations

import re
from typing import Any

import yaml

from shuyaku.policy.context import T_INSTANCE, T_VOLUME
from shuyaku.policy.model import UNKNOWN, Rule, SecretValue, msg
from shuyaku.policy.rules import _secrets

T_IMAGE = "openstack:images/image:Image"

_FIELDS = {
    T_INSTANCE: ("userData", "metadata", "personalities"),
    T_VOLUME: ("metadata",),
    T_IMAGE: ("properties",),
}


# A value the program marked as a Pulumi secret is a secret by its author's word, and these fields are read
# in clear through the metadata service and the API. It is reported without looking inside, so a preview's
# JSON (which shows every secret as "[secret]") and the pack (which reads the value) say the same.
PULUMI_SECRET = "Pulumi secret"


def _scan(field: str, value: Any):
    """Yield (where, kind) for every secret-looking value below `field`."""
    for where, key, leaf in _secrets.leaves(field, value):
        if isinstance(leaf, SecretValue):
            yield where, PULUMI_SECRET
        elif isinstance(leaf, str) and (kind := _secrets.kind_in(key, leaf)):
            yield where, kind


# cloud-init user data that gives a server its own SSH host key and nothing else (shuyaku/platform/hostkeys.py):
# the key belongs to the guest that reads it, and a host key known in advance is what lets Ansible check it.
HOST_KEY_DOC = {"ssh_deletekeys", "ssh_genkeytypes", "ssh_keys"}
HOST_KEY_ENTRY = re.compile(r"^(?:ed25519|ecdsa|rsa)_(?:private|public)$")


def judged_later(value: Any) -> bool:
    """A secret the engine does not know yet (a server's user data made from a key created in the same `up`).
    The pack is asked again during the `up`, with the value, and judges it then; a preview JSON or a state
    export shows only `[secret]` (value None), which is still reported."""
    return isinstance(value, SecretValue) and value.value is UNKNOWN


# The type the engine gives shuyaku.platform.hostkeys.HostKey (a Python dynamic resource).
T_HOST_KEY = "pulumi-python:dynamic/shuyaku:HostKey"


def urn_type(urn: str) -> str:
    """The resource type inside a URN (urn:pulumi:STACK::PROJECT::PARENT$TYPE::NAME)."""
    parts = urn.split("::", 3)
    return parts[2].rsplit("$", 1)[-1] if len(parts) == 4 else ""


def made_of_host_key(res: Any) -> bool:
    """An unreadable secret user data (a preview JSON, a state export) that the engine recorded as made from a
    HostKey and nothing else: the platform's host-key cloud-config. The pack in the engine reads the value
    itself; offline the audit trusts the dependency, the one fact the document keeps about the secret."""
    value = res.props.get("userData")
    deps = res.deps.get("userData") or []
    return (isinstance(value, SecretValue) and value.value is None and bool(deps)
            and all(urn_type(u) == T_HOST_KEY for u in deps))


def host_key_only(value: Any) -> bool:
    """A readable secret holding exactly such a cloud-config (an unreadable one: `made_of_host_key`)."""
    text = value.value if isinstance(value, SecretValue) else None
    if not isinstance(text, str) or not text.startswith("#cloud-config\n"):
        return False
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError:
        return False
    keys = doc.get("ssh_keys") if isinstance(doc, dict) else None
    return (set(doc) <= HOST_KEY_DOC and isinstance(keys, dict) and bool(keys)
            and all(isinstance(k, str) and HOST_KEY_ENTRY.match(k) and isinstance(v, str) for k, v in keys.items())
            and not any(_secrets.find(v) for k, v in keys.items() if k.endswith("_public")))


def check(res, settings):
    for field in _FIELDS.get(res.type, ()):
        if field == "userData" and (host_key_only(res.props.get(field)) or judged_later(res.props.get(field))
                                    or made_of_host_key(res)):
            continue
        for where, kind in _scan(field, res.props.get(field)):
            yield RULE.violation(res.urn, f"{where} に秘密情報（{kind}）が含まれています。",
                                 f"{where} contains a secret ({kind}).")


RULE = Rule(
    id="no-plaintext-secrets",
    title=msg("ユーザーデータやメタデータに秘密情報を書かない",
              "No passwords, private keys or tokens in user data or metadata"),
    description=msg(
        "インスタンスの user_data・metadata・personality、ボリュームのメタデータ、イメージのプロパティは"
        "メタデータサービスや API から読めてしまう。パスワード代入、秘密鍵、トークンを含めない。"
        "Pulumi のシークレットにした値も、中身を見ずに秘密情報として扱う。ただし、エンジン内のパックが中身を"
        "読めて、サーバー自身の SSH ホスト鍵だけを渡す cloud-config（ssh_keys）であれば認める（プレビューで値が未確定の"
        "ものは、値が確定する up のときに判定する）。中身を読めないプレビュー JSON やエクスポートの監査では、"
        "エンジンが記録した依存がホスト鍵（HostKey）だけのユーザーデータを認める。",
        "Instance user_data, metadata and personality files, volume metadata and image properties are "
        "readable through the metadata service and the API; they carry no password assignment, private "
        "key or token. A value marked as a Pulumi secret counts as a secret without looking inside, except, where "
        "the pack in the engine can read it, a cloud-config giving the server its own SSH host key (ssh_keys) and "
        "nothing else (a value not known yet at preview is judged during the up, once known). Auditing a preview "
        "JSON or an export, which cannot be read inside, it accepts user data the engine records as made from "
        "a host key (HostKey) alone."),
    severity="high",
    enforcement="mandatory",
    sources=("総務省 情報セキュリティポリシーガイドライン（認証情報の管理）", "CWE-798"),
    remediation=msg(
        "秘密情報は Barbican などのシークレットストアか、プロビジョニング時に Ansible Vault で渡す。"
        "ログインは鍵ペアで行う。",
        "Deliver secrets from a secret store (Barbican) or with Ansible Vault at provisioning time; "
        "log in with key pairs."),
    resource_types=tuple(_FIELDS),
    check=check,
    tags=("secrets",),
)
