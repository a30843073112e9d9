"""`analyzer ingest`: discover -> read (the table of readers) -> typed records -> store.

The jobs live in their own modules: discover.py (the walk), readers.py (role -> files -> reader),
record.py (typed, range-checked trial record), trial.py (one trial's facts), ids.py (unique,
stable trial ids), studies.py (study-level files), progress.py; the writes are Store methods
over sql/ingest_*.sql. This module only orders them and batches trials.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import polars as pl

from ..logstore import write_stored_logs
from ..store import Store
from .config import memory_limit_mb
from .discover import TrialArtifacts
from .ids import TrialIds
from .logs import STORED_LOG_BYTES, LogFile, LogScan, file_size, scan_logs
from .outcome import IngestOptions, IngestReport
from .progress import Progress
from .record import MAX_MEMORY_MB, MAX_SECONDS, frame
from .safe_io import display
from .studies import ERROR_COLUMNS, ingest_studies
from .trial import SAMPLE_COLUMNS, ParsedTrial, parse_trial
from .unchanged import Replay, Walk, forget_all, record, walk

_ERROR_SCHEMA = ERROR_COLUMNS

TRIAL_TABLES = ("trial_facts", "log_lines", "memory_sample_rows", "ingest_error_rows",
                "verdict_rows", "failure_rows", "evidence_rows", "timeout_mark_rows")
BATCH_TRIALS = 500
BATCH_LOG_BYTES = 128 << 20  # of logs read per batch: its kept lines and compressed logs are held until written
# Compressed log bytes per transaction. DuckDB holds a transaction's appended blobs in its memory
# until COMMIT (its limit while ingesting: store.LOG_WRITE_MEMORY_LIMIT, 100 MB): 96 MB of them
# failed with "failed to pin block", as a batch of incompressible logs (binary garbage) did.
TRANSACTION_LOG_BYTES = 32 << 20
# Compressed log bytes a read batch should hold (see BatchSizer): logs compress ~8-10x, so a
# planned batch (BATCH_LOG_BYTES of raw logs) holds ~13-16 MB and is read whole; incompressible
# logs (binary garbage) are read in smaller batches, so that the two batches in memory stay bounded.
HELD_LOG_BYTES = 32 << 20
PROBE_LOG_BYTES = 16 << 20  # the first batch read, to learn how well these logs compress

_ORFS_PEAK = r"Peak memory: (\d{1,15})KB"
_TIME_PEAK = r"Maximum resident set size \(kbytes\): (\d{1,15})"


Warn = Callable[[str], None]


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def _log_bytes(art: TrialArtifacts) -> int:
    """The trial's stdout and stderr bytes, as the walk saw them (its stat, no second one)."""
    total = 0
    for role in ("stdout", "stderr"):
        path = art.files.get(role)
        if path is not None:
            seen = art.stats.get(path)
            total += seen[0] if seen is not None else file_size(path) or 0
    return total


def _run_end(sizes: list[int], start: int, limit: int) -> int:
    """Where the run of items that begins at `start` ends: it takes items while their sizes add
    up to at most `limit`, and always the first (an item is never cut)."""
    end, total = start, 0
    while end < len(sizes) and (end == start or total + sizes[end] <= limit):
        total += sizes[end]
        end += 1
    return end


def _batches(items: list[TrialArtifacts]) -> Iterable[list[TrialArtifacts]]:
    batch: list[TrialArtifacts] = []
    nbytes = 0
    for art in items:
        batch.append(art)
        nbytes += _log_bytes(art)
        if len(batch) >= BATCH_TRIALS or nbytes >= BATCH_LOG_BYTES:
            yield batch
            batch, nbytes = [], 0
    if batch:
        yield batch


def _log_peaks(lines: pl.DataFrame) -> pl.DataFrame:
    """Peaks the logs print: ORFS per-step `Peak memory: NKB` and GNU time's max RSS (plausible only)."""
    def peak(pattern: str) -> pl.Expr:
        mb = pl.col("text").str.extract(pattern).cast(pl.Float64, strict=False) / 1024
        return pl.when(mb <= MAX_MEMORY_MB).then(mb).max()
    return lines.group_by("key").agg(peak(_ORFS_PEAK).alias("log_orfs_mb"), peak(_TIME_PEAK).alias("log_time_mb"))


