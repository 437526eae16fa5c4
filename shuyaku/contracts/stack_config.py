"""The platform stack config (`stacks/Pulumi.<stack>.yaml`, namespace `shuyaku`): the city's network facts the
plan cannot know (provider network names, the proxy, terminal ranges) and the stack's switches.

The model's aliases are the keys as written in the file (`shuyaku:siteData`), so a problem names the key the
user typed, at its line and column. Values come either as written in the file or as the engine passes them
(structured values and secrets as JSON text); `validate` decodes both the same way and checks them through the
one adapter (`shuyaku.contracts.checked`), so every problem carries file:line:column, field, fix and a code.
"""

from __future__ import annotations

import difflib
import json
import shlex
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, ValidationError

from shuyaku.contracts import checked, source
from shuyaku.contracts.problems import Problem, ProblemsError, tx
from shuyaku.contracts.vocabulary import LAYERS, Cidr4, Layer

NAMESPACE = "shuyaku"


def key(name: str) -> str:
    """`siteData` -> `shuyaku:siteData`, the key as the stack config file spells it."""
    return f"{NAMESPACE}:{name}"


NonBlank = Annotated[str, Field(min_length=1, pattern=r"\S")]
Count = Annotated[StrictInt, Field(ge=0)]


class QuotaOverride(BaseModel):
    """Per-tenant quota raises over what the plan sized (any subset of the site data's quota keys)."""

    model_config = ConfigDict(extra="forbid")
    instances: Count | None = None
    cores: Count | None = None
    ram_mb: Count | None = None
    volumes: Count | None = None
    gigabytes: Count | None = None
    networks: Count | None = None
    subnets: Count | None = None
    ports: Count | None = None
    routers: Count | None = None
    security_groups: Count | None = None
    security_group_rules: Count | None = None
    floating_ips: Count | None = None

    def given(self) -> dict[str, int]:
        return {k: v for k, v in self.model_dump().items() if v is not None}


