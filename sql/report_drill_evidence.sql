-- Every evidence row of the drill-down trials (registered as `drill`); decisive = the first counted
-- row of the verdict's own type (lowest precedence, then line)
SELECT e.trial_id, e.failure_type, e.signal, e.source, e.line_no, e.text, e.confidence, e.counts_toward_verdict,
       e.precedence,
       row_number() OVER (PARTITION BY e.trial_id
                          ORDER BY (e.counts_toward_verdict AND e.failure_type = f.failure_type) DESC,
                                   e.precedence, e.line_no NULLS LAST, e.signal) = 1
           AND e.counts_toward_verdict AND e.failure_type = f.failure_type AS decisive
FROM drill d JOIN failure_evidence e USING (trial_id) JOIN failures f USING (trial_id)
ORDER BY e.trial_id, e.precedence, e.line_no NULLS LAST, e.signal, e.source
