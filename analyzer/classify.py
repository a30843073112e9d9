"""Classification as pure Polars steps over frames: evidence -> verdict -> memory, containment.
No store here (importing this module loads no DuckDB): jobs.py reads trials and their kept
lines from the store partition by partition, calls `classify_partition` on each and `replay`
once, and writes the results back; `classify_frames` does the whole thing on in-memory frames.

No per-trial Python: every step is a frame expression; the only Python loops run over rules
and signal definitions (a few dozen), never over trials or lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import polars as pl

from .rules import Catalog, Rule, RuleSet, Signal

EVIDENCE_SCHEMA = {
    "trial_id": pl.String, "failure_type": pl.String, "signal": pl.String, "source": pl.String,
    "line_no": pl.Int64, "text": pl.String, "confidence": pl.String, "precedence": pl.Int64,
    "kind": pl.String,
}
CONFIDENCE_RANK = {"confirmed": 0, "strong": 1, "probable": 2}
EXCERPT_EVIDENCE_LINES = 6
EXCERPT_TAIL_LINES = 8
ENGINE: Literal["in-memory"] = "in-memory"

# Structured signals: (name, condition, source, text). Exit statuses cover the shell/Docker
# convention (128+N) and Python's negative return codes (-N).
_EXIT = pl.col("exit_code")


def _structured_conditions() -> list[tuple[str, pl.Expr, str, pl.Expr]]:
    code_text = pl.format("exit code {}", _EXIT)
    return [
        ("docker_oom_killed", pl.col("oom_killed").fill_null(False), "docker_inspect",
         pl.lit("State.OOMKilled = true")),
        ("cgroup_oom_kill", pl.col("oom_kill_events").fill_null(0) > 0, "cgroup",
         pl.format("memory.events oom_kill = {}", pl.col("oom_kill_events"))),
        ("timed_out", pl.col("timed_out").fill_null(False), "trial_summary", pl.lit("timed_out = true")),
        ("exit_code_124", _EXIT == 124, "exit_code", pl.lit("exit code 124 (GNU timeout)")),
        ("exit_code_sigsegv", _EXIT.is_in([139, -11, 135, -7]), "exit_code", code_text),
        ("exit_code_sigabrt", _EXIT.is_in([134, -6, 132, -4, 136, -8]), "exit_code", code_text),
        ("exit_code_sigkill", _EXIT.is_in([137, -9]), "exit_code", pl.format("exit code {} (SIGKILL)", _EXIT)),
        ("exit_code_127", _EXIT == 127, "exit_code", pl.lit("exit code 127 (command not found)")),
        ("exit_code_126", _EXIT == 126, "exit_code", pl.lit("exit code 126 (command not executable)")),
        ("exit_code_125", _EXIT == 125, "exit_code", pl.lit("exit code 125 (docker run failed)")),
        ("exit_code_sigterm", _EXIT.is_in([143, -15]), "exit_code", pl.format("exit code {} (SIGTERM)", _EXIT)),
        ("no_trial_directory", pl.col("crashed_before_dir").fill_null(False), "study_summary",
         pl.lit("listed in study_summary.json but no trial directory was written")),
        ("nonzero_exit", _EXIT.is_not_null() & (_EXIT != 0), "exit_code", code_text),
        ("exit_code_unknown", _EXIT.is_null(), "exit_code", pl.lit("no readable exit code")),
    ]


def with_failed(trials: pl.LazyFrame) -> pl.LazyFrame:
    """A trial failed unless it exited 0 and did not time out; an unknown exit is a failure."""
    return trials.with_columns(
        failed=_EXIT.is_null() | (_EXIT != 0) | pl.col("timed_out").fill_null(False)
    )


def structured_evidence(trials: pl.LazyFrame, rules: RuleSet) -> pl.LazyFrame:
    """One evidence row per structured signal that fired (OOM flags on every trial)."""
    parts = []
    for name, cond, source, text in _structured_conditions():
        sig: Signal | None = rules.signals.get(name)
        if sig is None:
            continue
        applies = cond if name in ("docker_oom_killed", "cgroup_oom_kill") else cond & pl.col("failed")
        parts.append(trials.filter(applies).select(
            "trial_id",
            pl.lit(sig.type).alias("failure_type"), pl.lit(name).alias("signal"),
            pl.lit(source).alias("source"), pl.lit(None, pl.Int64).alias("line_no"),
            text.cast(pl.String).alias("text"), pl.lit(sig.confidence, pl.String).alias("confidence"),
            pl.lit(sig.precedence, pl.Int64).alias("precedence"), pl.lit(sig.kind, pl.String).alias("kind"),
        ))
    return pl.concat(parts, how="vertical") if parts else pl.LazyFrame(schema=EVIDENCE_SCHEMA)


def text_evidence(lines: pl.LazyFrame, trials: pl.LazyFrame, rules: RuleSet,
                  late: pl.DataFrame | None = None) -> pl.LazyFrame:
    """Every (rule, kept line) match, restricted to the rule's streams and to failed trials.
    `late`: matches of rules the kept lines do not cover, found in the whole stored logs
    (logstore.late_rule_matches: trial_id, rule_id, stream, line_no, text)."""
    joined = lines.join(trials.select("trial_id", "failed"), on="trial_id", how="inner")
    # one pass of one regex keeps the lines some rule or catalog could match (a few % of the
    # kept lines on dense logs); the rules then run over those only, instead of each rule
    # scanning every line (75 passes: 95 % of classify's time)
    union, unsafe = candidate_pattern(rules)
    candidates = (joined.filter(pl.col("text").str.contains(union)) if union else joined).collect(engine=ENGINE).lazy()
    safe = [r for r in rules.rules if r.regex not in unsafe]
    parts = [rule_matches(candidates, safe)]
    if unsafe:
        parts.append(rule_matches(joined, [r for r in rules.rules if r.regex in unsafe]))
    # most trials succeed: catalogs, which only apply to failures, scan only the failed trials' lines
    for cat in rules.catalogs:
        parts.extend(catalog_evidence((joined if cat.regex in unsafe else candidates).filter(pl.col("failed")), [cat]))
    if late is not None and late.height:
        found = late.lazy()
        for rule in rules.rules:
            parts.append(found.filter(pl.col("rule_id") == rule.id).select(
                "trial_id", pl.lit(rule.type).alias("failure_type"), pl.lit(rule.id).alias("signal"),
                pl.col("stream").alias("source"), "line_no", "text",
                pl.lit(rule.confidence, pl.String).alias("confidence"),
                pl.lit(rule.precedence, pl.Int64).alias("precedence"), pl.lit(rule.kind, pl.String).alias("kind"),
            ))
        # a whole-log match may also be a kept line: count it once
        return pl.concat(parts, how="vertical").unique(
            ["trial_id", "signal", "source", "line_no"], keep="first", maintain_order=True)
    return pl.concat(parts, how="vertical") if parts else pl.LazyFrame(schema=EVIDENCE_SCHEMA)


def rule_matches(lines: pl.LazyFrame, rules: list[Rule]) -> pl.LazyFrame:
    """Evidence rows of every (rule, line) match among `lines` (with `failed`), restricted to
    the rule's streams and, for rules that only apply to failures, to failed trials. Each
    regex runs over the distinct texts, not the lines (logs repeat their lines: DRT tables,
    warnings), and the matches join back on the text."""
    if not rules:
        return pl.LazyFrame(schema=EVIDENCE_SCHEMA)
    texts = lines.select("text").unique().collect(engine=ENGINE).lazy()
    matched = pl.concat([texts.filter(pl.col("text").str.contains(r.regex)).select(
        "text", pl.lit(i, pl.Int64).alias("_rule")) for i, r in enumerate(rules)], how="vertical")
    meta = pl.LazyFrame({
        "_rule": range(len(rules)), "failure_type": [r.type for r in rules], "signal": [r.id for r in rules],
        "confidence": [r.confidence for r in rules], "precedence": [r.precedence for r in rules],
        "kind": [r.kind for r in rules], "streams": [list(r.streams) for r in rules],
        "only_failed": [r.only_failed for r in rules],
    }, schema={"_rule": pl.Int64, "failure_type": pl.String, "signal": pl.String, "confidence": pl.String,
               "precedence": pl.Int64, "kind": pl.String, "streams": pl.List(pl.String), "only_failed": pl.Boolean})
    return (lines.join(matched, on="text").join(meta, on="_rule")
            .filter(pl.col("streams").list.contains(pl.col("stream")) & (pl.col("failed") | ~pl.col("only_failed")))
            .select("trial_id", "failure_type", "signal", pl.col("stream").alias("source"), "line_no", "text",
                    "confidence", "precedence", "kind"))


_VERBOSE_FLAG = re.compile(r"\(\?[a-zA-Z]*x")


@lru_cache(maxsize=16)
def _union_of(patterns: tuple[str, ...]) -> str | None:
    """`patterns` as one alternation (each in its own group, so an inline flag such as `(?i)`
    stays inside its own pattern), or None when the combination does not compile (duplicate
    group names, size limit): then every rule scans every line, as before."""
    if not patterns:
        return None
    union = "|".join(f"(?:{p})" for p in patterns)
    try:
        pl.Series([""]).str.contains(union)
    except pl.exceptions.PolarsError:
        return None
    return union


def candidate_pattern(rules: RuleSet, failed: bool = True) -> tuple[str | None, frozenset[str]]:
    """One regex that matches every line any rule or catalog of `rules` matches on a failed
    trial (`failed=False`: the rules that also apply to successes; None when there are none) --
    a line matches an alternation when it matches one of its branches -- and the regexes left
    out of it: verbose-mode patterns, whose `#` comments would swallow the rest of the
    alternation. (None, {}) when the alternation does not compile."""
    patterns = [r.regex for r in rules.rules if failed or not r.only_failed]
    patterns += [c.regex for c in rules.catalogs] if failed else []
    unsafe = frozenset(p for p in patterns if _VERBOSE_FLAG.search(p))
    union = _union_of(tuple(dict.fromkeys(p for p in patterns if p not in unsafe)))
    if union is None:
        return None, frozenset()
    return union, unsafe


def relevant_lines(lines: pl.LazyFrame, failed: pl.Series, rules: RuleSet) -> pl.LazyFrame:
    """The kept lines classification can use: on the `failed` trial ids, those some rule or
    catalog matches (evidence) and the stdout/stderr tails (excerpts); on the others, those a
    rule that also applies to successes matches. One regex pass; on dense logs it drops ~90 %
    of the lines before any join or sort. All lines when a pattern cannot join the alternation."""
    union, unsafe = candidate_pattern(rules)
    if union is None or unsafe:
        return lines
    text, is_failed = pl.col("text"), pl.col("trial_id").is_in(failed.implode())
    tail = pl.col("is_tail") & pl.col("stream").is_in(["stdout", "stderr"])
    keep = is_failed & (tail | text.str.contains(union))
    if any(not r.only_failed for r in rules.rules):
        on_success, _ = candidate_pattern(rules, failed=False)
        if on_success is None:
            return lines
        keep = keep | text.str.contains(on_success)
    return lines.filter(keep)


def catalog_evidence(lines: pl.LazyFrame, catalogs: list[Catalog]) -> list[pl.LazyFrame]:
    """Message-id lines joined against each tool's catalog: the id's own failure type (one
    extract and one join per catalog, whatever its size)."""
    parts = []
    for cat in catalogs:
        text = pl.col("text")
        ids = (lines.filter(pl.col("stream").is_in(list(cat.streams)) & text.str.contains(cat.regex))
               .with_columns(tool=text.str.extract(cat.regex, 1), msg=text.str.extract(cat.regex, 2))
               .with_columns(num=pl.col("msg").cast(pl.Int64, strict=False)))
        parts.append(ids.join(cat.frame.lazy(), on=["tool", "num"], how="inner").select(
            "trial_id", "failure_type",
            pl.format("{}:{}-{}", pl.lit(cat.name), "tool", pl.col("msg").str.zfill(4)).alias("signal"),
            pl.col("stream").alias("source"), "line_no", "text",
            pl.lit(None, pl.String).alias("confidence"), "precedence", pl.lit(None, pl.String).alias("kind"),
        ))
    return parts


def resolve_sigkill(evidence: pl.LazyFrame, trials: pl.LazyFrame, rules: RuleSet) -> pl.LazyFrame:
    """A SIGKILL is out-of-memory only when nothing else explains it (timeout, explicit kill);
    with a peak >= the rules file's near_limit_ratio (0.95) of the limit it becomes a strong
    out-of-memory signal."""
    explained = (
        evidence.filter((pl.col("failure_type") == "timeout") | pl.col("kind").eq_missing("explicit_kill"))
        .select("trial_id").unique().with_columns(explained=pl.lit(True))
    )
    ev = (evidence.join(explained, on="trial_id", how="left")
          .with_columns(counted=~(pl.col("kind").eq_missing("sigkill") & pl.col("explained").fill_null(False)))
          .drop("explained"))
    near = rules.signals.get("sigkill_near_limit")
    if near is None:
        return ev
    ratio = rules.near_limit_ratio
    sigkilled = ev.filter(pl.col("kind").eq_missing("sigkill") & pl.col("counted")).select("trial_id").unique()
    strong = (
        trials.join(sigkilled, on="trial_id", how="semi")
        .filter(pl.col("peak_memory_mb") >= ratio * pl.col("memory_limit_mb"))
        .select(
            "trial_id", pl.lit(near.type).alias("failure_type"), pl.lit(near.name).alias("signal"),
            pl.lit("memory").alias("source"), pl.lit(None, pl.Int64).alias("line_no"),
            pl.format("SIGKILL with peak {} MiB >= {}% of the {} MiB limit", pl.col("peak_memory_mb").round(1),
                      pl.lit(f"{100 * ratio:g}"), pl.col("memory_limit_mb").round(1)).alias("text"),
            pl.lit(near.confidence, pl.String).alias("confidence"),
            pl.lit(near.precedence, pl.Int64).alias("precedence"), pl.lit(near.kind, pl.String).alias("kind"),
            pl.lit(True).alias("counted"),
        )
    )
    return pl.concat([ev, strong], how="vertical")


def _confidence_rank() -> pl.Expr:
    return pl.col("confidence").replace_strict(CONFIDENCE_RANK, default=9, return_dtype=pl.Int64)


def _evidence_order() -> list[pl.Expr]:
    """A total order on evidence rows (no ties left to chance: verdicts, reasons and signals
    must be byte-identical run after run, whatever the partition size)."""
    return [pl.col("trial_id"), pl.col("precedence"), _confidence_rank(), pl.col("line_no").fill_null(-1),
            pl.col("failure_type"), pl.col("signal"), pl.col("source"), pl.col("text").fill_null("")]


def verdicts(evidence: pl.LazyFrame, trials: pl.LazyFrame, rules: RuleSet) -> pl.LazyFrame:
    """One row per failed trial: the primary failure type (lowest precedence wins), its
    out-of-memory confidence, a reason with the numbers, an excerpt and a signature."""
    counted = evidence.filter(pl.col("counted")).join(
        trials.filter(pl.col("failed")).select("trial_id"), on="trial_id", how="semi")
    ordered = counted.sort(*_evidence_order())
    primary = ordered.group_by("trial_id", maintain_order=True).first().select("trial_id", "failure_type")
    # evidence of the primary type (the type of each trial's first row), still in order:
    # best confidence, signals, first matched text
    of_primary = ordered.filter(pl.col("failure_type") == pl.col("failure_type").first().over("trial_id"))
    summary = (
        of_primary
        .group_by("trial_id", maintain_order=True).agg(
            pl.col("confidence").drop_nulls().first().alias("confidence"),
            pl.col("signal").unique(maintain_order=True).str.join(", ").alias("signals"),
            pl.col("text").filter(pl.col("line_no").is_not_null()).first().alias("first_line"),
            pl.col("text").first().alias("first_text"),
        )
    )
    types = rules.types_frame().lazy()
    return (
        primary.join(summary, on="trial_id", how="left")
        .join(trials.select("trial_id", "study", "exit_code", "peak_memory_mb", "memory_limit_mb",
                            "runtime_seconds"), on="trial_id", how="left")
        .join(types, on="failure_type", how="left")
        .with_columns(
            confidence=pl.when(pl.col("failure_type") == "out_of_memory").then(pl.col("confidence")),
            reason=_reason(),
            signature=_signature(),
        )
    )


def _reason() -> pl.Expr:
    exit_part = pl.when(_EXIT.is_not_null()).then(pl.format("exit {}", _EXIT)).otherwise(pl.lit("exit code unknown"))
    peak, limit = pl.col("peak_memory_mb"), pl.col("memory_limit_mb")
    memory = (
        pl.when(peak.is_not_null() & (limit > 0))
        .then(pl.format("peak {} MiB of a {} MiB limit ({}%)", peak.round(1), limit.round(1),
                        (100 * peak / limit).round(1)))
        .when(peak.is_not_null()).then(pl.format("peak {} MiB, limit unknown", peak.round(1)))
        .when(limit > 0).then(pl.format("peak unknown, limit {} MiB", limit.round(1)))
        .otherwise(pl.lit("peak and limit unknown"))
    )
    detail = pl.coalesce(pl.col("first_line"), pl.col("first_text")).str.slice(0, 200)
    return (
        pl.when(pl.col("failure_type") == "out_of_memory")
        .then(pl.format("Out of memory ({}: {}); {}; {}", pl.col("confidence"), pl.col("signals"), memory, exit_part))
        .when(pl.col("failure_type") == "timeout")
        .then(pl.format("Timed out ({}) after {} s; {}", pl.col("signals"),
                        pl.col("runtime_seconds").round(0).fill_null(pl.lit("?")), exit_part))
        .otherwise(pl.format("{} ({}): {}", pl.col("label").fill_null(pl.col("failure_type")), exit_part, detail))
    )


def _signature() -> pl.Expr:
    """failure_type plus the message id or the first matched line with numbers and paths masked."""
    line = pl.coalesce(pl.col("first_line"), pl.col("signals"))
    msg_id = line.str.extract(r"\[ERROR ([A-Z]{2,4}-\d{3,4})\]")
    masked = (line.str.replace_all(r"(?:/[\w.+-]+)+", "<path>").str.replace_all(r"0x[0-9a-fA-F]+", "<hex>")
              .str.replace_all(r"\d+(?:\.\d+)?", "N").str.slice(0, 160))
    return pl.format("{}|{}", pl.col("failure_type"), pl.coalesce(msg_id, masked))


def excerpts(evidence: pl.LazyFrame, lines: pl.LazyFrame, failed: pl.LazyFrame) -> pl.LazyFrame:
    """Matched lines first, then the end of stderr (stdout when stderr is empty)."""
    matched = (
        evidence.filter(pl.col("line_no").is_not_null() & pl.col("counted"))
        .join(failed, on="trial_id", how="semi")
        .sort("trial_id", "precedence", "line_no", "signal", "source")
        .unique(["trial_id", "source", "line_no"], keep="first", maintain_order=True)
        .group_by("trial_id", maintain_order=True).head(EXCERPT_EVIDENCE_LINES)
        .select("trial_id", pl.col("source").alias("stream"), "line_no", "text", pl.lit(0).alias("part"))
    )
    tails = lines.filter(pl.col("is_tail") & pl.col("stream").is_in(["stdout", "stderr"])).join(
        failed, on="trial_id", how="semi")
    has_stderr = tails.filter((pl.col("stream") == "stderr") & (pl.col("text").str.strip_chars() != "")) \
        .select("trial_id").unique().with_columns(has_stderr=pl.lit(True))
    tail = (
        tails.join(has_stderr, on="trial_id", how="left")
        .filter(pl.when(pl.col("has_stderr").fill_null(False)).then(pl.col("stream") == "stderr")
                .otherwise(pl.col("stream") == "stdout"))
        .sort("trial_id", "line_no")
        .group_by("trial_id", maintain_order=True).tail(EXCERPT_TAIL_LINES)
        .select("trial_id", "stream", "line_no", "text", pl.lit(1).alias("part"))
    )
    return (
        pl.concat([matched, tail], how="vertical")
        .unique(["trial_id", "stream", "line_no"], keep="first", maintain_order=True)
        .sort("trial_id", "part", "stream", "line_no")
        .group_by("trial_id", maintain_order=True)
        .agg(pl.format("{}:{}: {}", "stream", "line_no", "text").str.join("\n").alias("log_excerpt"))
    )


def ordered_trials(trials: pl.LazyFrame) -> pl.LazyFrame:
    """Execution order within each study: start time, then stage, then trial index."""
    return (trials.sort("study", "started_at", "stage_index", "trial_index", "trial_id", nulls_last=True)
            .with_columns(order=pl.int_range(pl.len()).over("study")))


def containment(trials: pl.LazyFrame, failures: pl.LazyFrame) -> pl.LazyFrame:
    """Replay Noodle 2's ECO class containment: the first catastrophic failure of a class blocks
    the class for the rest of the study; count trials before and after it."""
    return containment_of_ordered(ordered_trials(trials), failures)


def containment_of_ordered(ordered: pl.LazyFrame, failures: pl.LazyFrame) -> pl.LazyFrame:
    """`containment` of trials already in `ordered_trials` form (with `order`)."""
    ordered = ordered.join(
        failures.select("trial_id", "failure_type", "catastrophic"), on="trial_id", how="left")
    classed = ordered.filter(pl.col("eco_class").is_not_null())
    triggers = (
        classed.filter(pl.col("catastrophic").fill_null(False))
        .sort("study", "order").group_by("study", "eco_class", maintain_order=True).first()
        .select("study", "eco_class", pl.col("trial_id").alias("trigger_trial_id"),
                pl.col("failure_type").alias("trigger_failure_type"),
                pl.coalesce("started_at", "finished_at").alias("contained_at"),
                pl.col("order").alias("trigger_order"))
    )
    counts = (
        classed.join(triggers, on=["study", "eco_class"], how="inner")
        .group_by("study", "eco_class").agg(
            (pl.col("order") < pl.col("trigger_order")).sum().alias("trials_before"),
            (pl.col("order") > pl.col("trigger_order")).sum().alias("trials_after"),
            pl.col("trial_id").filter(pl.col("order") > pl.col("trigger_order")).sort().alias("trials_after_ids"),
        )
    )
    return (triggers.join(counts, on=["study", "eco_class"], how="left")
            .select("study", "eco_class", "trigger_trial_id", "trigger_failure_type", "contained_at",
                    pl.col("trials_before").cast(pl.Int64), pl.col("trials_after").cast(pl.Int64),
                    "trials_after_ids")
            .sort("study", "contained_at", "eco_class"))


def study_verdicts(trials: pl.LazyFrame, failures: pl.LazyFrame) -> pl.LazyFrame:
    """Per study: the first out-of-memory trial and whether the study went on after it."""
    return study_verdicts_of_ordered(ordered_trials(trials), failures)


def study_verdicts_of_ordered(ordered: pl.LazyFrame, failures: pl.LazyFrame) -> pl.LazyFrame:
    """`study_verdicts` of trials already in `ordered_trials` form (with `order`)."""
    ordered = ordered.join(failures.select("trial_id", "failure_type"), on="trial_id", how="left")
    first = (ordered.filter(pl.col("failure_type") == "out_of_memory").sort("study", "order")
             .group_by("study", maintain_order=True).first()
             .select("study", pl.col("trial_id").alias("first_oom_trial_id"),
                     pl.coalesce("started_at", "finished_at").alias("first_oom_at"),
                     pl.col("order").alias("first_order")))
    after = (ordered.join(first, on="study").group_by("study")
             .agg((pl.col("order") > pl.col("first_order")).sum().cast(pl.Int64).alias("trials_after_first_oom")))
    return (first.join(after, on="study", how="left")
            .with_columns(continued_after_first_oom=pl.col("trials_after_first_oom") > 0)
            .select("study", "first_oom_trial_id", "first_oom_at", "continued_after_first_oom",
                    "trials_after_first_oom"))


def with_eco_classes(trials: pl.LazyFrame, rules: RuleSet) -> pl.LazyFrame:
    """Classes derived from ECO names follow the rules file's table (users can extend it)."""
    mapping = pl.LazyFrame({"eco_name": list(rules.eco_classes), "mapped_class": list(rules.eco_classes.values())},
                           schema={"eco_name": pl.String, "mapped_class": pl.String})
    return (trials.join(mapping, on="eco_name", how="left")
            .with_columns(eco_class=pl.when(pl.col("eco_class_source") == "trial").then(pl.col("eco_class"))
                          .otherwise(pl.coalesce("mapped_class", "eco_class")))
            .drop("mapped_class"))


