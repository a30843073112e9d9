-- Rolled-up timeout fixes: keys of the trials in scope that timed out or ran within 10 % of the limit
SELECT ts.design, ts.stage_index, ts.eco_class, ts.trials, ts.timed_out, ts.current_timeout_seconds,
       round(ts.slowest_runtime_seconds, 1) AS slowest_runtime_seconds, ts.suggested_timeout_seconds,
       ts.suggestion_kind
FROM timeout_suggestions ts
WHERE (ts.timed_out > 0 OR ts.suggestion_kind LIKE 'raise%')
  AND EXISTS (SELECT 1 FROM scope s JOIN time t USING (trial_id)
              WHERE t.design IS NOT DISTINCT FROM ts.design AND t.stage_index IS NOT DISTINCT FROM ts.stage_index
                AND t.eco_class IS NOT DISTINCT FROM ts.eco_class)
ORDER BY ts.timed_out DESC, ts.design, ts.stage_index, ts.eco_class
LIMIT $limit
