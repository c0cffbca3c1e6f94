--
-- 05_events: the event history and artifact hashing.
--   taskdb.events: one event per row inserted, changed or deleted in tasks,
--   runs, gates, artifacts and reports (cascaded deletes included), one per
--   TRUNCATE; old / new status, task_id, the other changed columns as
--   {"column": {"old": ..., "new": ...}} (artifact content only as
--   its digests); no event for an UPDATE that changes nothing; xact_id is the
--   writing top-level transaction, occurred_at the statement's start, shared
--   by every event of the statement; events of a rolled-back savepoint
--   vanish.  The history is append-only: INSERT, UPDATE, DELETE and
--   TRUNCATE of taskdb.history are refused (42501) for the superuser too,
--   also with session_replication_role = replica; the views on it cannot be
--   written at all (55000).
--   taskdb.sha256(): known vectors and agreement with pg_catalog.sha256().
--   taskdb.create_artifact(): hashing, store_content, declared hashes and
--   every refusal with its errcode and message.
--
-- Run with pg_prove; everything happens in one rolled-back transaction.
-- The database may already hold events (they cannot be deleted), so every
-- check reads the view ev (the events written since the last mark) or ev_tx
-- (the events written since this file began).
--
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS taskdb;

SELECT plan(62);

CREATE TEMP TABLE tap_mark (start0 bigint NOT NULL, ev0 bigint NOT NULL) ON COMMIT DROP;
INSERT INTO tap_mark SELECT COALESCE(max(id), 0), COALESCE(max(id), 0) FROM taskdb.events;
CREATE TEMP VIEW ev AS SELECT e.* FROM taskdb.events e, tap_mark m WHERE e.id > m.ev0;
CREATE TEMP VIEW ev_tx AS SELECT e.* FROM taskdb.events e, tap_mark m WHERE e.id > m.start0;

--
-- INSERT: one event per row, with task_id and new_status
--
-- t1 alpha: runs r1 (running), r2 (queued); gate g1 on r1; artifact a1 of r1 (with content).
-- t2 bravo: run r3 (completed); gate g2 on r3 (fail); artifact a2 of the task (hash only).
INSERT INTO taskdb.tasks (id, title, policy_version) VALUES
    ('00000000-0000-0000-0000-000000000001', 'alpha', '1.0'),
    ('00000000-0000-0000-0000-000000000002', 'bravo', '1.0');
SELECT results_eq(
    $$SELECT entity, entity_id, task_id, operation, old_status, new_status, changes FROM ev ORDER BY entity_id$$,
    $$VALUES ('task', '00000000-0000-0000-0000-000000000001'::uuid, '00000000-0000-0000-0000-000000000001'::uuid,
              'insert', NULL::text, 'pending', NULL::jsonb),
             ('task', '00000000-0000-0000-0000-000000000002', '00000000-0000-0000-0000-000000000002',
              'insert', NULL, 'pending', NULL)$$,
    'INSERT of 2 tasks: 2 insert events, task_id = the task''s id, new_status');

UPDATE tap_mark SET ev0 = (SELECT max(id) FROM taskdb.events);
INSERT INTO taskdb.runs (id, task_id, status) VALUES
    ('00000000-0000-0000-0001-000000000001', '00000000-0000-0000-0000-000000000001', 'running'),
    ('00000000-0000-0000-0001-000000000002', '00000000-0000-0000-0000-000000000001', 'queued'),
    ('00000000-0000-0000-0001-000000000003', '00000000-0000-0000-0000-000000000002', 'completed');
SELECT results_eq(
    $$SELECT entity, entity_id, task_id, operation, old_status, new_status, changes FROM ev ORDER BY entity_id$$,
    $$VALUES ('run', '00000000-0000-0000-0001-000000000001'::uuid, '00000000-0000-0000-0000-000000000001'::uuid,
              'insert', NULL::text, 'running', NULL::jsonb),
             ('run', '00000000-0000-0000-0001-000000000002', '00000000-0000-0000-0000-000000000001',
              'insert', NULL, 'queued', NULL),
             ('run', '00000000-0000-0000-0001-000000000003', '00000000-0000-0000-0000-000000000002',
              'insert', NULL, 'completed', NULL)$$,
    'INSERT of 3 runs: 3 insert events with their task and status');
