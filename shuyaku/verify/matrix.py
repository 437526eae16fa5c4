"""The connection matrix of `shuyaku verify --migrated`: from plan.json and the stack's outputs, every connection
a migrated guest must make and a bounded, seeded sample of those it must not.

What goes in (bounded by `bound` cases in all; the order of the cases is stable):
- every planned TCP link whose two systems are migrated: straight for `direct`; for `hub` and `relay` the two legs
  through the mediator (source to mediator, mediator's host to target) and the link tried straight, refused;
- ordered pairs of migrated systems with no planned link, refused: first one per ordered layer pair, then one per
  system as a source and as a target, then every My Number source towards the other layers, then a seeded sample
  of the rest until the bound; the coverage (tried / possible, per layer pair) goes with the cases;
- the layer rules: a My Number source reaches neither the relay, the proxy, the internet host nor the hub on a
  port no planned link lists; an internet-layer source reaches the internet host through the proxy, never
  straight; an LGWAN source reaches neither the internet host nor the proxy.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from shuyaku.contracts.i18n import t
from shuyaku.contracts.plan import LinkPlan, Plan
from shuyaku.contracts.verify import CaseSet, ConnectionCase, Coverage, Expect, PairCoverage, Proxy, Untried, Why
from shuyaku.contracts.vocabulary import Layer

DEFAULT_SEED = 14
DEFAULT_BOUND = 1000
MAX_BOUND = 5000
LISTENER = "shuyaku-listener "
SSH_PORT = 22  # every guest's sshd listens: a refused pair with no known service port is tried there
MEDIATORS = ("hub", "relay")

WHY: dict[Why, tuple[str, str]] = {
    "planned_direct": ("計画された連携（直接）", "planned link (direct)"),
    "planned_to_mediator": ("計画された連携: 送信元から仲介サービスへ", "planned link: source to the mediator"),
    "planned_from_mediator": ("計画された連携: 仲介サービスから宛先へ", "planned link: mediator to the target"),
    "mediated_bypass": ("仲介が必要な連携を直接試す（拒否されるべき）", "a mediated link tried straight (must be refused)"),
    "unlinked_pair": ("計画された連携のない組み合わせ", "no planned link between the two systems"),
    "mynumber_outside": ("マイナンバー利用事務系から系の外へ", "My Number source towards outside its layer"),
    "mynumber_hub_unlisted": ("マイナンバー利用事務系からデータ連携基盤の計画外ポートへ",
                              "My Number source to the hub on a port no planned link lists"),
    "internet_via_proxy": ("インターネット接続系からプロキシ経由でインターネットへ",
                           "internet-layer source to the internet host through the proxy"),
    "internet_direct": ("インターネット接続系からプロキシを通さずインターネットへ",
                        "internet-layer source to the internet host straight"),
    "lgwan_internet": ("LGWAN接続系からインターネット（またはプロキシ）へ", "LGWAN source towards the internet (or the proxy)"),
}


class MatrixError(ValueError):
    """The matrix cannot be built as asked (e.g. the bound is too small); exit status 2."""


@dataclass(frozen=True, order=True)
class Guest:
    host: str
    address: str


@dataclass(frozen=True)
class Mediator:
    """A shared service a planned link goes through: its address, and a host of it to try the second leg from."""

    name: str
    address: str
    ports: tuple[int, ...]
    host: Guest | None


@dataclass
class MatrixInput:
    stack: str
    municipality: str
    plan: Plan
    layers: dict[str, Layer]  # system id -> layer (the stack's tenant outputs)
    guests: dict[str, list[Guest]]  # migrated system id -> its guests
    mediators: dict[str, Mediator] = field(default_factory=dict)
    proxy: Proxy | None = None
    internet: Proxy | None = None  # the internet host: address and a port it serves


@dataclass
class _Builder:
    m: MatrixInput
    first: dict[str, Guest]
    cases: dict[str, ConnectionCase] = field(default_factory=dict)
    untried: list[Untried] = field(default_factory=list)

    def add(self, src: str, src_guest: Guest, src_layer: Layer, target: str, target_layer: Layer | None,
            address: str, port: int, expect: Expect, why: Why, *, link: str | None = None, via: Proxy | None = None,
            banner: str | None = None) -> None:
        cid = f"{src_guest.host}-to-{target}-tcp{port}" + ("-via-proxy" if via else "")
        known = self.cases.get(cid)
        if known is not None:
            # The same connection asked twice (two links through the hub on one port) is one case; the same id
            # for another address or verdict (a system named like a service, e.g. `hub`) must not hide either.
            if (known.address, known.expect) != (address, expect):
                raise MatrixError(t(f"接続ケース {cid} が二通りに定義されます（{known.address} {known.expect} と "
                                    f"{address} {expect}）。システムID と共通サービス名の重なりを解消してください。",
                                    f"case {cid} would mean two things ({known.address} {known.expect} and {address} "
                                    f"{expect}); a system id is probably named like a shared service."))
            return
        self.cases[cid] = ConnectionCase(
            id=cid, source=src, source_host=src_guest.host, source_address=src_guest.address, source_layer=src_layer,
            target=target, target_layer=target_layer, address=address, port=port, via=via, expect=expect,
            why=why, link=link, banner=banner)

    def skip(self, what: str, ja: str, en: str) -> None:
        self.untried.append(Untried(what=what, ja=ja, en=en))

    def from_system(self, sid: str, target: str, target_layer: Layer | None, address: str, port: int,
                    expect: Expect, why: Why, **kw: Any) -> None:
        self.add(sid, self.first[sid], self.m.layers[sid], target, target_layer, address, port, expect, why, **kw)


def label(link: LinkPlan) -> str:
    return f"{link.source}->{link.target} {link.protocol}/{link.port}"


def linked_pairs(plan: Plan) -> set[tuple[str, str]]:
    """Ordered pairs the plan connects one way or another (a forbidden link connects nothing)."""
    return {(ln.source, ln.target) for ln in plan.links if ln.path != "forbidden"}


def service_ports(plan: Plan) -> dict[str, int]:
    """The port a refused connection to each system is tried on: one its guest serves (its lowest planned
    inbound TCP port), so a refusal proves a filter, not a missing listener; sshd's 22 when it has none."""
    ports: dict[str, int] = {}
    for ln in plan.links:
        if ln.protocol == "tcp" and ln.path != "forbidden":
            ports[ln.target] = min(ports.get(ln.target, ln.port), ln.port)
    return ports


