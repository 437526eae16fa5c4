"""Drive the CrossGuard policies the way the engine does, without a PolicyPack (its constructor serves gRPC).

Properties go through pulumi_policy's own deserialisation and unknown-checking proxies, and each policy's
config is its schema defaults overlaid by the pack-config file, as the engine reconciles it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from contextlib import contextmanager
from typing import Any

from pulumi_policy import ResourceValidationArgs, ResourceValidationPolicy, StackValidationArgs
from pulumi_policy.deserialize import deserialize_properties
from pulumi_policy.policy import PolicyCustomTimeouts, PolicyProviderResource, PolicyResource, PolicyResourceOptions
from pulumi_policy.proxy import unknown_checking_proxy

from shuyaku.policy import crossguard
from shuyaku.policy.crossguard import policies
from shuyaku.policy.model import Resource, SecretValue
from shuyaku.policy.registry import all_rules

SIG = "4dabf18193072939515e22adb298388d"
SECRET = "1b47061264138c4ac30d75fd1eb44270"


def _wire(v: Any) -> Any:
    """Stack-export JSON -> what the engine sends a pack: secrets carry their value, not ciphertext."""
    if isinstance(v, SecretValue):
        return {SIG: SECRET, "value": _wire(v.value)}
    if isinstance(v, dict):
        if v.get(SIG) == SECRET and "plaintext" in v:
            return {SIG: SECRET, "value": _wire(json.loads(v["plaintext"]))}
        return {k: _wire(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_wire(x) for x in v]
    return v


def _props(d: dict[str, Any]) -> Any:
    return unknown_checking_proxy(deserialize_properties(_wire(d)))


def _opts(parent: str | None) -> PolicyResourceOptions:
    return PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], parent)


def states(doc: dict[str, Any]) -> list[dict[str, Any]]:
    if "steps" in doc:
        return [s["newState"] for s in doc["steps"] if s.get("newState") and s.get("op") != "delete"]
    return doc["deployment"]["resources"]


def from_model(resources: Iterable[Resource]) -> list[dict[str, Any]]:
    """Resources built in a test -> state dicts (what a stack export holds)."""
    out = []
    for r in resources:
        out.append({"urn": r.urn, "type": r.type, "inputs": r.props, "outputs": {}, "id": r.id,
                    "parent": r.parent, "provider": r.provider, "propertyDependencies": r.deps})
    return out


def pack_settings(pack_config: dict[str, Any], name: str) -> dict[str, Any]:
    entry = pack_config.get(name, {})
    if isinstance(entry, str):
        entry = {}
    return {k: v for k, v in entry.items() if k != "enforcementLevel"}


def level(pack_config: dict[str, Any], name: str, default: str) -> str:
    entry = pack_config.get(name)
    if isinstance(entry, str):
        return entry
    if isinstance(entry, dict) and "enforcementLevel" in entry:
        return entry["enforcementLevel"]
    allv = pack_config.get("all")
    return allv if isinstance(allv, str) else default


def engine_config(preview_config: dict[str, Any]) -> tuple[dict[str, str], list[str]]:
    """A preview's config -> what the engine sends a pack in ConfigureStack (values, secret keys).

    The pack never sees the "[secret]" placeholder; it gets the decrypted value and the key in the list.
    """
    values = {k: ("decrypted-" + k if "[secret]" in v else v) for k, v in preview_config.items()}
    return values, [k for k, v in preview_config.items() if "[secret]" in v]


def default_provider_config(doc: dict[str, Any]) -> dict[str, tuple[Any, bool]]:
    """The engine's default provider takes its inputs from `openstack:*` stack config: the config a corpus
    stack's default provider implies (key -> (value, secret))."""
    for r in doc.get("deployment", {}).get("resources", []):
        if r["type"] == "pulumi:providers:openstack" and r["urn"].rsplit("::", 1)[-1].startswith("default"):
            return {f"openstack:{k}": ((json.loads(v["plaintext"]), True) if isinstance(v, dict) else (v, False))
                    for k, v in r["inputs"].items()}
    return {}


def stack_config_of(doc: dict[str, Any]) -> dict[str, str]:
    """The config a corpus document's stack had, in preview-JSON form (secrets as "[secret]")."""
    out = dict(doc.get("config") or {})
    out.update({k: ("[secret]" if secret else v) for k, (v, secret) in default_provider_config(doc).items()})
    return out


# What a corpus stack reports once its default provider's inputs are stack config, as in a real engine:
# a plain password there is plain-text stack config too.
FROM_PROVIDER_CONFIG = {"provider-no-inline-credentials.json": {("stack-config-no-plaintext-secrets", "STACK")}}


@contextmanager
def stack_config_sent(config: dict[str, Any] | None):
    saved = crossguard.ENGINE.stack_config
    try:
        crossguard.ENGINE.stack_config = None
        if config is not None:
            crossguard.ENGINE.configure_stack(*engine_config(config))
        yield
    finally:
        crossguard.ENGINE.stack_config = saved


def run(states_: list[dict[str, Any]], pack_config: dict[str, Any] | None = None,
        stack_config: dict[str, Any] | None = None, only: str | None = None) -> set[tuple[str, str]]:
    """Every (policy name, urn) the pack reports for these resources."""
    pack_config = pack_config or {}
    defaults = {r.id: r.enforcement for r in all_rules()}
    by_urn = {s["urn"]: s for s in states_}
    stack_urn = next((s["urn"] for s in states_ if s["type"] == "pulumi:pulumi:Stack"), "stack")

    def provider_of(s):
        ref = s.get("provider")
        if not ref:
            return None
        p = by_urn.get(ref) or by_urn.get(ref.rsplit("::", 1)[0])
        if p is None:
            return None
        return PolicyProviderResource(p["type"], _props({**p.get("outputs", {}), **p.get("inputs", {})}),
                                      p["urn"], p["urn"].rsplit("::", 1)[-1])

    found: set[tuple[str, str]] = set()
    with stack_config_sent(stack_config):
        for policy in policies():
            if only and policy.name != only:
                continue
            if level(pack_config, policy.name, defaults[policy.name]) == "disabled":
                continue
            cfg = pack_settings(pack_config, policy.name)
            if isinstance(policy, ResourceValidationPolicy):
                for s in states_:
                    args = ResourceValidationArgs(
                        s["type"], _props(s.get("inputs", {})), s["urn"], s["urn"].rsplit("::", 1)[-1],
                        _opts(s.get("parent")), provider_of(s), cfg)
                    policy.validate(args, lambda m, u=None, a=args, p=policy: found.add((p.name, a.urn)))
            else:
                prs: dict[str, PolicyResource] = {}
                for s in states_:
                    props = _props({**(s.get("outputs") or {}), **(s.get("inputs") or {})})
                    prs[s["urn"]] = PolicyResource(s["type"], props, s["urn"], s["urn"].rsplit("::", 1)[-1],
                                                   _opts(s.get("parent")), provider_of(s), None, [], {})
                for s in states_:
                    pr = prs[s["urn"]]
                    if s.get("parent") in prs:
                        pr.parent = prs[s["parent"]]
                    for k, urns in (s.get("propertyDependencies") or {}).items():
                        pr.property_dependencies[k] = [prs[u] for u in urns if u in prs]
                args = StackValidationArgs(list(prs.values()), cfg)
                policy.validate(args, lambda m, u=None, p=policy: found.add((p.name, u or stack_urn)))
    return found
