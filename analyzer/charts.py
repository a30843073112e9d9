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
            return step * exp
    return 10 * exp


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


def scatter_chart(points: list[tuple[float, float, str]], *, title: str, x_label: str, y_label: str,
                  groups: list[str], guides: list[tuple[float, str]] = (), width: int = 760) -> Markup:
    """Points (x, y, group) with y = k*x guide lines (e.g. the limit and 95 % of it)."""
    left, right, top, bottom = 64, 190, 28, 48
    height = 380
    plot_w, plot_h = width - left - right, height - top - bottom
    vmax = _nice_max(max([max(x, y) for x, y, _ in points], default=1))
    out = [f"<svg xmlns='http://www.w3.org/2000/svg' role='img' viewBox='0 0 {width} {height}' "
           f"width='100%' style='max-width:{width}px'><title>{escape(title)}</title>",
           f"<text x='{left}' y='16' {FONT} font-weight='bold'>{escape(title)}</text>"]
    for t in _ticks(vmax):
        y = top + plot_h - plot_h * t / vmax
        x = left + plot_w * t / vmax
        out.append(f"<line x1='{left}' x2='{left + plot_w}' y1='{y:.1f}' y2='{y:.1f}' stroke='#eee'/>"
                   f"<text x='{left - 6}' y='{y + 4:.1f}' text-anchor='end' {FONT}>{_fmt(t)}</text>"
                   f"<text x='{x:.1f}' y='{top + plot_h + 14}' text-anchor='middle' {FONT}>{_fmt(t)}</text>")
    for k, label in guides:
        x2 = left + plot_w * min(1.0, 1 / k)
        y2 = top + plot_h - plot_h * min(1.0, k)
        out.append(f"<line x1='{left}' y1='{top + plot_h}' x2='{x2:.1f}' y2='{y2:.1f}' stroke='#888' "
                   f"stroke-dasharray='4 3'/><text x='{x2 + 4:.1f}' y='{y2 + 10:.1f}' {FONT} fill='#555'>"
                   f"{escape(label)}</text>")
    for x, y, group in points:
        colour = PALETTE[groups.index(group) % len(PALETTE)] if group in groups else "#999"
        cx, cy = left + plot_w * x / vmax, top + plot_h - plot_h * y / vmax
        out.append(f"<circle cx='{cx:.1f}' cy='{cy:.1f}' r='3' fill='{colour}' fill-opacity='0.75'/>")
    out.append(f"<line x1='{left}' x2='{left}' y1='{top}' y2='{top + plot_h}' stroke='#333'/>"
               f"<line x1='{left}' x2='{left + plot_w}' y1='{top + plot_h}' y2='{top + plot_h}' stroke='#333'/>")
    out.append(f"<text x='{left + plot_w / 2}' y='{height - 6}' text-anchor='middle' {FONT}>{escape(x_label)}</text>")
    out.append(f"<text transform='translate(14,{top + plot_h / 2}) rotate(-90)' text-anchor='middle' {FONT}>"
               f"{escape(y_label)}</text>")
    out.append(_legend(groups, left + plot_w + 16, top))
    out.append("</svg>")
    return Markup("".join(out))
