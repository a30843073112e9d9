-- `--default-memory-limit` applies to the trials found by this run, read or unchanged: the
-- option's effect is stored without making a trial new (it is not part of the fingerprint).
UPDATE trial_facts SET limit_default_mb = $limit_mb
WHERE trial_dir IN (SELECT trial_dir FROM _found_trials)
  AND limit_default_mb IS DISTINCT FROM $limit_mb
