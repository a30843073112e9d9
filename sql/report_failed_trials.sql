-- Failed trials for the table, catastrophic first; evidence_lines lists the excerpt lines to highlight
-- (looked up for the $limit rows shown, not for every failure in scope)
WITH shown AS (
    SELECT t.trial_id, t.study, t.case_name, t.stage_index, t.trial_index, t.eco_name, t.eco_class,
           t.exit_code, t.trial_dir, f.failure_type, f.family, f.catastrophic, f.confidence, f.reason,
           f.log_excerpt
    FROM scope_trials t JOIN failures f USING (trial_id)
    ORDER BY f.catastrophic DESC, t.study, t.stage_index, t.trial_index, t.trial_id
    LIMIT $limit
)
SELECT s.*,
       (SELECT list(e.source || ':' || e.line_no) FROM failure_evidence e
        WHERE e.trial_id = s.trial_id AND e.line_no IS NOT NULL AND e.counts_toward_verdict) AS evidence_lines
FROM shown s
ORDER BY s.catastrophic DESC, s.study, s.stage_index, s.trial_index, s.trial_id
