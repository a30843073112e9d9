"""`trial_metrics` and its comparisons (baseline, best/worst, ECO class, night over night) and the
`metric_regressions` query, through the CLI on real files."""

from __future__ import annotations

import json
from datetime import timedelta

from .conftest import ingest_and_classify, invoke, query_rows
from .noodle2_trials import START, noodle2_trial


def test_every_numeric_metric_becomes_a_row_with_unit_and_direction(runner, tmp_path, db):
    root = tmp_path / "runs"
    noodle2_trial(root, "s1", "gcd", 0, 1, "cell_resize", metrics={
        "wns_ps": -120, "tns_ps": -4410, "hot_ratio": 0.21, "clock_period_ns": 1.1, "status": "timing_violation",
        "converged": True, "timing": {"setup_ws": -0.12}, "finish__power__total": 0.0123,
        "finish__design__instance__area": 5321.5, "detailedroute__route__drc_errors": 3})
    noodle2_trial(root, "s1", "gcd", 0, 2, "cell_swap", rc=137, metrics={})
    ingest_and_classify(runner, root, db)
    rows = {r["metric"]: r for r in query_rows(runner, db, "select * from trial_metrics")}
    assert set(rows) == {"wns_ps", "tns_ps", "hot_ratio", "clock_period_ns", "timing.setup_ws",
                         "finish__power__total", "finish__design__instance__area", "detailedroute__route__drc_errors"}
    got = {m: (r["value"], r["unit"], r["direction"]) for m, r in rows.items()}
    assert got["wns_ps"] == (-120.0, "ps", "higher")
    assert got["hot_ratio"] == (0.21, "ratio", "lower")
    assert got["clock_period_ns"] == (1.1, "ns", None)
    assert got["timing.setup_ws"] == (-0.12, None, "higher")
    assert got["finish__power__total"] == (0.0123, "W", "lower")
    assert got["finish__design__instance__area"] == (5321.5, "um^2", "lower")
    assert got["detailedroute__route__drc_errors"] == (3.0, "count", "lower")
    r = rows["wns_ps"]
    assert (r["study"], r["design"], r["stage_index"], r["eco_name"], r["eco_class"]) == \
        ("s1", "gcd", 0, "cell_resize", "placement_local")


def _stage_study(root, study: str = "s1", shift: float = 0.0, cell_resize_wns: int = -50) -> None:
    start = START + timedelta(days=shift)
    noodle2_trial(root, study, "gcd", 0, 0, "noop", metrics={"wns_ps": -100, "finish__power__total": 0.020}, start=start)
    noodle2_trial(root, study, "gcd", 0, 1, "cell_resize", metrics={"wns_ps": cell_resize_wns, "finish__power__total": 0.025}, start=start)
    noodle2_trial(root, study, "gcd", 0, 2, "pin_swap", metrics={"wns_ps": -150, "finish__power__total": 0.015}, start=start)
    noodle2_trial(root, study, "gcd", 0, 3, "buffer_insertion", metrics={"wns_ps": -100, "finish__power__total": 0.020}, start=start)
    # stage 1 has no noop: its baseline is the nearest earlier stage's
    noodle2_trial(root, study, "gcd", 1, 1, "gate_cloning", metrics={"wns_ps": -40}, start=start)


