-- Trials at or above 90 % of their limit, and every trial with a limit suggestion
SELECT m.trial_id, m.study, m.eco_class, m.stage_index, round(m.peak_memory_mb, 1) AS peak_memory_mb,
       m.memory_limit_mb, round(100 * m.usage_ratio, 1) AS usage_pct, round(m.headroom_mb, 1) AS headroom_mb,
       m.suggested_memory_limit, m.suggestion_kind, m.failure_type
FROM scope_memory m
WHERE m.usage_ratio >= 0.9 OR m.suggestion_kind IS NOT NULL
ORDER BY m.usage_ratio DESC NULLS LAST, m.trial_id
LIMIT $limit
