--
-- 06_reports: publishing as application roles, over committed data.
--   A report states committed data only, so publish_report refuses a
--   transaction that has written taskdb data; this file therefore commits
--   its fixture first (and removes it at the end), then runs its checks in
--   one rolled-back transaction:
--   - a role with the README's grants publishes a report signed with a key
--     it cannot read, stored in reports it cannot write, and verifies it;
--   - a role with no privilege on the key, reports or stamp sequence too;
--   - publishing writes one report insert event, deleting a report one
--     delete event;
--   - a write rolled back to a savepoint does not count; publishing twice
--     works; a write after publishing counts as after the snapshot; a
--     write before publishing makes it refuse (25001).
--
\set ON_ERROR_STOP on
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS taskdb;

-- The committed fixture (leftovers of an interrupted run removed first).
DELETE FROM taskdb.tasks WHERE id = '06000000-0000-4000-8000-000000000001';
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'tap_pub_app') THEN
        DROP OWNED BY tap_pub_app; DROP ROLE tap_pub_app;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'tap_pub_claims') THEN
        DROP OWNED BY tap_pub_claims; DROP ROLE tap_pub_claims;
    END IF;
END $$;
CREATE ROLE tap_pub_app NOLOGIN;
GRANT USAGE ON SCHEMA taskdb TO tap_pub_app;
GRANT SELECT ON ALL TABLES IN SCHEMA taskdb TO tap_pub_app;
GRANT SELECT ON ALL SEQUENCES IN SCHEMA taskdb TO tap_pub_app;
GRANT INSERT, UPDATE, DELETE ON taskdb.tasks, taskdb.runs, taskdb.gates, taskdb.artifacts TO tap_pub_app;
CREATE ROLE tap_pub_claims NOLOGIN;
GRANT USAGE ON SCHEMA taskdb TO tap_pub_claims;
GRANT SELECT ON taskdb.tasks, taskdb.runs, taskdb.gates, taskdb.artifacts, taskdb.task_status, taskdb.events,
    taskdb.event_history, taskdb.history, taskdb.history_archive TO tap_pub_claims;
INSERT INTO taskdb.tasks (id, title, policy_version)
VALUES ('06000000-0000-4000-8000-000000000001', 'reported', '1');
INSERT INTO taskdb.runs (id, task_id, status)
VALUES ('06000000-0000-4000-8000-0000000000a1', '06000000-0000-4000-8000-000000000001', 'completed');
INSERT INTO taskdb.gates (id, run_id, name, type, status)
VALUES ('06000000-0000-4000-8000-0000000000b1', '06000000-0000-4000-8000-0000000000a1', 'semgrep', 'security', 'fail');
SELECT taskdb.create_artifact('report.txt', 'tap_pub_app output'::bytea,
                              run_id => '06000000-0000-4000-8000-0000000000a1') AS artifact \gset
RESET client_min_messages;

BEGIN;
SELECT plan(16);
CREATE TEMP TABLE tap_mark (ev0 bigint NOT NULL) ON COMMIT DROP;
INSERT INTO tap_mark SELECT COALESCE(max(id), 0) FROM taskdb.events;
CREATE TEMP VIEW ev AS SELECT e.* FROM taskdb.events e, tap_mark m WHERE e.id > m.ev0;
GRANT SELECT ON ev TO tap_pub_app, tap_pub_claims;
GRANT SELECT ON tap_mark TO tap_pub_app, tap_pub_claims;

-- A role with no privilege on signing_key, reports or report_stamp_seq
-- publishes: the key, the stamp and the report are handled as their owner.
SET ROLE tap_pub_claims;
SELECT taskdb.publish_report('[{"kind": "task_id", "id": "06000000-0000-4000-8000-000000000001", "expected": "pending"}]')
    AS claims_report \gset
SELECT matches(:'claims_report'::jsonb ->> 'signature', '^hmac-sha256:[0-9a-f]{64}$',
               'tap_pub_claims publishes a signed report without any privilege on the key');
SELECT results_eq(
    format($$SELECT kind, status FROM taskdb.verify_provenance(%L) ORDER BY kind$$, :'claims_report'),
    $$VALUES ('signature', 'PASS'), ('task_id', 'PASS')$$,
    'tap_pub_claims''s report verifies (the key and the reports are read as their owner)');
RESET ROLE;

-- The README's application role: every kind of claim.
UPDATE tap_mark SET ev0 = (SELECT max(id) FROM taskdb.events);
SET ROLE tap_pub_app;
SELECT taskdb.publish_report(jsonb_build_array(
           jsonb_build_object('kind', 'task_id', 'id', '06000000-0000-4000-8000-000000000001', 'expected', 'pending'),
           jsonb_build_object('kind', 'run_id', 'id', '06000000-0000-4000-8000-0000000000a1', 'expected', 'completed'),
           jsonb_build_object('kind', 'gate_id', 'id', '06000000-0000-4000-8000-0000000000b1', 'expected', 'fail'),
           jsonb_build_object('kind', 'status_derived', 'id', '06000000-0000-4000-8000-000000000001',
                              'expected', 'blocked'),
           jsonb_build_object('kind', 'artifact_hash', 'id', :'artifact',
                              'hash', taskdb.sha256('tap_pub_app output'::bytea)))) AS app_report \gset
