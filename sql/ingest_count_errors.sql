-- Problems still recorded for the trials and studies this run found (read or unchanged), plus
-- the problems of the roots themselves: what `ingest --strict` counts.
SELECT count(*) FROM ingest_error_rows e
WHERE e.trial_id IN (SELECT trial_id FROM _found_trials)
   OR (e.trial_id IS NULL AND e.study IN (SELECT study FROM _found_studies))
   OR (e.trial_id IS NULL AND e.study IS NULL AND e.root IN (SELECT root FROM _found_roots))