SELECT is((SELECT count(DISTINCT occurred_at)::int FROM ev), 1, 'the 3 events of one INSERT share occurred_at');
SELECT is((SELECT count(DISTINCT id)::int FROM ev), 3, '... and have distinct ids');

UPDATE tap_mark SET ev0 = (SELECT max(id) FROM taskdb.events);
INSERT INTO taskdb.gates (id, run_id, name, type, status) VALUES
    ('00000000-0000-0000-0002-000000000001', '00000000-0000-0000-0001-000000000001', 'eslint', 'lint', 'pending'),
    ('00000000-0000-0000-0002-000000000002', '00000000-0000-0000-0001-000000000003', 'semgrep', 'security', 'fail');
SELECT results_eq(
    $$SELECT entity, entity_id, task_id, operation, old_status, new_status, changes FROM ev ORDER BY entity_id$$,
    $$VALUES ('gate', '00000000-0000-0000-0002-000000000001'::uuid, '00000000-0000-0000-0000-000000000001'::uuid,
              'insert', NULL::text, 'pending', NULL::jsonb),
             ('gate', '00000000-0000-0000-0002-000000000002', '00000000-0000-0000-0000-000000000002',
              'insert', NULL, 'fail', NULL)$$,
    'INSERT of 2 gates: 2 insert events, task_id filled from the run');

UPDATE tap_mark SET ev0 = (SELECT max(id) FROM taskdb.events);
INSERT INTO taskdb.artifacts (id, run_id, task_id, path, sha256, size_bytes, content) VALUES
    ('00000000-0000-0000-0003-000000000001', '00000000-0000-0000-0001-000000000001', NULL, 'alpha.txt',
     taskdb.sha256('alpha output'), 12, 'alpha output'),
    ('00000000-0000-0000-0003-000000000002', NULL, '00000000-0000-0000-0000-000000000002', 'bravo.bin',
     'sha256:' || repeat('ab', 32), NULL, NULL);
SELECT results_eq(
    $$SELECT entity, entity_id, task_id, operation, old_status, new_status, changes FROM ev ORDER BY entity_id$$,
    $$VALUES ('artifact', '00000000-0000-0000-0003-000000000001'::uuid, '00000000-0000-0000-0000-000000000001'::uuid,
              'insert', NULL::text, NULL::text, NULL::jsonb),
             ('artifact', '00000000-0000-0000-0003-000000000002', '00000000-0000-0000-0000-000000000002',
              'insert', NULL, NULL, NULL)$$,
    'INSERT of 2 artifacts: 2 insert events with their task, no status');

SELECT results_eq(
    $$SELECT count(*)::int, count(*) FILTER (WHERE xact_id = pg_current_xact_id())::int FROM ev_tx$$,
    $$VALUES (9, 9)$$,
    'the 9 events written so far carry xact_id = pg_current_xact_id() of this transaction');

--
-- UPDATE: old / new status and the other changed columns
--
UPDATE tap_mark SET ev0 = (SELECT max(id) FROM taskdb.events);
UPDATE taskdb.tasks
   SET status = 'in_progress', title = 'alpha 2', metadata = '{"sprint": 7}', updated_at = updated_at + interval '1 day'
 WHERE id = '00000000-0000-0000-0000-000000000001';
SELECT results_eq(
    $$SELECT entity, entity_id, task_id, operation, old_status, new_status, changes FROM ev$$,
    $$VALUES ('task', '00000000-0000-0000-0000-000000000001'::uuid, '00000000-0000-0000-0000-000000000001'::uuid,
              'update', 'pending', 'in_progress',
              '{"title": {"old": "alpha", "new": "alpha 2"}, "metadata": {"old": null, "new": {"sprint": 7}}}'::jsonb)$$,
    'UPDATE of a task: old and new status; changes holds title and metadata, not status or updated_at');

