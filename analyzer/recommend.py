"""Memory limits calibrated from the store's own history: pure Polars steps over all trials.

For every trial, the limit analyzer would have set *before it ran*, from trials of the same key
that started strictly earlier; for every key, the limit for its next run; and the backtest that
compares this recommender with fixed-factor anchors. No per-trial Python: as-of statistics are
cumulative window expressions over (key, start time), and the calibration is an as-of join on
expanding quantiles.

Method (see README "Memory recommendations"):
- key: design (generic `case`; Noodle 2's base case, the case id without `_<stage>_<trial>`),
  stage, ECO class; fallbacks to (design, stage) when the class has fewer than 3 earlier runs,
  then to (design).
- reference: the key's as-of history maximum. An out-of-memory kill is censored: its true peak
  is above its limit, so it enters the maximum as that lower bound and its calibration ratio is
  +inf (it exceeds any margin), never a peak equal to the limit; the run after a kill gets at
  least KILL_STEP x the killed limit.
- margin: the as-of quantile at 1 - DRIFT_CORRECTION x risk of past ratios peak / reference,
  per key when the key alone has KEY_CALIBRATION ratios, else per history-depth cell (1, 2-3,
  4+ earlier runs; the design-only fallback apart), else pooled; UNCALIBRATED_MARGIN until the
  store has MIN_CALIBRATION ratios; at most MAX_MARGIN.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal

import polars as pl

if TYPE_CHECKING:
    from polars.expr.whenthen import ChainedThen, Then

DEFAULT_OOM_RISK = 0.02
# Histories drift upward (tools change), so a quantile of past ratios under-covers the future;
# the level 1 - 0.75 x risk was chosen by a design-split cross-validation on the training half.
DRIFT_CORRECTION = 0.75
MIN_CALIBRATION = 100
KEY_CALIBRATION = 500
UNCALIBRATED_MARGIN = 1.5
KILL_STEP = 1.5
# kills enter calibration as +inf ratios; when they pass the risk share the quantile is infinite
# and the margin is capped here (Noodle 2's 1.5 step, compounded three times)
MAX_MARGIN = 3.375
DEPTH_EDGES = (4,)  # calibration cells: 1-3 and 4+ earlier runs of the key
LEVELS: tuple[tuple[str, tuple[str, ...], int], ...] = (
    ("design_stage_eco", ("design", "stage", "eco_class"), 3),
    ("design_stage", ("design", "stage"), 1),
    ("design", ("design",), 1),
)
# window-heavy plans run about twice as fast on the in-memory engine as on the streaming one
ENGINE: Literal["in-memory"] = "in-memory"
FAMILIES = ("previous_peak", "history_max", "p90")
NAMED_POLICIES = (("noodle2: previous peak x 1.5", "previous_peak", 1.5),
                  ("history max x 1.2", "history_max", 1.2),
                  ("P90 x 1.15 (VPA style)", "p90", 1.15))
CURVE_FACTORS = tuple(round(1.0 + 0.05 * i, 2) for i in range(41))
CURVE_RISKS = (0.005, 0.01, 0.02, 0.03, 0.05, 0.1)

RECOMMENDATION_SCHEMA = {
    "trial_id": pl.String, "design": pl.String, "stage": pl.String, "eco_class": pl.String,
    "key_level": pl.String, "history_trials": pl.Int64, "reference_mb": pl.Float64,
    "margin": pl.Float64, "margin_source": pl.String, "recommended_memory_mb": pl.Float64,
    "recommended_memory_limit": pl.String, "oom_risk": pl.Float64,
}


def with_keys(trials: pl.LazyFrame) -> pl.LazyFrame:
    """design, stage, time and the censored observation of every trial.

    Needs trial_id, layout, case_name, stage_name, stage_index, trial_index, eco_class,
    started_at, finished_at, peak_memory_mb, memory_limit_mb, failure_type."""
    noodle2_suffix = pl.format("_{}_{}", pl.col("stage_index"), pl.col("trial_index"))
    design = (pl.when(pl.col("layout") == "noodle2")
              .then(pl.col("case_name").str.strip_suffix(noodle2_suffix))
              .otherwise(pl.col("case_name")))
    killed = pl.col("failure_type").eq_missing("out_of_memory")
    limit = pl.when(pl.col("memory_limit_mb") > 0).then(pl.col("memory_limit_mb"))
    return trials.with_columns(
        design=design,
        stage=pl.coalesce(pl.col("stage_name"), pl.col("stage_index").cast(pl.String)),
        t=pl.coalesce("started_at", "finished_at"),
        killed=killed,
        # a kill is censored: the true peak is above the limit (and above any recorded peak)
        bound_mb=pl.when(killed).then(pl.max_horizontal(limit, pl.col("peak_memory_mb"))),
        peak_mb=pl.when(~killed).then(pl.col("peak_memory_mb")),
    ).with_columns(obs_mb=pl.coalesce("peak_mb", "bound_mb"))


def _as_of(frame: pl.LazyFrame, name: str, keys: tuple[str, ...]) -> pl.LazyFrame:
    """History of one key level as it stood before each trial (strictly earlier start times).

    Rows are sorted by a hash of the key, then by time (`_row`); integer ids of key runs and of
    (key, time) ties make every window a cheap segmented scan."""
    has = pl.col("obs_mb").is_not_null()
    new_key = pl.any_horizontal([pl.col(k).ne_missing(pl.col(k).shift(1)) for k in keys]).fill_null(True)
    new_tie = (new_key | pl.col("t").ne_missing(pl.col("t").shift(1))).fill_null(True)
    run = (frame.sort(pl.struct(*keys).hash(), "_row")
           .with_columns(_g=new_key.cum_sum(), _gt=new_tie.cum_sum(), _first=new_key)
           .with_columns(
               _cnt=has.cast(pl.Int64).cum_sum().over("_g"),
               _max=pl.col("obs_mb").fill_null(0.0).cum_max().over("_g"),
               _kill=pl.col("killed").cast(pl.Int64).cum_sum().over("_g"),
               # the latest observed run so far: was it a kill?
               _lk=pl.when(has).then(pl.col("killed")).forward_fill().over("_g"),
           ).with_columns(
               _cnt_before=pl.col("_cnt") - has.cast(pl.Int64),
               _max_before=pl.when(~pl.col("_first")).then(pl.col("_max").shift(1)),
               _kill_before=pl.col("_kill") - pl.col("killed").cast(pl.Int64),
               _last_killed=pl.when(~pl.col("_first")).then(pl.col("_lk").shift(1)),
           ))
    return run.with_columns(
        pl.col("_cnt_before").min().over("_gt").alias(f"n_{name}"),
        pl.col("_max_before").first().over("_gt").alias(f"max_{name}"),
        pl.col("_kill_before").min().over("_gt").alias(f"kills_{name}"),
        pl.col("_last_killed").first().over("_gt").fill_null(False).alias(f"lastkill_{name}"),
    ).drop("_g", "_gt", "_first", "_cnt", "_max", "_kill", "_lk", "_cnt_before", "_max_before",
           "_kill_before", "_last_killed")


def _asof_quantile(rows: pl.LazyFrame, calib: pl.LazyFrame, by: list[str], q: float,
                   name: str, min_count: int) -> pl.LazyFrame:
    """Join each row to the expanding quantile of calibration ratios of its cell `by` that
    started strictly earlier (NULL while the cell has fewer than min_count ratios)."""
    over = by or None
    expanding = pl.col("ratio").rolling_quantile(q, "higher", window_size=1 << 30, min_samples=1)
    count = pl.int_range(1, pl.len() + 1)
    stats = (calib.select(*by, "t", "_row", "ratio").sort("_row")
             .with_columns(_q=expanding.over(over) if over else expanding,
                           _n=count.over(over) if over else count)
             .group_by(*by, "t").agg(pl.col("_q").last(), pl.col("_n").last())
             .sort("t"))
    joined = rows.sort("_row").join_asof(stats, on="t", by=over, strategy="backward",
                                      allow_exact_matches=False, check_sortedness=False)
    return joined.with_columns(pl.when(pl.col("_n") >= min_count).then(pl.col("_q")).alias(name)) \
        .drop("_q", "_n")


def docker_limit(mib: pl.Expr) -> pl.Expr:
    """Whole MiB in Docker `--memory` syntax: `12g` when whole GiB, else `7680m`."""
    whole = mib.cast(pl.Int64)
    return (pl.when(mib.is_null()).then(pl.lit(None, pl.String))
            .when(whole % 1024 == 0).then(pl.format("{}g", whole // 1024))
            .otherwise(pl.format("{}m", whole)))


def _depth_cell(depth: pl.Expr) -> pl.Expr:
    """Calibration cell: history depth at (design, stage[, ECO class]); the design fallback apart."""
    cell: Then | ChainedThen = pl.when(pl.col("key_level") == "design").then(pl.lit("design"))
    low = 1
    for edge in DEPTH_EDGES:
        label = f"{low} run" if edge - low == 1 and low == 1 else f"{low}-{edge - 1} runs"
        cell = cell.when(depth < edge).then(pl.lit(label))
        low = edge
    return cell.otherwise(pl.lit(f"{low}+ runs"))


def recommend(trials: pl.LazyFrame, oom_risk: float = DEFAULT_OOM_RISK) -> pl.LazyFrame:
    """Per trial (rows of `with_keys`), the as-of recommendation and how it was made."""
    check_risk(oom_risk)
    frame = trials.filter(pl.col("t").is_not_null()).sort("t", "trial_id").with_row_index("_row")
    for name, keys, _ in LEVELS:
        frame = _as_of(frame, name, keys)
    frame = frame.sort("_row")
    level = pl.lit(None, pl.String)
    for name, _, min_history in reversed(LEVELS):
        level = pl.when(pl.col(f"n_{name}") >= min_history).then(pl.lit(name)).otherwise(level)
    frame = frame.with_columns(key_level=level)

    def pick(prefix: str) -> pl.Expr:
        """The first non-null `prefix*` column, most specific key level first."""
        expr = pl.lit(None)
        for name, _, _ in LEVELS:
            expr = pl.when(pl.col("key_level") == name).then(pl.col(f"{prefix}_{name}")).otherwise(expr)
        return expr

    depth = pick("n")
    frame = frame.with_columns(
        history_trials=depth.cast(pl.Int64),
        reference_mb=pick("max").cast(pl.Float64),
        last_killed=pick("lastkill").cast(pl.Boolean).fill_null(False),
        killed_limit=pl.col("bound_mb"),
        # calibration cell: history depth at (design, stage[, ECO class]); the design fallback apart
        cell=_depth_cell(depth),
        key=pl.when(pl.col("key_level") == "design_stage_eco")
        .then(pl.concat_str("design", "stage", pl.col("eco_class").fill_null("∅"), separator="\x1f"))
        .when(pl.col("key_level") == "design_stage").then(pl.concat_str("design", "stage", separator="\x1f"))
        .otherwise(pl.col("design")),
    ).with_columns(
        # the calibration ratio of each trial that had a reference: +inf for a kill (censored)
        ratio=pl.when(pl.col("reference_mb").is_null() | (pl.col("reference_mb") <= 0)).then(None)
        .when(pl.col("killed") & pl.col("bound_mb").is_not_null()).then(pl.lit(math.inf))
        .otherwise(pl.col("peak_mb") / pl.col("reference_mb")),
    )
    q = 1.0 - DRIFT_CORRECTION * oom_risk
    calib = frame.filter(pl.col("ratio").is_not_null())
    # only keys that can reach KEY_CALIBRATION ratios take part in the per-key quantile
    frame = _asof_quantile(frame, calib.filter(pl.len().over("key") >= KEY_CALIBRATION), ["key"], q,
                           "m_key", KEY_CALIBRATION)
    frame = _asof_quantile(frame, calib, ["cell"], q, "m_cell", MIN_CALIBRATION)
    frame = _asof_quantile(frame, calib, ["key_level"], q, "m_level", MIN_CALIBRATION)
    frame = _asof_quantile(frame, calib, [], q, "m_all", MIN_CALIBRATION)
    margin = pl.coalesce("m_key", "m_cell", "m_level", "m_all",
                         pl.lit(UNCALIBRATED_MARGIN)).clip(upper_bound=MAX_MARGIN)
    source = (pl.when(pl.col("m_key").is_not_null()).then(pl.lit("key"))
              .when(pl.col("m_cell").is_not_null()).then(pl.col("cell"))
              .when(pl.col("m_level").is_not_null()).then(pl.col("key_level"))
              .when(pl.col("m_all").is_not_null()).then(pl.lit("pooled"))
              .otherwise(pl.lit("uncalibrated")))
    margin = pl.when(pl.col("last_killed")).then(pl.max_horizontal(margin, pl.lit(KILL_STEP))).otherwise(margin)
    limit = (pl.col("reference_mb") * pl.col("margin")).ceil()
    return (frame.with_columns(margin=pl.when(pl.col("reference_mb").is_not_null()).then(margin),
                               margin_source=pl.when(pl.col("reference_mb").is_not_null()).then(source))
            .with_columns(recommended_memory_mb=pl.when(pl.col("reference_mb") > 0).then(limit))
            .with_columns(recommended_memory_limit=docker_limit(pl.col("recommended_memory_mb")),
                          oom_risk=pl.lit(oom_risk, pl.Float64)))


def check_risk(oom_risk: float) -> None:
    """A target out-of-memory risk must be a share strictly between 0 and 0.5."""
    if not 0.0 < oom_risk < 0.5:
        raise ValueError(f"oom risk {oom_risk!r} must be between 0 and 0.5 (0.02 = 2 %)")


def trial_recommendations(trials: pl.LazyFrame, oom_risk: float = DEFAULT_OOM_RISK) -> pl.LazyFrame:
    """The per-trial rows analyzer stores (NULL recommendation without earlier history)."""
    keyed = with_keys(trials)
    own = [c for c in RECOMMENDATION_SCHEMA if c not in ("design", "stage", "eco_class")]
    recs = recommend(keyed, oom_risk).select(own)
    return (keyed.select("trial_id", "design", "stage", "eco_class")
            .join(recs, on="trial_id", how="left")
            .with_columns(oom_risk=pl.lit(oom_risk, pl.Float64))
            .select([pl.col(c).cast(t) for c, t in RECOMMENDATION_SCHEMA.items()]))


def next_recommendations(trials: pl.LazyFrame, oom_risk: float = DEFAULT_OOM_RISK) -> pl.LazyFrame:
    """Per (design, stage, ECO class): the limit for its next run, from all history, with the
    trials and kills behind it and the key's backtest out-of-memory rate."""
    keyed = with_keys(trials).filter(pl.col("design").is_not_null())
    key = ["design", "stage", "eco_class"]
    counts = keyed.group_by(key).agg(  # every trial, with or without a start time
        trials=pl.len().cast(pl.Int64),
        oom_kills=pl.col("killed").sum().cast(pl.Int64),
        last_started_at=pl.col("t").max(),
    )
    # one synthetic run per key after everything: the same as-of step gives its next limit.
    # Trials without a start time are history too for the next run (placed just before it).
    last = pl.coalesce(pl.col("t").max(), pl.lit(datetime(1970, 1, 1), pl.Datetime("us")))
    nxt = (keyed.group_by(key).agg(pl.col("layout").first())
           .join(keyed.select(last.alias("_tmax")), how="cross")
           .with_columns(trial_id=pl.concat_str(pl.lit("\x00next"), *[pl.col(c).fill_null("") for c in key],
                                                separator="\x1f"),
                         t=pl.col("_tmax") + pl.duration(seconds=2), killed=pl.lit(False),
                         peak_mb=pl.lit(None, pl.Float64), bound_mb=pl.lit(None, pl.Float64),
                         obs_mb=pl.lit(None, pl.Float64))
           .drop("_tmax"))
    # (they come after every timed trial, so the timed trials' as-of limits are unchanged)
    history = keyed.with_columns(_timed=pl.col("t").is_not_null(),
                                 t=pl.coalesce(pl.col("t"), last + pl.duration(seconds=1)))
    nxt = nxt.with_columns(_timed=pl.lit(False))
    both = pl.concat([history.select(nxt.collect_schema().names()), nxt], how="vertical_relaxed")
    replay = recommend(both, oom_risk)
    replayed = replay.filter(pl.col("_timed")).group_by(key).agg(
        backtest_runs=_evaluable().sum().cast(pl.Int64),
        backtest_under=(_evaluable() & _under()).sum().cast(pl.Int64),
    )
    stats = counts.join(replayed, on=key, how="left", nulls_equal=True)
    recs = replay.filter(pl.col("trial_id").str.starts_with("\x00next"))
    return (recs.join(stats, on=key, how="left", nulls_equal=True)
            .with_columns(
                method=pl.when(pl.col("recommended_memory_mb").is_null()).then(pl.lit("no history"))
                .otherwise(pl.format("history max {} MiB x {} ({} key, margin from {})",
                                     pl.col("reference_mb").round(1), pl.col("margin").round(3),
                                     "key_level", "margin_source")),
                expected_oom_rate=pl.when(pl.col("recommended_memory_mb").is_not_null()).then(pl.lit(oom_risk)),
                observed_oom_rate=pl.when(pl.col("backtest_runs") > 0)
                .then(pl.col("backtest_under") / pl.col("backtest_runs")),
            )
            .select(*key, "recommended_memory_mb", "recommended_memory_limit", "trials", "oom_kills",
                    "history_trials", "key_level", "reference_mb", "margin", "method",
                    "expected_oom_rate", "observed_oom_rate", "backtest_runs", "last_started_at",
                    pl.lit(oom_risk, pl.Float64).alias("oom_risk"))
            .sort(key, nulls_last=True))


