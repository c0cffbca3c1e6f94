-- One single-row INSERT into taskdb.runs of a random existing task (autocommit).
\set n random(1, :ntasks)
INSERT INTO taskdb.runs (task_id, status, started_at)
SELECT id, 'running', now() FROM bench_ids WHERE n = :n;
