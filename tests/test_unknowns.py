"""`analyzer unknowns`: fallback verdicts grouped by masked signature, and rule stubs from them."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from .conftest import copy_store, ingest_and_classify, invoke, make_generic_trial, query_rows


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Three fallback verdicts and an out-of-memory one, ingested and classified once."""
    base = tmp_path_factory.mktemp("unknowns")
    root = base / "hist"
    make_generic_trial(root, "a", "1", stderr="Error: bin 41 of /data/run_7/x.odb out of range (0x7f3a)\n")
    make_generic_trial(root, "b", "1", stderr="Error: bin 9 of /scratch/y.odb out of range (0x11)\n")
    make_generic_trial(root, "c", "1", stderr="flow stopped\n")
    make_generic_trial(root, "oom", "137", stderr="Killed\n")
    ingest_and_classify(CliRunner(), root, str(base / "store.duckdb"))
    return str(base / "store.duckdb")


@pytest.fixture
def store(template: str, db: str) -> str:
    return copy_store(template, db)


def test_unknowns_groups_fallback_verdicts_by_masked_signature(runner, tmp_path, store, db):
    before = hashlib.sha256(Path(db).read_bytes()).hexdigest()
    result = invoke(runner, "unknowns", "--db", db, "--format", "json")
    assert result.exit_code == 0, result.output
    rows = {r["signature"]: r for r in json.loads(result.stdout)}
    masked = rows["Error: bin <NUM> of <PATH> out of range (<HEX>)"]
    assert masked["trials"] == 2 and masked["example_trial"] == "hist/a" and masked["studies"] == 1
    assert rows["flow stopped"]["trials"] == 1      # no rule matched: the last stderr line decides
    assert not any("Killed" in s for s in rows)     # an out-of-memory verdict is not an unknown
    assert "3 trial(s) in 2 signature(s)" in result.stderr
    assert hashlib.sha256(Path(db).read_bytes()).hexdigest() == before  # unknowns writes nothing
    assert query_rows(runner, db, "select count(*) n from failures") == [{"n": 4}]


def test_unknowns_since_and_the_named_query_agree(runner, tmp_path, store, db):
    late = invoke(runner, "unknowns", "--db", db, "--since", "2999-01-01", "--format", "json")
    assert json.loads(late.stdout) == []
    named = invoke(runner, "query", "--name", "unknown_signatures", "--db", db, "--format", "json")
    assert len(json.loads(named.stdout)) == 2


def test_emitted_rule_stubs_pass_rules_check_and_reclassify(runner, tmp_path, store, db):
    stubs = tmp_path / "stubs.toml"
    assert invoke(runner, "unknowns", "--db", db, "--emit-rules", str(stubs), "--format", "csv").exit_code == 0
    check = invoke(runner, "rules", "check", str(stubs))
    assert check.exit_code == 0, check.output
    edited = stubs.read_text().replace('type = "tool_crash"  # set the failure type', 'type = "sta_failed"', 1)
    stubs.write_text(edited.replace("precedence = 90", "precedence = 70", 1))
    assert invoke(runner, "classify", "--db", db, "--rules", str(stubs), "-q").exit_code == 0
    got = query_rows(runner, db, "select trial_id, failure_type from failures order by 1")
    assert got[:2] == [{"trial_id": "hist/a", "failure_type": "sta_failed"},
                       {"trial_id": "hist/b", "failure_type": "sta_failed"}]
