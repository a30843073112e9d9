-- Timeout marks in a batch's kept lines (`_batch_lines`: trial_id, stream, line_no, text, is_tail),
-- one row per trial that has any, for timeout_mark_rows (read by the trial_timeout_marks view):
--   Noodle 2: `[HARD_TIMEOUT] Trial exceeded hard timeout limit of <N> seconds`,
--             `[SOFT_TIMEOUT] Trial exceeded soft timeout of <N>s[ but completed ...]`;
--   GNU timeout --verbose: `timeout: sending signal TERM to command 'openroad'`.
-- A limit past $max_seconds (record.MAX_SECONDS, as for every duration) is no limit: a line
-- with 400 digits gave Infinity, which failed the report.
WITH found AS (
    SELECT trial_id, text,
           TRY_CAST(regexp_extract(text, '\[HARD_TIMEOUT\].*?limit of (\d+(?:\.\d+)?) ?s', 1) AS DOUBLE) AS hard,
           TRY_CAST(regexp_extract(text, '\[SOFT_TIMEOUT\].*?of (\d+(?:\.\d+)?) ?s', 1) AS DOUBLE) AS soft
    FROM _batch_lines
    WHERE contains(text, '_TIMEOUT]') OR starts_with(text, 'timeout: ')
)
SELECT trial_id,
       max(hard) FILTER (WHERE hard <= $max_seconds) AS hard_limit_seconds,
       max(soft) FILTER (WHERE soft <= $max_seconds) AS soft_limit_seconds,
       bool_or(contains(text, '[HARD_TIMEOUT]')) AS hard_line,
       bool_or(contains(text, '[SOFT_TIMEOUT]')) AS soft_line,
       bool_or(regexp_matches(text, '^timeout: sending signal \w+ to command')) AS gnu_timeout_line
FROM found
GROUP BY trial_id
