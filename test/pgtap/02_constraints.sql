--
-- 02_constraints: what the schema refuses, with the errcode and the message
-- of each refusal, and that the allowed values are accepted.
--   CHECK (23514): every allowed-values column, artifacts.sha256, size_bytes
--   NOT NULL (23502): every required column
--   foreign keys (23503): unknown task or run, cascading deletes
--   immutable keys (23000): ids and parent references cannot change
--   gates.task_id / artifacts.task_id: filled from the run, a mismatch is
--   refused (23503)
--
-- Run with pg_prove; everything happens in one rolled-back transaction.
--
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS taskdb;

SELECT plan(72);

-- t1 alpha (run r1 completed, gate g1 fail, artifact a1 of r1, artifact a2 of the task),
-- t2 bravo (run r2 running).
INSERT INTO taskdb.tasks (id, title, policy_version) VALUES
    ('00000000-0000-0000-0000-000000000001', 'alpha', '1.0'),
    ('00000000-0000-0000-0000-000000000002', 'bravo', '1.0');
INSERT INTO taskdb.runs (id, task_id, status) VALUES
    ('00000000-0000-0000-0001-000000000001', '00000000-0000-0000-0000-000000000001', 'completed'),
    ('00000000-0000-0000-0001-000000000002', '00000000-0000-0000-0000-000000000002', 'running');
INSERT INTO taskdb.gates (id, run_id, name, type, status) VALUES
    ('00000000-0000-0000-0002-000000000001', '00000000-0000-0000-0001-000000000001', 'semgrep', 'security', 'fail');
INSERT INTO taskdb.artifacts (id, run_id, path, sha256) VALUES
    ('00000000-0000-0000-0003-000000000001', '00000000-0000-0000-0001-000000000001', 'out.txt',
     'sha256:' || repeat('0123456789abcdef', 4));
INSERT INTO taskdb.artifacts (id, task_id, path, sha256) VALUES
    ('00000000-0000-0000-0003-000000000002', '00000000-0000-0000-0000-000000000001', 'spec.md',
     'sha256:' || repeat('ab', 32));

--
-- CHECK: allowed values (check_violation 23514, the message names value and column)
--
SELECT throws_ok($$INSERT INTO taskdb.tasks (title, policy_version, status) VALUES ('x', '1.0', 'done')$$,
                 '23514', 'invalid value "done" for tasks.status', 'tasks.status refuses done');
SELECT throws_ok($$UPDATE taskdb.tasks SET status = 'Completed' WHERE id = '00000000-0000-0000-0000-000000000001'$$,
                 '23514', 'invalid value "Completed" for tasks.status', 'tasks.status is case-sensitive (UPDATE)');
SELECT throws_ok($$INSERT INTO taskdb.tasks (title, policy_version, priority) VALUES ('x', '1.0', 'urgent')$$,
                 '23514', 'invalid value "urgent" for tasks.priority', 'tasks.priority refuses urgent');
SELECT throws_ok($$UPDATE taskdb.tasks SET priority = '' WHERE id = '00000000-0000-0000-0000-000000000001'$$,
                 '23514', 'invalid value "" for tasks.priority', 'tasks.priority refuses the empty string');
SELECT throws_ok($$INSERT INTO taskdb.runs (task_id, status) VALUES ('00000000-0000-0000-0000-000000000001', 'RUNNING')$$,
                 '23514', 'invalid value "RUNNING" for runs.status', 'runs.status is case-sensitive');
SELECT throws_ok($$UPDATE taskdb.runs SET status = 'success' WHERE id = '00000000-0000-0000-0001-000000000001'$$,
                 '23514', 'invalid value "success" for runs.status', 'runs.status refuses success (UPDATE)');
SELECT throws_ok($$INSERT INTO taskdb.runs (task_id, status)
                   VALUES ('00000000-0000-0000-0000-000000000001', 'queued'),
                          ('00000000-0000-0000-0000-000000000001', 'paused'),
                          ('00000000-0000-0000-0000-000000000001', 'zombie')$$,
                 '23514', 'invalid value "paused" for runs.status', 'a multi-row INSERT names its first bad value');