def needs_lines(parsed: ParsedTrial) -> bool:
    """Whether a trial's logs are split into every candidate line: only when it failed, decided
    before the scan exactly as classify decides (`classify.with_failed`: an exit code other than
    0, none, or a timeout). A success keeps only the lines read from successes
    (`logs.SUCCESS_*`); its whole log is stored for any other rule."""
    rec = parsed.rec
    return rec.exit_code is None or rec.exit_code != 0 or bool(rec.timed_out)


SCAN_GROUP_BYTES = 128 << 20  # logs are scanned in groups of about this size (each starts rg twice,
#   and rg compiling the prefilter costs ~60 ms CPU: at 32 MB that was ~1.5 CPU s per GB)


def scan_trial_logs(parses: list[ParsedTrial], progress: Progress | None = None
                    ) -> tuple[list[LogFile], LogScan]:
    """The one place logs meet the pipeline: every log of the batch, scanned by logs.scan_logs
    (in groups of whole files, which does not change what is kept: caps are per file)."""
    logs = [LogFile(key, stream, path, full=needs_lines(p)) for key, p in enumerate(parses)
            for stream, path in p.log_files()]
    scans: list[LogScan] = []
    start = done_trials = 0
    while start < len(logs):
        end, size = start, 0
        while end < len(logs) and (end == start or size < SCAN_GROUP_BYTES):
            size += file_size(logs[end].path) or 0
            end += 1
        scans.append(scan_logs(logs[start:end]))
        finished = logs[end].key if end < len(logs) else len(parses)
        if progress is not None:
            progress.advance(trials=finished - done_trials, nbytes=sum(st.size_bytes for st in scans[-1].stats))
        done_trials, start = finished, end
    if progress is not None:
        progress.advance(trials=len(parses) - done_trials)
    chunked = [sc for sc in scans if sc.chunks is not None]
    scan = LogScan(pl.concat([sc.lines for sc in scans]) if scans else scan_logs([]).lines,
                   [st for sc in scans for st in sc.stats],
                   [c for sc in chunked for c in sc.chunks or ()] if chunked else None,
                   scans[0].scanner if scans else "polars")
    for log, st in zip(logs, scan.stats):
        p = parses[log.key]
        if st.error:
            p.errors.append((display(log.path), f"cannot read: {st.error}", "the trial was ingested without this log"))
            continue
        if st.omitted_bytes:
            last = st.omitted_from + st.omitted_lines - 1
            p.errors.append((display(log.path), f"a {st.size_bytes / 1e6:.0f} MB log, larger than the store "
                             f"keeps ({STORED_LOG_BYTES >> 20} MiB compressed): its lines {st.omitted_from}-{last} "
                             f"({st.omitted_bytes / 1e6:.0f} MB) were not stored",
                             "candidate lines were read from the whole log; `analyzer logs` and rules run "
                             "later see its start and its end"))
        if log.stream in ("stdout", "stderr"):
            p.rec.put(f"{log.stream}_bytes", st.size_bytes)
        if st.invalid_utf8_bytes:
            p.rec.put("invalid_utf8_bytes", (p.rec.invalid_utf8_bytes or 0) + st.invalid_utf8_bytes, replace=True)
    return logs, scan


@dataclass
class ReadBatch:
    """One batch of trials read, parsed and scanned: all that `write_batch` needs and nothing from
    the store. Plain data (picklable), so a worker process (the Ray engine) can produce it."""
    parses: list[ParsedTrial]
    logs: list[LogFile]
    scan: LogScan


def _parts(data: ReadBatch, max_bytes: int) -> list[list[int]]:
    """The batch's trial keys in order, cut where their compressed logs pass `max_bytes` (a
    trial is never cut: one whose logs alone pass it is a part of its own)."""
    per_key = [0] * len(data.parses)
    for log, st in zip(data.logs, data.scan.stats):
        per_key[log.key] += st.compressed_bytes
    parts: list[list[int]] = []
    start = 0
    while start < len(per_key):
        end = _run_end(per_key, start, max_bytes)
        parts.append(list(range(start, end)))
        start = end
    return parts or [[]]


