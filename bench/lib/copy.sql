-- Baseline gets exactly taskdb's rows (ids, task_id of gates included), then
-- the same foreign keys taskdb has.
\set ON_ERROR_STOP on
INSERT INTO baseline.tasks SELECT * FROM taskdb.tasks;
INSERT INTO baseline.runs  SELECT * FROM taskdb.runs;
INSERT INTO baseline.gates SELECT * FROM taskdb.gates;
ALTER TABLE baseline.runs  ADD CONSTRAINT runs_task_id_fkey
    FOREIGN KEY (task_id) REFERENCES baseline.tasks (id) ON DELETE CASCADE;
ALTER TABLE baseline.gates ADD CONSTRAINT gates_run_id_fkey
    FOREIGN KEY (run_id) REFERENCES baseline.runs (id) ON DELETE CASCADE;