# ---------------------------------------------------------------------------- backtest

def _evaluable(limit: str = "recommended_memory_mb") -> pl.Expr:
    """A run whose outcome under a limit is known: a real peak, or a kill at a known limit."""
    return pl.col(limit).is_not_null() & (pl.col("peak_mb").is_not_null() | pl.col("bound_mb").is_not_null())


def _under(limit: str = "recommended_memory_mb") -> pl.Expr:
    """Under-provisioned: the peak exceeds the limit, or a kill at a limit >= this one."""
    return (pl.col("peak_mb") > pl.col(limit)).fill_null(False) | \
        (pl.col("bound_mb") >= pl.col(limit)).fill_null(False)


def anchors(keyed: pl.LazyFrame) -> pl.LazyFrame:
    """As-of anchors per (design, stage): previous peak, history max and history P90."""
    g, gt = ["design", "stage"], ["design", "stage", "t"]
    obs = pl.col("obs_mb")
    ordered = keyed.filter(pl.col("t").is_not_null()).sort("t", "trial_id")
    return (ordered.with_columns(
        _prev=obs.forward_fill().shift(1).over(g),
        _max=obs.fill_null(0.0).cum_max().shift(1).over(g),
        _p90=obs.rolling_quantile(0.9, "linear", window_size=1 << 30, min_samples=1).forward_fill().shift(1).over(g),
        _n=obs.is_not_null().cast(pl.Int64).cum_sum().over(g) - obs.is_not_null().cast(pl.Int64),
    ).with_columns(
        n_design_stage=pl.col("_n").min().over(gt),
        previous_peak=pl.col("_prev").first().over(gt),
        history_max=pl.col("_max").first().over(gt),
        p90=pl.col("_p90").first().over(gt),
    ).with_columns([pl.when(pl.col("n_design_stage") > 0).then(pl.col(f)).alias(f) for f in FAMILIES])
        .drop("_prev", "_max", "_p90", "_n"))


