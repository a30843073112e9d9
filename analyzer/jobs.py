"""What every `analyzer` command does, as plain functions for Python callers and for cli.py.

Each job opens the store it needs, does its work and returns a result dataclass; problems are
raised as analyzer's own exceptions (errors.py), never printed and never turned into exit codes
here. The nightly `run` is `ingest` -> `classify` -> `report` (+ notify, + --fail-on); it says
what each step did through an optional `say` callback, the way the command prints it.

    >>> from analyzer import jobs
    >>> result = jobs.run(["sample_logs"], db="nightly.duckdb", out="report.html")
    >>> result.classified.failures.height

Classification itself is pure (classify.py: frames in, frames out); the store side of it --
reading trials and their kept lines partition by partition, writing verdicts -- lives here.
Heavy modules (Polars, DuckDB, Jinja2) are imported inside the jobs, so importing this module
(and `analyzer --help`) stays cheap.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import AnalyzerError, FailOnMatched, IngestProblems, NoTrialsFound

if TYPE_CHECKING:
    import polars as pl

    from .classify import Classification
    from .ingest.outcome import IngestReport
    from .ingest.pipeline import BatchReader
    from .recommend import Verdict
    from .rules import RuleSet
    from .rulestest import RulesTest
    from .store import QueryResult, Store

Say = Callable[[str], None]
"""A callback that receives one line of news (a step's summary, or a warning)."""


def _quiet(_: str) -> None:
    """The default `say`: Python callers get results, not text."""


# ---------------------------------------------------------------------------------- ingest


@dataclass
class IngestResult:
    """What `ingest` did: the pipeline's report plus the store it wrote."""

    report: IngestReport
    db: str

    @property
    def new_trial_ids(self) -> list[str]:
        """Trials read (new or changed) by this ingest, and trials only study_summary.json lists."""
        return self.report.new_trial_ids

    def summary(self) -> str:
        """The one-line account `analyzer ingest` prints on stderr."""
        r = self.report
        return (f"ingest: {r.trials_found} trials found, {r.trials_parsed} read, "
                f"{r.trials_skipped} unchanged, {r.crashed_before_dir} listed only in "
                f"study_summary.json; {r.errors} artifact problem(s) met, "
                f"{r.errors_standing} recorded for these roots; "
                f"{r.log_bytes / 1e6:.1f} MB of logs; store {self.db}")


def _reader(engine: str, ray_address: str | None) -> BatchReader | None:
    """The pipeline's BatchReader for `engine` (Ray is imported only for "ray"); None: the
    pipeline's own, local one."""
    if engine == "ray":
        from .ingest.ray_engine import ray_reader

        return ray_reader(ray_address)
    return None


def ingest(roots: list[str], *, db: str | None = None, lock_timeout: float | None = None,
           study: str | None = None, config: str | None = None, default_memory_limit: str | None = None,
           engine: str = "local", ray_address: str | None = None, strict: bool = False,
           progress: bool = False, say: Say | None = None, warn: Say | None = None) -> IngestResult:
    """Find every trial under `roots` and load it into the store (created if missing).

    Raises NoTrialsFound when a root holds no trial, IngestProblems when `strict` and an
    artifact could not be read (after `say` got the summary). `warn` receives each artifact
    problem as it is met. `engine="ray"` reads the trials as Ray tasks (on the cluster at
    `ray_address`); the store is written here either way."""
    from .ingest import ParseError
    from .ingest.outcome import IngestOptions, IngestReport
    from .ingest.unchanged import RecordLookup, walk

    opts = IngestOptions(study=study, config=config, default_memory_limit=default_memory_limit,
                         progress=progress)
    reader = _reader(engine, ray_address)  # before the store is opened: a missing Ray creates nothing
    try:
        if default_memory_limit:
            from .ingest.config import memory_limit_mb  # (PyYAML: only when needed)

            memory_limit_mb(default_memory_limit, "--default-memory-limit")  # a bad size is an error either way
        lookup = RecordLookup(db, list(roots), lock_timeout)  # (imports the store, DuckDB, on its thread)
        try:
            run = walk(list(roots), study, config, default_memory_limit)
        finally:
            lookup.join()  # the thread never outlives this call with the store open
        # an unchanged corpus: the recorded result (or what reading it raised, e.g. a locked
        # store), without importing the pipeline (Polars)
        replay = lookup.replay(run)
        if replay is not None:
            report = IngestReport(trials_found=replay.trials_found, trials_skipped=replay.trials_found,
                                  studies=set(replay.studies), errors_standing=replay.errors_standing,
                                  trials_per_root=dict(replay.trials_per_root))
        else:
            from .ingest.pipeline import ingest as run_pipeline
            from .store import open_store

            with open_store(db, lock_timeout=lock_timeout) as store:
                report = run_pipeline(store, list(roots), opts, warn or _quiet, reader=reader, run=run)
    except ParseError as exc:
        raise AnalyzerError(exc.problem) from exc
    empty = [root for root, n in report.trials_per_root.items() if n == 0]
    if empty:
        others = (f"; the {report.trials_found} trial(s) under the other root(s) were ingested"
                  if len(report.trials_per_root) > 1 else "")
        raise NoTrialsFound(
            f"{empty[0]}: no trial found (a trial folder holds trial_summary.json, or exit_code / "
            f"rc / returncode){others}")
    from .store import default_db_path

    result = IngestResult(report, db or default_db_path())
    (say or _quiet)(result.summary())
    if strict and report.errors_standing:
        raise IngestProblems(f"{report.errors_standing} artifact problem(s) recorded for these roots; "
                             f"see `analyzer query \"select * from ingest_errors\"`")
    return result


# -------------------------------------------------------------------------------- classify

TRIALS_PER_PARTITION = 20_000
# Sizes measured on a 100,000-trial dense history (benchmarks/RESULTS.md, "classify memory"):
# halving the last three from 400k/400k/20k took the peak RSS of `classify` down by ~100 MiB
# (each partition read and each batch's classification is a transient that sets the high-water
# mark); halving again gained ~10 MiB more for ~25 % more CPU.
LINES_PER_PARTITION = 200_000  # kept lines loaded at once (the dense benchmark keeps ~270 per trial)
RELEVANT_LINES_PER_BATCH = 200_000  # lines rules can match, and tails, classified at once
TRIALS_PER_BATCH = 10_000  # trials classified at once
# DuckDB's buffer cache while classify reads a partition's lines, and while Polars computes the
# memory recommendations: each partition reads its own row range once, so cached blocks are
# never read again; a lower limit evicts them (the 100 MB cache was ~70 MiB of classify's peak).
READ_CACHE_LIMIT = "32MB"


@dataclass
class ClassifyResult:
    """The classification written to the store, and the rules version it used."""

    classification: Classification
    rules_version: str

    @property
    def failures(self) -> pl.DataFrame:
        """One row per failed trial (the `failures` view's rows)."""
        return self.classification.failures

    def summary(self) -> str:
        """The one-line account `analyzer classify` prints on stderr."""
        c = self.classification
        counts = c.failures["failure_type"].value_counts(sort=True)
        by_type = ", ".join(f"{t} {n}" for t, n in counts.iter_rows())
        return (f"classify: {c.verdicts.height} trials, {c.failures.height} failed "
                f"({by_type or 'none'}); {c.containment.height} ECO class(es) contained; "
                f"rules {self.rules_version}")


def partitions(store: Store, trials: pl.DataFrame) -> list[pl.DataFrame]:
    """Slices of `trials` holding at most TRIALS_PER_PARTITION trials and about
    LINES_PER_PARTITION kept lines, in the order their lines sit in the store, each with the
    row range (first_row, last_row) its lines occupy: memory stays bounded however long the
    history and however dense the logs (the whole history's kept lines on dense logs are GiBs)."""
    import polars as pl

    if trials.is_empty():
        return [trials.with_columns(first_row=pl.lit(None, pl.Int64), last_row=pl.lit(None, pl.Int64))]
    spans = store.frame_file("classify_line_spans")
    floor = max(1, LINES_PER_PARTITION // TRIALS_PER_PARTITION)
    ordered = (trials.join(spans, on="trial_id", how="left", maintain_order="left")
               .with_columns(pl.col("n").fill_null(0).cast(pl.Int64))
               .sort("first_row", "trial_id", nulls_last=True))
    cost = ordered["n"].clip(lower_bound=floor)
    part = ((cost.cum_sum() - 1) // LINES_PER_PARTITION).alias("_part")
    return [p.drop("_part", "n") for p in ordered.with_columns(part).partition_by("_part", maintain_order=True)]


def partition_lines(store: Store, chunk: pl.DataFrame) -> pl.DataFrame:
    """The kept lines of one partition's trials, read from the row range they occupy (DuckDB
    then scans that range only, not the whole table once per partition)."""
    lo, hi = chunk["first_row"].min(), chunk["last_row"].max()
    with store.registered("partition", chunk.select("trial_id")):
        return store.frame_file("classify_lines", {"lo": 0 if lo is None else lo, "hi": -1 if hi is None else hi})


def iter_partitions(store: Store, trials: pl.DataFrame, rules: RuleSet
                    ) -> Iterator[tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]]:
    """(trials, kept lines, late-rule matches) per partition; one partition in memory at a time.
    DuckDB's cache stays at READ_CACHE_LIMIT until the last partition is consumed (the caller's
    evidence writes included), but for the late rules' reads of whole logs."""
    from .classify import with_failed
    from .logstore import late_rule_matches
    from .store import LOG_WRITE_MEMORY_LIMIT

    store.cap_log_memory()
    located_parts = partitions(store, trials)
    with store.memory_limited(READ_CACHE_LIMIT, then=LOG_WRITE_MEMORY_LIMIT):
        for located in located_parts:
            chunk = located.drop("first_row", "last_row")
            failed = with_failed(chunk.lazy()).select("trial_id", "failed").collect()
            # rules the kept lines do not cover run over the whole stored logs (logstore.py); before
            # the kept lines are read, so the two are never in memory at once (4 GB dense: -70 MiB)
            with store.memory_limited(LOG_WRITE_MEMORY_LIMIT, then=READ_CACHE_LIMIT):
                late = late_rule_matches(store, rules, failed)
            yield chunk, partition_lines(store, located), late


def iter_batches(store: Store, trials: pl.DataFrame, rules: RuleSet
                 ) -> Iterator[tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]]:
    """(trials, relevant lines, late-rule matches) per classify batch. Each partition's kept
    lines are cut to those classification uses (classify.relevant_lines: rule candidates and
    tails, ~10 % of dense logs) and copied, so the partition's buffers go at once; partitions
    are then classified together up to RELEVANT_LINES_PER_BATCH lines or TRIALS_PER_BATCH
    trials, so the rules' fixed cost (compiling ~75 regexes) is paid per batch, not per
    partition read."""
    import polars as pl

    from .classify import ENGINE, owned, relevant_lines, with_failed

    pending: list[tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]] = []
    n_lines = n_trials = 0
    for chunk, lines, late in iter_partitions(store, trials, rules):
        failed = with_failed(chunk.lazy()).filter(pl.col("failed")).select("trial_id").collect(engine=ENGINE).to_series()
        kept = owned(relevant_lines(lines.lazy(), failed, rules).collect(engine=ENGINE))
        del lines
        pending.append((chunk, kept, late))
        n_lines, n_trials = n_lines + kept.height, n_trials + chunk.height
        if n_lines >= RELEVANT_LINES_PER_BATCH or n_trials >= TRIALS_PER_BATCH:
            yield _joined(pending)
            pending, n_lines, n_trials = [], 0, 0
    if pending:
        yield _joined(pending)


