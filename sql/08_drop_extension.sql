--
-- 08_drop_extension: what pg_dump keeps, and DROP EXTENSION taskdb removes
-- everything it created, after which CREATE EXTENSION works again, in the
-- same session (cached plans must not point at the dropped tables) and even
-- in the same transaction.
--
SET client_min_messages TO warning;
DROP EXTENSION IF EXISTS taskdb CASCADE;
DROP FUNCTION IF EXISTS drift();
DROP FUNCTION IF EXISTS report();
RESET client_min_messages;
CREATE EXTENSION taskdb;
\set VERBOSITY default
\set SHOW_CONTEXT never

-- Test helpers as functions (their bodies are not tied to the extension's
-- tables, so they outlive DROP EXTENSION): the plan's recomputation compared
-- with the summary both ways, and the summary by title.
CREATE FUNCTION drift(OUT stored_not_recomputed bigint, OUT recomputed_not_stored bigint)
LANGUAGE sql AS $$
WITH recomputed AS (
    SELECT t.id AS task_id,
           CASE
               WHEN EXISTS (SELECT 1 FROM taskdb.runs r WHERE r.task_id = t.id AND r.status = 'failed') THEN 'failed'
               WHEN NOT EXISTS (SELECT 1 FROM taskdb.runs r WHERE r.task_id = t.id) THEN 'pending'
               WHEN EXISTS (SELECT 1 FROM taskdb.runs r WHERE r.task_id = t.id AND r.status = 'running') THEN 'in_progress'
               WHEN EXISTS (SELECT 1 FROM taskdb.runs r WHERE r.task_id = t.id AND r.status = 'completed')
                    AND NOT EXISTS (SELECT 1 FROM taskdb.gates g JOIN taskdb.runs r ON g.run_id = r.id
                                     WHERE r.task_id = t.id AND g.status = 'fail') THEN 'completed'
               ELSE 'blocked'
           END AS status_derived,
           (SELECT count(*) FROM taskdb.runs r WHERE r.task_id = t.id) AS runs_total,
           (SELECT count(*) FROM taskdb.runs r WHERE r.task_id = t.id AND r.status = 'running') AS runs_running,
           (SELECT count(*) FROM taskdb.runs r WHERE r.task_id = t.id AND r.status = 'completed') AS runs_completed,
           (SELECT count(*) FROM taskdb.runs r WHERE r.task_id = t.id AND r.status = 'failed') AS runs_failed,
           (SELECT count(*) FROM taskdb.gates g JOIN taskdb.runs r ON g.run_id = r.id
             WHERE r.task_id = t.id AND g.status = 'fail') AS gates_failed
      FROM taskdb.tasks t
), stored AS (
    SELECT task_id, status_derived, runs_total, runs_running, runs_completed, runs_failed, gates_failed
      FROM taskdb.task_status
)
SELECT (SELECT count(*) FROM (SELECT * FROM stored EXCEPT ALL SELECT * FROM recomputed) a),
       (SELECT count(*) FROM (SELECT * FROM recomputed EXCEPT ALL SELECT * FROM stored) b)
$$;
CREATE FUNCTION report()
RETURNS TABLE (title varchar, status_derived text, runs bigint, completed bigint, failed bigint, gates_failed bigint)
LANGUAGE sql AS $$
SELECT t.title, s.status_derived, s.runs_total, s.runs_completed, s.runs_failed, s.gates_failed
  FROM taskdb.tasks t LEFT JOIN taskdb.task_status s ON s.task_id = t.id ORDER BY t.title
$$;
\set check 'SELECT * FROM drift(); SELECT * FROM report();'

\set t1 '00000000-0000-0000-0000-000000000001'
\set t2 '00000000-0000-0000-0000-000000000002'

--
-- pg_dump keeps the data tables (extension configuration tables, all rows);
-- task_status is not dumped: the triggers rebuild it on restore.
--
SELECT c.conf::regclass AS dumped_table, e.extcondition[c.n] AS condition
  FROM pg_extension e, unnest(e.extconfig) WITH ORDINALITY AS c(conf, n)
 WHERE e.extname = 'taskdb'
 ORDER BY c.conf::regclass::text;

-- Some data, maintained by this session (its cached plans now exist).
INSERT INTO taskdb.tasks (id, title, policy_version) VALUES (:'t1', 'alpha', '1.0'), (:'t2', 'bravo', '1.0');
INSERT INTO taskdb.runs (task_id, status) VALUES (:'t1', 'completed'), (:'t2', 'failed');
INSERT INTO taskdb.tasks (title, policy_version)
SELECT 'bulk ' || lpad(i::text, 2, '0'), '1.0' FROM generate_series(1, 20) AS i;
INSERT INTO taskdb.runs (task_id, status) SELECT id, 'running' FROM taskdb.tasks WHERE title LIKE 'bulk%';
SELECT taskdb.status_derived(:'t1') AS alpha, taskdb.status_derived(:'t2') AS bravo;
SELECT * FROM drift();

