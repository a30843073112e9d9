-- The trials a report covers: --study (any of) and --since (start, else finish, else ingest time)
SELECT trial_id, study
FROM trials
WHERE ($studies::VARCHAR[] IS NULL OR list_contains($studies::VARCHAR[], study))
  AND ($since::TIMESTAMP IS NULL OR coalesce(started_at, finished_at, ingested_at) >= $since::TIMESTAMP)