def _joined(parts: list[tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]]
            ) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Partitions' (trials, lines, late matches) as one batch."""
    import polars as pl

    trials, lines, late = zip(*parts, strict=True)
    return pl.concat(trials), pl.concat(lines, rechunk=False), pl.concat(late)


def classify_stored(store: Store, rules: RuleSet,
                    evidence_to: Callable[[pl.DataFrame], None] | None = None) -> Classification:
    """Classify every trial in the store from what the store holds, writing nothing (a read-only
    store works): `classify` and `rules test` both use it.

    Trials are classified partition by partition (each trial depends only on its own facts and
    lines, so any partition gives the same rows); containment is then replayed over all.
    `evidence_to`: each batch's evidence rows go there as they are made, and the result's
    evidence is empty -- `classify` writes them to the store, so the whole history's evidence
    (100 MiB at 100,000 dense trials) and its sorted copy are never in memory at once."""
    from .classify import classify_partition, replay

    store.cap_log_memory()  # blocks read once need no cache: DuckDB would keep up to 80 % of RAM
    # on one thread: DuckDB keeps 77 MiB after reading 100,000 trials this way, 137 MiB on two
    threads = int(store.scalar("SELECT current_setting('threads')"))
    store.execute("SET threads = 1")
    try:
        trials = store.frame_file("classify_trials")
    finally:
        store.execute(f"SET threads = {threads}")
    parts = []
    for chunk, lines, late in iter_batches(store, trials, rules):
        verdict_rows, failures, evidence = classify_partition(chunk.lazy(), lines.lazy(), rules, late, relevant=True)
        if evidence_to is not None:
            evidence_to(evidence)
            evidence = evidence.clear()
        parts.append((verdict_rows, failures, evidence))
    # partitions follow the store's row order; the rows come out in trial_id order, as one
    # partition would give them (a stable sort keeps each trial's own order)
    columns = [list(frames) for frames in zip(*parts, strict=True)]
    del parts
    verdict_rows, failures, evidence = (_sorted(columns, i) for i in range(3))
    return replay(trials.lazy(), verdict_rows, failures, evidence)