SELECT throws_ok($$INSERT INTO taskdb.gates (run_id, name, type) VALUES ('00000000-0000-0000-0001-000000000001', 'prettier', 'style')$$,
                 '23514', 'invalid value "style" for gates.type', 'gates.type refuses style');
SELECT throws_ok($$INSERT INTO taskdb.gates (run_id, name, type, status) VALUES ('00000000-0000-0000-0001-000000000001', 'opa', 'policy', 'failed')$$,
                 '23514', 'invalid value "failed" for gates.status', 'gates.status refuses failed (it is fail)');
SELECT throws_ok($$UPDATE taskdb.gates SET status = 'passed' WHERE id = '00000000-0000-0000-0002-000000000001'$$,
                 '23514', 'invalid value "passed" for gates.status', 'gates.status refuses passed (UPDATE)');
SELECT throws_ok(format($$INSERT INTO taskdb.artifacts (task_id, path, sha256) VALUES ('00000000-0000-0000-0000-000000000001', 'x', %L)$$,
                        'sha256:' || repeat('AB', 32)),
                 '23514', format('invalid value "%s" for artifacts.sha256', 'sha256:' || repeat('AB', 32)),
                 'artifacts.sha256 refuses upper-case hex');
SELECT throws_ok(format($$INSERT INTO taskdb.artifacts (task_id, path, sha256) VALUES ('00000000-0000-0000-0000-000000000001', 'x', %L)$$,
                        repeat('ab', 32)),
                 '23514', format('invalid value "%s" for artifacts.sha256', repeat('ab', 32)),
                 'artifacts.sha256 refuses a hash without the sha256: prefix');
SELECT throws_ok(format($$INSERT INTO taskdb.artifacts (task_id, path, sha256) VALUES ('00000000-0000-0000-0000-000000000001', 'x', %L)$$,
                        'sha256:' || repeat('a', 63)),
                 '23514', format('invalid value "%s" for artifacts.sha256', 'sha256:' || repeat('a', 63)),
                 'artifacts.sha256 refuses 63 digits');
SELECT throws_ok(format($$INSERT INTO taskdb.artifacts (task_id, path, sha256) VALUES ('00000000-0000-0000-0000-000000000001', 'x', %L)$$,
                        'sha256:' || repeat('zz', 32)),
                 '23514', format('invalid value "%s" for artifacts.sha256', 'sha256:' || repeat('zz', 32)),
                 'artifacts.sha256 refuses non-hex digits');
SELECT throws_ok($$INSERT INTO taskdb.artifacts (task_id, path, sha256, size_bytes)
                   VALUES ('00000000-0000-0000-0000-000000000001', 'x', 'sha256:' || repeat('ab', 32), -1)$$,
                 '23514', 'new row for relation "artifacts" violates check constraint "valid_size"',
                 'artifacts.size_bytes refuses a negative size');
-- ... and accepts every allowed value.
SELECT lives_ok($$INSERT INTO taskdb.tasks (title, policy_version, status, priority)
                  SELECT 'ok', '1.0', s, p
                    FROM unnest('{pending,in_progress,completed,failed,cancelled,retracted}'::text[]) s,
                         unnest('{critical,high,medium,low}'::text[]) p$$,
                'tasks accept every status and priority');
SELECT lives_ok($$INSERT INTO taskdb.runs (task_id, status)
                  SELECT '00000000-0000-0000-0000-000000000002', s
                    FROM unnest('{queued,running,completed,failed,cancelled}'::text[]) s$$,
                'runs accept every status');
SELECT lives_ok($$INSERT INTO taskdb.gates (run_id, name, type, status)
                  SELECT '00000000-0000-0000-0001-000000000002', 'g', t, s
                    FROM unnest('{lint,policy,security,quality,truth}'::text[]) t,
                         unnest('{pending,pass,fail,skipped}'::text[]) s$$,
                'gates accept every type and status');
SELECT lives_ok($$INSERT INTO taskdb.artifacts (task_id, path, sha256, size_bytes)
                  VALUES ('00000000-0000-0000-0000-000000000002', 'empty', 'sha256:' || repeat('0', 64), 0)$$,
                'artifacts accept a well-formed sha256 and size 0');
SELECT is(taskdb.check_allowed('x.y', NULL, '{a,b}'), NULL, 'check_allowed is NULL for NULL (NOT NULL refuses it)');

