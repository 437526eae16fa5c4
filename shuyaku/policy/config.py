"""Policy configuration: one vocabulary of settings, read the same way by the pack and the audit.

The file is Pulumi's policy-pack config format (`pulumi preview --policy-pack-config FILE`):
`{"all": "mandatory", "<rule id>": "advisory" | {"enforcementLevel": ..., "<setting>": ...}}`.
Each rule declares the settings it reads (its CrossGuard config schema), so a city's values are repeated
under each rule that needs them; `shuyaku policy config SETTINGS` writes that file from one flat
settings document (`{"enforcement": {...}, "settings": {...}}`), which `audit --config` also accepts.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shuyaku.contracts.i18n import t

_STR_LIST = {"type": "array", "items": {"type": "string"}}
_CIDR_LIST = {"type": "array", "items": {"type": "string"}, "description": "CIDR blocks"}
_PORT_LIST = {"type": "array", "items": {"type": "integer", "minimum": 1, "maximum": 65535}}

# setting -> (JSON schema, default, description ja, description en)
SETTINGS: dict[str, tuple[dict[str, Any], Any, str, str]] = {
    "separation_model": (
        {"type": "string", "enum": ["alpha", "beta", "beta_prime", "alpha_prime"]},
        "alpha",
        "三層分離モデル（α / β / β' / α'）",
        "separation model (α / β / β' / α')",
    ),
    "layer_cidrs": (
        {
            "type": "object",
            "additionalProperties": _CIDR_LIST,
            "propertyNames": {"enum": ["mynumber", "lgwan", "internet", "shared"]},
        },
        {},
        "系ごとのアドレス範囲",
        "address ranges of each layer",
    ),
    "proxy_cidrs": (
        _CIDR_LIST,
        [],
        "自治体情報セキュリティクラウドのプロキシ",
        "the security cloud proxy the internet layer must egress through",
    ),
    "relay_cidrs": (_CIDR_LIST, [], "無害化中継サーバ", "the file-sanitising relay"),
    "vdi_pool_cidrs": (_CIDR_LIST, [], "画面転送（VDI）プール", "the screen-transfer (VDI) pool"),
    "screen_transfer_ports": (_PORT_LIST, [3389, 443, 6080], "画面転送ポート", "screen-transfer ports (RDP, TLS browser VDI)"),
    "lgwan_wan_cidrs": (
        _CIDR_LIST,
        [],
        "LGWAN 網のアドレス範囲（LGWAN 接続系が到達してよい）",
        "LGWAN backbone ranges the LGWAN layer may reach",
    ),
    "lgwan_breakout_cidrs": (
        _CIDR_LIST,
        [],
        "α' モデルで LGWAN 接続系から直接利用を認めたクラウドサービス",
        "cloud services the LGWAN layer may reach directly under α'",
    ),
    "mynumber_ingress_exceptions": (
        {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["source_cidr", "protocol", "port"],
                "properties": {
                    "source_cidr": {"type": "string"},
                    "protocol": {"type": "string"},
                    "port": {"type": "integer"},
                    "reason": {"type": "string"},
                },
            },
        },
        [],
        "マイナンバー系への通信の例外（データ連携基盤など）",
        "listed exceptions for traffic into the My Number layer (e.g. the integration hub)",
    ),
    "encrypted_volume_types": (_STR_LIST, [], "暗号化ボリュームタイプ", "encrypted Cinder volume types"),
    "allowed_images": (_STR_LIST, [], "利用を認めたイメージ（名前または ID）", "allowed images (names or ids)"),
    "allowed_flavors": (_STR_LIST, [], "利用を認めたフレーバー（名前または ID）", "allowed flavors (names or ids)"),
    "data_links": (
        {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["source_system", "target_system", "protocol", "port"],
                "properties": {
                    "source_system": {"type": "string"},
                    "target_system": {"type": "string"},
                    "protocol": {"type": "string"},
                    "port": {"type": "integer"},
                    "path": {"type": "string"},
                },
            },
        },
        [],
        "申請済みのシステム間データ連携",
        "declared data links between systems",
    ),
    "admin_role_names": (_STR_LIST, ["admin"], "管理者ロール名", "administrator role names"),
    "admin_role_ids": (_STR_LIST, [], "管理者ロール ID", "administrator role ids"),
    "warm_systems": (_STR_LIST, [], "ウォームスタンバイのシステム", "systems with a warm standby"),
    "site": (
        {"type": "string", "enum": ["", "onprem", "dr"]},
        "",
        "このスタックのサイト（空なら shuyaku:site タグから判断）",
        "this stack's site (empty: read from shuyaku:site tags)",
    ),
}

LEVELS = ("mandatory", "advisory", "disabled", "remediate")

MODEL_ALIASES = {
    "α": "alpha",
    "β": "beta",
    "β'": "beta_prime",
    "β’": "beta_prime",
    "α'": "alpha_prime",
    "α’": "alpha_prime",
    "alpha'": "alpha_prime",
    "beta'": "beta_prime",
}


class ConfigError(ValueError):
    """A config file that cannot be used; the message names the file and the field."""


def defaults(keys: Iterable[str]) -> dict[str, Any]:
    return {k: copy.deepcopy(SETTINGS[k][1]) for k in keys}


def schema_for(keys: Iterable[str]) -> dict[str, dict[str, Any]]:
    out = {}
    for k in keys:
        schema, default, _ja, en = SETTINGS[k]
        out[k] = {**schema, "default": copy.deepcopy(default), "description": en}
    return out


def normalise_settings(values: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(values)
    model = out.get("separation_model")
    if isinstance(model, str):
        out["separation_model"] = MODEL_ALIASES.get(model.strip(), model.strip())
    return out


@dataclass
class PolicyConfig:
    """Levels and settings per rule id, resolved like the Pulumi engine does (defaults, all, per rule)."""

    all_level: str | None = None
    levels: dict[str, str] = field(default_factory=dict)
    props: dict[str, dict[str, Any]] = field(default_factory=dict)

    def level(self, rule_id: str, default: str) -> str:
        lvl = self.levels.get(rule_id) or self.all_level or default
        return "mandatory" if lvl == "remediate" else lvl

    def settings(self, rule_id: str, keys: Iterable[str]) -> dict[str, Any]:
        keys = tuple(keys)
        out = defaults(keys)
        out.update({k: v for k, v in self.props.get(rule_id, {}).items() if k in keys})
        return normalise_settings(out)


def parse(doc: Any, where: str, known_rules: Iterable[str]) -> PolicyConfig:
    """Parse either format; every problem is collected before failing."""
    known = set(known_rules)
    errors: list[str] = []
    if not isinstance(doc, dict):
        raise ConfigError(
            t(f"{where}: 最上位は JSON オブジェクトでなければなりません", f"{where}: expected a JSON object at the top level")
        )
    cfg = PolicyConfig()
    if "settings" in doc or "enforcement" in doc:
        return _parse_flat(doc, where, known)
    for key, val in doc.items():
        if key == "all":
            lvl = val.get("enforcementLevel") if isinstance(val, dict) else val
            if lvl not in LEVELS:
                errors.append(
                    t(
                        f"{where}: all: {lvl!r} は {', '.join(LEVELS)} のいずれでもありません",
                        f"{where}: all: {lvl!r} is not one of {', '.join(LEVELS)}",
                    )
                )
            else:
                cfg.all_level = lvl
            continue
        if key not in known:
            errors.append(
                t(
                    f"{where}: {key}: 未知のルール ID です（`shuyaku policy list` を参照）",
                    f"{where}: {key}: unknown rule id (see `shuyaku policy list`)",
                )
            )
            continue
        if isinstance(val, str):
            val = {"enforcementLevel": val}
        if not isinstance(val, dict):
            errors.append(
                t(
                    f"{where}: {key}: 強制レベルの文字列かオブジェクトが必要です",
                    f"{where}: {key}: expected a level string or an object",
                )
            )
            continue
        props = dict(val)
        lvl = props.pop("enforcementLevel", None)
        if lvl is not None:
            if lvl not in LEVELS:
                errors.append(
                    t(
                        f"{where}: {key}.enforcementLevel: {lvl!r} は {', '.join(LEVELS)} のいずれでもありません",
                        f"{where}: {key}.enforcementLevel: {lvl!r} is not one of {', '.join(LEVELS)}",
                    )
                )
            else:
                cfg.levels[key] = lvl
        for pk, pv in props.items():
            if pk not in SETTINGS:
                errors.append(
                    t(
                        f"{where}: {key}.{pk}: 未知の設定です（既知: {', '.join(SETTINGS)}）",
                        f"{where}: {key}.{pk}: unknown setting; known: {', '.join(SETTINGS)}",
                    )
                )
            else:
                errors.extend(_check_value(f"{where}: {key}.{pk}", pk, pv))
        cfg.props[key] = props
    if errors:
        raise ConfigError("\n".join(errors))
    return cfg


def _parse_flat(doc: dict[str, Any], where: str, known: set[str]) -> PolicyConfig:
    errors: list[str] = []
    cfg = PolicyConfig()
    extra = set(doc) - {"settings", "enforcement", "$schema"}
    if extra:
        errors.append(
            t(
                f"{where}: 未知の最上位キー {sorted(extra)}（settings と enforcement のみ）",
                f"{where}: unknown top-level keys {sorted(extra)}; expected settings, enforcement",
            )
        )
    enforcement = doc.get("enforcement", {}) or {}
    if not isinstance(enforcement, dict):
        errors.append(
            t(
                f"{where}: enforcement: ルール ID → 強制レベルのオブジェクトが必要です",
                f"{where}: enforcement: expected an object of rule id -> level",
            )
        )
        enforcement = {}
    for key, lvl in enforcement.items():
        if lvl not in LEVELS:
            errors.append(
                t(
                    f"{where}: enforcement.{key}: {lvl!r} は {', '.join(LEVELS)} のいずれでもありません",
                    f"{where}: enforcement.{key}: {lvl!r} is not one of {', '.join(LEVELS)}",
                )
            )
        elif key == "all":
            cfg.all_level = lvl
        elif key not in known:
            errors.append(
                t(
                    f"{where}: enforcement.{key}: 未知のルール ID です（`shuyaku policy list` を参照）",
                    f"{where}: enforcement.{key}: unknown rule id (see `shuyaku policy list`)",
                )
            )
        else:
            cfg.levels[key] = lvl
    settings = doc.get("settings", {}) or {}
    if not isinstance(settings, dict):
        errors.append(t(f"{where}: settings: オブジェクトが必要です", f"{where}: settings: expected an object"))
        settings = {}
    for k, v in settings.items():
        if k not in SETTINGS:
            errors.append(
                t(
                    f"{where}: settings.{k}: 未知の設定です（既知: {', '.join(SETTINGS)}）",
                    f"{where}: settings.{k}: unknown setting; known: {', '.join(SETTINGS)}",
                )
            )
        else:
            errors.extend(_check_value(f"{where}: settings.{k}", k, v))
    if errors:
        raise ConfigError("\n".join(errors))
    for rule_id in known:
        cfg.props[rule_id] = dict(settings)
    return cfg


def _check_value(where: str, key: str, value: Any) -> list[str]:
    """The same checks the engine applies from the config schema, plus CIDR syntax."""
    from shuyaku.policy.net import parse_net

    schema = SETTINGS[key][0]
    typ = schema.get("type")
    pytypes = {"string": str, "array": list, "object": dict, "integer": int}
    if typ in pytypes and not isinstance(value, pytypes[typ]):
        return [
            t(
                f"{where}: {typ} 型が必要です（{type(value).__name__} でした）",
                f"{where}: expected {typ}, got {type(value).__name__}",
            )
        ]
    errs = []
    if "enum" in schema:
        v = MODEL_ALIASES.get(value, value) if key == "separation_model" else value
        if v not in schema["enum"]:
            errs.append(
                t(
                    f"{where}: {value!r} は {', '.join(map(repr, schema['enum']))} のいずれでもありません",
                    f"{where}: {value!r} is not one of {', '.join(map(repr, schema['enum']))}",
                )
            )
    cidr_lists: list[tuple[str, Any]] = []
    if key == "layer_cidrs":
        for layer, lst in value.items():
            if layer not in ("mynumber", "lgwan", "internet", "shared"):
                errs.append(
                    t(
                        f"{where}.{layer}: 未知の系です（mynumber, lgwan, internet, shared）",
                        f"{where}.{layer}: unknown layer; use mynumber, lgwan, internet, shared",
                    )
                )
            cidr_lists.append((f"{where}.{layer}", lst))
    elif key.endswith("_cidrs"):
        cidr_lists.append((where, value))
    elif key == "mynumber_ingress_exceptions":
        for i, e in enumerate(value):
            if not isinstance(e, dict) or not {"source_cidr", "protocol", "port"} <= set(e):
                errs.append(
                    t(f"{where}[{i}]: source_cidr, protocol, port が必要です", f"{where}[{i}]: needs source_cidr, protocol, port")
                )
            else:
                cidr_lists.append((f"{where}[{i}].source_cidr", [e["source_cidr"]]))
    elif key == "data_links":
        for i, e in enumerate(value):
            if not isinstance(e, dict) or not {"source_system", "target_system", "protocol", "port"} <= set(e):
                errs.append(
                    t(
                        f"{where}[{i}]: source_system, target_system, protocol, port が必要です",
                        f"{where}[{i}]: needs source_system, target_system, protocol, port",
                    )
                )
    for w, lst in cidr_lists:
        if not isinstance(lst, list):
            errs.append(t(f"{w}: CIDR 文字列のリストが必要です", f"{w}: expected a list of CIDR strings"))
            continue
        for i, c in enumerate(lst):
            if not isinstance(c, str) or parse_net(c) is None:
                errs.append(
                    t(
                        f"{w}[{i}]: {c!r} は CIDR ではありません（例: 10.20.0.0/16）",
                        f"{w}[{i}]: {c!r} is not a CIDR block (e.g. 10.20.0.0/16)",
                    )
                )
    if typ == "array" and schema.get("items", {}).get("type") == "integer":
        for i, p in enumerate(value):
            if not isinstance(p, int) or not 1 <= p <= 65535:
                errs.append(t(f"{where}[{i}]: {p!r} はポート番号ではありません", f"{where}[{i}]: {p!r} is not a port number"))
    return errs


def load(path: str | Path, known_rules: Iterable[str]) -> PolicyConfig:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(t(f"{p}: 読み込めません（{e.strerror}）", f"{p}: cannot read ({e.strerror})")) from None
    try:
        doc = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError as e:
        raise ConfigError(
            t(
                f"{p}:{e.lineno}:{e.colno}: JSON として読めません（{e.msg}）",
                f"{p}:{e.lineno}:{e.colno}: not valid JSON ({e.msg})",
            )
        ) from None
    return parse(doc, str(p), known_rules)


def expand(flat: Mapping[str, Any], rules: Iterable[Any]) -> dict[str, Any]:
    """Flat settings document -> Pulumi policy-pack config, each rule given only the keys it reads."""
    out: dict[str, Any] = {}
    enforcement = dict(flat.get("enforcement", {}) or {})
    if "all" in enforcement:
        out["all"] = enforcement.pop("all")
    settings = normalise_settings(flat.get("settings", {}) or {})
    for rule in rules:
        entry: dict[str, Any] = {}
        if rule.id in enforcement:
            entry["enforcementLevel"] = enforcement[rule.id]
        for k in rule.config_keys:
            if k in settings:
                entry[k] = settings[k]
        if entry:
            out[rule.id] = entry
    return out


def separation_model(settings: Mapping[str, Any]) -> str:
    """The configured model, accepting α / β / β' / α' as written in MIC documents."""
    m = str(settings.get("separation_model") or "alpha").strip()
    return MODEL_ALIASES.get(m, m)


def settings_schema(rule_ids: Iterable[str]) -> dict[str, Any]:
    """JSON Schema of the flat settings document, so an editor completes and checks it."""
    levels = {"enum": list(LEVELS)}
    props = {}
    for k, (schema, default, ja, en) in SETTINGS.items():
        props[k] = {**copy.deepcopy(schema), "default": copy.deepcopy(default), "description": f"{ja} / {en}"}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "shuyaku policy settings",
        "description": "Input of `shuyaku policy config SETTINGS`, and accepted by `shuyaku policy audit --config`.",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "$schema": {"type": "string"},
            "enforcement": {
                "type": "object",
                "additionalProperties": False,
                "properties": {"all": levels, **{r: levels for r in rule_ids}},
            },
            "settings": {"type": "object", "additionalProperties": False, "properties": props},
        },
    }
