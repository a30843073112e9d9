-- Failures of the newly ingested trials (registered as `new_trials`), catastrophic first
SELECT f.trial_id, f.study, f.failure_type, f.catastrophic, f.reason, f.signature
FROM new_trials n JOIN failures f USING (trial_id)
ORDER BY f.catastrophic DESC, f.failure_type, f.trial_id