--
-- NOT NULL (not_null_violation 23502)
--
SELECT throws_ok($$INSERT INTO taskdb.tasks (title, policy_version) VALUES (NULL, '1.0')$$,
                 '23502', 'null value in column "title" of relation "tasks" violates not-null constraint', 'tasks.title is required');
SELECT throws_ok($$INSERT INTO taskdb.tasks (title) VALUES ('x')$$,
                 '23502', 'null value in column "policy_version" of relation "tasks" violates not-null constraint', 'tasks.policy_version is required');
SELECT throws_ok($$INSERT INTO taskdb.tasks (title, policy_version, status) VALUES ('x', '1.0', NULL)$$,
                 '23502', 'null value in column "status" of relation "tasks" violates not-null constraint', 'tasks.status cannot be NULL');
SELECT throws_ok($$UPDATE taskdb.tasks SET priority = NULL WHERE id = '00000000-0000-0000-0000-000000000001'$$,
                 '23502', 'null value in column "priority" of relation "tasks" violates not-null constraint', 'tasks.priority cannot be set to NULL');
SELECT throws_ok($$INSERT INTO taskdb.tasks (title, policy_version, created_at) VALUES ('x', '1.0', NULL)$$,
                 '23502', 'null value in column "created_at" of relation "tasks" violates not-null constraint', 'tasks.created_at cannot be NULL');
SELECT throws_ok($$INSERT INTO taskdb.runs (task_id) VALUES (NULL)$$,
                 '23502', 'null value in column "task_id" of relation "runs" violates not-null constraint', 'runs.task_id is required');
SELECT throws_ok($$INSERT INTO taskdb.runs (task_id, status) VALUES ('00000000-0000-0000-0000-000000000001', NULL)$$,
                 '23502', 'null value in column "status" of relation "runs" violates not-null constraint', 'runs.status cannot be NULL');
SELECT throws_ok($$INSERT INTO taskdb.gates (run_id, name, type) VALUES (NULL, 'opa', 'policy')$$,
                 '23502', 'null value in column "run_id" of relation "gates" violates not-null constraint', 'gates.run_id is required');
SELECT throws_ok($$INSERT INTO taskdb.gates (run_id, name, type) VALUES ('00000000-0000-0000-0001-000000000001', NULL, 'policy')$$,
                 '23502', 'null value in column "name" of relation "gates" violates not-null constraint', 'gates.name is required');
SELECT throws_ok($$INSERT INTO taskdb.gates (run_id, name) VALUES ('00000000-0000-0000-0001-000000000001', 'opa')$$,
                 '23502', 'null value in column "type" of relation "gates" violates not-null constraint', 'gates.type is required');
SELECT throws_ok($$INSERT INTO taskdb.gates (run_id, name, type, status) VALUES ('00000000-0000-0000-0001-000000000001', 'opa', 'policy', NULL)$$,
                 '23502', 'null value in column "status" of relation "gates" violates not-null constraint', 'gates.status cannot be NULL');
SELECT throws_ok($$INSERT INTO taskdb.artifacts (task_id, path, sha256) VALUES (NULL, 'x', 'sha256:' || repeat('ab', 32))$$,
                 '23502', 'null value in column "task_id" of relation "artifacts" violates not-null constraint', 'artifacts.task_id is required without a run');
SELECT throws_ok($$INSERT INTO taskdb.artifacts (task_id, path, sha256) VALUES ('00000000-0000-0000-0000-000000000001', NULL, 'sha256:' || repeat('ab', 32))$$,
                 '23502', 'null value in column "path" of relation "artifacts" violates not-null constraint', 'artifacts.path is required');
SELECT throws_ok($$INSERT INTO taskdb.artifacts (task_id, path) VALUES ('00000000-0000-0000-0000-000000000001', 'x')$$,
                 '23502', 'null value in column "sha256" of relation "artifacts" violates not-null constraint', 'artifacts.sha256 is required');

--
-- Foreign keys (foreign_key_violation 23503)
--
SELECT throws_ok($$INSERT INTO taskdb.runs (task_id) VALUES ('00000000-0000-0000-0000-00000000dead')$$,
                 '23503', 'insert or update on table "runs" violates foreign key constraint "runs_task_id_fkey"',
                 'a run of an unknown task is refused');
