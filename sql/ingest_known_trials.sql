-- Every trial the store holds, for change detection (fingerprint by folder) and stable ids.
SELECT trial_dir, trial_id, fingerprint, crashed_before_dir FROM trial_facts
