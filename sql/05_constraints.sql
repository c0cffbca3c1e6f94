--
-- 05_constraints: what taskdb refuses, and how it says so.  Invalid status /
-- priority / type values, malformed hashes, changed keys, a gate or artifact
-- whose task_id is not its run's, references to runs that do not exist.
-- Errors show DETAIL and HINT; ids in them are fixed so the output is stable.
--
\i sql/include/fresh.sql

-- The recomputation, drift check and id helpers every file shares.
\i sql/include/helpers.sql

\set t1 '00000000-0000-0000-0000-000000000001'
\set t2 '00000000-0000-0000-0000-000000000002'
\set nobody '00000000-0000-0000-0000-00000000dead'
INSERT INTO taskdb.tasks (id, title, policy_version) VALUES (:'t1', 'alpha', '1.0'), (:'t2', 'bravo', '1.0');
INSERT INTO taskdb.runs (id, task_id, status) VALUES (rid(1), :'t1', 'completed'), (rid(2), :'t2', 'running');
INSERT INTO taskdb.gates (id, run_id, name, type, status) VALUES (gid(1), rid(1), 'semgrep', 'security', 'fail');
INSERT INTO taskdb.artifacts (id, task_id, run_id, path, sha256)
VALUES (aid(1), :'t1', rid(1), 'out.txt', 'sha256:' || repeat('0123456789abcdef', 4));
:check

--
-- Values outside the allowed lists: the error names the column, the value
-- and the allowed values (check_violation, 23514).
--
INSERT INTO taskdb.tasks (title, policy_version, status) VALUES ('x', '1.0', 'done');
\echo :LAST_ERROR_SQLSTATE
UPDATE taskdb.tasks SET status = 'Completed' WHERE id = :'t1';
INSERT INTO taskdb.tasks (title, policy_version, priority) VALUES ('x', '1.0', 'urgent');
\echo :LAST_ERROR_SQLSTATE
UPDATE taskdb.tasks SET priority = '' WHERE id = :'t1';
INSERT INTO taskdb.runs (task_id, status) VALUES (:'t1', 'RUNNING');
\echo :LAST_ERROR_SQLSTATE
UPDATE taskdb.runs SET status = 'success' WHERE id = rid(1);
INSERT INTO taskdb.gates (run_id, name, type) VALUES (rid(1), 'prettier', 'style');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO taskdb.gates (run_id, name, type, status) VALUES (rid(1), 'semgrep', 'security', 'failed');
\echo :LAST_ERROR_SQLSTATE
UPDATE taskdb.gates SET status = 'passed' WHERE id = gid(1);
-- In a multi-row statement the first offending row is named.
INSERT INTO taskdb.runs (task_id, status) VALUES (:'t1', 'queued'), (:'t1', 'paused'), (:'t1', 'zombie');
-- NULL is not a value from the list: NOT NULL refuses it.
\set VERBOSITY terse
INSERT INTO taskdb.runs (task_id, status) VALUES (:'t1', NULL);
\set VERBOSITY default
-- The helper itself.
SELECT taskdb.check_allowed('x.y', 'b', '{a,b,c}') AS allowed,
       taskdb.check_allowed('x.y', NULL, '{a,b,c}') IS NULL AS null_is_null;
SELECT taskdb.check_allowed('x.y', 'B', '{a,b,c}');

-- artifacts.sha256 must be 'sha256:' and 64 lower-case hex digits.  The
-- error must name the column (artifacts.sha256), the value, and the form
-- expected ("sha256:", 64, hex) in its detail or hint.  Only what the error
-- says is checked here, not its exact wording.
CREATE FUNCTION sha256_error(v text)
RETURNS TABLE (sqlstate text, names_column boolean, names_value boolean, names_format boolean)
LANGUAGE plpgsql AS $$
DECLARE
    m text; d text; h text; s text;
BEGIN
    INSERT INTO taskdb.artifacts (id, task_id, path, sha256, created_at)
    VALUES ('00000000-0000-0000-0003-000000000099', '00000000-0000-0000-0000-000000000001',
            'x', v, '2024-01-01 00:00:00+00');
    RETURN QUERY SELECT 'accepted', NULL::boolean, NULL::boolean, NULL::boolean;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS m = MESSAGE_TEXT, d = PG_EXCEPTION_DETAIL, h = PG_EXCEPTION_HINT,
                            s = RETURNED_SQLSTATE;
    RETURN QUERY SELECT s,
        concat(m, ' ', d) LIKE '%artifacts.sha256%',
        position(v IN concat(m, ' ', d)) > 0,
        concat(d, ' ', h) LIKE '%sha256:%' AND concat(d, ' ', h) ~* '\mhex' AND concat(d, ' ', h) ~ '\m64\M';
END
$$;
SELECT v.label, e.*
  FROM (VALUES ('no prefix', repeat('ab', 32)),
               ('upper-case hex', 'sha256:' || repeat('AB', 32)),
               ('63 digits', 'sha256:' || repeat('a', 63)),
               ('65 digits', 'sha256:' || repeat('a', 65)),
               ('not hex', 'sha256:' || repeat('zz', 32)),
               ('other algorithm', 'md5:' || repeat('ab', 16)),
               ('valid', 'sha256:' || repeat('ab', 32))) AS v(label, value),
       LATERAL sha256_error(v.value) AS e;