SELECT throws_ok($$INSERT INTO taskdb.gates (run_id, name, type) VALUES ('00000000-0000-0000-0001-00000000dead', 'opa', 'policy')$$,
                 '23503', 'run 00000000-0000-0000-0001-00000000dead does not exist', 'a gate of an unknown run is refused, naming the run');
SELECT throws_ok($$INSERT INTO taskdb.artifacts (run_id, path, sha256) VALUES ('00000000-0000-0000-0001-00000000dead', 'x', 'sha256:' || repeat('ab', 32))$$,
                 '23503', 'run 00000000-0000-0000-0001-00000000dead does not exist', 'an artifact of an unknown run is refused, naming the run');
SELECT throws_ok($$INSERT INTO taskdb.artifacts (task_id, path, sha256) VALUES ('00000000-0000-0000-0000-00000000dead', 'x', 'sha256:' || repeat('ab', 32))$$,
                 '23503', 'insert or update on table "artifacts" violates foreign key constraint "artifacts_task_id_fkey"',
                 'an artifact of an unknown task is refused');
-- A run deleted earlier in the same transaction is gone for new gates too.
SAVEPOINT deleted_run;
DELETE FROM taskdb.runs WHERE id = '00000000-0000-0000-0001-000000000002';
SELECT throws_ok($$INSERT INTO taskdb.gates (run_id, name, type) VALUES ('00000000-0000-0000-0001-000000000002', 'opa', 'policy')$$,
                 '23503', 'run 00000000-0000-0000-0001-000000000002 does not exist', 'a gate of a run deleted in this transaction is refused');
ROLLBACK TO SAVEPOINT deleted_run;
-- Deleting a task deletes its runs, their gates, its artifacts and its summary row.
SAVEPOINT cascade;
SELECT lives_ok($$DELETE FROM taskdb.tasks WHERE id = '00000000-0000-0000-0000-000000000001'$$, 'a task with runs, gates and artifacts can be deleted');
SELECT is((SELECT ARRAY[(SELECT count(*) FROM taskdb.runs WHERE task_id = '00000000-0000-0000-0000-000000000001'),
                        (SELECT count(*) FROM taskdb.gates WHERE run_id = '00000000-0000-0000-0001-000000000001'),
                        (SELECT count(*) FROM taskdb.artifacts WHERE task_id = '00000000-0000-0000-0000-000000000001'),
                        (SELECT count(*) FROM taskdb.task_status WHERE task_id = '00000000-0000-0000-0000-000000000001')]),
          ARRAY[0, 0, 0, 0]::bigint[], 'its runs, gates, artifacts and task_status row went with it');
SELECT is(taskdb.status_derived('00000000-0000-0000-0000-000000000001'), NULL, 'status_derived of the deleted task is NULL');
ROLLBACK TO SAVEPOINT cascade;
-- Deleting a run deletes its gates and artifacts, not the task's own artifact.
SAVEPOINT cascade_run;
DELETE FROM taskdb.runs WHERE id = '00000000-0000-0000-0001-000000000001';
SELECT is((SELECT ARRAY[(SELECT count(*) FROM taskdb.gates WHERE id = '00000000-0000-0000-0002-000000000001'),
                        (SELECT count(*) FROM taskdb.artifacts WHERE id = '00000000-0000-0000-0003-000000000001'),
                        (SELECT count(*) FROM taskdb.artifacts WHERE id = '00000000-0000-0000-0003-000000000002')]),
          ARRAY[0, 0, 1]::bigint[], 'deleting a run deletes its gates and artifacts, not the task''s');
ROLLBACK TO SAVEPOINT cascade_run;

--
-- Immutable keys (integrity_constraint_violation 23000)
--
SELECT throws_ok($$UPDATE taskdb.tasks SET id = '00000000-0000-0000-0000-00000000dead' WHERE id = '00000000-0000-0000-0000-000000000001'$$,
                 '23000', 'cannot change tasks.id from 00000000-0000-0000-0000-000000000001 to 00000000-0000-0000-0000-00000000dead',
                 'tasks.id cannot change');