def test_each_eco_against_the_stage_noop_and_best_worst_with_the_trial(runner, tmp_path, db):
    _stage_study(tmp_path / "runs")
    ingest_and_classify(runner, tmp_path / "runs", db)
    vs = {(r["eco_name"], r["metric"]): r for r in query_rows(runner, db, "select * from metric_vs_baseline")}
    resize = vs[("cell_resize", "wns_ps")]
    assert (resize["baseline_value"], resize["improvement"], resize["verdict"], resize["baseline_kind"]) == \
        (-100.0, 50.0, "better", "stage_noop")
    assert resize["baseline_trial_id"] == "s1/gcd_0_0/stage_0/trial_0"
    assert (vs[("pin_swap", "wns_ps")]["improvement"], vs[("pin_swap", "wns_ps")]["verdict"]) == (-50.0, "worse")
    assert vs[("buffer_insertion", "wns_ps")]["verdict"] == "same"
    # power: lower is better, so the resize's higher power is worse
    power = vs[("cell_resize", "finish__power__total")]
    assert power["verdict"] == "worse" and round(power["improvement"], 4) == -0.005
    assert (vs[("gate_cloning", "wns_ps")]["baseline_kind"], vs[("gate_cloning", "wns_ps")]["improvement"]) == \
        ("earlier_stage_noop", 60.0)
    bw = {r["metric"]: r for r in query_rows(runner, db, "select * from metric_best_worst where stage_index = 0")}
    assert (bw["wns_ps"]["best_value"], bw["wns_ps"]["best_eco_name"], bw["wns_ps"]["best_trial_id"]) == \
        (-50.0, "cell_resize", "s1/gcd_0_1/stage_0/trial_1")
    assert (bw["wns_ps"]["worst_value"], bw["wns_ps"]["worst_eco_name"]) == (-150.0, "pin_swap")
    assert (bw["finish__power__total"]["best_eco_name"], bw["finish__power__total"]["worst_eco_name"]) == \
        ("pin_swap", "cell_resize")
    by_class = {(r["eco_class"], r["metric"]): r for r in query_rows(runner, db, "select * from metric_by_eco_class")}
    pl_wns = by_class[("placement_local", "wns_ps")]  # cell_resize +50, buffer_insertion 0, gate_cloning +60
    assert (pl_wns["trials"], pl_wns["better"], pl_wns["worse"], pl_wns["median_improvement"]) == (3, 2, 0, 50.0)
    assert pl_wns["best_trial_id"] == "s1/gcd_1_1/stage_1/trial_1"
    assert ("topology_neutral", "wns_ps") in by_class and not any(k[0] is None for k in by_class)


def test_metric_regressions_night_over_night_with_threshold_and_direction(runner, tmp_path, db):
    root = tmp_path / "runs"
    _stage_study(root, "night1", 0)
    _stage_study(root, "night2", 1, cell_resize_wns=-56)  # 12 % worse than -50
    ingest_and_classify(runner, root, db)
    out = invoke(runner, "query", "--name", "metric_regressions", "--db", db, "--format", "json")
    assert out.exit_code == 0, out.output
    rows = json.loads(out.stdout)
    assert [(r["study"], r["eco_name"], r["metric"], r["previous_study"], r["previous_value"], r["value"],
             r["worse_by"], r["worse_pct"]) for r in rows] == [
        ("night2", "cell_resize", "wns_ps", "night1", -50.0, -56.0, 6.0, 12.0)]
    loose = invoke(runner, "query", "--name", "metric_regressions", "--param", "threshold_pct=15", "--db", db,
                   "--format", "json")
    assert json.loads(loose.stdout) == []
    # the first night has no previous study: nothing to regress from
    only1 = invoke(runner, "query", "--name", "metric_regressions", "--param", "study=night1", "--db", db, "--format", "json")
    assert json.loads(only1.stdout) == []


def test_a_lower_is_better_count_from_zero_is_a_regression(runner, tmp_path, db):
    root = tmp_path / "runs"
    noodle2_trial(root, "n1", "gcd", 0, 1, "cell_resize", metrics={"drc_errors": 0, "wns_ps": -10})
    noodle2_trial(root, "n2", "gcd", 0, 1, "cell_resize", metrics={"drc_errors": 2, "wns_ps": -5},
                  start=START + timedelta(days=1))
    ingest_and_classify(runner, root, db)
    rows = query_rows(runner, db, "select metric, previous_value, value, worse_by from metric_history "
                                  "where study = 'n2' order by metric")
    assert rows == [{"metric": "drc_errors", "previous_value": 0.0, "value": 2.0, "worse_by": 2.0},
                    {"metric": "wns_ps", "previous_value": -10.0, "value": -5.0, "worse_by": -5.0}]
    out = invoke(runner, "query", "--name", "metric_regressions", "--db", db, "--format", "json")
    assert [r["metric"] for r in json.loads(out.stdout)] == ["drc_errors"]


def test_sample_logs_show_one_regression_and_metrics_on_every_successful_noodle2_trial(runner, shared_sample, db):
    shared_sample.store(db, "--default-memory-limit", "8g")
    missing = query_rows(runner, db, """
        select t.trial_id from trials t where t.layout = 'noodle2' and t.exit_code = 0 and t.eco_name is not null
        and t.trial_id not in (select trial_id from trial_metrics)""")
    assert missing == []
    out = invoke(runner, "query", "--name", "metric_regressions", "--db", db, "--format", "json")
    rows = json.loads(out.stdout)
    assert [(r["study"], r["stage_index"], r["eco_name"], r["metric"], r["previous_study"], r["worse_by"])
            for r in rows] == [("sky130_ibex_nightly_20261128", 1, "cell_swap", "wns_ps", "sky130_ibex_nightly", 180.0)]


