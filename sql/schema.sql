-- analyzer store schema. Tables are private; the views at the end are the public interface.
-- Every statement is idempotent: this file runs on every write open.

CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR);

CREATE TABLE IF NOT EXISTS study_facts (
    study VARCHAR,
    root VARCHAR,
    layout VARCHAR,
    fingerprint VARCHAR,
    ingested_at TIMESTAMP,
    safety_domain VARCHAR,
    aborted BOOLEAN,
    abort_reason VARCHAR,
    telemetry_started_at TIMESTAMP,
    telemetry_finished_at TIMESTAMP,
    config_path VARCHAR,
    config_memory_limit_mb DOUBLE,
    config_timeout_seconds DOUBLE,
    summary_json VARCHAR
);

CREATE TABLE IF NOT EXISTS trial_facts (
    trial_id VARCHAR,
    study VARCHAR,
    root VARCHAR,
    case_name VARCHAR,
    stage_index INTEGER,
    trial_index INTEGER,
    trial_dir VARCHAR,
    layout VARCHAR,
    crashed_before_dir BOOLEAN,
    eco_name VARCHAR,
    eco_class VARCHAR,
    eco_class_source VARCHAR,
    eco_parameters VARCHAR,
    exit_code INTEGER,
    exit_code_source VARCHAR,
    timed_out BOOLEAN,
    oom_killed BOOLEAN,
    oom_kill_events BIGINT,
    oom_events BIGINT,
    started_at TIMESTAMP,
    finished_at TIMESTAMP,
    runtime_seconds DOUBLE,
    container_id VARCHAR,
    command VARCHAR,
    image VARCHAR,
    timeout_seconds DOUBLE,
    -- every peak and limit source, so the views can pick the best one in SQL
    peak_cgroup_mb DOUBLE,
    peak_stats_mb DOUBLE,
    peak_summary_mb DOUBLE,
    peak_time_mb DOUBLE,
    peak_orfs_mb DOUBLE,
    limit_inspect_mb DOUBLE,
    limit_inspect_unlimited BOOLEAN,
    limit_cgroup_mb DOUBLE,
    limit_config_mb DOUBLE,
    limit_noodle2_mb DOUBLE,
    limit_default_mb DOUBLE,
    stdout_bytes BIGINT,
    stderr_bytes BIGINT,
    invalid_utf8_bytes BIGINT,
    source_failure_type VARCHAR,
    source_failure_severity VARCHAR,
    source_failure_reason VARCHAR,
    metrics_json VARCHAR,
    fingerprint VARCHAR,
    ingested_at TIMESTAMP
);

-- Lines kept from every log so that `classify` works from the store alone: every line that
-- matches the literal prefilter (analyzer/ingest/logs.py) plus the last lines of each stream.
CREATE TABLE IF NOT EXISTS log_lines (
    trial_id VARCHAR,
    stream VARCHAR,
    line_no BIGINT,
    text VARCHAR,
    is_tail BOOLEAN
);

CREATE TABLE IF NOT EXISTS memory_sample_rows (
    trial_id VARCHAR,
    sample_index INTEGER,
    sampled_at TIMESTAMP,
    usage_bytes DOUBLE,
    limit_bytes DOUBLE,
    source VARCHAR,
    container VARCHAR
);

CREATE TABLE IF NOT EXISTS ingest_error_rows (
    ingested_at TIMESTAMP,
    root VARCHAR,
    study VARCHAR,
    trial_id VARCHAR,
    path VARCHAR,
    error VARCHAR,
    hint VARCHAR
);

CREATE TABLE IF NOT EXISTS study_events (
    study VARCHAR,
    event_type VARCHAR,
    event_at TIMESTAMP,
    stage_index INTEGER,
    case_name VARCHAR,
    trial_index INTEGER,
    event_data VARCHAR
);

-- Written by classify.
CREATE TABLE IF NOT EXISTS verdict_rows (
    trial_id VARCHAR,
    outcome VARCHAR,
    eco_class VARCHAR,
    rules_version VARCHAR,
    classified_at TIMESTAMP
);

CREATE TABLE IF NOT EXISTS failure_rows (
    trial_id VARCHAR,
    study VARCHAR,
    failure_type VARCHAR,
    severity VARCHAR,
    recoverable BOOLEAN,
    catastrophic BOOLEAN,
    transient BOOLEAN,
    family VARCHAR,
    confidence VARCHAR,
    reason VARCHAR,
    log_excerpt VARCHAR,
    signature VARCHAR,
    rules_version VARCHAR
);

CREATE TABLE IF NOT EXISTS evidence_rows (
    trial_id VARCHAR,
    failure_type VARCHAR,
    signal VARCHAR,
    source VARCHAR,
    line_no BIGINT,
    text VARCHAR,
    confidence VARCHAR,
    precedence INTEGER,
    counted BOOLEAN
);

CREATE TABLE IF NOT EXISTS containment_rows (
    study VARCHAR,
    eco_class VARCHAR,
    trigger_trial_id VARCHAR,
    trigger_failure_type VARCHAR,
    contained_at TIMESTAMP,
    trials_before BIGINT,
    trials_after BIGINT,
    trials_after_ids VARCHAR[]
);

