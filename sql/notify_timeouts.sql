-- Newly ingested trials that timed out, or ran past a soft timeout or 90 % of their limit
SELECT t.trial_id, t.study, t.design, t.stage_index, t.eco_class, t.runtime_seconds, t.timeout_seconds,
       t.timed_out, t.soft_timed_out, round(100 * t.runtime_ratio, 1) AS runtime_pct,
       t.suggested_timeout_seconds
FROM new_trials n JOIN time t USING (trial_id)
WHERE t.timed_out OR t.soft_timed_out OR t.runtime_ratio >= 0.9
ORDER BY t.timed_out DESC, t.runtime_ratio DESC NULLS LAST, t.trial_id
