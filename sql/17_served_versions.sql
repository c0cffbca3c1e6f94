--
-- 17_served_versions: the library serves the SQL of every taskdb version it
-- knows.  A database created as 1.0 keeps working with this library through
-- every function and trigger of 1.0 until ALTER EXTENSION taskdb UPDATE; a
-- version the library does not know is refused with a hint.
--
SET client_min_messages TO warning;
DROP EXTENSION IF EXISTS taskdb CASCADE;
RESET client_min_messages;
CREATE EXTENSION taskdb VERSION '1.0';
\set VERBOSITY default
\set SHOW_CONTEXT never
SELECT extversion FROM pg_extension WHERE extname = 'taskdb';
-- Calls of every function are counted, to show below that each one ran.
SET track_functions = 'all';

-- The API and the triggers behind it.
SELECT taskdb.create_task('one', policy_version => '1.0.0', priority => 'high') AS t1 \gset
SELECT taskdb.create_task('two', policy_version => '1.0.0') AS t2 \gset
SELECT taskdb.create_run(:'t1', status => 'running') AS r1 \gset
SELECT taskdb.create_run(:'t2') AS r2 \gset
SELECT taskdb.status_derived(:'t1'), taskdb.status_derived(:'t2');
SELECT status FROM taskdb.set_run_status(:'r1', 'completed');
SELECT taskdb.create_gate(:'r1', 'semgrep', 'security', status => 'pass') AS g1 \gset
SELECT status FROM taskdb.set_gate_status(:'g1', 'fail');
SELECT taskdb.status_derived(:'t1');
SELECT taskdb.create_artifact('out/log.txt', content => 'hello', run_id => :'r1') AS a1 \gset
SELECT sha256 = taskdb.sha256('hello') AS same_hash FROM taskdb.artifacts WHERE id = :'a1';
-- Pending deltas inside a transaction, then its commit applies them.
BEGIN;
INSERT INTO taskdb.runs (task_id, status) VALUES (:'t2', 'failed');
SELECT runs_total, runs_failed FROM taskdb.pending_deltas() WHERE task_id = :'t2';
SELECT taskdb.status_derived(:'t2');
COMMIT;
-- UPDATE, DELETE, COPY and TRUNCATE paths.
UPDATE taskdb.tasks SET status = 'in_progress' WHERE id = :'t2';
DELETE FROM taskdb.runs WHERE id = :'r2';
INSERT INTO taskdb.tasks (id, title, policy_version)
VALUES ('00000000-0000-4000-8000-000000000017', 'copied', '1.0.0');
COPY taskdb.runs (task_id, status) FROM stdin;
00000000-0000-4000-8000-000000000017	queued
\.
SELECT task_id = :'t2' AS t2, status_derived, runs_total
  FROM taskdb.task_status_derived ORDER BY 1, 2;
SELECT entity, count(*) FROM taskdb.system_stats() GROUP BY entity ORDER BY entity;
SELECT taskdb.rebuild_status() AS changed;
SELECT taskdb.derive_status(1, 0, 1, 0, 0);

-- Refusals: immutable keys, allowed values, hashes, the history (their
-- messages name uuids; the SQLSTATE is enough here).
\set VERBOSITY sqlstate
UPDATE taskdb.runs SET task_id = :'t2' WHERE id = :'r1';
INSERT INTO taskdb.runs (task_id, status) VALUES (:'t1', 'bogus');
INSERT INTO taskdb.artifacts (task_id, path, sha256) VALUES (:'t1', 'x', 'md5:00');
DELETE FROM taskdb.events;
INSERT INTO taskdb.gates (run_id, task_id, name, type) VALUES (:'r1', :'t2', 'lint', 'lint');
\set VERBOSITY default

-- Provenance on 1.0: stamps come from report_clock.
SELECT taskdb.set_signing_key(decode(repeat('ab', 32), 'hex'));
SELECT taskdb.publish_report(jsonb_build_array(
         jsonb_build_object('kind', 'task_id', 'id', :'t1'),
         jsonb_build_object('kind', 'status_derived', 'id', :'t1'),
         jsonb_build_object('kind', 'artifact_hash', 'id', :'a1'))) AS report \gset
SELECT count(*) AS stamps FROM taskdb.report_clock;
SELECT kind, status FROM taskdb.verify_provenance(:'report') ORDER BY kind;
SELECT count(*) FILTER (WHERE l LIKE '[PASS]%') AS pass_lines
  FROM taskdb.debug_provenance(:'report', true) l;
SELECT taskdb.report_signature_valid(:'report');

-- History, archival, doctor, metrics, the export hash, the load generator.
SELECT count(*) > 0 AS has_events FROM taskdb.event_history;
CALL taskdb.archive_events('0 seconds', 1000, NULL);
SELECT count(*) > 0 AS archived FROM taskdb.events_archive;
SELECT check_name, status FROM taskdb.doctor() WHERE check_name = 'system_health';
SELECT taskdb.metrics_reset();
SELECT taskdb.metrics() LIKE '%taskdb_build_info%' AS metrics;
SELECT count(*) > 0 AS samples FROM taskdb.stat;
SELECT count IS NOT NULL AS histogram FROM taskdb.metrics_histogram('taskdb_status_derived_read_latency_ms');
SELECT taskdb.export_hash() ~ '^sha256:[0-9a-f]{64}$' AS export_hash;
SET client_min_messages TO warning;  -- its progress notices have timings
SELECT tasks_created, runs_created FROM taskdb.generate_synthetic(3, 2, 1, 1, seed => 7);
RESET client_min_messages;
TRUNCATE taskdb.artifacts, taskdb.gates, taskdb.runs;
SELECT count(*) AS summary_rows, sum(runs_total) AS runs FROM taskdb.task_status;

-- Every function of 1.0's SQL ran (those listed here did not), but for
-- refuse_key_change: it only ever raises (above), and a call that raises
-- is not counted.
SELECT pg_stat_force_next_flush();
SELECT p.proname
  FROM pg_proc p
 WHERE p.pronamespace = 'taskdb'::regnamespace
   AND p.proname <> 'refuse_key_change'
   AND NOT EXISTS (SELECT 1 FROM pg_stat_user_functions s WHERE s.funcid = p.oid AND s.calls > 0)
 ORDER BY 1;
RESET track_functions;

-- Updated, the same database goes on: the report published on 1.0 verifies.
ALTER EXTENSION taskdb UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'taskdb';
SELECT kind, status FROM taskdb.verify_provenance(:'report') ORDER BY kind;
SELECT taskdb.publish_report(jsonb_build_array(
         jsonb_build_object('kind', 'task_id', 'id', :'t1'))) AS report11 \gset
SELECT kind, status FROM taskdb.verify_provenance(:'report11') ORDER BY kind;

-- A version this library does not know, older or newer: every path says so.
UPDATE pg_extension SET extversion = '0.9' WHERE extname = 'taskdb';
SELECT taskdb.status_derived(:'t1');
SELECT taskdb.create_run(:'t1');
UPDATE pg_extension SET extversion = '1.2' WHERE extname = 'taskdb';
SELECT * FROM taskdb.verify_provenance(:'report');
SELECT taskdb.export_hash();
SELECT count(*) FROM taskdb.doctor();
-- Functions that touch no table still work.
SELECT taskdb.derive_status(0, 0, 0, 0, 0);
UPDATE pg_extension SET extversion = '1.1' WHERE extname = 'taskdb';
SELECT taskdb.status_derived(:'t1');
