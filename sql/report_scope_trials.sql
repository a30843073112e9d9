-- The `trials` rows in scope (the columns the report reads), materialized once as `scope_trials`:
-- the view joins three tables, and at 100,000 trials each report query that joined scope to it
-- spent most of its time there
SELECT t.trial_id, t.study, t.case_name, t.stage_index, t.trial_index, t.eco_name, t.eco_class, t.exit_code,
       t.trial_dir, t.outcome, t.started_at, t.finished_at, t.runtime_seconds, t.peak_memory_mb,
       t.memory_limit_mb, t.ingested_at
FROM scope s JOIN trials t USING (trial_id)
