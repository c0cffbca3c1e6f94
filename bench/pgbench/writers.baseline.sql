-- One writer transaction: a run on each of two distinct random tasks among
-- the first :range of bench_ids (50 for the hot-task run, all tasks for the
-- spread run), taken in random order; a gate on each run; then each run is
-- finished (its own row, completed or failed).  Without taskdb's trigger the
-- gates' task_id is given by the caller.
\set a random(1, :range)
\set b 1 + (:a + random(0, :range - 2)) % :range
\set fa random(1, 2)
\set fb random(1, 2)
\set ga random(1, 4)
\set gb random(1, 4)
BEGIN;
INSERT INTO baseline.runs (task_id, status, started_at)
SELECT id, 'running', now() FROM bench_ids WHERE n = :a
RETURNING id AS run_a, task_id AS task_a \gset
INSERT INTO baseline.gates (run_id, task_id, name, type, status)
VALUES (:run_a, :task_a, 'bench', 'quality', (ARRAY['pass','pass','pass','fail'])[:ga]);
INSERT INTO baseline.runs (task_id, status, started_at)
SELECT id, 'running', now() FROM bench_ids WHERE n = :b
RETURNING id AS run_b, task_id AS task_b \gset
INSERT INTO baseline.gates (run_id, task_id, name, type, status)
VALUES (:run_b, :task_b, 'bench', 'quality', (ARRAY['pass','pass','pass','fail'])[:gb]);
UPDATE baseline.runs SET status = (ARRAY['completed','failed'])[:fa], finished_at = now(), updated_at = now()
 WHERE id = :run_a;
UPDATE baseline.runs SET status = (ARRAY['completed','failed'])[:fb], finished_at = now(), updated_at = now()
 WHERE id = :run_b;
END;
