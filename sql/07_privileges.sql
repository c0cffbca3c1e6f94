--
-- 07_privileges: an application role with USAGE on the schema, SELECT on
-- everything and INSERT/UPDATE/DELETE on tasks, runs, gates and artifacts can
-- do all its work and the summary stays exact, yet it cannot write
-- task_status, call rebuild_status() or bypass the triggers.
--
\i sql/include/fresh.sql

-- The recomputation, drift check and id helpers every file shares.
\i sql/include/helpers.sql

\set t1 '00000000-0000-0000-0000-000000000001'
\set t2 '00000000-0000-0000-0000-000000000002'

-- The extension grants nothing to PUBLIC on its schema, tables and views
-- (expect no rows).
SELECT 'schema' AS kind, n.nspname AS object, a.privilege_type
  FROM pg_namespace n, aclexplode(n.nspacl) a
 WHERE n.nspname = 'taskdb' AND a.grantee = 0
UNION ALL
SELECT 'relation', c.relname, a.privilege_type
  FROM pg_class c, aclexplode(c.relacl) a
 WHERE c.relnamespace = 'taskdb'::regnamespace AND a.grantee = 0;

-- An application role, granted exactly what README says.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'taskdb_app') THEN
        EXECUTE 'DROP OWNED BY taskdb_app';
        EXECUTE 'DROP ROLE taskdb_app';
    END IF;
END
$$;
CREATE ROLE taskdb_app NOLOGIN;
-- without grants: nothing
SET ROLE taskdb_app;
SELECT count(*) FROM taskdb.tasks;
RESET ROLE;
GRANT USAGE ON SCHEMA taskdb TO taskdb_app;
GRANT SELECT ON ALL TABLES IN SCHEMA taskdb TO taskdb_app;
GRANT INSERT, UPDATE, DELETE ON taskdb.tasks, taskdb.runs, taskdb.gates, taskdb.artifacts TO taskdb_app;
-- (and the test's own helper views)
GRANT SELECT ON recomputed, drift, report TO taskdb_app;

-- Functions of the extension the role may not call: the repair function
-- and the internals.
SELECT p.oid::regprocedure AS not_executable
  FROM pg_proc p
 WHERE p.pronamespace = 'taskdb'::regnamespace
   AND NOT has_function_privilege('taskdb_app', p.oid, 'EXECUTE')
 ORDER BY p.oid::regprocedure::text;

--
-- Everyday work as the application role; the summary is maintained at each commit.
--
SET ROLE taskdb_app;
SELECT current_user;
SELECT taskdb.create_task('app via api', '1.0') AS api_task \gset
INSERT INTO taskdb.tasks (id, title, policy_version) VALUES (:'t1', 'app plain', '1.0'), (:'t2', 'app doomed', '1.0');
SELECT taskdb.create_run(:'api_task', 'running') AS api_run \gset
INSERT INTO taskdb.runs (id, task_id, status)
VALUES (rid(1), :'t1', 'completed'), (rid(2), :'t1', 'queued'), (rid(3), :'t2', 'failed');
INSERT INTO taskdb.gates (id, run_id, name, type, status) VALUES (gid(1), rid(1), 'semgrep', 'security', 'fail');
INSERT INTO taskdb.artifacts (task_id, run_id, path, sha256)
VALUES (:'t1', rid(1), 'out.txt', 'sha256:' || repeat('ab', 32));
-- app via api in_progress | app plain blocked | app doomed failed
:check
SELECT status FROM taskdb.set_run_status(:'api_run', 'completed');
SELECT status FROM taskdb.set_gate_status(gid(1), 'pass');
UPDATE taskdb.runs SET status = 'cancelled' WHERE id = rid(2);
BEGIN;
INSERT INTO taskdb.gates (run_id, name, type, status) VALUES (:'api_run', 'eslint', 'lint', 'fail');
SAVEPOINT s;
DELETE FROM taskdb.runs WHERE task_id = :'t1';
ROLLBACK TO s;
-- the role reads its own pending changes
SELECT taskdb.status_derived(:'api_task') AS api_task_now;
SELECT t.title, p.gates_failed FROM taskdb.pending_deltas() p JOIN taskdb.tasks t ON t.id = p.task_id;
COMMIT;
-- cascades as well: the task, its run and its summary row go
DELETE FROM taskdb.tasks WHERE id = :'t2';
BEGIN ISOLATION LEVEL SERIALIZABLE;
INSERT INTO taskdb.runs (task_id, status) VALUES (:'t1', 'running');
COMMIT;
-- app via api blocked (failed gate) | app plain in_progress (completed, cancelled, running)
:check

--
-- What the role may not do.
--
UPDATE taskdb.task_status SET runs_failed = 0;
\echo :LAST_ERROR_SQLSTATE
INSERT INTO taskdb.task_status (task_id) VALUES (:'t2');
DELETE FROM taskdb.task_status;
TRUNCATE taskdb.task_status;
TRUNCATE taskdb.runs, taskdb.gates, taskdb.artifacts;
SELECT taskdb.rebuild_status();
\echo :LAST_ERROR_SQLSTATE
SELECT taskdb.void_pending_deltas();
ALTER TABLE taskdb.runs DISABLE TRIGGER runs_status_insert;
-- nor spoof the task a gate counts against
INSERT INTO taskdb.gates (run_id, task_id, name, type, status) VALUES (rid(1), :'t2', 'opa', 'policy', 'fail');
RESET ROLE;
-- nothing changed
:check

--
-- A hostile search_path cannot redirect the maintenance: a schema first in
-- the path with its own bigint + operator and its own task_status table.
--
CREATE SCHEMA evil;
CREATE FUNCTION evil.plus(bigint, bigint) RETURNS bigint LANGUAGE sql AS 'SELECT 1000::bigint';
CREATE OPERATOR evil.+ (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = evil.plus);
CREATE TABLE evil.task_status (task_id uuid, runs_total bigint, runs_running bigint, runs_completed bigint,
                               runs_failed bigint, gates_failed bigint, calculated_at timestamptz);
CREATE TABLE evil.runs (LIKE taskdb.runs);
GRANT USAGE ON SCHEMA evil TO taskdb_app;
GRANT ALL ON evil.task_status, evil.runs TO taskdb_app;
SET ROLE taskdb_app;
SET search_path = evil, pg_catalog, public;
SELECT 1::bigint + 1::bigint AS hijacked_plus;
INSERT INTO taskdb.runs (task_id, status) VALUES (:'t1', 'failed');
INSERT INTO taskdb.tasks (title, policy_version) VALUES ('app under evil path', '1.0');
SELECT taskdb.status_derived(:'t1') AS status_fn;
RESET search_path;
RESET ROLE;
SELECT count(*) AS evil_rows FROM evil.task_status;
-- app plain failed (4 runs) | app under evil path pending
:check
DROP SCHEMA evil CASCADE;

-- Clean up the role (roles are cluster-wide).
DROP OWNED BY taskdb_app;
DROP ROLE taskdb_app;
SELECT count(*) AS roles_left FROM pg_roles WHERE rolname = 'taskdb_app';

-- Clean up the helpers (the extension stays for the next file).
DROP VIEW report;
DROP VIEW drift;
DROP VIEW recomputed;
DROP FUNCTION task_of(text);
DROP FUNCTION rid(int);
DROP FUNCTION gid(int);
DROP FUNCTION aid(int);
