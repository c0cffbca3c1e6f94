--
-- 03_privileges: nothing is granted to PUBLIC; an application role with
-- exactly the README's grants (USAGE on the schema, SELECT on its tables,
-- INSERT / UPDATE / DELETE on tasks, runs, gates, artifacts) can do its
-- work, and its reads include its own pending changes; yet it cannot write
-- task_status, run the repair functions, or switch the maintenance off.
-- It reads the event history and the reports but cannot write either, never
-- reads the signing key, cannot replace it, and still publishes signed
-- reports (publish_report reads the key and writes reports as their owner).
--
-- The roles are created inside the transaction and vanish with its
-- ROLLBACK.  Commit-time maintenance cannot be observed in a rolled-back
-- transaction: what is checked is what the role sees before commit
-- (status_derived(), task_status_derived, pending_deltas()) and that
-- task_status itself is untouched until then.
--
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS taskdb;

SELECT plan(69);

--
-- PUBLIC gets nothing
--
SELECT is(ARRAY(SELECT a.privilege_type::text FROM pg_namespace n, aclexplode(n.nspacl) a
                 WHERE n.nspname = 'taskdb' AND a.grantee = 0),
          '{}'::text[], 'PUBLIC has no privilege on schema taskdb');
SELECT is(ARRAY(SELECT format('%s %s', c.oid::regclass, a.privilege_type)
                  FROM pg_class c, aclexplode(c.relacl) a
                 WHERE c.relnamespace = 'taskdb'::regnamespace AND a.grantee = 0 ORDER BY 1),
          '{}'::text[], 'PUBLIC has no privilege on any table or view of taskdb');
SELECT is(ARRAY(SELECT p.oid::regprocedure::text FROM pg_proc p
                 WHERE p.pronamespace = 'taskdb'::regnamespace
                   AND NOT has_function_privilege('public', p.oid, 'EXECUTE') ORDER BY 1),
          ARRAY['taskdb.archive_events(interval,bigint)', 'taskdb.capture()', 'taskdb.count_archived(bigint)',
                'taskdb.eras_changed()', 'taskdb.fill_task_id()',
                'taskdb.generate_synthetic(integer,integer,integer,integer,integer)',
                'taskdb.history_move_default(regclass,timestamp with time zone,timestamp with time zone)',
                'taskdb.maintain_history(integer)', 'taskdb.metrics_reset()', 'taskdb.post_restore()',
                'taskdb.pre_restore()', 'taskdb.rebuild_status()', 'taskdb.refuse_history_change()', 'taskdb.refuse_key_change()',
                'taskdb.set_signing_key(bytea)', 'taskdb.void_pending_deltas()'],
          'EXECUTE is revoked from PUBLIC on the repair function, archival, history maintenance and restore, the synthetic load, metrics_reset, void_pending_deltas, set_signing_key and the trigger functions');
SELECT is(ARRAY(SELECT format('%s %s', a.grantee::regrole, a.privilege_type)
                  FROM pg_class c, aclexplode(c.relacl) a
                 WHERE c.oid = 'taskdb.signing_key'::regclass AND a.grantee <> c.relowner ORDER BY 1),
          '{}'::text[], 'after CREATE EXTENSION only the owner holds a privilege on signing_key');

-- The roles.  tap_nobody has no grant at all; tap_app has the README's;
-- tap_reader may read tasks but not task_status; tap_claims may read the
-- tables claims are about and the events verification explains them with,
-- nothing else (not the key, the reports or the stamp sequence).
CREATE ROLE tap_nobody NOLOGIN;
CREATE ROLE tap_app NOLOGIN;
CREATE ROLE tap_reader NOLOGIN;
CREATE ROLE tap_claims NOLOGIN;
GRANT USAGE ON SCHEMA taskdb TO tap_app;
GRANT SELECT ON ALL TABLES IN SCHEMA taskdb TO tap_app;
GRANT SELECT ON ALL SEQUENCES IN SCHEMA taskdb TO tap_app;
GRANT INSERT, UPDATE, DELETE ON taskdb.tasks, taskdb.runs, taskdb.gates, taskdb.artifacts TO tap_app;
GRANT USAGE ON SCHEMA taskdb TO tap_reader;
GRANT SELECT ON taskdb.tasks TO tap_reader;
GRANT USAGE ON SCHEMA taskdb TO tap_claims;
GRANT SELECT ON taskdb.tasks, taskdb.runs, taskdb.gates, taskdb.artifacts, taskdb.task_status, taskdb.events,
    taskdb.event_history, taskdb.history, taskdb.history_archive TO tap_claims;

