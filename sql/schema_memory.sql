-- Memory recommendations (analyzer/recommend.py): tables written by classify, the `memory`
-- view with the as-of recommendation of every trial, and `memory_recommendations` per key.
-- Idempotent: runs on every write open, after schema.sql.

-- the stage as the trial names it (generic trials: `"stage": "route"`); NULL = use stage_index
ALTER TABLE trial_facts ADD COLUMN IF NOT EXISTS stage_name VARCHAR;

-- one row per trial: the limit analyzer would have set before it ran
CREATE TABLE IF NOT EXISTS memory_recommendation_rows (
    trial_id VARCHAR,
    design VARCHAR,
    stage VARCHAR,
    eco_class VARCHAR,
    key_level VARCHAR,
    history_trials BIGINT,
    reference_mb DOUBLE,
    margin DOUBLE,
    margin_source VARCHAR,
    recommended_memory_mb DOUBLE,
    recommended_memory_limit VARCHAR,
    oom_risk DOUBLE,
    rules_version VARCHAR
);

-- one row per (design, stage, ECO class): the limit for its next run
CREATE TABLE IF NOT EXISTS memory_next_rows (
    design VARCHAR,
    stage VARCHAR,
    eco_class VARCHAR,
    recommended_memory_mb DOUBLE,
    recommended_memory_limit VARCHAR,
    trials BIGINT,
    oom_kills BIGINT,
    history_trials BIGINT,
    key_level VARCHAR,
    reference_mb DOUBLE,
    margin DOUBLE,
    method VARCHAR,
    expected_oom_rate DOUBLE,
    observed_oom_rate DOUBLE,
    backtest_runs BIGINT,
    last_started_at TIMESTAMP,
    oom_risk DOUBLE,
    rules_version VARCHAR
);

CREATE OR REPLACE VIEW memory AS
WITH base AS (
    SELECT t.trial_id, t.study, t.eco_class, t.stage_index, t.peak_memory_mb, t.memory_limit_mb,
           t.peak_memory_source, t.memory_limit_source, f.failure_type,
           r.design, r.stage, r.recommended_memory_mb, r.recommended_memory_limit,
           r.key_level AS recommendation_key_level, r.history_trials AS recommendation_history_trials
    FROM trials t LEFT JOIN failure_rows f USING (trial_id)
    LEFT JOIN memory_recommendation_rows r USING (trial_id)
    WHERE t.peak_memory_mb IS NOT NULL OR t.memory_limit_mb IS NOT NULL
       OR r.recommended_memory_mb IS NOT NULL
), suggested AS (
    SELECT *,
        CASE
            WHEN failure_type = 'out_of_memory' AND memory_limit_mb > 0
                 AND (peak_memory_mb IS NULL OR peak_memory_mb <= 0) THEN 'consider'
            WHEN failure_type = 'out_of_memory' AND memory_limit_mb > 0
                 AND peak_memory_mb >= memory_limit_mb * (
                     -- the rules file's signals.sigkill_near_limit.ratio, recorded by classify
                     SELECT CAST(value AS DOUBLE) FROM meta WHERE key = 'near_limit_ratio') THEN 'suggest'
        END AS suggestion_kind
    FROM base
)
SELECT trial_id, study, eco_class, stage_index, peak_memory_mb, memory_limit_mb,
       peak_memory_mb / nullif(memory_limit_mb, 0) AS usage_ratio,
       memory_limit_mb - peak_memory_mb AS headroom_mb,
       CASE WHEN suggestion_kind IS NOT NULL THEN 1.5 * memory_limit_mb END AS suggested_memory_mb,
       CASE WHEN suggestion_kind IS NOT NULL THEN
           CASE WHEN (1.5 * memory_limit_mb) % 1024 = 0
                    THEN CAST(CAST(1.5 * memory_limit_mb / 1024 AS BIGINT) AS VARCHAR) || 'g'
                WHEN (1.5 * memory_limit_mb) % 1 = 0
                    THEN CAST(CAST(1.5 * memory_limit_mb AS BIGINT) AS VARCHAR) || 'm'
                ELSE CAST(CAST(round(1.5 * memory_limit_mb * 1024) AS BIGINT) AS VARCHAR) || 'k'
           END
       END AS suggested_memory_limit,
       suggestion_kind,
       peak_memory_source, memory_limit_source,
       design, stage, recommended_memory_mb, recommended_memory_limit,
       recommendation_key_level, recommendation_history_trials
FROM suggested;

CREATE OR REPLACE VIEW memory_recommendations AS
SELECT design, stage, eco_class, recommended_memory_mb, recommended_memory_limit, trials, oom_kills,
       history_trials, key_level, reference_mb, margin, method, expected_oom_rate,
       observed_oom_rate, backtest_runs, last_started_at, oom_risk, rules_version
FROM memory_next_rows;

-- the backtest classify ran (policies, hindsight factors, the k-swept curve), for the report
CREATE TABLE IF NOT EXISTS memory_backtest_rows (
    section VARCHAR,
    policy VARCHAR,
    k DOUBLE,
    oom_risk DOUBLE,
    runs_with_history BIGINT,
    coverage DOUBLE,
    under_provisioned DOUBLE,
    median_slack DOUBLE,
    p90_slack DOUBLE,
    rules_version VARCHAR
);

CREATE OR REPLACE VIEW memory_backtest AS
SELECT section, policy, k, oom_risk, runs_with_history, coverage, under_provisioned, median_slack,
       p90_slack, rules_version
FROM memory_backtest_rows;