UPDATE tap_mark SET ev0 = (SELECT max(id) FROM taskdb.events);
UPDATE taskdb.runs SET status = 'completed', metrics = '{"ms": 5}'
 WHERE task_id = '00000000-0000-0000-0000-000000000001';
SELECT results_eq(
    $$SELECT entity, entity_id, task_id, operation, old_status, new_status, changes FROM ev ORDER BY entity_id$$,
    $$VALUES ('run', '00000000-0000-0000-0001-000000000001'::uuid, '00000000-0000-0000-0000-000000000001'::uuid,
              'update', 'running', 'completed', '{"metrics": {"old": null, "new": {"ms": 5}}}'::jsonb),
             ('run', '00000000-0000-0000-0001-000000000002', '00000000-0000-0000-0000-000000000001',
              'update', 'queued', 'completed', '{"metrics": {"old": null, "new": {"ms": 5}}}')$$,
    'UPDATE of 2 runs: one update event each, with its own old status');
SELECT is((SELECT count(DISTINCT occurred_at)::int FROM ev), 1, 'the 2 events of one UPDATE share occurred_at');

UPDATE tap_mark SET ev0 = (SELECT max(id) FROM taskdb.events);
UPDATE taskdb.gates SET status = 'pass', checks = '[{"rule": "no-unused-vars", "ok": true}]'
 WHERE id = '00000000-0000-0000-0002-000000000001';
UPDATE taskdb.gates SET status = 'fail' WHERE id = '00000000-0000-0000-0002-000000000001';
SELECT results_eq(
    $$SELECT entity, entity_id, task_id, operation, old_status, new_status, changes FROM ev ORDER BY id$$,
    $$VALUES ('gate', '00000000-0000-0000-0002-000000000001'::uuid, '00000000-0000-0000-0000-000000000001'::uuid,
              'update', 'pending', 'pass', '{"checks": {"old": null, "new": [{"rule": "no-unused-vars", "ok": true}]}}'::jsonb),
             ('gate', '00000000-0000-0000-0002-000000000001', '00000000-0000-0000-0000-000000000001',
              'update', 'pass', 'fail', NULL)$$,
    'UPDATE of a gate: status and checks; a status-only change has changes NULL');

-- Updates that change nothing write nothing.
UPDATE tap_mark SET ev0 = (SELECT max(id) FROM taskdb.events);
UPDATE taskdb.tasks SET status = status;
UPDATE taskdb.runs SET status = status;
UPDATE taskdb.gates SET status = status;
UPDATE taskdb.artifacts SET path = path, content = content;
UPDATE taskdb.runs SET status = 'failed' WHERE false;
SELECT is_empty($$SELECT * FROM ev$$,
                'UPDATEs that change nothing (SET status = status on every table, SET content = content, no row matched) write no event');
-- In a multi-row UPDATE only the rows that changed have an event.
UPDATE taskdb.runs SET status = 'failed' WHERE id IN ('00000000-0000-0000-0001-000000000002', '00000000-0000-0000-0001-000000000003')
   AND status <> 'failed';
UPDATE taskdb.runs SET status = CASE WHEN id = '00000000-0000-0000-0001-000000000002' THEN 'cancelled' ELSE status END;
-- One statement's events follow the order its scan met the rows (where
-- earlier updates, or space freed by committed deletes, put them), so they
-- are ordered by statement (occurred_at), then by run.
SELECT results_eq(
    $$SELECT entity_id, old_status, new_status FROM ev ORDER BY occurred_at, entity_id$$,
    $$VALUES ('00000000-0000-0000-0001-000000000002'::uuid, 'completed', 'failed'),
             ('00000000-0000-0000-0001-000000000003', 'completed', 'failed'),
             ('00000000-0000-0000-0001-000000000002', 'failed', 'cancelled')$$,
    'an UPDATE touching 3 runs of which 1 changed writes 1 event');