SELECT matches(:'app_report'::jsonb ->> 'signature', '^hmac-sha256:[0-9a-f]{64}$',
               'tap_pub_app''s report is signed: hmac-sha256: and 64 lower-case hex digits');
SELECT is(:'app_report'::jsonb ->> 'published_by', 'tap_pub_app', 'the report names tap_pub_app as its publisher');
SELECT results_eq(
    format($$SELECT kind, status, mismatch FROM taskdb.verify_provenance(%L) ORDER BY kind$$, :'app_report'),
    $$VALUES ('artifact_hash', 'PASS', NULL::text), ('gate_id', 'PASS', NULL), ('run_id', 'PASS', NULL),
             ('signature', 'PASS', NULL), ('status_derived', 'PASS', NULL), ('task_id', 'PASS', NULL)$$,
    'tap_pub_app verifies its report: every claim and the signature PASS');
SELECT is((SELECT count(*)::int FROM taskdb.debug_provenance(:'app_report') l WHERE l LIKE '[FAIL]%'), 0,
          'debug_provenance shows no FAIL line to tap_pub_app');
SELECT results_eq(
    format($$SELECT published_by, claims_count, report = %L::jsonb FROM taskdb.reports WHERE id = %L$$,
           :'app_report', :'app_report'::jsonb ->> 'report_id'),
    $$VALUES ('tap_pub_app', 5, true)$$,
    'the report is stored exactly as returned, with its publisher and claim count');
SELECT results_eq(
    $$SELECT entity, entity_id, task_id, operation, old_status, new_status, changes FROM ev$$,
    format($$VALUES ('report', %L::uuid, NULL::uuid, 'insert', NULL::text, NULL::text, NULL::jsonb)$$,
           :'app_report'::jsonb ->> 'report_id'),
    'publishing wrote one report insert event (task_id NULL), nothing else');
RESET ROLE;

-- Deleting a report (the owner can) is recorded too, and the report no
-- longer verifies.
UPDATE tap_mark SET ev0 = (SELECT max(id) FROM taskdb.events);
DELETE FROM taskdb.reports WHERE id = (:'app_report'::jsonb ->> 'report_id')::uuid;
SELECT results_eq(
    $$SELECT entity, entity_id, operation FROM ev$$,
    format($$VALUES ('report', %L::uuid, 'delete')$$, :'app_report'::jsonb ->> 'report_id'),
    'deleting a report writes a report delete event');
SELECT results_eq(
    format($$SELECT status, actual FROM taskdb.verify_provenance(%L) WHERE kind = 'signature'$$, :'app_report'),
    $$VALUES ('FAIL', 'valid, not recorded')$$,
    'a deleted report fails verification although its signature is valid');

-- Committed data only.
SET ROLE tap_pub_app;
SAVEPOINT s;
UPDATE taskdb.runs SET status = 'failed' WHERE id = '06000000-0000-4000-8000-0000000000a1';
ROLLBACK TO s;
SELECT lives_ok($$SELECT taskdb.publish_report('[{"kind": "run_id", "id": "06000000-0000-4000-8000-0000000000a1"}]')$$,
                'a write rolled back to its savepoint does not count: publishing works');
SELECT taskdb.publish_report('[{"kind": "run_id", "id": "06000000-0000-4000-8000-0000000000a1", "expected": "completed"}]')
    AS before_write \gset
SELECT is(:'before_write'::jsonb->'claims_validated'->0->>'at_snapshot', 'completed',
          'a second report in the same transaction reads the committed value');
UPDATE taskdb.runs SET status = 'failed' WHERE id = '06000000-0000-4000-8000-0000000000a1';
SELECT results_eq(
    format($$SELECT status, mismatch FROM taskdb.verify_provenance(%L) WHERE kind = 'run_id'$$, :'before_write'),
    $$VALUES ('FAIL', 'changed after snapshot: completed -> failed')$$,
    'the publishing transaction''s own later write counts as after the snapshot');
SELECT ok(NOT pg_visible_in_snapshot(pg_current_xact_id(), (:'before_write'::jsonb->>'snapshot')::pg_snapshot),
          'the recorded snapshot counts the publishing transaction as in progress');
SELECT throws_ok($$SELECT taskdb.publish_report('[{"kind": "run_id", "id": "06000000-0000-4000-8000-0000000000a1"}]')$$,
                 '25001', 'cannot publish a report in a transaction that has written taskdb data',
                 'after its own write, the transaction cannot publish');
SELECT is((SELECT count(*)::int FROM taskdb.reports r
            WHERE r.report->>'published_by' = 'tap_pub_app'), 2,
          'the refused publication stored nothing');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;

-- The fixture goes; its events stay (the history is append-only).
SET client_min_messages = warning;
DELETE FROM taskdb.tasks WHERE id = '06000000-0000-4000-8000-000000000001';
DROP OWNED BY tap_pub_app;
DROP ROLE tap_pub_app;
DROP OWNED BY tap_pub_claims;
DROP ROLE tap_pub_claims;
