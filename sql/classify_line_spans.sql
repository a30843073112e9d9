-- Per trial with kept lines: how many, and the row range of log_lines they occupy (classify partitions)
SELECT trial_id, count(*) AS n, min(rowid) AS first_row, max(rowid) AS last_row
FROM log_lines GROUP BY trial_id
