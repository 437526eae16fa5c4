"""Cross-layer links named where the user can see them: which path each must take, and which are forbidden.

`validate`, `assess` and `plan` all print these, so a My Number system linked straight to an internet
system is never a silent "禁止 1" or a link the plan drops without a word. `--strict` turns them into
exit 1 for CI.
"""

from __future__ import annotations

from shuyaku.contracts.inventory import Inventory, LinkKind
from shuyaku.contracts.problems import Problem, Text
from shuyaku.contracts.separation import describe, link_path
from shuyaku.contracts.source import Source, dotted
from shuyaku.contracts.vocabulary import LAYER_NAMES, LAYERS, Layer

PATH_ORDER = ["forbidden", "hub", "relay", "screen", "direct"]  # most restrictive first
_RANK = {p: len(PATH_ORDER) - i for i, p in enumerate(PATH_ORDER)}


def classify_link(source_layer: str, target_layer: str, direction: str, port: int,
                  kind: LinkKind | str | None = None) -> str:
    """The path a link must take. `direction` says who opens connections; a link carried both ways
    must satisfy both directions, so the stricter path wins."""
    flows: list[tuple[str, str]] = []
    if direction in ("outbound", "both"):
        flows.append((source_layer, target_layer))
    if direction in ("inbound", "both"):
        flows.append((target_layer, source_layer))
    paths = [link_path(a, b, port, str(kind) if kind is not None else None) for a, b in flows]
    return max(paths, key=lambda p: _RANK[p])


def cross_layer(inv: Inventory, src: Source | None, path: str) -> list[Problem]:
    """One finding per link between two layers: `link.forbidden` (a warning that --strict fails on) or
    `link.mediated` (a note naming the mediating service the platform will put in between)."""
    by_id = {s.id: s for s in inv.systems}
    found: list[Problem] = []
    for i, s in enumerate(inv.systems):
        for j, link in enumerate(s.links):
            target = by_id.get(link.target)
            if target is None or s.layer == target.layer:
                continue
            kind = classify_link(s.layer.value, target.layer.value, link.direction.value, link.port, link.kind)
            if kind == "direct":
                continue
            found.append(_finding(src, path, ("systems", i, "links", j), s.id, target.id, s.layer, target.layer,
                                  f"{link.protocol.value}/{link.port}", kind))
    return found


def _finding(src: Source | None, path: str, loc: tuple[str | int, ...], a: str, b: str, la: Layer, lb: Layer,
             port: str, kind: str) -> Problem:
    head = f"{a} → {b} {port}"
    ja_a, en_a = LAYER_NAMES[la]
    ja_b, en_b = LAYER_NAMES[lb]
    how_ja, how_en = describe(kind)  # type: ignore[arg-type]
    if kind == "forbidden":
        message = Text(f"{head}: {ja_a}と{ja_b}は接続できません", f"{head}: the {en_a} and the {en_b} never connect")
        fix = Text("この連携をやめるか、データをLGWAN接続系の連携基盤経由で受け渡す業務手順に改めてください",
                   "drop the link, or hand the data over through the LGWAN layer's integration hub")
        code, severity = "link.forbidden", "warning"
    else:
        message = Text(f"{head}: {ja_a}から{ja_b}へは{how_ja}", f"{head}: {en_a} to {en_b} goes {how_en}")
        fix = Text("集約後はこの経路を通ります（台帳の修正は不要）", "after consolidation it takes this path (no change needed)")
        code, severity = "link.mediated", "info"
    return _at(src, path, loc, message, fix, code, severity)


