-- Failure signatures seen in a study and in no study that started before it
WITH per_study AS (
    SELECT t.study, min(t.started_at) AS study_started_at
    FROM trials t GROUP BY t.study
), sig AS (
    SELECT f.signature, f.failure_type, f.study, p.study_started_at, count(*) AS trials,
           any_value(f.trial_id) AS example_trial_id
    FROM failures f JOIN per_study p USING (study)
    GROUP BY ALL
), first_seen AS (
    SELECT signature, min(study_started_at) AS first_started_at FROM sig GROUP BY signature
)
SELECT s.study, s.study_started_at, s.failure_type, s.signature, s.trials, s.example_trial_id
FROM sig s JOIN first_seen USING (signature)
WHERE s.study_started_at = first_seen.first_started_at
  AND s.study IN (SELECT DISTINCT study FROM scope)
  AND EXISTS (SELECT 1 FROM per_study p WHERE p.study_started_at < s.study_started_at)
ORDER BY s.study_started_at DESC, s.trials DESC, s.signature
LIMIT $limit
