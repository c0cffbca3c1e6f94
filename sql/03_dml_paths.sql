--
-- 03_dml_paths: every way a row of runs or gates can change, and after each
-- committed step the stored summary equals the recomputation (drift 0 0).
--
\i sql/include/fresh.sql

-- The recomputation, drift check and id helpers every file shares.
\i sql/include/helpers.sql

\set t1 '00000000-0000-0000-0000-000000000001'
\set t2 '00000000-0000-0000-0000-000000000002'
\set t3 '00000000-0000-0000-0000-000000000003'
\set t4 '00000000-0000-0000-0000-000000000004'
\set t5 '00000000-0000-0000-0000-000000000005'

--
-- INSERT, one row at a time.
--
INSERT INTO taskdb.tasks (id, title, policy_version) VALUES (:'t1', 'alpha', '1.0');
-- alpha pending
:check
INSERT INTO taskdb.runs (id, task_id, status) VALUES (rid(1), :'t1', 'running');
-- alpha in_progress, 1 run running
:check

--
-- Multi-row INSERT: tasks, runs over several tasks, gates over several runs.
--
INSERT INTO taskdb.tasks (id, title, policy_version)
VALUES (:'t2', 'bravo', '1.0'), (:'t3', 'charlie', '1.0'), (:'t4', 'delta', '1.0');
INSERT INTO taskdb.runs (id, task_id, status) VALUES
    (rid(2), :'t1', 'completed'),
    (rid(3), :'t2', 'completed'),
    (rid(4), :'t2', 'queued'),
    (rid(5), :'t3', 'failed'),
    (rid(6), :'t3', 'completed'),
    (rid(7), :'t4', 'cancelled');
-- alpha in_progress 0.5 | bravo completed 0.5 | charlie failed 0.5 | delta blocked 0
:check
INSERT INTO taskdb.gates (id, run_id, name, type, status) VALUES
    (gid(1), rid(3), 'eslint', 'lint', 'pass'),
    (gid(2), rid(3), 'semgrep', 'security', 'fail'),
    (gid(3), rid(4), 'opa', 'policy', 'fail'),
    (gid(4), rid(6), 'facts', 'truth', 'fail');
-- bravo blocked (2 failed gates) | charlie failed (1 failed gate)
:check
-- gates.task_id was taken from each gate's run.
SELECT g.name, t.title FROM taskdb.gates g JOIN taskdb.tasks t ON t.id = g.task_id ORDER BY g.id;

--
-- UPDATE of run and gate status.
--
UPDATE taskdb.runs SET status = 'completed' WHERE id = rid(1);
-- alpha completed 1.0
:check
UPDATE taskdb.gates SET status = 'pass' WHERE status = 'fail' AND task_id = :'t2';
-- bravo completed (no failed gate left)
:check
-- One statement over two tasks, several transitions at once:
-- alpha: completed,completed -> running,running; bravo: completed -> running, queued -> failed.
UPDATE taskdb.runs
   SET status = CASE status WHEN 'completed' THEN 'running' WHEN 'queued' THEN 'failed' END
 WHERE task_id IN (:'t1', :'t2');
-- alpha in_progress (2 running) | bravo failed (1 running, 1 failed)
:check
UPDATE taskdb.gates SET status = 'fail' WHERE id = gid(1);
-- bravo: 1 failed gate
:check
-- Updates that do not change any status change no counter.
UPDATE taskdb.runs SET metrics = '{"tokens": 1}';
UPDATE taskdb.runs SET status = status;
UPDATE taskdb.gates SET checks = '[]', status = status;
:check

--
-- DELETE, direct and cascading.
--
DELETE FROM taskdb.gates WHERE id = gid(1);
-- bravo: 0 failed gates
:check
-- Deleting a run takes its failed gate with it (cascade runs -> gates).
DELETE FROM taskdb.runs WHERE id = rid(6);
-- charlie: 1 run (failed), 0 failed gates, health 0
:check
INSERT INTO taskdb.artifacts (id, task_id, run_id, path, sha256)
VALUES (aid(1), :'t3', rid(5), 'out/log.txt', 'sha256:' || repeat('ab', 32)),
       (aid(2), :'t3', NULL, 'spec.md', 'sha256:' || repeat('cd', 32));
