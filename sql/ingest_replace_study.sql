-- One study's own rows are replaced whole (its crashed-before-dir trials by the caller).
DELETE FROM study_facts WHERE study = $study;
DELETE FROM study_events WHERE study = $study;
DELETE FROM ingest_error_rows WHERE study = $study AND trial_id IS NULL AND root = $root;
