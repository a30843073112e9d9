"""Whole logs kept in the store, compressed: what ingest writes, what late rules and `analyzer logs` read.

`log_lines` is the fast index classify normally reads: candidate lines (the prefilter
vocabulary) and tails. A rule the index does not cover -- a user rule, a changed pattern, a rule
shipped after the trial was ingested -- is run over the whole stored logs instead
(`late_rule_matches`): only the trials and streams the rule applies to, chunk by chunk (each a
zstd frame of at most 4 MiB of text), vectorized per batch of chunks. So a rule written after
ingest sees every line with the artifacts deleted.

A rule is covered for a trial when its regex is one of the `covered_patterns` of the vocabulary
recorded for that trial's logs: the shipped rules at ingest time, which by construction only
match lines that contain a vocabulary word and are not `[INFO `/`[WARNING ` lines (their
corpus tests fail otherwise).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import polars as pl

from .choices import STREAMS
from .ingest.logs import (
    CHUNK_SCHEMA,
    EXCLUDED_PREFIXES,
    MAX_LINE_CHARS,
    PREFILTER_WORDS,
    LogFile,
    LogScan,
    chunk_frames,
    split_lines,
)
from .ingest.safe_io import display
from .rules import Rule, RuleSet
from .store import Store

if TYPE_CHECKING:
    import zstandard

CODEC = "zstd"
LATE_BATCH_BYTES = 8 << 20    # decompressed text matched per vectorized step (32 MiB: 3x the RSS)

STREAM_COLUMNS = {"trial_id": pl.String, "stream": pl.String, "path": pl.String, "size_bytes": pl.Int64,
                  "lines": pl.Int64, "compressed_bytes": pl.Int64, "codec": pl.String,
                  "scanner": pl.String, "vocabulary": pl.String}
MATCH_SCHEMA = {"trial_id": pl.String, "rule_id": pl.String, "stream": pl.String, "line_no": pl.Int64,
                "text": pl.String}


@lru_cache(maxsize=2)
def vocabulary(full: bool = True) -> dict[str, Any]:
    """The prefilter vocabulary of this analyzer: words, skipped prefixes, the shipped rule
    patterns it covers, and a short id naming all three. `full=False`: the vocabulary of a
    trial that succeeded (logs.SUCCESS_*), which covers only the shipped rules that apply to
    successes; every other rule runs over such a trial's stored logs when it applies."""
    from .rules import load_rules

    shipped = load_rules()
    covered = sorted({r.regex for r in shipped.rules if full or not r.only_failed})
    doc: dict[str, Any] = {"words": list(PREFILTER_WORDS), "excluded_prefixes": list(EXCLUDED_PREFIXES),
                           "covered_patterns": covered}
    if not full:
        doc["success_only"] = True
    vid = hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:16]
    return {"vocabulary": vid, **doc, "rules_version": shipped.version}


def stored_logs(logs: list[LogFile], scan: LogScan, keys: pl.DataFrame
                ) -> tuple[pl.DataFrame, Iterator[pl.DataFrame] | None]:
    """log_streams rows and log_chunks frames of a scanned batch (`keys`: key -> trial_id)."""
    vids = {full: vocabulary(full)["vocabulary"] for full in (True, False)}
    rows = [{"key": log.key, "stream": log.stream, "path": display(log.path), "size_bytes": st.size_bytes,
             "lines": st.lines, "compressed_bytes": st.compressed_bytes,
             "codec": CODEC if scan.chunks is not None else None, "scanner": scan.scanner,
             "vocabulary": vids[log.full]}
            for log, st in zip(logs, scan.stats) if not st.error]
    streams = (pl.DataFrame(rows, schema={"key": pl.Int64, **{k: v for k, v in STREAM_COLUMNS.items()
                                                               if k != "trial_id"}})
               .join(keys, on="key").select(list(STREAM_COLUMNS)))
    chunks = None
    if scan.chunks is not None:
        columns = ["trial_id", *[c for c in CHUNK_SCHEMA if c != "key"]]
        chunks = (frame.join(keys, on="key").select(columns) for frame in chunk_frames(scan.chunks))
    return streams, chunks


def write_stored_logs(store: Store, trial_ids: pl.Series, logs: list[LogFile], scan: LogScan,
                      keys: pl.DataFrame, fresh: bool = False) -> None:
    """Replace these trials' stored logs (inside the caller's transaction); `fresh`: none stored yet."""
    streams, chunks = stored_logs(logs, scan, keys)
    used = sorted({log.full for log in logs}) or [True]
    store.replace_trial_logs(trial_ids, streams, chunks, [vocabulary(full) for full in used], fresh)


def _decompressor() -> zstandard.ZstdDecompressor:
    import zstandard

    return zstandard.ZstdDecompressor()


