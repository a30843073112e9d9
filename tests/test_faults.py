"""Fault injection: kill -9 and Ctrl-C of a real `analyzer ingest` process at several points.

Afterwards the store opens, every trial present is complete (its facts, log lines and samples
were written in one transaction), and a re-run completes the set."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest

from .conftest import make_generic_trial

N_TRIALS = 300


def _corpus(root: Path) -> None:
    stats = json.dumps({"read": "2026-11-27T01:00:00Z", "memory_stats": {"usage": 1 << 30, "limit": 4 << 30}})
    for i in range(N_TRIALS):
        make_generic_trial(root, f"t{i:04d}", "137" if i % 3 else "0",
                           stderr="".join(f"step {j} ok\n" for j in range(200)) + "Killed\n",
                           **{"docker_stats.jsonl": stats + "\n"})


_CHILD = textwrap.dedent("""
    import sys, time
    import analyzer.ingest.pipeline as p
    from analyzer.cli import main
    from analyzer.store import Store

    p.BATCH_TRIALS = 25  # small batches: a fault can land between batches as well as inside one
    point, nth = sys.argv[3], int(sys.argv[4])
    seen = [0]

    def announce(tag):
        if tag == point:
            seen[0] += 1
            if seen[0] == nth:
                print("HERE", flush=True)
                time.sleep(60)

    real_insert, real_replace, real_scan = Store.insert, Store.replace_trials, p.scan_logs

    def insert(self, table, frame):
        real_insert(self, table, frame)
        announce("after insert " + table)

    def replace(self, *args, **kwargs):
        real_replace(self, *args, **kwargs)
        announce("after commit")

    def scan(files):
        announce("scanning logs")
        return real_scan(files)

    Store.insert, Store.replace_trials, p.scan_logs = insert, replace, scan
    main(["ingest", sys.argv[1], "--db", sys.argv[2], "-q"])
""")


def _child(root: Path, db: str, point: str = "", nth: int = 0) -> subprocess.Popen:
    """A real `analyzer ingest`, instrumented to print HERE and wait at the `nth` `point`."""
    return subprocess.Popen([sys.executable, "-c", _CHILD, str(root), db, point, str(nth)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _stop_at(root: Path, db: str, point: str, nth: int, sig: int) -> tuple[int, str]:
    child = _child(root, db, point, nth)
    assert child.stdout.readline().strip() == "HERE", child.stderr.read()
    child.send_signal(sig)
    _, err = child.communicate(timeout=60)
    return child.returncode, err


def _check_complete(db: str) -> int:
    """Every stored trial has its facts, its `Killed` log line and its memory sample."""
    con = duckdb.connect(db, read_only=True)
    try:
        n = con.execute("select count(*) from trial_facts").fetchone()[0]
        incomplete = con.execute("""
            select count(*) from trial_facts t
            where not exists (select 1 from log_lines l where l.trial_id = t.trial_id and l.text = 'Killed')
               or not exists (select 1 from memory_sample_rows m where m.trial_id = t.trial_id)
               or t.stderr_bytes is null""").fetchone()[0]
        orphans = con.execute("""select count(*) from log_lines l
            where not exists (select 1 from trial_facts t where t.trial_id = l.trial_id)""").fetchone()[0]
    finally:
        con.close()
    assert incomplete == 0 and orphans == 0
    return n


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("faults") / "study"
    _corpus(root)
    return root


# (point, nth time this run reaches it): between batches, while scanning logs, and inside a
# batch's transaction after each of its inserts
POINTS = (("after commit", 2), ("scanning logs", 3), ("after insert log_lines", 2),
          ("after insert ingest_error_rows", 1))


@pytest.mark.slow
def test_kill_9_at_several_points_leaves_complete_trials_and_rerun_completes(corpus, tmp_path):
    db = str(tmp_path / "store.duckdb")
    counts = []
    for point, nth in POINTS:
        _stop_at(corpus, db, point, nth, signal.SIGKILL)
        counts.append(_check_complete(db))
    # each kill keeps exactly the batches committed before it (25 trials each), never a part of
    # one. "scanning logs" is in the reader thread, which reads a batch ahead of the writer: when
    # it starts its 3rd batch the writer has committed the 1st and may or may not have committed
    # the 2nd; the other points are in the writer, after a fixed number of commits.
    assert counts[0] == 50 and counts[1] in (75, 100)
    assert counts[2:] == [counts[1] + 25, counts[1] + 25]
    done = _child(corpus, db)
    _, err = done.communicate(timeout=120)
    assert done.returncode == 0, err
    assert _check_complete(db) == N_TRIALS


def test_ctrl_c_exits_130_with_one_error_line_and_the_store_intact(corpus, tmp_path):
    db = str(tmp_path / "store.duckdb")
    code, err = _stop_at(corpus, db, "after insert log_lines", 3, signal.SIGINT)  # inside batch 3
    assert code == 130, err
    assert "Traceback" not in err
    assert [ln for ln in err.splitlines() if ln.startswith("Error:")] == [
        "Error: interrupted; every batch already written is kept, a re-run completes the rest"]
    assert _check_complete(db) == 50


def test_ctrl_c_inside_a_duckdb_statement_is_also_exit_130(runner, tmp_path, db, monkeypatch):
    """DuckDB turns SIGINT during a statement into RuntimeError('Query interrupted')."""
    from analyzer.store import Store

    from .conftest import invoke

    for i in range(3):
        make_generic_trial(tmp_path / "s", f"t{i}", "137", stderr="Killed\n")
    real_insert = Store.insert

    def interrupted(self, table, frame):
        if table == "log_lines":
            raise RuntimeError("Query interrupted")
        return real_insert(self, table, frame)

    monkeypatch.setattr(Store, "insert", interrupted)
    result = invoke(runner, "ingest", str(tmp_path / "s"), "--db", db)
    monkeypatch.undo()
    assert result.exit_code == 130 and "Error: interrupted" in result.stderr
    assert _check_complete(db) == 0  # the batch was rolled back whole
