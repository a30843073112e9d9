-- Newly ingested trials (registered as `new_trials`) that failed in a way --fail-on asks about
SELECT f.trial_id, f.failure_type, f.reason
FROM new_trials n JOIN failures f USING (trial_id)
WHERE $kind = 'any'
   OR ($kind = 'catastrophic' AND f.catastrophic)
   OR ($kind = 'oom' AND f.failure_type = 'out_of_memory')
ORDER BY f.catastrophic DESC, f.trial_id