-- Artifacts: content shows only as its SHA-256 and length, its bytes are
-- never copied.
UPDATE tap_mark SET ev0 = (SELECT max(id) FROM taskdb.events);
UPDATE taskdb.artifacts SET media_type = 'text/plain' WHERE id = '00000000-0000-0000-0003-000000000001';
SELECT results_eq(
    $$SELECT entity, entity_id, task_id, operation, old_status, new_status, changes FROM ev$$,
    $$VALUES ('artifact', '00000000-0000-0000-0003-000000000001'::uuid, '00000000-0000-0000-0000-000000000001'::uuid,
              'update', NULL::text, NULL::text, '{"media_type": {"old": null, "new": "text/plain"}}'::jsonb)$$,
    'UPDATE of an artifact''s media_type: changes holds media_type');

UPDATE tap_mark SET ev0 = (SELECT max(id) FROM taskdb.events);
UPDATE taskdb.artifacts SET content = 'alpha output, edited' WHERE id = '00000000-0000-0000-0003-000000000001';
SELECT results_eq(
    $$SELECT entity_id, operation, changes FROM ev$$,
    format($$VALUES ('00000000-0000-0000-0003-000000000001'::uuid, 'update', %L::jsonb)$$,
           jsonb_build_object('content', jsonb_build_object(
               'old_sha256', taskdb.sha256('alpha output'), 'old_bytes', 12,
               'new_sha256', taskdb.sha256('alpha output, edited'), 'new_bytes', 20))),
    'UPDATE of an artifact''s content alone: changes holds the old and new content''s sha256 and length');

UPDATE tap_mark SET ev0 = (SELECT max(id) FROM taskdb.events);
UPDATE taskdb.artifacts SET content = 'alpha output, v3', sha256 = taskdb.sha256('alpha output, v3'), size_bytes = 16
 WHERE id = '00000000-0000-0000-0003-000000000001';
SELECT results_eq(
    $$SELECT entity_id, operation, changes FROM ev$$,
    format($$VALUES ('00000000-0000-0000-0003-000000000001'::uuid, 'update', %L::jsonb)$$,
           jsonb_build_object('sha256', jsonb_build_object('old', taskdb.sha256('alpha output'),
                                                           'new', taskdb.sha256('alpha output, v3')),
                              'size_bytes', '{"old": 12, "new": 16}'::jsonb,
                              'content', jsonb_build_object(
                                  'old_sha256', taskdb.sha256('alpha output, edited'), 'old_bytes', 20,
                                  'new_sha256', taskdb.sha256('alpha output, v3'), 'new_bytes', 16))),
    'UPDATE of content, sha256 and size_bytes: changes holds sha256 and size_bytes, content as its digests');
SELECT is((SELECT count(*)::int FROM ev_tx
            WHERE changes::text LIKE '%' || encode('alpha output', 'hex') || '%'
               OR changes::text LIKE '%alpha output%'),
          0, 'no event holds the bytes of an artifact''s content, old or new');

--
-- Savepoints: events are written in the top-level transaction's name, and
-- a rolled-back savepoint takes its events with it
--
UPDATE tap_mark SET ev0 = (SELECT max(id) FROM taskdb.events);
SAVEPOINT kept;
INSERT INTO taskdb.tasks (id, title, policy_version) VALUES ('00000000-0000-0000-0000-000000000003', 'charlie', '1.0');
RELEASE SAVEPOINT kept;
SELECT results_eq(
    $$SELECT entity_id, operation, xact_id = pg_current_xact_id() FROM ev$$,
    $$VALUES ('00000000-0000-0000-0000-000000000003'::uuid, 'insert', true)$$,
    'an event written in a released savepoint carries the top-level xact_id');

