"""A log larger than the store keeps (logs.STORED_LOG_BYTES, compressed) keeps its start and its
end; the middle is not stored, and the ingest says so. Its candidate lines still come from the
whole log, and the line numbers of what is stored stay true."""

from __future__ import annotations

import random

import pytest

from analyzer.ingest import logs

from .conftest import invoke, make_generic_trial, query_rows


def _log(n_lines: int) -> list[str]:
    rng = random.Random(7)
    words = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(12)) for _ in range(400)]
    lines = [f"line {i} " + " ".join(rng.choice(words) for _ in range(8)) for i in range(1, n_lines + 1)]
    lines[n_lines // 2] = f"line {n_lines // 2 + 1} error: in the middle"
    lines[-3] = f"line {n_lines - 2} error: near the end"
    return lines


@pytest.mark.parametrize("scanner", ["ripgrep", "none"])
def test_a_log_past_the_bound_keeps_its_start_and_end(runner, tmp_path, db, monkeypatch, scanner):
    if scanner == "none":
        monkeypatch.setenv("ANALYZER_RG", "none")
    monkeypatch.setattr(logs, "CHUNK_BYTES", 4096)
    monkeypatch.setattr(logs, "STORED_LOG_BYTES", 40_000)
    lines = _log(6000)
    make_generic_trial(tmp_path / "study", "t1", "1", stdout="\n".join(lines) + "\n")
    result = invoke(runner, "ingest", str(tmp_path / "study"), "--db", db)
    assert result.exit_code == 0, result.output
    problem = query_rows(runner, db, "select path, error from ingest_errors")
    assert len(problem) == 1 and problem[0]["path"].endswith("stdout")
    assert "larger than the store keeps" in problem[0]["error"]

    out = invoke(runner, "logs", "study/t1", "--db", db).stdout.splitlines()
    marker = [i for i, ln in enumerate(out) if ln.startswith("[analyzer: lines ")]
    assert len(marker) == 1
    head, tail = out[:marker[0]], out[marker[0] + 1:]
    assert head == lines[:len(head)] and tail == lines[len(lines) - len(tail):]  # exact start and end
    assert len(head) > 0 and len(tail) > 0 and len(head) + len(tail) < len(lines)
    assert out[marker[0]].startswith(f"[analyzer: lines {len(head) + 1}-{len(lines) - len(tail)} ")
    assert f"lines {len(head) + 1}-{len(lines) - len(tail)}" in problem[0]["error"]

    kept = {r["line_no"]: r["text"] for r in query_rows(runner, db, "select line_no, text from trial_log_lines")}
    assert kept[3001] == "line 3001 error: in the middle"  # found in the part not stored
    grep = invoke(runner, "logs", "study/t1", "--db", db, "--grep", "error: near").stdout
    assert grep == f"stdout:{len(lines) - 2}: line {len(lines) - 2} error: near the end\n"
    assert invoke(runner, "logs", "study/t1", "--db", db, "--grep", "in the middle").exit_code == 1


def test_a_log_within_the_bound_is_stored_whole(runner, tmp_path, db, monkeypatch):
    monkeypatch.setattr(logs, "CHUNK_BYTES", 4096)
    lines = _log(6000)
    make_generic_trial(tmp_path / "study", "t1", "1", stdout="\n".join(lines) + "\n")
    assert invoke(runner, "ingest", str(tmp_path / "study"), "--db", db, "-q").exit_code == 0
    assert invoke(runner, "logs", "study/t1", "--db", db).stdout.splitlines() == lines
    assert query_rows(runner, db, "select count(*) as n from ingest_errors") == [{"n": 0}]