DROP FUNCTION sha256_error(text);
DELETE FROM taskdb.artifacts WHERE path = 'x';

--
-- Ids and parent references are immutable (integrity_constraint_violation, 23000).
--
UPDATE taskdb.tasks SET id = :'nobody' WHERE id = :'t1';
\echo :LAST_ERROR_SQLSTATE
UPDATE taskdb.runs SET id = :'nobody' WHERE id = rid(1);
UPDATE taskdb.runs SET task_id = :'t2' WHERE id = rid(1);
\echo :LAST_ERROR_SQLSTATE
UPDATE taskdb.gates SET run_id = rid(2) WHERE id = gid(1);
UPDATE taskdb.gates SET task_id = :'t2' WHERE id = gid(1);
-- moving a gate to another run of another task, consistently, is refused too
UPDATE taskdb.gates SET run_id = rid(2), task_id = :'t2' WHERE id = gid(1);
UPDATE taskdb.artifacts SET run_id = rid(2) WHERE id = aid(1);
UPDATE taskdb.artifacts SET task_id = :'t2' WHERE id = aid(1);
-- one offending row refuses the whole statement
UPDATE taskdb.runs SET task_id = CASE WHEN id = rid(2) THEN :'t1'::uuid ELSE task_id END;
-- through ON CONFLICT DO UPDATE and MERGE as well
INSERT INTO taskdb.runs (id, task_id, status) VALUES (rid(1), :'t2', 'failed')
ON CONFLICT (id) DO UPDATE SET task_id = EXCLUDED.task_id, status = EXCLUDED.status;
MERGE INTO taskdb.gates g USING (VALUES (gid(1), rid(2))) AS s(id, run_id) ON g.id = s.id
 WHEN MATCHED THEN UPDATE SET run_id = s.run_id;
-- Setting a key to the value it already has is not a change.
UPDATE taskdb.tasks SET id = id, title = 'alpha' WHERE id = :'t1';
UPDATE taskdb.runs SET task_id = task_id WHERE id = rid(1);
UPDATE taskdb.gates SET run_id = run_id, task_id = task_id WHERE id = gid(1);
-- nothing moved
SELECT g.name, t.title FROM taskdb.gates g JOIN taskdb.runs r ON r.id = g.run_id
  JOIN taskdb.tasks t ON t.id = r.task_id ORDER BY g.name;
:check

--
-- gates.task_id (and artifacts.task_id when a run is given) come from the run.
--
-- A task_id that is not the run's is refused (foreign_key_violation, 23503).
INSERT INTO taskdb.gates (run_id, task_id, name, type, status) VALUES (rid(1), :'t2', 'opa', 'policy', 'fail');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO taskdb.artifacts (task_id, run_id, path, sha256)
VALUES (:'t2', rid(1), 'log', 'sha256:' || repeat('ab', 32));
-- The run's own task_id, or none (or NULL), is accepted and stored.
INSERT INTO taskdb.gates (id, run_id, task_id, name, type, status)
VALUES (gid(2), rid(1), :'t1', 'opa', 'policy', 'pass'),
       (gid(3), rid(2), NULL, 'eslint', 'lint', 'fail');
INSERT INTO taskdb.gates (id, run_id, name, type) VALUES (gid(4), rid(2), 'facts', 'truth');
SELECT g.name, t.title FROM taskdb.gates g JOIN taskdb.tasks t ON t.id = g.task_id
 WHERE g.id IN (gid(2), gid(3), gid(4)) ORDER BY g.id;
-- An artifact without a run keeps the task_id it was given.
INSERT INTO taskdb.artifacts (id, task_id, run_id, path, sha256)
VALUES (aid(2), :'t2', NULL, 'spec.md', 'sha256:' || repeat('cd', 32));
SELECT a.path, t.title FROM taskdb.artifacts a JOIN taskdb.tasks t ON t.id = a.task_id ORDER BY a.path;

-- A run that does not exist is refused, naming it.
INSERT INTO taskdb.gates (run_id, name, type) VALUES (:'nobody', 'opa', 'policy');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO taskdb.artifacts (task_id, run_id, path, sha256)
VALUES (:'t1', :'nobody', 'log', 'sha256:' || repeat('ab', 32));
-- A run of a task that does not exist: the foreign key says so.
INSERT INTO taskdb.runs (task_id, status) VALUES (:'nobody', 'queued');
\echo :LAST_ERROR_SQLSTATE
-- A run deleted earlier in the same transaction is gone for its gates too.
BEGIN;
DELETE FROM taskdb.runs WHERE id = rid(2);
INSERT INTO taskdb.gates (run_id, name, type) VALUES (rid(2), 'opa', 'policy');
ROLLBACK;

-- None of the refused statements left a trace in the summary.
-- alpha blocked (completed run, failed gate) | bravo in_progress (1 failed gate)
:check

-- Clean up the helpers (the extension stays for the next file).
DROP VIEW report;
DROP VIEW drift;
DROP VIEW recomputed;
DROP FUNCTION task_of(text);
DROP FUNCTION rid(int);
DROP FUNCTION gid(int);
DROP FUNCTION aid(int);