SELECT throws_ok($$UPDATE taskdb.runs SET id = '00000000-0000-0000-0001-00000000dead' WHERE id = '00000000-0000-0000-0001-000000000002'$$,
                 '23000', 'cannot change runs.id from 00000000-0000-0000-0001-000000000002 to 00000000-0000-0000-0001-00000000dead',
                 'runs.id cannot change');
SELECT throws_ok($$UPDATE taskdb.runs SET task_id = '00000000-0000-0000-0000-000000000002' WHERE id = '00000000-0000-0000-0001-000000000001'$$,
                 '23000', 'cannot change runs.task_id from 00000000-0000-0000-0000-000000000001 to 00000000-0000-0000-0000-000000000002',
                 'runs.task_id cannot change');
SELECT throws_ok($$INSERT INTO taskdb.runs (id, task_id, status)
                   VALUES ('00000000-0000-0000-0001-000000000001', '00000000-0000-0000-0000-000000000002', 'failed')
                   ON CONFLICT (id) DO UPDATE SET task_id = EXCLUDED.task_id, status = EXCLUDED.status$$,
                 '23000', 'cannot change runs.task_id from 00000000-0000-0000-0000-000000000001 to 00000000-0000-0000-0000-000000000002',
                 'runs.task_id cannot change through ON CONFLICT DO UPDATE');
SELECT throws_ok($$UPDATE taskdb.gates SET id = '00000000-0000-0000-0002-00000000dead' WHERE id = '00000000-0000-0000-0002-000000000001'$$,
                 '23000', 'cannot change gates.id from 00000000-0000-0000-0002-000000000001 to 00000000-0000-0000-0002-00000000dead',
                 'gates.id cannot change');
SELECT throws_ok($$UPDATE taskdb.gates SET run_id = '00000000-0000-0000-0001-000000000002' WHERE id = '00000000-0000-0000-0002-000000000001'$$,
                 '23000', 'cannot change gates.run_id from 00000000-0000-0000-0001-000000000001 to 00000000-0000-0000-0001-000000000002',
                 'gates.run_id cannot change');
SELECT throws_ok($$UPDATE taskdb.gates SET task_id = '00000000-0000-0000-0000-000000000002' WHERE id = '00000000-0000-0000-0002-000000000001'$$,
                 '23000', 'cannot change gates.task_id from 00000000-0000-0000-0000-000000000001 to 00000000-0000-0000-0000-000000000002',
                 'gates.task_id cannot change');
SELECT throws_ok($$UPDATE taskdb.gates SET run_id = '00000000-0000-0000-0001-000000000002', task_id = '00000000-0000-0000-0000-000000000002'
                    WHERE id = '00000000-0000-0000-0002-000000000001'$$,
                 '23000', 'cannot change gates.task_id from 00000000-0000-0000-0000-000000000001 to 00000000-0000-0000-0000-000000000002',
                 'a gate cannot move to another task''s run even consistently');
SELECT throws_ok($$MERGE INTO taskdb.gates g USING (VALUES ('00000000-0000-0000-0002-000000000001'::uuid, '00000000-0000-0000-0001-000000000002'::uuid)) AS s(id, run_id)
                    ON g.id = s.id WHEN MATCHED THEN UPDATE SET run_id = s.run_id$$,
                 '23000', 'cannot change gates.run_id from 00000000-0000-0000-0001-000000000001 to 00000000-0000-0000-0001-000000000002',
                 'gates.run_id cannot change through MERGE');
SELECT throws_ok($$UPDATE taskdb.artifacts SET id = '00000000-0000-0000-0003-00000000dead' WHERE id = '00000000-0000-0000-0003-000000000001'$$,
                 '23000', 'cannot change artifacts.id from 00000000-0000-0000-0003-000000000001 to 00000000-0000-0000-0003-00000000dead',
                 'artifacts.id cannot change');
SELECT throws_ok($$UPDATE taskdb.artifacts SET task_id = '00000000-0000-0000-0000-000000000002' WHERE id = '00000000-0000-0000-0003-000000000002'$$,
                 '23000', 'cannot change artifacts.task_id from 00000000-0000-0000-0000-000000000001 to 00000000-0000-0000-0000-000000000002',
                 'artifacts.task_id cannot change');