def _planned(b: _Builder) -> int:
    """Cases for every planned link both of whose systems are migrated; the others are named as untried."""
    tried = 0
    direct = {(ln.source, ln.target, ln.port) for ln in b.m.plan.links if ln.path == "direct"}
    for ln in sorted(b.m.plan.links, key=lambda x: (x.source, x.target, x.protocol, x.port)):
        name = label(ln)
        missing = [s for s in (ln.source, ln.target) if s not in b.first]
        if ln.path == "forbidden":
            continue
        if missing:
            b.skip(name, f"{', '.join(missing)} はまだ移行されていません（ゲストなし）",
                   f"{', '.join(missing)} not migrated yet (no guest)")
            continue
        if ln.protocol != "tcp" or ln.path == "screen":
            b.skip(name, "UDP と画面転送は接続試験の対象外です（画面転送は VDI の検証で確認）",
                   "UDP and screen transfer are not tried here (the VDI suites prove screen transfer)")
            continue
        dst = b.first[ln.target]
        tl = b.m.layers[ln.target]
        if ln.path == "direct":
            b.from_system(ln.source, ln.target, tl, dst.address, ln.port, "allow", "planned_direct", link=name,
                          banner=LISTENER)
            tried += 1
            continue
        med = b.m.mediators.get(ln.path)
        if med is None or med.host is None:
            b.skip(name, f"スタックに {ln.path} のホストがありません", f"the stack has no {ln.path} host")
            continue
        b.from_system(ln.source, ln.path, Layer.shared, med.address, ln.port, "allow", "planned_to_mediator", link=name)
        b.add(ln.path, med.host, Layer.shared, ln.target, tl, dst.address, ln.port, "allow", "planned_from_mediator",
              link=name, banner=LISTENER)
        if (ln.source, ln.target, ln.port) not in direct:
            b.from_system(ln.source, ln.target, tl, dst.address, ln.port, "refuse", "mediated_bypass", link=name)
        tried += 1
    return tried