def late_rules(store: Store, rules: RuleSet, every_rule: bool = False) -> dict[str, list[Rule]]:
    """vocabulary id -> the rules its candidate lines do not cover (for the vocabulary of
    successful trials' logs, only rules that apply to successes count unless `every_rule`)."""
    vocabs = store.frame("SELECT * FROM log_vocabularies")  # success_only: absent in older stores
    if "success_only" not in vocabs.columns:
        vocabs = vocabs.with_columns(pl.lit(None, pl.Boolean).alias("success_only"))
    out: dict[str, list[Rule]] = {}
    for vid, covered, success_only in vocabs.select("vocabulary", "covered_patterns", "success_only").iter_rows():
        covered = set(covered or [])
        late = [r for r in rules.rules
                if r.regex not in covered and (every_rule or not (success_only and r.only_failed))]
        if late:
            out[vid] = late
    return out


def late_rule_matches(store: Store, rules: RuleSet, trials: pl.DataFrame, every_rule: bool = False
                      ) -> pl.DataFrame:
    """Every line of the stored logs of `trials` (trial_id, failed) that a rule not covered by
    their vocabulary matches: trial_id, rule_id, stream, line_no, text. `every_rule`: also the
    rules that only apply to failures on successful trials' logs (`rules test`, with `failed`
    set, asks where a rule would fire on successes)."""
    late = late_rules(store, rules, every_rule)
    if not late or trials.is_empty():
        return pl.DataFrame(schema=MATCH_SCHEMA)
    targets = []
    for vid, rs in late.items():
        for r in rs:
            targets.append({"vocabulary": vid, "rule_id": r.id, "streams": list(r.streams),
                            "only_failed": r.only_failed})
    wanted = pl.DataFrame(targets, schema={"vocabulary": pl.String, "rule_id": pl.String,
                                           "streams": pl.List(pl.String), "only_failed": pl.Boolean})
    with store.registered("_late_trials", trials.select("trial_id", "failed")):
        streams = store.frame("""SELECT s.trial_id, s.stream, s.vocabulary, t.failed
                                 FROM log_streams s JOIN _late_trials t USING (trial_id)""")
    pairs = (streams.join(wanted, on="vocabulary")
             .filter(pl.col("streams").list.contains(pl.col("stream"))
                     & (~pl.col("only_failed") | pl.col("failed")))
             .select("trial_id", "stream", "rule_id"))
    if pairs.is_empty():
        return pl.DataFrame(schema=MATCH_SCHEMA)
    by_id = {r.id: r for rs in late.values() for r in rs}
    found: list[pl.DataFrame] = []
    for batch in _stored_batches(store, pairs.select("trial_id", "stream").unique()):
        # rules per piece (small), then each rule's regex over the text alone: only the lines it
        # matches get their trial, stream and line number (a join of every line copied them all)
        applies = (batch.pieces.join(pairs, on=["trial_id", "stream"])
                   .group_by("rule_id", maintain_order=True).agg("piece"))
        for rid, pieces in applies.iter_rows():
            hit = pl.col("text").str.contains(by_id[rid].regex)
            if len(set(pieces)) == batch.pieces.height:  # the rule reads every piece of the batch
                m = batch.located(batch.lines.filter(hit).with_columns(batch.piece()))
            else:
                m = batch.located(batch.lines.with_columns(batch.piece())
                                  .filter(hit & pl.col("piece").is_in(pl.Series(pieces, dtype=pl.UInt32).implode())))
            if m.height:
                found.append(m.select(pl.col("trial_id"), pl.lit(rid).alias("rule_id"), "stream", "line_no",
                                      _clean()))
    return pl.concat(found) if found else pl.DataFrame(schema=MATCH_SCHEMA)


def _clean() -> pl.Expr:
    """A stored line as log_lines has it: CR stripped, cut at MAX_LINE_CHARS, owning its bytes."""
    return pl.col("text").str.strip_chars_end("\r").str.slice(0, MAX_LINE_CHARS).cast(pl.Binary).cast(pl.String)


class _Lines:
    """About LATE_BATCH_BYTES of stored text as lines (`row`, `text`), and the chunks it came
    from (`pieces`: piece, trial_id, stream, first_line, start = its first row). Lines carry no
    trial or line number: callers filter first, then `located` adds them to the few kept."""

    def __init__(self, lines: pl.DataFrame, pieces: pl.DataFrame) -> None:
        self.lines, self.pieces = lines, pieces

    def piece(self) -> pl.Expr:
        """The piece of each line (rows of a piece are contiguous, pieces in row order)."""
        return (pl.lit(self.pieces["start"]).search_sorted(pl.col("row").cast(pl.Int64), side="right") - 1
                ).cast(pl.UInt32).alias("piece")

    def located(self, lines: pl.DataFrame) -> pl.DataFrame:
        """trial_id, stream, line_no, text of some of the lines (with their `piece`)."""
        return (lines.join(self.pieces, on="piece", how="left")
                .select("trial_id", "stream",
                        (pl.col("row").cast(pl.Int64) - pl.col("start") + pl.col("first_line")).alias("line_no"),
                        "text"))  # raw: callers clean only the lines they keep (_clean)


