-- The `memory` rows of the trials in scope (the columns the report reads) with their failure type
-- and outcome, materialized once as `scope_memory` for the report's six memory queries (each
-- joined scope, memory, trials and failures). Outcome and type come from their tables, not from the
-- `trials` and `failures` views: the memory view already joined trials once
SELECT m.trial_id, m.study, m.eco_class, m.stage_index, m.peak_memory_mb, m.memory_limit_mb, m.usage_ratio,
       m.headroom_mb, m.suggested_memory_limit, m.suggestion_kind, f.failure_type, t.outcome
FROM scope s JOIN memory m USING (trial_id) LEFT JOIN verdict_rows t USING (trial_id)
LEFT JOIN failure_rows f USING (trial_id)