def _layer_rules(b: _Builder) -> None:
    """My Number, internet-layer and LGWAN sources against the mediators, the proxy and the internet host."""
    m = b.m
    hub_links: dict[str, set[int]] = {}
    for ln in m.plan.links:
        if ln.path == "hub":
            hub_links.setdefault(ln.source, set()).add(ln.port)
    hub, relay = m.mediators.get("hub"), m.mediators.get("relay")
    hub_ports = set(hub.ports) | {p for ports in hub_links.values() for p in ports} if hub else set()
    for sid in sorted(b.first):
        layer = m.layers[sid]
        if layer == Layer.mynumber:
            if hub is not None:
                unlisted = sorted(hub_ports - hub_links.get(sid, set())) or [SSH_PORT]
                b.from_system(sid, "hub", Layer.shared, hub.address, unlisted[0], "refuse", "mynumber_hub_unlisted")
            if relay is not None:
                for port in relay.ports[:1]:
                    b.from_system(sid, "relay", Layer.shared, relay.address, port, "refuse", "mynumber_outside")
            _outward(b, sid, "mynumber_outside")
        elif layer == Layer.internet:
            if m.internet is not None:
                if m.proxy is not None:
                    b.from_system(sid, "internet", None, m.internet.address, m.internet.port, "allow",
                                  "internet_via_proxy", via=m.proxy)
                b.from_system(sid, "internet", None, m.internet.address, m.internet.port, "refuse", "internet_direct")
            elif m.proxy is not None:
                b.from_system(sid, "proxy", None, m.proxy.address, m.proxy.port, "allow", "internet_via_proxy")
        elif layer == Layer.lgwan:
            _outward(b, sid, "lgwan_internet")
    if m.internet is None:
        b.skip("internet", "インターネット役のホストが指定されていません（--internet-host）",
               "no internet host was given (--internet-host)")


def _outward(b: _Builder, sid: str, why: Why) -> None:
    """The proxy and the internet host, both refused from this source."""
    if b.m.proxy is not None:
        b.from_system(sid, "proxy", None, b.m.proxy.address, b.m.proxy.port, "refuse", why)
    if b.m.internet is not None:
        b.from_system(sid, "internet", None, b.m.internet.address, b.m.internet.port, "refuse", why)


def _pick(pairs: Iterable[tuple[str, str]], rng: random.Random, chosen: dict[tuple[str, str], None],
          room: int) -> None:
    """Add a seeded sample of the pairs not yet chosen, as many as room allows."""
    rest = [p for p in pairs if p not in chosen]
    for p in rng.sample(rest, min(len(rest), max(room, 0))):
        chosen[p] = None


