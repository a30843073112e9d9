-- Failures per night (UTC day a trial started, else finished) and type, over the trials in scope
SELECT CAST(CAST(coalesce(t.started_at, t.finished_at) AS DATE) AS VARCHAR) AS night, f.failure_type, count(*) AS n
FROM scope_trials t JOIN failures f USING (trial_id)
WHERE coalesce(t.started_at, t.finished_at) IS NOT NULL
GROUP BY ALL
ORDER BY night, f.failure_type
