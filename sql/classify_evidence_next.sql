-- An empty table like evidence_rows that classify fills batch by batch, each batch in its own
-- commit (a transaction would hold every appended row in memory until COMMIT); one left by a
-- killed classify is dropped first
DROP TABLE IF EXISTS evidence_rows_next;
CREATE TABLE evidence_rows_next AS FROM evidence_rows LIMIT 0;
