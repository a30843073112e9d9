"""Ingest through the CLI: exit codes of bad flags, env values and empty roots; --strict on a
re-run; what counts as new; progress on a terminal only."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import pytest

from .conftest import invoke, make_generic_trial, query_rows, run_in_pty


def _one_trial_root(tmp_path: Path) -> Path:
    root = tmp_path / "study"
    make_generic_trial(root, "t1", "137", stderr="Killed\n")
    return root


def _error_lines(result) -> list[str]:
    assert "Traceback" not in result.output
    return [ln for ln in result.stderr.splitlines() if ln.startswith("Error:")]


def test_bad_lock_timeout_env_is_a_usage_error_not_a_traceback(runner, tmp_path, db, monkeypatch):
    root = _one_trial_root(tmp_path)
    assert invoke(runner, "ingest", str(root), "--db", db, "-q").exit_code == 0  # a store to open
    monkeypatch.setenv("ANALYZER_LOCK_TIMEOUT", "abc")
    for args in (["ingest", str(root)], ["classify"], ["query", "select 1"]):
        result = runner.invoke(__import__("analyzer.cli").cli.main, [*args, "--db", db])
        assert result.exit_code == 2, (args, result.output)
        assert any("ANALYZER_LOCK_TIMEOUT='abc': not a number" in ln for ln in _error_lines(result))
    monkeypatch.delenv("ANALYZER_LOCK_TIMEOUT")
    result = invoke(runner, "ingest", str(root), "--db", db, "--lock-timeout", "nan")
    assert result.exit_code == 2 and _error_lines(result)


@pytest.mark.parametrize("value, hint", [("8000", "did you mean 8000m?"), ("1k", "did you mean 1km?"),
                                         ("8x", "not a Docker memory size"), ("1e400g", "not a Docker memory size")])
def test_default_memory_limit_below_docker_minimum_is_refused_with_a_hint(runner, tmp_path, db, value, hint):
    result = invoke(runner, "ingest", str(_one_trial_root(tmp_path)), "--db", db, "--default-memory-limit", value)
    assert result.exit_code == 2
    assert hint in result.stderr and _error_lines(result)
    assert not Path(db).exists()  # refused before the store is touched


def test_missing_root_is_exit_2_and_an_empty_root_is_exit_7_even_with_q(runner, tmp_path, db):
    missing = invoke(runner, "run", str(tmp_path / "nope"), "--db", db, "-q")
    assert missing.exit_code == 2 and "does not exist" in missing.stderr
    empty = tmp_path / "empty"
    (empty / "some" / "folder").mkdir(parents=True)
    for command in ("ingest", "run"):
        result = invoke(runner, command, str(empty), "--db", db, "-q")
        assert result.exit_code == 7, result.output
        assert _error_lines(result) and "no trial found" in _error_lines(result)[0]
    # one good root and one empty root: the good one is ingested, the run still fails
    result = invoke(runner, "ingest", str(_one_trial_root(tmp_path)), str(empty), "--db", db, "-q")
    assert result.exit_code == 7
    assert query_rows(runner, db, "select count(*) n from trials")[0]["n"] == 1


def test_strict_still_fails_on_a_rerun_while_the_bad_file_is_there(runner, tmp_path, db):
    root = tmp_path / "study"
    make_generic_trial(root, "t1", "0", stdout="ok\n", **{"docker_inspect.json": "{not json"})
    make_generic_trial(root, "t2", "0", stdout="ok\n")
    assert invoke(runner, "ingest", str(root), "--db", db, "--strict", "-q").exit_code == 5
    second = invoke(runner, "ingest", str(root), "--db", db, "--strict")
    assert "0 read, 2 unchanged" in second.stderr
    assert second.exit_code == 5 and "1 artifact problem" in second.stderr
    (root / "t1" / "docker_inspect.json").write_text('{"State": {"OOMKilled": false, "ExitCode": 0}}')
    assert invoke(runner, "ingest", str(root), "--db", db, "--strict", "-q").exit_code == 0


def test_q_silences_summary_and_progress_but_never_warnings(runner, tmp_path, db):
    root = tmp_path / "study"
    make_generic_trial(root, "t1", "", stdout="ok\n")
    result = invoke(runner, "ingest", str(root), "--db", db, "-q")
    assert result.stderr.startswith("warning: ") and "empty exit code file" in result.stderr
    assert "trials found" not in result.stderr


def test_changing_an_ingest_flag_updates_the_value_without_making_trials_new(runner, tmp_path, db):
    root = _one_trial_root(tmp_path)
    out = str(tmp_path / "r.html")
    first = invoke(runner, "run", str(root), "--db", db, "--out", out, "--fail-on", "oom", "-q",
                   "--default-memory-limit", "8g")
    assert first.exit_code == 6
    second = invoke(runner, "run", str(root), "--db", db, "--out", out, "--fail-on", "oom", "-q",
                    "--default-memory-limit", "4g")
    assert second.exit_code == 0, second.output  # old news: the trial did not change
    rows = query_rows(runner, db, "select memory_limit_mb, memory_limit_source from trials")
    assert rows == [{"memory_limit_mb": 4096.0, "memory_limit_source": "default"}]
    third = invoke(runner, "run", str(root), "--db", db, "--out", out, "--fail-on", "oom", "-q")
    assert third.exit_code == 0
    assert query_rows(runner, db, "select memory_limit_mb from trials") == [{"memory_limit_mb": None}]
    os.utime(root / "t1" / "stderr", ns=(1, 10 ** 18))  # an artifact changed: new again
    assert invoke(runner, "run", str(root), "--db", db, "--out", out, "--fail-on", "oom", "-q").exit_code == 6


def test_progress_moves_on_a_terminal_and_is_silent_with_q(tmp_path):
    root = tmp_path / "study"
    block = "".join(f"[INFO GRT-0101] iteration {i} of many, nothing to see here\n" for i in range(4000))
    for i in range(250):
        make_generic_trial(root, f"t{i:03d}", "0", stdout=block)
    db = str(tmp_path / "p.duckdb")
    code, chunks = run_in_pty(["ingest", str(root), "--db", db])
    assert code == 0
    paints = [(t, c) for t, c in chunks if "trials" in c and "MB/s" in c and "\r" in c]
    assert paints, chunks[:5]
    assert "250/250 trials" in "".join(c for _, c in chunks)
    times = [t for t, _ in paints]
    assert all(b - a < 1.5 for a, b in itertools.pairwise(times)), times
    import re
    # it moves while logs are read, not only at the end: trials done or MB read change between paints
    states = set(re.findall(r"ingest: (\d+)/250 trials, ([\d.]+) MB", "".join(c for _, c in chunks)))
    took = paints[-1][0] - paints[0][0]
    if took > 1.2:  # a run that ends within one repaint interval has nothing to show in between
        assert len(states) >= 3, (took, states)
    os.unlink(db)
    code, chunks = run_in_pty(["ingest", str(root), "--db", db, "-q"])
    assert code == 0 and "".join(c for _, c in chunks) == ""
