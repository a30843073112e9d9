-- Failed trials decided only by a fallback (generic error line, bare exit code, nothing readable), grouped by a masked signature of their decisive line
-- default since=1970-01-01
-- A verdict is a fallback when it is tool_crash or unknown and none of its counted evidence has a
-- precedence below 95 (only the generic rules and exit-code signals fired). The decisive line is
-- the first matched line of the verdict's type, else the last non-empty stderr line (stdout when
-- stderr is empty). Masked Drain-style: URLs, quoted names, times, paths, hex ids and numbers
-- become <URL> <STR> <TIME> <PATH> <HEX> <NUM>; message ids such as GRT-0116 are kept.
WITH fallback AS (
    SELECT f.trial_id, f.study, f.failure_type
    FROM failure_rows f
    WHERE f.failure_type IN ('tool_crash', 'unknown')
      AND coalesce((SELECT min(e.precedence) FROM evidence_rows e
                    WHERE e.trial_id = f.trial_id AND e.counted), 999) >= 95
), fallback_evidence AS (  -- only the fallback trials' rows: the correlated lookups below stay small
    SELECT e.trial_id, e.failure_type, e.text, e.precedence, e.line_no, e.signal
    FROM evidence_rows e
    WHERE e.counted AND e.line_no IS NOT NULL AND e.trial_id IN (SELECT trial_id FROM fallback)
), fallback_tails AS (     -- (a scan of every tail line of the history took seconds at 100,000 trials)
    SELECT l.trial_id, l.stream, l.line_no, l.text
    FROM log_lines l
    WHERE l.trial_id IN (SELECT trial_id FROM fallback)
      AND l.is_tail AND trim(l.text) <> '' AND l.stream IN ('stderr', 'stdout')
), decisive AS (
    SELECT fb.trial_id, fb.study, fb.failure_type, coalesce(
        (SELECT e.text FROM fallback_evidence e
         WHERE e.trial_id = fb.trial_id AND e.failure_type = fb.failure_type
         ORDER BY e.precedence, e.line_no, e.signal LIMIT 1),
        (SELECT l.text FROM fallback_tails l
         WHERE l.trial_id = fb.trial_id
         ORDER BY (l.stream = 'stderr') DESC, l.line_no DESC LIMIT 1),
        '(no log line)') AS line
    FROM fallback fb
), masked AS (
    SELECT *, trim(regexp_replace(
        regexp_replace(regexp_replace(regexp_replace(regexp_replace(regexp_replace(regexp_replace(
        regexp_replace(regexp_replace(line,
            '[A-Za-z][A-Za-z0-9+.-]*://[^\s]+', '<URL>', 'g'),
            '"[^"]*"|''[^'']*''|`[^'']*''', '<STR>', 'g'),
            '\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?Z?|\b\d{1,2}:\d{2}(:\d{2})?(\.\d+)?\b', '<TIME>', 'g'),
            '(\.{0,2}/[^\s:,;''"()\[\]<>]+)+/?', '<PATH>', 'g'),
            '\b0x[0-9a-fA-F]+\b|\b[0-9a-f]{12,64}\b', '<HEX>', 'g'),
            '(^|[^\w-])\d+(\.\d+)?', '\1<NUM>', 'g'),
            '(<NUM>)(\s*<NUM>)+', '<NUM>', 'g'),
            '\s+', ' ', 'g'),
            '^(.{0,200}).*$', '\1')) AS signature
    FROM decisive
)
SELECT m.signature, any_value(m.failure_type) AS failure_type, count(*) AS trials,
       count(DISTINCT m.study) AS studies,
       string_agg(DISTINCT m.study, ', ' ORDER BY m.study) AS study_names,
       min(coalesce(t.started_at, t.finished_at)) AS first_seen,
       max(coalesce(t.finished_at, t.started_at)) AS last_seen,
       min(m.trial_id) AS example_trial, arg_min(m.line, m.trial_id) AS example_line
FROM masked m JOIN trials t USING (trial_id)
WHERE $since = '1970-01-01' OR coalesce(t.started_at, t.finished_at) >= CAST($since AS TIMESTAMP)
GROUP BY m.signature
ORDER BY trials DESC, m.signature;
