-- The `memory` rows of the trials in scope with their failure type and outcome, materialized once as
-- `scope_memory` for the report's six memory queries (each joined scope, memory, trials, failures)
SELECT m.*, f.failure_type, t.outcome
FROM scope_trials t JOIN memory m USING (trial_id)
LEFT JOIN failures f USING (trial_id)
