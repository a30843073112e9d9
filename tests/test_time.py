"""The `time` view, `timeout_suggestions` and the `near_timeout` query, through the CLI on real files."""

from __future__ import annotations

import json

from .conftest import ingest_and_classify, invoke, make_generic_trial, query_rows
from .noodle2_trials import noodle2_trial

HARD = "\n[HARD_TIMEOUT] Trial exceeded hard timeout limit of {n} seconds\n"
SOFT = "\n[SOFT_TIMEOUT] Trial exceeded soft timeout of {n}s but completed before hard timeout\n"


def _time(runner, db: str) -> dict[str, dict]:
    return {r["trial_id"]: r for r in query_rows(runner, db, "select * from time")}


def test_timeout_sources_in_order_line_then_trial_then_study_then_noodle2_default(runner, tmp_path, db):
    root = tmp_path / "runs"
    noodle2_trial(root, "s1", "gcd", 0, 1, "cell_resize", rc=124, runtime=1800.0, timed_out=True,
                  stderr=HARD.format(n=1800))
    noodle2_trial(root, "s1", "gcd", 0, 2, "cell_swap", runtime=1500.0)
    noodle2_trial(root, "s1", "gcd", 1, 1, "cell_swap", runtime=1500.0)
    config = tmp_path / "s1.yaml"
    config.write_text("study:\n  name: s1\nstages:\n  defaults:\n    timeout_seconds: 2400\n")
    # the study YAML applies to studies with study-level files (here: telemetry)
    (root / "telemetry" / "s1").mkdir(parents=True)
    (root / "telemetry" / "s1" / "study_telemetry.json").write_text(json.dumps({"study_name": "s1"}))
    ingest_and_classify(runner, root, db, "--config", str(config))
    other = tmp_path / "other"
    noodle2_trial(other, "s2", "aes", 1, 1, "buffer_insertion", runtime=900.0)
    noodle2_trial(other, "s3", "aes", 0, 1, "buffer_insertion", rc=124, runtime=1200.0, timed_out=True,
                  stderr=HARD.format(n=1200))
    noodle2_trial(other, "s3", "aes", 0, 2, "cell_swap", runtime=300.0)
    noodle2_trial(other, "s3", "aes", 1, 1, "cell_swap", runtime=300.0)
    make_generic_trial(other, "g1", "0", stdout="done\n", **{"trial.json": json.dumps({
        "study": "g", "case": "ibex", "stage": 0, "eco_name": "pin_swap", "timeout_seconds": 600,
        "started_at": "2026-11-27T03:00:00Z", "finished_at": "2026-11-27T03:09:00Z"})})
    ingest_and_classify(runner, other, db)
    t = _time(runner, db)
    line = t["s1/gcd_0_1/stage_0/trial_1"]
    assert (line["timeout_seconds"], line["timeout_source"], line["timed_out"]) == (1800.0, "hard_timeout_line", True)
    assert line["timeout_evidence"] == "timed_out,exit_124,hard_timeout_line,classified_timeout"
    study = t["s1/gcd_0_2/stage_0/trial_2"]
    assert (study["timeout_seconds"], study["timeout_source"], study["timed_out"]) == (2400.0, "study_config", False)
    assert study["runtime_ratio"] == 0.625 and study["headroom_seconds"] == 900.0
    assert (t["s2/aes_1_1/stage_1/trial_1"]["timeout_seconds"], t["s2/aes_1_1/stage_1/trial_1"]["timeout_source"]) \
        == (3600.0, "noodle2_default")
    # a limit another trial of the same study hit applies to its siblings
    assert t["s3/aes_0_2/stage_0/trial_2"]["timeout_source"] == "stage_hard_timeout_line"
    assert (t["s3/aes_1_1/stage_1/trial_1"]["timeout_seconds"], t["s3/aes_1_1/stage_1/trial_1"]["timeout_source"]) \
        == (1200.0, "study_hard_timeout_line")
    generic = t["g/g1"]
    assert (generic["timeout_seconds"], generic["timeout_source"], generic["runtime_seconds"]) == (600.0, "trial_config", 540.0)
    assert generic["runtime_ratio"] == 0.9 and generic["suggestion_kind"] == "raise: within 10 % of the limit"
    assert generic["design"] == "ibex" and t["s1/gcd_0_1/stage_0/trial_1"]["design"] == "gcd"


