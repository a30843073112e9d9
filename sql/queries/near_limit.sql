-- Trials whose peak reached a share of their memory limit (--param ratio=0.9 by default)
-- default ratio=0.9
SELECT trial_id, study, eco_class, stage_index, round(peak_memory_mb, 1) AS peak_memory_mb,
       memory_limit_mb, round(100 * usage_ratio, 1) AS usage_pct, round(headroom_mb, 1) AS headroom_mb,
       suggested_memory_limit, suggestion_kind
FROM memory
WHERE usage_ratio >= CAST($ratio AS DOUBLE)
ORDER BY usage_ratio DESC, trial_id;
