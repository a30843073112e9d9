"""store -> a typed report context -> templates -> one self-contained HTML file."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from . import __version__
from .charts import stacked_bar_chart
from .report_sections import Sections, SideSections, build_sections, side_sections
from .resources import resource_dir
from .rules import load_rules
from .store import Store, sql_text

MAX_FAILED_ROWS = 500
MAX_TABLE_ROWS = 500
MAX_NEAR_LIMIT_ROWS = 100
# DuckDB's buffer manager (default: 80 % of RAM) keeps every block a query read; the report reads
# the kept log lines' keys once (the drill-down lines), 27 M rows at 100,000 trials, which are
# worth nothing cached. Its own operators need tens of MB there; above the limit they spill.
REPORT_MEMORY_LIMIT = "200MB"
FAMILY_ORDER = ("catastrophic", "early", "execution", "configuration", "transient", "quality", "unknown")


@dataclass
class ExcerptLine:
    text: str
    highlighted: bool


@dataclass
class FailedTrial:
    trial_id: str
    study: str
    case_name: str | None
    stage_index: int | None
    eco_name: str | None
    eco_class: str | None
    exit_code: int | None
    failure_type: str
    family: str | None
    catastrophic: bool
    confidence: str | None
    reason: str
    excerpt: list[ExcerptLine]
    trial_dir: str | None
    anchor: str | None = None


@dataclass
class ReportContext:
    title: str
    generated_at: str
    analyzer_version: str
    scope: str
    totals: dict[str, Any]
    failure_types: list[dict[str, Any]]
    failure_chart: Markup | None
    failed_trials: list[FailedTrial]
    failed_total: int
    memory_chart: Markup | None
    usage_chart: Markup | None
    memory_distribution: list[dict[str, Any]]
    near_limit: list[dict[str, Any]]
    contained: list[dict[str, Any]]
    contained_total: int
    history_chart: Markup | None
    history_studies: int
    new_signatures: list[dict[str, Any]]
    ingest_errors: list[dict[str, Any]]
    limits: dict[str, int] = field(default_factory=lambda: {
        "failed": MAX_FAILED_ROWS, "rows": MAX_TABLE_ROWS})
    time_metrics: dict[str, Any] = field(default_factory=dict)  # time_metrics_report.py
    memory_recommendations: list[dict[str, Any]] = field(default_factory=list)  # _memory_recommendations.html
    sections: Sections | None = None  # verdict, drill-downs, memory boxes, all trials, time (report_sections.py)


def _excerpt(text: str | None, evidence: list[str] | None) -> list[ExcerptLine]:
    keys = set(evidence or [])
    lines = []
    for line in (text or "").splitlines():
        stream, _, rest = line.partition(":")
        line_no = rest.partition(":")[0]
        lines.append(ExcerptLine(line, f"{stream}:{line_no}" in keys))
    return lines


def _failure_chart(types: pl.DataFrame) -> Markup | None:
    if types.is_empty():
        return None
    families = [f for f in FAMILY_ORDER if f in set(types["family"].to_list())]
    cats = types["failure_type"].to_list()
    series = {fam: [n if f == fam else 0 for f, n in zip(types["family"], types["n"])] for fam in families}
    return stacked_bar_chart(cats, series, title="Failed trials by failure type (colour: family)",
                             x_label="failure type", y_label="trials")


def _usage_chart(histogram: pl.DataFrame) -> Markup | None:
    if histogram.is_empty():
        return None
    bands = [f"{10 * b}-{10 * b + 10} %" for b in range(10)] + [">= 100 %"]
    groups = [g for g in ("out of memory", "other failure", "success") if g in set(histogram["grp"].to_list())]
    cells = {(r["band"], r["grp"]): r["n"] for r in histogram.iter_rows(named=True)}
    series = {g: [cells.get((b, g), 0) for b in range(11)] for g in groups}
    return stacked_bar_chart(bands, series, title="Trials by share of their memory limit used (peak / limit)",
                             x_label="peak as % of limit", y_label="trials")


def _history_chart(history: pl.DataFrame) -> tuple[Markup | None, int]:
    if history.is_empty():
        return None, 0
    counts = (history.group_by("study", "study_started_at", "failure_type").len()
              .sort("study_started_at", "study", nulls_last=True))
    studies = counts.select("study", "study_started_at").unique(maintain_order=True)["study"].to_list()
    if len(studies) < 2:
        return None, len(studies)
    types = (counts.group_by("failure_type").agg(pl.col("len").sum())
             .sort(["len", "failure_type"], descending=[True, False])["failure_type"].to_list())  # ties: by name
    wide = {(r["study"], r["failure_type"]): r["len"] for r in counts.iter_rows(named=True)}
    series = {t: [wide.get((s, t), 0) for s in studies] for t in types}
    return stacked_bar_chart(studies, series, title="Failures by type per study, oldest first",
                             x_label="study (in start order)", y_label="failed trials"), len(studies)


@contextmanager
def temp_tables(store: Store, tables: list[tuple[str, str, dict[str, Any] | None]]) -> Iterator[None]:
    """(name, sql file, params): each query's result as a TEMP table of this connection for the
    duration (a read-only store allows them). What several report queries share is computed once:
    the trials in scope (`scope`, `scope_trials`), their memory rows, the `time` view."""
    made: list[str] = []
    try:
        for name, file, params in tables:
            store.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS\n{sql_text(file)}", params,
                          origin=f"sql/{file}.sql")
            made.append(name)
        yield
    finally:
        for name in reversed(made):
            store.execute(f"DROP TABLE IF EXISTS temp.{name}")


def _side(store: Store, scope: dict[str, Any]) -> SideSections:
    """report_sections.side_sections on a second connection (its own temp tables)."""
    cursor = store.cursor()
    try:
        with temp_tables(cursor, [("scope", "report_scope", scope), ("scope_memory", "report_scope_memory", None),
                                  ("time_rows", "report_time_rows", None)]):
            return side_sections(cursor, MAX_NEAR_LIMIT_ROWS)
    finally:
        cursor.close()


def build_context(store: Store, studies: list[str] | None = None, since: datetime | None = None,
                  rules_file: str | Path | None = None) -> ReportContext:
    """Query everything the report shows, for the trials in scope; remedy texts come from the
    rules file ([remedies], a user file overrides the shipped text). Two connections share the
    work (2 cores): the time and memory sections run beside the rest."""
    remedies = load_rules(rules_file).remedies
    scope_params: dict[str, Any] = {"studies": studies or None, "since": since}
    with store.memory_limited(REPORT_MEMORY_LIMIT), ThreadPoolExecutor(1) as pool:
        pending = pool.submit(_side, store, scope_params)
        with temp_tables(store, [("scope", "report_scope", scope_params), ("scope_trials", "report_scope_trials", None)]):
            totals = store.frame_file("report_totals").to_dicts()[0]
            types = store.frame_file("report_failure_types")
            failed = store.frame_file("report_failed_trials", {"limit": MAX_FAILED_ROWS})
            sections = build_sections(store, failed, remedies, totals)
            contained = store.frame_file("report_contained")
            history = store.frame_file("report_history")
            new_sigs = store.frame_file("report_new_signatures", {"limit": MAX_TABLE_ROWS})
            errors = store.frame_file("report_ingest_errors", {"limit": MAX_TABLE_ROWS})
            memory_recommendations = store.frame_file("report_memory_recommendations").to_dicts()
            side = pending.result()
    sections.fix_timeouts = side.fix_timeouts
    sections.memory_box_chart, sections.memory_boxes = side.memory_box_chart, side.memory_boxes
    sections.memory_suggestions = side.memory_suggestions
    history_chart, n_studies = _history_chart(history)
    anchors = sections.anchors
    scope_text = ", ".join(filter(None, [
        f"studies {', '.join(studies)}" if studies else "all studies",
        f"since {since:%Y-%m-%d %H:%M} UTC" if since else None]))
    return ReportContext(
        title=sections.title,
        generated_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        analyzer_version=__version__,
        scope=scope_text,
        totals=totals,
        failure_types=types.to_dicts(),
        failure_chart=_failure_chart(types),
        failed_trials=[
            FailedTrial(trial_id=r["trial_id"], study=r["study"], case_name=r["case_name"],
                        stage_index=r["stage_index"], eco_name=r["eco_name"], eco_class=r["eco_class"],
                        exit_code=r["exit_code"], failure_type=r["failure_type"], family=r["family"],
                        catastrophic=bool(r["catastrophic"]), confidence=r["confidence"], reason=r["reason"],
                        excerpt=_excerpt(r["log_excerpt"], r["evidence_lines"]), trial_dir=r["trial_dir"],
                        anchor=anchors.get(r["trial_id"]))
            for r in failed.iter_rows(named=True)],
        failed_total=int(totals["failed"] or 0),
        memory_chart=side.memory_box_chart,
        usage_chart=_usage_chart(side.histogram),
        memory_distribution=side.distribution,
        near_limit=side.near_limit,
        contained=contained.head(MAX_TABLE_ROWS).to_dicts(),  # a long history contains thousands
        contained_total=contained.height,
        history_chart=history_chart,
        history_studies=n_studies,
        new_signatures=new_sigs.to_dicts(),
        ingest_errors=errors.to_dicts(),
        time_metrics=side.time_metrics,
        memory_recommendations=memory_recommendations,
        sections=sections,
    )


def environment() -> Environment:
    """The one Jinja environment: autoescape on, undefined names fail."""
    return Environment(loader=FileSystemLoader(str(resource_dir("templates"))), autoescape=True,
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def render(context: ReportContext) -> str:
    return environment().get_template("report.html").render(ctx=context)


def write_report(store: Store, out: str | Path, studies: list[str] | None = None,
                 since: datetime | None = None, rules_file: str | Path | None = None) -> ReportContext:
    context = build_context(store, studies, since, rules_file)
    Path(out).write_text(render(context), encoding="utf-8")
    return context
