-- Best and worst value of each metric per study, design and stage, with the trial, for studies in scope
SELECT b.study, b.design, b.stage_index, b.metric, b.unit, b.direction, b.trials, b.baseline_value,
       b.best_value, b.best_eco_name, b.best_trial_id, b.worst_value, b.worst_eco_name, b.worst_trial_id
FROM metric_best_worst b
WHERE b.study IN (SELECT DISTINCT study FROM scope)
ORDER BY b.study, b.design, b.stage_index, b.metric
LIMIT $limit
