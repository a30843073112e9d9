-- Summary counts for the report (reads `scope_trials`, made by report.build_context)
SELECT count(*) AS trials,
       count(*) FILTER (WHERE t.outcome = 'failed') AS failed,
       count(*) FILTER (WHERE t.outcome IS NULL) AS unclassified,
       count(f.trial_id) FILTER (WHERE f.catastrophic) AS catastrophic,
       count(f.trial_id) FILTER (WHERE f.failure_type = 'out_of_memory') AS out_of_memory,
       count(DISTINCT t.study) AS studies,
       min(t.started_at) AS first_started_at,
       max(t.finished_at) AS last_finished_at
FROM scope_trials t LEFT JOIN failures f USING (trial_id)