def _policy_row(frame: pl.LazyFrame, limit: pl.Expr, section: str, policy: str, k: float | None,
                risk: float | None) -> pl.LazyFrame:
    f = frame.with_columns(_lim=limit)
    ev = _evaluable("_lim")
    slack = pl.col("_lim") / pl.col("peak_mb") - 1.0
    return f.select(
        pl.lit(section).alias("section"), pl.lit(policy).alias("policy"),
        pl.lit(k, pl.Float64).alias("k"), pl.lit(risk, pl.Float64).alias("oom_risk"),
        pl.len().cast(pl.Int64).alias("runs_with_history"),
        (pl.col("_lim").is_not_null().sum() / pl.len()).alias("coverage"),
        ((ev & _under("_lim")).sum() / ev.sum()).alias("under_provisioned"),
        slack.filter(ev & pl.col("peak_mb").is_not_null()).median().alias("median_slack"),
        slack.filter(ev & pl.col("peak_mb").is_not_null()).quantile(0.9, "linear").alias("p90_slack"),
    )


def _hindsight_row(frame: pl.LazyFrame, family: str, rate: float) -> pl.LazyFrame:
    """The smallest fixed k for `family` whose under-provisioned share is <= rate, in hindsight."""
    ratio = (pl.when(pl.col("bound_mb").is_not_null()).then(pl.lit(math.inf))
             .otherwise(pl.col("peak_mb") / pl.col(family)))
    known = frame.filter(pl.col(family).is_not_null()
                         & (pl.col("peak_mb").is_not_null() | pl.col("bound_mb").is_not_null()))
    k = known.select(ratio.quantile(max(0.0, 1.0 - rate), "higher").alias("k"))
    limited = frame.join(k, how="cross")
    row = _policy_row(limited, pl.col(family) * pl.col("k"), "hindsight", f"best fixed {family} x k", None, rate)
    return row.join(k, how="cross").with_columns(pl.col("k_right").alias("k")).drop("k_right")


