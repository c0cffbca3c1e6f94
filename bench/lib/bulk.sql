-- One timed bulk INSERT ... SELECT of :nbulk runs spread over all tasks, in
-- one statement (autocommit: the timing includes the commit, hence taskdb's
-- commit-time flush).  :schema is taskdb or baseline.  The rows carry
-- metrics = {"bench": "bulk"} so the driver can delete them afterwards.
\set ON_ERROR_STOP on
\timing on
INSERT INTO :"schema".runs (task_id, status, metrics, started_at, finished_at)
SELECT b.id,
       (ARRAY['completed','completed','completed','running','failed'])[1 + ((i - 1) / :ntasks) % 5],
       '{"bench": "bulk"}',
       now(),
       CASE WHEN ((i - 1) / :ntasks) % 5 <> 3 THEN now() END
  FROM generate_series(1, :nbulk) AS i
  JOIN bench_ids b ON b.n = 1 + (i - 1) % :ntasks;
\timing off
