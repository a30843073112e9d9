"""Candidate lines by ripgrep: one `rg` subprocess over explicit paths of regular files.

ripgrep searches many literals at memory speed on all cores without splitting every line into a
string (Polars' line split was 60 % of ingest on dense logs; benchmarks/RESULTS.md). Its output
(`path NUL line_no : text`) is read in bounded blocks by a thread and parsed by Polars; the
exact prefilter (`logs.is_candidate`) is applied again to what rg printed, so the kept lines are
exactly those of the Polars scanner (rg's pattern is only a superset filter).

The binary: `$ANALYZER_RG` (a path, or `none` to disable), else the `rg` installed next to the
running Python (PyPI's `ripgrep` wheel, a dependency on Linux x86_64/aarch64), else `rg` on PATH.
Without one, or if rg fails, callers fall back to the Polars scanner.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable
from functools import lru_cache
from typing import Generic, TypeVar

import polars as pl

READ_BYTES = 4 << 20
MAX_OUTPUT_LINE = 16 << 20    # a longer rg output line is cut (bounded memory)
PATHS_PER_RUN = 1000          # keep the command line far below ARG_MAX
# the vocabulary pattern (build_pattern): ASCII case-insensitive words
WORD_FLAGS = ("--no-unicode", "-i")
# rule regexes as Polars runs them: Unicode, case as the regex says, `$` before a CR
RULE_FLAGS = ("--crlf",)


@lru_cache(maxsize=1)
def rg_binary() -> str | None:
    """Path of the ripgrep binary to use, or None."""
    env = os.environ.get("ANALYZER_RG")
    if env:
        return None if env.lower() in ("none", "0", "off") else (shutil.which(env) or None)
    beside = os.path.join(os.path.dirname(sys.executable), "rg")
    if os.path.isfile(beside) and os.access(beside, os.X_OK):
        return beside
    return shutil.which("rg")


RUST_META = frozenset("\\.+*?()|[]{}^$")
CLASS_META = frozenset("\\[]^-")


def rx_escape(text: str, meta: frozenset[str] = RUST_META) -> str:
    """Escape only what Rust's regex treats as syntax: Python's re.escape also escapes spaces and
    `#`, which older regex crates refuse ("unrecognized escape sequence": ripgrep 13, Debian's),
    and a refused pattern would send every log to the slower Polars scanner."""
    return "".join("\\" + c if c in meta else c for c in text)


def build_pattern(words: tuple[str, ...], excluded: tuple[str, ...]) -> str:
    """A Rust regex (no look-around) matching lines that contain a word and do not start with an
    excluded prefix. At each position of the prefix a line may (a) have a word start there,
    (b) differ from every excluded prefix there and have a word later, or (c) go on with the
    prefix; a line that completes an excluded prefix matches nothing. Words are ASCII
    case-insensitive (rg -i --no-unicode), the prefixes case-sensitive."""
    ws = sorted({w.lower() for w in words})
    ws = [w for w in ws if not any(v != w and v in w for v in ws)]  # "kill" covers "sigkill"
    word = "(?:" + "|".join(rx_escape(w) for w in ws) + ")"

    def level(prefixes: list[str], depth: int) -> str | None:
        nexts = sorted({p[depth] for p in prefixes if len(p) > depth})
        if not nexts or any(len(p) == depth for p in prefixes):
            return None
        cls = "".join(rx_escape(c, CLASS_META) for c in nexts)
        alts = [word, f"(?-i:[^{cls}\\n]).*?{word}"]
        for c in nexts:
            sub = level([p for p in prefixes if len(p) > depth and p[depth] == c], depth + 1)
            if sub is not None:
                alts.append(f"(?-i:{rx_escape(c)}){sub}")
        return "(?:" + "|".join(alts) + ")"

    body = level(list(excluded), 0) if excluded else word
    return "^" + (body or word) if excluded else word


def usable_path(path: str) -> bool:
    """Paths rg's line output can carry unambiguously (others go to the Polars scanner)."""
    if any(c in path for c in "\n\r\x00\x1f"):
        return False
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


F = TypeVar("F", bound=list[pl.DataFrame])


class RgScan(Generic[F]):
    """Runs rg over `paths` (file_id i <-> paths[i]) in a background thread; `result()` gives
    file_id, line_no, text of every candidate line, or None when rg failed."""

    def __init__(self, binary: str, pattern: str, paths: list[tuple[int, str]],
                 keep: pl.Expr, frames: F, compact: Callable[[F], None],
                 max_chars: int, flags: tuple[str, ...] = WORD_FLAGS) -> None:
        self.binary, self.pattern, self.paths, self.flags = binary, pattern, paths, flags
        self.keep, self.compact, self.max_chars = keep, compact, max_chars
        self.frames = frames
        self.error: str | None = None
        self.lookup = pl.DataFrame({"path": [p for _, p in paths], "file_id": [i for i, _ in paths]},
                                   schema={"path": pl.String, "file_id": pl.Int64})
        self.thread = threading.Thread(target=self._run, name="rgscan", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            for start in range(0, len(self.paths), PATHS_PER_RUN):
                self._run_one([p for _, p in self.paths[start:start + PATHS_PER_RUN]])
                if self.error:
                    return
        except Exception as exc:
            self.error = f"{type(exc).__name__}: {exc}"

    def _run_one(self, paths: list[str]) -> None:
        # --no-mmap: rg maps a large file when it searches few, and a mapped 1 GB log counts as
        # 1 GB of its RSS (read() costs no more CPU here)
        cmd = [self.binary, "--no-config", "--no-mmap", *self.flags, "-a", "-n", "--null", "--with-filename",
               "--no-heading", "--color", "never", "-e", self.pattern, "--", *paths]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        err_chunks: list[bytes] = []
        assert proc.stderr is not None
        stderr_pipe = proc.stderr
        err_thread = threading.Thread(target=lambda: err_chunks.append(stderr_pipe.read()), daemon=True)
        err_thread.start()
        carry = b""
        skipping = False   # inside an over-long line: drop bytes up to its newline
        assert proc.stdout is not None
        while True:
            block = proc.stdout.read(READ_BYTES)
            if not block:
                break
            if skipping:
                nl = block.find(b"\n")
                if nl < 0:
                    continue
                block, skipping = block[nl + 1:], False
            data = carry + block
            cut = data.rfind(b"\n")
            if cut < 0:
                if len(data) > MAX_OUTPUT_LINE:
                    self._parse(data[:MAX_OUTPUT_LINE] + b"\n")
                    carry, skipping = b"", True
                else:
                    carry = data
                continue
            self._parse(data[: cut + 1])
            carry = data[cut + 1:]
        if carry and not skipping:
            self._parse(carry + b"\n")
        code = proc.wait()
        err_thread.join()
        stderr = b"".join(err_chunks).decode("utf-8", "replace")
        if code in (0, 1):
            return
        # exit 2 with only per-file messages (a file vanished or is unreadable): the other
        # files' results are complete; the read pass records the unreadable file itself
        known = set(paths)
        per_file = [ln for ln in stderr.splitlines() if ln.strip()]
        if code == 2 and per_file and all(_names_a_path(ln, known) for ln in per_file):
            return
        self.error = f"rg exited {code}: {stderr.strip()[-300:]}"

    def _parse(self, data: bytes) -> None:
        raw = read_lines(data, "raw")
        if raw.is_empty():
            return
        head = pl.col("raw").str.splitn("\x00", 2)
        frame = (
            raw.select(head.struct.field("field_0").alias("path"), head.struct.field("field_1").alias("rest"))
            .select("path", pl.col("rest").str.splitn(":", 2).alias("nt"))
            .select("path", pl.col("nt").struct.field("field_0").cast(pl.Int64, strict=False).alias("line_no"),
                    pl.col("nt").struct.field("field_1").fill_null("").alias("text"))
            .filter(pl.col("line_no").is_not_null() & self.keep)
            .join(self.lookup, on="path", how="inner")
            .select("file_id", "line_no", pl.col("text").str.slice(0, self.max_chars).cast(pl.Binary)
                    .cast(pl.String))  # owns its bytes: see logs.compact_text
        )
        if frame.height:
            self.frames.append(frame)
            self.compact(self.frames)

    def result(self) -> pl.DataFrame | None:
        self.thread.join()
        if self.error:
            return None
        if not self.frames:
            return pl.DataFrame(schema={"file_id": pl.Int64, "line_no": pl.Int64, "text": pl.String})
        return pl.concat(self.frames)


COLUMN_SEPARATOR = "\x1f"  # the CSV separator lines are read with: one column, no quoting


def read_lines(data: bytes, column: str, row_index: str | None = None) -> pl.DataFrame:
    """Every line of `data` as one String column (`row_index`: also each line's row, from 0).
    Polars' CSV reader with one column and no quoting splits lines at native speed on all cores;
    invalid UTF-8 is replaced. The separator byte, which binary garbage in a log holds, becomes
    U+FFFD as invalid bytes do (a first line holding it failed the read, and a later one lost its
    text after it)."""
    sep = COLUMN_SEPARATOR.encode()
    if sep in data:
        data = data.replace(sep, "\ufffd".encode())
    return pl.read_csv(data, has_header=False, separator=COLUMN_SEPARATOR, quote_char=None,
                       schema={column: pl.String}, encoding="utf8-lossy", truncate_ragged_lines=True,
                       raise_if_empty=False, row_index_name=row_index)


def _names_a_path(line: str, paths: set[str]) -> bool:
    rest = line[4:] if line.startswith("rg: ") else line
    return any(rest.startswith(p + ":") for p in paths)
