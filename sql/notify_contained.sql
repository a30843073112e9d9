-- ECO classes contained by a catastrophic failure of a newly ingested trial
SELECT c.study, c.eco_class, c.trigger_trial_id, c.trigger_failure_type, c.trials_after
FROM contained_eco_classes c
WHERE c.trigger_trial_id IN (SELECT trial_id FROM new_trials)
ORDER BY c.study, c.contained_at, c.eco_class