UPDATE tap_mark SET ev0 = (SELECT max(id) FROM taskdb.events);
SAVEPOINT doomed;
INSERT INTO taskdb.tasks (id, title, policy_version) VALUES ('00000000-0000-0000-0000-000000000004', 'delta', '1.0');
INSERT INTO taskdb.runs (task_id, status) VALUES ('00000000-0000-0000-0000-000000000004', 'running');
UPDATE taskdb.tasks SET status = 'completed' WHERE id = '00000000-0000-0000-0000-000000000003';
SELECT count(*) AS in_savepoint, bool_and(xact_id = pg_current_xact_id()) AS top_level_in_savepoint FROM ev \gset
ROLLBACK TO SAVEPOINT doomed;
SELECT is(:in_savepoint::int, 3, 'inside the savepoint its 3 events were visible');
SELECT is(:'top_level_in_savepoint'::boolean, true, '... with the top-level xact_id');
SELECT is_empty($$SELECT * FROM ev$$, 'after ROLLBACK TO SAVEPOINT its events are gone');
SELECT is((SELECT status::text FROM taskdb.tasks WHERE id = '00000000-0000-0000-0000-000000000003'), 'pending',
          '... together with its changes');

--
-- occurred_at is the start of the top-level statement, whatever runs inside it
--
UPDATE tap_mark SET ev0 = (SELECT max(id) FROM taskdb.events);
CREATE TEMP TABLE tap_stamp (at timestamptz) ON COMMIT DROP;
DO $$
BEGIN
    PERFORM pg_sleep(0.01);
    INSERT INTO taskdb.runs (task_id, status) VALUES
        ('00000000-0000-0000-0000-000000000003', 'queued'), ('00000000-0000-0000-0000-000000000003', 'queued');
    PERFORM pg_sleep(0.01);
    UPDATE taskdb.tasks SET status = 'in_progress' WHERE id = '00000000-0000-0000-0000-000000000003';
    INSERT INTO tap_stamp VALUES (statement_timestamp());
END
$$;
SELECT is((SELECT array_agg(DISTINCT occurred_at) FROM ev), ARRAY[(SELECT at FROM tap_stamp)],
          'the 3 events written by the statements of one DO block share its statement_timestamp()');
SELECT isnt((SELECT at FROM tap_stamp), now(), 'occurred_at is the statement''s start, not the transaction''s');

--
-- DELETE: one event per deleted row, cascades included; the history stays
--
UPDATE tap_mark SET ev0 = (SELECT max(id) FROM taskdb.events);
DELETE FROM taskdb.gates WHERE id = '00000000-0000-0000-0002-000000000002';
DELETE FROM taskdb.artifacts WHERE id = '00000000-0000-0000-0003-000000000002';
SELECT results_eq(
    $$SELECT entity, entity_id, task_id, operation, old_status, new_status, changes FROM ev ORDER BY id$$,
    $$VALUES ('gate', '00000000-0000-0000-0002-000000000002'::uuid, '00000000-0000-0000-0000-000000000002'::uuid,
              'delete', 'fail', NULL::text, NULL::jsonb),
             ('artifact', '00000000-0000-0000-0003-000000000002', '00000000-0000-0000-0000-000000000002',
              'delete', NULL, NULL, NULL)$$,
    'DELETE of a gate and an artifact: delete events with old_status (gates) and task_id');

UPDATE tap_mark SET ev0 = (SELECT max(id) FROM taskdb.events);
DELETE FROM taskdb.tasks WHERE id = '00000000-0000-0000-0000-000000000001';
SELECT results_eq(
    $$SELECT entity, entity_id, task_id, operation, old_status, new_status FROM ev ORDER BY entity, entity_id$$,
    $$VALUES ('artifact', '00000000-0000-0000-0003-000000000001'::uuid, '00000000-0000-0000-0000-000000000001'::uuid,
              'delete', NULL::text, NULL::text),
             ('gate', '00000000-0000-0000-0002-000000000001', '00000000-0000-0000-0000-000000000001',
              'delete', 'fail', NULL),
             ('run', '00000000-0000-0000-0001-000000000001', '00000000-0000-0000-0000-000000000001',
              'delete', 'completed', NULL),
             ('run', '00000000-0000-0000-0001-000000000002', '00000000-0000-0000-0000-000000000001',
              'delete', 'cancelled', NULL),
             ('task', '00000000-0000-0000-0000-000000000001', '00000000-0000-0000-0000-000000000001',
              'delete', 'in_progress', NULL)$$,
    'DELETE of a task: a delete event for it and for every run, gate and artifact the cascade removed');
