-- Trials in scope that timed out, ran past a soft timeout, or used 80 % or more of their limit
SELECT t.trial_id, t.study, t.stage_index, t.eco_class, round(t.runtime_seconds, 1) AS runtime_seconds,
       t.timeout_seconds, t.timeout_source, round(100 * t.runtime_ratio, 1) AS runtime_pct,
       round(t.headroom_seconds, 1) AS headroom_seconds, t.soft_timeout_seconds, t.soft_timed_out, t.timed_out,
       t.suggested_timeout_seconds, t.suggestion_kind
FROM scope s JOIN time_rows t USING (trial_id)
WHERE t.timed_out OR t.soft_timed_out OR t.runtime_ratio >= 0.8
ORDER BY t.timed_out DESC, t.runtime_ratio DESC NULLS LAST, t.trial_id
LIMIT $limit
