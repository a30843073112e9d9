-- Failure signatures of the trials in scope with first and last seen over the whole store
WITH here AS (SELECT DISTINCT f.signature FROM scope s JOIN failures f USING (trial_id) WHERE f.signature IS NOT NULL)
SELECT f.signature, any_value(f.failure_type) AS failure_type, count(*) AS trials, count(DISTINCT f.study) AS studies,
       min(coalesce(t.started_at, t.finished_at)) AS first_seen, max(coalesce(t.finished_at, t.started_at)) AS last_seen,
       arg_min(t.study, coalesce(t.started_at, t.finished_at)) AS first_study, min(f.trial_id) AS example_trial_id
FROM failures f JOIN here USING (signature) JOIN trials t USING (trial_id)
GROUP BY f.signature
ORDER BY last_seen DESC NULLS LAST, trials DESC, f.signature
LIMIT $limit