SELECT is((SELECT count(DISTINCT occurred_at)::int FROM ev), 1, 'the cascaded delete events share occurred_at');
SELECT results_eq(
    $$SELECT entity, operation, count(*)::int FROM ev_tx
       WHERE task_id = '00000000-0000-0000-0000-000000000001' GROUP BY 1, 2 ORDER BY 1, 2$$,
    $$VALUES ('artifact', 'delete', 1), ('artifact', 'insert', 1), ('artifact', 'update', 3),
             ('gate', 'delete', 1), ('gate', 'insert', 1), ('gate', 'update', 2),
             ('run', 'delete', 2), ('run', 'insert', 2), ('run', 'update', 4),
             ('task', 'delete', 1), ('task', 'insert', 1), ('task', 'update', 1)$$,
    'the deleted task''s whole history is still there (events have no foreign key)');

-- Reports: their insert and delete events are checked in 06_reports.sql,
-- which publishes over committed data (this transaction has written).

--
-- taskdb.sha256()
--
SELECT is(taskdb.sha256(''::bytea), 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
          'sha256 of the empty input');
SELECT is(taskdb.sha256('abc'::bytea), 'sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
          'sha256 of abc');
SELECT is(taskdb.sha256('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'::bytea),
          'sha256:248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
          'sha256 of the 448-bit test message');
SELECT is(taskdb.sha256(NULL), NULL, 'sha256 of NULL is NULL (STRICT)');
SELECT is(ARRAY(SELECT n FROM (VALUES (0), (1), (55), (56), (63), (64), (65), (1000), (3000000)) v(n)
                 WHERE taskdb.sha256(convert_to(repeat('x', n), 'UTF8'))
                       IS DISTINCT FROM 'sha256:' || encode(pg_catalog.sha256(convert_to(repeat('x', n), 'UTF8')), 'hex')),
          '{}'::int[], 'taskdb.sha256 agrees with pg_catalog.sha256 at block boundaries and on a 3 MB (toasted) value');

--
-- taskdb.create_artifact()
--
UPDATE tap_mark SET ev0 = (SELECT max(id) FROM taskdb.events);
SELECT taskdb.create_artifact('report.txt', 'abc'::bytea, run_id => '00000000-0000-0000-0001-000000000003',
                              media_type => 'text/plain') AS art1 \gset
SELECT results_eq(
    format($$SELECT task_id, run_id, path, sha256, size_bytes, media_type, content FROM taskdb.artifacts WHERE id = %L$$, :'art1'),
    $$VALUES ('00000000-0000-0000-0000-000000000002'::uuid, '00000000-0000-0000-0001-000000000003'::uuid,
              'report.txt', 'sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
              3::bigint, 'text/plain', 'abc'::bytea)$$,
    'create_artifact with content: hashes it, records its size, keeps it, fills task_id from the run');
SELECT results_eq(
    $$SELECT entity, entity_id, task_id, operation FROM ev$$,
    format($$VALUES ('artifact', %L::uuid, '00000000-0000-0000-0000-000000000002'::uuid, 'insert')$$, :'art1'),
    'create_artifact writes one artifact insert event');
SELECT taskdb.create_artifact('big.bin', '\x00ff00ff'::bytea, run_id => '00000000-0000-0000-0001-000000000003',
                              store_content => false) AS art2 \gset
SELECT results_eq(
    format($$SELECT sha256, size_bytes, content FROM taskdb.artifacts WHERE id = %L$$, :'art2'),
    $$VALUES ('sha256:' || encode(pg_catalog.sha256('\x00ff00ff'::bytea), 'hex'), 4::bigint, NULL::bytea)$$,
    'store_content => false: hash and size recorded, content not kept');
