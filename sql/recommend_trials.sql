-- What the memory recommender reads about every trial (analyzer/recommend.py with_keys)
SELECT t.trial_id, t.layout, t.case_name, f.stage_name, t.stage_index, t.trial_index, t.eco_class,
       t.started_at, t.finished_at, t.peak_memory_mb, t.memory_limit_mb, fr.failure_type
FROM trials t JOIN trial_facts f USING (trial_id)
LEFT JOIN failure_rows fr USING (trial_id)