def backtest(trials: pl.LazyFrame, oom_risk: float = DEFAULT_OOM_RISK, *,
             curve: bool = True, curve_risks: tuple[float, ...] = CURVE_RISKS) -> pl.DataFrame:
    """Replay the history in time order: the named anchors, analyzer's recommender, the best
    fixed factor of each anchor family chosen with hindsight at analyzer's rate, and the
    risk/slack curve (k swept for each anchor family; `curve_risks` replays analyzer at other
    targets). Runs scored: those with earlier runs of the same design and stage."""
    check_risk(oom_risk)
    keyed = with_keys(trials).filter(pl.col("design").is_not_null())

    keyed = keyed.collect(engine=ENGINE).lazy()
    anchored = anchors(keyed).filter(pl.col("n_design_stage") > 0).collect(engine=ENGINE).lazy()

    def scored(risk: float) -> pl.LazyFrame:
        """The anchored runs with analyzer's recommendation at `risk`."""
        recs = recommend(keyed, risk).select("trial_id", "recommended_memory_mb")
        return anchored.join(recs, on="trial_id", how="left").collect(engine=ENGINE).lazy()

    base = scored(oom_risk)
    rows = [_policy_row(base, pl.col("recommended_memory_mb"), "policy", "analyzer", None, oom_risk)]
    rows += [_policy_row(base, pl.col(fam) * k, "policy", name, k, None) for name, fam, k in NAMED_POLICIES]
    head = pl.concat(rows, how="vertical").collect(engine=ENGINE)
    rate = head.filter(pl.col("policy") == "analyzer")["under_provisioned"][0]
    parts = [head]
    if rate is not None:
        parts.append(pl.concat([_hindsight_row(base, fam, rate) for fam in FAMILIES], how="vertical")
                     .collect(engine=ENGINE).select(head.columns))
    if curve:
        cur = [_policy_row(base, pl.col(fam) * k, "curve", fam, k, None) for fam in FAMILIES for k in CURVE_FACTORS]
        cur += [_policy_row(scored(r), pl.col("recommended_memory_mb"), "curve", "analyzer", None, r)
                for r in curve_risks]
        parts.append(pl.concat(pl.collect_all(cur, engine=ENGINE), how="vertical"))
    elif rate is None:
        return head
    return pl.concat(parts, how="vertical")