SELECT taskdb.create_artifact('declared.bin', sha256 => 'sha256:' || repeat('0f', 32),
                              task_id => '00000000-0000-0000-0000-000000000002') AS art3 \gset
SELECT results_eq(
    format($$SELECT task_id, run_id, sha256, size_bytes, content FROM taskdb.artifacts WHERE id = %L$$, :'art3'),
    $$VALUES ('00000000-0000-0000-0000-000000000002'::uuid, NULL::uuid, 'sha256:' || repeat('0f', 32), NULL::bigint, NULL::bytea)$$,
    'a declared hash without content is recorded as declared, for a task without a run');
SELECT isnt(taskdb.create_artifact('agree.txt', 'abc'::bytea,
                                   sha256 => 'sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
                                   run_id => '00000000-0000-0000-0001-000000000003'), NULL,
            'content with the matching declared hash is accepted');
SELECT throws_ok($$SELECT taskdb.create_artifact('p.txt', 'abc'::bytea, sha256 => 'sha256:' || repeat('ab', 32),
                                                 run_id => '00000000-0000-0000-0001-000000000003')$$,
                 '22000', 'declared hash sha256:' || repeat('ab', 32) || ' does not match the content of artifact "p.txt"',
                 'a declared hash that differs from the content''s is refused (data_exception)');
SELECT throws_ok($$SELECT taskdb.create_artifact('p.txt', sha256 => 'SHA256:' || repeat('ab', 32),
                                                 run_id => '00000000-0000-0000-0001-000000000003')$$,
                 '23514', 'invalid value "SHA256:' || repeat('ab', 32) || '" for sha256',
                 'a malformed declared hash is refused (check_violation)');
SELECT throws_ok($$SELECT taskdb.create_artifact('p.txt', 'abc'::bytea, sha256 => 'sha256:abc',
                                                 run_id => '00000000-0000-0000-0001-000000000003')$$,
                 '23514', 'invalid value "sha256:abc" for sha256',
                 'a short declared hash is refused before comparing it with the content');
SELECT throws_ok($$SELECT taskdb.create_artifact('p.txt', 'abc'::bytea)$$,
                 '22004', 'artifact "p.txt" needs a run_id or a task_id',
                 'an artifact without run_id and task_id is refused');
SELECT throws_ok($$SELECT taskdb.create_artifact('p.txt', run_id => '00000000-0000-0000-0001-000000000003')$$,
                 '22004', 'artifact "p.txt" needs content or a declared sha256',
                 'an artifact without content and hash is refused');
SELECT throws_ok($$SELECT taskdb.create_artifact(NULL, 'abc'::bytea, run_id => '00000000-0000-0000-0001-000000000003')$$,
                 '22004', 'artifact path must not be NULL', 'an artifact without path is refused');
SELECT throws_ok($$SELECT taskdb.create_artifact('p.txt', 'abc'::bytea, run_id => '00000000-0000-0000-0001-000000000003',
                                                 task_id => '00000000-0000-0000-0000-000000000003')$$,
                 '23503', 'artifacts.task_id 00000000-0000-0000-0000-000000000003 does not match task 00000000-0000-0000-0000-000000000002 of run 00000000-0000-0000-0001-000000000003',
                 'a task_id that is not the run''s task is refused');
SELECT is((SELECT count(*)::int FROM ev), 4, 'only the 4 accepted artifacts wrote events');

--
-- TRUNCATE: one event per truncated table, no entity_id, no task_id
--
UPDATE tap_mark SET ev0 = (SELECT max(id) FROM taskdb.events);
TRUNCATE taskdb.artifacts;
SELECT results_eq(
    $$SELECT entity, entity_id, task_id, operation, old_status, new_status, changes FROM ev$$,
    $$VALUES ('artifact', NULL::uuid, NULL::uuid, 'truncate', NULL::text, NULL::text, NULL::jsonb)$$,
    'TRUNCATE artifacts: one truncate event with NULL entity_id');
