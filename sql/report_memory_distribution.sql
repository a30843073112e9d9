-- Usage ratio distribution by stage and by ECO class
SELECT 'stage' AS dimension, CAST(m.stage_index AS VARCHAR) AS value, count(*) AS trials,
       round(100 * median(m.usage_ratio), 1) AS median_pct,
       round(100 * quantile_cont(m.usage_ratio, 0.95), 1) AS p95_pct,
       round(100 * max(m.usage_ratio), 1) AS max_pct,
       count(*) FILTER (WHERE m.usage_ratio >= 0.9) AS above_90pct
FROM scope_memory m
WHERE m.usage_ratio IS NOT NULL
GROUP BY ALL
UNION ALL
SELECT 'eco_class', coalesce(m.eco_class, '(unknown)'), count(*),
       round(100 * median(m.usage_ratio), 1), round(100 * quantile_cont(m.usage_ratio, 0.95), 1),
       round(100 * max(m.usage_ratio), 1), count(*) FILTER (WHERE m.usage_ratio >= 0.9)
FROM scope_memory m
WHERE m.usage_ratio IS NOT NULL
GROUP BY ALL
ORDER BY 1 DESC, 2
