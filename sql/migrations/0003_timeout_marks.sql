-- Schema 3: timeout marks are kept in a table that ingest fills batch by batch
-- (sql/ingest_timeout_marks.sql), no longer found by a view scanning every kept line. A store
-- written before gets its marks once, from its kept lines, with sql/ingest_timeout_marks.sql's
-- expressions as of schema 3 (a migration is a snapshot: it never changes with that file), in
-- bounded memory (DuckDB's default limit is 80 % of RAM: 590 MiB for this scan at 100,000 trials).
SET memory_limit = '100MB';
CREATE TABLE IF NOT EXISTS timeout_mark_rows (
    trial_id VARCHAR,
    hard_limit_seconds DOUBLE,
    soft_limit_seconds DOUBLE,
    hard_line BOOLEAN,
    soft_line BOOLEAN,
    gnu_timeout_line BOOLEAN
);
DELETE FROM timeout_mark_rows;
INSERT INTO timeout_mark_rows
WITH found AS (
    SELECT trial_id, text,
           TRY_CAST(regexp_extract(text, '\[HARD_TIMEOUT\].*?limit of (\d+(?:\.\d+)?) ?s', 1) AS DOUBLE) AS hard,
           TRY_CAST(regexp_extract(text, '\[SOFT_TIMEOUT\].*?of (\d+(?:\.\d+)?) ?s', 1) AS DOUBLE) AS soft
    FROM log_lines
    WHERE contains(text, '_TIMEOUT]') OR starts_with(text, 'timeout: ')
)
SELECT trial_id,
       max(hard) FILTER (WHERE hard <= 315360000),  -- ten years (record.MAX_SECONDS), as ingest
       max(soft) FILTER (WHERE soft <= 315360000),
       bool_or(contains(text, '[HARD_TIMEOUT]')),
       bool_or(contains(text, '[SOFT_TIMEOUT]')),
       bool_or(regexp_matches(text, '^timeout: sending signal \w+ to command'))
FROM found
GROUP BY trial_id;
RESET memory_limit;
