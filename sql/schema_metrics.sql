-- QoR metrics: every numeric value a trial reported, in long form, and the comparisons a
-- post-mortem needs (each ECO against the stage's baseline, best/worst per stage, ECO class
-- summaries, night over night for the same design). Views only: everything is derived from
-- trial_facts.metrics_json (Noodle 2 `trial_summary.json` -> `metrics`, any nesting flattened
-- to dotted names). Idempotent: runs on every write open, after schema.sql.

-- Metric files beside a trial (trial-root metrics.json, ORFS metadata*.json), read by
-- analyzer/ingest/metrics.py as {"<file>": {metric: value}}.
ALTER TABLE trial_facts ADD COLUMN IF NOT EXISTS file_metrics_json VARCHAR;

-- One row per (trial, metric). `design` is the Noodle 2 base case (`<base>_<stage>_<trial>`
-- without its indices), else the case name, else the study. `direction`: which way is better
-- ('higher' for slack, 'lower' for power, area, DRC/violation counts, congestion), NULL when a
-- number has no better side (clock period, bin totals).
CREATE OR REPLACE VIEW trial_metrics AS
WITH facts AS (
    SELECT t.trial_id, t.study, t.case_name,
           CASE WHEN t.layout = 'noodle2' THEN regexp_replace(coalesce(t.case_name, t.study), '_\d+_\d+$', '')
                ELSE coalesce(t.case_name, t.study) END AS design,
           t.stage_index, t.trial_index, t.eco_name, coalesce(v.eco_class, t.eco_class) AS eco_class,
           t.metrics_json, t.file_metrics_json
    FROM trial_facts t LEFT JOIN verdict_rows v USING (trial_id)
    WHERE (t.metrics_json IS NOT NULL AND t.metrics_json NOT IN ('{}', 'null')) OR t.file_metrics_json IS NOT NULL
), docs AS (
    SELECT f.* EXCLUDE (metrics_json, file_metrics_json), 'trial_summary' AS source, 0 AS source_rank,
           f.metrics_json AS doc
    FROM facts f WHERE f.metrics_json IS NOT NULL AND f.metrics_json NOT IN ('{}', 'null')
    UNION ALL
    SELECT f.* EXCLUDE (metrics_json, file_metrics_json), e.key AS source, 1 AS source_rank, e.value AS doc
    FROM facts f, json_each(f.file_metrics_json) e
    WHERE f.file_metrics_json IS NOT NULL
), leaves AS (
    SELECT d.* EXCLUDE (doc),
           replace(substr(e.fullkey, 3), '"', '') AS metric,
           TRY_CAST(e.atom AS DOUBLE) AS value
    FROM docs d, json_tree(d.doc) e
    WHERE e.type IN ('BIGINT', 'UBIGINT', 'DOUBLE', 'HUGEINT') AND e.fullkey <> '$'
    -- a metric both trial_summary.json and a file report is taken from trial_summary.json
    QUALIFY row_number() OVER (PARTITION BY d.trial_id, metric ORDER BY d.source_rank, d.source) = 1
), named AS (
    SELECT *, lower(metric) AS m FROM leaves
)
SELECT trial_id, study, case_name, design, stage_index, trial_index, eco_name, eco_class, metric, value,
    CASE
        WHEN m LIKE '%\_ps' ESCAPE '\' THEN 'ps'
        WHEN m LIKE '%\_ns' ESCAPE '\' THEN 'ns'
        WHEN m LIKE '%\_mw' ESCAPE '\' THEN 'mW'
        WHEN m LIKE '%\_uw' ESCAPE '\' THEN 'uW'
        WHEN m LIKE '%\_w' ESCAPE '\' OR m LIKE '%power%' THEN 'W'
        WHEN m LIKE '%\_um2' ESCAPE '\' OR m LIKE '%area%' THEN 'um^2'
        WHEN m LIKE '%\_um' ESCAPE '\' OR m LIKE '%wirelength%' THEN 'um'
        WHEN m LIKE '%\_mb' ESCAPE '\' THEN 'MiB'
        WHEN m LIKE '%\_s' ESCAPE '\' OR m LIKE '%\_seconds' ESCAPE '\' THEN 's'
        WHEN m LIKE '%ratio%' OR m LIKE '%utilization%' THEN 'ratio'
        WHEN m LIKE '%drc%' OR m LIKE '%violat%' OR m LIKE '%endpoints%' OR m LIKE 'bins\_%' ESCAPE '\'
             OR m LIKE '%count%' OR m LIKE '%errors%' THEN 'count'
    END AS unit,
    CASE
        WHEN m LIKE '%clock\_period%' ESCAPE '\' OR m LIKE '%bins\_total%' ESCAPE '\'
             OR m LIKE '%utilization%' THEN NULL
        WHEN m LIKE '%wns%' OR m LIKE '%tns%' OR m LIKE '%slack%' OR m LIKE '%\_\_ws' ESCAPE '\'
             OR m LIKE '%setup\_ws%' ESCAPE '\' OR m LIKE '%hold\_ws%' ESCAPE '\' OR m LIKE '%fmax%' THEN 'higher'
        WHEN m LIKE '%power%' OR m LIKE '%area%' OR m LIKE '%drc%' OR m LIKE '%violat%' OR m LIKE '%errors%'
             OR m LIKE '%overflow%' OR m LIKE '%hot%' OR m LIKE '%congestion%' OR m LIKE '%wirelength%'
             OR m LIKE '%failing%' OR m LIKE '%runtime%' OR m LIKE '%leakage%' THEN 'lower'
    END AS direction,
    source
