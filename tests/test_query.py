"""`analyzer query`: SQL from stdin, one source of SQL, a sandbox that cannot write or reach out,
`--allow-files`, and completion of `--name`."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from analyzer.cli import main
from analyzer.store import open_store

from .conftest import invoke


def digest(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture
def store(tmp_path) -> str:
    """An empty analyzer store (schema and views, no trials)."""
    db = str(tmp_path / "store" / "store.duckdb")
    Path(db).parent.mkdir()
    open_store(db).close()
    return db


def test_sql_from_stdin_when_no_sql_is_given(runner, store):
    result = runner.invoke(main, ["query", "--db", store, "--format", "csv"],
                           input="select 6 * 7 as answer, 'from stdin' as source\n")
    assert result.exit_code == 0, result.output
    assert result.stdout == "answer,source\n42,from stdin\n"


def test_dash_reads_sql_from_stdin(runner, store):
    result = runner.invoke(main, ["query", "-", "--db", store, "--format", "json"],
                           input="select count(*) as n from trials")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [{"n": 0}]


def test_file_dash_still_reads_stdin(runner, store):
    result = runner.invoke(main, ["query", "--file", "-", "--db", store, "--format", "csv"], input="select 1 as one")
    assert result.stdout == "one\n1\n"


@pytest.mark.parametrize("args", [["select 1", "--name", "near_limit"], ["-", "--name", "near_limit"],
                                  ["select 1", "--file", "-"]])
def test_two_sources_of_sql_are_a_usage_error_naming_both(runner, store, args):
    result = runner.invoke(main, ["query", *args, "--db", store], input="select 2")
    assert result.exit_code == 2
    first = "--file" if "--file" in args else "--name"
    assert f"SQL argument and {first} both given" in result.stderr


def test_no_sql_at_all_is_a_usage_error(runner, store):
    result = runner.invoke(main, ["query", "--db", store], input="")
    assert result.exit_code == 2
    assert "no SQL: give SQL as an argument, on stdin" in result.stderr


def test_named_query_still_runs_and_bad_params_are_errors(runner, store):
    ok = invoke(runner, "query", "--name", "near_limit", "--param", "ratio=0.5", "--db", store, "--format", "csv")
    assert ok.exit_code == 0 and ok.stdout.startswith("trial_id,study,")
    bad = invoke(runner, "query", "--name", "near_limit", "--param", "nope", "--db", store)
    assert bad.exit_code == 2 and "'nope' is not KEY=VALUE" in bad.stderr


ATTACKS = {
    "copy_to": "COPY (SELECT * FROM trials) TO '{dir}/stolen.csv'",
    "copy_to_parquet": "COPY trials TO '{dir}/stolen.parquet' (FORMAT parquet)",
    "export_database": "EXPORT DATABASE '{dir}/dump'",
    "attach_new": "ATTACH '{dir}/new.duckdb' AS x",
    "attach_write": "ATTACH '{dir}/new.duckdb' AS x; CREATE TABLE x.t AS SELECT 1",
    "install": "INSTALL httpfs",
    "load": "LOAD httpfs",
    "network_read": "SELECT * FROM read_csv('https://example.com/data.csv')",
    "local_read": "SELECT * FROM read_text('/etc/passwd')",
    "glob": "SELECT * FROM glob('/etc/*')",
    "set_external": "SET enable_external_access = true",
    "reset_lock": "SET lock_configuration = false",
    "create_table": "CREATE TABLE evil AS SELECT 1",
    "insert": "INSERT INTO meta VALUES ('x', 'y')",
    "delete": "DELETE FROM trial_facts",
    "drop_view": "DROP VIEW trials",
    "checkpoint_after_select": "SELECT 1; COPY (SELECT 1) TO '{dir}/late.csv'",
    "explain_analyze_copy": "EXPLAIN ANALYZE COPY (SELECT 1) TO '{dir}/explained.csv'",
    "profiling_output": "PRAGMA profiling_output = '{dir}/profile.json'",
    "temp_table": "CREATE TEMP TABLE t AS SELECT 1",
}


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_query_cannot_write_or_reach_out(runner, store, tmp_path, name):
    target = tmp_path / "targets"
    target.mkdir()
    sql = ATTACKS[name].format(dir=target)
    store_dir = Path(store).parent
    before = digest(store)
    store_files = sorted(p.name for p in store_dir.iterdir())
    result = invoke(runner, "query", sql, "--db", store)
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("Error: ") and len(result.stderr.strip().splitlines()) >= 1
    assert "Traceback" not in result.output
    assert result.stdout == ""
    assert digest(store) == before
    assert sorted(p.name for p in store_dir.iterdir()) == store_files  # no WAL, no new file
    assert list(target.iterdir()) == []


def test_allow_files_reads_under_that_folder_only_and_still_writes_nothing(runner, store, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "owners.csv").write_text("study,owner\nnightly,ana\n")
    secret = tmp_path / "secret.csv"
    secret.write_text("password\nhunter2\n")
    (data / "link.csv").symlink_to(secret)
    csv_path = data / "owners.csv"
    refused = invoke(runner, "query", f"select * from '{csv_path}'", "--db", store)
    assert refused.exit_code == 1 and "disabled by configuration" in refused.stderr
    allowed = invoke(runner, "query", f"select owner from '{csv_path}'", "--db", store,
                     "--allow-files", str(data), "--format", "csv")
    assert allowed.exit_code == 0, allowed.output
    assert allowed.stdout == "owner\nana\n"
    for sql in (f"select * from '{secret}'", f"select * from '{data}/../secret.csv'",
                f"select * from '{data}/link.csv'"):
        outside = invoke(runner, "query", sql, "--db", store, "--allow-files", str(data))
        assert outside.exit_code == 1, sql
    before = sorted(p.name for p in data.iterdir())
    write = invoke(runner, "query", f"copy (select 1) to '{data}/out.csv'", "--db", store, "--allow-files", str(data))
    assert write.exit_code == 1 and "read-only" in write.stderr
    assert sorted(p.name for p in data.iterdir()) == before


def test_allow_files_of_a_missing_path_is_a_usage_error(runner, store, tmp_path):
    result = invoke(runner, "query", "select 1", "--db", store, "--allow-files", str(tmp_path / "nope"))
    assert result.exit_code == 2


def test_reading_statements_still_work_in_the_sandbox(runner, store):
    for sql in ("describe trials", "show tables", "pragma table_info('trials')", "explain select 1",
                "summarize meta", "with x as (select 1 a) select * from x", "call pragma_version()"):
        result = invoke(runner, "query", sql, "--db", store, "--format", "jsonl")
        assert result.exit_code == 0, (sql, result.output)


def test_shell_completion_lists_named_queries(runner):
    env = {"_ANALYZER_COMPLETE": "bash_complete", "COMP_WORDS": "analyzer query --name ne", "COMP_CWORD": "3"}
    result = runner.invoke(main, [], env=env, prog_name="analyzer")
    assert result.exit_code == 0
    assert "plain,near_limit" in result.stdout.splitlines()
    env["COMP_WORDS"] = "analyzer query --name "
    names = {line.split(",", 1)[1] for line in runner.invoke(main, [], env=env, prog_name="analyzer").stdout.splitlines()}
    listed = {line.split("\t")[0] for line in invoke(runner, "query", "--list").stdout.splitlines()}
    assert names == listed and "oom_by_eco_class" in names


@pytest.mark.parametrize("args", [["--lock-timeout", "-1"], ["--lock-timeout", "soon"], ["--width", "3"],
                                  ["--format", "xml"], ["--width", "wide"]])
def test_bad_flag_values_exit_2(runner, store, args):
    result = invoke(runner, "query", "select 1", "--db", store, *args)
    assert result.exit_code == 2, result.output
    assert "Error: Invalid value" in result.stderr


def test_bad_lock_timeout_env_is_one_error_line(runner, store):
    result = runner.invoke(main, ["query", "select 1", "--db", store], env={"ANALYZER_LOCK_TIMEOUT": "soon"})
    assert result.exit_code == 2
    assert result.stderr == "Error: ANALYZER_LOCK_TIMEOUT='soon': not a number of seconds (e.g. 30)\n"


def test_a_pragma_that_sets_something_is_named_as_what_it_is(runner, store):
    result = invoke(runner, "query", "pragma threads=1", "--db", store)
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: query is read-only: PRAGMA ... (a SET statement) is not allowed")