SELECT throws_ok($$UPDATE taskdb.artifacts SET run_id = '00000000-0000-0000-0001-000000000002' WHERE id = '00000000-0000-0000-0003-000000000001'$$,
                 '23000', 'cannot change artifacts.run_id from 00000000-0000-0000-0001-000000000001 to 00000000-0000-0000-0001-000000000002',
                 'artifacts.run_id cannot change');
SELECT throws_ok($$UPDATE taskdb.artifacts SET run_id = '00000000-0000-0000-0001-000000000001' WHERE id = '00000000-0000-0000-0003-000000000002'$$,
                 '23000', 'cannot change artifacts.run_id from NULL to 00000000-0000-0000-0001-000000000001',
                 'a task''s own artifact cannot be attached to a run later');
SELECT throws_ok($$UPDATE taskdb.runs SET task_id = CASE WHEN id = '00000000-0000-0000-0001-000000000002'
                                                        THEN '00000000-0000-0000-0000-000000000001'::uuid ELSE task_id END$$,
                 '23000', 'cannot change runs.task_id from 00000000-0000-0000-0000-000000000002 to 00000000-0000-0000-0000-000000000001',
                 'one offending row refuses a whole multi-row UPDATE');
-- Setting a key to the value it already has is not a change.
SELECT lives_ok($$UPDATE taskdb.tasks SET id = id, title = 'alpha' WHERE id = '00000000-0000-0000-0000-000000000001'$$,
                'tasks.id set to itself is accepted');
SELECT lives_ok($$UPDATE taskdb.runs SET task_id = task_id, status = 'failed' WHERE id = '00000000-0000-0000-0001-000000000001'$$,
                'runs.task_id set to itself is accepted');
SELECT lives_ok($$UPDATE taskdb.gates SET run_id = run_id, task_id = task_id WHERE id = '00000000-0000-0000-0002-000000000001'$$,
                'gates keys set to themselves are accepted');
-- Nothing moved.
SELECT results_eq($$SELECT r.id, r.task_id FROM taskdb.runs r
                    WHERE r.id IN ('00000000-0000-0000-0001-000000000001', '00000000-0000-0000-0001-000000000002') ORDER BY r.id$$,
                  $$VALUES ('00000000-0000-0000-0001-000000000001'::uuid, '00000000-0000-0000-0000-000000000001'::uuid),
                           ('00000000-0000-0000-0001-000000000002'::uuid, '00000000-0000-0000-0000-000000000002'::uuid)$$,
                  'the runs are still where they were');
SELECT results_eq($$SELECT id, run_id, task_id FROM taskdb.gates WHERE id = '00000000-0000-0000-0002-000000000001'$$,
                  $$VALUES ('00000000-0000-0000-0002-000000000001'::uuid, '00000000-0000-0000-0001-000000000001'::uuid,
                            '00000000-0000-0000-0000-000000000001'::uuid)$$,
                  'the gate is still where it was');

--
-- gates.task_id and artifacts.task_id come from the run
--
SELECT throws_ok($$INSERT INTO taskdb.gates (run_id, task_id, name, type, status)
                   VALUES ('00000000-0000-0000-0001-000000000001', '00000000-0000-0000-0000-000000000002', 'opa', 'policy', 'fail')$$,
                 '23503', 'gates.task_id 00000000-0000-0000-0000-000000000002 does not match task 00000000-0000-0000-0000-000000000001 of run 00000000-0000-0000-0001-000000000001',
                 'a gate with another task''s task_id is refused');
SELECT throws_ok($$INSERT INTO taskdb.gates (run_id, task_id, name, type, status)
                   VALUES ('00000000-0000-0000-0001-000000000001', '00000000-0000-0000-0000-00000000dead', 'opa', 'policy', 'fail')$$,
                 '23503', 'gates.task_id 00000000-0000-0000-0000-00000000dead does not match task 00000000-0000-0000-0000-000000000001 of run 00000000-0000-0000-0001-000000000001',
                 'a gate with an unknown task_id is refused');
SELECT throws_ok($$INSERT INTO taskdb.artifacts (task_id, run_id, path, sha256)
                   VALUES ('00000000-0000-0000-0000-000000000002', '00000000-0000-0000-0001-000000000001', 'log', 'sha256:' || repeat('ab', 32))$$,
                 '23503', 'artifacts.task_id 00000000-0000-0000-0000-000000000002 does not match task 00000000-0000-0000-0000-000000000001 of run 00000000-0000-0000-0001-000000000001',
                 'an artifact with another task''s task_id is refused');