def split_batch(data: ReadBatch, max_bytes: int | None = None) -> list[ReadBatch]:
    """A read batch as batches of whole trials whose compressed logs fit one transaction (`max_bytes`,
    default TRANSACTION_LOG_BYTES); usually the batch itself. Keys are renumbered within each part."""
    parts = _parts(data, TRANSACTION_LOG_BYTES if max_bytes is None else max_bytes)
    if len(parts) == 1:
        return [data]
    out = []
    for keys in parts:
        new_key = {old: new for new, old in enumerate(keys)}
        mask = [log.key in new_key for log in data.logs]
        logs = [replace(log, key=new_key[log.key]) for log, m in zip(data.logs, mask) if m]
        stats = [st for st, m in zip(data.scan.stats, mask) if m]
        chunks = None if data.scan.chunks is None else [
            (new_key[c[0]], *c[1:]) for c in data.scan.chunks if c[0] in new_key]
        lines = (data.scan.lines.filter(pl.col("key").is_in(keys))
                 .with_columns(pl.col("key").replace_strict(new_key, return_dtype=pl.Int64)))
        out.append(ReadBatch([data.parses[k] for k in keys], logs,
                             LogScan(lines, stats, chunks, data.scan.scanner)))
    return out


def read_batch(batch: list[TrialArtifacts], study: str | None, stamp: datetime,
               progress: Progress | None = None) -> ReadBatch:
    """Read, parse and scan one batch of trials. Pure: touches only the trials' files."""
    parses = [parse_trial(art, study, stamp) for art in batch]
    logs, scan = scan_trial_logs(parses, progress)
    return ReadBatch(parses, logs, scan)


BatchReader = Callable[[list[list[TrialArtifacts]], str | None, datetime, Progress], Iterable[ReadBatch]]


class BatchSizer:
    """The planned batches, cut so that a read batch holds about HELD_LOG_BYTES of compressed logs.

    How well logs compress is known only once they are read: the first PROBE_LOG_BYTES are read
    as a batch of their own, and each batch read tells the next one (`learn`). Ordinary logs never
    cut a planned batch. 120 trials of 4 MB of random bytes (compressed size = raw size): peak RSS
    of ingest 668 MiB with whole planned batches (two of 128 MB held)."""

    def __init__(self) -> None:
        self.ratio: float | None = None   # compressed / raw log bytes of the last batch read

    def learn(self, data: ReadBatch) -> None:
        raw = sum(st.size_bytes for st in data.scan.stats)
        if raw:
            self.ratio = sum(st.compressed_bytes for st in data.scan.stats) / raw

    def limit(self) -> int:
        if self.ratio is None:
            return PROBE_LOG_BYTES
        return BATCH_LOG_BYTES if self.ratio * BATCH_LOG_BYTES <= HELD_LOG_BYTES else int(HELD_LOG_BYTES / self.ratio)

    def batches(self, planned: list[list[TrialArtifacts]]) -> Iterator[list[TrialArtifacts]]:
        """Lazily: each cut uses what the batches read before it taught (a trial is never cut)."""
        for batch in planned:
            sizes = [_log_bytes(art) for art in batch]
            start = 0
            while start < len(batch):
                limit = self.limit()
                if limit >= BATCH_LOG_BYTES:  # the planned batch is of this size already
                    yield batch[start:]
                    break
                end = _run_end(sizes, start, limit)
                yield batch[start:end]
                start = end


def read_in_order(batches: list[list[TrialArtifacts]], study: str | None, stamp: datetime,
                  progress: Progress, sizer: BatchSizer | None = None) -> Iterable[ReadBatch]:
    """Batches read one after another in the calling thread."""
    sizer = sizer or BatchSizer()
    for batch in sizer.batches(batches):
        data = read_batch(batch, study, stamp, progress)
        sizer.learn(data)
        yield data


BATCHES_IN_MEMORY = 2   # the one being written and the one being read (each up to BATCH_LOG_BYTES of logs)


