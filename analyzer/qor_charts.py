"""A small inline-SVG diverging bar chart (better to the right, worse to the left of zero) for
metric changes against a baseline. Every text is escaped here, like charts.py."""

from __future__ import annotations

from html import escape

from markupsafe import Markup

from .charts import FONT, _fmt, _nice_max

BETTER, WORSE = "#009E73", "#D55E00"  # Okabe-Ito green / vermillion


def diverging_bar_chart(rows: list[tuple[str, float, str]], *, title: str, x_label: str, width: int = 560) -> Markup:
    """One horizontal bar per (label, value, tooltip); value > 0 is better, drawn right of zero."""
    left, right, top, bottom, bar_h = 150, 24, 28, 40, 18
    height = top + bottom + bar_h * max(len(rows), 1) * 1.4
    plot_w = width - left - right
    vmax = _nice_max(max((abs(v) for _, v, _ in rows), default=0))
    zero = left + plot_w / 2

    def x(v: float) -> float:
        return zero + plot_w / 2 * v / vmax

    out = [f"<svg xmlns='http://www.w3.org/2000/svg' role='img' viewBox='0 0 {width} {height:.0f}' "
           f"width='100%' style='max-width:{width}px'><title>{escape(title)}</title>",
           f"<text x='8' y='16' {FONT} font-weight='bold'>{escape(title)}</text>"]
    for t in (-vmax, -vmax / 2, 0.0, vmax / 2, vmax):
        out.append(f"<line x1='{x(t):.1f}' x2='{x(t):.1f}' y1='{top}' y2='{height - bottom:.1f}' "
                   f"stroke='{'#333' if t == 0 else '#eee'}'/>"
                   f"<text x='{x(t):.1f}' y='{height - bottom + 14:.1f}' text-anchor='middle' {FONT}>{_fmt(t)}</text>")
    for i, (label, value, tip) in enumerate(rows):
        y = top + i * bar_h * 1.4 + bar_h * 0.2
        x0, x1 = sorted((zero, x(value)))
        colour = BETTER if value >= 0 else WORSE
        out.append(f"<text x='{left - 6}' y='{y + bar_h * 0.7:.1f}' text-anchor='end' {FONT}>{escape(label[:24])}</text>"
                   f"<rect x='{x0:.1f}' y='{y:.1f}' width='{max(x1 - x0, 1):.1f}' height='{bar_h}' fill='{colour}'>"
                   f"<title>{escape(tip)}</title></rect>")
    out.append(f"<text x='{zero:.1f}' y='{height - 6:.1f}' text-anchor='middle' {FONT}>{escape(x_label)}</text>")
    out.append("</svg>")
    return Markup("".join(out))
