"""Trials the store has never held are inserted without deleting first (a DELETE scans tables
that grow with the history); a trial it holds is replaced whole, its old rows gone."""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl
import pytest

from analyzer.store import Store

from .conftest import invoke, make_generic_trial, query_rows


@pytest.fixture()
def deletes(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The trial ids of every Store.delete_trials call (the real method still runs)."""
    calls: list[list[str]] = []
    real = Store.delete_trials

    def spy(self: Store, tables: list[str], trial_ids: pl.Series) -> None:
        calls.append(sorted(trial_ids.to_list()))
        real(self, tables, trial_ids)

    monkeypatch.setattr(Store, "delete_trials", spy)
    return calls


def _touch_later(path: Path) -> None:
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))


def test_new_trials_are_inserted_without_deleting_and_changed_ones_replaced(runner, tmp_path, db, deletes):
    root = tmp_path / "study"
    t1 = make_generic_trial(root, "t1", "1", stderr="error: one\n")
    make_generic_trial(root, "t2", "0", stdout="all good\n")
    assert invoke(runner, "ingest", str(root), "--db", db, "-q").exit_code == 0
    assert deletes == []  # an empty store: nothing to replace

    make_generic_trial(root, "t3", "0", stdout="also good\n")  # only a new trial
    assert invoke(runner, "ingest", str(root), "--db", db, "-q").exit_code == 0
    assert deletes == []

    (t1 / "stderr").write_text("error: two\n")  # a stored trial changed
    _touch_later(t1 / "stderr")
    assert invoke(runner, "ingest", str(root), "--db", db, "-q").exit_code == 0
    t1_id = query_rows(runner, db, "select trial_id from trials where trial_dir like '%t1'")[0]["trial_id"]
    assert deletes and all(c == [t1_id] for c in deletes)
    lines = query_rows(runner, db, f"select text from trial_log_lines where trial_id = '{t1_id}' "
                                   "and stream = 'stderr' order by line_no")
    assert [r["text"] for r in lines] == ["error: two"]
    assert invoke(runner, "logs", t1_id, "--db", db).output.strip().endswith("error: two")
    counts = query_rows(runner, db, "select count(*) as n, count(distinct trial_id) as d from trials")
    assert counts == [{"n": 3, "d": 3}]
