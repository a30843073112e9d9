"""The store file: readable by DuckDB 1.x, refused when it is not a store, corrupt or of another
schema, migrated in order, never created by commands that only read it, lock waits said once."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest

import analyzer.store as store_module
from analyzer.store import STORAGE_VERSION

from .conftest import REPO, ingest_and_classify, invoke, query_rows

PUBLIC_VIEWS = ("trials", "failures", "failure_evidence", "memory", "studies", "memory_samples",
                "ingest_errors", "contained_eco_classes", "trial_log_lines")
# DuckDB storage format numbers in the file header (bytes 12..20), by STORAGE_VERSION
HEADER_VERSION = {"v1.1.0": 64, "v1.2.0": 65}


def digest(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def header_version(path: str | Path) -> int:
    return int.from_bytes(Path(path).read_bytes()[12:20], "little")


@pytest.fixture
def sample_store(shared_sample, db) -> str:
    """A private copy of sample_logs ingested (--default-memory-limit 8g) and classified."""
    return shared_sample.store(db, "--default-memory-limit", "8g")


def duckdb1_python() -> str:
    python = os.environ.get("ANALYZER_DUCKDB1_PYTHON")
    if not python:
        if os.environ.get("CI"):
            pytest.fail("ANALYZER_DUCKDB1_PYTHON is not set; .ci/run creates .venv-duckdb1 (pip install 'duckdb<2')")
        pytest.skip("set ANALYZER_DUCKDB1_PYTHON to a python with duckdb<2 (python3 -m venv .venv-duckdb1 && "
                    ".venv-duckdb1/bin/pip install 'duckdb<2')")
    return python


READ_EVERY_VIEW = textwrap.dedent("""
    import json, sys
    import duckdb
    con = duckdb.connect(sys.argv[1], read_only=True)
    out = {"version": duckdb.__version__, "views": {}}
    for view in sys.argv[2:]:
        rel = con.sql(f'SELECT * FROM "{view}"')
        rows = rel.fetchall()
        out["views"][view] = {"columns": rel.columns, "rows": len(rows)}
    print(json.dumps(out))
