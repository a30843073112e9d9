"""The report's answer-first sections: the verdict and fixes per study, a drill-down per failed
trial (in-page anchors, no file:// links), peak memory by ECO class x stage, the all-trials table
(data for the page's own filter/paging script), and time (timeline, failures per night,
signatures first/last seen, unknown signatures). `scope` and `scope_trials` must exist (report.build_context).

Everything is bounded: drill-downs, table rows, timeline bars and strip points have caps, and the
page says when a cap was reached (never a silent drop)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import polars as pl
from markupsafe import Markup

from .charts import box_plot, line_chart, stacked_bar_chart, timeline_chart
from .errors import QueryError
from .store import Store
from .time_metrics_report import time_metrics_context

MAX_DRILLDOWNS = 100       # failed trials with a full drill-down (catastrophic first; ~20 KB each)
MAX_TABLE_TRIALS = 10_000  # rows in the all-trials table (failed first, then newest)
MAX_STRIP_PER_BOX = 30     # non-OOM points drawn over each memory box (every OOM kill is drawn)
MAX_TIMELINE_STUDIES = 3
MAX_TIMELINE_BARS = 800    # per study; failed trials first
MAX_VERDICT_STUDIES = 6
MAX_LIST_ROWS = 200
TREND_TYPES = 6            # failure types drawn separately in the per-night trend; the rest is "other"
TRIAL_COLUMNS = ("trial", "study", "stage", "ECO", "class", "outcome", "failure", "exit", "peak MiB",
                 "limit MiB", "runtime s", "started")
LOW_VALUE_COLUMNS = (3, 4, 7, 8, 9, 10)  # hidden below 600 px


@dataclass
class Cause:
    failure_type: str
    n: int
    catastrophic: bool
    remedy: str | None
    reason: str | None


@dataclass
class StudyVerdict:
    study: str
    started_at: str
    trials: int
    failed: int
    oom: int
    previous_study: str | None
    causes: list[Cause]
    new_signatures: list[dict[str, Any]]
    first_oom_trial_id: str | None
    first_oom_anchor: str | None
    continued_after_first_oom: bool | None
    trials_after_first_oom: int | None
    contained_classes: list[str]
    trials_saved: int
    hours_saved: float


@dataclass
class EvidenceRow:
    signal: str
    source: str
    line_no: int | None
    text: str
    failure_type: str
    counted: bool
    decisive: bool


@dataclass
class Drilldown:
    anchor: str
    trial_id: str
    study: str
    stage_index: int | None
    eco_name: str | None
    eco_class: str | None
    exit_code: int | None
    failure_type: str
    catastrophic: bool
    reason: str
    remedy: str | None
    evidence: list[EvidenceRow]
    excerpt: list[tuple[str, int, str, bool]]  # stream, line, text, decided
    tail: str | None                           # shown only when no log line decided
    memory_chart: Markup | None
    artifact_path: str | None


@dataclass
class Sections:
    title: str
    verdicts: list[StudyVerdict]
    studies_in_scope: int
    latest_ingest: dict[str, Any]
    fix_memory: list[dict[str, Any]]
    fix_timeouts: list[dict[str, Any]]
    fix_inputs: list[dict[str, Any]]
    remedies: dict[str, str]
    drilldowns: list[Drilldown]
    anchors: dict[str, str]
    failed_total: int
    memory_box_chart: Markup | None
    memory_boxes: list[dict[str, Any]]
    memory_suggestions: list[dict[str, Any]]
    trials_json: Markup
    trials_shown: int
    trials_total: int
    timelines: list[tuple[str, Markup, int, int]]  # study, chart, bars drawn, trials with a start
    trend_chart: Markup | None
    signatures: list[dict[str, Any]]
    unknowns: list[dict[str, Any]]
    caps: dict[str, int] = field(default_factory=lambda: {
        "drilldowns": MAX_DRILLDOWNS, "table": MAX_TABLE_TRIALS, "strip": MAX_STRIP_PER_BOX,
        "timeline_studies": MAX_TIMELINE_STUDIES, "timeline_bars": MAX_TIMELINE_BARS, "list": MAX_LIST_ROWS})
    trial_columns: tuple[str, ...] = TRIAL_COLUMNS
    low_value_columns: tuple[int, ...] = LOW_VALUE_COLUMNS


@dataclass
class SideSections:
    """What report.build_context queries on its second connection, beside the other sections: the
    time sections (the `time` view, read once into a temp table), the timeout fixes, the memory sections."""
    time_metrics: dict[str, Any]
    fix_timeouts: list[dict[str, Any]]
    memory_box_chart: Markup | None
    memory_boxes: list[dict[str, Any]]
    memory_suggestions: list[dict[str, Any]]
    histogram: pl.DataFrame
    distribution: list[dict[str, Any]]
    near_limit: list[dict[str, Any]]


def anchor_for(trial_id: str) -> str:
    """A stable, HTML-id-safe anchor for a trial (ids hold slashes, '#', '@' and any byte)."""
    return "t-" + hashlib.sha1(trial_id.encode("utf-8", "surrogatepass")).hexdigest()[:12]


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if isinstance(value, datetime) else ""


def _json_for_script(data: Any) -> Markup:
    """JSON safe inside <script type="application/json">: no '<', '>' or '&' can end the element."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str)
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def _verdicts(store: Store, remedies: dict[str, str], anchors: dict[str, str]) -> list[StudyVerdict]:
    studies = store.frame_file("report_verdict_studies")
    causes = store.frame_file("report_top_causes")
    new = store.frame_file("report_new_signatures", {"limit": MAX_LIST_ROWS})
    out = []
    for r in studies.head(MAX_VERDICT_STUDIES).iter_rows(named=True):
        mine = causes.filter(pl.col("study") == r["study"])
        out.append(StudyVerdict(
            study=r["study"], started_at=_when(r["started_at"]), trials=r["trials"], failed=r["failed"],
            oom=r["oom"], previous_study=r["previous_study"],
            causes=[Cause(c["failure_type"], c["n"], bool(c["catastrophic"]), remedies.get(c["failure_type"]),
                          c["top_reason"]) for c in mine.head(3).iter_rows(named=True)],
            new_signatures=new.filter(pl.col("study") == r["study"]).to_dicts(),
            first_oom_trial_id=r["first_oom_trial_id"],
            first_oom_anchor=anchors.get(r["first_oom_trial_id"] or ""),
            continued_after_first_oom=r["continued_after_first_oom"],
            trials_after_first_oom=r["trials_after_first_oom"],
            contained_classes=list(r["contained_class_names"] or []), trials_saved=int(r["trials_saved"] or 0),
            hours_saved=float(r["hours_saved"] or 0)))
    return out


