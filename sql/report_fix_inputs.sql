-- Rolled-up input/setting fixes: configuration failures in scope grouped by signature, with an example
SELECT f.failure_type, f.signature, count(*) AS trials, count(DISTINCT f.study) AS studies,
       min(f.reason) AS reason, min(f.trial_id) AS example_trial_id
FROM scope s JOIN failures f USING (trial_id)
WHERE f.family = 'configuration' OR f.failure_type IN ('tool_missing', 'invalid_snapshot', 'invalid_eco')
GROUP BY f.failure_type, f.signature
ORDER BY trials DESC, f.signature
LIMIT $limit
