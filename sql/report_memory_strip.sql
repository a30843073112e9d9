-- Points for the strip over each box: every out-of-memory kill, and up to $per_group other trials per
-- ECO class and stage (highest usage first); kills with no known peak are drawn at their limit
WITH p AS (
    SELECT coalesce(m.eco_class, '(none)') AS eco_class, m.stage_index,
           coalesce(m.peak_memory_mb, m.memory_limit_mb) AS mb, m.failure_type = 'out_of_memory' AS oom,
           m.peak_memory_mb IS NULL AS at_limit, m.trial_id,
           row_number() OVER (PARTITION BY m.eco_class, m.stage_index, m.failure_type = 'out_of_memory'
                              ORDER BY m.usage_ratio DESC NULLS LAST, m.trial_id) AS r
    FROM scope_memory m
    WHERE coalesce(m.peak_memory_mb, CASE WHEN m.failure_type = 'out_of_memory' THEN m.memory_limit_mb END) IS NOT NULL
)
SELECT eco_class, stage_index, mb, coalesce(oom, false) AS oom, at_limit, trial_id
FROM p WHERE coalesce(oom, false) OR r <= $per_group
ORDER BY eco_class, stage_index, trial_id