def read_locally(batches: list[list[TrialArtifacts]], study: str | None, stamp: datetime,
                 progress: Progress) -> Iterator[ReadBatch]:
    """The local engine: a reader thread reads the next batch while this thread writes the one
    before. The store's commit (DuckDB, which releases the GIL, and the disk) and the read (file
    reads, rg, zstd, Polars: mostly outside the GIL too) then overlap instead of taking turns.
    Batches come out in order; at most BATCHES_IN_MEMORY are held (a batch's slot is freed when
    the writer asks for the next one); an error in the reader is raised here; if the writer stops
    early (an error, Ctrl-C) the reader stops after its current batch."""
    sizer = BatchSizer()
    if len(batches) <= 1 and sum(_log_bytes(a) for b in batches for a in b) <= PROBE_LOG_BYTES:
        yield from read_in_order(batches, study, stamp, progress, sizer)  # one batch: no thread
        return
    ready: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
    slots = threading.Semaphore(BATCHES_IN_MEMORY)
    stop = threading.Event()

    def read_all() -> None:
        try:
            for batch in sizer.batches(batches):
                while not slots.acquire(timeout=0.1):
                    if stop.is_set():
                        return
                if stop.is_set():
                    return
                data = read_batch(batch, study, stamp, progress)
                sizer.learn(data)
                ready.put(("batch", data))
                del data
            ready.put(("done", None))
        except BaseException as exc:  # handed to the writer's thread, which raises it
            ready.put(("error", exc))

    reader = threading.Thread(target=read_all, name="analyzer-reader", daemon=True)
    reader.start()
    try:
        while True:
            kind, item = ready.get()
            if kind == "done":
                return
            if kind == "error":
                raise item
            yield item
            del item      # written: its memory and its slot go back before the next read
            slots.release()
    finally:
        stop.set()
        reader.join()


def write_batch(store: Store, data: ReadBatch, ids: TrialIds, stamp: datetime, warn: Warn,
                report: IngestReport) -> None:
    """Write a read batch's trials whole (one transaction); trial ids are assigned here, by the
    one writer, because they depend on what the store already holds."""
    parses, logs, scan = data.parses, data.logs, data.scan
    for p in parses:
        p.rec.trial_id = ids.assign(p.rec.trial_dir or "", p.readable_id)
    keys = pl.DataFrame({"key": range(len(parses)), "trial_id": [p.rec.trial_id for p in parses]},
                        schema={"key": pl.Int64, "trial_id": pl.String})
    trials = (
        frame([p.rec for p in parses]).with_row_index("key")
        .with_columns(pl.col("key").cast(pl.Int64))
        .join(_log_peaks(scan.lines), on="key", how="left")
        .with_columns(pl.col("peak_orfs_mb").fill_null(pl.col("log_orfs_mb")),
                      pl.col("peak_time_mb").fill_null(pl.col("log_time_mb")))
        .drop("key", "log_orfs_mb", "log_time_mb")
    )
    lines = scan.lines.join(keys, on="key").select("trial_id", "stream", "line_no", "text", "is_tail")
    with store.registered("_batch_lines", lines):
        marks = store.frame_file("ingest_timeout_marks", {"max_seconds": MAX_SECONDS})
    samples = pl.DataFrame([{**s, "trial_id": p.rec.trial_id} for p in parses for s in p.samples],
                           schema=SAMPLE_COLUMNS)
    errors = pl.DataFrame(
        [{"ingested_at": stamp, "root": p.rec.root, "study": p.rec.study, "trial_id": p.rec.trial_id,
          "path": path, "error": error, "hint": hint} for p in parses for path, error, hint in p.errors],
        schema=_ERROR_SCHEMA)
    fresh = ids.all_new(trials["trial_id"].to_list())
    store.replace_trials(TRIAL_TABLES, trials, {"log_lines": lines, "memory_sample_rows": samples,
                                                "ingest_error_rows": errors, "timeout_mark_rows": marks},
                         # whole logs, compressed (logstore.py), in the same transaction
                         also=lambda: write_stored_logs(store, trials["trial_id"], logs, scan, keys, fresh),
                         fresh=fresh)
    for row in errors.iter_rows(named=True):
        warn(f"{row['path']}: {row['error']}; {row['hint']}")
    report.errors += errors.height
    report.trials_parsed += len(parses)
    report.new_trial_ids.extend(trials["trial_id"].to_list())
    report.studies.update(trials["study"].drop_nulls().to_list())
    report.log_bytes += sum((p.rec.stdout_bytes or 0) + (p.rec.stderr_bytes or 0) for p in parses)


