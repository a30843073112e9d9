-- One row per study in scope, newest first: counts, the first out-of-memory kill and whether the
-- study went on after it, what containment would have saved (trials of a contained class that
-- still ran, and their runtime), and the previous study (by start) for "new since previous"
WITH per_study AS (
    SELECT t.study, min(t.started_at) AS started_at, max(coalesce(t.finished_at, t.started_at)) AS finished_at,
           count(*) AS trials, count(*) FILTER (WHERE t.outcome = 'failed') AS failed,
           count(f.trial_id) FILTER (WHERE f.failure_type = 'out_of_memory') AS oom,
           count(f.trial_id) FILTER (WHERE f.catastrophic) AS catastrophic,
           max(t.ingested_at) AS ingested_at
    FROM trials t LEFT JOIN failures f USING (trial_id)
    GROUP BY t.study
), ordered AS (
    SELECT *, lag(study) OVER (ORDER BY started_at NULLS FIRST, study) AS previous_study FROM per_study
), saved AS (
    SELECT c.study, count(DISTINCT c.eco_class) AS contained_classes, sum(c.trials_after) AS trials_saved,
           list(DISTINCT c.eco_class ORDER BY c.eco_class) AS contained_class_names
    FROM contained_eco_classes c GROUP BY c.study
), saved_runtime AS (
    SELECT c.study, sum(t.runtime_seconds) AS seconds_saved
    FROM (SELECT study, unnest(trials_after_ids) AS trial_id FROM contained_eco_classes) c
    JOIN trials t USING (trial_id)
    GROUP BY c.study
)
SELECT o.study, o.started_at, o.finished_at, o.trials, o.failed, o.oom, o.catastrophic, o.previous_study,
       s.first_oom_trial_id, sv.first_oom_at, s.continued_after_first_oom, s.trials_after_first_oom,
       coalesce(sa.contained_classes, 0) AS contained_classes, coalesce(sa.trials_saved, 0) AS trials_saved,
       sa.contained_class_names, round(coalesce(sr.seconds_saved, 0) / 3600, 1) AS hours_saved
FROM ordered o
LEFT JOIN studies s USING (study)
LEFT JOIN study_verdicts sv USING (study)
LEFT JOIN saved sa USING (study)
LEFT JOIN saved_runtime sr USING (study)
WHERE o.study IN (SELECT DISTINCT study FROM scope)
ORDER BY o.started_at DESC NULLS LAST, o.study
