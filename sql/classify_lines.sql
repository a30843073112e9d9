-- The kept log lines of the trials in the registered `partition` frame, which occupy rows $lo..$hi
-- (unordered: classify orders what it keeps; an ORDER BY here was 3/4 of classify's read time)
SELECT l.trial_id, l.stream, l.line_no, l.text, l.is_tail
FROM log_lines l JOIN partition p USING (trial_id)
WHERE l.rowid BETWEEN $lo AND $hi