def default_limit_mb(text: str | None) -> float | None:
    """`--default-memory-limit` in MB (ParseError if it is not a Docker size)."""
    return memory_limit_mb(text, "--default-memory-limit") if text else None


def ingest(store: Store, roots: list[str], opts: IngestOptions, warn: Warn,
           reader: BatchReader | None = None, run: Walk | None = None) -> IngestReport:
    """Ingest every trial under `roots` into `store`; see spec/artifacts.md for the guarantees.

    A trial is read again only when its artifacts changed (names, sizes, mtimes); ingest options
    are not part of that fingerprint. `--default-memory-limit` is applied to every trial found.
    `reader` is the engine that turns batches of artifacts into read batches (None: the local
    one, read_locally; or Ray); the writes stay here, in this process, in batch order. `run`: the walk already done by the
    caller (unchanged.walk); its digest is recorded when a later run could replay this one."""
    report = IngestReport()
    stamp = _now()
    limit_mb = default_limit_mb(opts.default_memory_limit)
    run = run or walk(roots, opts.study, opts.config, opts.default_memory_limit)
    found = run.found
    report.trials_per_root = dict(found.trials_per_root)
    root_errors = list(found.errors)
    report.trials_found = len(found.trials)
    forget_all(store)

    known = store.known_trials()
    ids = TrialIds(known)
    known_map = {d: fp for d, fp, crashed in zip(known["trial_dir"].to_list(), known["fingerprint"].to_list(),
                                                  known["crashed_before_dir"].to_list()) if not crashed}
    todo = [a for a in found.trials if known_map.get(display(a.trial_dir)) != a.fingerprint]
    report.trials_skipped = len(found.trials) - len(todo)

    with Progress(len(todo), opts.progress) as progress:
        for data in (reader or read_locally)(list(_batches(todo)), opts.study, stamp, progress):
            parts = split_batch(data)
            del data  # written part by part, then gone before the reader is asked for the next batch
            while parts:
                write_batch(store, parts.pop(0), ids, stamp, warn, report)

    studies, crashed_ids, crashed, study_errors = ingest_studies(
        store, found.study_files, opts.config, stamp, root_errors, ids, warn)
    report.studies |= studies
    report.new_trial_ids.extend(crashed_ids)
    report.crashed_before_dir += crashed
    report.errors += study_errors
    for sf in found.study_files:  # a study whose trials all crashed still holds trials
        if sf.kind == "study_summary" and crashed:
            report.trials_per_root[sf.root] = report.trials_per_root.get(sf.root, 0) or crashed
    _record_root_errors(store, roots, root_errors, stamp, warn, report)

    found_dirs = [display(a.trial_dir) for a in found.trials]
    store.set_default_memory_limit(found_dirs, limit_mb)
    found_ids = [ids.by_dir[d] for d in found_dirs if d in ids.by_dir]
    report.errors_standing = store.count_ingest_errors(
        found_ids + crashed_ids, sorted(studies), [display(os.path.abspath(r)) for r in roots])
    if not study_errors and not root_errors:  # problems met here are met (and warned) every run
        # the result of the next, unchanged run: no trial read, no study changed, nothing new
        unchanged_errors = store.count_ingest_errors(
            found_ids, sorted(studies), [display(os.path.abspath(r)) for r in roots])
        record(store, run, Replay(report.trials_found, unchanged_errors, sorted(studies),
                                  dict(found.trials_per_root)))
    return report


def _record_root_errors(store: Store, roots: list[str], errors: list[tuple[str, str, str, str]],
                        stamp: datetime, warn: Warn, report: IngestReport) -> None:
    """Errors that belong to no trial: kept once per (path, error), replaced per root."""
    frame_ = pl.DataFrame([{"ingested_at": stamp, "root": display(r), "study": None, "trial_id": None,
                            "path": display(p), "error": e, "hint": h} for r, p, e, h in errors],
                          schema=_ERROR_SCHEMA)
    store.replace_root_errors(sorted({display(os.path.abspath(r)) for r in roots}), frame_)
    for _, p, e, h in errors:
        warn(f"{display(p)}: {e}; {h}")
    report.errors += len(errors)
