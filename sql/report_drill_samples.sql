-- Memory samples of the drill-down trials, thinned to at most about 60 per trial
WITH s AS (
    SELECT m.trial_id, m.sampled_at, m.usage_bytes, m.limit_bytes,
           row_number() OVER (PARTITION BY m.trial_id ORDER BY m.sampled_at, m.sample_index) AS i,
           count(*) OVER (PARTITION BY m.trial_id) AS n
    FROM drill d JOIN memory_samples m USING (trial_id)
    WHERE m.usage_bytes IS NOT NULL
)
SELECT trial_id, sampled_at, usage_bytes / 1048576.0 AS usage_mb, limit_bytes / 1048576.0 AS limit_mb, i
FROM s
WHERE (i - 1) % greatest(1, n // 60) = 0 OR i = n
ORDER BY trial_id, i