-- A task created by the superuser before tap_app starts work.
INSERT INTO taskdb.tasks (id, title, policy_version)
VALUES ('00000000-0000-0000-0000-000000000001', 'existing', '1.0');

--
-- Without grants: the schema is closed
--
SET ROLE tap_nobody;
SELECT throws_ok($$SELECT 1 FROM taskdb.tasks$$, '42501', 'permission denied for schema taskdb',
                 'a role without grants cannot read taskdb.tasks');
SELECT throws_ok($$SELECT taskdb.status_derived('00000000-0000-0000-0000-000000000001')$$,
                 '42501', 'permission denied for schema taskdb',
                 'a role without grants cannot call taskdb functions');
RESET ROLE;

-- A role that may read tasks but not task_status cannot read the summary
-- through status_derived() either (the C function checks SELECT on task_status).
SET ROLE tap_reader;
SELECT throws_ok($$SELECT taskdb.status_derived('00000000-0000-0000-0000-000000000001')$$,
                 '42501', 'permission denied for table task_status',
                 'status_derived() requires SELECT on task_status');
SELECT throws_ok($$SELECT * FROM taskdb.task_status_derived$$,
                 '42501', 'permission denied for view task_status_derived',
                 'the view task_status_derived requires its own grant');
RESET ROLE;

SELECT is(ARRAY(SELECT p.oid::regprocedure::text FROM pg_proc p
                 WHERE p.pronamespace = 'taskdb'::regnamespace
                   AND NOT has_function_privilege('tap_app', p.oid, 'EXECUTE')
                   AND p.prorettype <> 'trigger'::regtype ORDER BY 1),
          ARRAY['taskdb.archive_events(interval,bigint)', 'taskdb.count_archived(bigint)',
                'taskdb.generate_synthetic(integer,integer,integer,integer,integer)',
                'taskdb.history_move_default(regclass,timestamp with time zone,timestamp with time zone)',
                'taskdb.maintain_history(integer)', 'taskdb.metrics_reset()', 'taskdb.post_restore()',
                'taskdb.pre_restore()', 'taskdb.rebuild_status()', 'taskdb.set_signing_key(bytea)',
                'taskdb.void_pending_deltas()'],
          'tap_app may call every non-trigger function but archival, generate_synthetic, metrics_reset, rebuild_status, set_signing_key and void_pending_deltas');
SELECT is(ARRAY(SELECT f FROM unnest(ARRAY['taskdb.sha256(bytea)',
                                           'taskdb.create_artifact(text,bytea,text,uuid,uuid,text,boolean)',
                                           'taskdb.publish_report(jsonb)', 'taskdb.verify_provenance(jsonb)',
                                           'taskdb.debug_provenance(jsonb,boolean)']) f
                 WHERE NOT has_function_privilege('tap_app', f, 'EXECUTE')),
          '{}'::text[], 'tap_app may call sha256, create_artifact, publish_report, verify_provenance and debug_provenance');
-- SELECT ON ALL TABLES must not hand out the report signing key: whoever
-- reads it can sign any document.
SELECT is((SELECT relrowsecurity AND NOT relforcerowsecurity FROM pg_class
            WHERE oid = 'taskdb.signing_key'::regclass), true,
          'signing_key has row-level security (not forced on its owner), so even the README''s GRANT SELECT ON ALL TABLES reveals no key');

--
-- Everyday work as tap_app
--
SET ROLE tap_app;
SELECT is(current_user::text, 'tap_app', 'working as tap_app');
-- In 1.0 doctor() failed for the README's role ("permission denied for
-- sequence events_id_seq"); every check must now run, none for lack of a grant.
SELECT is((SELECT array_agg(format('%s %s: %s', check_name, status, detail) ORDER BY check_name)
             FROM taskdb.doctor()
            WHERE status <> 'pass' AND check_name <> 'system_health'),
          NULL, 'tap_app, with exactly the README''s grants, runs doctor() and every check passes');
