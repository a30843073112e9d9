-- Trials of the newest $studies studies in scope with a start and end, for the timeline; failed
-- first so that a cap of $per_study per study never drops a failure before a success
WITH st AS (
    SELECT t.study, min(t.started_at) AS study_started_at
    FROM scope_trials t WHERE t.started_at IS NOT NULL
    GROUP BY t.study ORDER BY study_started_at DESC LIMIT $studies
), rows AS (
    SELECT t.study, st.study_started_at, t.trial_id, t.stage_index, t.started_at,
           coalesce(t.finished_at, t.started_at + to_seconds(coalesce(t.runtime_seconds, 0))) AS finished_at,
           CASE WHEN f.failure_type = 'out_of_memory' THEN 'out of memory'
                WHEN t.outcome = 'failed' THEN 'other failure' ELSE 'success' END AS grp,
           row_number() OVER (PARTITION BY t.study ORDER BY (t.outcome = 'failed') DESC NULLS LAST, t.started_at, t.trial_id) AS r,
           count(*) OVER (PARTITION BY t.study) AS study_trials
    FROM scope_trials t JOIN st ON st.study = t.study LEFT JOIN failures f ON f.trial_id = t.trial_id
    WHERE t.started_at IS NOT NULL
)
SELECT study, study_started_at, trial_id, stage_index, started_at, finished_at, grp, study_trials
FROM rows WHERE r <= $per_study
ORDER BY study_started_at DESC, study, started_at, trial_id
