"""Policy settings: the city's values the policy rules read, and the two documents that carry them.

- The flat settings document (`policies/settings.<stack>.json`, input of `shuyaku policy config` and accepted
  by `shuyaku policy audit --config`): `{"enforcement": {"<rule id>" | "all": level}, "settings": {...}}`.
- Pulumi's policy-pack config (`pulumi preview --policy-pack-config FILE`):
  `{"all": level, "<rule id>": level | {"enforcementLevel": level, "<setting>": value, ...}}`.

Both are checked by one model each, read through the one adapter (`shuyaku.contracts.checked`), so a wrong
file is reported at file:line:column with the field, a fix and a stable code. The CrossGuard config schema
of each rule and the JSON Schema of the settings document are generated from `Settings`, never written
by hand. Rule ids are known to the policy stage only, so the document models are built for a given list.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import json
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, create_model

from shuyaku.contracts.checked import check
from shuyaku.contracts.problems import Problem, ProblemsError, tx
from shuyaku.contracts.separation import SCREEN_PORTS
from shuyaku.contracts.separation import Path as LinkPath
from shuyaku.contracts.source import Source, parse, read_text
from shuyaku.contracts.vocabulary import Cidr4, Layer, Protocol, SeparationModel

Level = Literal["mandatory", "advisory", "disabled", "remediate"]
LEVELS: tuple[str, ...] = get_args(Level)

# As MIC documents write the models.
MODEL_ALIASES = {
    "α": "alpha", "β": "beta", "β'": "beta_prime", "β’": "beta_prime", "α'": "alpha_prime", "α’": "alpha_prime",
    "alpha'": "alpha_prime", "beta'": "beta_prime",
}


def _model_alias(value: Any) -> Any:
    return MODEL_ALIASES.get(value.strip(), value.strip()) if isinstance(value, str) else value


def model_of(value: Any) -> SeparationModel:
    """The separation model a setting names (α / β / β' / α' accepted); α when unset."""
    return SeparationModel(_model_alias(value) or SeparationModel.alpha)


ModelName = Annotated[SeparationModel, BeforeValidator(_model_alias)]
Port = Annotated[int, Field(strict=True, ge=1, le=65535)]
Word = Annotated[str, Field(strict=True)]
Cidrs = list[Cidr4]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IngressException(_Strict):
    """One listed flow into the My Number layer (e.g. from the integration hub)."""

    source_cidr: Cidr4
    protocol: Protocol
    port: Port
    reason: Word | None = None


class DataLink(_Strict):
    """One declared data link between two systems (the plan's flows)."""

    source_system: Word
    target_system: Word
    protocol: Protocol
    port: Port
    path: LinkPath | None = None


def _f(default: Any, ja: str, en: str) -> Any:
    # title: Japanese, description: English; both shown by editors, the docs page and `policy list`.
    return Field(default=default, title=ja, description=en)


class Settings(_Strict):
    """Every setting a rule may read, with its default. A rule names the ones it reads (`config_keys`)."""

    separation_model: ModelName = _f(SeparationModel.alpha, "三層分離モデル（α / β / β' / α'）",
                                     "separation model (α / β / β' / α')")
    layer_cidrs: dict[Layer, Cidrs] = _f({}, "系ごとのアドレス範囲", "address ranges of each layer")
    proxy_cidrs: Cidrs = _f([], "自治体情報セキュリティクラウドのプロキシ",
                            "the security cloud proxy the internet layer must egress through")
    relay_cidrs: Cidrs = _f([], "無害化中継サーバ", "the file-sanitising relay")
    vdi_pool_cidrs: Cidrs = _f([], "画面転送（VDI）プール", "the screen-transfer (VDI) pool")
    screen_transfer_ports: list[Port] = _f(sorted(SCREEN_PORTS), "画面転送ポート",
                                           "screen-transfer ports (RDP, TLS browser VDI)")
    lgwan_wan_cidrs: Cidrs = _f([], "LGWAN 網のアドレス範囲（LGWAN 接続系が到達してよい）",
                                "LGWAN backbone ranges the LGWAN layer may reach")
    lgwan_breakout_cidrs: Cidrs = _f([], "α' モデルで LGWAN 接続系から直接利用を認めたクラウドサービス",
                                     "cloud services the LGWAN layer may reach directly under α'")
    mynumber_ingress_exceptions: list[IngressException] = _f(
        [], "マイナンバー系への通信の例外（データ連携基盤など）",
        "listed exceptions for traffic into the My Number layer (e.g. the integration hub)")
    encrypted_volume_types: list[Word] = _f([], "暗号化ボリュームタイプ", "encrypted Cinder volume types")
    allowed_images: list[Word] = _f([], "利用を認めたイメージ（名前または ID）", "allowed images (names or ids)")
    allowed_flavors: list[Word] = _f([], "利用を認めたフレーバー（名前または ID）", "allowed flavors (names or ids)")
    data_links: list[DataLink] = _f([], "申請済みのシステム間データ連携", "declared data links between systems")
    admin_role_names: list[Word] = _f(["admin"], "管理者ロール名", "administrator role names")
    admin_role_ids: list[Word] = _f([], "管理者ロール ID", "administrator role ids")
    privileged_role_names: list[Word] = _f(
        ["admin", "service", "manager", "ResellerAdmin"], "テナントに付与してはならない特権ロール名",
        "privileged role names no assignment may grant (admin, service, project manager, ...)")
    provider_networks: dict[Layer, list[Word]] = _f(
        {}, "系ごとのプロバイダ（外部）ネットワーク（名前または ID）",
        "the provider (external) networks each layer's zone router uses (names or ids); tenants get no port on them")
    layer_availability_zones: dict[Layer, list[Word]] = _f(
        {}, "系ごとの可用性ゾーン", "the availability zones of each layer's hosts")
    warm_systems: list[Word] = _f([], "ウォームスタンバイのシステム", "systems with a warm standby")
    site: Literal["", "onprem", "dr"] = _f("", "このスタックのサイト（空なら shuyaku:site タグから判断）",
                                           "this stack's site (empty: read from shuyaku:site tags)")


SETTING_KEYS: tuple[str, ...] = tuple(Settings.model_fields)


def resolved(given: Mapping[str, Any], keys: Iterable[str]) -> dict[str, Any]:
    """Defaults overlaid by the given values, checked and normalised (α' -> alpha_prime), for `keys` only.

    Raises pydantic's ValidationError on a wrong value; documents are checked before they get here.
    """
    keys = tuple(keys)
    values = Settings.model_validate({k: v for k, v in given.items() if k in keys}).model_dump(mode="json")
    return {k: values[k] for k in keys}


# --- the two documents ---------------------------------------------------------------------------------

def _as_entry(value: Any) -> Any:
    return {"enforcementLevel": value} if isinstance(value, str) else value


def _optional(name: str) -> Any:
    """A setting's type with its validators, optional (unset = the rule's default)."""
    field = Settings.model_fields[name]
    tp: Any = Annotated[(field.annotation, *field.metadata)] if field.metadata else field.annotation
    return (tp | None, None)


class AllEntry(_Strict):
    enforcementLevel: Level  # Pulumi's spelling


@cache
def _rule_entry() -> type[BaseModel]:
    return create_model("RuleEntry", __base__=_Strict, enforcementLevel=(Level | None, None),
                        **{k: _optional(k) for k in SETTING_KEYS})


@cache
def pack_config_model(rule_ids: tuple[str, ...]) -> type[BaseModel]:
    """Pulumi's policy-pack config for these rules: a level or an entry per rule id, and "all"."""
    entry: Any = Annotated[_rule_entry() | None, BeforeValidator(_as_entry)]
    fields: dict[str, Any] = {"all": (Annotated[AllEntry | None, BeforeValidator(_as_entry)], None)}
    fields.update({rid: (entry, None) for rid in rule_ids})
    return create_model("PackConfig", __base__=_Strict, **fields)


@cache
def settings_document_model(rule_ids: tuple[str, ...]) -> type[BaseModel]:
    """The flat settings document for these rules."""
    levels: dict[str, Any] = {rid: (Level | None, None) for rid in ("all", *rule_ids)}
    enforcement = create_model("Enforcement", __base__=_Strict, **levels)
    fields: dict[str, Any] = {"$schema": (str | None, None),
                              "enforcement": (enforcement, Field(default_factory=enforcement)),
                              "settings": (Settings, Field(default_factory=Settings))}
    return create_model(
        "PolicySettingsDocument", __base__=_Strict,
        __doc__="Input of `shuyaku policy config SETTINGS`, and accepted by `shuyaku policy audit --config`.",
        **fields)


def is_settings_document(data: Any) -> bool:
    return isinstance(data, dict) and bool({"settings", "enforcement"} & set(data))


def check_document(src: Source, rule_ids: Iterable[str], *, flat_only: bool = False) -> BaseModel:
    """Check a loaded pack config or settings document; raise ProblemsError with every problem in it."""
    ids = tuple(rule_ids)
    if flat_only and not is_settings_document(src.data):
        raise ProblemsError([src.problem((), tx("settings か enforcement がありません（ルールごとの pack config 形式です）",
                                                "no 'settings' or 'enforcement' (this is the per-rule pack config format)"),
                                         tx('{"enforcement": {...}, "settings": {...}} の形で書いてください',
                                            'write {"enforcement": {...}, "settings": {...}}'),
                                         code="policy.not_settings_document")])
    flat = is_settings_document(src.data)
    model = settings_document_model(ids) if flat else pack_config_model(ids)
    obj, problems = check(model, src)
    if problems or obj is None:
        raise ProblemsError([_rule_problem(p, ids, flat) for p in problems])
    return obj


def load_document(path: str | Path, rule_ids: Iterable[str], *, flat_only: bool = False) -> BaseModel:
    return check_document(_load_json_or_yaml(Path(path)), rule_ids, flat_only=flat_only)


def _load_json_or_yaml(path: Path) -> Source:
    """Through the one adapter. These files are usually JSON, which may be indented with tabs where YAML may
    not; in valid JSON a literal tab is only ever whitespace between tokens, so it reads as one space (same
    line, same column)."""
    text = read_text(path)
    if "\t" in text:
        try:
            json.loads(text)
        except ValueError:
            pass
        else:
            text = text.replace("\t", " ")
    return parse(text, path)


def _rule_problem(p: Problem, rule_ids: tuple[str, ...], flat: bool) -> Problem:
    """An unknown key where a rule id belongs is an unknown rule: say so, and name the nearest rule."""
    where = p.field.removeprefix("enforcement.") if flat else p.field
    at_rule = (flat and p.field.startswith("enforcement.")) or (not flat and "." not in p.field)
    if p.code != "schema.unknown_key" or not at_rule or "." in where:
        return p
    near = difflib.get_close_matches(where, rule_ids, n=1)
    hint = (f"「{near[0]}」の誤りではありませんか。", f"did you mean '{near[0]}'? ") if near else ("", "")
    return dataclasses.replace(p, code="policy.unknown_rule", message=tx("未知のルール ID です", "unknown rule id"),
                               fix=tx(f"{hint[0]}ルール ID は `shuyaku policy list` で確認できます",
                                      f"{hint[1]}see `shuyaku policy list` for the rule ids"))


# --- JSON Schemas, generated -----------------------------------------------------------------------------

def _inline(node: Any, defs: Mapping[str, Any]) -> Any:
    """Resolve local $refs (each property schema goes to the engine on its own) and drop null defaults."""
    if isinstance(node, list):
        return [_inline(x, defs) for x in node]
    if not isinstance(node, dict):
        return node
    out = {k: _inline(v, defs) for k, v in node.items() if k != "$ref" and not (k == "default" and v is None)}
    if "$ref" in node:
        out = {**_inline(defs[node["$ref"].rsplit("/", 1)[-1]], defs), **out}
    if "anyOf" in out and {"type": "null"} in out["anyOf"]:  # optional: unset, never null
        rest = [x for x in out.pop("anyOf") if x != {"type": "null"}]
        out = {**rest[0], **out} if len(rest) == 1 else {**out, "anyOf": rest}
    return out


def rule_config_schema(keys: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The CrossGuard config schema properties of a rule reading `keys`, cut from `Settings`."""
    schema = Settings.model_json_schema()
    defs = schema.get("$defs", {})
    return {k: _inline(copy.deepcopy(schema["properties"][k]), defs) for k in keys}


def settings_schema(rule_ids: Iterable[str]) -> dict[str, Any]:
    """JSON Schema of the flat settings document, so an editor completes and checks it."""
    model = settings_document_model(tuple(rule_ids))
    raw = model.model_json_schema()
    body = _inline({k: v for k, v in raw.items() if k != "$defs"}, raw.get("$defs", {}))
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **body, "title": "shuyaku policy settings"}