-- Deleting a task takes its runs, gates, artifacts and summary row with it.
DELETE FROM taskdb.tasks WHERE id = :'t3';
SELECT (SELECT count(*) FROM taskdb.runs WHERE task_id = :'t3') AS runs,
       (SELECT count(*) FROM taskdb.gates WHERE task_id = :'t3') AS gates,
       (SELECT count(*) FROM taskdb.artifacts WHERE task_id = :'t3') AS artifacts,
       (SELECT count(*) FROM taskdb.task_status WHERE task_id = :'t3') AS summary_rows;
:check
-- One DELETE over two tasks: every running run (alpha's two, bravo's one).
DELETE FROM taskdb.runs WHERE status = 'running';
-- alpha pending | bravo failed (1 run, failed) | delta blocked
:check
-- The summary has exactly one row per task.
SELECT (SELECT count(*) FROM taskdb.tasks) AS tasks, (SELECT count(*) FROM taskdb.task_status) AS summary_rows;

--
-- COPY FROM STDIN (runs, then gates without task_id: filled from the run).
--
COPY taskdb.runs (id, task_id, status) FROM stdin;
00000000-0000-0000-0001-000000000008	00000000-0000-0000-0000-000000000001	completed
00000000-0000-0000-0001-000000000009	00000000-0000-0000-0000-000000000001	completed
00000000-0000-0000-0001-000000000010	00000000-0000-0000-0000-000000000002	failed
00000000-0000-0000-0001-000000000011	00000000-0000-0000-0000-000000000004	running
\.
-- alpha completed 1.0 (2 runs) | bravo failed (2 failed runs) | delta in_progress 0
:check
COPY taskdb.gates (id, run_id, name, type, status) FROM stdin;
00000000-0000-0000-0002-000000000005	00000000-0000-0000-0001-000000000008	semgrep	security	fail
00000000-0000-0000-0002-000000000006	00000000-0000-0000-0001-000000000009	eslint	lint	pass
\.
-- COPY with a task_id that matches the run's task is accepted as well.
COPY taskdb.gates (id, run_id, task_id, name, type, status) FROM stdin;
00000000-0000-0000-0002-000000000007	00000000-0000-0000-0001-000000000011	00000000-0000-0000-0000-000000000004	coverage	quality	fail
\.
-- alpha blocked (1 failed gate) | delta in_progress (1 failed gate)
:check

--
-- INSERT ... ON CONFLICT DO UPDATE: one statement updates an existing run
-- (running -> completed) and inserts a new one (queued).
--
INSERT INTO taskdb.runs (id, task_id, status) VALUES
    (rid(11), :'t4', 'completed'),
    (rid(12), :'t4', 'queued')
ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, updated_at = now();
-- delta: cancelled + completed + queued, 1 failed gate -> blocked 0.333
:check
-- The same on gates: the failed gate passes, a new pending gate appears.
INSERT INTO taskdb.gates (id, run_id, name, type, status) VALUES
    (gid(7), rid(11), 'coverage', 'quality', 'pass'),
    (gid(8), rid(12), 'opa', 'policy', 'pending')
ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status;
-- delta completed 0.333
:check
-- ON CONFLICT DO NOTHING changes nothing.
INSERT INTO taskdb.runs (id, task_id, status) VALUES (rid(11), :'t4', 'failed')
ON CONFLICT DO NOTHING;
:check

--
-- MERGE: update, delete and insert in one statement.
--
MERGE INTO taskdb.runs AS r
USING (VALUES (rid(12), :'t4'::uuid, 'running', 'update'),
              (rid(7), :'t4'::uuid, NULL, 'delete'),
              (rid(13), :'t1'::uuid, 'failed', 'insert')) AS s(id, task_id, status, action)
   ON r.id = s.id
 WHEN MATCHED AND s.action = 'delete' THEN DELETE
 WHEN MATCHED THEN UPDATE SET status = s.status
 WHEN NOT MATCHED THEN INSERT (id, task_id, status) VALUES (s.id, s.task_id, s.status);