""")


def test_a_duckdb_1x_client_reads_every_view_of_a_new_store(sample_store, runner):
    python = duckdb1_python()
    result = subprocess.run([python, "-c", READ_EVERY_VIEW, sample_store, *PUBLIC_VIEWS],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    import json
    seen = json.loads(result.stdout)
    assert seen["version"].startswith(("1.", "0."))  # really an old client
    for view in PUBLIC_VIEWS:
        expected = query_rows(runner, sample_store, f'select count(*) n from "{view}"')[0]["n"]
        columns = duckdb.connect(sample_store, read_only=True).sql(f'select * from "{view}" limit 0').columns
        assert seen["views"][view] == {"columns": columns, "rows": expected}, view
    assert seen["views"]["trials"]["rows"] == 112


def test_new_stores_are_written_in_the_documented_storage_version(sample_store):
    # ingest created it, classify reopened and rewrote it: still the old format
    assert header_version(sample_store) == HEADER_VERSION[STORAGE_VERSION]
    assert STORAGE_VERSION in (REPO / "README.md").read_text()


def test_an_existing_store_in_duckdb_2_format_keeps_working(runner, sample_root, db):
    duckdb.connect(db).close()  # an empty file in DuckDB 2.x's own (newest) format
    newest = header_version(db)
    ingest_and_classify(runner, sample_root, db)
    assert header_version(db) == newest
    assert query_rows(runner, db, "select count(*) n from trials")[0]["n"] == 112


@pytest.mark.parametrize("kind", ["sqlite", "text", "empty", "directory", "parquet", "fifo"])
def test_a_file_that_is_not_a_duckdb_store_is_refused_before_duckdb_opens_it(runner, tmp_path, kind):
    path = tmp_path / f"not_a_store.{kind}"
    if kind == "sqlite":
        sqlite3.connect(path).execute("create table t(a)").connection.commit()
    elif kind == "text":
        path.write_text("trial_id,exit_code\nt1,0\n")
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "directory":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)  # opening it to read would block: it must be refused unopened
    else:
        path.write_bytes(b"PAR1" + b"\0" * 100)
    before = sorted(p.name for p in tmp_path.iterdir())
    snapshot = None if kind in ("directory", "fifo") else digest(path)
    for args in (["query", "select 1"], ["classify"], ["report", "--out", str(tmp_path / "r.html")],
                 ["export", "--format", "csv", "--out", str(tmp_path / "x")]):
        result = invoke(runner, *args, "--db", str(path))
        assert result.exit_code == 4, (args, result.output)
        assert result.stderr.startswith(f"Error: {path}: ")
        assert "Traceback" not in result.output
    if snapshot is not None:
        assert "not a DuckDB store" in result.stderr
        assert digest(path) == snapshot
    if kind == "sqlite":
        assert "a SQLite database" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no WAL, no output


def _damage(path: Path, how: str) -> None:
    data = path.read_bytes()
    if how == "truncated":
        path.write_bytes(data[: len(data) // 3])
    elif how == "truncated_header":
        path.write_bytes(data[:5000])
    else:  # flip every byte of a stretch of data blocks: checksums no longer match
        start = 4096 * 3
        path.write_bytes(data[:start] + bytes(b ^ 0xFF for b in data[start:start + 300_000]) + data[start + 300_000:])


@pytest.mark.parametrize("how", ["corrupt", "truncated", "truncated_header"])
def test_a_corrupt_or_truncated_store_is_one_error_line_and_exit_4(runner, sample_store, shared_sample, tmp_path, how):
    _damage(Path(sample_store), how)
    for args in (["query", "select count(*) from trial_log_lines"], ["classify"], ["ingest", str(shared_sample.root)],
                 ["report", "--out", str(tmp_path / "r.html")],
                 ["export", "--format", "sqlite", "--out", str(tmp_path / "x.sqlite")]):
        result = invoke(runner, *args, "--db", sample_store)
        assert result.exit_code == 4, (args, result.output)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"Error: {sample_store}: "), result.stderr
        assert "Traceback" not in result.output


@pytest.mark.parametrize("command", [["classify"], ["export", "--format", "csv", "--out", "OUT"],
                                     ["report", "--out", "OUT"], ["query", "select 1"]])
def test_a_missing_store_is_exit_4_and_is_not_created(runner, tmp_path, command):
    db = tmp_path / "nowhere.duckdb"
    args = [str(tmp_path / "out") if a == "OUT" else a for a in command]
    result = invoke(runner, *args, "--db", str(db))
    assert result.exit_code == 4, result.output
    assert result.stderr == f"Error: {db}: no store here; run `analyzer ingest ROOT --db {db}` first\n"
    assert list(tmp_path.iterdir()) == []


def _set_schema_version(path: str, version: str) -> None:
    con = duckdb.connect(path)
    con.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", [version])
    con.close()


def test_a_store_of_schema_1_is_refused_by_report_until_a_writer_migrates_it(runner, sample_store, tmp_path):
    _set_schema_version(sample_store, "1")  # what every store written before schema 2 holds
    out = str(tmp_path / "r.html")
    result = invoke(runner, "report", "--db", sample_store, "--out", out)
    assert result.exit_code == 4, result.output
    assert f"analyzer classify --db {sample_store}" in result.stderr
    assert invoke(runner, "classify", "--db", sample_store, "-q").exit_code == 0
    assert query_rows(runner, sample_store, "select value from meta where key = 'schema_version'") == [
        {"value": store_module.SCHEMA_VERSION}]
    assert invoke(runner, "report", "--db", sample_store, "--out", out).exit_code == 0


def test_a_store_of_an_older_schema_is_migrated_by_a_writer_and_explained_to_readers(
        runner, sample_store, monkeypatch):
    steps_run = []

    def migration_sql(name: str) -> str:
        steps_run.append(name)
        return {"0002_owner": "ALTER TABLE trial_facts ADD COLUMN owner VARCHAR;",
                "0003_owner_default": "UPDATE trial_facts SET owner = 'nobody';"}[name]

    _set_schema_version(sample_store, "1")  # a store last written by an older analyzer
    monkeypatch.setattr(store_module, "SCHEMA_VERSION", "3")
    monkeypatch.setattr(store_module, "MIGRATIONS", [(2, "0002_owner"), (3, "0003_owner_default")])
    monkeypatch.setattr(store_module, "migration_sql", migration_sql)
    before = digest(sample_store)
    # a reader does not touch it: exit 4 saying how to migrate
    result = invoke(runner, "query", "select 1", "--db", sample_store)
    assert result.exit_code == 4
    assert "older analyzer (schema 1, this one reads 3)" in result.stderr
    assert f"analyzer classify --db {sample_store}" in result.stderr
    assert digest(sample_store) == before and steps_run == []
    # a writer migrates, step by step, in order
    assert invoke(runner, "classify", "--db", sample_store, "-q").exit_code == 0
    assert steps_run == ["0002_owner", "0003_owner_default"]
    assert query_rows(runner, sample_store, "select value from meta where key = 'schema_version'") == [{"value": "3"}]
    assert query_rows(runner, sample_store, "select distinct owner from trial_facts") == [{"owner": "nobody"}]
    # and only once
    assert invoke(runner, "classify", "--db", sample_store, "-q").exit_code == 0
    assert steps_run == ["0002_owner", "0003_owner_default"]


def test_a_failing_migration_step_leaves_the_store_at_its_old_schema(runner, sample_store, monkeypatch):
    _set_schema_version(sample_store, "1")
    monkeypatch.setattr(store_module, "SCHEMA_VERSION", "2")
    monkeypatch.setattr(store_module, "MIGRATIONS", [(2, "0002_broken")])
    monkeypatch.setattr(store_module, "migration_sql",
                        lambda name: "ALTER TABLE trial_facts ADD COLUMN x INTEGER; SELECT * FROM no_such_table;")
    result = invoke(runner, "classify", "--db", sample_store, "-q")
    assert result.exit_code == 4 and result.stderr.startswith("Error: ") and "0002_broken" in result.stderr
    monkeypatch.setattr(store_module, "SCHEMA_VERSION", "1")
    assert query_rows(runner, sample_store, "select value from meta where key = 'schema_version'") == [{"value": "1"}]
    columns = [r["column_name"] for r in query_rows(runner, sample_store, "describe trial_facts")]
    assert "x" not in columns


def test_a_store_of_a_newer_schema_is_refused(runner, sample_store):
    con = duckdb.connect(sample_store)
    con.execute("update meta set value = '99' where key = 'schema_version'")
    con.close()
    result = invoke(runner, "classify", "--db", sample_store)
    assert result.exit_code == 4
    assert f"newer analyzer (schema 99, this one reads {store_module.SCHEMA_VERSION})" in result.stderr


def test_a_writer_waiting_for_the_lock_says_so_once_naming_the_pid(runner, sample_store, tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        from analyzer.store import open_store
        store = open_store({sample_store!r})
        print("locked", flush=True)
        time.sleep(30)
    """)], stdout=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        assert holder.stdout.readline().strip() == "locked"
        started = time.monotonic()
        result = invoke(runner, "classify", "--db", sample_store, "--lock-timeout", "1.5")
        assert time.monotonic() - started >= 1.5
    finally:
        holder.kill()
        holder.wait()
    assert result.exit_code == 3
    waiting = [line for line in result.stderr.splitlines() if line.startswith("waiting for the store lock")]
    assert waiting == [f"waiting for the store lock held by PID {holder.pid} (up to 1.5s; --lock-timeout changes this)"]
    assert result.stderr.splitlines()[-1].startswith("Error: ")
