"""The memory recommender as pure frames (analyzer/recommend.py): as-of strictness, key and
fallbacks, Noodle 2 base case, censored out-of-memory kills, risk calibration."""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl
import pytest

from analyzer import recommend as R

T0 = datetime(2024, 1, 1)


def trials(rows: list[dict]) -> pl.LazyFrame:
    """Trial rows as classify's SQL gives them; keys not given are NULL (generic layout)."""
    schema = {"trial_id": pl.String, "layout": pl.String, "case_name": pl.String, "stage_name": pl.String,
              "stage_index": pl.Int32, "trial_index": pl.Int32, "eco_class": pl.String,
              "started_at": pl.Datetime("us"), "finished_at": pl.Datetime("us"),
              "peak_memory_mb": pl.Float64, "memory_limit_mb": pl.Float64, "failure_type": pl.String}
    full = [{"layout": "generic", **r} for r in rows]
    return pl.LazyFrame([{k: r.get(k) for k in schema} for r in full], schema=schema)


def run(i: int, peak: float | None, case: str = "gcd", stage: str = "route", **extra) -> dict:
    return {"trial_id": f"t{i:04d}", "case_name": case, "stage_name": stage,
            "started_at": T0 + timedelta(hours=i), "peak_memory_mb": peak, **extra}


def by_id(frame: pl.LazyFrame) -> dict[str, dict]:
    return {r["trial_id"]: r for r in frame.collect().iter_rows(named=True)}


def test_no_history_is_null_and_same_start_is_not_history():
    twin = {**run(2, 130.0), "trial_id": "t0002b", "started_at": T0 + timedelta(hours=1)}
    rows = [run(0, 100.0), run(1, 120.0), twin]
    recs = by_id(R.trial_recommendations(trials(rows)))
    assert recs["t0000"]["recommended_memory_mb"] is None
    # the two runs that started at the same time both see only t0000
    assert recs["t0001"]["history_trials"] == recs["t0002b"]["history_trials"] == 1
    assert recs["t0001"]["recommended_memory_mb"] == recs["t0002b"]["recommended_memory_mb"]
    assert recs["t0001"]["reference_mb"] == 100.0


def test_limit_uses_only_earlier_runs():
    rows = [run(i, 100.0) for i in range(5)] + [run(5, 5000.0), run(6, 100.0)]
    recs = by_id(R.trial_recommendations(trials(rows)))
    assert recs["t0005"]["reference_mb"] == 100.0            # its own 5000 MiB is not yet known
    assert recs["t0006"]["reference_mb"] == 5000.0
    assert recs["t0005"]["recommended_memory_mb"] < 5000.0   # so it was under-provisioned


def test_key_fallbacks_and_history_pooled_across_studies():
    rows = [run(0, 200.0, eco_class="placement_local"), run(1, 210.0, eco_class="placement_local"),
            run(2, 220.0, eco_class="placement_local"), run(3, 230.0, eco_class="placement_local"),
            run(4, 240.0, eco_class="routing_affecting"),        # new class: design+stage history
            run(5, 900.0, stage="finish", eco_class="placement_local")]  # new stage: design history
    recs = by_id(R.trial_recommendations(trials(rows)))
    assert recs["t0003"]["key_level"] == "design_stage_eco"
    assert recs["t0004"]["key_level"] == "design_stage"
    assert recs["t0004"]["reference_mb"] == 230.0
    assert recs["t0005"]["key_level"] == "design"
    assert recs["t0005"]["reference_mb"] == 240.0


def test_noodle2_design_is_the_base_case():
    rows = [{"trial_id": f"s{i}/x", "layout": "noodle2", "case_name": f"sky130_ibex_2_{i}", "stage_index": 2,
             "trial_index": i, "started_at": T0 + timedelta(minutes=i), "peak_memory_mb": 1000.0 + i}
            for i in range(3)]
    recs = R.trial_recommendations(trials(rows)).collect()
    assert set(recs["design"]) == {"sky130_ibex"}
    assert set(recs["stage"]) == {"2"}
    assert recs.filter(pl.col("trial_id") == "s2/x")["history_trials"][0] == 2


def test_a_kill_raises_the_next_limit_above_the_killed_limit():
    # enough stable history for a calibrated margin (close to 1) on every design
    history = [run(i, 1000.0 + (i % 7), case=f"d{i % 30}") for i in range(300)]
    killed = run(300, 3000.0, case="d0", memory_limit_mb=3072.0, failure_type="out_of_memory")
    survived = run(300, 3072.0, case="d0", memory_limit_mb=3072.0)   # the same number as a real peak

    def next_d0(rows):
        return R.next_recommendations(trials(rows)).filter(pl.col("design") == "d0").collect().row(0, named=True)

    nxt_kill, nxt_peak = next_d0([*history, killed]), next_d0([*history, survived])
    assert nxt_kill["oom_kills"] == 1 and nxt_peak["oom_kills"] == 0
    assert nxt_kill["recommended_memory_mb"] > 3072.0
    # censored: the kill says "more than 3072", so it never gets less than a peak of 3072 would
    assert nxt_kill["recommended_memory_mb"] >= R.KILL_STEP * 3072.0
    assert nxt_kill["recommended_memory_mb"] > nxt_peak["recommended_memory_mb"]


def test_a_kill_counts_as_an_exceedance_in_calibration():
    """Kills enter the margin's quantile as +inf ratios: more kills, larger margins."""
    base = [run(i, 100.0, case=f"d{i % 40}") for i in range(400)]
    kills = [run(400 + i, 90.0, case=f"d{i % 40}", memory_limit_mb=95.0, failure_type="out_of_memory")
             for i in range(40)]
    probe = [run(1000, 100.0, case="d0")]
    quiet = by_id(R.trial_recommendations(trials(base + probe)))["t1000"]["margin"]
    noisy = by_id(R.trial_recommendations(trials(base + kills + probe)))["t1000"]["margin"]
    assert noisy > quiet


def test_higher_risk_gives_lower_limits():
    rows = [run(i, 100.0 * (1.0 + 0.3 * ((i * 7919) % 13) / 13), case=f"d{i % 10}") for i in range(600)]
    low = R.trial_recommendations(trials(rows), 0.01).collect()["recommended_memory_mb"].sum()
    high = R.trial_recommendations(trials(rows), 0.2).collect()["recommended_memory_mb"].sum()
    assert high < low


def test_docker_limit_syntax():
    frame = pl.DataFrame({"mb": [12288.0, 7680.0, 513.0, None]})
    out = frame.select(R.docker_limit(pl.col("mb")).alias("limit"))["limit"].to_list()
    assert out == ["12g", "7680m", "513m", None]


@pytest.mark.parametrize("risk", [0.0, 0.5, -1.0])
def test_risk_out_of_range_is_refused(risk):
    with pytest.raises(ValueError):
        R.check_risk(risk)


def test_trials_without_a_start_time_are_history_for_the_next_run_only():
    rows = [{**run(i, 500.0 + i), "started_at": None} for i in range(3)]
    per_trial = R.trial_recommendations(trials(rows)).collect()
    assert per_trial["recommended_memory_mb"].null_count() == 3      # no order, no as-of limit
    nxt = R.next_recommendations(trials(rows)).collect().row(0, named=True)
    assert nxt["trials"] == 3 and nxt["history_trials"] == 3
    assert nxt["recommended_memory_mb"] >= 502.0
    assert nxt["backtest_runs"] is None and nxt["observed_oom_rate"] is None