def _drilldowns(store: Store, failed: pl.DataFrame, remedies: dict[str, str]) -> list[Drilldown]:
    drill = failed.head(MAX_DRILLDOWNS)
    with store.registered("drill", drill.select("trial_id")):
        evidence = store.frame_file("report_drill_evidence")
        lines = store.frame_file("report_drill_lines")
        samples = store.frame_file("report_drill_samples")
    ev_by = evidence.partition_by("trial_id", as_dict=True) if evidence.height else {}
    ln_by = lines.partition_by("trial_id", as_dict=True) if lines.height else {}
    sm_by = samples.partition_by("trial_id", as_dict=True) if samples.height else {}
    out = []
    for r in drill.iter_rows(named=True):
        key = (r["trial_id"],)
        ev = ev_by.get(key)
        rows = [EvidenceRow(e["signal"], e["source"], e["line_no"], e["text"] or "", e["failure_type"],
                            bool(e["counts_toward_verdict"]), bool(e["decisive"]))
                for e in ev.iter_rows(named=True)] if ev is not None else []
        ln = ln_by.get(key)
        excerpt = [(x["stream"], x["line_no"], x["text"], bool(x["decided"]))
                   for x in ln.iter_rows(named=True)] if ln is not None else []
        chart = None
        sm = sm_by.get(key)
        if sm is not None and sm.height:
            t0 = sm["sampled_at"].min()
            xs = [((t - t0).total_seconds() / 60 if t is not None and t0 is not None else float(i))
                  for i, t in enumerate(sm["sampled_at"].to_list())]
            limits = [float(v) for v in sm["limit_mb"].drop_nulls().to_list()]
            chart = line_chart(xs, [float(v) for v in sm["usage_mb"].to_list()],
                               limit=r.get("memory_limit_mb") or (max(limits) if limits else None),
                               title=f"Memory over time ({sm.height} samples)", x_label="minutes since first sample",
                               y_label="MiB")
        out.append(Drilldown(
            anchor=anchor_for(r["trial_id"]), trial_id=r["trial_id"], study=r["study"], stage_index=r["stage_index"],
            eco_name=r["eco_name"], eco_class=r["eco_class"], exit_code=r["exit_code"],
            failure_type=r["failure_type"], catastrophic=bool(r["catastrophic"]), reason=r["reason"],
            remedy=remedies.get(r["failure_type"]), evidence=rows, excerpt=excerpt,
            tail=None if excerpt or r["failure_type"] == "out_of_memory" else r["log_excerpt"], memory_chart=chart, artifact_path=r["trial_dir"]))
    return out