def _sorted(columns: list[list[pl.DataFrame]], i: int) -> pl.DataFrame:
    """The partitions' frames number `i` as one frame in trial_id order, dropping the parts as
    it goes: at most one copy of the evidence at a time, not three."""
    import polars as pl

    merged = pl.concat(columns[i], rechunk=False)
    columns[i] = []
    # when the batches already follow trial_id (a store ingested in one go), the sort and its
    # copy are skipped
    return merged if merged["trial_id"].is_sorted() else merged.sort("trial_id", maintain_order=True)


def _replace_verdicts(store: Store, result: Classification, rules: RuleSet, oom_risk: float | None) -> None:
    """Everything of `result` but its evidence rows replaces what the store had (in the caller's
    transaction)."""
    from datetime import UTC

    import polars as pl

    stamp = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    for table in ("verdict_rows", "failure_rows", "containment_rows", "study_verdicts"):
        store.execute(f"DELETE FROM {table}")
    store.insert("verdict_rows", result.verdicts.with_columns(classified_at=pl.lit(stamp)))
    store.insert("failure_rows", result.failures)
    store.insert("containment_rows", result.containment)
    store.insert("study_verdicts", result.studies)
    # the views that compare a peak with its limit read the rules file's ratio from here
    store.execute("INSERT OR REPLACE INTO meta VALUES ('near_limit_ratio', ?)", [str(rules.near_limit_ratio)])
    store_memory_recommendations(store, rules.version, oom_risk)


