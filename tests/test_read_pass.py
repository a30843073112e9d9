"""The one bounded read of every log (logs._read_pass): chunks cut at newlines that decompress to
the file's exact bytes, with exact first-line numbers; line counts, invalid UTF-8 and tail lines
as a plain reading of the whole file gives them, at every chunk boundary."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analyzer.ingest import logs
from analyzer.ingest.logs import LogFile, scan_logs


def _expected(data: bytes) -> tuple[int, list[str]]:
    """Line count and the last TAIL_LINES lines, read the simple way."""
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    tail = [ln.rstrip(b"\r").decode("utf-8", "replace")[: logs.MAX_LINE_CHARS] for ln in lines[-logs.TAIL_LINES:]]
    return len(lines), tail


def _check(path: Path, data: bytes) -> None:
    scan = scan_logs([LogFile(0, "stdout", str(path))], scanner="polars")
    stat = scan.stats[0]
    n_lines, tail = _expected(data)
    assert stat.error is None and stat.size_bytes == len(data)
    assert stat.lines == n_lines
    invalid = len(data) - len(data.decode("utf-8", "ignore").encode("utf-8"))
    assert stat.invalid_utf8_bytes == invalid
    chunks = sorted(scan.chunks or [], key=lambda c: c[2])
    dec = zstandard.ZstdDecompressor()
    assert b"".join(dec.decompress(c[6]) for c in chunks) == data
    line = 1
    for i, (_key, _stream, _chunk_no, first, n, raw, blob) in enumerate(chunks):
        body = dec.decompress(blob)
        assert first == line and raw == len(body)
        if i < len(chunks) - 1:  # cut at a newline, unless one line outgrew 4 blocks
            assert body.endswith(b"\n") or len(body) >= 4 * logs.CHUNK_BYTES
        line += n
    assert line - 1 == n_lines
    tails = scan.lines.filter("is_tail").sort("line_no")
    assert tails["line_no"].to_list() == list(range(n_lines - len(tail) + 1, n_lines + 1))
    assert tails["text"].to_list() == tail


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(logs, "CHUNK_BYTES", 64)


@pytest.mark.parametrize("data", [
    b"", b"x", b"one line\n", b"no newline at the end", b"\n\n\n",
    b"a" * 64 + b"\n", b"a" * 63 + b"\n" + b"b" * 10,             # a line ends right at the block
    b"a" * 1000,                                                    # one line longer than 4 blocks: cut
    b"\n\n" + b"a" * 254,                # a last line cut at 4 blocks (256 bytes) right at the end
    b"".join(b"line %d\n" % i for i in range(200)) + b"tail",      # many chunks, an unterminated end
    b"".join(b"line %d\n" % i for i in range(40)) + b"\n" * 3,     # a small last chunk: 20 tail lines
    "é".encode() * 40 + b"\xff\xfe\n" + "ü".encode() * 40,           # UTF-8 straddling block ends
])
def test_chunks_lines_and_tails_at_every_boundary(tmp_path, small_chunks, data):
    path = tmp_path / "log"
    path.write_bytes(data)
    _check(path, data)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
# no failure word: a line cut at 4 blocks (16 MiB in use, 256 bytes here) keeps only its first
# part as a candidate, which is the whole of MAX_LINE_CHARS in use but not at this block size
@given(st.lists(st.sampled_from([b"\n", b"\r\n", b"ab", b"fine here", b"x" * 70, "ß".encode(), b"\xff"]),
                max_size=60))
def test_any_log_reads_back_exactly(tmp_path, small_chunks, parts):
    data = b"".join(parts)
    path = tmp_path / "log"
    path.write_bytes(data)
    _check(path, data)


def test_a_line_longer_than_a_chunk_is_one_candidate_with_its_start(tmp_path, small_chunks):
    data = b"ok\n" + b"error at the start " + b"y" * 300 + b" fatal at the end\n" + b"plain\n" * 30
    path = tmp_path / "log"
    path.write_bytes(data)
    lines = scan_logs([LogFile(0, "stdout", str(path))], scanner="polars").lines.filter(~pl.col("is_tail"))
    assert lines["line_no"].to_list() == [2]
    assert lines["text"].item().startswith("error at the start yyy")