class StackConfig(BaseModel):
    """Every `shuyaku:` key the platform program reads; an unknown key is refused (a typo is never ignored)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, title="shuyaku platform stack config")

    site_data: NonBlank = Field(alias="shuyaku:siteData", description="site-*.json written by `shuyaku plan`")
    inventory: NonBlank | None = Field(None, alias="shuyaku:inventory", description="the inventory the plan was made from")
    lgwan_network: NonBlank = Field(alias="shuyaku:lgwanNetwork", description="LGWAN provider network name")
    external_network: NonBlank = Field(alias="shuyaku:externalNetwork", description="internet provider network name")
    proxy_cidr: Cidr4 = Field(alias="shuyaku:proxyCidr", description="the security cloud proxy")
    proxy_port: Annotated[StrictInt, Field(ge=1, le=65535)] = Field(8080, alias="shuyaku:proxyPort")
    terminal_cidrs: list[Cidr4] = Field(alias="shuyaku:terminalCidrs", min_length=1, description="LGWAN terminal ranges")
    admin_cidrs: list[Cidr4] = Field(default_factory=list, alias="shuyaku:adminCidrs")
    encrypted_volume_type: NonBlank = Field(alias="shuyaku:encryptedVolumeType")
    plain_volume_types: list[str] = Field(default_factory=list, alias="shuyaku:plainVolumeTypes")
    primary_stack: NonBlank | None = Field(None, alias="shuyaku:primaryStack", description="org/project/stack of the primary")
    instances: StrictBool = Field(True, alias="shuyaku:instances")
    operator_quotas: StrictBool = Field(True, alias="shuyaku:operatorQuotas")
    instance_limit: Annotated[StrictInt, Field(ge=0, le=10**6)] | None = Field(None, alias="shuyaku:instanceLimit")
    zone_hosts: dict[Layer, list[str]] = Field(default_factory=dict, alias="shuyaku:zoneHosts")
    isolated_layers: list[Layer] = Field(default_factory=list, alias="shuyaku:isolatedLayers")
    image_aliases: dict[str, str] = Field(default_factory=dict, alias="shuyaku:imageAliases")
    quota_overrides: dict[str, QuotaOverride] = Field(default_factory=dict, alias="shuyaku:quotaOverrides")
    # An allow-list, not a name looked up at run time: `admin` here would hand every vendor the whole cloud.
    vendor_role: Literal["member", "reader"] = Field(
        "member", alias="shuyaku:vendorRole",
        description="ベンダーに与えるロール（member / reader）/ the role each vendor group holds on its own tenant")


ALIASES: dict[str, str] = {f.alias or n: n for n, f in StackConfig.model_fields.items()}
REQUIRED: tuple[str, ...] = tuple(f.alias or n for n, f in StackConfig.model_fields.items() if f.is_required())
# Keys whose value is text as written; every other value may arrive as JSON text (how the engine passes
# structured values, and how a secret-typed value arrives once decrypted).
TEXT_KEYS = frozenset(key(k) for k in ("siteData", "inventory", "lgwanNetwork", "externalNetwork", "proxyCidr",
                                        "encryptedVolumeType", "primaryStack", "vendorRole"))
# What stands in for a required value that is missing or wrong, so the site checks still run and one report
# lists everything. Never deployed: a config with any problem stops before a resource is registered.
STAND_INS: dict[str, Any] = {
    key("siteData"): "-",
    key("lgwanNetwork"): "-",
    key("externalNetwork"): "-",
    key("proxyCidr"): "192.0.2.0/32",
    key("terminalCidrs"): ["192.0.2.0/32"],
    key("encryptedVolumeType"): "-",
}


def decode(values: Mapping[str, Any]) -> dict[str, Any]:
    """`shuyaku:` keys (with or without the namespace) -> the model's input, JSON text decoded where a
    structured value, number or switch is expected. Empty required values count as missing."""
    out: dict[str, Any] = {}
    for name, raw in values.items():
        k = name if name.startswith(NAMESPACE + ":") else key(name)
        value = raw
        if isinstance(raw, str) and k not in TEXT_KEYS:
            try:
                value = json.loads(raw)
            except json.JSONDecodeError:
                value = raw.lower() == "true" if raw.lower() in ("true", "false") else raw
        if k in REQUIRED and value in (None, "", []):
            continue
        out[k] = value
    return out


def stack_source(config_file: Path | None, stack: str, data: dict[str, Any]) -> tuple[source.Source, list[Problem]]:
    """A Source over the decoded values whose positions are those of the keys in the stack config file.

    Without the file (values from the engine only, or built in memory) problems point at `Pulumi.<stack>.yaml`
    line 0."""
    path = config_file if config_file is not None else Path(f"Pulumi.{stack}.yaml")
    src = source.Source(path=path, data=data, values={(): (0, 0)})
    if config_file is None or not config_file.is_file():
        return src, []
    try:
        doc = source.load(config_file)
    except ProblemsError as exc:
        return src, list(exc.problems)
    src.values[()] = doc.values.get(("config",), (1, 1))
    for table, out in ((doc.values, src.values), (doc.keys, src.keys)):
        for loc, pos in table.items():
            if len(loc) >= 2 and loc[0] == "config":
                out[loc[1:]] = pos
    return src, []


def validate(src: source.Source, stack: str | None = None) -> tuple[StackConfig, list[Problem]]:
    """The typed config and every problem in it. With problems, the config holds what was sound: the entries at
    fault are left out (defaults and stand-ins take their place) so that the checks that follow still run and
    one report lists everything; such a config must not be deployed. `stack` is the stack the user named, for
    the fixes' commands (the file's own name says nothing when given with --stack-config)."""
    data: dict[str, Any] = dict(src.data)
    try:
        return StackConfig.model_validate(data), []
    except ValidationError as exc:
        errors = exc.errors()
    problems = [_problem(src, err, stack) for err in errors]
    kept = _without(data, [tuple(err["loc"]) for err in errors])
    try:
        typed = StackConfig.model_validate(kept)
    except ValidationError as exc:  # what is left is still unsound as a whole (a list left empty): drop the key
        typed = StackConfig.model_validate(_without(kept, [tuple(err["loc"])[:1] for err in exc.errors()]))
    return typed, problems


def _without(data: dict[str, Any], locs: list[tuple[Any, ...]]) -> dict[str, Any]:
    """`data` without the entries at `locs`: a whole key, or one entry of a mapping or list under it."""
    out = {k: (dict(v) if isinstance(v, dict) else list(v) if isinstance(v, list) else v)
           for k, v in data.items() if k in ALIASES}
    dropped: dict[str, set[Any]] = {}
    for loc in locs:
        top = loc[0] if loc else None
        if top not in out:
            continue
        value, sub = out[top], loc[1] if len(loc) >= 2 else None
        if (isinstance(value, dict) and sub in value) or (isinstance(value, list) and isinstance(sub, int)):
            dropped.setdefault(str(top), set()).add(sub)
        else:
            out.pop(str(top))
    for top, parts in dropped.items():
        if top in out:
            value = out[top]
            out[top] = ({k: v for k, v in value.items() if k not in parts} if isinstance(value, dict)
                        else [v for i, v in enumerate(value) if i not in parts])
    for name, stand_in in STAND_INS.items():
        if out.get(name) in (None, "", []):
            out[name] = stand_in
    return out


def _problem(src: source.Source, err: Any, stack: str | None = None) -> Problem:
    loc = tuple(err["loc"])
    stack = stack or src.path.name.removeprefix("Pulumi.").removesuffix(".yaml")
    if err["type"] == "missing" and len(loc) == 1:
        k = str(loc[0])
        if src.path.name != f"Pulumi.{stack}.yaml":
            # A file given with --stack-config: `pulumi config set -s` would write elsewhere; the file is the fix.
            fix = tx(f"{src.path} の config: に `{k}: <値>` を追加してください（スタック {stack}）",
                     f"add `{k}: <value>` under config: in {src.path} (stack {stack})")
        else:
            fix = tx(f"`pulumi config set {k} <値> -s {shlex.quote(stack)}` で設定してください",
                     f"set it with `pulumi config set {k} <value> -s {shlex.quote(stack)}`")
        return src.problem(loc, tx("必須の設定がありません", "required setting is missing"), fix,
                           code="stack.missing", key=True)
    found = checked.problem_from_error(StackConfig, src, err)
    if found.code == "schema.unknown_key":
        # The adapter lists the model's field names; here the user types the aliases (`shuyaku:...`).
        allowed = _allowed(loc[:-1])
        near = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        return src.problem(loc, found.message,
                           tx((f"「{near[0]}」の誤りではありませんか。" if near else "") + f"使える項目: {', '.join(allowed)}",
                              (f"did you mean '{near[0]}'? " if near else "") + f"allowed keys: {', '.join(allowed)}"),
                           code=found.code, key=True)
    if found.code == "schema.not_allowed" and isinstance(err.get("input"), str):
        # The only choices here are layers; a near miss is most likely a typo.
        near = difflib.get_close_matches(err["input"], list(LAYERS), n=1)
        if near:
            return replace(found, fix=tx(f"{found.fix.ja}（{near[0]} の誤り？）", f"{found.fix.en} ({near[0]}?)"))
    return found


def _allowed(loc: tuple[Any, ...]) -> list[str]:
    if not loc:
        return list(ALIASES)
    if len(loc) == 2 and loc[0] == key("quotaOverrides"):
        return list(QuotaOverride.model_fields)
    return []
