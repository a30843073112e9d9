"""Stream logs of any size: keep the lines classification needs and the whole log, compressed.

Candidate lines (any `PREFILTER_WORDS` word, not an OpenROAD `[INFO `/`[WARNING ` line) come
from ripgrep when its binary is there (`rgscan.py`: one subprocess over explicit paths of
regular files, output parsed by Polars), else from Polars: chunks from many files are joined
into one buffer, split into lines by Polars' CSV reader (one column, no quoting) and filtered by
a literal Aho-Corasick prefilter (`str.contains_any`). Both give the same lines.

Every log is also read once here in bounded chunks cut at newlines: its size, line count,
invalid UTF-8 bytes and last lines (kept for excerpts and rules that look at the end), and each
chunk compressed with zstd in a thread pool (zstd releases the GIL) so that the store holds the
whole log (`log_chunks`, see `analyzer/logstore.py`) and a rule written later sees every line.
Memory stays bounded: at most `BATCH_BYTES` of log text is held at once, and at most
`MAX_CANDIDATES_PER_STREAM` lines per stream are kept (the first and the last half).
FIFOs, devices and directories are never opened for reading (checked with fstat on a
non-blocking descriptor).
"""

from __future__ import annotations

import os
import stat
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import polars as pl

CHUNK_BYTES = 4 << 20
BATCH_BYTES = 16 << 20
TAIL_LINES = 20
TAIL_BYTES = 65536   # the last bytes of a log its tail lines are cut from
MAX_CANDIDATES_PER_STREAM = 4000
MAX_LINE_CHARS = 2000
COMPRESS_LEVEL = 1      # zstd level: see benchmarks/RESULTS.md (level 3 costs ~40 % more CPU for ~3 % less)
COMPRESS_THREADS = 2

# OpenROAD's logger prefixes of informational lines: never candidates (case-sensitive).
EXCLUDED_PREFIXES = ("[INFO ", "[WARNING ")

# Lower-case literals; a line containing any of them (ASCII case-insensitively) is kept, unless it
# is an OpenROAD `[INFO ...]` or `[WARNING ...]` line.
# This is the vocabulary user rules can see: document changes in the README.
PREFILTER_WORDS = (
    "error", "fatal", "fail", "abort", "panic", "exception", "traceback", "critical",
    "kill", "oom", "of memory", "allocate memory", "memory exhausted", "memoryerror", "memory allocation",
    "memory cgroup", "enough memory", "insufficient memory", "resource: memory", "peak memory", "alloc",
    "enomem", "resident",
    "signal", "sigsegv", "sigkill", "sigabrt", "sigbus", "segmentation", "segv", "core dump",
    "dumped", "bus error", "illegal instruction", "floating point", "stack trace", "backtrace",
    "timeout", "timed out", "time limit", "deadline", "terminated", "exited", "exit code",
    "exit status", "return code", "returned non-zero", "non-zero",
    "not found", "no such", "missing", "undefined", "unset", "invalid",
    "unable", "cannot", "can't", "couldn't", "could not", "denied", "not permitted", "wrong # args",
    "drc", "lvs", "netlists", "mismatch",
    "network", "connection", "refused", "reset by peer", "unreachable", "resolve", "resolution",
    "handshake", "tls", "http", "registry", "proxyconnect",
    "space left", "quota", "stale", "read-only", "input/output", "busy", "too many",
    "temporarily", "docker", "container", "oci runtime", "daemon", "crash", "died", "reason",
    "exceeded", "took longer", "no output", "no rule to make", "unrecognized", "alarm clock",
    "backoff", "violation", "[place ", "divergence", "congest",
)


@dataclass
class LogFile:
    key: int        # caller's index of the trial
    stream: str     # stdout | stderr | kernel | time
    path: str
    full: bool = True   # keep every candidate line; False (a trial that succeeded): only SUCCESS_* lines


@dataclass
class FileStats:
    size_bytes: int = 0
    lines: int = 0
    invalid_utf8_bytes: int = 0
    error: str | None = None
    compressed_bytes: int = 0
    omitted_bytes: int = 0     # of the middle of a log past STORED_LOG_BYTES, not stored
    omitted_lines: int = 0
    omitted_from: int = 0      # its first line


ChunkRow = tuple[int, str, int, int, int, int, bytes]