UPDATE tap_mark SET ev0 = (SELECT max(id) FROM taskdb.events);
SET LOCAL client_min_messages = warning;
TRUNCATE taskdb.tasks CASCADE;
RESET client_min_messages;
SELECT results_eq(
    $$SELECT entity, entity_id, operation FROM ev ORDER BY entity$$,
    $$VALUES ('artifact', NULL::uuid, 'truncate'), ('gate', NULL, 'truncate'), ('run', NULL, 'truncate'),
             ('task', NULL, 'truncate')$$,
    'TRUNCATE tasks CASCADE: one truncate event for each truncated table');

--
-- Append-only: refused for the superuser, also in replica mode
--
SELECT ok((SELECT rolsuper FROM pg_roles WHERE rolname = current_user), 'these refusals are tried as a superuser');
SELECT count(*) AS events_before FROM taskdb.events \gset
SELECT throws_ok($$UPDATE taskdb.events SET new_status = 'completed'$$,
                 '55000', 'cannot update view "events"', 'UPDATE of events is refused');
SELECT throws_ok($$DELETE FROM taskdb.events$$,
                 '55000', 'cannot delete from view "events"', 'DELETE from events is refused (a view that cannot be written)');
SELECT throws_ok($$DELETE FROM taskdb.history WHERE false$$,
                 '42501', 'DELETE on taskdb.history is not allowed', 'a DELETE of the history matching no row is refused too');
SELECT throws_ok($$TRUNCATE taskdb.history$$,
                 '42501', 'TRUNCATE on taskdb.history is not allowed', 'TRUNCATE of the history is refused');
SELECT throws_ok($$INSERT INTO taskdb.events (entity, entity_id, operation, new_status)
                   VALUES ('run', '00000000-0000-0000-0001-000000000001', 'update', 'completed')$$,
                 '55000', 'cannot insert into view "events"', 'a forged event is refused (only taskdb writes the history)');
SELECT throws_ok($$INSERT INTO taskdb.history (occurred_at, xact_id, id, era, entity, operation, entity_ids)
                   VALUES (now(), '1', 1, 1, 'r', 'u', ARRAY['00000000-0000-0000-0001-000000000001'::uuid])$$,
                 '42501', 'INSERT on taskdb.history is not allowed', 'a forged history row is refused');
SET session_replication_role = replica;
SELECT throws_ok($$INSERT INTO taskdb.events (entity, operation) VALUES ('run', 'delete')$$,
                 '55000', 'cannot insert into view "events"', 'a forged event is refused with session_replication_role = replica');
SELECT throws_ok($$INSERT INTO taskdb.history (occurred_at, xact_id, id, era, entity, operation, entity_ids)
                   VALUES (now(), '1', 1, 1, 'r', 'd', ARRAY['00000000-0000-0000-0001-000000000001'::uuid])$$,
                 '42501', 'INSERT on taskdb.history is not allowed', 'a forged history row is refused with session_replication_role = replica');
SELECT throws_ok($$UPDATE taskdb.events SET new_status = 'completed'$$,
                 '55000', 'cannot update view "events"', 'UPDATE of events is refused with session_replication_role = replica');
SELECT throws_ok($$UPDATE taskdb.history SET era = 2$$,
                 '42501', 'UPDATE on taskdb.history is not allowed', 'UPDATE of the history is refused with session_replication_role = replica');
SELECT throws_ok($$DELETE FROM taskdb.events$$,
                 '55000', 'cannot delete from view "events"', 'DELETE from events is refused with session_replication_role = replica');
SELECT throws_ok($$TRUNCATE taskdb.history$$,
                 '42501', 'TRUNCATE on taskdb.history is not allowed', 'TRUNCATE of the history is refused with session_replication_role = replica');
RESET session_replication_role;
SELECT is((SELECT count(*) FROM taskdb.events), :events_before::bigint, 'the history is unchanged');

SELECT * FROM finish();
ROLLBACK;
