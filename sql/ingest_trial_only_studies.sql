-- Studies that only trials name (generic layout, or Noodle 2 without study files).
INSERT INTO study_facts (study, root, layout, fingerprint, ingested_at)
SELECT study, min(root), min(layout), '', min(ingested_at) FROM trial_facts
WHERE study NOT IN (SELECT study FROM study_facts) GROUP BY study