SELECT lives_ok($$INSERT INTO taskdb.tasks (id, title, policy_version) VALUES
                   ('00000000-0000-0000-0000-000000000002', 'app plain', '1.0'),
                   ('00000000-0000-0000-0000-000000000003', 'app doomed', '1.0')$$,
                'tap_app inserts tasks');
SELECT isnt(taskdb.create_task('app via api', '1.0'), NULL, 'tap_app creates a task through the API');
SELECT is((SELECT count(*)::int FROM taskdb.task_status s JOIN taskdb.tasks t ON t.id = s.task_id
            WHERE t.title IN ('app plain', 'app doomed', 'app via api')),
          3, 'each new task got its task_status row at once, written with the owner''s rights');
SELECT lives_ok($$INSERT INTO taskdb.runs (id, task_id, status) VALUES
                   ('00000000-0000-0000-0001-000000000001', '00000000-0000-0000-0000-000000000001', 'completed'),
                   ('00000000-0000-0000-0001-000000000002', '00000000-0000-0000-0000-000000000002', 'completed'),
                   ('00000000-0000-0000-0001-000000000003', '00000000-0000-0000-0000-000000000002', 'queued'),
                   ('00000000-0000-0000-0001-000000000004', '00000000-0000-0000-0000-000000000003', 'failed')$$,
                'tap_app inserts runs');
SELECT isnt(taskdb.create_run((SELECT id FROM taskdb.tasks WHERE title = 'app via api'), 'running'), NULL,
            'tap_app creates a run through the API');
SELECT lives_ok($$INSERT INTO taskdb.gates (id, run_id, name, type, status) VALUES
                   ('00000000-0000-0000-0002-000000000001', '00000000-0000-0000-0001-000000000002', 'semgrep', 'security', 'fail')$$,
                'tap_app inserts a gate');
SELECT is((SELECT task_id FROM taskdb.gates WHERE id = '00000000-0000-0000-0002-000000000001'),
          '00000000-0000-0000-0000-000000000002'::uuid, 'the gate got its task_id from the run');
SELECT isnt(taskdb.create_gate('00000000-0000-0000-0001-000000000002', 'opa', 'policy', 'pass'), NULL,
            'tap_app creates a gate through the API');
SELECT lives_ok($$INSERT INTO taskdb.artifacts (run_id, path, sha256) VALUES
                   ('00000000-0000-0000-0001-000000000002', 'out.txt', 'sha256:' || repeat('ab', 32))$$,
                'tap_app inserts an artifact');
SELECT is((SELECT status::text FROM taskdb.set_run_status('00000000-0000-0000-0001-000000000003', 'running')),
          'running', 'tap_app sets a run''s status through the API');
SELECT lives_ok($$UPDATE taskdb.runs SET status = 'cancelled' WHERE id = '00000000-0000-0000-0001-000000000001'$$,
                'tap_app updates a run');
SELECT lives_ok($$DELETE FROM taskdb.tasks WHERE id = '00000000-0000-0000-0000-000000000003'$$,
                'tap_app deletes a task (its run and task_status row go by cascade)');
SELECT is((SELECT count(*)::int FROM taskdb.task_status WHERE task_id = '00000000-0000-0000-0000-000000000003'),
          0, 'the deleted task''s task_status row is gone');

-- The role sees its own pending changes ...
SELECT results_eq(
    $$SELECT t.title::text, taskdb.status_derived(t.id), v.status_derived, v.runs_total, v.runs_running,
             v.runs_completed, v.runs_failed, v.gates_failed
        FROM taskdb.tasks t JOIN taskdb.task_status_derived v ON v.task_id = t.id ORDER BY 1$$,
    $$VALUES ('app plain', 'in_progress', 'in_progress', 2::bigint, 1::bigint, 1::bigint, 0::bigint, 1::bigint),
             ('app via api', 'in_progress', 'in_progress', 1::bigint, 1::bigint, 0::bigint, 0::bigint, 0::bigint),
             ('existing', 'blocked', 'blocked', 1::bigint, 0::bigint, 0::bigint, 0::bigint, 0::bigint)$$,
    'tap_app reads status_derived() and task_status_derived with its own pending changes');
