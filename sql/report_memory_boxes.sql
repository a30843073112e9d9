-- Peak memory distribution per ECO class and stage over the trials in scope, with the limits,
-- headroom (limit - highest peak), kills, and the next-run limit from memory_recommendations
WITH g AS (
    SELECT coalesce(m.eco_class, '(none)') AS eco_class, m.stage_index,
           count(*) AS trials, count(m.peak_memory_mb) AS with_peak,
           min(m.peak_memory_mb) AS p0, quantile_cont(m.peak_memory_mb, 0.25) AS p25,
           median(m.peak_memory_mb) AS p50, quantile_cont(m.peak_memory_mb, 0.75) AS p75,
           max(m.peak_memory_mb) AS p100,
           min(m.memory_limit_mb) AS limit_min_mb, max(m.memory_limit_mb) AS limit_max_mb,
           count(*) FILTER (WHERE m.failure_type = 'out_of_memory') AS oom_kills,
           count(*) FILTER (WHERE m.usage_ratio >= 0.9) AS above_90pct
    FROM scope_memory m
    GROUP BY ALL
), rec AS (
    SELECT coalesce(eco_class, '(none)') AS eco_class, stage, max(recommended_memory_mb) AS recommended_mb,
           arg_max(recommended_memory_limit, recommended_memory_mb) AS recommended_limit
    FROM memory_recommendations WHERE recommended_memory_mb IS NOT NULL
    GROUP BY ALL
)
SELECT g.*, round(g.limit_min_mb - g.p100, 1) AS headroom_mb, r.recommended_mb, r.recommended_limit
FROM g LEFT JOIN rec r ON r.eco_class = g.eco_class AND r.stage = CAST(g.stage_index AS VARCHAR)
WHERE g.with_peak > 0 OR g.oom_kills > 0
ORDER BY g.eco_class, g.stage_index NULLS LAST
