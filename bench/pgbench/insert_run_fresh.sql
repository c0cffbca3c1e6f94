-- One single-row INSERT into taskdb.runs (autocommit), on the next task of
-- bench_fresh: tasks without runs, so every transaction changes a task's
-- status_derived (pending -> in_progress) and, with
-- taskdb.notify_status_changes on, sends one notification.  The subquery
-- is an initplan: nextval runs once per transaction.
INSERT INTO taskdb.runs (task_id, status, started_at)
SELECT id, 'running', now() FROM bench_fresh WHERE n = (SELECT nextval('bench_fresh_seq'));
