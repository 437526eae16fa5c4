"""Charts as inline SVG, drawn in Python so a report needs no script and no network.

Every chart carries a <title> and <desc> (its text alternative); the report prints the same numbers in a
table beside it. Colours come from the Okabe-Ito palette (distinguishable with colour-vision deficiency),
and every series is also named in a legend, so colour is never the only cue.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#999999"]
FONT = 12
Fmt = Callable[[float], str]


@dataclass
class Series:
    name: str
    values: Sequence[float]
    color: str


@dataclass
class Ref:
    """A reference line: a goal or a benchmark drawn across the chart."""

    value: float
    label: str
    color: str = "#444"


def text_width(s: str, size: float = FONT) -> float:
    # CJK glyphs are square; Latin glyphs are roughly 0.6 em in the sans fonts a browser picks.
    return sum(size if ord(c) > 0x2E7F else size * 0.6 for c in s)


def nice_max(v: float, integer: bool = False) -> tuple[float, float]:
    """An axis maximum and tick step that read well (1, 2, 2.5, 5 x 10^k), about 4-5 ticks.
    `integer` keeps steps whole for counts (no 2.5 servers)."""
    if v <= 0:
        return (4.0, 1.0) if integer else (1.0, 0.25)
    raw = v / 4
    mag = 10 ** math.floor(math.log10(raw))
    steps = (1, 2, 5, 10) if integer and mag < 10 else (1, 2, 2.5, 5, 10)
    step = next(m * mag for m in steps if m * mag >= raw)
    if integer:
        step = max(1.0, round(step))
    return step * math.ceil(v / step - 1e-9), step


def _t(x: float, y: float, s: str, anchor: str = "start", size: float = FONT, weight: str = "normal",
       fill: str = "#222", extra: str = "") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" font-weight="{weight}" '
            f'fill="{fill}"{extra}>{escape(s)}</text>')


def _svg(cid: str, width: float, height: float, title: str, desc: str, body: list[str]) -> Markup:
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{escape(cid)}" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'width="{width:.0f}" height="{height:.0f}" role="img" aria-labelledby="{escape(cid)}-t {escape(cid)}-d" '
        f'font-family="inherit">'
        f'<title id="{escape(cid)}-t">{escape(title)}</title><desc id="{escape(cid)}-d">{escape(desc)}</desc>'
        + "".join(body) + "</svg>"
    )


def _legend(series: Sequence[Series | Ref], x: float, y: float, width: float) -> tuple[list[str], float]:
    out: list[str] = []
    cx, cy = x, y
    for s in series:
        w = 18 + text_width(s.name if isinstance(s, Series) else s.label) + 16
        if cx + w > x + width and cx > x:
            cx, cy = x, cy + 18
        if isinstance(s, Series):
            out.append(f'<rect x="{cx:.1f}" y="{cy - 10:.1f}" width="12" height="12" fill="{s.color}"/>')
            out.append(_t(cx + 16, cy, s.name))
        else:
            out.append(f'<line x1="{cx:.1f}" y1="{cy - 4:.1f}" x2="{cx + 12:.1f}" y2="{cy - 4:.1f}" stroke="{s.color}" '
                       f'stroke-width="2" stroke-dasharray="4 2"/>')
            out.append(_t(cx + 16, cy, s.label))
        cx += w
    return out, cy + 10


def bars(cid: str, title: str, desc: str, categories: Sequence[str], series: Sequence[Series], fmt: Fmt,
         refs: Sequence[Ref] = (), width: float = 420, height: float = 280, ymax: float | None = None,
         value_labels: bool = True, integer: bool = False) -> Markup:
    """Vertical grouped bars, one group per category, optional dashed reference lines."""
    body: list[str] = []
    legend, top = _legend([*series, *refs], 10, 18, width - 20)
    body += legend
    top += 14
    left, right, bottom = 70.0, 10.0, 40.0
    plot_h = height - top - bottom
    plot_w = width - left - right
    peak = max([v for s in series for v in s.values] + [r.value for r in refs] + [0.0])
    axis_max, step = nice_max(ymax if ymax is not None else peak * 1.08, integer)

    def y(v: float) -> float:
        return top + plot_h - (v / axis_max) * plot_h if axis_max else top + plot_h

    ticks = round(axis_max / step)
    for i in range(ticks + 1):
        v = i * step
        body.append(f'<line x1="{left}" y1="{y(v):.1f}" x2="{width - right}" y2="{y(v):.1f}" stroke="#ddd"/>')
        body.append(_t(left - 6, y(v) + 4, fmt(v), "end", size=11, fill="#555"))
    n = max(len(categories), 1)
    group_w = plot_w / n
    bar_w = min(48.0, group_w * 0.8 / max(len(series), 1))
    for ci, cat in enumerate(categories):
        gx = left + ci * group_w + (group_w - bar_w * len(series)) / 2
        for si, s in enumerate(series):
            v = s.values[ci]
            bx = gx + si * bar_w
            body.append(f'<rect x="{bx:.1f}" y="{y(v):.1f}" width="{bar_w - 2:.1f}" height="{max(y(0) - y(v), 0):.1f}" '
                        f'fill="{s.color}"><title>{escape(f"{cat} {s.name}: {fmt(v)}")}</title></rect>')
            if value_labels and bar_w >= 22:
                body.append(_t(bx + (bar_w - 2) / 2, y(v) - 4, fmt(v), "middle", size=10))
        label = cat
        while text_width(label, 11) > group_w - 4 and len(label) > 2:
            label = label[:-2] + "…"
        body.append(_t(left + ci * group_w + group_w / 2, height - bottom + 16, label, "middle", size=11))
    for r in refs:
        body.append(f'<line x1="{left}" y1="{y(r.value):.1f}" x2="{width - right}" y2="{y(r.value):.1f}" '
                    f'stroke="{r.color}" stroke-width="2" stroke-dasharray="6 3"/>')
    body.append(f'<line x1="{left}" y1="{y(0):.1f}" x2="{width - right}" y2="{y(0):.1f}" stroke="#333"/>')
    return _svg(cid, width, height, title, desc, body)


def hbars(cid: str, title: str, desc: str, labels: Sequence[str], series: Sequence[Series], fmt: Fmt,
          stacked: bool = True, refs: Sequence[Ref] = (), xmax: float | None = None, width: float = 420,
          row_h: float = 26, total_fmt: Fmt | None = None, integer: bool = False) -> Markup:
    """Horizontal bars, stacked (parts of a whole, e.g. the five cost lines) or grouped."""
    body: list[str] = []
    legend, top = _legend([*series, *refs] if len(series) > 1 or refs else [], 10, 18, width - 20)
    body += legend
    top = top + 8 if legend else 10
    left = min(max((text_width(lb, 12) for lb in labels), default=40) + 16, width * 0.4)
    right = 90.0
    per_row = row_h if stacked else row_h * max(len(series), 1) * 0.75 + 8
    height = top + per_row * len(labels) + 30
    plot_w = width - left - right
    totals = [sum(s.values[i] for s in series) if stacked else max(s.values[i] for s in series)
              for i in range(len(labels))]
    axis_max, step = nice_max(xmax if xmax is not None else max(totals + [r.value for r in refs] + [0.0]), integer)

    def x(v: float) -> float:
        return left + (v / axis_max) * plot_w if axis_max else left

    ticks = round(axis_max / step)
    axis_y = top + per_row * len(labels)
    for i in range(ticks + 1):
        v = i * step
        body.append(f'<line x1="{x(v):.1f}" y1="{top - 4}" x2="{x(v):.1f}" y2="{axis_y:.1f}" stroke="#ddd"/>')
        body.append(_t(x(v), axis_y + 16, fmt(v), "middle", size=10, fill="#555"))
    for i, lb in enumerate(labels):
        ry = top + i * per_row
        label = lb
        while text_width(label, 12) > left - 12 and len(label) > 2:
            label = label[:-2] + "…"
        body.append(_t(left - 8, ry + per_row / 2 + 4, label, "end"))
        if stacked:
            acc = 0.0
            for s in series:
                v = s.values[i]
                if v > 0:
                    body.append(f'<rect x="{x(acc):.1f}" y="{ry + 4:.1f}" width="{x(acc + v) - x(acc):.1f}" '
                                f'height="{row_h - 8:.1f}" fill="{s.color}"><title>{escape(f"{lb} {s.name}: {fmt(v)}")}'
                                f"</title></rect>")
                acc += v
            body.append(_t(x(acc) + 4, ry + per_row / 2 + 4, (total_fmt or fmt)(acc), size=11))
        else:
            bh = (per_row - 8) / max(len(series), 1)
            for si, s in enumerate(series):
                v = s.values[i]
                by = ry + 4 + si * bh
                body.append(f'<rect x="{left:.1f}" y="{by:.1f}" width="{x(v) - left:.1f}" height="{bh - 2:.1f}" '
                            f'fill="{s.color}"><title>{escape(f"{lb} {s.name}: {fmt(v)}")}</title></rect>')
                body.append(_t(x(v) + 4, by + bh / 2 + 3, fmt(v), size=10))
    for r in refs:
        body.append(f'<line x1="{x(r.value):.1f}" y1="{top - 6}" x2="{x(r.value):.1f}" y2="{axis_y:.1f}" '
                    f'stroke="{r.color}" stroke-width="2" stroke-dasharray="6 3"/>')
    body.append(f'<line x1="{left}" y1="{top - 4}" x2="{left}" y2="{axis_y:.1f}" stroke="#333"/>')
    return _svg(cid, width, height, title, desc, body)


def lines(cid: str, title: str, desc: str, xlabels: Sequence[str], series: Sequence[Series], fmt: Fmt,
          marker: tuple[int, str] | None = None, width: float = 420, height: float = 280) -> Markup:
    """Lines over years (e.g. cumulative cost); `marker` is (index, label) for an event like break-even."""
    body: list[str] = []
    legend, top = _legend(series, 10, 18, width - 20)
    body += legend
    top += 14
    left, right, bottom = 80.0, 20.0, 36.0
    plot_h, plot_w = height - top - bottom, width - left - right
    axis_max, step = nice_max(max([v for s in series for v in s.values] + [0.0]) * 1.05)
    n = max(len(xlabels), 2)

    def x(i: int) -> float:
        return left + plot_w * i / (n - 1)

    def y(v: float) -> float:
        return top + plot_h - (v / axis_max) * plot_h

    for i in range(round(axis_max / step) + 1):
        v = i * step
        body.append(f'<line x1="{left}" y1="{y(v):.1f}" x2="{width - right}" y2="{y(v):.1f}" stroke="#ddd"/>')
        body.append(_t(left - 6, y(v) + 4, fmt(v), "end", size=11, fill="#555"))
    for i, lb in enumerate(xlabels):
        body.append(_t(x(i), height - bottom + 16, lb, "middle", size=11))
    if marker is not None:
        mi, mlabel = marker
        body.append(f'<line x1="{x(mi):.1f}" y1="{top}" x2="{x(mi):.1f}" y2="{top + plot_h}" stroke="#D55E00" '
                    f'stroke-width="2" stroke-dasharray="6 3"/>')
        body.append(_t(x(mi) + 4, top + 12, mlabel, size=11, fill="#D55E00", weight="bold"))
    for si, s in enumerate(series):
        pts = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(s.values))
        dash = ' stroke-dasharray="8 4"' if si % 2 else ""
        body.append(f'<polyline points="{pts}" fill="none" stroke="{s.color}" stroke-width="2.5"{dash}/>')
        shape = "rect" if si % 2 else "circle"
        for i, v in enumerate(s.values):
            tip = f"<title>{escape(f'{xlabels[i]} {s.name}: {fmt(v)}')}</title>"
            if shape == "circle":
                body.append(f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="4" fill="{s.color}">{tip}</circle>')
            else:
                body.append(f'<rect x="{x(i) - 4:.1f}" y="{y(v) - 4:.1f}" width="8" height="8" fill="{s.color}">{tip}</rect>')
    body.append(f'<line x1="{left}" y1="{y(0):.1f}" x2="{width - right}" y2="{y(0):.1f}" stroke="#333"/>')
    return _svg(cid, width, height, title, desc, body)


def gauge(cid: str, title: str, desc: str, value: float, value_label: str, refs: Sequence[Ref],
          color: str = "#0072B2", width: float = 660, vmax: float = 100.0) -> Markup:
    """One value on a 0..vmax scale with goal markers (e.g. cost ratio vs the 50% goal)."""
    body: list[str] = []
    left, right, top = 20.0, 20.0, 30.0
    plot_w = width - left - right
    height = top + 34 + 18 * len(refs) + 26

    def x(v: float) -> float:
        return left + plot_w * min(max(v, 0.0), vmax) / vmax

    body.append(f'<rect x="{left}" y="{top}" width="{plot_w}" height="26" fill="#eee"/>')
    body.append(f'<rect x="{left}" y="{top}" width="{x(value) - left:.1f}" height="26" fill="{color}"/>')
    body.append(_t(x(value) + 6 if value < vmax * 0.8 else x(value) - 6, top - 8, value_label,
                   "start" if value < vmax * 0.8 else "end", size=13, weight="bold"))
    for tick in range(0, int(vmax) + 1, int(vmax // 5) or 1):
        body.append(_t(x(tick), top + 40, f"{tick}%", "middle", size=10, fill="#555"))
    for i, r in enumerate(refs):
        body.append(f'<line x1="{x(r.value):.1f}" y1="{top - 4}" x2="{x(r.value):.1f}" y2="{top + 30}" stroke="{r.color}" '
                    f'stroke-width="2.5" stroke-dasharray="5 2"/>')
        ly = top + 58 + 18 * i
        body.append(f'<line x1="{x(r.value):.1f}" y1="{top + 30}" x2="{x(r.value):.1f}" y2="{ly - 4}" stroke="{r.color}"/>')
        anchor = "start" if x(r.value) < width * 0.6 else "end"
        body.append(_t(x(r.value) + (4 if anchor == "start" else -4), ly, r.label, anchor, size=11, fill=r.color))
    return _svg(cid, width, height, title, desc, body)


def timeline(cid: str, title: str, desc: str, rows: Sequence[tuple[str, int, str]], slot_label: Callable[[int], str],
             width: float = 660, row_h: float = 28) -> Markup:
    """Migration waves as a staircase: row i occupies slot i. rows: (label, slot 1-based, text inside the bar)."""
    body: list[str] = []
    left = min(max((text_width(r[0]) for r in rows), default=40) + 16, width * 0.3)
    right, top = 10.0, 26.0
    slots = max((r[1] for r in rows), default=1)
    plot_w = width - left - right
    slot_w = plot_w / slots
    height = top + row_h * len(rows) + 10
    for s in range(slots):
        body.append(_t(left + slot_w * (s + 0.5), top - 10, slot_label(s + 1), "middle", size=11, fill="#555"))
        body.append(f'<line x1="{left + slot_w * s:.1f}" y1="{top - 4}" x2="{left + slot_w * s:.1f}" '
                    f'y2="{top + row_h * len(rows):.1f}" stroke="#ddd"/>')
    for i, (label, slot, inner) in enumerate(rows):
        ry = top + i * row_h
        body.append(_t(left - 8, ry + row_h / 2 + 4, label, "end"))
        color = PALETTE[(slot - 1) % len(PALETTE)]
        bx = left + slot_w * (slot - 1) + 2
        body.append(f'<rect x="{bx:.1f}" y="{ry + 3:.1f}" width="{slot_w - 4:.1f}" height="{row_h - 6:.1f}" rx="3" '
                    f'fill="{color}"><title>{escape(f"{label}: {inner}")}</title></rect>')
        fill = "#000" if color in ("#F0E442", "#E69F00", "#56B4E9") else "#fff"
        shown = inner
        while text_width(shown, 11) > slot_w - 10 and len(shown) > 2:
            shown = shown[:-2] + "…"
        body.append(_t(bx + (slot_w - 4) / 2, ry + row_h / 2 + 4, shown, "middle", size=11, fill=fill))
    return _svg(cid, width, height, title, desc, body)
