-- One single-row INSERT into baseline.gates on a random existing run
-- (autocommit).  Without taskdb's trigger the caller supplies task_id.
\set n random(1, :nruns)
INSERT INTO baseline.gates (run_id, task_id, name, type, status)
SELECT id, task_id, 'bench', 'quality', 'fail' FROM bench_runs WHERE n = :n;
