"""The report's "Time headroom" and "QoR metrics" sections: queries over the trials in scope
(registered as `scope` by report.build_context) and one chart per key metric."""

from __future__ import annotations

from typing import Any

import polars as pl
from markupsafe import Markup

from .qor_charts import diverging_bar_chart
from .store import Store

MAX_ROWS = 500
MAX_METRIC_CHARTS = 4


def _metric_charts(by_class: pl.DataFrame) -> list[Markup]:
    """Median change against the stage baseline per ECO class, for the most reported metrics."""
    if by_class.is_empty():
        return []
    keys = (by_class.group_by("metric").agg(pl.col("trials").sum()).sort(["trials", "metric"], descending=[True, False])
            ["metric"].head(MAX_METRIC_CHARTS).to_list())
    charts = []
    for metric in keys:
        rows = by_class.filter(pl.col("metric") == metric).sort("eco_class")
        unit = rows["unit"][0] or ""
        bars = [(r["eco_class"], float(r["median_improvement"]),
                 f"{r['eco_class']}: median {r['median_improvement']:+g} {unit} over {r['trials']} trial(s); "
                 f"{r['better']} better, {r['worse']} worse")
                for r in rows.iter_rows(named=True)]
        charts.append(diverging_bar_chart(
            bars, title=f"{metric}: median change vs the stage's noop, by ECO class",
            x_label=f"better → ({unit or 'value'}; {'higher' if rows['direction'][0] == 'higher' else 'lower'} is better)"))
    return charts


def time_metrics_context(store: Store) -> dict[str, Any]:
    """Everything the `_time_and_metrics.html` partial shows; `scope` must be registered."""
    by_class = store.frame_file("report_metric_by_eco_class")
    return {
        "near_timeout": store.frame_file("report_time_near", {"limit": MAX_ROWS}).to_dicts(),
        "timeout_keys": store.frame_file("report_time_suggestions", {"limit": MAX_ROWS}).to_dicts(),
        "metric_charts": _metric_charts(by_class),
        "metric_by_class": by_class.to_dicts(),
        "best_worst": store.frame_file("report_metric_best_worst", {"limit": MAX_ROWS}).to_dicts(),
        "regressions": store.frame_file("report_metric_regressions", {"limit": MAX_ROWS}).to_dicts(),
    }