SELECT results_eq(
    $$SELECT t.title::text, p.runs_total, p.gates_failed
        FROM taskdb.pending_deltas() p JOIN taskdb.tasks t ON t.id = p.task_id ORDER BY 1$$,
    $$VALUES ('app plain', 2::bigint, 1::bigint), ('app via api', 1::bigint, 0::bigint),
             ('existing', 1::bigint, 0::bigint)$$,
    'tap_app reads its pending deltas');
-- ... while task_status itself is unchanged until commit.
SELECT results_eq(
    $$SELECT t.title::text, s.status_derived, s.runs_total, s.gates_failed
        FROM taskdb.tasks t JOIN taskdb.task_status s ON s.task_id = t.id ORDER BY 1$$,
    $$VALUES ('app plain', 'pending', 0::bigint, 0::bigint), ('app via api', 'pending', 0::bigint, 0::bigint),
             ('existing', 'pending', 0::bigint, 0::bigint)$$,
    'task_status is untouched before commit');

--
-- What tap_app may not do
--
SELECT throws_ok($$INSERT INTO taskdb.task_status (task_id) VALUES ('00000000-0000-0000-0000-000000000003')$$,
                 '42501', 'permission denied for table task_status', 'tap_app cannot INSERT into task_status');
SELECT throws_ok($$UPDATE taskdb.task_status SET runs_failed = 0$$,
                 '42501', 'permission denied for table task_status', 'tap_app cannot UPDATE task_status');
SELECT throws_ok($$DELETE FROM taskdb.task_status$$,
                 '42501', 'permission denied for table task_status', 'tap_app cannot DELETE from task_status');
SELECT throws_ok($$TRUNCATE taskdb.task_status$$,
                 '42501', 'permission denied for table task_status', 'tap_app cannot TRUNCATE task_status');
SELECT throws_ok($$TRUNCATE taskdb.runs$$,
                 '42501', 'permission denied for table runs', 'tap_app cannot TRUNCATE runs');
SELECT throws_ok($$SELECT taskdb.rebuild_status()$$,
                 '42501', 'permission denied for function rebuild_status', 'tap_app cannot run rebuild_status()');
SELECT throws_ok($$SELECT taskdb.void_pending_deltas()$$,
                 '42501', 'permission denied for function void_pending_deltas', 'tap_app cannot run void_pending_deltas()');
SELECT throws_ok($$ALTER TABLE taskdb.runs DISABLE TRIGGER runs_status_insert$$,
                 '42501', 'must be owner of table runs', 'tap_app cannot disable the maintenance triggers');
SELECT throws_ok($$DROP TRIGGER gates_fill_task_id ON taskdb.gates$$,
                 '42501', 'must be owner of relation gates', 'tap_app cannot drop a taskdb trigger');
SELECT throws_ok($$CREATE TRIGGER tap_t BEFORE INSERT ON taskdb.runs FOR EACH ROW EXECUTE FUNCTION taskdb.fill_task_id()$$,
                 '42501', 'permission denied for table runs', 'tap_app cannot add triggers to taskdb tables');
SELECT throws_ok($$SET session_replication_role = replica$$,
                 '42501', 'permission denied to set parameter "session_replication_role"',
                 'tap_app cannot turn triggers off with session_replication_role');
SELECT throws_ok($$INSERT INTO taskdb.gates (run_id, task_id, name, type, status) VALUES
                   ('00000000-0000-0000-0001-000000000002', '00000000-0000-0000-0000-000000000001', 'opa', 'policy', 'fail')$$,
                 '23503', 'gates.task_id 00000000-0000-0000-0000-000000000001 does not match task 00000000-0000-0000-0000-000000000002 of run 00000000-0000-0000-0001-000000000002',
                 'tap_app cannot make a gate count against another task');
