-- Failures per study in scope and type, with the most common reason of that type (for the verdict box)
SELECT f.study, f.failure_type, any_value(f.family) AS family, bool_or(f.catastrophic) AS catastrophic,
       count(*) AS n, mode(f.reason ORDER BY f.reason) AS top_reason
FROM scope s JOIN failures f USING (trial_id)
GROUP BY f.study, f.failure_type
ORDER BY f.study, n DESC, f.failure_type
