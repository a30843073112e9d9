-- Metrics that got worse (5 % or more, or from zero) than in the previous study of the same design, stage and ECO
SELECT h.study, h.design, h.stage_index, h.eco_name, h.metric, h.unit, h.previous_study, h.previous_value,
       h.value, h.worse_by, round(h.worse_pct, 1) AS worse_pct, h.trial_id, h.previous_trial_id
FROM metric_history h
WHERE h.trial_id IN (SELECT trial_id FROM scope)
  AND h.previous_study IS NOT NULL AND h.worse_by > 0 AND (h.worse_pct >= 5 OR h.previous_value = 0)
ORDER BY h.study_started_at DESC, h.worse_pct DESC NULLS FIRST, h.design, h.stage_index, h.eco_name, h.metric
LIMIT $limit
