-- Ingest reliability (issue #8). Runs after schema.sql on every write open; idempotent.
-- Exit codes are BIGINT: Windows NTSTATUS codes such as 3221225477 (0xC0000005) do not fit
-- INTEGER and are real values. ALTER ... SET DATA TYPE is a no-op-cost rewrite of one column
-- and keeps every view that reads it.
ALTER TABLE trial_facts ALTER COLUMN exit_code SET DATA TYPE BIGINT;