def store_memory_recommendations(store: Store, rules_version: str, oom_risk: float | None) -> None:
    """Memory recommendations (analyzer/recommend.py) from the verdicts just written, recorded
    with the rules version and the out-of-memory risk they were calibrated for."""
    import polars as pl

    from .recommend import DEFAULT_OOM_RISK, backtest, next_recommendations, trial_recommendations
    from .recommend import ENGINE as RECOMMEND_ENGINE
    from .store import LOG_WRITE_MEMORY_LIMIT

    risk = DEFAULT_OOM_RISK if oom_risk is None else oom_risk
    trials = store.frame_file("recommend_trials").lazy()
    # the blocks that read cached are of no use while Polars computes (~40 MiB at 100k trials)
    with store.memory_limited(READ_CACHE_LIMIT, then=LOG_WRITE_MEMORY_LIMIT):
        per_trial, per_key = pl.collect_all([trial_recommendations(trials, risk), next_recommendations(trials, risk)],
                                            engine=RECOMMEND_ENGINE)
        replay = backtest(trials, risk, curve_risks=())  # for the report; `analyzer backtest` sweeps the risk too
    for table, frame in (("memory_recommendation_rows", per_trial), ("memory_next_rows", per_key),
                         ("memory_backtest_rows", replay)):
        store.execute(f"DELETE FROM {table}")
        store.insert(table, frame.with_columns(rules_version=pl.lit(rules_version)))
    store.execute("INSERT OR REPLACE INTO meta VALUES ('oom_risk', ?)", [str(risk)])


