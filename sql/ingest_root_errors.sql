-- Errors that belong to no trial: kept once per (path, error), replaced per root.
DELETE FROM ingest_error_rows e WHERE e.root IN (SELECT root FROM _roots)
  AND e.study IS NULL AND e.trial_id IS NULL
  AND NOT EXISTS (SELECT 1 FROM _new_errors n WHERE n.path = e.path AND n.error = e.error);
INSERT INTO ingest_error_rows SELECT * FROM _new_errors n WHERE NOT EXISTS (
    SELECT 1 FROM ingest_error_rows e WHERE e.trial_id IS NULL AND e.study IS NULL
    AND e.path = n.path AND e.error = n.error);
