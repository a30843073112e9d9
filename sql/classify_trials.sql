-- What classify reads about every trial (the trials view plus how each ECO class was derived)
SELECT t.trial_id, t.study, t.eco_name, f.eco_class, f.eco_class_source, t.exit_code, t.timed_out,
       t.oom_killed, t.oom_kill_events, t.peak_memory_mb, t.memory_limit_mb, t.started_at,
       t.finished_at, t.stage_index, t.trial_index, t.runtime_seconds, t.crashed_before_dir
FROM trials t JOIN trial_facts f USING (trial_id)
ORDER BY t.trial_id