@dataclass
class Verdict:
    """The issue's acceptance figures, read off a backtest frame."""
    coverage: float
    under_provisioned: float
    median_slack: float
    best_fixed_family: str
    best_fixed_k: float
    best_fixed_median_slack: float

    @property
    def slack_ratio(self) -> float:
        """analyzer's median slack over the best fixed factor's (below 1: analyzer wastes less)."""
        return self.median_slack / self.best_fixed_median_slack

    def line(self) -> str:
        """The verdict in one line, as `analyzer backtest` prints it."""
        return (f"analyzer: coverage {self.coverage:.1%}, {self.under_provisioned:.2%} under-provisioned, "
                f"median slack {self.median_slack:.1%}; best fixed factor at that rate: "
                f"{self.best_fixed_family} x {self.best_fixed_k:.3f}, median slack "
                f"{self.best_fixed_median_slack:.1%} (analyzer / best = {self.slack_ratio:.3f})")


def verdict(result: pl.DataFrame) -> Verdict | None:
    """The acceptance figures of a backtest frame; None when no run had earlier history."""
    mine = result.filter((pl.col("section") == "policy") & (pl.col("policy") == "analyzer"))
    best = result.filter(pl.col("section") == "hindsight").sort("median_slack").head(1)
    if mine.is_empty() or best.is_empty() or mine["under_provisioned"][0] is None:
        return None
    return Verdict(mine["coverage"][0], mine["under_provisioned"][0], mine["median_slack"][0],
                   best["policy"][0].removeprefix("best fixed ").removesuffix(" x k"), best["k"][0],
                   best["median_slack"][0])
