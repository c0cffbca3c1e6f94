-- One single-row INSERT into taskdb.gates on a random existing run
-- (autocommit).  task_id is not given: taskdb fills it from the run.  A
-- failing gate, so every insert changes the task's summary (the worst case;
-- a passing gate records no delta at all).
\set n random(1, :nruns)
INSERT INTO taskdb.gates (run_id, name, type, status)
SELECT id, 'bench', 'quality', 'fail' FROM bench_runs WHERE n = :n;