@dataclass
class LogScan:
    lines: pl.DataFrame                 # key, stream, line_no, text, is_tail
    stats: list[FileStats] = field(default_factory=list)  # one per input file, same order
    chunks: list[ChunkRow] | None = None   # key, stream, chunk_no, first_line, n_lines, raw_bytes, zstd data
    scanner: str = "polars"             # what found the candidates: ripgrep | polars


CHUNK_SCHEMA = {"key": pl.Int64, "stream": pl.String, "chunk_no": pl.Int32, "first_line": pl.Int64,
                "n_lines": pl.Int64, "raw_bytes": pl.Int64, "data": pl.Binary}


_SCHEMA = {"key": pl.Int64, "stream": pl.String, "line_no": pl.Int64, "text": pl.String,
           "is_tail": pl.Boolean}


def _empty_lines() -> pl.DataFrame:
    return pl.DataFrame(schema=_SCHEMA)


def _newlines(data: bytes) -> int:
    """How many newlines `data` holds. CPython 3.11's bytes.count tests byte by byte; replace()
    finds them with memchr: 0.85 -> 0.54 CPU s per GB of dense logs (every line counted)."""
    return len(data) - len(data.replace(b"\n", b""))


def _invalid_utf8(piece: bytes) -> int:
    if piece.isascii():  # the common case, checked at memory speed
        return 0
    try:
        piece.decode("utf-8")
        return 0
    except UnicodeDecodeError:
        return len(piece) - len(piece.decode("utf-8", "ignore").encode("utf-8"))


def is_candidate(text: pl.Expr) -> pl.Expr:
    """The prefilter as one expression: any vocabulary word (ASCII case-insensitively), and not
    an OpenROAD logger INFO/WARNING line."""
    return (
        text.str.contains_any(list(PREFILTER_WORDS), ascii_case_insensitive=True)
        # OpenROAD's logger marks informational lines; they are never failure evidence and
        # real flows print hundreds of thousands of them ("... not found", "cannot ...").
        & ~pl.any_horizontal(text.str.starts_with(p) for p in EXCLUDED_PREFIXES)
    )


# A trial that succeeded needs few of its lines split out (its whole log is stored for late
# rules anyway): the candidate lines that the shipped rules applying to successes
# (`only_failed = false`) match, the peaks ingest reads (`Peak memory: NKB`, GNU time's maximum
# RSS) and the timeout marks of sql/schema_time.sql. The vocabulary recorded for these logs
# covers only those rules, so any other rule that applies to a success runs over the stored log.
SUCCESS_LITERALS = ("Peak memory: ", "Maximum resident set size", "_TIMEOUT]")
SUCCESS_STARTS = ("timeout: ",)


@lru_cache(maxsize=1)
def success_rule_patterns() -> tuple[str, ...]:
    """Regexes (Polars/Rust syntax) of the shipped rules that apply to trials that succeeded."""
    from ..rules import load_rules

    return tuple(sorted({r.regex for r in load_rules().rules if not r.only_failed}))


def success_wanted(text: pl.Expr) -> pl.Expr:
    """Whether a line of a successful trial's log is wanted (matched on the text as log_lines
    holds it: cut at MAX_LINE_CHARS, CR stripped), whether or not it is a candidate."""
    clean = text.str.slice(0, MAX_LINE_CHARS).str.strip_chars_end("\r")
    wanted = ([clean.str.contains(p) for p in success_rule_patterns()]
              + [clean.str.contains(lit, literal=True) for lit in SUCCESS_LITERALS]
              + [clean.str.starts_with(s) for s in SUCCESS_STARTS])
    return pl.any_horizontal(wanted)


def is_success_kept(text: pl.Expr) -> pl.Expr:
    """The kept lines of a successful trial's log: candidates that are wanted."""
    return is_candidate(text) & success_wanted(text)


def success_rg_pattern() -> str:
    """One Rust regex that every kept line of a successful trial matches (rg prefilter, Unicode
    mode as Polars; `is_success_kept` is applied again to what rg prints)."""
    from .rgscan import rx_escape

    return "|".join([f"(?:{p})" for p in success_rule_patterns()]
                    + [rx_escape(lit) for lit in SUCCESS_LITERALS]
                    + ["^" + rx_escape(s) for s in SUCCESS_STARTS])


def compact_text(col: str = "text") -> pl.Expr:
    """A copy of a string column that owns its bytes. Polars strings are views into the buffer
    they were cut from: 50 kept lines of a 4 MiB block would keep the whole block alive (1.3 GiB
    RSS on the dense benchmark); the round trip through Binary copies only the kept bytes."""
    return pl.col(col).cast(pl.Binary).cast(pl.String)


