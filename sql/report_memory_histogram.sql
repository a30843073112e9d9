-- Trials per 10 % band of usage ratio (peak / limit), by outcome; the last band is >= 100 %
SELECT least(floor(10 * m.usage_ratio), 10)::INTEGER AS band,
       CASE WHEN f.failure_type = 'out_of_memory' THEN 'out of memory'
            WHEN t.outcome = 'failed' THEN 'other failure'
            ELSE 'success' END AS grp,
       count(*) AS n
FROM scope s JOIN memory m USING (trial_id) JOIN trials t USING (trial_id)
LEFT JOIN failures f USING (trial_id)
WHERE m.usage_ratio IS NOT NULL
GROUP BY ALL
ORDER BY band, grp
