-- One single-row INSERT into the plan's design (mv.runs, whose row trigger
-- refreshes the materialized view) for a random existing task (autocommit).
\set n random(1, :ntasks)
INSERT INTO mv.runs (task_id, status, started_at)
SELECT id, 'running', now() FROM bench_ids WHERE n = :n;
