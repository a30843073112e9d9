-- Schema 3: timeout marks are kept in a table that ingest fills batch by batch
-- (sql/ingest_timeout_marks.sql), no longer found by a view scanning every kept line. A store
-- written before gets its marks once, from its kept lines, with that view's expressions, in
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
SELECT trial_id,
       max(TRY_CAST(regexp_extract(text, '\[HARD_TIMEOUT\].*?limit of (\d+(?:\.\d+)?) ?s', 1) AS DOUBLE)),
       max(TRY_CAST(regexp_extract(text, '\[SOFT_TIMEOUT\].*?of (\d+(?:\.\d+)?) ?s', 1) AS DOUBLE)),
       bool_or(contains(text, '[HARD_TIMEOUT]')),
       bool_or(contains(text, '[SOFT_TIMEOUT]')),
       bool_or(regexp_matches(text, '^timeout: sending signal \w+ to command'))
FROM log_lines
WHERE contains(text, '_TIMEOUT]') OR starts_with(text, 'timeout: ')
GROUP BY trial_id;
RESET memory_limit;