FROM named;

-- Each ECO trial's metric against its stage's baseline: the `noop` trial of the same study, design
-- and stage (it re-times the stage's input design), else the `noop` of the nearest earlier stage.
-- improvement > 0 means better than the baseline, in the metric's unit.
CREATE OR REPLACE VIEW metric_vs_baseline AS
WITH base AS (
    SELECT study, design, metric, stage_index,
           arg_min(value, trial_index) AS baseline_value,
           arg_min(trial_id, trial_index) AS baseline_trial_id
    FROM trial_metrics
    WHERE eco_name = 'noop' AND stage_index IS NOT NULL
    GROUP BY ALL
), m AS (
    -- ECO trials only: the base-case verification trial names no ECO
    SELECT * FROM trial_metrics WHERE stage_index IS NOT NULL AND eco_name IS NOT NULL
), joined AS (
    SELECT m.*, b.baseline_value, b.baseline_trial_id, b.stage_index AS baseline_stage_index
    FROM m ASOF LEFT JOIN base b
      ON m.study = b.study AND m.design = b.design AND m.metric = b.metric AND m.stage_index >= b.stage_index
)
SELECT trial_id, study, design, stage_index, trial_index, eco_name, eco_class, metric, unit, direction,
       value, baseline_value, baseline_trial_id,
       CASE WHEN baseline_trial_id IS NULL THEN NULL
            WHEN baseline_stage_index = stage_index THEN 'stage_noop'
            ELSE 'earlier_stage_noop' END AS baseline_kind,
       value - baseline_value AS delta,
       CASE direction WHEN 'higher' THEN value - baseline_value
                      WHEN 'lower' THEN baseline_value - value END AS improvement,
       CASE WHEN baseline_value IS NULL OR direction IS NULL THEN NULL
            WHEN value = baseline_value THEN 'same'
            WHEN (direction = 'higher') = (value > baseline_value) THEN 'better'
            ELSE 'worse' END AS verdict
FROM joined;

-- Best and worst value of each metric per study, design and stage, with the trial (and ECO)
-- that achieved it. Only metrics with a known direction.
CREATE OR REPLACE VIEW metric_best_worst AS
WITH g AS (
    SELECT study, design, stage_index, metric, any_value(unit) AS unit, direction, count(*) AS trials,
           -- one struct per extreme, so the value, trial and ECO come from the same row
           CASE direction WHEN 'higher' THEN max_by({'v': value, 't': trial_id, 'e': eco_name}, value)
                ELSE min_by({'v': value, 't': trial_id, 'e': eco_name}, value) END AS best,
           CASE direction WHEN 'higher' THEN min_by({'v': value, 't': trial_id, 'e': eco_name}, value)
                ELSE max_by({'v': value, 't': trial_id, 'e': eco_name}, value) END AS worst,
           any_value(baseline_value) FILTER (WHERE baseline_kind = 'stage_noop') AS baseline_value
    FROM metric_vs_baseline
    WHERE direction IS NOT NULL
    GROUP BY study, design, stage_index, metric, direction
)
SELECT study, design, stage_index, metric, unit, direction, trials,
       best.v AS best_value, best.t AS best_trial_id, best.e AS best_eco_name,
       worst.v AS worst_value, worst.t AS worst_trial_id, worst.e AS worst_eco_name,
       baseline_value
FROM g;

-- Per study and ECO class (noop trials left out): how each metric moved against the baseline.
CREATE OR REPLACE VIEW metric_by_eco_class AS
SELECT study, eco_class, metric, any_value(unit) AS unit, direction,
       count(*) AS trials,
       count(*) FILTER (WHERE verdict = 'better') AS better,
       count(*) FILTER (WHERE verdict = 'worse') AS worse,
       median(improvement) AS median_improvement,
       max(improvement) AS best_improvement,
       arg_max(trial_id, improvement) AS best_trial_id,
       min(improvement) AS worst_improvement,
       arg_min(trial_id, improvement) AS worst_trial_id
FROM metric_vs_baseline
WHERE improvement IS NOT NULL AND eco_name IS NOT NULL AND eco_name <> 'noop'
GROUP BY study, eco_class, metric, direction;

-- Night over night: per design, stage and ECO, the best value of each metric in a study next to
-- the best value in the latest earlier study (by first trial start) that ran the same key.
-- worse_by > 0 means the metric got worse, in its unit; worse_pct relative to the earlier value.
CREATE OR REPLACE VIEW metric_history AS
WITH study_start AS (
    SELECT study, coalesce(min(started_at), min(ingested_at)) AS study_started_at
    FROM trial_facts GROUP BY study
), per_study AS (
    SELECT m.design, m.stage_index, m.eco_name, any_value(m.eco_class) AS eco_class, m.metric,
           any_value(m.unit) AS unit, m.direction, m.study, s.study_started_at,
           CASE m.direction WHEN 'higher' THEN max(m.value) ELSE min(m.value) END AS value,
           CASE m.direction WHEN 'higher' THEN arg_max(m.trial_id, m.value)
                ELSE arg_min(m.trial_id, m.value) END AS trial_id
    FROM trial_metrics m JOIN study_start s USING (study)
    WHERE m.direction IS NOT NULL
    GROUP BY m.design, m.stage_index, m.eco_name, m.metric, m.direction, m.study, s.study_started_at
), paired AS (
    SELECT *,
           lag(study) OVER w AS previous_study,
           lag(value) OVER w AS previous_value,
           lag(trial_id) OVER w AS previous_trial_id
    FROM per_study
    WINDOW w AS (PARTITION BY design, stage_index, eco_name, metric ORDER BY study_started_at, study)
)
SELECT design, stage_index, eco_name, eco_class, metric, unit, direction,
       study, study_started_at, value, trial_id,
       previous_study, previous_value, previous_trial_id,
       CASE direction WHEN 'higher' THEN previous_value - value ELSE value - previous_value END AS worse_by,
       100 * (CASE direction WHEN 'higher' THEN previous_value - value ELSE value - previous_value END)
           / nullif(abs(previous_value), 0) AS worse_pct
FROM paired;