def screen_without_terminals(inv: Inventory, src: Source | None, path: str) -> list[Problem]:
    """A screen-transfer link needs someone to look at the screen: the VDI that carries it is sized from the
    LGWAN terminals, so with none listed the platform would get a screen path and no VDI host to take it."""
    if any(term.layer == Layer.lgwan and term.count > 0 for term in inv.terminals):
        return []
    layer = {s.id: s.layer.value for s in inv.systems}
    found: list[Problem] = []
    for i, s in enumerate(inv.systems):
        for j, link in enumerate(s.links):
            if link.target not in layer:
                continue
            if classify_link(s.layer.value, layer[link.target], link.direction.value, link.port, link.kind) != "screen":
                continue
            how = "kind: screen" if link.kind else f"{link.protocol.value}/{link.port}"
            found.append(_at(src, path, ("systems", i, "links", j), Text(
                f"{s.id} → {link.target} は画面転送（{how}）ですが、LGWAN接続系の端末が台帳にありません（VDIを用意できません）",
                f"{s.id} → {link.target} is screen transfer ({how}) but the inventory lists no LGWAN terminals "
                "(no VDI can be sized for it)"), Text(
                "ファイルの受け渡しなら kind: file（無害化中継）を書くか、terminals に LGWAN接続系の端末を追加してください",
                "if the link carries files, declare kind: file (sanitising relay); otherwise list the LGWAN terminals "
                "under terminals"), "link.screen_without_terminals"))
    return found


# What each mediating service may stand between; anything else in the shared zone serves one layer at most.
MEDIATED_LAYERS: dict[str, frozenset[str]] = {"hub": frozenset({"mynumber", "lgwan"}),
                                              "relay": frozenset({"lgwan", "internet"})}


def shared_bridges(inv: Inventory, src: Source | None, path: str) -> list[Problem]:
    """The shared (management) zone must not become a bridge: a business system there that links straight
    into two business layers joins them. Only a declared mediator (`mediates: hub|relay`) may stand between
    layers, and only between the two its path allows."""
    peers: dict[str, set[str]] = {s.id: set() for s in inv.systems if s.layer == Layer.shared}
    layer = {s.id: s.layer.value for s in inv.systems}
    for s in inv.systems:
        for link in s.links:
            if s.id in peers and layer.get(link.target, "shared") != "shared":
                peers[s.id].add(layer[link.target])
            if link.target in peers and s.layer != Layer.shared:
                peers[link.target].add(s.layer.value)
    found: list[Problem] = []
    for i, s in enumerate(inv.systems):
        if s.layer != Layer.shared:
            if s.mediates is not None:
                found.append(_at(src, path, ("systems", i, "mediates"), Text(
                    "仲介サービス（mediates）は共通基盤（shared）のシステムにだけ書けます",
                    "only a shared-zone system can be a mediator (mediates)"), Text(
                    "mediates を削除するか、layer を shared にしてください", "remove mediates, or set layer: shared"),
                    "inventory.mediator_not_shared"))
            continue
        allowed = MEDIATED_LAYERS.get(s.mediates or "", frozenset())
        reach = [x for x in LAYERS if x in peers[s.id]]
        if len(reach) >= 2 and not set(reach) <= allowed:
            names_ja = "と".join(LAYER_NAMES[Layer(x)][0] for x in reach)
            names_en = " and ".join(LAYER_NAMES[Layer(x)][1] for x in reach)
            found.append(_at(src, path, ("systems", i, "links"), Text(
                f"{s.id} は共通基盤から {names_ja} を直接つなぎ、系の分離を迂回します",
                f"{s.id} links the {names_en} straight through the shared zone, bypassing the separation"), Text(
                "連携をデータ連携基盤（mediates: hub）か無害化中継（mediates: relay）経由にするか、"
                "システムを系ごとに分けて配置してください",
                "route the links through the hub (mediates: hub) or the relay (mediates: relay), or place the "
                "system once per layer"), "link.shared_bridge"))
    return found


def _at(src: Source | None, path: str, loc: tuple[str | int, ...], message: Text, fix: Text, code: str,
        severity: str = "error") -> Problem:
    """A finding at its place in the inventory (the adapter's positions when the file was read)."""
    line, col = src.where(loc) if src is not None else (0, 0)
    return Problem(path, line, col, dotted(loc), message, fix, code, severity)  # type: ignore[arg-type]