def split_lines(data: bytes) -> pl.DataFrame:
    """`row` (from 0) and `text` of every line (rgscan.read_lines)."""
    from .rgscan import read_lines

    return read_lines(data, "text", row_index="row")


def _prefiltered_lines(data: bytes) -> pl.DataFrame:
    """`row` and `text` of every candidate line."""
    return split_lines(data).filter(is_candidate(pl.col("text")))


class _Batch:
    """Pieces of many files, split into lines and prefiltered in one Polars call."""

    def __init__(self) -> None:
        self.pieces: list[bytes] = []
        self.file_ids: list[int] = []
        self.first_line: list[int] = []   # line number of the piece's first line
        self.row_starts: list[int] = []   # row offset of the piece in the joined buffer
        self.rows = 0
        self.nbytes = 0

    def add(self, file_id: int, first_line: int, piece: bytes, nlines: int) -> None:
        self.pieces.append(piece)
        self.file_ids.append(file_id)
        self.first_line.append(first_line)
        self.row_starts.append(self.rows)
        self.rows += nlines
        self.nbytes += len(piece)

    def candidates(self, brief: frozenset[int] = frozenset()) -> pl.DataFrame:
        """file_id, line_no, text of every prefiltered line in the batch (of the files in
        `brief`, only the lines a successful trial keeps)."""
        found = self.lines(is_candidate(pl.col("text")))
        if brief and found.height:
            found = found.filter(~pl.col("file_id").is_in(list(brief)) | success_wanted(pl.col("text")))
        return found

    def lines(self, keep: pl.Expr | None = None) -> pl.DataFrame:
        """file_id, line_no, text of every line of the batch for which `keep` holds."""
        if not self.pieces:
            return pl.DataFrame(schema={"file_id": pl.Int64, "line_no": pl.Int64, "text": pl.String})
        hits = split_lines(b"".join(self.pieces))
        if keep is not None:
            hits = hits.filter(keep)
        starts = pl.Series("start", self.row_starts, dtype=pl.Int64)
        piece = (starts.search_sorted(hits["row"].cast(pl.Int64), side="right") - 1).alias("piece")
        lookup = pl.DataFrame({
            "piece": pl.Series(range(len(self.pieces)), dtype=piece.dtype),
            "file_id": pl.Series(self.file_ids, dtype=pl.Int64),
            "first_line": pl.Series(self.first_line, dtype=pl.Int64),
            "start": starts,
        })
        return (
            hits.with_columns(piece)
            .join(lookup, on="piece", how="left")
            .select(
                "file_id",
                (pl.col("row").cast(pl.Int64) - pl.col("start") + pl.col("first_line")).alias("line_no"),
                pl.col("text").str.slice(0, MAX_LINE_CHARS),
            )
            # a line longer than a chunk is cut into rows with one line number: keep its start,
            # as ripgrep (which sees the whole line) keeps its first MAX_LINE_CHARS
            .unique(subset=["file_id", "line_no"], keep="first", maintain_order=True)
            .with_columns(compact_text())
        )


def _cap(frame: pl.DataFrame) -> pl.DataFrame:
    """Keep the first and the last MAX/2 candidates of each file."""
    half = MAX_CANDIDATES_PER_STREAM // 2
    idx = pl.int_range(pl.len()).over("file_id")
    n = pl.len().over("file_id")
    return frame.sort("file_id", "line_no").filter((idx < half) | (idx >= n - half))


class Kept(list[pl.DataFrame]):
    """Candidate frames found so far, and the row count left by the last cap."""
    capped_rows = 0


def _compact(kept: Kept) -> None:
    """A log full of matching lines must not grow memory: cap what is kept so far (only when
    it doubled since the last cap, so that many small logs do not re-sort it every time)."""
    if sum(f.height for f in kept) > max(50 * MAX_CANDIDATES_PER_STREAM, 2 * kept.capped_rows):
        kept[:] = [_cap(pl.concat(kept))]
        kept.capped_rows = kept[0].height


def regular_file_problem(path: str) -> str | None:
    """Why `path` must not be read as a log (None for a regular file): FIFOs block, devices never end."""
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        return exc.strerror or str(exc)
    return None if stat.S_ISREG(mode) else "not a regular file (a FIFO, device or directory); not read"


