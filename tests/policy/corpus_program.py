"""A Pulumi program that declares the resources of one corpus file, for a real `pulumi preview`.

The engine runs it with cwd = the test project; it reads spec.json there (a corpus stack export, see
make_corpus.py) and declares every resource with the real pulumi_openstack classes, except the default
provider, whose inputs the test sets as `openstack:*` stack config (engine_project.Project.provider_config). A corpus id
"id-<name>" becomes that resource's `.id` output, so references are unknown ids with property
dependencies, as in any preview of new resources; secret values become Pulumi secrets.
"""

import importlib
import json
import re
from pathlib import Path

import pulumi

SIG = "4dabf18193072939515e22adb298388d"
SECRET = "1b47061264138c4ac30d75fd1eb44270"

spec = json.loads(Path("spec.json").read_text(encoding="utf-8"))
made: dict[str, pulumi.CustomResource] = {}


def cls_for(token: str):
    """"openstack:networking/secGroupRule:SecGroupRule" -> pulumi_openstack.networking.SecGroupRule."""
    if token == "pulumi:providers:openstack":
        return importlib.import_module("pulumi_openstack").Provider
    mod, name = re.fullmatch(r"openstack:([a-zA-Z0-9]+)/[a-zA-Z0-9]+:(\w+)", token).groups()
    return getattr(importlib.import_module(f"pulumi_openstack.{mod}"), name)


def snake(key: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", key).lower()


def value(v):
    if isinstance(v, dict):
        if v.get(SIG) == SECRET:
            return pulumi.Output.secret(value(json.loads(v["plaintext"])))
        return {k: value(x) for k, x in v.items()}
    if isinstance(v, list):
        return [value(x) for x in v]
    if isinstance(v, str) and v.startswith("id-") and v[3:] in made:
        return made[v[3:]].id
    return v


provider = None
for r in spec["deployment"]["resources"]:
    if r["type"] == "pulumi:pulumi:Stack" or r["urn"].rsplit("::", 1)[-1].startswith("default"):
        continue  # the engine makes these: the stack, and the default provider from `openstack:*` config
    name = r["urn"].rsplit("::", 1)[-1]
    # Keys that name other structures (metadata keys, tags) stay as written; only argument names are snake_case.
    args = {snake(k): value(v) for k, v in r["inputs"].items() if v is not None and v != ""}
    opts = pulumi.ResourceOptions(provider=provider) if provider is not None else None
    made[name] = cls_for(r["type"])(name, **args, opts=opts)
    if r["type"] == "pulumi:providers:openstack":
        provider = made[name]
