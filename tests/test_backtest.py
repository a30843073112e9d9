"""Memory recommendations through the CLI and the store: real peak history (a 298-row subset of
shared/data/memory-history/peaks-train.csv: ORFS CI metadata of three designs) turned into
generic trials, plus out-of-memory kills of our own; `classify --oom-risk`, the `memory` and
`memory_recommendations` views, and `analyzer backtest`."""

from __future__ import annotations

import csv
import json
from datetime import datetime
from pathlib import Path

import pytest

from .conftest import ingest_and_classify, invoke, make_generic_trial, query_rows

SUBSET = Path(__file__).resolve().parent / "fixtures" / "memory-history-subset.csv"


def write_history(root: Path) -> int:
    """One generic trial per CSV row: trial.json (case, stage, started_at), time.txt, exit 0."""
    with SUBSET.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    for i, row in enumerate(rows):
        started = datetime.strptime(row["date"].replace("T", " "), "%Y-%m-%d %H:%M")
        make_generic_trial(
            root / f"nightly-{started:%Y-%m}", f"t{i:04d}", "0",
            **{"trial.json": json.dumps({"study": f"nightly-{started:%Y-%m}",
                                         "case": f"{row['platform']}/{row['design']}",
                                         "stage": row["stage"], "started_at": f"{started:%Y-%m-%dT%H:%M:%SZ}"}),
               "time.txt": f"\tMaximum resident set size (kbytes): {round(float(row['peak_mb']) * 1024)}\n"
                           f"\tExit status: 0\n"})
    return len(rows)


def kill(root: Path, name: str, case: str, stage: str, started: str, limit: str) -> None:
    """A trial killed by the kernel at its limit: exit 137 and Docker's OOMKilled flag."""
    make_generic_trial(root / "oom", name, "137", **{
        "trial.json": json.dumps({"study": "oom", "case": case, "stage": stage, "started_at": started,
                                  "memory_limit": limit}),
        "docker_inspect.json": json.dumps({"OOMKilled": True, "ExitCode": 137})})


def test_every_trial_gets_an_as_of_limit_and_the_backtest_reads_the_store(runner, tmp_path, db):
    root = tmp_path / "history"
    n = write_history(root)
    ingest_and_classify(runner, root, db)
    rows = query_rows(runner, db, """
        select m.trial_id, m.design, m.stage, m.peak_memory_mb, m.recommended_memory_mb,
               m.recommended_memory_limit, m.recommendation_history_trials, t.started_at
        from memory m join trials t using (trial_id)""")
    assert len(rows) == n
    assert {r["design"] for r in rows} == {"asap7/SramBridge", "ihp-sg13g2/riscv32i", "tsmc65lp/dynamic_node"}
    # NULL exactly where the (design, stage) has no earlier start and the design none either
    first_of_design = {}
    for r in rows:
        first_of_design[r["design"]] = min(first_of_design.get(r["design"], r["started_at"]), r["started_at"])
    for r in rows:
        if r["started_at"] == first_of_design[r["design"]]:
            assert r["recommended_memory_mb"] is None
        else:
            assert r["recommended_memory_mb"] > 0
            mb = int(r["recommended_memory_mb"])
            assert r["recommended_memory_limit"] in (f"{mb}m", f"{mb // 1024}g")

    result = invoke(runner, "backtest", "--db", db, "--format", "json")
    assert result.exit_code == 0, result.output
    table = json.loads(result.stdout)
    mine = next(r for r in table if r["section"] == "policy" and r["policy"] == "analyzer")
    # the backtest's under-provisioned share is the memory view's, recomputed here
    scored = query_rows(runner, db, """
        with h as (select *, count(*) over (partition by design, stage order by t.started_at
                   range between unbounded preceding and interval 1 microsecond preceding) as earlier
                   from memory join trials t using (trial_id))
        select count(*) as runs, count(*) filter (where peak_memory_mb > recommended_memory_mb) as under
        from h where earlier > 0""")[0]
    assert mine["runs_with_history"] == scored["runs"]
    assert mine["under_provisioned"] == pytest.approx(scored["under"] / scored["runs"])
    assert {r["policy"] for r in table if r["section"] == "hindsight"} == {
        "best fixed previous_peak x k", "best fixed history_max x k", "best fixed p90 x k"}
    for r in table:
        if r["section"] == "hindsight":
            assert r["under_provisioned"] <= mine["under_provisioned"] + 1e-12
    curve = [r for r in table if r["section"] == "curve" and r["policy"] == "history_max"]
    shares = [r["under_provisioned"] for r in sorted(curve, key=lambda r: r["k"])]
    assert shares == sorted(shares, reverse=True) and shares[0] > shares[-1]
    assert "median slack" in result.stderr

    report = tmp_path / "report.html"
    assert invoke(runner, "report", "--db", db, "--out", str(report), "-q").exit_code == 0
    html = report.read_text()
    section = html[html.index('id="memory-recommendations"'):]
    assert section.count("<polyline") == 3 and "best fixed history_max x k" in section
    assert "<td>detailedroute</td>" in section


def test_kills_raise_the_next_limit_and_the_risk_is_recorded(runner, tmp_path, db):
    root = tmp_path / "history"
    write_history(root)
    # the last two runs of SramBridge detailedroute: killed at 2g, then at 3g
    kill(root, "k1", "asap7/SramBridge", "detailedroute", "2030-01-01T00:00:00Z", "2g")
    ingest_and_classify(runner, root, db)
    classified = invoke(runner, "classify", "--db", db, "-q", "--oom-risk", "0.05")
    assert classified.exit_code == 0, classified.output
    rec = query_rows(runner, db, """select * from memory_recommendations
                                    where design = 'asap7/SramBridge' and stage = 'detailedroute'""")[0]
    assert rec["oom_kills"] == 1
    assert rec["recommended_memory_mb"] > 2048
    assert rec["oom_risk"] == 0.05 and rec["rules_version"]
    assert query_rows(runner, db, "select value from meta where key = 'oom_risk'")[0]["value"] == "0.05"
    failure = query_rows(runner, db, "select failure_type from failures")[0]
    assert failure["failure_type"] == "out_of_memory"

    limit = f"{int(rec['recommended_memory_mb'])}m"   # killed again, at the limit analyzer recommended
    kill(root, "k2", "asap7/SramBridge", "detailedroute", "2030-01-02T00:00:00Z", limit)
    assert invoke(runner, "ingest", str(root), "--db", db, "-q").exit_code == 0
    assert invoke(runner, "classify", "--db", db, "-q", "--oom-risk", "0.05").exit_code == 0
    again = query_rows(runner, db, """select * from memory_recommendations
                                      where design = 'asap7/SramBridge' and stage = 'detailedroute'""")[0]
    assert again["oom_kills"] == 2
    assert again["recommended_memory_mb"] > rec["recommended_memory_mb"]
    # the second kill was under-provisioned by the first recommendation, in the backtest too
    k2 = query_rows(runner, db, "select recommended_memory_mb from memory where trial_id like '%k2'")[0]
    assert k2["recommended_memory_mb"] == rec["recommended_memory_mb"]


def test_oom_risk_out_of_range_is_a_usage_error(runner, db):
    result = invoke(runner, "classify", "--db", db, "--oom-risk", "0.7")
    assert result.exit_code == 2
    assert "--oom-risk" in result.output
