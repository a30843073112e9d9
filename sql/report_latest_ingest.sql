-- Trials of the latest ingest batch in scope (same ingested_at minute as the newest), failed ones by type
WITH latest AS (SELECT max(t.ingested_at) AS at FROM scope_trials t)
SELECT count(*) AS trials, count(*) FILTER (WHERE t.outcome = 'failed') AS failed,
       count(*) FILTER (WHERE f.failure_type = 'out_of_memory') AS oom, any_value(latest.at) AS ingested_at
FROM scope_trials t LEFT JOIN failures f USING (trial_id), latest
WHERE t.ingested_at >= latest.at - INTERVAL 1 MINUTE