def _stored_batches(store: Store, targets: pl.DataFrame) -> Iterator[_Lines]:
    """Every stored line of these (trial_id, stream) pairs, in batches of about LATE_BATCH_BYTES
    of text."""
    dec = _decompressor()
    pieces: list[bytes] = []
    meta: list[tuple[str, str, int, int]] = []   # trial_id, stream, first_line, row offset
    rows = nbytes = 0

    def flush() -> _Lines:
        lookup = pl.DataFrame({"piece": pl.Series(range(len(meta)), dtype=pl.UInt32),
                               "trial_id": [m[0] for m in meta], "stream": [m[1] for m in meta],
                               "first_line": pl.Series([m[2] for m in meta], dtype=pl.Int64),
                               "start": pl.Series([m[3] for m in meta], dtype=pl.Int64)})
        return _Lines(split_lines(b"".join(pieces)), lookup)

    for trial_id, stream, first_line, n_lines, data in store.iter_log_chunks(targets):
        raw = dec.decompress(data)
        if raw.endswith(b"\n"):
            n = n_lines  # counted at ingest
        else:
            raw += b"\n"
            n = raw.count(b"\n")
        pieces.append(raw)
        meta.append((trial_id, stream, first_line, rows))
        rows += n
        nbytes += len(raw)
        if nbytes >= LATE_BATCH_BYTES:
            yield flush()
            pieces, meta, rows, nbytes = [], [], 0, 0
    if pieces:
        yield flush()


def resolve_trial(store: Store, trial: str) -> str | None:
    """A stored trial id from an exact id or a unique suffix (`stage_0/trial_3`)."""
    exact = store.frame("SELECT trial_id FROM trial_facts WHERE trial_id = ?", [trial])
    if exact.height:
        return trial
    like = store.frame("SELECT DISTINCT trial_id FROM trial_facts WHERE trial_id LIKE '%/' || ? "
                       "ORDER BY trial_id LIMIT 5", [trial])
    return like["trial_id"][0] if like.height == 1 else None


def read_log(store: Store, trial_id: str, stream: str) -> Iterator[bytes]:
    """The stored bytes of one log, chunk by chunk (bounded memory). Where ingest did not store
    the middle of a very large log (logs.STORED_LOG_BYTES), one line says which lines are missing."""
    dec = _decompressor()
    targets = pl.DataFrame({"trial_id": [trial_id], "stream": [stream]})
    expected = 1
    for _, _, first_line, n_lines, data in store.iter_log_chunks(targets):
        if first_line > expected:
            yield (f"[analyzer: lines {expected}-{first_line - 1} of this log were not stored: "
                   f"it passed the size the store keeps per log]\n").encode()
        expected = first_line + n_lines
        yield dec.decompress(data)


def grep_log(store: Store, trial_id: str, streams: list[str], pattern: str) -> Iterator[pl.DataFrame]:
    """stream, line_no, text of the stored lines that match a Rust regex (Polars)."""
    targets = pl.DataFrame({"trial_id": [trial_id] * len(streams), "stream": streams})
    for batch in _stored_batches(store, targets):
        hit = batch.located(batch.lines.filter(pl.col("text").str.contains(pattern)).with_columns(batch.piece()))
        if hit.height:
            yield hit.select("stream", "line_no", _clean())


STREAM_ORDER = STREAMS


def show_log(store: Store, trial: str, streams: list[str], pattern: str | None, ignore_case: bool,
             write: Callable[[bytes], object]) -> int:
    """`analyzer logs`: write a trial's stored log(s) with `write(bytes)`; with a pattern, only the
    matching lines as `stream:line_no: text`. Returns the number of lines written for a pattern
    (else of streams). Unknown trials and trials without stored logs are clear errors."""
    from .errors import AnalyzerError

    trial_id = resolve_trial(store, trial)
    if trial_id is None:
        raise AnalyzerError(f"no trial {trial!r} in {store.path} (give a trial_id from "
                            f"`analyzer query \"select trial_id from trials\"`, or a unique suffix)")
    stored = store.frame("SELECT stream FROM log_streams WHERE trial_id = ? AND codec IS NOT NULL",
                         [trial_id])["stream"].to_list()
    chosen = [s for s in STREAM_ORDER if s in stored and (not streams or s in streams)]
    if not chosen:
        what = f"no stored {'/'.join(streams)} log" if streams else "no stored log"
        raise AnalyzerError(f"{trial_id}: {what} (stored: {', '.join(stored) or 'none'}; trials "
                            f"ingested before analyzer kept whole logs have only trial_log_lines)")
    if pattern is None:
        for stream in chosen:
            if len(chosen) > 1:
                write(f"==> {trial_id} {stream} <==\n".encode())
            for data in read_log(store, trial_id, stream):
                write(data)
        return len(chosen)
    regex = f"(?i){pattern}" if ignore_case else pattern
    try:
        pl.Series([""]).str.contains(regex)
    except pl.exceptions.PolarsError as exc:
        raise AnalyzerError(f"--grep {pattern!r}: not a valid regex: {str(exc).strip().splitlines()[-1]}") from exc
    n = 0
    for hits in grep_log(store, trial_id, chosen, regex):
        for stream, line_no, text in hits.iter_rows():
            write(f"{stream}:{line_no}: {text}\n".encode("utf-8", "replace"))
        n += hits.height
    return n
