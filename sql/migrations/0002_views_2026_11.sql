-- Schema 2 (2026-11): new views (time, trial_metrics, memory_recommendations, trial_logs, ...),
-- stored whole logs, exit codes as BIGINT. The idempotent sql/schema*.sql files, which every
-- writer runs right after the migration steps, create all of it on an existing store; this step
-- only records that a writer has brought the store to schema 2, so that readers (`query`,
-- `report`, `export`) of a store last written by an older analyzer say how to migrate it instead
-- of failing on a missing view.
SELECT 2;
