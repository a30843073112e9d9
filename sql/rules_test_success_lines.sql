-- Kept log lines of the trials in the registered `succeeded` frame (trials that did not fail)
SELECT l.trial_id, l.stream, l.line_no, l.text
FROM log_lines l JOIN succeeded s USING (trial_id)
ORDER BY l.trial_id, l.stream, l.line_no
