"""Whole logs in the store: late rules see every line with the artifacts deleted, `analyzer logs`,
the ripgrep scanner keeps exactly the Polars scanner's lines, FIFOs are never opened."""

from __future__ import annotations

import os
import shutil

import polars as pl
import pytest

from analyzer.ingest import rgscan
from analyzer.ingest.logs import LogFile, is_candidate, scan_logs
from analyzer.logstore import late_rules
from analyzer.rules import load_rules
from analyzer.store import open_store

from .conftest import invoke, make_generic_trial, query_rows

DEEP_LINE = "FLUX-9001 capacitor melted near stage 3 (coolant low)"
DEEP_AT = 150_000


def _long_log() -> str:
    filler = [f"[INFO DRT-0195] Start {i}th optimization iteration.\n    Completing {i % 100}% with {i} violations.\n"
              for i in range(DEEP_AT // 2)]
    head = "".join(filler)  # lines 1 .. DEEP_AT - 1 ... plus the deep line at DEEP_AT
    tail = "".join(f"    elapsed time = 00:00:{i % 60:02d}, memory = {i}.00 (MB).\n" for i in range(60_000))
    return head[: head.rfind("\n", 0, len(head) - 1) + 1] + DEEP_LINE + "\n" + tail + "no newline at the end"


def test_a_rule_written_after_ingest_fires_on_a_deep_line_of_a_deleted_study(runner, tmp_path, db):
    root = tmp_path / "night"
    log = _long_log()
    assert log.splitlines()[DEEP_AT - 1] == DEEP_LINE
    assert not pl.select(is_candidate(pl.lit(DEEP_LINE))).item()  # the prefilter drops it
    make_generic_trial(root, "t1", "1", stdout=log, stderr="make: *** [route] Error 1\n")
    make_generic_trial(root, "t2", "0", stdout="ok\n" + DEEP_LINE + "\n")
    assert invoke(runner, "ingest", str(root), "--db", db, "-q").exit_code == 0
    assert invoke(runner, "classify", "--db", db, "-q").exit_code == 0
    before = query_rows(runner, db, "select failure_type from failures where trial_id = 'night/t1'")
    assert before[0]["failure_type"] != "configuration_error"
    assert query_rows(runner, db, "select count(*) n from trial_log_lines where trial_id = 'night/t1' and text like 'FLUX%'") == [{"n": 0}]
    with open_store(db, read_only=True) as store:  # the shipped rules are all covered by the index
        assert late_rules(store, load_rules()) == {}

    shutil.rmtree(root)
    rules = tmp_path / "site.toml"
    rules.write_text('version = "site-1"\n[[rules]]\nid = "coolant"\ntype = "configuration_error"\n'
                     "precedence = 5\npattern = '''capacitor melted near stage \\d+'''\n")
    assert invoke(runner, "classify", "--db", db, "--rules", str(rules), "-q").exit_code == 0
    after = query_rows(runner, db, "select trial_id, failure_type from failures order by 1")
    assert after == [{"trial_id": "night/t1", "failure_type": "configuration_error"}]  # t2 succeeded
    evidence = query_rows(runner, db, "select source, line_no, text from failure_evidence where signal = 'coolant'")
    assert evidence == [{"source": "stdout", "line_no": DEEP_AT, "text": DEEP_LINE}]

    found = invoke(runner, "logs", "t1", "--grep", r"capacitor MELTED", "-i", "--db", db)
    assert found.exit_code == 0, found.output
    assert found.stdout == f"stdout:{DEEP_AT}: {DEEP_LINE}\n"
    whole = invoke(runner, "logs", "night/t1", "--stream", "stdout", "--db", db)
    assert whole.stdout_bytes == log.encode()  # byte for byte, last line without newline too
    none = invoke(runner, "logs", "night/t1", "--grep", "no such text here", "--db", db)
    assert none.exit_code == 1 and none.stdout == ""
    missing = invoke(runner, "logs", "night/t9", "--db", db)
    assert missing.exit_code == 1 and "no trial 'night/t9'" in missing.stderr


def test_a_late_rule_that_applies_to_successes_scans_them_too(runner, tmp_path, db):
    root = tmp_path / "night"
    make_generic_trial(root, "ok", "0", stdout="step 1\n[INFO GRT-0001] license seat lost, continuing\nstep 3\n")
    assert invoke(runner, "ingest", str(root), "--db", db, "-q").exit_code == 0
    shutil.rmtree(root)
    rules = tmp_path / "site.toml"
    rules.write_text('version = "s"\n[[rules]]\nid = "seat"\ntype = "resource_busy"\nonly_failed = false\n'
                     "pattern = 'license seat lost'\n")
    assert invoke(runner, "classify", "--db", db, "--rules", str(rules), "-q").exit_code == 0
    assert query_rows(runner, db, "select trial_id, signal, line_no from failure_evidence") == [
        {"trial_id": "night/ok", "signal": "seat", "line_no": 2}]


TRICKY = (
    "error at the start\n[INFO GRP-0001] an error in an info line\n[WARNING X-1] failed here\n"
    "[Invalid option]\n[INFOkill]\n[info ERROR lower-case prefix]\n[WARNINGS timeout]\n[IN error\n"
    "[ERROR GRT-0116] congestion\nplain line\n  Memory allocated: 12 MB\r\nKILLED by the kernel\n"
    "\xff\xfe bytes then segmentation fault\n" "unit\x1fseparated failure\n" "[INFO \n" "[W\n"
    "last line without newline: abort"
)


def _rg_binaries() -> list[str]:
    """Every ripgrep here: the PyPI wheel's (14.x) and a distribution's (Debian 12 ships 13.0)."""
    found = [rgscan.rg_binary(), shutil.which("rg"), "/usr/bin/rg"]
    return sorted({os.path.realpath(b) for b in found if b and os.path.isfile(b)})


@pytest.mark.parametrize("binary", _rg_binaries() or [None])
def test_ripgrep_keeps_exactly_the_polars_scanner_lines(tmp_path, monkeypatch, request, binary):
    if binary is None:
        pytest.skip("no ripgrep binary")
    monkeypatch.setenv("ANALYZER_RG", binary)
    rgscan.rg_binary.cache_clear()
    request.addfinalizer(rgscan.rg_binary.cache_clear)  # the next test finds its own binary
    paths = []
    padded = TRICKY + "\n" + "plain\n" * 30  # past the 20 tail lines: only candidates are kept
    for i, text in enumerate([padded, TRICKY * 3000, "", "no candidates at all\n", TRICKY]):
        p = tmp_path / f"log{i}.txt"
        p.write_bytes(text.encode("latin-1") if "\xff" in text else text.encode())
        paths.append(LogFile(i, "stdout", str(p)))
    by_rg = scan_logs(paths, scanner="ripgrep")
    by_polars = scan_logs(paths, scanner="polars")
    assert by_rg.scanner == "ripgrep" and by_polars.scanner == "polars"
    assert by_rg.lines.equals(by_polars.lines)
    first = by_rg.lines.filter((pl.col("key") == 0) & ~pl.col("is_tail"))["text"].to_list()
    assert "error at the start" in first and "[INFOkill]" in first and "[Invalid option]" in first
    assert not any(t.startswith("[INFO GRP") or t.startswith("[WARNING X") for t in first)
    assert "[info ERROR lower-case prefix]" in first and "[WARNINGS timeout]" in first
    assert "  Memory allocated: 12 MB" in first  # CR stripped
    assert 4000 <= by_rg.lines.filter(pl.col("key") == 1).height <= 4020  # the cap, plus the tail
    assert [s.size_bytes for s in by_rg.stats] == [s.size_bytes for s in by_polars.stats]
    # the successes' narrow pattern too (every file as a trial that succeeded)
    brief = [LogFile(f.key, f.stream, f.path, full=False) for f in paths]
    rg_brief, polars_brief = scan_logs(brief, scanner="ripgrep"), scan_logs(brief, scanner="polars")
    assert rg_brief.scanner == "ripgrep" and rg_brief.lines.equals(polars_brief.lines)


def test_a_fifo_or_device_is_never_opened(runner, tmp_path, db):
    root = tmp_path / "night"
    trial = make_generic_trial(root, "t1", "1", stderr="Segmentation fault (core dumped)\n")
    os.mkfifo(trial / "stdout")  # nobody writes: opening it for reading would block forever
    result = invoke(runner, "ingest", str(root), "--db", db)
    assert result.exit_code == 0
    errors = query_rows(runner, db, "select path, error from ingest_errors")
    assert any(e["path"].endswith("stdout") and "not a regular file" in e["error"] for e in errors)
    assert query_rows(runner, db, "select stream from trial_logs") == [{"stream": "stderr"}]


def test_every_corpus_line_a_shipped_rule_matches_is_a_candidate():
    """The vocabulary claims to cover the shipped rules (they are not re-run over whole logs):
    on the real-log corpus, every line a shipped rule matches must be kept by the prefilter."""
    import tomllib
    from pathlib import Path

    cases = tomllib.loads((Path(__file__).parent / "corpus" / "cases.toml").read_text(encoding="utf-8"))["case"]
    lines = pl.Series("text", [ln for c in cases for ln in c["text"].splitlines()])
    frame = lines.to_frame().with_columns(is_candidate(pl.col("text")).alias("kept"))
    missed = []
    for rule in load_rules().rules:
        hit = frame.filter(pl.col("text").str.contains(rule.regex) & ~pl.col("kept"))
        missed += [(rule.id, t) for t in hit["text"].to_list()]
    assert len(lines) > 100
    assert missed == []


@pytest.mark.slow
def test_partitions_by_kept_lines_give_the_same_verdicts(runner, shared_sample, db, monkeypatch):
    """classify loads kept lines per partition; small partitions (by line count) change nothing."""
    import analyzer.jobs as jobs

    shared_sample.store(db)  # `analyzer ingest sample_logs` then `analyzer classify`
    # (reason lists signals in a tie-dependent order: issue 16 item 7, fixed elsewhere)
    sql = "select trial_id, failure_type, confidence from failures order by trial_id"
    whole = query_rows(runner, db, sql)
    with open_store(db, read_only=True) as store:
        trials = store.frame_file("classify_trials")
        monkeypatch.setattr(jobs, "LINES_PER_PARTITION", 50)
        monkeypatch.setattr(jobs, "TRIALS_PER_PARTITION", 10)
        parts = jobs.partitions(store, trials)
    assert len(parts) > 5 and sum(p.height for p in parts) == trials.height
    assert invoke(runner, "classify", "--db", db, "-q").exit_code == 0
    assert query_rows(runner, db, sql) == whole


def test_whole_logs_spread_over_bounded_chunk_tables_read_and_replace_whole(runner, tmp_path, db, monkeypatch):
    """Chunks go to a new table once the current one holds LOG_CHUNK_TABLE_BYTES (DuckDB rewrites
    a table's last row group at every checkpoint); reads, late rules and re-ingest see them all."""
    import analyzer.store as store_module

    monkeypatch.setattr(store_module, "LOG_CHUNK_TABLE_BYTES", 1)  # every batch a new table
    monkeypatch.setattr("analyzer.ingest.pipeline.BATCH_TRIALS", 1)
    root = tmp_path / "night"
    logs = {f"t{i}": f"line one of t{i}\n" + "".join(f"step {j}\n" for j in range(500)) + f"{DEEP_LINE} in t{i}\n"
            for i in range(3)}
    for name, text in logs.items():
        make_generic_trial(root, name, "1", stdout=text)
    assert invoke(runner, "ingest", str(root), "--db", db, "-q").exit_code == 0
    with open_store(db, read_only=True) as store:
        tables = store.log_chunk_tables()
        held = dict(store.con.execute("SELECT trial_id, chunk_table FROM log_streams").fetchall())
    assert tables == ["log_chunks", "log_chunks_1", "log_chunks_2"]
    assert sorted(held.values()) == tables  # one trial's chunks per table
    for name, text in logs.items():
        whole = invoke(runner, "logs", f"night/{name}", "--stream", "stdout", "--db", db)
        assert whole.stdout_bytes == text.encode()
    rules = tmp_path / "site.toml"
    rules.write_text('version = "site-1"\n[[rules]]\nid = "coolant"\ntype = "configuration_error"\n'
                     "precedence = 5\npattern = '''capacitor melted near stage \\d+'''\n")
    assert invoke(runner, "classify", "--db", db, "--rules", str(rules), "-q").exit_code == 0
    failed = query_rows(runner, db, "select trial_id from failures where failure_type = 'configuration_error' order by 1")
    assert [r["trial_id"] for r in failed] == ["night/t0", "night/t1", "night/t2"]

    # a changed trial: its old chunks leave the table they were in, the new ones go to the newest
    (root / "t0" / "stdout").write_text("rewritten\n")
    assert invoke(runner, "ingest", str(root), "--db", db, "-q").exit_code == 0
    with open_store(db, read_only=True) as store:
        counts = {t: store.con.execute(f"SELECT count(*) FROM {t} WHERE trial_id = 'night/t0'").fetchone()[0]
                  for t in store.log_chunk_tables()}
    assert sum(counts.values()) == 1 and counts["log_chunks"] == 0
    assert invoke(runner, "logs", "night/t0", "--stream", "stdout", "--db", db).stdout_bytes == b"rewritten\n"


def test_a_chunk_table_name_in_the_store_is_data_never_sql(runner, tmp_path, db):
    """log_streams.chunk_table is read from the store: a tampered value names no table, runs no
    SQL, and a re-ingest of the trial still replaces its logs."""
    import duckdb

    root = tmp_path / "night"
    make_generic_trial(root, "t1", "1", stdout="error: one\n")
    assert invoke(runner, "ingest", str(root), "--db", db, "-q").exit_code == 0
    for value in ('x"; DROP TABLE trial_facts; --', "trial_facts", "log_chunks_999"):
        with duckdb.connect(db) as con:
            con.execute("UPDATE log_streams SET chunk_table = ?", [value])
        result = invoke(runner, "logs", "night/t1", "--stream", "stdout", "--db", db)
        assert "Traceback" not in result.output and result.stdout_bytes == b""
        assert query_rows(runner, db, "select count(*) n from trials") == [{"n": 1}]
    (root / "t1" / "stdout").write_text("error: two\n")
    assert invoke(runner, "ingest", str(root), "--db", db, "-q").exit_code == 0
    assert invoke(runner, "logs", "night/t1", "--stream", "stdout", "--db", db).stdout_bytes == b"error: two\n"
