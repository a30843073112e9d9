-- Trials per 10 % band of usage ratio (peak / limit), by outcome; the last band is >= 100 %
SELECT least(floor(10 * m.usage_ratio), 10)::INTEGER AS band,
       CASE WHEN m.failure_type = 'out_of_memory' THEN 'out of memory'
            WHEN m.outcome = 'failed' THEN 'other failure'
            ELSE 'success' END AS grp,
       count(*) AS n
FROM scope_memory m
WHERE m.usage_ratio IS NOT NULL
GROUP BY ALL
ORDER BY band, grp
