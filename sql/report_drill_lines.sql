-- The stored log lines within 3 lines of each counted evidence line of the drill-down trials
-- (the range join reads the narrow key columns of log_lines; the text is fetched by rowid for the
-- few lines it found: joining the whole table with its text was a 28 M-row scan at 100,000 trials)
WITH marks AS (
    SELECT DISTINCT e.trial_id, e.source AS stream, e.line_no
    FROM drill d JOIN failure_evidence e USING (trial_id)
    WHERE e.counts_toward_verdict AND e.line_no IS NOT NULL
), near AS (
    SELECT DISTINCT l.rowid AS rid
    FROM marks m JOIN log_lines l
      ON l.trial_id = m.trial_id AND l.stream = m.stream AND l.line_no BETWEEN m.line_no - 3 AND m.line_no + 3
)
SELECT DISTINCT l.trial_id, l.stream, l.line_no, l.text,
       EXISTS (SELECT 1 FROM marks m2 WHERE m2.trial_id = l.trial_id AND m2.stream = l.stream
               AND m2.line_no = l.line_no) AS decided
FROM log_lines l
WHERE l.rowid IN (SELECT rid FROM near)
ORDER BY l.trial_id, l.stream, l.line_no
