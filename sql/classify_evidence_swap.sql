-- The new evidence replaces the old (in classify's one transaction with the verdicts): a swap,
-- not a copy, so the whole history's evidence is never appended in one transaction
DROP TABLE evidence_rows;
ALTER TABLE evidence_rows_next RENAME TO evidence_rows;