def _open_regular(path: str) -> int:
    """A read descriptor of a regular file (non-blocking open, then fstat: a FIFO swapped in after
    the check is still refused without blocking)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(0, "not a regular file (a FIFO, device or directory); not read")
    return fd


def _limit_malloc_arenas(arenas: int = 1) -> None:
    """glibc gives each thread that allocates (zstd workers, the rg reader, DuckDB's threads) its
    own malloc arena and keeps freed blocks there: on the dense 1 GB benchmark that alone was
    ~150 MiB of peak RSS. One shared arena costs no measurable time here. No-op off glibc."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").mallopt(-8, arenas)  # M_ARENA_MAX
    except (OSError, AttributeError):
        pass


_limit_malloc_arenas()
_TLS = threading.local()
MAX_INFLIGHT = 2 * COMPRESS_THREADS + 2   # chunks read but not yet compressed (bounded memory)
# Compressed bytes stored per log. A trial is written in one transaction, whose blobs DuckDB holds
# in memory until COMMIT (96 MB failed under its 100 MB limit): a 1 GB log (130 MB compressed)
# failed the whole ingest. A log past this keeps its head (3/4 of it) and its end (1/4); the
# middle is not stored, and said so (FileStats.omitted_*). Its candidate lines come from the whole
# log all the same. 16 MB holds about 130 MB of OpenROAD-style text.
STORED_LOG_BYTES = 16 << 20


class _StoredChunks:
    """Which of one log's chunks are stored: the head while it fits 3/4 of STORED_LOG_BYTES, then
    a rolling window of the last chunks within the rest. Compressed sizes arrive later (the zstd
    pool): pending chunks are estimated at the log's ratio so far, and when that says the head is
    full the log's pending chunks are settled first, so a log is cut on real sizes."""

    def __init__(self, chunks: list[list[Any]], settle: Callable[[int], None], budget: int) -> None:
        self.chunks, self.settle = chunks, settle   # the batch's rows, which this log's rows end
        self.head_budget, self.tail_budget = budget - budget // 4, budget // 4
        self.head: list[list[Any]] = []
        self.tail: deque[list[Any]] = deque()
        self.in_tail = False
        self.omitted_bytes = 0
        self.omitted_lines = 0
        self.omitted_from = 0   # the first line not stored

    def _estimate(self, rows: Iterable[list[Any]]) -> float:
        rows = list(rows)
        done = [r for r in self.head + list(self.tail) if r[5]]
        ratio = sum(len(r[5]) for r in done) / max(1, sum(r[4] for r in done)) if done else 1.0
        return sum(len(r[5]) if r[5] else r[4] * ratio for r in rows)

    def add(self, row: list[Any]) -> None:
        self.chunks.append(row)
        if not self.in_tail:
            if self._estimate([*self.head, row]) > self.head_budget and any(not r[5] for r in self.head):
                self.settle(0)   # sizes are guesses yet: wait for the real ones (large logs only)
            if not self.head or self._estimate([*self.head, row]) <= self.head_budget:
                self.head.append(row)
                return
            self.in_tail = True
        self.tail.append(row)
        while len(self.tail) > 1 and self._estimate(self.tail) > self.tail_budget:
            old = self.tail.popleft()
            # this log's rows end the batch's: the tail last, `old` just before it
            del self.chunks[len(self.chunks) - len(self.tail) - 1]
            self.omitted_bytes += old[4]
            self.omitted_lines += old[3]
            self.omitted_from = self.omitted_from or old[2]  # the oldest goes first


def _compress(parts: tuple[bytes, ...]) -> bytes:
    """zstd one chunk given in parts (one compressor per worker thread; the GIL is released while
    it runs). One frame with its content size, as one call on the joined parts would write: the
    parts are not joined, which would copy every chunk once more."""
    comp = getattr(_TLS, "comp", None)
    if comp is None:
        import zstandard

        comp = _TLS.comp = zstandard.ZstdCompressor(level=COMPRESS_LEVEL)
    if len(parts) == 1:
        out = comp.compress(parts[0])
    else:
        stream = comp.compressobj(size=sum(len(p) for p in parts))
        out = b"".join([*(stream.compress(p) for p in parts), stream.flush()])
    # a right-sized copy: compress() returns its compressBound-sized buffer shrunk in place,
    # which leaves every kept result pinning a 4 MiB hole in the heap (660 MiB RSS for 1 GB)
    return bytes(memoryview(out))


