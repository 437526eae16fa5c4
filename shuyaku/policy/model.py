"""The resource model every rule reads, and what a rule reports.

One shape for three inputs (CrossGuard, `pulumi stack export`, `pulumi preview --json`), so a rule is
written once and both the pack and `shuyaku policy audit` run the same code on the same facts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from shuyaku.contracts.i18n import t

Severity = Literal["low", "medium", "high", "critical"]
Enforcement = Literal["mandatory", "advisory", "disabled"]
Scope = Literal["resource", "stack"]


class _Unknown:
    """A value the engine cannot know yet (preview of a resource not created); rules skip it."""

    _instance: _Unknown | None = None

    def __new__(cls) -> _Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "<unknown>"


UNKNOWN = _Unknown()


@dataclass(frozen=True, slots=True)
class SecretValue:
    """A value Pulumi marked secret. `value` is None when only ciphertext is available (stack export)."""

    value: Any = None

    @property
    def readable(self) -> bool:
        return self.value is not None


def known(v: Any) -> bool:
    return v is not UNKNOWN


def plain(v: Any) -> Any:
    """The usable value: secrets unwrapped when readable; ciphertext-only secrets become UNKNOWN."""
    if isinstance(v, SecretValue):
        return v.value if v.readable else UNKNOWN
    return v


@dataclass(slots=True)
class Resource:
    """One resource: `props` are engine (camelCase) property names, inputs laid over outputs."""

    urn: str
    type: str
    name: str
    props: dict[str, Any]
    parent: str | None = None
    id: str | None = None
    provider: str | None = None  # provider reference "urn::id" (or just the URN)
    deps: dict[str, list[str]] = field(default_factory=dict)  # propertyDependencies: prop -> URNs

    def get(self, key: str, default: Any = None) -> Any:
        """A property with secrets unwrapped; None when absent."""
        v = self.props.get(key, default)
        return plain(v)


@dataclass(frozen=True, slots=True)
class Msg:
    ja: str
    en: str

    def text(self) -> str:
        return t(self.ja, self.en)

    def lang(self, lang: str) -> str:
        return self.en if lang == "en" else self.ja


@dataclass(frozen=True, slots=True)
class Violation:
    rule_id: str
    urn: str | None  # None: the stack as a whole
    message: Msg


# Written as generators; Rule hands out list-returning versions.
CheckFn = Callable[[Resource, Mapping[str, Any]], Iterable[Violation]]
StackCheckFn = Callable[[Any, Mapping[str, Any]], Iterable[Violation]]


@dataclass(frozen=True)
class Rule:
    """A rule's metadata and its pure check; serves the CrossGuard pack, the audit and the docs."""

    id: str
    title: Msg
    description: Msg
    severity: Severity
    enforcement: Enforcement
    sources: tuple[str, ...]
    remediation: Msg
    resource_types: tuple[str, ...]
    config_keys: tuple[str, ...] = ()
    check: CheckFn | None = None
    check_stack: StackCheckFn | None = None
    tags: tuple[str, ...] = ()
    # Settings without which the rule can check only part of what it promises (warned about, not fatal).
    requires: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if (self.check is None) == (self.check_stack is None):
            raise ValueError(f"rule {self.id}: give exactly one of check / check_stack")
        # Rule bodies are generators; callers get a list (`rule.check(res, cfg) == []` reads naturally).
        for name in ("check", "check_stack"):
            fn = getattr(self, name)
            if fn is not None and not getattr(fn, "_listified", False):
                object.__setattr__(self, name, _listify(fn))

    @property
    def scope(self) -> Scope:
        return "resource" if self.check is not None else "stack"

    def violation(self, urn: str | None, ja: str, en: str) -> Violation:
        return Violation(self.id, urn, Msg(ja, en))


def _listify(fn: Callable[..., Iterable[Violation]]) -> Callable[..., list[Violation]]:
    def run(*args: Any) -> list[Violation]:
        return list(fn(*args))

    run._listified = True  # type: ignore[attr-defined]
    run.__doc__ = fn.__doc__
    run.__name__ = getattr(fn, "__name__", "check")
    return run


def msg(ja: str, en: str) -> Msg:
    return Msg(ja, en)