def _memory(store: Store) -> tuple[Markup | None, list[dict[str, Any]]]:
    boxes = store.frame_file("report_memory_boxes")
    if boxes.is_empty():
        return None, []
    strip = store.frame_file("report_memory_strip", {"per_group": MAX_STRIP_PER_BOX})
    rows = boxes.to_dicts()
    index = {(b["eco_class"], b["stage_index"]): i for i, b in enumerate(rows)}
    specs: list[dict[str, object]] = [
        {"label": f"{b['eco_class']} · stage {b['stage_index'] if b['stage_index'] is not None else '?'}",
         "p0": b["p0"], "p25": b["p25"], "p50": b["p50"], "p75": b["p75"], "p100": b["p100"],
         "limit_min": b["limit_min_mb"], "limit_max": b["limit_max_mb"], "recommended": b["recommended_mb"],
         "trials": b["trials"]} for b in rows]
    points = [(index[(p["eco_class"], p["stage_index"])], float(p["mb"]), bool(p["oom"]))
              for p in strip.iter_rows(named=True) if (p["eco_class"], p["stage_index"]) in index]
    chart = box_plot(specs, points, title="Peak memory by ECO class and stage (box: quartiles; red: out-of-memory kills)",
                     y_label="peak memory (MiB)", width=max(760, 70 * len(specs)))
    return chart, rows


def _trials_table(store: Store, anchors: dict[str, str], total: int) -> tuple[Markup, int]:
    t = store.frame_file("report_trials_table", {"limit": MAX_TABLE_TRIALS})
    # repeated strings (study, ECO, class, outcome, failure type) are sent once: column -> values,
    # the rows hold indexes the page's script maps back
    dicts: dict[int, list[str]] = {}
    for col, name in ((1, "study"), (3, "eco_name"), (4, "eco_class"), (5, "outcome"), (6, "failure_type")):
        values = t[name].unique().drop_nulls().sort().to_list()
        dicts[col] = values
        t = t.with_columns(pl.col(name).replace_strict(values, list(range(len(values))), default=None,
                                                         return_dtype=pl.Int64).alias(f"_{name}"))
    rows = [[r["trial_id"][len(r["study"]) + 1:] if r["trial_id"].startswith(f"{r['study']}/") else r["trial_id"],
             r["_study"], r["stage_index"], r["_eco_name"], r["_eco_class"], r["_outcome"], r["_failure_type"],
             r["exit_code"], r["peak_mb"], r["limit_mb"], r["runtime_s"], r["started"], anchors.get(r["trial_id"])]
            for r in t.iter_rows(named=True)]
    return _json_for_script({"columns": list(TRIAL_COLUMNS), "dicts": dicts, "rows": rows, "total": total}), t.height


