"""classify writes each batch's evidence in its own commit to `evidence_rows_next` and swaps it in
with the verdicts in one last transaction (memory: one transaction holding every appended row
was ~85 MiB of the peak at 100,000 trials). A classify killed before that transaction leaves the
previous classification whole, and the next classify starts clean."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb

from .conftest import invoke

# a rule of its own, so the previous classification differs from the one that gets killed
EXTRA_RULES = textwrap.dedent('''
    version = "extra-1"
    [[rules]]
    id = "test_extra_no_such_file"
    type = "configuration_error"
    precedence = 5
    pattern = 'no such file or directory'
''')

_CHILD = textwrap.dedent("""
    import sys, time
    import analyzer.jobs as jobs
    from analyzer.cli import main
    from analyzer.store import Store

    # one partition and one batch per few trials: the kill lands after some batches committed
    jobs.TRIALS_PER_PARTITION, jobs.LINES_PER_PARTITION = 5, 50
    jobs.TRIALS_PER_BATCH, jobs.RELEVANT_LINES_PER_BATCH = 5, 50
    seen = [0]
    real_insert = Store.insert

    def insert(self, table, frame):
        real_insert(self, table, frame)
        if table == "evidence_rows_next" and frame.height:
            seen[0] += 1
            if seen[0] == 3:
                print("HERE", flush=True)
                time.sleep(60)

    Store.insert = insert
    main(["classify", "--db", sys.argv[1], "-q"])
""")


def _classification(db: str) -> dict[str, list[tuple[object, ...]]]:
    con = duckdb.connect(db, read_only=True)
    try:
        return {
            "verdicts": con.execute("SELECT trial_id, outcome, eco_class, rules_version FROM verdict_rows "
                                    "ORDER BY trial_id").fetchall(),
            "evidence": con.execute("SELECT * FROM failure_evidence ORDER BY ALL").fetchall(),
            "failures": con.execute("SELECT * FROM failures ORDER BY trial_id").fetchall(),
            "tables": [r[0] for r in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE table_name LIKE 'evidence_rows%' "
                "ORDER BY 1").fetchall()],
        }
    finally:
        con.close()


def test_classify_killed_after_some_evidence_batches_leaves_the_previous_classification(
        runner, shared_sample, tmp_path: Path) -> None:
    db = shared_sample.store(tmp_path / "s.duckdb", classify=False)
    rules = tmp_path / "extra.toml"
    rules.write_text(EXTRA_RULES, encoding="utf-8")
    first = invoke(runner, "classify", "--db", db, "--rules", str(rules), "-q")
    assert first.exit_code == 0, first.output
    before = _classification(db)
    assert any(row[2] == "test_extra_no_such_file" for row in before["evidence"])  # the rule fired

    child = subprocess.Popen([sys.executable, "-c", _CHILD, db], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "HERE", child.communicate(timeout=60)
    child.send_signal(signal.SIGKILL)
    child.communicate(timeout=60)

    after_kill = _classification(db)
    # the previous verdicts, failures and evidence, whole; the half-filled new table is left over
    assert {k: v for k, v in after_kill.items() if k != "tables"} == \
        {k: v for k, v in before.items() if k != "tables"}
    assert after_kill["tables"] == ["evidence_rows", "evidence_rows_next"]

    rerun = invoke(runner, "classify", "--db", db, "-q")
    assert rerun.exit_code == 0, rerun.output
    after = _classification(db)
    assert after["tables"] == ["evidence_rows"]  # the leftover is dropped, the new one swapped in
    assert not any(row[2] == "test_extra_no_such_file" for row in after["evidence"])
    assert {v[3] for v in after["verdicts"]} != {v[3] for v in before["verdicts"]}
    # the same classification as the shipped rules give on a store classified in one go
    reference = _classification(shared_sample.template())
    assert {k: v for k, v in after.items() if k != "tables"} == \
        {k: v for k, v in reference.items() if k != "tables"}
