"""Small inline-SVG charts with axes, labels and legends; readable in print, no scripts, no fetches.

Every text that reaches the SVG is escaped here, so the templates may include the result with
`|safe` (it is markup we generated ourselves).
"""

from __future__ import annotations

import math
from html import escape

from markupsafe import Markup

# Colour-blind-safe palette (Okabe-Ito), also distinct in greyscale print by order of lightness.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000",
           "#999999", "#882255", "#44AA99", "#117733")
FONT = "font-family='system-ui,sans-serif' font-size='11'"


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    exp = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * exp:
            return float(step * exp)
    return float(10 * exp)


def _ticks(vmax: float, n: int = 5) -> list[float]:
    return [vmax * i / n for i in range(n + 1)]


def _fmt(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 10 or v == int(v) else f"{v:.2g}"


def _legend(names: list[str], x: float, y: float) -> str:
    parts = []
    for i, name in enumerate(names):
        yy = y + i * 16
        parts.append(f"<rect x='{x}' y='{yy}' width='10' height='10' fill='{PALETTE[i % len(PALETTE)]}'/>"
                     f"<text x='{x + 14}' y='{yy + 9}' {FONT}>{escape(name)}</text>")
    return "".join(parts)


def stacked_bar_chart(categories: list[str], series: dict[str, list[float]], *, title: str,
                      x_label: str, y_label: str, width: int = 760) -> Markup:
    """Vertical bars, one per category, stacked by series (legend on the right)."""
    left, right, top, bottom = 56, 190, 28, 96
    n = max(len(categories), 1)
    height = 320
    plot_w, plot_h = width - left - right, height - top - bottom
    totals = [sum(vals[i] for vals in series.values()) for i in range(len(categories))]
    vmax = _nice_max(max(totals, default=0))
    bar_w = plot_w / n * 0.7
    out = [f"<svg xmlns='http://www.w3.org/2000/svg' role='img' viewBox='0 0 {width} {height}' "
           f"width='100%' style='max-width:{width}px'><title>{escape(title)}</title>",
           f"<text x='{left}' y='16' {FONT} font-weight='bold'>{escape(title)}</text>"]
    for t in _ticks(vmax):
        y = top + plot_h - plot_h * t / vmax
        out.append(f"<line x1='{left}' x2='{left + plot_w}' y1='{y:.1f}' y2='{y:.1f}' stroke='#ddd'/>"
                   f"<text x='{left - 6}' y='{y + 4:.1f}' text-anchor='end' {FONT}>{_fmt(t)}</text>")
    for i, cat in enumerate(categories):
        x = left + plot_w * i / n + (plot_w / n - bar_w) / 2
        base = 0.0
        for s_i, (name, vals) in enumerate(series.items()):
            v = vals[i]
            if v <= 0:
                continue
            h = plot_h * v / vmax
            y = top + plot_h - plot_h * base / vmax - h
            out.append(f"<rect x='{x:.1f}' y='{y:.1f}' width='{bar_w:.1f}' height='{h:.1f}' "
                       f"fill='{PALETTE[s_i % len(PALETTE)]}'><title>{escape(cat)} / {escape(name)}: {_fmt(v)}"
                       f"</title></rect>")
            base += v
        cx = x + bar_w / 2
        out.append(f"<text transform='translate({cx:.1f},{top + plot_h + 10}) rotate(35)' {FONT}>"
                   f"{escape(cat[:28])}</text>")
    out.append(f"<line x1='{left}' x2='{left}' y1='{top}' y2='{top + plot_h}' stroke='#333'/>"
               f"<line x1='{left}' x2='{left + plot_w}' y1='{top + plot_h}' y2='{top + plot_h}' stroke='#333'/>")
    out.append(f"<text x='{left + plot_w / 2}' y='{height - 4}' text-anchor='middle' {FONT}>{escape(x_label)}</text>")
    out.append(f"<text transform='translate(14,{top + plot_h / 2}) rotate(-90)' text-anchor='middle' {FONT}>"
               f"{escape(y_label)}</text>")
    out.append(_legend(list(series), left + plot_w + 16, top))
    out.append("</svg>")
    return Markup("".join(out))


OOM_RED = "#C62828"  # the same red as out-of-memory kills in the tables (--bad in base.html)


def box_plot(boxes: list[dict[str, object]], points: list[tuple[int, float, bool]], *, title: str,
             y_label: str, width: int = 760) -> Markup:
    """One box per entry (label, p0, p25, p50, p75, p100, limit_min, limit_max, recommended), peaks
    on a shared MiB axis so boxes stay distinct when every limit is the same; the limit is a dashed
    tick across each box, the recommended next limit a green tick; `points` (box index, MiB, oom)
    are jittered over their box, out-of-memory kills in red."""
    left, right, top, bottom = 64, 110, 28, 110
    height = 380
    n = max(len(boxes), 1)
    plot_w, plot_h = width - left - right, height - top - bottom

    def num(v: object) -> float | None:
        return float(v) if isinstance(v, int | float) else None

    values = [v for b in boxes for k in ("p100", "limit_max", "recommended") if (v := num(b.get(k))) is not None]
    values += [mb for _, mb, _ in points]
    vmax = _nice_max(max(values, default=1.0))

    def y(v: float) -> float:
        return top + plot_h - plot_h * v / vmax

    out = [f"<svg xmlns='http://www.w3.org/2000/svg' role='img' class='boxplot' viewBox='0 0 {width} {height}' "
           f"width='100%' style='max-width:{width}px'><title>{escape(title)}</title><g {FONT}>",
           f"<text x='{left}' y='16' font-weight='bold'>{escape(title)}</text>"]
    for t in _ticks(vmax):
        out.append(f"<line x1='{left}' x2='{left + plot_w}' y1='{y(t):.1f}' y2='{y(t):.1f}' stroke='#eee'/>"
                   f"<text x='{left - 6}' y='{y(t) + 4:.1f}' text-anchor='end'>{_fmt(t)}</text>")
    slot = plot_w / n
    bw = min(slot * 0.55, 48.0)
    for i, b in enumerate(boxes):
        cx = left + slot * (i + 0.5)
        label = str(b["label"])
        q = [num(b.get(k)) for k in ("p0", "p25", "p50", "p75", "p100")]
        tip = escape(f"{label}: {b.get('trials')} trial(s); peak min/median/max "
                     + " / ".join(_fmt(v) if v is not None else "?" for v in (q[0], q[2], q[4]))
                     + f" MiB; limit {_fmt(num(b.get('limit_min')) or 0)} MiB")
        out.append(f"<g class='box' data-label='{escape(label)}'><title>{tip}</title>")
        if None not in q:
            p0, p25, p50, p75, p100 = (float(v) for v in q if v is not None)
            out.append(f"<line x1='{cx:.1f}' x2='{cx:.1f}' y1='{y(p100):.1f}' y2='{y(p0):.1f}' stroke='#555'/>"
                       f"<rect x='{cx - bw / 2:.1f}' y='{y(p75):.1f}' width='{bw:.1f}' "
                       f"height='{max(y(p25) - y(p75), 1.5):.1f}' fill='#cfe3f3' stroke='#0072B2'/>"
                       f"<line x1='{cx - bw / 2:.1f}' x2='{cx + bw / 2:.1f}' y1='{y(p50):.1f}' y2='{y(p50):.1f}' "
                       f"stroke='#0072B2' stroke-width='2'/>")
        for key, colour, dash in (("limit_min", "#333", "4 3"), ("limit_max", "#333", "4 3"),
                                  ("recommended", "#009E73", "")):
            v = num(b.get(key))
            if v is None or (key == "limit_max" and v == num(b.get("limit_min"))):
                continue
            out.append(f"<line x1='{cx - slot * 0.45:.1f}' x2='{cx + slot * 0.45:.1f}' y1='{y(v):.1f}' "
                       f"y2='{y(v):.1f}' stroke='{colour}' stroke-width='1.5'"
                       + (f" stroke-dasharray='{dash}'" if dash else "") + "/>")
        out.append("</g>")
        out.append(f"<text transform='translate({cx:.1f},{top + plot_h + 10}) rotate(35)'>"
                   f"{escape(label[:30])}</text>")
    for k, (i, mb, oom) in enumerate(points):
        cx = left + slot * (i + 0.5) + ((k * 7919) % 100 / 100 - 0.5) * bw * 0.9
        out.append(f"<circle cx='{cx:.1f}' cy='{y(mb):.1f}' r='{3.2 if oom else 2.2}' "
                   f"fill='{OOM_RED if oom else '#555'}' fill-opacity='{0.9 if oom else 0.35}'/>")
    out.append(f"<line x1='{left}' x2='{left}' y1='{top}' y2='{top + plot_h}' stroke='#333'/>"
               f"<line x1='{left}' x2='{left + plot_w}' y1='{top + plot_h}' y2='{top + plot_h}' stroke='#333'/>")
    out.append(f"<text transform='translate(14,{top + plot_h / 2}) rotate(-90)' text-anchor='middle'>"
               f"{escape(y_label)}</text>")
    ly = height - 14
    out.append(f"<line x1='{left}' x2='{left + 22}' y1='{ly}' y2='{ly}' stroke='#333' stroke-dasharray='4 3'/>"
               f"<text x='{left + 26}' y='{ly + 4}'>limit</text>"
               f"<line x1='{left + 70}' x2='{left + 92}' y1='{ly}' y2='{ly}' stroke='#009E73' stroke-width='1.5'/>"
               f"<text x='{left + 96}' y='{ly + 4}'>recommended</text>"
               f"<circle cx='{left + 190}' cy='{ly}' r='3.2' fill='{OOM_RED}'/>"
               f"<text x='{left + 197}' y='{ly + 4}'>out-of-memory kill</text>"
               f"<circle cx='{left + 310}' cy='{ly}' r='2.2' fill='#555' fill-opacity='0.5'/>"
               f"<text x='{left + 317}' y='{ly + 4}'>other trial</text>")
    out.append("</g></svg>")
    return Markup("".join(out))


def line_chart(xs: list[float], ys: list[float], *, limit: float | None, title: str, x_label: str,
               y_label: str, width: int = 520, height: int = 180) -> Markup:
    """A small line (memory over time) with the limit drawn as a red dashed line."""
    left, right, top, bottom = 56, 12, 22, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    xmax = max(max(xs, default=0.0), 1e-9)
    vmax = _nice_max(max([*ys, limit or 0.0], default=1.0))

    def px(x: float) -> float:
        return left + plot_w * x / xmax

    def py(v: float) -> float:
        return top + plot_h - plot_h * v / vmax

    out = [f"<svg xmlns='http://www.w3.org/2000/svg' role='img' class='memline' viewBox='0 0 {width} {height}' "
           f"width='100%' style='max-width:{width}px'><title>{escape(title)}</title><g {FONT}>",
           f"<text x='{left}' y='14' font-weight='bold'>{escape(title)}</text>"]
    for t in _ticks(vmax, 4):
        out.append(f"<line x1='{left}' x2='{left + plot_w}' y1='{py(t):.1f}' y2='{py(t):.1f}' stroke='#eee'/>"
                   f"<text x='{left - 6}' y='{py(t) + 4:.1f}' text-anchor='end'>{_fmt(t)}</text>")
    if limit:
        out.append(f"<line x1='{left}' x2='{left + plot_w}' y1='{py(limit):.1f}' y2='{py(limit):.1f}' "
                   f"stroke='{OOM_RED}' stroke-dasharray='5 3'/><text x='{left + plot_w - 4}' y='{py(limit) - 4:.1f}' "
                   f"text-anchor='end' fill='{OOM_RED}'>limit {_fmt(limit)}</text>")
    pts = " ".join(f"{px(x):.1f},{py(v):.1f}" for x, v in zip(xs, ys))
    if len(xs) == 1:
        out.append(f"<circle cx='{px(xs[0]):.1f}' cy='{py(ys[0]):.1f}' r='3' fill='#0072B2'/>")
    out.append(f"<polyline points='{pts}' fill='none' stroke='#0072B2' stroke-width='1.5'/>")
    out.append(f"<line x1='{left}' x2='{left}' y1='{top}' y2='{top + plot_h}' stroke='#333'/>"
               f"<line x1='{left}' x2='{left + plot_w}' y1='{top + plot_h}' y2='{top + plot_h}' stroke='#333'/>"
               f"<text x='{left}' y='{top + plot_h + 14}'>0</text>"
               f"<text x='{left + plot_w}' y='{top + plot_h + 14}' text-anchor='end'>{_fmt(xmax)}</text>"
               f"<text x='{left + plot_w / 2}' y='{height - 4}' text-anchor='middle'>{escape(x_label)}</text>"
               f"<text transform='translate(12,{top + plot_h / 2}) rotate(-90)' text-anchor='middle'>"
               f"{escape(y_label)}</text>")
    out.append("</g></svg>")
    return Markup("".join(out))


def timeline_chart(bars: list[tuple[int, float, float, str, str]], lanes: list[str], *, title: str,
                   x_label: str, groups: list[str], width: int = 760) -> Markup:
    """One thin bar per trial (lane index, start h, end h, group, tooltip) on lanes (stages)."""
    left, right, top, bottom, lane_h = 64, 16, 28, 44, 22
    height = top + bottom + lane_h * max(len(lanes), 1)
    plot_w = width - left - right
    xmax = _nice_max(max((b[2] for b in bars), default=1.0))
    colours = {"out of memory": OOM_RED, "other failure": "#E69F00", "success": "#0072B2"}
    out = [f"<svg xmlns='http://www.w3.org/2000/svg' role='img' class='timeline' viewBox='0 0 {width} {height}' "
           f"width='100%' style='max-width:{width}px'><title>{escape(title)}</title><g {FONT}>",
           f"<text x='{left}' y='16' font-weight='bold'>{escape(title)}</text>"]
    for t in _ticks(xmax, 4):
        x = left + plot_w * t / xmax
        out.append(f"<line x1='{x:.1f}' x2='{x:.1f}' y1='{top}' y2='{height - bottom}' stroke='#eee'/>"
                   f"<text x='{x:.1f}' y='{height - bottom + 14}' text-anchor='middle'>{_fmt(t)}</text>")
    for i, lane in enumerate(lanes):
        out.append(f"<text x='{left - 6}' y='{top + lane_h * i + lane_h / 2 + 4:.1f}' text-anchor='end'>"
                   f"{escape(lane)}</text>")
    for lane_i, start, end, group, tip in bars:
        x0 = left + plot_w * start / xmax
        w = max(plot_w * (end - start) / xmax, 1.0)
        out.append(f"<rect x='{x0:.1f}' y='{top + lane_h * lane_i + 3}' width='{w:.1f}' height='{lane_h - 6}' "
                   f"fill='{colours.get(group, '#999')}' fill-opacity='0.55'><title>{escape(tip)}</title></rect>")
    out.append(f"<text x='{left + plot_w}' y='{height - 5}' text-anchor='end'>{escape(x_label)}</text>")
    lx = left
    for g in groups:
        out.append(f"<rect x='{lx}' y='{height - 14}' width='10' height='10' fill='{colours.get(g, '#999')}'/>"
                   f"<text x='{lx + 14}' y='{height - 5}'>{escape(g)}</text>")
        lx += 24 + 7 * len(g)
    out.append("</g></svg>")
    return Markup("".join(out))
