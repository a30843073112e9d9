-- The `trials` rows in scope, materialized once as `scope_trials` (the view joins three tables; at
-- 100,000 trials each report query that joined scope to it spent most of its time there)
SELECT t.* FROM scope s JOIN trials t USING (trial_id)
