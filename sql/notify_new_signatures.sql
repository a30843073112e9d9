-- Failure signatures of the newly ingested trials that no earlier-ingested trial has
SELECT f.signature, any_value(f.failure_type) AS failure_type, count(*) AS trials,
       min(f.trial_id) AS example_trial_id
FROM new_trials n JOIN failures f USING (trial_id)
WHERE f.signature IS NOT NULL
  AND f.signature NOT IN (
      SELECT o.signature FROM failures o
      WHERE o.signature IS NOT NULL AND o.trial_id NOT IN (SELECT trial_id FROM new_trials))
GROUP BY f.signature
ORDER BY trials DESC, f.signature