def test_soft_timeout_and_gnu_timeout_wrapper(runner, tmp_path, db):
    root = tmp_path / "runs"
    noodle2_trial(root, "s1", "gcd", 0, 1, "cell_resize", runtime=2210.5, stderr=SOFT.format(n=1800))
    make_generic_trial(root, "wrapped", "124", stderr="timeout: sending signal TERM to command 'openroad'\n",
                       **{"trial.json": json.dumps({"study": "g", "case": "ibex", "stage": 2,
                                                    "eco_name": "full_optimization"})})
    ingest_and_classify(runner, root, db)
    t = _time(runner, db)
    soft = t["s1/gcd_0_1/stage_0/trial_1"]
    assert (soft["soft_timeout_seconds"], soft["soft_timed_out"], soft["timed_out"]) == (1800.0, True, False)
    assert round(soft["soft_runtime_ratio"], 3) == 1.228
    wrapped = t["g/wrapped"]
    assert wrapped["timed_out"] is True and wrapped["timeout_seconds"] is None
    assert wrapped["timeout_evidence"].startswith("exit_124,gnu_timeout_line")


def test_timed_out_trials_are_censored_so_their_key_gets_a_higher_timeout(runner, tmp_path, db):
    root = tmp_path / "runs"
    # stage 2, placement_local: one trial hit the 1800 s limit, one finished in 1000 s
    noodle2_trial(root, "s1", "gcd", 2, 1, "cell_resize", rc=124, runtime=1799.0, timed_out=True,
                  stderr=HARD.format(n=1800))
    noodle2_trial(root, "s1", "gcd", 2, 2, "buffer_insertion", runtime=1000.0)
    # stage 2, topology_neutral: all fine, slowest 700 s
    noodle2_trial(root, "s1", "gcd", 2, 3, "pin_swap", runtime=700.0)
    noodle2_trial(root, "s1", "gcd", 2, 4, "vt_swap", runtime=430.0)
    ingest_and_classify(runner, root, db)
    rows = {(r["eco_class"]): r for r in query_rows(
        runner, db, "select * from timeout_suggestions where design = 'gcd' and stage_index = 2")}
    censored = rows["placement_local"]
    # needed more than the 1800 s limit, not the 1799 s it ran: 1.5 x 1800
    assert (censored["needed_seconds"], censored["suggested_timeout_seconds"]) == (1800.0, 2700.0)
    assert censored["suggestion_kind"] == "raise: timed out (censored)" and censored["timed_out"] == 1
    assert censored["suggested_timeout_seconds"] > censored["current_timeout_seconds"]
    fine = rows["topology_neutral"]
    assert (fine["slowest_runtime_seconds"], fine["suggested_timeout_seconds"], fine["suggestion_kind"]) == \
        (700.0, 1080.0, "fits")  # 1.5 x 700 = 1050, rounded up to the minute


def test_near_timeout_query_on_the_sample(runner, shared_sample, db):
    shared_sample.store(db)
    out = invoke(runner, "query", "--name", "near_timeout", "--db", db, "--format", "json")
    assert out.exit_code == 0, out.output
    rows = json.loads(out.stdout)
    timed_out = {r["trial_id"] for r in rows if r["timed_out"]}
    assert timed_out == {
        "nangate45_extreme_demo/nangate45_extreme_ibex_2_4/stage_2/trial_4",
        "sky130_ibex_nightly/sky130_ibex_2_7/stage_2/trial_7",
        "sky130_ibex_nightly_20261128/sky130_ibex_2_7/stage_2/trial_7",
        "orfs_nightly_generic/route_gnu_timeout"}
    others = [(r["trial_id"], r["runtime_pct"]) for r in rows if not r["timed_out"]]
    assert others == [("orfs_nightly_generic/route_near_timeout", 95.0),
                      ("sky130_ibex_nightly_20261128/sky130_ibex_0_6/stage_0/trial_6", 92.1)]
    stricter = invoke(runner, "query", "--name", "near_timeout", "--param", "ratio=0.99", "--db", db, "--format", "json")
    assert [r["trial_id"] for r in json.loads(stricter.stdout) if not r["timed_out"]] == [
        "sky130_ibex_nightly_20261128/sky130_ibex_0_6/stage_0/trial_6"]  # kept for its soft timeout