@dataclass
class Classification:
    """Every frame classify writes: per-trial verdict rows, failures, evidence, contained ECO
    classes and per-study verdicts."""

    verdicts: pl.DataFrame
    failures: pl.DataFrame
    evidence: pl.DataFrame
    containment: pl.DataFrame
    studies: pl.DataFrame


def classify_partition(trials: pl.LazyFrame, lines: pl.LazyFrame, rules: RuleSet,
                       late: pl.DataFrame | None = None, *, relevant: bool = False
                       ) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Verdict rows, failures and evidence of some trials (the classify_trials columns) from their
    kept lines (trial_id, stream, line_no, text, is_tail) and `late` rule matches: each trial
    depends only on its own facts and lines, so any partition of the trials gives the same rows.
    `relevant`: the lines are already cut to relevant_lines."""
    # materialized, not cached: each later step reads a small frame instead of re-planning
    # (or re-running) the evidence's ~80-branch plan. On the in-memory engine: Polars 2.1's
    # streaming engine panics (binview "i < self.len()") filtering a materialized join result
    # of the hostile study (tests/test_hostile.py)
    trials = with_failed(with_eco_classes(trials, rules)).collect(engine=ENGINE).lazy()
    if not relevant:
        failed_ids = trials.filter(pl.col("failed")).select("trial_id").collect(engine=ENGINE).to_series()
        lines = relevant_lines(lines, failed_ids, rules).collect(engine=ENGINE).lazy()
    evidence = pl.concat([structured_evidence(trials, rules), text_evidence(lines, trials, rules, late)], how="vertical")
    evidence = resolve_sigkill(evidence, trials, rules).collect(engine=ENGINE).lazy()
    verdict = verdicts(evidence, trials, rules)
    failed = trials.filter(pl.col("failed")).select("trial_id")
    failures = (verdict.join(excerpts(evidence, lines, failed), on="trial_id", how="left")
                .with_columns(rules_version=pl.lit(rules.version))
                .select("trial_id", "study", "failure_type", "severity", "recoverable", "catastrophic",
                        "transient", "family", "confidence", "reason", "log_excerpt", "signature",
                        "rules_version"))
    verdict_rows = trials.select(
        "trial_id", pl.when(pl.col("failed")).then(pl.lit("failed")).otherwise(pl.lit("success")).alias("outcome"),
        "eco_class", pl.lit(rules.version).alias("rules_version"))
    ev_out = evidence.select("trial_id", "failure_type", "signal", "source", "line_no", "text",
                             "confidence", "precedence", "counted").sort(
                                 "trial_id", "precedence", "line_no", "signal", "source", "failure_type", nulls_last=True)
    failures_df, verdict_df, evidence_df = pl.collect_all([failures, verdict_rows, ev_out], engine=ENGINE)
    return owned(verdict_df), owned(failures_df), owned(evidence_df)


def owned(frame: pl.DataFrame) -> pl.DataFrame:
    """`frame` with string columns that own their bytes. A filtered string column still points
    into the buffers of the frame it came from: a few evidence rows kept every partition's kept
    lines alive (about 50 MiB per partition of the dense benchmark, GiBs on a long history).
    A cast to Binary shares the buffers; Arrow's plain (non-view) strings are a real copy."""
    copied = pl.from_arrow(frame.to_arrow(compat_level=pl.CompatLevel.oldest()))
    assert isinstance(copied, pl.DataFrame)
    return copied


