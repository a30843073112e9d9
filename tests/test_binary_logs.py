"""Logs holding binary garbage (a core or a tarball written to stdout, random bytes) are ingested
like any other: no crash, the same kept lines from ripgrep and from the Polars scanner, the
whole log stored byte for byte, and transactions small enough for DuckDB's memory limit."""

from __future__ import annotations

import random

import pytest

from analyzer.ingest import rgscan

from .conftest import invoke, make_generic_trial, query_rows

UNIT_SEPARATOR = b"\x1f"  # the byte the line readers split columns at


def _garbage_log(seed: int) -> bytes:
    rng = random.Random(seed)
    lines = [b"\x1fstart of a binary dump", b"plain line", b"junk \x1f error: after the separator",
             bytes(rng.choice([b for b in range(256) if b != 10]) for _ in range(3000)), b"\x00\x1f\xff segmentation fault here"]
    return b"\n".join(lines) + b"\n"


@pytest.mark.parametrize("scanner", ["ripgrep", "none"])
def test_separator_bytes_and_garbage_neither_crash_nor_lose_text(runner, tmp_path, db, monkeypatch, scanner):
    if scanner == "ripgrep" and rgscan.rg_binary() is None:
        pytest.skip("no ripgrep binary")
    if scanner == "none":
        monkeypatch.setenv("ANALYZER_RG", "none")
    root = tmp_path / "study"
    log = _garbage_log(1)
    make_generic_trial(root, "t1", "1", stdout=log)
    result = invoke(runner, "ingest", str(root), "--db", db)
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    lines = {r["line_no"]: r["text"] for r in query_rows(
        runner, db, "select line_no, text from trial_log_lines where stream = 'stdout'")}
    assert lines[3] == "junk \ufffd error: after the separator"  # the word after the byte is kept
    assert "segmentation fault here" in lines[5]
    stored = invoke(runner, "logs", "study/t1", "--db", db, "--stream", "stdout")
    assert stored.exit_code == 0, stored.output
    assert stored.stdout_bytes == log  # the whole log, byte for byte


def test_the_two_scanners_keep_the_same_lines_of_garbage(runner, tmp_path, monkeypatch):
    if rgscan.rg_binary() is None:
        pytest.skip("no ripgrep binary")
    root = tmp_path / "study"
    for i in range(4):
        make_generic_trial(root, f"t{i}", "1", stdout=_garbage_log(i) * 50)
    kept = []
    for scanner in ("ripgrep", "none"):
        if scanner == "none":
            monkeypatch.setenv("ANALYZER_RG", "none")
        db = str(tmp_path / f"{scanner}.duckdb")
        assert invoke(runner, "ingest", str(root), "--db", db, "-q").exit_code == 0
        kept.append(query_rows(runner, db, "select trial_id, stream, line_no, text from trial_log_lines "
                                           "order by all"))
    assert kept[0] == kept[1] and len(kept[0]) > 100
