-- QoR metrics that got worse than in the previous study of the same design, stage and ECO (--param threshold_pct=5, --param study=NAME)
-- default threshold_pct=5
-- default study=
SELECT study, design, stage_index, eco_name, eco_class, metric, unit, direction,
       value, trial_id, previous_study, previous_value, previous_trial_id,
       worse_by, round(worse_pct, 1) AS worse_pct
FROM metric_history
WHERE previous_study IS NOT NULL
  AND worse_by > 0
  AND (worse_pct >= CAST($threshold_pct AS DOUBLE) OR previous_value = 0)
  AND ($study = '' OR study = $study)
ORDER BY study_started_at DESC, worse_pct DESC NULLS FIRST, design, stage_index, eco_name, metric;
