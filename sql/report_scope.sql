-- The trials a report covers: --study (any of) and --since (start, else finish, else ingest time).
-- From trial_facts, not the `trials` view: these columns are its own, and the view's joins cost
-- a third of this query at 100,000 trials (it runs on both of the report's connections)
SELECT trial_id, study
FROM trial_facts
WHERE ($studies::VARCHAR[] IS NULL OR list_contains($studies::VARCHAR[], study))
  AND ($since::TIMESTAMP IS NULL OR coalesce(started_at, finished_at, ingested_at) >= $since::TIMESTAMP)