# what containment and study verdicts read of a trial (but its ECO class, which the verdicts give)
REPLAY_COLUMNS = ("trial_id", "study", "started_at", "finished_at", "stage_index", "trial_index")


def replay(trials: pl.LazyFrame, verdict_rows: pl.DataFrame, failures: pl.DataFrame,
           evidence: pl.DataFrame) -> Classification:
    """Containment and per-study verdicts, which need every trial of a study at once, over the
    concatenated partition results."""
    classed = (trials.select(*REPLAY_COLUMNS)
               .join(verdict_rows.lazy().select("trial_id", "eco_class"), on="trial_id"))
    # the trials put in study order once, for both (each sort of the whole history's trials made
    # a ~70-100 MiB transient at 100,000 trials; two at once were ~180 MiB of classify's peak)
    ordered = ordered_trials(classed).collect(engine=ENGINE).lazy()
    f_lazy = failures.lazy()
    contained, per_study = pl.collect_all([containment_of_ordered(ordered, f_lazy),
                                           study_verdicts_of_ordered(ordered, f_lazy)], engine=ENGINE)
    return Classification(verdict_rows, failures, evidence, contained, per_study)


def classify_frames(trials: pl.LazyFrame, lines: pl.LazyFrame, rules: RuleSet,
                    late: pl.DataFrame | None = None) -> Classification:
    """The whole classification on frames, in one partition (no store)."""
    return replay(trials, *classify_partition(trials, lines, rules, late))
