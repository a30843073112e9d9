-- Memory recommendations for the report: the limit for the next run per stage and ECO class
-- (over designs; history pools across studies, so the report's scope does not apply), then the
-- backtest classify stored (part = 'policy' | 'hindsight' | 'curve').
SELECT 'recommendation' AS part, stage, coalesce(eco_class, '(none)') AS eco_class,
       count(DISTINCT design) AS designs, sum(trials) AS trials, sum(oom_kills) AS oom_kills,
       round(median(recommended_memory_mb)) AS median_mb, max(recommended_memory_mb) AS max_mb,
       arg_max(recommended_memory_limit, recommended_memory_mb) AS max_limit,
       round(100 * sum(observed_oom_rate * backtest_runs) / nullif(sum(backtest_runs), 0), 2) AS observed_pct,
       NULL AS policy, NULL::DOUBLE AS k, NULL::DOUBLE AS under_pct, NULL::DOUBLE AS median_slack_pct,
       NULL::DOUBLE AS p90_slack_pct
FROM memory_recommendations
WHERE recommended_memory_mb IS NOT NULL
GROUP BY stage, eco_class
UNION ALL
SELECT section, NULL, NULL, NULL, runs_with_history, NULL, NULL, NULL, NULL, NULL,
       policy, k, round(100 * under_provisioned, 2), round(100 * median_slack, 1), round(100 * p90_slack, 1)
FROM memory_backtest
ORDER BY part DESC, stage, eco_class, policy, k
LIMIT 2000
