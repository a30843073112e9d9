-- Trials where the orchestrator's own verdict (source_failure_type) differs from analyzer's, with the evidence
SELECT t.trial_id,
       t.source_failure_type,
       coalesce(f.failure_type, 'success') AS analyzer_failure_type,
       f.confidence,
       f.reason,
       (SELECT string_agg(e.signal || coalesce(' @' || e.source || ':' || e.line_no, ''), ', ' ORDER BY e.precedence, e.line_no)
        FROM failure_evidence e WHERE e.trial_id = t.trial_id AND e.counts_toward_verdict) AS evidence
FROM trials t
LEFT JOIN failures f USING (trial_id)
WHERE t.source_failure_type IS NOT NULL
  AND t.source_failure_type IS DISTINCT FROM f.failure_type
ORDER BY t.study, t.trial_id;
