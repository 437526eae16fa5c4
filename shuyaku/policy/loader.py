"""Three inputs, one resource model: CrossGuard arguments, `pulumi stack export`, `pulumi preview --json`."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shuyaku.contracts.problems import Problem, ProblemsError, Text, tx
from shuyaku.policy.model import UNKNOWN, Resource, SecretValue

SIG = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e"
UNKNOWNS = frozenset(
    {
        "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7",
        "3eeb2bf0-c639-47a8-9e75-3b44932eb421",
        "04da6b54-80e4-46f7-96ec-b56ff0331ba9",
        "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2",
        "030794c1-ac77-496b-92df-f27374a8bd58",
        "e48ece36-62e2-4504-bad9-02848725956a",
        "dd056dcd-154b-4c76-9bd3-c8f88648b5ff",
    }
)
# How `pulumi preview --json` shows any secret value (with or without --show-secrets).
PREVIEW_SECRET = "[secret]"
# Ops whose resource does not exist after the change.
_GONE_OPS = frozenset({"delete", "discard", "delete-replaced", "remove-pending-replace", "read-discard"})


_REMAKE = tx("`pulumi stack export --file F` か `pulumi preview --json --show-sames > F` で作り直してください",
             "produce it again with `pulumi stack export --file F` or `pulumi preview --json --show-sames > F`")


class LoadError(ProblemsError):
    """An input that is not a stack export or preview: one problem naming the file, the field, a fix and a code."""

    def __init__(self, where: str, field: str, code: str, message: Text, fix: Text = _REMAKE, *,
                 line: int = 0, column: int = 0):
        super().__init__([Problem(where, line, column, field, message, fix, code)])


@dataclass
class Loaded:
    resources: list[Resource]
    kind: str  # "export" | "preview" | "crossguard"
    # Stack config seen by the change: key -> (value, is_secret); None when the input carries none.
    stack_config: dict[str, tuple[Any, bool]] | None = None
    # Resources the document's resources refer to but does not hold (a preview made without --show-sames
    # leaves out every unchanged resource; rules that follow references then see less than the pack).
    missing: int = 0


def engine_value(v: Any) -> Any:
    """Engine JSON value (state file, preview JSON, or a gRPC Struct as a dict) -> plain Python, with
    secrets and unknowns made explicit."""
    if isinstance(v, str):
        if v == PREVIEW_SECRET:
            return SecretValue(None)
        return UNKNOWN if v in UNKNOWNS else v
    if isinstance(v, list):
        return [engine_value(x) for x in v]
    if isinstance(v, dict):
        sig = v.get(SIG)
        if sig == SECRET_SIG:
            if "plaintext" in v:
                try:
                    return SecretValue(engine_value(json.loads(v["plaintext"])))
                except (TypeError, ValueError):
                    return SecretValue(v["plaintext"])
            if "value" in v:
                return SecretValue(engine_value(v["value"]))
            return SecretValue(None)
        if sig == RESOURCE_SIG:
            return v.get("id") or v.get("urn")
        return {k: engine_value(x) for k, x in v.items()}
    return v


def overlay(inputs: Mapping[str, Any] | None, outputs: Mapping[str, Any] | None) -> dict[str, Any]:
    """Inputs laid over outputs: what the program asked for wins, computed values fill the gaps.

    An unknown output the program did not ask for is a value the cloud will choose (a preview of a new
    resource: default volume type, any protocol); it reads as not set, as it does in preview JSON, which
    carries no outputs for a new resource. Unknown inputs stay unknown, and rules do not guess them.
    """
    out = {k: v for k, v in (outputs or {}).items() if v is not UNKNOWN}
    out.update(inputs or {})
    return out


def _props(inputs: Any, outputs: Any, normalised: bool = False) -> dict[str, Any]:
    inputs = inputs if isinstance(inputs, dict) else {}
    outputs = outputs if isinstance(outputs, dict) else {}
    if normalised:
        # The document holds no secret and no unknown: nothing to convert.
        return {**outputs, **inputs}
    return overlay(engine_value(inputs), engine_value(outputs))


# Values the cloud makes up when the program sets none: Nova returns a generated adminPass for every server.
# They say nothing about the configuration, which is what the rules judge (as Checkov and Trivy do).
GENERATED_OUTPUTS = {"openstack:compute/instance:Instance": ("adminPass",)}


def _without_generated(kind: str, outputs: Any) -> Any:
    drop = GENERATED_OUTPUTS.get(kind)
    if not drop or not isinstance(outputs, dict):
        return outputs
    return {k: v for k, v in outputs.items() if k not in drop}


def _name(urn: str) -> str:
    return urn.rsplit("::", 1)[-1] if "::" in urn else urn


def from_state(items: Iterable[Mapping[str, Any]], where: str, normalised: bool = False, *,
               field: str = "deployment.resources") -> list[Resource]:
    out: list[Resource] = []
    for i, r in enumerate(items):
        if not isinstance(r, Mapping) or not isinstance(r.get("urn"), str) or not isinstance(r.get("type"), str):
            raise LoadError(where, f"{field}[{i}]", "audit.bad_resource",
                            tx("文字列の urn と type を持つオブジェクトが必要です",
                               "expected an object with string 'urn' and 'type'"))
        urn = r["urn"]
        deps = r.get("propertyDependencies") or {}
        out.append(
            Resource(
                urn=urn,
                type=r["type"],
                name=_name(urn),
                props=_props(r.get("inputs"), _without_generated(r["type"], r.get("outputs")), normalised),
                parent=r.get("parent") or None,
                id=(r.get("id") if isinstance(r.get("id"), str) and r.get("id") not in UNKNOWNS else None) or None,
                provider=r.get("provider") or None,
                deps={k: list(v) for k, v in deps.items() if isinstance(v, list)} if isinstance(deps, dict) else {},
            )
        )
    return out


def from_document(doc: Any, where: str, normalised: bool = False) -> Loaded:
    """Recognise the document by its shape."""
    if not isinstance(doc, dict):
        raise LoadError(where, "(document)", "audit.not_object",
                        tx("JSON オブジェクトではありません（pulumi stack export か pulumi preview --json の出力を指定）",
                           "expected a JSON object (pulumi stack export or pulumi preview --json)"))
    if "steps" in doc or "changeSummary" in doc:
        return _from_preview(doc, where, normalised)
    dep = doc
    if "checkpoint" in dep and isinstance(dep["checkpoint"], dict):
        dep = dep["checkpoint"].get("latest") or {}
    if "deployment" in dep:
        dep = dep["deployment"]
    if not isinstance(dep, dict) or ("resources" not in dep and "manifest" not in dep):
        raise LoadError(where, "(document)", "audit.not_state",
                        tx("スタックのエクスポート（deployment.resources）でもプレビュー（steps[]）でもありません",
                           "neither a stack export (deployment.resources) nor a preview (steps[])"))
    res = dep.get("resources") or []
    if not isinstance(res, list):
        raise LoadError(where, "deployment.resources", "audit.not_list",
                        tx("リストでなければなりません", "must be a list"))
    return Loaded(from_state(res, where, normalised), "export")


def _from_preview(doc: dict[str, Any], where: str, normalised: bool) -> Loaded:
    steps = doc.get("steps") or []
    if not isinstance(steps, list):
        raise LoadError(where, "steps", "audit.not_list", tx("リストでなければなりません", "must be a list"))
    states = []
    for i, s in enumerate(steps):
        if not isinstance(s, dict):
            raise LoadError(where, f"steps[{i}]", "audit.bad_step", tx("オブジェクトが必要です", "expected an object"))
        if s.get("op") in _GONE_OPS or not isinstance(s.get("newState"), dict):
            continue
        states.append(s["newState"])
    # The engine leaves "config" out when the stack has none.
    config = stack_config_from_preview(doc["config"] if isinstance(doc.get("config"), dict) else {})
    resources = with_default_providers(from_state(states, where, normalised, field="steps[].newState"), config)
    return Loaded(resources, "preview", config, _missing(resources))


def load_file(path: str | Path) -> Loaded:
    p = Path(path)
    try:
        # "-": read a pipe (`pulumi preview --json | shuyaku policy audit -`).
        raw = sys.stdin.buffer.read() if str(path) == "-" else p.read_bytes()
    except OSError as e:
        raise LoadError(str(p), "(file)", "audit.unreadable", tx(f"読み込めません（{e.strerror}）",
                                                                 f"cannot read it ({e.strerror})"),
                        tx("パスと権限を確認してください", "check the path and the file's permissions")) from None
    try:
        doc = json.loads(raw)
    except UnicodeDecodeError:
        raise LoadError(str(p), "(file)", "audit.not_utf8", tx("UTF-8 のテキストではありません", "not UTF-8 text")) from None
    except json.JSONDecodeError as e:
        raise LoadError(str(p), "(syntax)", "audit.not_json", tx(f"JSON として読めません（{e.msg}）",
                                                                 f"not valid JSON ({e.msg})"),
                        line=e.lineno, column=e.colno) from None
    # Most values need no conversion; skip the walk when no secret or unknown appears anywhere.
    plain_json = (SIG.encode() not in raw and f'"{PREVIEW_SECRET}"'.encode() not in raw
                  and not any(u.encode() in raw for u in UNKNOWNS))
    return from_document(doc, str(p), normalised=plain_json)


# --- CrossGuard -------------------------------------------------------------------------------------


def unproxy(v: Any) -> Any:
    """CrossGuard wraps props in proxies that raise on unknowns; rules want plain values."""
    from pulumi_policy.proxy import _DictProxy, _ListProxy
    from pulumi_policy.secret import Secret

    if isinstance(v, _DictProxy | _ListProxy):
        v = v["__target"]
    if isinstance(v, Secret):
        return SecretValue(unproxy(v.value))
    if isinstance(v, str):
        return UNKNOWN if v in UNKNOWNS else v
    if isinstance(v, Mapping):
        return {k: unproxy(v[k]) for k in v}
    if isinstance(v, Sequence) and not isinstance(v, str | bytes):
        return [unproxy(x) for x in v]
    return v


def from_validation_args(args: Any,
                         inputs_of: Callable[[str], dict[str, Any] | None] = lambda _urn: None) -> Resource:
    """pulumi_policy.ResourceValidationArgs -> Resource.

    `inputs_of(urn)`: the same inputs as the engine sent them, secret marks kept (pulumi_policy drops them).
    """
    provider = getattr(args, "provider", None)
    opts = getattr(args, "opts", None)
    return Resource(
        urn=args.urn,
        type=args.resource_type,
        name=args.name,
        props=inputs_of(args.urn) or unproxy(args.props),
        parent=getattr(opts, "parent", None) or None,
        provider=provider.urn if provider is not None else None,
    )


def from_stack_args(resources: Iterable[Any],
                    inputs_of: Callable[[str], dict[str, Any] | None] = lambda _urn: None) -> list[Resource]:
    """pulumi_policy PolicyResource list (outputs) -> Resources, providers included once each.

    `inputs_of(urn)`: the inputs the engine showed the pack for that resource, laid over its outputs.
    """
    out: list[Resource] = []
    seen: set[str] = set()
    providers: dict[str, Any] = {}
    for r in resources:
        parent = getattr(r, "parent", None)
        opts = getattr(r, "opts", None)
        prov = getattr(r, "provider", None)
        if prov is not None:
            providers.setdefault(prov.urn, prov)
        deps = {k: [d.urn for d in v] for k, v in (getattr(r, "property_dependencies", None) or {}).items()}
        out.append(
            Resource(
                urn=r.urn,
                type=r.resource_type,
                name=r.name,
                props=overlay(inputs_of(r.urn), unproxy(r.props)),
                parent=parent.urn if parent is not None else (getattr(opts, "parent", None) or None),
                provider=prov.urn if prov is not None else None,
                deps=deps,
            )
        )
        seen.add(r.urn)
    for urn, prov in providers.items():
        if urn not in seen:
            # The provider reference carries its inputs without secret marks; the provider's own Analyze kept them.
            out.append(Resource(urn=urn, type=prov.resource_type, name=prov.name,
                                props=inputs_of(urn) or unproxy(prov.props)))
    return out


# --- stack config -----------------------------------------------------------------------------------
# Both modes must see the same thing. The engine tells a pack which top-level keys hold any secret (it has
# no finer grain: `pulumi config set --path --secret db.pw` makes the whole of `db` a secret key), so a
# preview's "[secret]" anywhere inside a value marks its whole key secret here too.

StackConfig = dict[str, tuple[Any, bool]]


def _structured(v: Any) -> Any:
    """A config value as the engine encodes it (objects and lists as JSON text) -> Python data, else as is."""
    if isinstance(v, str) and v[:1] in ("{", "["):
        try:
            return json.loads(v)
        except ValueError:
            return v
    return v


def _holds_secret(v: Any) -> bool:
    if isinstance(v, dict):
        return any(_holds_secret(x) for x in v.values())
    if isinstance(v, list):
        return any(_holds_secret(x) for x in v)
    return v == PREVIEW_SECRET


def stack_config_from_preview(config: Mapping[str, Any]) -> StackConfig:
    """`pulumi preview --json`'s "config": secret values are shown as "[secret]"."""
    out: StackConfig = {}
    for k, v in config.items():
        data = _structured(v)
        out[k] = (PREVIEW_SECRET, True) if _holds_secret(data) else (data, False)
    return out


