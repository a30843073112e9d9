-- Time headroom: every trial's runtime against its soft and hard timeouts, and a suggested
-- timeout per design, stage and ECO class. Views only, derived from trial_facts, study_facts
-- and the kept log lines (the prefilter keeps every line with `timeout`). Idempotent.

-- Timeout marks found in a trial's kept log lines (sql/ingest_timeout_marks.sql reads them from
-- each batch's lines as it is ingested: scanning every kept line here cost 1.5 CPU s per read of
-- the `time` view at 100,000 trials).
CREATE TABLE IF NOT EXISTS timeout_mark_rows (
    trial_id VARCHAR,
    hard_limit_seconds DOUBLE,
    soft_limit_seconds DOUBLE,
    hard_line BOOLEAN,
    soft_line BOOLEAN,
    gnu_timeout_line BOOLEAN
);

CREATE OR REPLACE VIEW trial_timeout_marks AS
SELECT trial_id, hard_limit_seconds, soft_limit_seconds, hard_line, soft_line, gnu_timeout_line
FROM timeout_mark_rows;

-- One row per trial. timeout_seconds comes from, in order: the trial's `[HARD_TIMEOUT]` line (the
-- limit the runner enforced), the trial's own config (`timeout_seconds` in trial.json), the study
-- YAML (`stages.defaults.timeout_seconds`), the `[HARD_TIMEOUT]` limit another trial of the same
-- study and stage (else study) hit, Noodle 2's default of 3600 s for Noodle 2 trials.
-- A trial timed out when Noodle 2 says so, it exited 124 (GNU timeout), a hard-timeout or GNU
-- timeout line is in its log, or classify found a timeout. Timed-out runtimes are censored: the
-- trial needed more than the limit, so needed_seconds is at least the limit.
CREATE OR REPLACE VIEW time AS
WITH marks AS (
    SELECT * FROM trial_timeout_marks
), seen AS (
    SELECT t.study, t.stage_index, mk.hard_limit_seconds
    FROM marks mk JOIN trial_facts t USING (trial_id)
    WHERE mk.hard_limit_seconds IS NOT NULL
), seen_stage AS (
    SELECT study, stage_index, max(hard_limit_seconds) AS limit_seconds FROM seen GROUP BY ALL
), seen_study AS (
    SELECT study, max(hard_limit_seconds) AS limit_seconds FROM seen GROUP BY ALL
), base AS (
    SELECT t.trial_id, t.study, t.case_name,
           CASE WHEN t.layout = 'noodle2' THEN regexp_replace(coalesce(t.case_name, t.study), '_\d+_\d+$', '')
                ELSE coalesce(t.case_name, t.study) END AS design,
           t.stage_index, t.eco_name, coalesce(v.eco_class, t.eco_class) AS eco_class,
           t.runtime_seconds, t.exit_code,
           coalesce(mk.hard_limit_seconds, t.timeout_seconds, s.config_timeout_seconds,
                    seen_stage.limit_seconds, seen_study.limit_seconds,
                    CASE WHEN t.layout = 'noodle2' THEN 3600.0 END) AS timeout_seconds,
           CASE WHEN mk.hard_limit_seconds IS NOT NULL THEN 'hard_timeout_line'
                WHEN t.timeout_seconds IS NOT NULL THEN 'trial_config'
                WHEN s.config_timeout_seconds IS NOT NULL THEN 'study_config'
                WHEN seen_stage.limit_seconds IS NOT NULL THEN 'stage_hard_timeout_line'
                WHEN seen_study.limit_seconds IS NOT NULL THEN 'study_hard_timeout_line'
                WHEN t.layout = 'noodle2' THEN 'noodle2_default' END AS timeout_source,
           mk.soft_limit_seconds AS soft_timeout_seconds,
           coalesce(mk.soft_line, false) AS soft_timed_out,
           list_filter([
               CASE WHEN t.timed_out THEN 'timed_out' END,
               CASE WHEN t.exit_code = 124 THEN 'exit_124' END,
               CASE WHEN mk.hard_line THEN 'hard_timeout_line' END,
               CASE WHEN mk.gnu_timeout_line THEN 'gnu_timeout_line' END,
               CASE WHEN f.failure_type = 'timeout' THEN 'classified_timeout' END], lambda x: x IS NOT NULL)
               AS timeout_evidence
    FROM trial_facts t
    LEFT JOIN study_facts s USING (study)
    LEFT JOIN verdict_rows v USING (trial_id)
    LEFT JOIN marks mk USING (trial_id)
    LEFT JOIN failure_rows f USING (trial_id)
    LEFT JOIN seen_stage ON seen_stage.study = t.study AND seen_stage.stage_index = t.stage_index
    LEFT JOIN seen_study ON seen_study.study = t.study
), per_trial AS (
    SELECT * REPLACE (nullif(array_to_string(timeout_evidence, ','), '') AS timeout_evidence),
           len(timeout_evidence) > 0 AS timed_out,
           CASE WHEN len(timeout_evidence) > 0 THEN greatest(runtime_seconds, timeout_seconds)
                ELSE runtime_seconds END AS needed_seconds
    FROM base
), per_key AS (
    SELECT design, stage_index, eco_class,
           count(*) FILTER (WHERE needed_seconds IS NOT NULL) AS key_trials,
           count(*) FILTER (WHERE timed_out) AS key_timed_out,
           max(needed_seconds) AS key_needed_seconds,
           max(runtime_seconds / nullif(timeout_seconds, 0)) AS key_max_ratio
    FROM per_trial GROUP BY design, stage_index, eco_class
)
SELECT p.trial_id, p.study, p.case_name, p.design, p.stage_index, p.eco_name, p.eco_class,
       p.runtime_seconds, p.timeout_seconds, p.timeout_source,
       p.runtime_seconds / nullif(p.timeout_seconds, 0) AS runtime_ratio,
       p.timeout_seconds - p.runtime_seconds AS headroom_seconds,
       p.soft_timeout_seconds,
       p.runtime_seconds / nullif(p.soft_timeout_seconds, 0) AS soft_runtime_ratio,
       p.soft_timed_out, p.timed_out, p.timeout_evidence, p.needed_seconds,
       -- 1.5 x what the slowest trial of this design/stage/ECO class needed, rounded up to a minute
       CAST(ceil(1.5 * k.key_needed_seconds / 60) * 60 AS DOUBLE) AS suggested_timeout_seconds,
       CASE WHEN k.key_needed_seconds IS NULL THEN NULL
            WHEN k.key_timed_out > 0 THEN 'raise: timed out (censored)'
            WHEN k.key_max_ratio >= 0.9 THEN 'raise: within 10 % of the limit'
            ELSE 'fits' END AS suggestion_kind,
       k.key_trials, k.key_timed_out
FROM per_trial p
LEFT JOIN per_key k ON p.design IS NOT DISTINCT FROM k.design AND p.stage_index IS NOT DISTINCT FROM k.stage_index
                   AND p.eco_class IS NOT DISTINCT FROM k.eco_class;

-- The suggestions alone: one row per design, stage and ECO class.
CREATE OR REPLACE VIEW timeout_suggestions AS
SELECT design, stage_index, eco_class, any_value(key_trials) AS trials, any_value(key_timed_out) AS timed_out,
       max(timeout_seconds) AS current_timeout_seconds, max(runtime_seconds) AS slowest_runtime_seconds,
       max(needed_seconds) AS needed_seconds, any_value(suggested_timeout_seconds) AS suggested_timeout_seconds,
       any_value(suggestion_kind) AS suggestion_kind
FROM time
WHERE suggested_timeout_seconds IS NOT NULL
GROUP BY design, stage_index, eco_class;