def sample_pairs(pairs: list[tuple[str, str]], layers: dict[str, Layer], budget: int,
                 rng: random.Random) -> list[tuple[str, str]]:
    """The unlinked pairs to try: every ordered layer pair and every system (as source and as target) first,
    then My Number sources towards other layers, then a sample; raises if the first two do not fit."""
    chosen: dict[tuple[str, str], None] = {}
    by_layer: dict[tuple[Layer, Layer], list[tuple[str, str]]] = {}
    for p in pairs:
        by_layer.setdefault((layers[p[0]], layers[p[1]]), []).append(p)
    for key in sorted(by_layer):
        _pick(by_layer[key], rng, chosen, 1)
    for end in (0, 1):
        for sid in sorted({p[end] for p in pairs}):
            if not any(c[end] == sid for c in chosen):
                _pick([p for p in pairs if p[end] == sid], rng, chosen, 1)
    if len(chosen) > budget:
        raise MatrixError(t(
            f"上限 {budget} 件では、全ての系の組み合わせと全システムを 1 回ずつ試すのに足りません"
            f"（{len(chosen)} 件必要）。--max-cases を増やしてください。",
            f"a bound leaving {budget} cases cannot try every layer pair and every system once ({len(chosen)} "
            "needed); raise --max-cases."))
    outward = [p for p in pairs if layers[p[0]] == Layer.mynumber and layers[p[1]] != Layer.mynumber]
    _pick(outward, rng, chosen, budget - len(chosen))
    _pick(pairs, rng, chosen, budget - len(chosen))
    return sorted(chosen)


def build_cases(m: MatrixInput, *, seed: int = DEFAULT_SEED, bound: int = DEFAULT_BOUND) -> CaseSet:
    """The cases for the migrated guests, in a stable order; the same inputs and seed give the same cases."""
    if not 1 <= bound <= MAX_BOUND:
        raise MatrixError(t(f"--max-cases は 1〜{MAX_BOUND} で指定してください（値: {bound}）。",
                            f"--max-cases must be 1-{MAX_BOUND} (got {bound})."))
    first = {sid: min(gs) for sid, gs in m.guests.items() if gs}
    b = _Builder(m, first)
    tried = _planned(b)
    _layer_rules(b)
    fixed = len(b.cases)
    if fixed > bound:
        raise MatrixError(t(f"計画された連携と系の規則だけで {fixed} 件あり、上限 {bound} を超えます。"
                            "--max-cases を増やしてください。",
                            f"the planned links and the layer rules alone make {fixed} cases, over the bound "
                            f"{bound}; raise --max-cases."))
    linked = linked_pairs(m.plan)
    migrated = sorted(first)
    pairs = [(a, z) for a in migrated for z in migrated if a != z and (a, z) not in linked]
    chosen = sample_pairs(pairs, m.layers, bound - fixed, random.Random(seed))
    ports = service_ports(m.plan)
    for a, z in chosen:
        why: Why = "mynumber_outside" if m.layers[a] == Layer.mynumber != m.layers[z] else "unlinked_pair"
        b.from_system(a, z, m.layers[z], first[z].address, ports.get(z, SSH_PORT), "refuse", why)
    cases = sorted(b.cases.values(), key=lambda c: (c.source_host, c.target, c.port, c.via is not None, c.id))
    return CaseSet(stack=m.stack, municipality=m.municipality, seed=seed, bound=bound, cases=cases,
                   coverage=_coverage(m, tried, pairs, chosen, b.untried))


def _coverage(m: MatrixInput, tried: int, pairs: list[tuple[str, str]], chosen: list[tuple[str, str]],
              untried: list[Untried]) -> Coverage:
    possible: dict[tuple[Layer, Layer], int] = {}
    hit: dict[tuple[Layer, Layer], int] = {}
    for p in pairs:
        key = (m.layers[p[0]], m.layers[p[1]])
        possible[key] = possible.get(key, 0) + 1
    for p in chosen:
        key = (m.layers[p[0]], m.layers[p[1]])
        hit[key] = hit.get(key, 0) + 1
    return Coverage(
        planned_links=sum(1 for ln in m.plan.links if ln.path != "forbidden"), planned_tried=tried,
        unlinked_tried=len(chosen), unlinked_possible=len(pairs),
        unlinked_by_layer=[PairCoverage(source_layer=k[0], target_layer=k[1], tried=hit.get(k, 0), possible=v)
                           for k, v in sorted(possible.items())],
        untried=untried)
