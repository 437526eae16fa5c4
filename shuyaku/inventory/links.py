"""Cross-layer links named where the user can see them: which path each must take, and which are forbidden.

`validate`, `assess` and `plan` all print these, so a My Number system linked straight to an internet
system is never a silent "禁止 1" or a link the plan drops without a word. `--strict` turns them into
exit 1 for CI.
"""

from __future__ import annotations

from shuyaku.contracts.inventory import Inventory
from shuyaku.contracts.problems import Problem, Text
from shuyaku.contracts.separation import describe, link_path
from shuyaku.contracts.source import Source
from shuyaku.contracts.vocabulary import LAYER_NAMES, Layer

PATH_ORDER = ["forbidden", "hub", "relay", "screen", "direct"]  # most restrictive first
_RANK = {p: len(PATH_ORDER) - i for i, p in enumerate(PATH_ORDER)}


def classify_link(source_layer: str, target_layer: str, direction: str, port: int) -> str:
    """The path a link must take. `direction` says who opens connections; a link carried both ways
    must satisfy both directions, so the stricter path wins."""
    flows: list[tuple[str, str]] = []
    if direction in ("outbound", "both"):
        flows.append((source_layer, target_layer))
    if direction in ("inbound", "both"):
        flows.append((target_layer, source_layer))
    paths = [link_path(a, b, port) for a, b in flows]
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
            kind = classify_link(s.layer.value, target.layer.value, link.direction.value, link.port)
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
    line, col = src.where(loc) if src is not None else (0, 0)
    field = f"systems[{loc[1]}].links[{loc[3]}]"
    return Problem(path, line, col, field, message, fix, code, severity)  # type: ignore[arg-type]
