-- Each metric (with a better side) against the stage baseline, per ECO class, over the trials in scope
-- (best/worst trial: ties go to the first trial id, not to whichever row the scan met first)
SELECT v.metric, any_value(v.unit) AS unit, v.direction, coalesce(v.eco_class, '(unknown)') AS eco_class,
       count(*) AS trials,
       count(*) FILTER (WHERE v.verdict = 'better') AS better,
       count(*) FILTER (WHERE v.verdict = 'worse') AS worse,
       median(v.improvement) AS median_improvement,
       max(v.improvement) AS best_improvement, first(v.trial_id ORDER BY v.improvement DESC, v.trial_id) AS best_trial_id,
       min(v.improvement) AS worst_improvement, first(v.trial_id ORDER BY v.improvement, v.trial_id) AS worst_trial_id
FROM scope s JOIN metric_vs_baseline v USING (trial_id)
WHERE v.improvement IS NOT NULL AND v.eco_name IS NOT NULL AND v.eco_name <> 'noop'
GROUP BY v.metric, v.direction, coalesce(v.eco_class, '(unknown)')
ORDER BY v.metric, eco_class
