-- Per-trial limit suggestions (memory.suggested_memory_limit) collapsed: one row per identical
-- suggestion, ECO class and stage, with how many trials gave it and an example
SELECT m.suggested_memory_limit, m.suggestion_kind, coalesce(m.eco_class, '(none)') AS eco_class, m.stage_index,
       count(*) AS trials, max(m.memory_limit_mb) AS memory_limit_mb, min(m.trial_id) AS example_trial_id
FROM scope_memory m
WHERE m.suggestion_kind IS NOT NULL
GROUP BY ALL
ORDER BY trials DESC, eco_class, m.stage_index
LIMIT $limit
