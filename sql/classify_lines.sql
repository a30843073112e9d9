-- The kept log lines of the trials in the registered `partition` frame, which occupy rows $lo..$hi
SELECT l.trial_id, l.stream, l.line_no, l.text, l.is_tail
FROM log_lines l JOIN partition p USING (trial_id)
WHERE l.rowid BETWEEN $lo AND $hi
ORDER BY l.trial_id, l.stream, l.line_no
