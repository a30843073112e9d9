-- Rolled-up timeout fixes: keys of the trials in scope that timed out or ran within 10 % of the limit
WITH ts AS (  -- the timeout_suggestions view (sql/schema_time.sql), over the registered time_rows
    SELECT design, stage_index, eco_class, any_value(key_trials) AS trials, any_value(key_timed_out) AS timed_out,
           max(timeout_seconds) AS current_timeout_seconds, max(runtime_seconds) AS slowest_runtime_seconds,
           any_value(suggested_timeout_seconds) AS suggested_timeout_seconds,
           any_value(suggestion_kind) AS suggestion_kind
    FROM time_rows
    WHERE suggested_timeout_seconds IS NOT NULL
    GROUP BY design, stage_index, eco_class
)
SELECT ts.design, ts.stage_index, ts.eco_class, ts.trials, ts.timed_out, ts.current_timeout_seconds,
       round(ts.slowest_runtime_seconds, 1) AS slowest_runtime_seconds, ts.suggested_timeout_seconds,
       ts.suggestion_kind
FROM ts
WHERE (ts.timed_out > 0 OR ts.suggestion_kind LIKE 'raise%')
  AND EXISTS (SELECT 1 FROM scope s JOIN time_rows t USING (trial_id)
              WHERE t.design IS NOT DISTINCT FROM ts.design AND t.stage_index IS NOT DISTINCT FROM ts.stage_index
                AND t.eco_class IS NOT DISTINCT FROM ts.eco_class)
ORDER BY ts.timed_out DESC, ts.design, ts.stage_index, ts.eco_class
LIMIT $limit
