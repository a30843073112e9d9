"""analyzer.jobs from Python: results as dataclasses, errors as analyzer's own exceptions, and the
same store and lines as the CLI."""

from __future__ import annotations

import pytest

from analyzer import jobs
from analyzer.errors import FailOnMatched, NoTrialsFound, StoreSchemaError

from .conftest import invoke, make_generic_trial, query_rows


def test_run_from_python_returns_each_step_and_says_what_the_cli_prints(runner, sample_root, tmp_path):
    db, out = str(tmp_path / "py.duckdb"), str(tmp_path / "r.html")
    said: list[str] = []
    result = jobs.run([str(sample_root)], db=db, out=out, default_memory_limit="8g", say=said.append)
    stored = query_rows(runner, db, "select failure_type, count(*) as n from failures group by 1")
    assert {r["failure_type"]: r["n"] for r in stored} == dict(
        result.classified.failures["failure_type"].value_counts().iter_rows())
    assert result.ingested.report.trials_found == len(query_rows(runner, db, "select 1 from trials")) - \
        result.ingested.report.crashed_before_dir
    assert said == [result.ingested.summary(), result.classified.summary(), result.reported.summary()]
    assert result.reported.totals["failed"] == result.classified.failures.height > 0
    # the CLI prints the same lines for the same store
    again = invoke(runner, "classify", "--db", db)
    assert again.stderr.strip() == result.classified.summary()


def test_jobs_raise_analyzer_errors_not_exit(tmp_path, sample_root):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(NoTrialsFound, match="no trial found"):
        jobs.ingest([str(empty)], db=str(tmp_path / "e.duckdb"))
    with pytest.raises(StoreSchemaError, match="no store here"):
        jobs.classify(db=str(tmp_path / "missing.duckdb"))
    root = tmp_path / "one"
    make_generic_trial(root, "oom", "137", stderr="Out of memory: Killed process 4242 (openroad)\n")
    with pytest.raises(FailOnMatched, match="fail-on any: 1 of 1"):
        jobs.run([str(root)], db=str(tmp_path / "f.duckdb"), out=str(tmp_path / "f.html"), fail_on="any")


def test_query_and_export_jobs(tmp_path, sample_root):
    db = str(tmp_path / "q.duckdb")
    jobs.ingest([str(sample_root)], db=db)
    result = jobs.query("select count(*) as n from trials", db=db)
    assert result.columns == ["n"] and result.rows[0][0] > 100
    exported = jobs.export(fmt="csv", out=str(tmp_path / "views"), db=db)
    assert exported.counts["trials"] == result.rows[0][0]
    assert (tmp_path / "views" / "trials.csv").exists()


def test_near_limit_ratio_comes_from_the_rules_file(tmp_path, runner):
    """signals.sigkill_near_limit.ratio decides when a SIGKILL at a high peak is strong OOM
    evidence, and classify records it for the `memory` view."""
    root = tmp_path / "t"
    make_generic_trial(root, "killed", "137", stderr="Maximum resident set size (kbytes): 6000000\n")
    db = str(tmp_path / "r.duckdb")
    jobs.ingest([str(root)], db=db, default_memory_limit="8g")
    sql = "select count(*) as n from failure_evidence where signal = 'sigkill_near_limit'"
    jobs.classify(db=db)
    assert query_rows(runner, db, sql) == [{"n": 0}]  # 72 % of the limit: below the shipped 0.95
    assert query_rows(runner, db, "select value from meta where key = 'near_limit_ratio'") == [{"value": "0.95"}]
    site = tmp_path / "site.toml"
    site.write_text('version = "t"\n[signals.sigkill_near_limit]\nratio = 0.7\n')
    result = jobs.classify(db=db, rules_file=str(site))
    assert query_rows(runner, db, sql) == [{"n": 1}]
    assert result.failures["failure_type"].to_list() == ["out_of_memory"]
    assert query_rows(runner, db, "select suggestion_kind from memory") == [{"suggestion_kind": "suggest"}]
