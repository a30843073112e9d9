-- Ingest problems of the studies in scope (and those that belong to no study)
SELECT ingested_at, study, trial_id, path, error, hint
FROM ingest_errors
WHERE study IS NULL OR study IN (SELECT DISTINCT study FROM scope)
ORDER BY ingested_at DESC, path
LIMIT $limit
