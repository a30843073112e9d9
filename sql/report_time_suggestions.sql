-- Runtime against the limit per design, stage and ECO class of the trials in scope, with the suggested timeout
SELECT t.design, t.stage_index, t.eco_class, count(*) AS trials,
       count(*) FILTER (WHERE t.timed_out) AS timed_out,
       round(100 * median(t.runtime_ratio), 1) AS median_pct, round(100 * max(t.runtime_ratio), 1) AS max_pct,
       max(t.timeout_seconds) AS timeout_seconds, round(max(t.runtime_seconds), 1) AS slowest_seconds,
       any_value(t.suggested_timeout_seconds) AS suggested_timeout_seconds, any_value(t.suggestion_kind) AS suggestion_kind
FROM scope s JOIN time_rows t USING (trial_id)
WHERE t.runtime_seconds IS NOT NULL
GROUP BY t.design, t.stage_index, t.eco_class
ORDER BY count(*) FILTER (WHERE t.timed_out) DESC, max(t.runtime_ratio) DESC NULLS LAST, t.design, t.stage_index, t.eco_class
LIMIT $limit