-- Not relocatable, and not droppable under a user's object without CASCADE.
ALTER EXTENSION taskdb SET SCHEMA public;
CREATE VIEW my_tasks AS SELECT title FROM taskdb.tasks;
DROP EXTENSION taskdb;
DROP VIEW my_tasks;

--
-- DROP EXTENSION removes everything.
--
DROP EXTENSION taskdb;
-- (PostgreSQL leaves the schema it created for the extension; it must be empty.)
SELECT (SELECT count(*) FROM pg_extension WHERE extname = 'taskdb') AS extensions,
       (SELECT count(*) FROM pg_depend WHERE refclassid = 'pg_namespace'::regclass
           AND refobjid = (SELECT oid FROM pg_namespace WHERE nspname = 'taskdb')) AS in_schema,
       (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'taskdb') AS relations,
       (SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
         WHERE n.nspname = 'taskdb') AS functions,
       (SELECT count(*) FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
         WHERE n.nspname = 'taskdb') AS types,
       (SELECT count(*) FROM pg_proc WHERE probin LIKE '%taskdb%') AS c_functions_anywhere,
       (SELECT count(*) FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid
         WHERE p.probin LIKE '%taskdb%') AS triggers_anywhere;

-- CREATE again, in the same session: maintenance works at once (one task and
-- more than 16 tasks per commit, i.e. both flush plans).
CREATE EXTENSION taskdb;
INSERT INTO taskdb.tasks (id, title, policy_version) VALUES (:'t1', 'alpha', '1.0');
INSERT INTO taskdb.runs (task_id, status) VALUES (:'t1', 'running');
INSERT INTO taskdb.tasks (title, policy_version)
SELECT 'bulk ' || lpad(i::text, 2, '0'), '1.0' FROM generate_series(1, 20) AS i;
INSERT INTO taskdb.runs (task_id, status) SELECT id, 'completed' FROM taskdb.tasks WHERE title LIKE 'bulk%';
INSERT INTO taskdb.gates (run_id, name, type, status)
SELECT r.id, 'opa', 'policy', 'fail' FROM taskdb.runs r JOIN taskdb.tasks t ON t.id = r.task_id
 WHERE t.title IN ('bulk 01', 'bulk 02');
SELECT taskdb.status_derived(:'t1') AS alpha;
SELECT status_derived, count(*) FROM taskdb.task_status GROUP BY 1 ORDER BY 1;
SELECT * FROM drift();

-- It cannot go into another schema.
DROP EXTENSION taskdb;
CREATE SCHEMA elsewhere;
CREATE EXTENSION taskdb SCHEMA elsewhere;
DROP SCHEMA elsewhere;
CREATE EXTENSION taskdb;

--
-- DROP and CREATE inside one transaction that had already changed runs: the
-- old extension's pending changes die with it; the new one starts clean,
-- even for a task with the same id.
--
INSERT INTO taskdb.tasks (id, title, policy_version) VALUES (:'t1', 'alpha', '1.0');
BEGIN;
INSERT INTO taskdb.runs (task_id, status) VALUES (:'t1', 'completed'), (:'t1', 'failed');
DROP EXTENSION taskdb;
CREATE EXTENSION taskdb;
INSERT INTO taskdb.tasks (id, title, policy_version) VALUES (:'t1', 'alpha again', '1.0'), (:'t2', 'bravo', '1.0');
INSERT INTO taskdb.runs (task_id, status) VALUES (:'t2', 'running');
COMMIT;
-- alpha again pending (no runs) | bravo in_progress
:check

-- DROP EXTENSION in a transaction that had changed runs, and COMMIT.
BEGIN;
INSERT INTO taskdb.runs (task_id, status) VALUES (:'t2', 'failed');
DROP EXTENSION taskdb;
COMMIT;
SELECT count(*) AS extensions FROM pg_extension WHERE extname = 'taskdb';

-- DROP EXTENSION rolled back to a savepoint: the changes around it count once.
SET client_min_messages TO warning;
DROP EXTENSION IF EXISTS taskdb;
RESET client_min_messages;
CREATE EXTENSION taskdb;
INSERT INTO taskdb.tasks (id, title, policy_version) VALUES (:'t1', 'alpha', '1.0');
BEGIN;
INSERT INTO taskdb.runs (task_id, status) VALUES (:'t1', 'completed');
SAVEPOINT s;
DROP EXTENSION taskdb;
ROLLBACK TO s;
INSERT INTO taskdb.runs (task_id, status) VALUES (:'t1', 'queued');
COMMIT;
-- alpha completed: 2 runs, 1 completed
:check

DROP FUNCTION drift();
DROP FUNCTION report();
