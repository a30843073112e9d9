"""A re-ingest of an unchanged corpus answers from the recorded result (analyzer/ingest/unchanged.py):
same summary and store as a full pass, no Polars import; any change goes through the pipeline."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import invoke, make_generic_trial, query_rows


def _summary(result) -> str:
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    return [ln for ln in result.stderr.splitlines() if ln.startswith("ingest:")][-1]


def _root(tmp_path: Path) -> Path:
    root = tmp_path / "study"
    make_generic_trial(root, "t1", "137", stderr="Killed\n")
    make_generic_trial(root, "t2", "0", stdout="all good\n")
    return root


def _replayable(db: str) -> bool:
    rows = query_rows_direct(db, "SELECT count(*) FROM meta WHERE key LIKE 'ingest_unchanged:%'")
    return rows[0][0] == 1


def query_rows_direct(db: str, sql: str) -> list[tuple]:
    import duckdb

    with duckdb.connect(db, read_only=True) as con:
        return con.execute(sql).fetchall()


def test_unchanged_reingest_matches_a_full_pass_and_skips_the_pipeline(runner, sample_root, tmp_path):
    full_db, quick_db = str(tmp_path / "full.duckdb"), str(tmp_path / "quick.duckdb")
    first = _summary(invoke(runner, "ingest", str(sample_root), "--db", quick_db, "--default-memory-limit", "8g"))
    assert "0 unchanged" in first and _replayable(quick_db)
    shutil.copy(quick_db, full_db)
    # the full pass: the record removed, so the pipeline runs over the unchanged corpus
    import duckdb
    with duckdb.connect(full_db) as con:
        con.execute("DELETE FROM meta WHERE key LIKE 'ingest_unchanged:%'")
    full = _summary(invoke(runner, "ingest", str(sample_root), "--db", full_db, "--default-memory-limit", "8g"))
    before = Path(quick_db).read_bytes()
    quick = _summary(invoke(runner, "ingest", str(sample_root), "--db", quick_db, "--default-memory-limit", "8g"))
    assert quick == full.replace(full_db, quick_db)
    assert " 0 read" in quick and "0 artifact problem(s) met" in quick
    assert Path(quick_db).read_bytes() == before  # answered without writing
    # full_db started as a copy of quick_db: the full pass rewrote nothing either, to the timestamps
    for view in ("trials", "ingest_errors", "studies", "memory"):
        sql = f"SELECT * FROM {view} ORDER BY ALL"
        assert query_rows_direct(quick_db, sql) == query_rows_direct(full_db, sql), view


def test_a_changed_log_option_or_store_goes_through_the_pipeline(runner, tmp_path, db):
    root = _root(tmp_path)
    assert " 2 read" in _summary(invoke(runner, "ingest", str(root), "--db", db))
    assert " 0 read" in _summary(invoke(runner, "ingest", str(root), "--db", db))
    (root / "t2" / "stdout").write_text("all good\nstill good\n")
    assert " 1 read" in _summary(invoke(runner, "ingest", str(root), "--db", db))
    # an option changes the result (the default limit applies to every trial found)
    invoke(runner, "ingest", str(root), "--db", db, "--default-memory-limit", "4g")
    rows = query_rows(runner, db, "select trial_id, memory_limit_mb from trials order by 1")
    assert [r["memory_limit_mb"] for r in rows] == [4096.0, 4096.0]
    # another root written into the same store: no recorded result survives it
    other = tmp_path / "other"
    make_generic_trial(other, "t9", "1", stderr="error: boom\n")
    from analyzer.ingest.unchanged import roots_key
    recorded_for = "SELECT count(*) FROM meta WHERE key = ?"
    assert query_rows_direct(db, recorded_for.replace("?", f"'{roots_key([str(root)])}'"))[0][0] == 1
    invoke(runner, "ingest", str(other), "--db", db, "-q")
    assert query_rows_direct(db, recorded_for.replace("?", f"'{roots_key([str(root)])}'"))[0][0] == 0
    summary = _summary(invoke(runner, "ingest", str(root), "--db", db, "--default-memory-limit", "4g"))
    assert " 0 read" in summary
    rows = query_rows(runner, db, "select count(*) n from trials")
    assert rows[0]["n"] == 3


def test_a_new_trial_is_found(runner, tmp_path, db):
    root = _root(tmp_path)
    invoke(runner, "ingest", str(root), "--db", db, "-q")
    invoke(runner, "ingest", str(root), "--db", db, "-q")
    make_generic_trial(root, "t3", "139", stderr="Segmentation fault (core dumped)\n")
    summary = _summary(invoke(runner, "ingest", str(root), "--db", db))
    assert "3 trials found, 1 read, 2 unchanged" in summary


def test_problems_met_on_every_run_are_warned_on_every_run(runner, tmp_path, db):
    root = _root(tmp_path)
    os.symlink("/etc", root / "elsewhere")  # leaves the root: a problem of the walk, not of a trial
    for _ in range(3):
        result = invoke(runner, "ingest", str(root), "--db", db)
        assert "symbolic link leaves the ingest root" in result.stderr
        assert not _replayable(db)


def test_a_damaged_record_is_ignored(runner, tmp_path, db):
    import duckdb

    root = _root(tmp_path)
    invoke(runner, "ingest", str(root), "--db", db, "-q")
    from analyzer.ingest.unchanged import roots_key, walk

    digest = walk([str(root)], None, None, None).digest
    assert digest and roots_key([str(root)])
    damaged = ["not json", json.dumps({"digest": "x"}), json.dumps([1, 2]), json.dumps({"digest": None}),
               json.dumps({"digest": digest, "result": [1]}), json.dumps({"digest": digest, "result": {"x": 1}}),
               json.dumps({"digest": digest, "result": {"trials_found": "2", "studies": 3}})]
    for value in damaged:
        with duckdb.connect(db) as con:
            con.execute("UPDATE meta SET value = ? WHERE key LIKE 'ingest_unchanged:%'", [value])
        assert "2 trials found, 0 read, 2 unchanged" in _summary(invoke(runner, "ingest", str(root), "--db", db))
        stored = query_rows_direct(db, "SELECT value FROM meta WHERE key LIKE 'ingest_unchanged:%'")
        assert [json.loads(v)["digest"] for (v,) in stored] == [digest]  # the full pass wrote a good one
        assert stored[0][0] != value


def test_unchanged_reingest_loads_neither_polars_nor_yaml_nor_duckdbs_python_side(tmp_path):
    root = _root(tmp_path)
    db = str(tmp_path / "s.duckdb")
    code = ("import sys\nfrom analyzer.cli import main\n"
            f"sys.argv = ['analyzer', 'ingest', {str(root)!r}, '--db', {db!r}, '-q']\n"
            "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
            "import json\nprint(json.dumps(sorted({'polars', 'yaml', 'zstandard', 'duckdb'} & set(sys.modules))))")
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
            for _ in range(2)]
    loaded = [json.loads(r.stdout.strip().splitlines()[-1]) for r in runs]
    # the first run read the trials; the second read one meta row with DuckDB's engine alone
    assert {"polars", "duckdb"} <= set(loaded[0]) and loaded[1] == []


def test_unchanged_reingest_finds_the_store_named_by_analyzer_db(runner, tmp_path, monkeypatch):
    # without --db, the record is looked up (on its own thread) in the store ANALYZER_DB names
    root = _root(tmp_path)
    db = tmp_path / "env.duckdb"
    monkeypatch.setenv("ANALYZER_DB", str(db))
    assert " 2 read" in _summary(invoke(runner, "ingest", str(root)))
    before = db.read_bytes()
    again = _summary(invoke(runner, "ingest", str(root)))
    assert " 0 read" in again and str(db) in again
    assert db.read_bytes() == before


def test_a_db_that_is_not_a_store_is_refused_after_the_walk_not_replayed(runner, tmp_path):
    # the record lookup meets a file that is not DuckDB's: the full pass says why, once
    root = _root(tmp_path)
    bogus = tmp_path / "notes.duckdb"
    bogus.write_text("not a database\n")
    result = invoke(runner, "ingest", str(root), "--db", str(bogus))
    assert result.exit_code == 4, result.output
    assert "Traceback" not in result.output
    assert str(bogus) in result.stderr
    assert bogus.read_text() == "not a database\n"


def test_a_walk_that_fails_leaves_no_lookup_thread_behind(tmp_path, monkeypatch):
    # the record is read on a thread while the roots are walked: whatever the walk raises, the
    # thread is joined first (it may hold the store open) and the walk's error is what is raised
    import threading

    from analyzer import jobs
    from analyzer.ingest import unchanged

    root = _root(tmp_path)
    db = str(tmp_path / "s.duckdb")
    jobs.ingest([str(root)], db=db)

    def broken_walk(*args, **kwargs):
        raise RuntimeError("the walk failed")

    monkeypatch.setattr(unchanged, "walk", broken_walk)
    with pytest.raises(RuntimeError, match="the walk failed"):
        jobs.ingest([str(root)], db=db)
    assert not [t for t in threading.enumerate() if t.name == "unchanged-record"]


def test_a_store_locked_during_the_walk_is_read_once_the_lock_is_released(runner, tmp_path):
    # the lookup thread never waits for a lock: the caller does, after the walk, and says so once
    import textwrap
    import time

    root = _root(tmp_path)
    db = str(tmp_path / "s.duckdb")
    assert " 2 read" in _summary(invoke(runner, "ingest", str(root), "--db", db))
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import duckdb, sys, time
        con = duckdb.connect({db!r})
        print("locked", flush=True)
        time.sleep(1.5)
    """)], stdout=subprocess.PIPE, text=True)
    before = Path(db).read_bytes()
    try:
        assert holder.stdout.readline().strip() == "locked"
        started = time.monotonic()
        result = invoke(runner, "ingest", str(root), "--db", db, "--lock-timeout", "30")
        waited = time.monotonic() - started
    finally:
        holder.kill()
        holder.wait()
    assert " 0 read" in _summary(result)
    assert Path(db).read_bytes() == before  # answered from the record, not by a full pass
    assert result.stderr.count("waiting for the store lock held by PID") == 1
    assert waited < 15  # released after ~1.5 s, not at the 30 s timeout