def classify_store(store: Store, rules: RuleSet, oom_risk: float | None = None) -> Classification:
    """(Re)classify every trial of an open store and replace the stored verdicts, in one
    transaction. The evidence rows are written batch by batch as they are made (in trial_id
    order within each batch), each batch in its own commit, to a new table that the final
    transaction swaps in for evidence_rows: one transaction holding every appended row until
    its COMMIT was ~85 MiB of the peak RSS at 100,000 trials. A classify killed before that
    transaction commits leaves the old evidence in place (and the new table, dropped by the
    next classify). The returned classification's evidence is empty."""
    store.run_file("classify_evidence_next")
    result = classify_stored(store, rules, evidence_to=lambda frame: store.insert("evidence_rows_next", frame))
    with store.transaction():
        store.run_file("classify_evidence_swap")
        _replace_verdicts(store, result, rules, oom_risk)
    return result


def classify(*, db: str | None = None, lock_timeout: float | None = None, rules_file: str | None = None,
             oom_risk: float | None = None, say: Say | None = None) -> ClassifyResult:
    """(Re)classify every trial in an existing store from the store alone, with the shipped rules
    plus `rules_file`; `oom_risk` calibrates the memory recommendations (default 2 %)."""
    from .rules import load_rules
    from .store import open_store

    rules = load_rules(rules_file)
    with open_store(db, lock_timeout=lock_timeout, create=False) as store:
        result = ClassifyResult(classify_store(store, rules, oom_risk), rules.version)
    (say or _quiet)(result.summary())
    return result


# ---------------------------------------------------------------------------------- report


@dataclass
class ReportResult:
    """The report file written and the totals it shows."""

    out: str
    totals: dict[str, Any]

    def summary(self) -> str:
        """The one-line account `analyzer report` prints on stderr."""
        t = self.totals
        return f"report: {self.out} ({t['trials']} trials, {t['failed']} failed, {t['studies']} studies)"


def report(*, db: str | None = None, lock_timeout: float | None = None, studies: list[str] | None = None,
           since: datetime | None = None, out: str = "report.html", rules_file: str | None = None,
           say: Say | None = None) -> ReportResult:
    """Write the self-contained HTML report of the trials in scope to `out` (atomically; refuses
    to replace the store or a file that is not HTML)."""
    from .outfiles import check_report_out, write_text_atomic
    from .report import build_context, render
    from .store import open_store

    check_report_out(out, db)
    with open_store(db, read_only=True, lock_timeout=lock_timeout) as store:
        ctx = build_context(store, studies or None, since, rules_file)
    write_text_atomic(out, render(ctx))
    result = ReportResult(out, ctx.totals)
    (say or _quiet)(result.summary())
    return result


# ------------------------------------------------------------------------------------- run


@dataclass
class RunResult:
    """The nightly run: each step's result, the notify summary (if built), the --fail-on matches."""

    ingested: IngestResult
    classified: ClassifyResult
    reported: ReportResult
    summary: dict[str, Any] | None = None
    fail_on_matches: pl.DataFrame | None = None


def notify(*, db: str | None = None, lock_timeout: float | None = None, new_trial_ids: list[str],
           report_out: str | None, url: str | None = None, command: str | None = None,
           summary_json: str | None = None, say: Say | None = None, warn: Say | None = None) -> dict[str, Any]:
    """Build the JSON summary of what the new trials brought and deliver it (file, webhook,
    command). A delivery problem goes to `warn`, never raises: the run goes on."""
    from .notify import build_summary, post_webhook, run_command, write_summary
    from .store import open_store

    with open_store(db, read_only=True, lock_timeout=lock_timeout) as store:
        payload = build_summary(store, new_trial_ids, report_out)
    deliveries: list[tuple[str, Callable[[], str | None]]] = []
    if summary_json:
        deliveries.append(("summary-json", lambda: write_summary(summary_json, payload)))
    if url:
        deliveries.append(("notify", lambda: post_webhook(url, payload)))
    if command:
        deliveries.append(("notify-command", lambda: run_command(command, payload)))
    for name, deliver in deliveries:
        problem = deliver()
        if problem:
            (warn or _quiet)(f"{problem}; the run goes on")
        else:
            a = payload["analyzer"]
            (say or _quiet)(f"{name}: summary delivered ({a['new_trials']} new trials, "
                            f"{a['new_failures']} failed, {len(a['metric_regressions'])} metric regression(s))")
    return payload