def scan_logs(files: list[LogFile], keep_whole: bool = True, scanner: str | None = None) -> LogScan:
    """Read every file once, in bounded memory; return kept lines, per-file stats and (with
    `keep_whole`) every log compressed in chunks. `scanner`: "ripgrep", "polars" or None (ripgrep
    when its binary is found)."""
    from . import rgscan

    stats = [FileStats() for _ in files]
    problems = [regular_file_problem(f.path) for f in files]
    binary = rgscan.rg_binary() if scanner in (None, "ripgrep") else None
    rg_ids = [i for i, f in enumerate(files) if problems[i] is None and rgscan.usable_path(f.path)] if binary else []
    scans: list[rgscan.RgScan[Kept]] = []
    full_ids = [i for i in rg_ids if files[i].full]
    brief_ids = [i for i in rg_ids if not files[i].full]
    if binary and full_ids:  # failed trials: every candidate line
        scans.append(rgscan.RgScan(binary, rgscan.build_pattern(PREFILTER_WORDS, EXCLUDED_PREFIXES),
                                   [(i, files[i].path) for i in full_ids], is_candidate(pl.col("text")),
                                   Kept(), _compact, MAX_LINE_CHARS))
    if binary and brief_ids:  # trials that succeeded: a narrow pattern, Unicode mode as Polars' rule regexes
        scans.append(rgscan.RgScan(binary, success_rg_pattern(), [(i, files[i].path) for i in brief_ids],
                                   is_success_kept(pl.col("text")), Kept(), _compact, MAX_LINE_CHARS,
                                   flags=rgscan.RULE_FLAGS))
    by_rg = set(rg_ids)
    kept, tails, chunks = _read_pass(files, stats, problems, polars_ids=set(range(len(files))) - by_rg,
                                     keep_whole=keep_whole)
    used = "polars"
    if scans:
        results = [rg.result() for rg in scans]
        if any(found is None for found in results):  # rg failed: the Polars scanner reads these files again
            kept2, _, _ = _read_pass(files, [FileStats() for _ in files], problems, polars_ids=by_rg,
                                     keep_whole=False)
            kept += kept2
        else:
            kept.extend(found for found in results if found is not None)
            used = "ripgrep"
    for st, p in zip(stats, problems):
        if p and not st.error:
            st.error = p
    cand = pl.concat(kept) if kept else pl.DataFrame(
        schema={"file_id": pl.Int64, "line_no": pl.Int64, "text": pl.String})
    cand = _cap(cand)
    tail_frame = pl.DataFrame(tails, schema={"file_id": pl.Int64, "line_no": pl.Int64,
                                             "text": pl.String}).with_columns(pl.lit(True).alias("is_tail"))
    # a line both candidate and tail is kept once, with the candidate's text (joins, not a
    # group-by over every candidate)
    tail_keys = tail_frame.select("file_id", "line_no", pl.lit(True).alias("tail"))
    lines = pl.concat([
        cand.join(tail_keys, on=["file_id", "line_no"], how="left")
        .select("file_id", "line_no", "text", pl.col("tail").fill_null(False).alias("is_tail")),
        tail_frame.join(cand.select("file_id", "line_no"), on=["file_id", "line_no"], how="anti"),
    ]).with_columns(pl.col("text").str.strip_chars_end("\r"))
    meta = pl.DataFrame({
        "file_id": pl.Series(range(len(files)), dtype=pl.Int64),
        "key": pl.Series([f.key for f in files], dtype=pl.Int64),
        "stream": pl.Series([f.stream for f in files], dtype=pl.String),
    })
    lines = (lines.join(meta, on="file_id", how="left")
             .select("key", "stream", "line_no", "text", "is_tail")
             .sort("key", "stream", "line_no"))
    chunk_rows = None
    if keep_whole:
        chunk_rows = [(files[fid].key, files[fid].stream, no, first, n, raw, data)
                      for fid, no, first, n, raw, data in chunks]
        for fid, *_, data in chunks:
            stats[fid].compressed_bytes += len(data)
    return LogScan(lines, stats, chunk_rows, used)


def chunk_frames(rows: list[ChunkRow], max_bytes: int = 32 << 20) -> Iterator[pl.DataFrame]:
    """LogScan.chunks as frames of at most ~max_bytes of compressed data (bounded copies)."""
    start, size = 0, 0
    for i, row in enumerate(rows):
        size += len(row[6])
        if size >= max_bytes or i == len(rows) - 1:
            part = rows[start: i + 1]
            yield pl.DataFrame({name: pl.Series(name, [r[j] for r in part], dtype=dtype)
                                for j, (name, dtype) in enumerate(CHUNK_SCHEMA.items())})
            start, size = i + 1, 0