def _missing(resources: list[Resource]) -> int:
    have = {r.urn for r in resources}
    refs = {u for r in resources for urns in r.deps.values() for u in urns}
    refs |= {r.parent for r in resources if r.parent}
    return len(refs - have)


def with_default_providers(resources: list[Resource], config: StackConfig | None) -> list[Resource]:
    """The resources, with each engine default provider ("default_5_5_3") read from the stack config.

    A default provider takes its inputs from the config of its package (`openstack:password` -> `password`,
    secret where the config is: pkg/v3 resource/deploy/target.go GetPackageConfig). A preview's steps leave
    it out though its resources point at it, and the pack sees it after the provider's own checks (which
    mark `password` secret even when it sits in plain text in Pulumi.<stack>.yaml). Both modes read it from
    the same config instead, which is also where the user wrote it.
    """
    if config is None:
        return resources
    out = [r for r in resources if not _is_default_provider(r.urn)]
    seen: set[str] = set()
    for r in resources:
        for urn in (r.urn, r.provider.rsplit("::", 1)[0] if r.provider and r.provider.count("::") >= 4
                    else r.provider):
            if not urn or urn in seen or not _is_default_provider(urn):
                continue
            seen.add(urn)
            kind, name = urn.split("::")[-2:]
            prefix = kind.removeprefix("pulumi:providers:") + ":"
            props = {k[len(prefix):]: (SecretValue(None) if secret else v)
                     for k, (v, secret) in config.items() if k.startswith(prefix)}
            out.append(Resource(urn=urn, type=kind, name=name, props=props))
    return out


def _is_default_provider(urn: str) -> bool:
    parts = urn.split("::")
    return len(parts) >= 4 and parts[-2].startswith("pulumi:providers:") and parts[-1].startswith("default")


def stack_config_from_engine(config: Mapping[str, str], secret_keys: Iterable[str]) -> StackConfig:
    """What the engine sends a pack in ConfigureStack: every value decrypted, and the keys that were secret."""
    secret = set(secret_keys)
    return {k: ((PREVIEW_SECRET, True) if k in secret else (_structured(v), False)) for k, v in config.items()}
