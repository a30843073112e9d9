-- Every trial's row of the `time` view, read once and registered as `time_rows` for the report's time queries
-- (the view joins every trial with its study, verdict, marks and key: three queries over it
-- computed it three times). report_fix_timeouts needs the whole history, not the scope.
SELECT trial_id, study, design, stage_index, eco_class, runtime_seconds, timeout_seconds, timeout_source,
       runtime_ratio, headroom_seconds, soft_timeout_seconds, soft_timed_out, timed_out, needed_seconds,
       suggested_timeout_seconds, suggestion_kind, key_trials, key_timed_out
FROM time