def fail_on_matches(*, db: str | None = None, lock_timeout: float | None = None, kind: str,
                    new_trial_ids: list[str]) -> pl.DataFrame:
    """The new trials that failed the way `kind` (choices.FAIL_ON) names."""
    from .gate import fail_on_matches as matches
    from .store import open_store

    with open_store(db, read_only=True, lock_timeout=lock_timeout) as store:
        return matches(store, kind, new_trial_ids)


def run(roots: list[str], *, db: str | None = None, lock_timeout: float | None = None,
        study: str | None = None, config: str | None = None, default_memory_limit: str | None = None,
        engine: str = "local", ray_address: str | None = None, out: str = "report.html", rules_file: str | None = None, fail_on: str | None = None,
        notify_url: str | None = None, notify_command: str | None = None, summary_json: str | None = None,
        oom_risk: float | None = None, progress: bool = False, say: Say | None = None,
        warn: Say | None = None) -> RunResult:
    """The nightly job: ingest `roots`, classify, write the report, deliver the summary, and
    raise FailOnMatched when `fail_on` is set and newly ingested trials failed that way."""
    from .gate import summary_line
    from .outfiles import check_report_out

    check_report_out(out, db)  # before any work: --out must not be the store
    ingested = ingest(roots, db=db, lock_timeout=lock_timeout, study=study, config=config,
                      default_memory_limit=default_memory_limit, engine=engine, ray_address=ray_address,
                      progress=progress, say=say, warn=warn)
    classified = classify(db=db, lock_timeout=lock_timeout, rules_file=rules_file, oom_risk=oom_risk, say=say)
    reported = report(db=db, lock_timeout=lock_timeout, out=out, rules_file=rules_file, say=say)
    result = RunResult(ingested, classified, reported)
    if notify_url or notify_command or summary_json:
        result.summary = notify(db=db, lock_timeout=lock_timeout, new_trial_ids=ingested.new_trial_ids,
                                report_out=out, url=notify_url, command=notify_command,
                                summary_json=summary_json, say=say, warn=warn)
    if fail_on:
        matches = fail_on_matches(db=db, lock_timeout=lock_timeout, kind=fail_on,
                                  new_trial_ids=ingested.new_trial_ids)
        result.fail_on_matches = matches
        if matches.height:
            raise FailOnMatched(summary_line(fail_on, matches, len(ingested.new_trial_ids)))
    return result


# ------------------------------------------------------------------------- the other commands


@dataclass
class ExportResult:
    """Rows written per view, and where."""

    counts: dict[str, int]
    out: str

    def summary(self) -> str:
        """The one-line account `analyzer export` prints on stderr."""
        return f"export: {sum(self.counts.values())} rows from {len(self.counts)} views to {self.out}"


def export(*, fmt: str, out: str, db: str | None = None, lock_timeout: float | None = None) -> ExportResult:
    """Export every public view as `fmt` (choices.EXPORT_FORMATS) to `out`."""
    from .export import export_views
    from .store import open_store

    with open_store(db, read_only=True, lock_timeout=lock_timeout) as store:
        counts = export_views(store, fmt, out)
    return ExportResult(counts, out)


@dataclass
class BacktestResult:
    """The backtest frame, the risk it was judged at, and its verdict (None without history)."""

    frame: pl.DataFrame
    trials: int
    oom_risk: float
    verdict: Verdict | None

    def summary(self) -> str:
        """The one-line account `analyzer backtest` prints on stderr."""
        return (f"backtest: {self.trials} trials, target {self.oom_risk:.2%}; "
                + (self.verdict.line() if self.verdict else "no run has earlier history"))


def backtest(*, db: str | None = None, lock_timeout: float | None = None, oom_risk: float | None = None,
             curve: bool = True) -> BacktestResult:
    """Replay the store's memory history in time order against fixed-factor policies, at
    `oom_risk` (default: the risk the last classify recorded, else 2 %)."""
    from .recommend import backtest as replay
    from .recommend import verdict
    from .store import open_store

    with open_store(db, read_only=True, lock_timeout=lock_timeout) as store:
        recorded = store.scalar("SELECT max(value) FROM meta WHERE key = 'oom_risk'")
        trials = store.frame_file("recommend_trials")
    risk = oom_risk if oom_risk is not None else float(recorded or 0.02)
    frame = replay(trials.lazy(), risk, curve=curve)
    return BacktestResult(frame, trials.height, risk, verdict(frame))


