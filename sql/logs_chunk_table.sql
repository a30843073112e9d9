-- Another table of whole-log chunks, like log_chunks (Store._current_chunk_table names it:
-- log_chunks_new is replaced by log_chunks_1, log_chunks_2, ...); log_streams.chunk_table says
-- which table holds a stream's chunks.
CREATE TABLE log_chunks_new AS SELECT * FROM log_chunks LIMIT 0;
CREATE INDEX log_chunks_new_trial ON log_chunks_new (trial_id);
