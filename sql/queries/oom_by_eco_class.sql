-- Out-of-memory failures per study and ECO class, by confidence
SELECT t.study, t.eco_class,
       count(*) FILTER (WHERE f.confidence = 'confirmed') AS confirmed,
       count(*) FILTER (WHERE f.confidence = 'strong') AS strong,
       count(*) FILTER (WHERE f.confidence = 'probable') AS probable,
       count(*) AS out_of_memory
FROM failures f JOIN trials t USING (trial_id)
WHERE f.failure_type = 'out_of_memory'
GROUP BY ALL
ORDER BY out_of_memory DESC, t.study, t.eco_class;
