-- Contained ECO classes whose trigger is in scope
SELECT c.study, c.eco_class, c.trigger_trial_id, c.trigger_failure_type, c.contained_at,
       c.trials_before, c.trials_after, c.trials_after_ids
FROM contained_eco_classes c JOIN scope s ON s.trial_id = c.trigger_trial_id
ORDER BY c.study, c.contained_at, c.eco_class
