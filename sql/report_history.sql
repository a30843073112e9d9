-- Failures by type per study, studies in start order (one study = one run / night)
SELECT t.study, min(t.started_at) OVER (PARTITION BY t.study) AS study_started_at, f.failure_type
FROM scope_trials t JOIN failures f USING (trial_id)
