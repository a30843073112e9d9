-- Failures by type, with family and severity
SELECT f.failure_type, any_value(f.family) AS family, any_value(f.severity) AS severity,
       bool_or(f.catastrophic) AS catastrophic, count(*) AS n
FROM scope s JOIN failures f USING (trial_id)
GROUP BY f.failure_type
ORDER BY n DESC, f.failure_type