@dataclass
class UnknownsResult:
    """Signatures of failed trials only a fallback explained."""

    frame: pl.DataFrame

    def summary(self) -> str:
        """The one-line account `analyzer unknowns` prints on stderr."""
        return f"unknowns: {int(self.frame['trials'].sum() or 0)} trial(s) in {self.frame.height} signature(s)"


def unknowns(*, db: str | None = None, lock_timeout: float | None = None, since: str | None = None) -> UnknownsResult:
    """Failed trials only a fallback explained, grouped by masked signature."""
    from .store import open_store
    from .unknowns import unknown_signatures

    with open_store(db, read_only=True, lock_timeout=lock_timeout) as store:
        return UnknownsResult(unknown_signatures(store, since))


def write_rule_stubs(result: UnknownsResult, path: str) -> str:
    """Write one rule stub per signature of `result` to `path`; returns the line to print."""
    from .unknowns import rule_stubs

    Path(path).write_text(rule_stubs(result.frame), encoding="utf-8")
    return f"unknowns: wrote {path}; check it with `analyzer rules check {path}`"


def logs(trial: str, *, streams: list[str] | None = None, pattern: str | None = None,
         ignore_case: bool = False, write: Callable[[bytes], Any] | None = None, db: str | None = None,
         lock_timeout: float | None = None) -> int:
    """Write a trial's stored log (or its lines matching `pattern`) through `write` (default:
    stdout's bytes); returns the number of lines written."""
    from .logstore import show_log
    from .store import open_store

    sink = write or sys.stdout.buffer.write
    with open_store(db, read_only=True, lock_timeout=lock_timeout) as store:
        return show_log(store, trial, list(streams or []), pattern, ignore_case, sink)


@dataclass
class RulesCheck:
    """A rules file's problems (empty when valid) and, when valid, the merged rule set."""

    path: str
    problems: list[str]
    rules: RuleSet | None

    def summary(self) -> str:
        """`analyzer rules check`'s line for a valid file."""
        assert self.rules is not None
        return f"{self.path}: ok ({len(self.rules.rules)} rules after merging, version {self.rules.version})"


def rules_check(path: str) -> RulesCheck:
    """Validate a rules file against the shipped rules; each problem names the rule and field."""
    from .rules import check_rules, load_rules

    problems = check_rules(path)
    return RulesCheck(path, problems, None if problems else load_rules(path))


@dataclass
class RulesTestResult:
    """What a rules file would change in the store (rulestest.RulesTest), or its problems."""

    path: str
    problems: list[str]
    test: RulesTest | None

    def summary(self) -> list[str]:
        """`analyzer rules test`'s stderr lines: the verdict changes, then each rule that fires
        on trials that succeeded."""
        t = self.test
        assert t is not None
        moves = ", ".join(f"{r['old']} -> {r['new']}: {r['trials']}" for r in t.transitions.iter_rows(named=True))
        out = [f"rules test: {t.changes.height} of {t.trials} trials would change verdict"
               f"{' (' + moves + ')' if moves else ''}"]
        out += [f"{self.path}: rule {r['rule']} fires on {r['trials']} successful trial(s) ({r['lines']} lines), "
                f"e.g. {r['example_trial']}: {r['example_line']!r}; narrow its pattern"
                for r in t.on_success.iter_rows(named=True)]
        return out


def rules_test(path: str, *, db: str | None = None, lock_timeout: float | None = None) -> RulesTestResult:
    """Classify the store with and without the rules file, writing nothing, and compare."""
    from .rules import check_rules
    from .rulestest import rules_test as compare
    from .store import open_store

    problems = check_rules(path)
    if problems:
        return RulesTestResult(path, problems, None)
    with open_store(db, read_only=True, lock_timeout=lock_timeout) as store:
        return RulesTestResult(path, [], compare(store, path))


def query(sql: str | None, *, name: str | None = None, params: dict[str, str] | None = None,
          db: str | None = None, lock_timeout: float | None = None,
          allow_files: tuple[str, ...] = ()) -> QueryResult:
    """Run SQL (or the named query `name`) on a read-only, sandboxed connection to the store."""
    from .queries import run_query
    from .store import open_store

    with open_store(db, sandbox=True, lock_timeout=lock_timeout, allow_files=allow_files) as store:
        return run_query(store, sql, name, params or {})
