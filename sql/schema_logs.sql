-- Whole logs in the store (analyzer/logstore.py), so that a rule written after ingest sees every
-- line of every stored log with the artifacts deleted. `log_lines` (schema.sql) stays the fast
-- candidate index; these tables are read only for rules the index does not cover and by
-- `analyzer logs`. Idempotent: runs on every write open.

-- One row per zstd frame: up to 4 MiB of a log, cut at a newline; first_line is the number of
-- its first line, so a chunk can be searched alone with exact line numbers.
CREATE TABLE IF NOT EXISTS log_chunks (
    trial_id VARCHAR,
    stream VARCHAR,
    chunk_no INTEGER,
    first_line BIGINT,
    n_lines BIGINT,
    raw_bytes BIGINT,
    data BLOB
);
-- point lookups by trial: a scan would read every row's blob (see Store.iter_log_chunks)
CREATE INDEX IF NOT EXISTS log_chunks_trial ON log_chunks (trial_id);

-- One row per stored log: sizes, and which prefilter vocabulary produced its kept lines.
CREATE TABLE IF NOT EXISTS log_streams (
    trial_id VARCHAR,
    stream VARCHAR,
    path VARCHAR,
    size_bytes BIGINT,
    lines BIGINT,
    compressed_bytes BIGINT,
    codec VARCHAR,
    scanner VARCHAR,
    vocabulary VARCHAR
);

-- A prefilter vocabulary: its words, the line prefixes it skips, and the rule patterns (the
-- shipped rules when it was recorded) whose every match it keeps in log_lines. A rule whose
-- pattern is not listed here runs over the whole stored logs instead.
CREATE TABLE IF NOT EXISTS log_vocabularies (
    vocabulary VARCHAR PRIMARY KEY,
    words VARCHAR[],
    excluded_prefixes VARCHAR[],
    covered_patterns VARCHAR[],
    rules_version VARCHAR,
    recorded_at TIMESTAMP
);

-- chunk_table: the table holding the stream's chunks (log_chunks, log_chunks_1, ...: tables of
-- bounded size, see Store._current_chunk_table); NULL in stores written before: log_chunks.
ALTER TABLE log_streams ADD COLUMN IF NOT EXISTS chunk_table VARCHAR;

-- success_only: the vocabulary of logs of trials that succeeded (exit 0, no timeout), whose
-- kept lines are only those the shipped `only_failed = false` rules, ingest's peaks and the
-- timeout marks read; rules that apply only to failures never need them.
ALTER TABLE log_vocabularies ADD COLUMN IF NOT EXISTS success_only BOOLEAN;

CREATE OR REPLACE VIEW trial_logs AS
SELECT s.trial_id, s.stream, s.size_bytes, s.lines, s.compressed_bytes, s.codec, s.scanner,
       s.vocabulary, v.rules_version AS vocabulary_rules_version, s.path
FROM log_streams s LEFT JOIN log_vocabularies v USING (vocabulary);
