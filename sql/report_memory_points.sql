-- Peak vs limit per trial, highest usage first (the chart shows at most $limit points)
SELECT m.trial_id, m.peak_memory_mb, m.memory_limit_mb, m.usage_ratio,
       CASE WHEN f.failure_type = 'out_of_memory' THEN 'out of memory'
            WHEN t.outcome = 'failed' THEN 'other failure'
            ELSE 'success' END AS grp
FROM scope s JOIN memory m USING (trial_id) JOIN trials t USING (trial_id)
LEFT JOIN failures f USING (trial_id)
WHERE m.peak_memory_mb IS NOT NULL AND m.memory_limit_mb > 0
ORDER BY m.usage_ratio DESC
LIMIT $limit
