"""Logs holding binary garbage (a core or a tarball written to stdout, random bytes) are ingested
like any other: no crash, the same kept lines from ripgrep and from the Polars scanner, the
whole log stored byte for byte, and transactions small enough for DuckDB's memory limit."""

from __future__ import annotations

import os
import random
import subprocess
import sys

import pytest

from analyzer.ingest import rgscan
from analyzer.ingest.pipeline import read_batch as READ_BATCH

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


def _incompressible(seed: int, nbytes: int) -> bytes:
    rng = random.Random(seed)
    body = rng.randbytes(nbytes).replace(b"\n", b" ")
    return b"error: a failure line\n" + b"\n".join(body[i:i + 200] for i in range(0, len(body), 200)) + b"\n"


def test_incompressible_batches_are_written_in_transactions_that_fit(runner, tmp_path, monkeypatch):
    """A batch whose compressed logs pass TRANSACTION_LOG_BYTES is written as several transactions
    of whole trials, and no chunk table grows past its bound: the same views as one transaction."""
    from analyzer import store as store_module
    from analyzer.ingest import pipeline

    root = tmp_path / "study"
    for i in range(6):
        make_generic_trial(root, f"t{i}", "1" if i % 2 else "0", stdout=_incompressible(i, 40_000))
    views = "select * from trials order by trial_id", "select * from trial_log_lines order by all"
    dbs = {}
    for name, txn_bytes, table_bytes in (("one", 1 << 30, 1 << 30), ("split", 50_000, 90_000)):
        monkeypatch.setattr(pipeline, "TRANSACTION_LOG_BYTES", txn_bytes)
        monkeypatch.setattr(store_module, "LOG_CHUNK_TABLE_BYTES", table_bytes)
        dbs[name] = str(tmp_path / f"{name}.duckdb")
        assert invoke(runner, "ingest", str(root), "--db", dbs[name], "-q").exit_code == 0
        assert invoke(runner, "classify", "--db", dbs[name], "-q").exit_code == 0
    tables = query_rows(runner, dbs["split"], "select chunk_table, sum(compressed_bytes) as b, count(*) as n "
                                              "from log_streams group by 1 order by 1")
    assert len(tables) >= 3  # the chunks spread over several tables ...
    assert all(t["b"] <= 90_000 or t["n"] == 1 for t in tables)  # ... none past its bound
    for sql in (*views, "select * from failures order by trial_id"):
        one = [{k: v for k, v in r.items() if k != "ingested_at"} for r in query_rows(runner, dbs["one"], sql)]
        split = [{k: v for k, v in r.items() if k != "ingested_at"} for r in query_rows(runner, dbs["split"], sql)]
        assert one == split
    for i in range(6):
        out = invoke(runner, "logs", f"study/t{i}", "--db", dbs["split"], "--stream", "stdout")
        assert out.stdout_bytes == _incompressible(i, 40_000)


def _read_sizes(monkeypatch) -> list[int]:
    """The number of trials of each batch the reader reads, from now on (until the next call)."""
    from analyzer.ingest import pipeline

    sizes: list[int] = []
    read = READ_BATCH

    def counting(batch, *args, **kwargs):
        sizes.append(len(batch))
        return read(batch, *args, **kwargs)

    monkeypatch.setattr(pipeline, "read_batch", counting)
    return sizes


def test_incompressible_logs_are_read_in_batches_that_hold_a_bounded_size(runner, tmp_path, monkeypatch):
    """How well logs compress is learnt from a first small batch: incompressible ones are then
    read in batches of about HELD_LOG_BYTES compressed (not whole planned batches, which held
    2 x 128 MB: 668 MiB of RSS for 120 trials of random bytes), with the same views as whole
    batches; ordinary logs keep their planned batches."""
    from analyzer.ingest import pipeline

    root = tmp_path / "study"
    for i in range(12):
        make_generic_trial(root, f"t{i:02d}", "1" if i % 3 else "0", stdout=_incompressible(i, 40_000))
    sql = ("select * exclude (ingested_at) from trials order by trial_id",
           "select * from trial_log_lines order by all",
           "select trial_id, stream, size_bytes, compressed_bytes, lines from trial_logs order by all")
    seen = {}
    for name, probe, held in (("whole", 1 << 30, 1 << 30), ("sized", 50_000, 100_000)):
        monkeypatch.setattr(pipeline, "PROBE_LOG_BYTES", probe)
        monkeypatch.setattr(pipeline, "HELD_LOG_BYTES", held)
        monkeypatch.setattr(pipeline, "BATCH_LOG_BYTES", 400_000)  # ~10 of these trials per planned batch
        sizes = _read_sizes(monkeypatch)
        db = str(tmp_path / f"{name}.duckdb")
        assert invoke(runner, "ingest", str(root), "--db", db, "-q").exit_code == 0
        seen[name] = [query_rows(runner, db, q) for q in sql], sizes
    assert seen["whole"][1] == [10, 2]
    # a 50 KB probe (one trial of ~41 KB), then ~100 KB of compressed logs per batch: two trials
    assert seen["sized"][1][0] == 1 and max(seen["sized"][1][1:]) == 2 and sum(seen["sized"][1]) == 12
    assert seen["sized"][0] == seen["whole"][0]
    # logs that compress well: after the probe, the planned batches as they are
    plain = tmp_path / "plain"
    for i in range(12):
        make_generic_trial(plain, f"t{i:02d}", "0", stdout="[INFO GRT-0001] routing\n" * 2_000)
    sizes = _read_sizes(monkeypatch)
    monkeypatch.setattr(pipeline, "BATCH_LOG_BYTES", 200_000)
    assert invoke(runner, "ingest", str(plain), "--db", str(tmp_path / "plain.duckdb"), "-q").exit_code == 0
    # trials of 48 KB, planned in batches of 5 (a batch closes once it reaches 200 KB): 5, 5, 2;
    # the first of them cut after the 50 KB probe
    assert sizes == [1, 4, 5, 2]


@pytest.mark.slow
def test_a_full_batch_of_incompressible_logs_is_ingested(runner, tmp_path, db):
    """136 MB of random bytes in 34 trials: one read batch whose compressed logs are as large as
    the logs. As one transaction it failed (DuckDB: "failed to pin block"), losing the batch."""
    root = tmp_path / "study"
    for i in range(34):
        make_generic_trial(root, f"t{i:02d}", "1", stdout=random.Random(i).randbytes(4 << 20))
    # in a child: an in-process ingest of this would leave pytest itself large, and a later
    # test's child inherits its parent's peak RSS in ru_maxrss (Linux keeps it across fork/exec)
    child = subprocess.Popen([sys.executable, "-m", "analyzer", "ingest", str(root), "--db", db, "-q"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(child.pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, child.stderr.read() if child.stderr else ""
    # read in batches of ~32 MB of compressed logs, not one of 128 MB: 539 MiB before
    assert usage.ru_maxrss // 1024 < 500
    rows = query_rows(runner, db, "select count(*) as n, sum(stdout_bytes) as b from trials")
    assert rows == [{"n": 34, "b": 34 * (4 << 20)}]
    stored = query_rows(runner, db, "select sum(size_bytes) as raw, sum(compressed_bytes) as c from trial_logs")
    assert stored[0]["raw"] == 34 * (4 << 20) and stored[0]["c"] >= stored[0]["raw"]  # every byte kept