SELECT throws_ok($$UPDATE taskdb.runs SET task_id = '00000000-0000-0000-0000-000000000001' WHERE id = '00000000-0000-0000-0001-000000000002'$$,
                 '23000', 'cannot change runs.task_id from 00000000-0000-0000-0000-000000000002 to 00000000-0000-0000-0000-000000000001',
                 'tap_app cannot move a run to another task');
SELECT throws_ok($$ALTER TABLE taskdb.task_status ADD COLUMN x int$$,
                 '42501', 'must be owner of table task_status', 'tap_app cannot alter task_status');

--
-- The event history, the reports and the signing key
--
-- tap_app's own writes are in the history, which it may read ...
SELECT results_eq(
    $$SELECT entity, operation, count(*)::int FROM taskdb.events
       WHERE task_id IN ('00000000-0000-0000-0000-000000000002', '00000000-0000-0000-0000-000000000003')
       GROUP BY 1, 2 ORDER BY 1, 2$$,
    $$VALUES ('artifact', 'insert', 1), ('gate', 'insert', 2), ('run', 'delete', 1), ('run', 'insert', 3),
             ('run', 'update', 1), ('task', 'delete', 1), ('task', 'insert', 2)$$,
    'tap_app reads the events its own statements wrote (as the owner of events)');
-- ... but cannot write it.
SELECT throws_ok($$INSERT INTO taskdb.events (entity, operation) VALUES ('task', 'insert')$$,
                 '55000', 'cannot insert into view "events"', 'tap_app cannot INSERT into events (a view that cannot be written)');
SELECT throws_ok($$INSERT INTO taskdb.history (occurred_at, xact_id, id, era, entity, operation, entity_ids)
                   VALUES (now(), '1', 1, 1, 't', 'i', '{}')$$,
                 '42501', 'permission denied for table history', 'tap_app cannot INSERT into history');
SELECT throws_ok($$UPDATE taskdb.history SET era = 2$$,
                 '42501', 'permission denied for table history', 'tap_app cannot UPDATE history');
SELECT throws_ok($$DELETE FROM taskdb.history$$,
                 '42501', 'permission denied for table history', 'tap_app cannot DELETE from history');
SELECT throws_ok($$TRUNCATE taskdb.history$$,
                 '42501', 'permission denied for table history', 'tap_app cannot TRUNCATE history');
SELECT throws_ok($$SELECT nextval('taskdb.history_id_seq')$$,
                 '42501', 'permission denied for sequence history_id_seq', 'tap_app cannot advance history_id_seq');
SELECT throws_ok($$ALTER TABLE taskdb.history DISABLE TRIGGER history_append_only$$,
                 '42501', 'must be owner of table history', 'tap_app cannot disable the append-only guard');
SELECT throws_ok($$SELECT * FROM taskdb.maintain_history()$$,
                 '42501', 'permission denied for function maintain_history', 'tap_app cannot make partitions');
SELECT throws_ok($$SELECT taskdb.post_restore()$$,
                 '42501', 'permission denied for function post_restore', 'tap_app cannot start an era');
SELECT throws_ok($$SET taskdb.restoring = on$$,
                 '42501', 'permission denied to set parameter "taskdb.restoring"',
                 'tap_app cannot turn the history off by claiming a restore');
-- Reports are written by publish_report only.
SELECT lives_ok($$SELECT count(*) FROM taskdb.reports$$, 'tap_app may read reports');
SELECT throws_ok($$INSERT INTO taskdb.reports (id, verification_snapshot_ts, snapshot, published_by, claims_count, report)
                   VALUES (gen_random_uuid(), now(), pg_current_snapshot(), 'tap_app', 0, '{}')$$,
                 '42501', 'permission denied for table reports', 'tap_app cannot INSERT into reports');
SELECT throws_ok($$UPDATE taskdb.reports SET claims_count = 0$$,
                 '42501', 'permission denied for table reports', 'tap_app cannot UPDATE reports');
SELECT throws_ok($$DELETE FROM taskdb.reports$$,
                 '42501', 'permission denied for table reports', 'tap_app cannot DELETE from reports');