def test_report_shows_time_headroom_regressions_and_a_chart_per_key_metric(runner, shared_sample, db, tmp_path):
    out = tmp_path / "report.html"
    shared_sample.store(db)  # `analyzer run sample_logs` is ingest, classify, then this report
    assert invoke(runner, "report", "--db", db, "--out", str(out), "-q").exit_code == 0
    html = out.read_text()
    time_part = html[html.index('<section id="time">'):html.index('<section id="metrics">')]
    metrics_part = html[html.index('<section id="metrics">'):html.index('<section id="contained">')]
    assert "orfs_nightly_generic/route_gnu_timeout" in time_part and "past 1800.0 s" in time_part
    assert "raise: timed out (censored)" in time_part
    regressions = metrics_part[metrics_part.index("got worse since"):metrics_part.index("By ECO class")]
    assert regressions.count("<tr><td>") == 1 and "sky130_ibex_nightly_20261128/sky130_ibex_1_3/stage_1/trial_3" in regressions
    titles = [t for t in ("wns_ps", "tns_ps", "hot_ratio") if f"<title>{t}: median change" in metrics_part]
    assert titles == ["wns_ps", "tns_ps", "hot_ratio"]
    assert "(unknown)" not in metrics_part  # the base-case verification trial is no ECO


def test_metric_files_beside_the_trial_add_metrics_and_bad_ones_are_recorded(runner, tmp_path, db):
    root = tmp_path / "runs"
    tdir = noodle2_trial(root, "s1", "gcd", 0, 1, "cell_resize", metrics={"wns_ps": -120, "hot_ratio": 0.2})
    # Noodle 2's Tcl repeats WNS in metrics.json (with another value here: trial_summary.json wins)
    (tdir / "metrics.json").write_text(json.dumps({"design": "gcd", "wns_ps": -999, "clock_period_ns": 1.1,
                                                   "status": "timing_violation"}))
    (tdir / "metadata.json").write_text(json.dumps({"finish__power__total": 0.0021, "detailedroute__route__drc_errors": 4,
                                                    "run__flow__design": "gcd", "flow__ok": True}))
    other = noodle2_trial(root, "s1", "gcd", 0, 2, "cell_swap", metrics={"wns_ps": -80})
    (other / "metadata-base.json").write_text('{"finish__power__total": 0.00')
    result = invoke(runner, "ingest", str(root), "--db", db)
    assert result.exit_code == 0, result.output
    assert f"warning: {other / 'metadata-base.json'}: not valid JSON" in result.stderr
    rows = {(r["trial_index"], r["metric"]): (r["value"], r["source"]) for r in
            query_rows(runner, db, "select trial_index, metric, value, source from trial_metrics")}
    assert rows == {
        (1, "wns_ps"): (-120.0, "trial_summary"), (1, "hot_ratio"): (0.2, "trial_summary"),
        (1, "clock_period_ns"): (1.1, "metrics.json"), (1, "finish__power__total"): (0.0021, "metadata.json"),
        (1, "detailedroute__route__drc_errors"): (4.0, "metadata.json"), (2, "wns_ps"): (-80.0, "trial_summary")}
    errors = query_rows(runner, db, "select trial_id, error, hint from ingest_errors")
    assert errors == [{"trial_id": "s1/gcd_0_2/stage_0/trial_2", "error": errors[0]["error"],
                       "hint": "no metrics were taken from it"}]
    assert errors[0]["error"].startswith("not valid JSON (line 1")


def test_export_includes_the_time_and_metric_views(runner, shared_sample, db, tmp_path):
    shared_sample.store(db)
    assert invoke(runner, "export", "--db", db, "--format", "csv", "--out", str(tmp_path / "csv"), "-q").exit_code == 0
    for view in ("time", "trial_metrics", "metric_vs_baseline", "metric_history"):
        n = query_rows(runner, db, f"select count(*) n from {view}")[0]["n"]
        lines = (tmp_path / "csv" / f"{view}.csv").read_text().splitlines()
        assert n > 0 and len(lines) == n + 1, view