def _timelines(store: Store) -> list[tuple[str, Markup, int, int]]:
    frame = store.frame_file("report_timeline", {"studies": MAX_TIMELINE_STUDIES, "per_study": MAX_TIMELINE_BARS})
    out = []
    for (study,), part in frame.partition_by("study", as_dict=True, maintain_order=True).items():
        t0 = part["started_at"].min()
        lanes_raw = sorted({s for s in part["stage_index"].to_list()}, key=lambda v: (v is None, v))
        lanes = [f"stage {s}" if s is not None else "stage ?" for s in lanes_raw]
        bars = [(lanes_raw.index(r["stage_index"]), (r["started_at"] - t0).total_seconds() / 3600,
                 (max(r["finished_at"], r["started_at"]) - t0).total_seconds() / 3600, r["grp"],
                 f"{r['trial_id'][len(str(study)) + 1:]}: {r['grp']}")
                for r in part.iter_rows(named=True)]
        groups = [g for g in ("success", "other failure", "out of memory") if g in set(part["grp"].to_list())]
        chart = timeline_chart(bars, lanes, title=f"{study}: trials over time (one bar per trial)",
                               x_label="hours since the study's first trial", groups=groups)
        out.append((str(study), chart, part.height, int(part["study_trials"][0])))
    return out


def _trend(store: Store) -> Markup | None:
    trend = store.frame_file("report_trend")
    if trend.is_empty():
        return None
    top = (trend.group_by("failure_type").agg(pl.col("n").sum()).sort(["n", "failure_type"], descending=[True, False])
           ["failure_type"].head(TREND_TYPES).to_list())
    trend = trend.with_columns(pl.when(pl.col("failure_type").is_in(top)).then(pl.col("failure_type"))
                               .otherwise(pl.lit("other")).alias("failure_type"))
    nights = sorted(set(trend["night"].to_list()))
    cells: dict[tuple[str, str], int] = {}
    for r in trend.iter_rows(named=True):
        cells[(r["night"], r["failure_type"])] = cells.get((r["night"], r["failure_type"]), 0) + r["n"]
    types = [*top, *(["other"] if any(k[1] == "other" for k in cells) else [])]
    series: dict[str, list[float]] = {str(ty): [float(cells.get((n, ty), 0)) for n in nights] for ty in types}
    return stacked_bar_chart(nights, series, title="Failures per night (UTC day the trial started), by type",
                             x_label="night", y_label="failed trials")


def _collapse(rows: list[dict[str, Any]], same: tuple[str, ...], label: str, count: str) -> list[dict[str, Any]]:
    """Rows giving the identical fix (same values of `same`) become one row listing every key."""
    out: dict[tuple[Any, ...], dict[str, Any]] = {}
    for r in rows:
        key = tuple(r.get(k) for k in same)
        if key in out:
            out[key]["keys"].append(r[label])
            out[key][count] += r[count]
        else:
            out[key] = {**r, "keys": [r[label]]}
    return sorted(out.values(), key=lambda r: -int(r[count] or 0))


def _fix_memory_rows(store: Store) -> list[dict[str, Any]]:
    memory = [{**m, "key": f"{m['eco_class']} · stage {m['stage'] if m['stage'] is not None else '?'}"}
              for m in store.frame_file("report_fix_memory").to_dicts()]
    return _collapse(memory, ("recommended_limit", "current_limit_mb"), "key", "oom_kills")