-- alpha failed 0.667 (3 runs, 1 failed gate) | delta in_progress 0.5 (running + completed)
:check
MERGE INTO taskdb.gates AS g
USING (VALUES (gid(5), rid(8), 'delete'),
              (gid(8), rid(12), 'fail'),
              (gid(9), rid(11), 'fail')) AS s(id, run_id, action)
   ON g.id = s.id
 WHEN MATCHED AND s.action = 'delete' THEN DELETE
 WHEN MATCHED THEN UPDATE SET status = s.action
 WHEN NOT MATCHED THEN INSERT (id, run_id, name, type, status) VALUES (s.id, s.run_id, 'semgrep', 'security', s.action);
-- alpha 0 failed gates | delta 2 failed gates
:check

--
-- Data-modifying CTEs.
--
-- A run and its gates in one statement: the gates' task_id comes from the
-- run inserted by the same statement.
WITH r AS (
    INSERT INTO taskdb.runs (id, task_id, status) VALUES (rid(14), :'t2', 'completed') RETURNING id
)
INSERT INTO taskdb.gates (id, run_id, name, type, status)
SELECT gid(10), id, 'semgrep', 'security', 'fail' FROM r
UNION ALL
SELECT gid(11), id, 'eslint', 'lint', 'pass' FROM r;
-- bravo: 3 runs (2 failed, 1 completed), 1 failed gate -> failed 0.333
:check
-- A task, its run and a gate in one statement.
WITH t AS (
    INSERT INTO taskdb.tasks (id, title, policy_version) VALUES (:'t5', 'echo', '1.0') RETURNING id
), r AS (
    INSERT INTO taskdb.runs (id, task_id, status) SELECT rid(15), id, 'completed' FROM t RETURNING id
)
INSERT INTO taskdb.gates (id, run_id, name, type, status)
SELECT gid(12), id, 'facts', 'truth', 'fail' FROM r;
-- echo blocked 1.0 (1 failed gate)
:check
SELECT g.name, t.title FROM taskdb.gates g JOIN taskdb.tasks t ON t.id = g.task_id
 WHERE g.id IN (gid(10), gid(11), gid(12)) ORDER BY g.id;
-- Replace all of bravo's runs by one running run, in one statement.
WITH d AS (
    DELETE FROM taskdb.runs WHERE task_id = :'t2' RETURNING task_id
)
INSERT INTO taskdb.runs (id, task_id, status)
SELECT DISTINCT rid(16), task_id, 'running' FROM d;
-- bravo in_progress (1 run, running; its failed gate went with its run)
:check

--
-- TRUNCATE.
--
-- gates alone: every gates_failed counter drops to 0.
TRUNCATE taskdb.gates;
-- delta: 0 failed gates (still in_progress) | echo completed
:check
INSERT INTO taskdb.gates (run_id, name, type, status)
SELECT id, 'semgrep', 'security', 'fail' FROM taskdb.runs WHERE status IN ('completed', 'running');
INSERT INTO taskdb.artifacts (task_id, run_id, path, sha256)
SELECT task_id, id, 'out.txt', 'sha256:' || repeat('0', 64) FROM taskdb.runs;
-- alpha, delta, echo: failed gates again
:check
-- runs, gates and artifacts together, no CASCADE needed: every task pending.
TRUNCATE taskdb.runs, taskdb.gates, taskdb.artifacts;
:check

-- Repopulate: every task gets a completed run with a failed gate, and a running run.
INSERT INTO taskdb.runs (task_id, status)
SELECT id, s FROM taskdb.tasks, unnest(ARRAY['completed', 'running']) AS s;
INSERT INTO taskdb.gates (run_id, name, type, status)
SELECT id, 'semgrep', 'security', 'fail' FROM taskdb.runs WHERE status = 'completed';
-- everyone in_progress 0.5, 1 failed gate
:check
-- runs CASCADE (takes gates and artifacts with it).
TRUNCATE taskdb.runs CASCADE;
:check

