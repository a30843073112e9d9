"""Timeout marks are read from each batch's kept lines at ingest (timeout_mark_rows), not by a view
scanning every kept line: the same marks as that scan, replaced with their trial, and a store
written before schema 3 gets them from its kept lines when it is migrated."""

from __future__ import annotations

import duckdb

from analyzer import store as store_module

from .conftest import invoke, make_generic_trial, query_rows

# the view's old scan of every kept line, with the bound every duration has (record.MAX_SECONDS)
SCAN = """
SELECT trial_id,
       max(h) FILTER (WHERE h <= 315360000) AS h, max(s) FILTER (WHERE s <= 315360000) AS s,
       bool_or(contains(text, '[HARD_TIMEOUT]')) AS hl, bool_or(contains(text, '[SOFT_TIMEOUT]')) AS sl,
       bool_or(regexp_matches(text, '^timeout: sending signal \\w+ to command')) AS gl
FROM (SELECT trial_id, text,
      TRY_CAST(regexp_extract(text, '\\[HARD_TIMEOUT\\].*?limit of (\\d+(?:\\.\\d+)?) ?s', 1) AS DOUBLE) AS h,
      TRY_CAST(regexp_extract(text, '\\[SOFT_TIMEOUT\\].*?of (\\d+(?:\\.\\d+)?) ?s', 1) AS DOUBLE) AS s
      FROM log_lines WHERE contains(text, '_TIMEOUT]') OR starts_with(text, 'timeout: '))
GROUP BY trial_id
"""
VIEW = ("SELECT trial_id, hard_limit_seconds AS h, soft_limit_seconds AS s, hard_line AS hl, soft_line AS sl, "
        "gnu_timeout_line AS gl FROM trial_timeout_marks")


def _rows(db: str, sql: str) -> list[tuple]:
    with duckdb.connect(db, read_only=True) as con:
        return sorted(con.execute(sql).fetchall())


def _root(tmp_path):
    root = tmp_path / "study"
    make_generic_trial(root, "hard", "137", stdout="[HARD_TIMEOUT] Trial exceeded hard timeout limit of 1800 seconds\n")
    make_generic_trial(root, "soft", "0", stdout="[SOFT_TIMEOUT] Trial exceeded soft timeout of 600s but completed\n")
    make_generic_trial(root, "gnu", "124", stderr="timeout: sending signal TERM to command 'openroad'\n")
    make_generic_trial(root, "none", "0", stdout="all good\n")
    # a limit no runner sets (it was Infinity in the time view, and the report failed on it)
    make_generic_trial(root, "huge", "124", stdout="[HARD_TIMEOUT] Trial exceeded hard timeout limit of "
                       + "9" * 400 + " seconds\n")
    return root


def test_marks_at_ingest_equal_a_scan_of_the_kept_lines(runner, tmp_path, db, sample_root):
    for root in (_root(tmp_path), sample_root):
        assert invoke(runner, "ingest", str(root), "--db", db, "-q").exit_code == 0
    marks = _rows(db, VIEW)
    assert marks == _rows(db, SCAN)
    by_trial = {m[0]: m for m in marks}
    assert by_trial["study/hard"][1:] == (1800.0, None, True, False, False)
    assert by_trial["study/soft"][1:] == (None, 600.0, False, True, False)
    assert by_trial["study/gnu"][1:] == (None, None, False, False, True)
    assert "study/none" not in by_trial
    assert by_trial["study/huge"][1:] == (None, None, True, False, False)
    assert len(marks) > 3  # sample_logs has Noodle 2 timeouts too


def test_a_changed_trial_replaces_its_marks(runner, tmp_path, db):
    root = _root(tmp_path)
    assert invoke(runner, "ingest", str(root), "--db", db, "-q").exit_code == 0
    log = root / "hard" / "stdout"
    log.write_text("no timeout this time\n")
    assert invoke(runner, "ingest", str(root), "--db", db, "-q").exit_code == 0
    assert "study/hard" not in {m[0] for m in _rows(db, VIEW)}
    timed = query_rows(runner, db, "select trial_id, timed_out from time order by trial_id")
    assert {r["trial_id"]: r["timed_out"] for r in timed}["study/hard"] is False


def test_a_store_from_before_gets_its_marks_when_migrated(runner, tmp_path, db):
    assert invoke(runner, "ingest", str(_root(tmp_path)), "--db", db, "-q").exit_code == 0
    expected = _rows(db, VIEW)
    with duckdb.connect(db) as con:  # as schema 2 left it: no table, the view scanning the lines
        con.execute("DROP VIEW trial_timeout_marks")
        con.execute("DROP TABLE timeout_mark_rows")
        con.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    refused = invoke(runner, "query", "select 1", "--db", db)
    assert refused.exit_code == 4 and "older analyzer" in refused.output
    assert invoke(runner, "classify", "--db", db, "-q").exit_code == 0  # a writer migrates
    assert _rows(db, VIEW) == expected
    assert query_rows(runner, db, "select value from meta where key = 'schema_version'") == [
        {"value": store_module.SCHEMA_VERSION}]


def test_a_limit_past_any_duration_is_no_limit_and_the_report_is_written(runner, tmp_path, db):
    root = _root(tmp_path)
    assert invoke(runner, "ingest", str(root), "--db", db, "-q").exit_code == 0
    assert invoke(runner, "classify", "--db", db, "-q").exit_code == 0
    limits = query_rows(runner, db, "select trial_id, timeout_seconds, timed_out from time order by trial_id")
    huge = {r["trial_id"]: r for r in limits}["study/huge"]
    assert huge["timed_out"] is True and huge["timeout_seconds"] == 1800.0  # the study's other hard limit
    out = tmp_path / "r.html"
    result = invoke(runner, "report", "--db", db, "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "study/huge" in out.read_text()