SELECT throws_ok($$SELECT setval('taskdb.report_stamp_seq', 1)$$,
                 '42501', 'permission denied for sequence report_stamp_seq', 'tap_app cannot move the report stamps');
-- The key is neither readable nor replaceable.
SELECT is_empty($$SELECT key FROM taskdb.signing_key$$,
                'tap_app, granted SELECT on every table, still sees no row of the signing key');
SELECT throws_ok($$SELECT taskdb.set_signing_key(decode(repeat('ab', 32), 'hex'))$$,
                 '42501', 'permission denied for function set_signing_key', 'tap_app cannot replace the signing key');
SELECT throws_ok($$INSERT INTO taskdb.signing_key (key) VALUES (decode(repeat('ab', 32), 'hex'))$$,
                 '42501', 'permission denied for table signing_key', 'tap_app cannot add a signing key');

-- tap_app has written taskdb data in this transaction: publishing is refused
-- (a report states committed data only).  Publishing as an application
-- role, signed with a key it cannot read, is in 06_reports.sql, over
-- committed data.
SELECT taskdb.create_artifact('report.txt', 'tap_app output'::bytea,
                              run_id => '00000000-0000-0000-0001-000000000002') AS app_artifact \gset
SELECT throws_ok($$SELECT taskdb.publish_report('[{"kind": "task_id", "id": "00000000-0000-0000-0000-000000000002"}]')$$,
                 '25001', 'cannot publish a report in a transaction that has written taskdb data',
                 'tap_app cannot publish in the transaction that wrote the data it would claim');
RESET ROLE;
SET ROLE tap_claims;
SELECT is(has_table_privilege('taskdb.signing_key', 'SELECT'), false, 'tap_claims has no SELECT on signing_key');
RESET ROLE;

-- Nothing tap_app was refused left a trace: the same pending counters as before.
SELECT results_eq(
    $$SELECT t.title::text, v.status_derived, v.runs_total, v.runs_running, v.runs_completed, v.runs_failed, v.gates_failed
        FROM taskdb.tasks t JOIN taskdb.task_status_derived v ON v.task_id = t.id ORDER BY 1$$,
    $$VALUES ('app plain', 'in_progress', 2::bigint, 1::bigint, 1::bigint, 0::bigint, 1::bigint),
             ('app via api', 'in_progress', 1::bigint, 1::bigint, 0::bigint, 0::bigint, 0::bigint),
             ('existing', 'blocked', 1::bigint, 0::bigint, 0::bigint, 0::bigint, 0::bigint)$$,
    'the refused statements changed nothing');
SELECT is((SELECT ARRAY[count(*) FILTER (WHERE tgenabled = 'O'), count(*) FILTER (WHERE tgenabled = 'A'), count(*)]::int[]
             FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
            WHERE c.relnamespace = 'taskdb'::regnamespace AND NOT t.tgisinternal),
          ARRAY[24, 7, 31], 'all 31 taskdb triggers are still there and enabled (24 in origin mode, the six append-only guards of the history and eras_changed ALWAYS)');
SELECT is(current_setting('session_replication_role'), 'origin', 'session_replication_role is still origin');

-- The repair function is for its owner: as the superuser it runs and
-- leaves the live view where it was.
SELECT is(taskdb.rebuild_status(), 3::bigint, 'rebuild_status() runs for the superuser and rewrites the three changed rows');
SELECT results_eq(
    $$SELECT t.title::text, v.status_derived, v.runs_total, v.runs_running, v.runs_completed, v.runs_failed, v.gates_failed
        FROM taskdb.tasks t JOIN taskdb.task_status_derived v ON v.task_id = t.id ORDER BY 1$$,
    $$VALUES ('app plain', 'in_progress', 2::bigint, 1::bigint, 1::bigint, 0::bigint, 1::bigint),
             ('app via api', 'in_progress', 1::bigint, 1::bigint, 0::bigint, 0::bigint, 0::bigint),
             ('existing', 'blocked', 1::bigint, 0::bigint, 0::bigint, 0::bigint, 0::bigint)$$,
    'after rebuild_status() the live view is unchanged (stored rows rebuilt, pending deltas voided)');

SELECT * FROM finish();
ROLLBACK;