-- TRUNCATE inside a transaction that has pending changes before it and makes
-- more after it: only what follows the TRUNCATE counts.
INSERT INTO taskdb.runs (task_id, status) SELECT id, 'completed' FROM taskdb.tasks;
BEGIN;
INSERT INTO taskdb.runs (task_id, status) SELECT id, 'failed' FROM taskdb.tasks;
INSERT INTO taskdb.gates (run_id, name, type, status)
SELECT id, 'opa', 'policy', 'fail' FROM taskdb.runs;
TRUNCATE taskdb.runs, taskdb.gates, taskdb.artifacts;
INSERT INTO taskdb.runs (task_id, status) SELECT id, 'queued' FROM taskdb.tasks WHERE title < 'c';
SELECT t.title, taskdb.status_derived(t.id) FROM taskdb.tasks t ORDER BY t.title;
COMMIT;
-- alpha, bravo blocked (1 queued run) | delta, echo pending
:check

-- A TRUNCATE rolled back to a savepoint undoes its zeroing; the changes
-- before and after it count.
BEGIN;
INSERT INTO taskdb.runs (task_id, status) SELECT id, 'completed' FROM taskdb.tasks WHERE title = 'alpha';
SAVEPOINT before_truncate;
TRUNCATE taskdb.runs, taskdb.gates, taskdb.artifacts;
INSERT INTO taskdb.runs (task_id, status) SELECT id, 'failed' FROM taskdb.tasks;
ROLLBACK TO before_truncate;
INSERT INTO taskdb.runs (task_id, status) SELECT id, 'running' FROM taskdb.tasks WHERE title = 'echo';
COMMIT;
-- alpha completed 0.5 (queued + completed) | bravo blocked | delta pending | echo in_progress
:check

-- A TRUNCATE of gates in a released savepoint, then a new failed gate.
BEGIN;
INSERT INTO taskdb.gates (run_id, name, type, status)
SELECT id, 'opa', 'policy', 'fail' FROM taskdb.runs;
SAVEPOINT s;
TRUNCATE taskdb.gates;
RELEASE s;
INSERT INTO taskdb.gates (run_id, name, type, status)
SELECT r.id, 'facts', 'truth', 'fail' FROM taskdb.runs r JOIN taskdb.tasks t ON t.id = r.task_id
 WHERE t.title = 'alpha' AND r.status = 'completed';
COMMIT;
-- alpha blocked (1 failed gate) | everyone else as before, 0 failed gates
:check

-- tasks CASCADE: everything goes, the summary included.
TRUNCATE taskdb.tasks CASCADE;
SELECT (SELECT count(*) FROM taskdb.tasks) AS tasks, (SELECT count(*) FROM taskdb.runs) AS runs,
       (SELECT count(*) FROM taskdb.gates) AS gates, (SELECT count(*) FROM taskdb.artifacts) AS artifacts,
       (SELECT count(*) FROM taskdb.task_status) AS summary_rows;
:check

-- TRUNCATE tasks CASCADE in a transaction that had changed a task, then
-- re-created the same task: only the new rows count.
INSERT INTO taskdb.tasks (id, title, policy_version) VALUES (:'t1', 'alpha', '1.0');
INSERT INTO taskdb.runs (task_id, status) VALUES (:'t1', 'completed');
BEGIN;
INSERT INTO taskdb.runs (task_id, status) VALUES (:'t1', 'failed'), (:'t1', 'completed');
TRUNCATE taskdb.tasks CASCADE;
INSERT INTO taskdb.tasks (id, title, policy_version) VALUES (:'t1', 'alpha again', '1.0');
INSERT INTO taskdb.runs (task_id, status) VALUES (:'t1', 'running');
COMMIT;
-- alpha again: in_progress, 1 run
:check

-- Clean up the helpers (the extension stays for the next file).
DROP VIEW report;
DROP VIEW drift;
DROP VIEW recomputed;
DROP FUNCTION task_of(text);
DROP FUNCTION rid(int);
DROP FUNCTION gid(int);
DROP FUNCTION aid(int);