CREATE TABLE IF NOT EXISTS study_verdicts (
    study VARCHAR,
    first_oom_trial_id VARCHAR,
    first_oom_at TIMESTAMP,
    continued_after_first_oom BOOLEAN,
    trials_after_first_oom BIGINT
);

-- ---------------------------------------------------------------- public views

CREATE OR REPLACE VIEW trials AS
SELECT
    t.trial_id, t.study, t.case_name, t.stage_index, t.trial_index, t.trial_dir, t.layout,
    t.eco_name,
    coalesce(v.eco_class, t.eco_class) AS eco_class,
    t.exit_code, t.timed_out, t.oom_killed, t.oom_kill_events,
    t.started_at, t.finished_at, t.runtime_seconds,
    coalesce(t.peak_cgroup_mb, t.peak_stats_mb, t.peak_summary_mb, t.peak_time_mb, t.peak_orfs_mb)
        AS peak_memory_mb,
    CASE
        WHEN t.peak_cgroup_mb IS NOT NULL THEN 'cgroup'
        WHEN t.peak_stats_mb IS NOT NULL THEN 'docker_stats'
        WHEN t.peak_summary_mb IS NOT NULL THEN 'trial_summary'
        WHEN t.peak_time_mb IS NOT NULL THEN 'gnu_time'
        WHEN t.peak_orfs_mb IS NOT NULL THEN 'orfs_log'
    END AS peak_memory_source,
    CASE
        WHEN t.limit_inspect_mb IS NOT NULL OR t.limit_inspect_unlimited THEN t.limit_inspect_mb
        ELSE coalesce(t.limit_cgroup_mb, t.limit_config_mb, s.config_memory_limit_mb,
                      t.limit_noodle2_mb, t.limit_default_mb)
    END AS memory_limit_mb,
    CASE
        WHEN t.limit_inspect_mb IS NOT NULL THEN 'docker_inspect'
        WHEN t.limit_inspect_unlimited THEN 'docker_inspect_unlimited'
        WHEN t.limit_cgroup_mb IS NOT NULL THEN 'cgroup'
        WHEN t.limit_config_mb IS NOT NULL THEN 'trial_config'
        WHEN s.config_memory_limit_mb IS NOT NULL THEN 'study_config'
        WHEN t.limit_noodle2_mb IS NOT NULL THEN 'noodle2_failure'
        WHEN t.limit_default_mb IS NOT NULL THEN 'default'
    END AS memory_limit_source,
    t.stdout_bytes, t.stderr_bytes, t.source_failure_type,
    v.outcome,
    t.crashed_before_dir, t.invalid_utf8_bytes, t.container_id, t.root,
    t.ingested_at
FROM trial_facts t
LEFT JOIN study_facts s USING (study)
LEFT JOIN verdict_rows v USING (trial_id);

CREATE OR REPLACE VIEW studies AS
SELECT
    s.study, s.root,
    count(t.trial_id) AS trials,
    count(t.trial_id) FILTER (WHERE coalesce(t.outcome = 'failed', t.exit_code IS DISTINCT FROM 0))
        AS failed_trials,
    coalesce(min(t.started_at), any_value(s.telemetry_started_at)) AS first_started_at,
    coalesce(max(t.finished_at), any_value(s.telemetry_finished_at)) AS last_finished_at,
    s.ingested_at,
    any_value(s.layout) AS layout,
    any_value(s.aborted) AS aborted,
    any_value(s.abort_reason) AS abort_reason,
    any_value(sv.first_oom_trial_id) AS first_oom_trial_id,
    any_value(sv.continued_after_first_oom) AS continued_after_first_oom,
    any_value(sv.trials_after_first_oom) AS trials_after_first_oom
FROM study_facts s
LEFT JOIN trials t USING (study)
LEFT JOIN study_verdicts sv USING (study)
GROUP BY s.study, s.root, s.ingested_at;

CREATE OR REPLACE VIEW memory_samples AS
SELECT trial_id, sampled_at, usage_bytes, limit_bytes, source, sample_index, container
FROM memory_sample_rows;

CREATE OR REPLACE VIEW ingest_errors AS
SELECT ingested_at, study, trial_id, path, error, hint FROM ingest_error_rows;

CREATE OR REPLACE VIEW failures AS
SELECT trial_id, study, failure_type, severity, recoverable, catastrophic, transient, confidence,
       reason, log_excerpt, rules_version, family, signature
FROM failure_rows;

CREATE OR REPLACE VIEW failure_evidence AS
SELECT trial_id, failure_type, signal, source, line_no, text, confidence,
       counted AS counts_toward_verdict, precedence
FROM evidence_rows;

-- `memory` is defined in schema_memory.sql (it joins the memory recommendations).

CREATE OR REPLACE VIEW contained_eco_classes AS
SELECT study, eco_class, trigger_trial_id, trigger_failure_type, contained_at,
       trials_before, trials_after, trials_after_ids
FROM containment_rows;

CREATE OR REPLACE VIEW trial_log_lines AS
SELECT trial_id, stream, line_no, text, is_tail FROM log_lines;
