-- Trials that timed out or used a share of their time limit (--param ratio=0.8 by default), with the suggested timeout
-- default ratio=0.8
SELECT trial_id, study, design, stage_index, eco_class, round(runtime_seconds, 1) AS runtime_seconds,
       timeout_seconds, timeout_source, round(100 * runtime_ratio, 1) AS runtime_pct,
       round(headroom_seconds, 1) AS headroom_seconds, soft_timeout_seconds, soft_timed_out, timed_out,
       timeout_evidence, suggested_timeout_seconds, suggestion_kind
FROM time
WHERE timed_out OR soft_timed_out OR runtime_ratio >= CAST($ratio AS DOUBLE)
ORDER BY timed_out DESC, runtime_ratio DESC NULLS LAST, trial_id;
