-- The all-trials table: failed first, then newest; at most $limit rows (the report says how many it holds)
SELECT t.trial_id, t.study, t.case_name, t.stage_index, t.trial_index, t.eco_name, t.eco_class,
       coalesce(t.outcome, 'unclassified') AS outcome, f.failure_type, t.exit_code,
       round(t.peak_memory_mb) AS peak_mb, round(t.memory_limit_mb) AS limit_mb,
       round(t.runtime_seconds) AS runtime_s, strftime(t.started_at, '%Y-%m-%d %H:%M') AS started
FROM scope_trials t LEFT JOIN failures f USING (trial_id)
ORDER BY (t.outcome = 'failed') DESC NULLS LAST, f.catastrophic DESC NULLS LAST, t.started_at DESC NULLS LAST, t.trial_id
LIMIT $limit
