-- Rolled-up memory fixes: per ECO class and stage with out-of-memory kills in scope, the current
-- limit and the largest next-run limit from memory_recommendations (over designs)
WITH killed AS (
    SELECT coalesce(t.eco_class, '(none)') AS eco_class, CAST(t.stage_index AS VARCHAR) AS stage,
           count(*) AS oom_kills, max(t.memory_limit_mb) AS current_limit_mb, max(t.peak_memory_mb) AS max_peak_mb
    FROM scope_trials t JOIN failures f USING (trial_id)
    WHERE f.failure_type = 'out_of_memory'
    GROUP BY ALL
), rec AS (
    SELECT coalesce(eco_class, '(none)') AS eco_class, stage, max(recommended_memory_mb) AS recommended_mb,
           arg_max(recommended_memory_limit, recommended_memory_mb) AS recommended_limit,
           count(DISTINCT design) AS designs
    FROM memory_recommendations WHERE recommended_memory_mb IS NOT NULL
    GROUP BY ALL
)
SELECT k.eco_class, k.stage, k.oom_kills, k.current_limit_mb, k.max_peak_mb, r.recommended_mb,
       r.recommended_limit, r.designs
FROM killed k LEFT JOIN rec r USING (eco_class, stage)
ORDER BY k.oom_kills DESC, k.eco_class, k.stage