def fix_timeouts_rows(frame: pl.DataFrame) -> list[dict[str, Any]]:
    """report_fix_timeouts (queried by report.build_context, beside the other sections) rolled up."""
    timeouts = [{**t, "key": f"{t['design'] or '?'} · stage {t['stage_index'] if t['stage_index'] is not None else '?'}"
                             f" · {t['eco_class'] or '(none)'}"}
                for t in frame.to_dicts()]
    return _collapse(timeouts, ("current_timeout_seconds", "suggested_timeout_seconds", "suggestion_kind"), "key",
                     "timed_out")


def side_sections(store: Store, near_limit_rows: int) -> SideSections:
    """The SideSections; `scope`, `scope_memory` and `time_rows` must exist on this connection."""
    chart, boxes = _memory(store)
    return SideSections(
        time_metrics=time_metrics_context(store),
        fix_timeouts=fix_timeouts_rows(store.frame_file("report_fix_timeouts", {"limit": MAX_LIST_ROWS})),
        memory_box_chart=chart, memory_boxes=boxes,
        memory_suggestions=store.frame_file("report_memory_suggestions", {"limit": MAX_LIST_ROWS}).to_dicts(),
        histogram=store.frame_file("report_memory_histogram"),
        distribution=store.frame_file("report_memory_distribution").to_dicts(),
        near_limit=store.frame_file("report_memory_near_limit", {"limit": near_limit_rows}).to_dicts())


def _title(verdicts: list[StudyVerdict], n_studies: int) -> str:
    if not verdicts:
        return "analyzer report: no trials"
    newest = verdicts[0]
    others = f" and {n_studies - 1} earlier stud{'y' if n_studies == 2 else 'ies'}" if n_studies > 1 else ""
    return f"{newest.study}{others} — {newest.started_at[:10] or 'undated'}: analyzer report"


def build_sections(store: Store, failed: pl.DataFrame, remedies: dict[str, str],
                   totals: dict[str, Any] | None = None) -> Sections:
    """Query and shape the answer-first sections; `failed` is report_failed_trials (catastrophic first),
    `totals` the report_totals row (queried when not given)."""
    totals = totals if totals is not None else store.frame_file("report_totals").to_dicts()[0]
    anchors = {tid: anchor_for(tid) for tid in failed["trial_id"].head(MAX_DRILLDOWNS).to_list()}
    verdicts = _verdicts(store, remedies, anchors)
    n_studies = int(totals["studies"] or 0)
    trials_json, shown = _trials_table(store, anchors, int(totals["trials"] or 0))
    fix_memory = _fix_memory_rows(store)
    try:
        unknowns = store.frame_file("queries/unknown_signatures", {"since": "1970-01-01"}).head(20)
        in_scope = set(store.frame("SELECT DISTINCT study FROM scope")["study"].to_list())
        unknown_rows = [u for u in unknowns.to_dicts()
                        if in_scope & set((u.get("study_names") or "").split(", "))]
    except QueryError:  # the named query failed (e.g. a store from before it): the section says "none"
        unknown_rows = []
    return Sections(
        title=_title(verdicts, n_studies), verdicts=verdicts, studies_in_scope=n_studies,
        latest_ingest=store.frame_file("report_latest_ingest").to_dicts()[0],
        fix_memory=fix_memory, fix_timeouts=[],  # set by report.build_context (report_fix_timeouts)
        fix_inputs=store.frame_file("report_fix_inputs", {"limit": MAX_LIST_ROWS}).to_dicts(),
        remedies=remedies, drilldowns=_drilldowns(store, failed, remedies), anchors=anchors,
        failed_total=int(totals["failed"] or 0),
        memory_box_chart=None, memory_boxes=[], memory_suggestions=[],  # set from SideSections
        trials_json=trials_json, trials_shown=shown, trials_total=int(totals["trials"] or 0),
        timelines=_timelines(store), trend_chart=_trend(store),
        signatures=store.frame_file("report_signatures", {"limit": MAX_LIST_ROWS}).to_dicts(),
        unknowns=unknown_rows)
