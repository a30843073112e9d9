"""Stream logs of any size and keep the lines classification needs.

Every log is read in bounded chunks cut at newlines; chunks from many files are joined into one
buffer and split into lines by Polars' CSV reader (one column, no quoting), and a literal
Aho-Corasick prefilter (`str.contains_any`) keeps the candidate lines. The last lines of every
stream are kept too (excerpts, rules that look at the end). Memory stays bounded: at most
`BATCH_BYTES` of log text is held at once, and at most `MAX_CANDIDATES_PER_STREAM` lines per
stream are kept (the first half and the last half of the candidates).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import polars as pl

CHUNK_BYTES = 4 << 20
BATCH_BYTES = 16 << 20
TAIL_LINES = 20
MAX_CANDIDATES_PER_STREAM = 4000
MAX_LINE_CHARS = 2000

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


@dataclass
class FileStats:
    size_bytes: int = 0
    lines: int = 0
    invalid_utf8_bytes: int = 0
    error: str | None = None


@dataclass
class LogScan:
    lines: pl.DataFrame                 # key, stream, line_no, text, is_tail
    stats: list[FileStats] = field(default_factory=list)  # one per input file, same order


_SCHEMA = {"key": pl.Int64, "stream": pl.String, "line_no": pl.Int64, "text": pl.String,
           "is_tail": pl.Boolean}


def _empty_lines() -> pl.DataFrame:
    return pl.DataFrame(schema=_SCHEMA)


def _invalid_utf8(piece: bytes) -> int:
    if piece.isascii():  # the common case, checked at memory speed
        return 0
    try:
        piece.decode("utf-8")
        return 0
    except UnicodeDecodeError:
        return len(piece) - len(piece.decode("utf-8", "ignore").encode("utf-8"))


def _prefiltered_lines(data: bytes) -> pl.DataFrame:
    """`row` (from 0) and `text` of every candidate line. Polars' CSV reader with one column and
    no quoting splits lines at native speed on all cores; invalid UTF-8 is replaced."""
    frame = pl.read_csv(
        data, has_header=False, separator="\x1f", quote_char=None, schema={"text": pl.String},
        encoding="utf8-lossy", truncate_ragged_lines=True, raise_if_empty=False, row_index_name="row",
    )
    return frame.filter(
        pl.col("text").str.contains_any(list(PREFILTER_WORDS), ascii_case_insensitive=True)
        # OpenROAD's logger marks informational lines; they are never failure evidence and
        # real flows print hundreds of thousands of them ("... not found", "cannot ...").
        & ~pl.col("text").str.starts_with("[INFO ")
        & ~pl.col("text").str.starts_with("[WARNING ")
    )


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

    def candidates(self) -> pl.DataFrame:
        """file_id, line_no, text of every prefiltered line in the batch."""
        if not self.pieces:
            return pl.DataFrame(schema={"file_id": pl.Int64, "line_no": pl.Int64, "text": pl.String})
        hits = _prefiltered_lines(b"".join(self.pieces))
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
        )


def _cap(frame: pl.DataFrame) -> pl.DataFrame:
    """Keep the first and the last MAX/2 candidates of each file."""
    half = MAX_CANDIDATES_PER_STREAM // 2
    idx = pl.int_range(pl.len()).over("file_id")
    n = pl.len().over("file_id")
    return frame.sort("file_id", "line_no").filter((idx < half) | (idx >= n - half))


def scan_logs(files: list[LogFile]) -> LogScan:
    """Read every file once, in bounded memory; return kept lines and per-file stats."""
    stats = [FileStats() for _ in files]
    kept: list[pl.DataFrame] = []
    tails: list[dict] = []
    batch = _Batch()

    def compact() -> None:
        # a log full of matching lines must not grow memory: cap what is kept so far
        if sum(f.height for f in kept) > 50 * MAX_CANDIDATES_PER_STREAM:
            kept[:] = [_cap(pl.concat(kept))]

    def flush() -> None:
        nonlocal batch
        found = batch.candidates()
        if found.height:
            kept.append(found)
            compact()
        batch = _Batch()

    for file_id, log in enumerate(files):
        st = stats[file_id]
        try:
            with open(log.path, "rb") as fh:
                line_no = 1
                carry = b""
                last_piece = b""
                while True:
                    block = fh.read(CHUNK_BYTES)
                    if not block:
                        break
                    st.size_bytes += len(block)
                    data = carry + block
                    cut = data.rfind(b"\n")
                    if cut < 0 and len(data) < 4 * CHUNK_BYTES:
                        carry = data
                        continue
                    cut = cut if cut >= 0 else len(data) - 1  # a single line this long is cut
                    piece, carry = data[: cut + 1], data[cut + 1:]
                    st.invalid_utf8_bytes += _invalid_utf8(piece)
                    n = piece.count(b"\n")
                    batch.add(file_id, line_no, piece, n)
                    line_no += n
                    last_piece = piece
                    if batch.nbytes >= BATCH_BYTES:
                        flush()
                if carry:
                    piece = carry + b"\n"
                    st.invalid_utf8_bytes += _invalid_utf8(carry)
                    batch.add(file_id, line_no, piece, 1)
                    line_no += 1
                    last_piece = (last_piece[-65536:] + piece) if last_piece else piece
                st.lines = line_no - 1
                tail = last_piece[-65536:].split(b"\n")[:-1][-TAIL_LINES:]
                for i, raw in enumerate(tail):
                    tails.append({"file_id": file_id, "line_no": st.lines - len(tail) + 1 + i,
                                  "text": raw.rstrip(b"\r").decode("utf-8", "replace")[:MAX_LINE_CHARS]})
        except OSError as exc:
            st.error = exc.strerror or str(exc)
    flush()

    cand = pl.concat(kept) if kept else pl.DataFrame(
        schema={"file_id": pl.Int64, "line_no": pl.Int64, "text": pl.String})
    cand = _cap(cand).with_columns(pl.lit(False).alias("is_tail"))
    tail_frame = pl.DataFrame(tails, schema={"file_id": pl.Int64, "line_no": pl.Int64,
                                             "text": pl.String}).with_columns(pl.lit(True).alias("is_tail"))
    lines = (
        pl.concat([cand, tail_frame])
        .with_columns(pl.col("text").str.strip_chars_end("\r"))
        .group_by("file_id", "line_no")
        .agg(pl.col("text").first(), pl.col("is_tail").any())
    )
    meta = pl.DataFrame({
        "file_id": pl.Series(range(len(files)), dtype=pl.Int64),
        "key": pl.Series([f.key for f in files], dtype=pl.Int64),
        "stream": pl.Series([f.stream for f in files], dtype=pl.String),
    })
    lines = (lines.join(meta, on="file_id", how="left")
             .select("key", "stream", "line_no", "text", "is_tail")
             .sort("key", "stream", "line_no"))
    return LogScan(lines, stats)


def file_size(path: str) -> int | None:
    try:
        return os.stat(path).st_size
    except OSError:
        return None