SELECT lives_ok($$INSERT INTO taskdb.gates (id, run_id, task_id, name, type, status) VALUES
                   ('00000000-0000-0000-0002-000000000002', '00000000-0000-0000-0001-000000000001', '00000000-0000-0000-0000-000000000001', 'opa', 'policy', 'pass'),
                   ('00000000-0000-0000-0002-000000000003', '00000000-0000-0000-0001-000000000002', NULL, 'eslint', 'lint', 'fail')$$,
                'gates with the run''s own task_id, or NULL, are accepted');
SELECT lives_ok($$INSERT INTO taskdb.gates (id, run_id, name, type) VALUES
                   ('00000000-0000-0000-0002-000000000004', '00000000-0000-0000-0001-000000000002', 'facts', 'truth')$$,
                'a gate without task_id is accepted');
SELECT results_eq($$SELECT id, task_id FROM taskdb.gates
                    WHERE id IN ('00000000-0000-0000-0002-000000000001', '00000000-0000-0000-0002-000000000002',
                                 '00000000-0000-0000-0002-000000000003', '00000000-0000-0000-0002-000000000004')
                    ORDER BY id$$,
                  $$VALUES ('00000000-0000-0000-0002-000000000001'::uuid, '00000000-0000-0000-0000-000000000001'::uuid),
                           ('00000000-0000-0000-0002-000000000002'::uuid, '00000000-0000-0000-0000-000000000001'::uuid),
                           ('00000000-0000-0000-0002-000000000003'::uuid, '00000000-0000-0000-0000-000000000002'::uuid),
                           ('00000000-0000-0000-0002-000000000004'::uuid, '00000000-0000-0000-0000-000000000002'::uuid)$$,
                  'every gate carries its run''s task_id');
SELECT results_eq($$SELECT id, task_id FROM taskdb.artifacts
                    WHERE id IN ('00000000-0000-0000-0003-000000000001', '00000000-0000-0000-0003-000000000002') ORDER BY id$$,
                  $$VALUES ('00000000-0000-0000-0003-000000000001'::uuid, '00000000-0000-0000-0000-000000000001'::uuid),
                           ('00000000-0000-0000-0003-000000000002'::uuid, '00000000-0000-0000-0000-000000000001'::uuid)$$,
                  'an artifact of a run gets the run''s task_id; one without a run keeps its own');
-- A run and its gates inserted by one statement (data-modifying CTE).
SELECT lives_ok($$WITH r AS (INSERT INTO taskdb.runs (id, task_id, status)
                             VALUES ('00000000-0000-0000-0001-000000000003', '00000000-0000-0000-0000-000000000002', 'completed')
                             RETURNING id)
                  INSERT INTO taskdb.gates (id, run_id, name, type, status)
                  SELECT '00000000-0000-0000-0002-000000000005', id, 'cte', 'quality', 'fail' FROM r$$,
                'a run and its gate inserted by one statement');
SELECT is((SELECT task_id FROM taskdb.gates WHERE id = '00000000-0000-0000-0002-000000000005'),
          '00000000-0000-0000-0000-000000000002'::uuid, 'the gate got the task of the run inserted by the same statement');
-- Refused statements left no pending delta: alpha has its completed (now
-- failed) run r1 and the failed gate; bravo a running run, the cte run
-- and its failed gate, the failed eslint gate, and the five runs of every status.
SELECT results_eq($$SELECT t.title::text, v.runs_total, v.runs_running, v.runs_completed, v.runs_failed, v.gates_failed
                      FROM taskdb.task_status_derived v JOIN taskdb.tasks t ON t.id = v.task_id
                     WHERE t.id IN ('00000000-0000-0000-0000-000000000001', '00000000-0000-0000-0000-000000000002')
                     ORDER BY 1$$,
                  $$VALUES ('alpha', 1::bigint, 0::bigint, 0::bigint, 1::bigint, 1::bigint),
                           ('bravo', 7::bigint, 2::bigint, 2::bigint, 1::bigint, 7::bigint)$$,
                  'the pending counters include only the statements that succeeded');

SELECT * FROM finish();
ROLLBACK;