def _read_pass(files: list[LogFile], stats: list[FileStats], problems: list[str | None],
               polars_ids: set[int], keep_whole: bool
               ) -> tuple[Kept, list[dict[str, Any]], list[list[Any]]]:
    """One bounded read of every regular file: stats, tails, compressed chunks (keep_whole) and,
    for files in `polars_ids`, candidate lines by the Polars scanner."""
    kept = Kept()
    tails: list[dict[str, Any]] = []
    chunks: list[list[Any]] = []     # file_id, chunk_no, first_line, n_lines, raw_bytes, zstd data
    brief = frozenset(i for i in polars_ids if not files[i].full)
    pending: deque[tuple[list[Any], Future[bytes]]] = deque()
    batch = _Batch()
    pool = ThreadPoolExecutor(COMPRESS_THREADS, thread_name_prefix="zstd") if keep_whole else None

    def settle(limit: int) -> None:
        while len(pending) > limit:
            row, fut = pending.popleft()
            row[5] = fut.result()

    def flush() -> None:
        nonlocal batch
        found = batch.candidates(brief)
        if found.height:
            kept.append(found)
            _compact(kept)
        batch = _Batch()

    try:
        for file_id, log in enumerate(files):
            if problems[file_id]:
                continue
            st = stats[file_id]
            scan_here = file_id in polars_ids
            try:
                fd = _open_regular(log.path)
                stored = _StoredChunks(chunks, settle, STORED_LOG_BYTES)
                with os.fdopen(fd, "rb") as fh:
                    line_no = 1
                    chunk_no = 0
                    tail = b""   # the last bytes read, for the tail lines

                    def take(parts: tuple[bytes, ...], n: int, file_id: int = file_id,
                             scan_here: bool = scan_here, stored: _StoredChunks = stored) -> None:
                        nonlocal line_no, chunk_no
                        if scan_here:  # the Polars scanner wants newline-ended rows: a cut
                            # line's two halves become two rows with the same line number
                            piece = b"".join(parts)
                            if not piece.endswith(b"\n"):
                                piece += b"\n"
                            batch.add(file_id, line_no, piece, _newlines(piece))
                        if pool is not None:
                            settle(MAX_INFLIGHT)
                            row = [file_id, chunk_no, line_no, n, sum(len(p) for p in parts), b""]
                            pending.append((row, pool.submit(_compress, parts)))
                            stored.add(row)
                            chunk_no += 1
                        line_no += n

                    # A chunk is CHUNK_BYTES read plus the rest of its last line (at most
                    # 3 * CHUNK_BYTES more: a longer line is cut there and goes on in the next
                    # chunk), so chunks end at newlines without copying a block into a carry.
                    while True:
                        block = fh.read(CHUNK_BYTES)
                        if not block:
                            break
                        rest = b"" if block.endswith(b"\n") else fh.readline(3 * CHUNK_BYTES)
                        parts = (block, rest) if rest else (block,)
                        size = len(block) + len(rest)
                        st.size_bytes += size
                        n = _newlines(block) + _newlines(rest)
                        last = (rest or block).endswith(b"\n")
                        if not last and not fh.peek(1):  # (also when a cut line ends right at the end)
                            n += 1  # the file's last line, without a newline
                        if not (block.isascii() and rest.isascii()):
                            st.invalid_utf8_bytes += _invalid_utf8(b"".join(parts))
                        take(parts, n)
                        tail = (tail + block[-TAIL_BYTES:] + rest)[-TAIL_BYTES:]
                        if batch.nbytes >= BATCH_BYTES:
                            flush()
                    st.lines = line_no - 1
                    st.omitted_bytes, st.omitted_lines = stored.omitted_bytes, stored.omitted_lines
                    st.omitted_from = stored.omitted_from
                    lines = tail.split(b"\n")
                    if lines and lines[-1] == b"":
                        lines.pop()
                    tail_lines = lines[-TAIL_LINES:]
                    for i, raw in enumerate(tail_lines):
                        tails.append({"file_id": file_id, "line_no": st.lines - len(tail_lines) + 1 + i,
                                      "text": raw.rstrip(b"\r").decode("utf-8", "replace")[:MAX_LINE_CHARS]})
            except OSError as exc:
                st.error = exc.strerror or str(exc)
        flush()
        settle(0)
    finally:
        if pool is not None:
            pool.shutdown(wait=True)
    return kept, tails, chunks


def file_size(path: str) -> int | None:
    try:
        return os.stat(path).st_size
    except OSError:
        return None
