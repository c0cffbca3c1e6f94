--
-- 02_status_rules: every row of the status_derived table and health_score.
--
-- Rule (DESIGN.md), first match wins, over all runs of a task and all gates
-- of those runs:
--   failed       any run failed
--   pending      no runs
--   in_progress  any run running
--   completed    any run completed and no gate failed
--   blocked      otherwise (e.g. only queued / cancelled runs, or a failed gate)
-- health_score = completed runs / all runs, 0 with no runs.
--
SET client_min_messages TO warning;
DROP EXTENSION IF EXISTS taskdb CASCADE;
RESET client_min_messages;
CREATE EXTENSION taskdb;
\set VERBOSITY default

-- The recomputation, drift check and id helpers every file shares.
\i sql/include/helpers.sql

--
-- The rule as a function of the counters
-- (runs_total, runs_running, runs_completed, runs_failed, gates_failed).
--
SELECT note, taskdb.derive_status(total, running, completed, failed, gates_failed) AS status_derived
  FROM (VALUES
    ('no runs',                                 0, 0, 0, 0, 0),
    ('one failed run',                          1, 0, 0, 1, 0),
    ('failed beats running',                    2, 1, 0, 1, 0),
    ('failed beats completed',                  2, 0, 1, 1, 0),
    ('failed with failed gates',                1, 0, 0, 1, 3),
    ('failed beats everything',                 4, 1, 1, 1, 1),
    ('one running run',                         1, 1, 0, 0, 0),
    ('running beats completed',                 2, 1, 1, 0, 0),
    ('running, failed gate does not matter',    1, 1, 0, 0, 1),
    ('one completed run',                       1, 0, 1, 0, 0),
    ('completed plus queued/cancelled',         3, 0, 1, 0, 0),
    ('completed + failed gate = blocked',       1, 0, 1, 0, 1),
    ('only queued/cancelled = blocked',         1, 0, 0, 0, 0),
    ('three queued/cancelled = blocked',        3, 0, 0, 0, 0),
    ('queued with failed gate = blocked',       1, 0, 0, 0, 1)
  ) AS v(note, total, running, completed, failed, gates_failed);

-- Named arguments, and STRICT: a NULL counter gives NULL.
SELECT taskdb.derive_status(runs_total => 2, runs_running => 0, runs_completed => 2,
                            runs_failed => 0, gates_failed => 0) AS named,
       taskdb.derive_status(1, 0, NULL, 0, 0) IS NULL AS null_in_null_out;

--
-- The same rule on real rows: one task per case, each line of the table.
--
INSERT INTO taskdb.tasks (title, policy_version)
SELECT title, '1.0' FROM unnest(ARRAY[
    'a no runs',
    'b only queued',
    'c only cancelled',
    'd queued and cancelled',
    'e running',
    'f running beats completed',
    'g failed beats running',
    'h failed beats completed',
    'i completed',
    'j completed, gates pass/skipped/pending',
    'k completed + failed gate',
    'l failed gate on another run',
    'm completed and queued',
    'n running with failed gate',
    'o failed run and failed gate',
    'p two failed gates',
    'q completed, cancelled, queued']) AS title;

-- Every task has its summary row as soon as it exists: pending, score 0.
:check

INSERT INTO taskdb.runs (id, task_id, status) VALUES
    ('00000000-0000-0000-0001-000000000001', task_of('b only queued'), 'queued'),
    ('00000000-0000-0000-0001-000000000002', task_of('c only cancelled'), 'cancelled'),
    ('00000000-0000-0000-0001-000000000003', task_of('d queued and cancelled'), 'queued'),
    ('00000000-0000-0000-0001-000000000004', task_of('d queued and cancelled'), 'cancelled'),
    ('00000000-0000-0000-0001-000000000005', task_of('e running'), 'running'),
    ('00000000-0000-0000-0001-000000000006', task_of('f running beats completed'), 'running'),
    ('00000000-0000-0000-0001-000000000007', task_of('f running beats completed'), 'completed'),
    ('00000000-0000-0000-0001-000000000008', task_of('g failed beats running'), 'failed'),
    ('00000000-0000-0000-0001-000000000009', task_of('g failed beats running'), 'running'),
    ('00000000-0000-0000-0001-000000000010', task_of('h failed beats completed'), 'failed'),
    ('00000000-0000-0000-0001-000000000011', task_of('h failed beats completed'), 'completed'),
    ('00000000-0000-0000-0001-000000000012', task_of('h failed beats completed'), 'completed'),
    ('00000000-0000-0000-0001-000000000013', task_of('i completed'), 'completed'),
    ('00000000-0000-0000-0001-000000000014', task_of('j completed, gates pass/skipped/pending'), 'completed'),
    ('00000000-0000-0000-0001-000000000015', task_of('k completed + failed gate'), 'completed'),
    ('00000000-0000-0000-0001-000000000016', task_of('l failed gate on another run'), 'completed'),
    ('00000000-0000-0000-0001-000000000017', task_of('l failed gate on another run'), 'queued'),
    ('00000000-0000-0000-0001-000000000018', task_of('m completed and queued'), 'completed'),
    ('00000000-0000-0000-0001-000000000019', task_of('m completed and queued'), 'queued'),
    ('00000000-0000-0000-0001-000000000020', task_of('n running with failed gate'), 'running'),
    ('00000000-0000-0000-0001-000000000021', task_of('o failed run and failed gate'), 'failed'),
    ('00000000-0000-0000-0001-000000000022', task_of('p two failed gates'), 'completed'),
    ('00000000-0000-0000-0001-000000000023', task_of('p two failed gates'), 'completed'),
    ('00000000-0000-0000-0001-000000000024', task_of('q completed, cancelled, queued'), 'completed'),
    ('00000000-0000-0000-0001-000000000025', task_of('q completed, cancelled, queued'), 'cancelled'),
    ('00000000-0000-0000-0001-000000000026', task_of('q completed, cancelled, queued'), 'queued');

INSERT INTO taskdb.gates (run_id, name, type, status) VALUES
    ('00000000-0000-0000-0001-000000000014', 'eslint', 'lint', 'pass'),
    ('00000000-0000-0000-0001-000000000014', 'opa', 'policy', 'skipped'),
    ('00000000-0000-0000-0001-000000000014', 'semgrep', 'security', 'pending'),
    ('00000000-0000-0000-0001-000000000015', 'semgrep', 'security', 'fail'),
    ('00000000-0000-0000-0001-000000000015', 'eslint', 'lint', 'pass'),
    ('00000000-0000-0000-0001-000000000016', 'eslint', 'lint', 'pass'),
    ('00000000-0000-0000-0001-000000000017', 'facts', 'truth', 'fail'),
    ('00000000-0000-0000-0001-000000000020', 'coverage', 'quality', 'fail'),
    ('00000000-0000-0000-0001-000000000021', 'coverage', 'quality', 'fail'),
    ('00000000-0000-0000-0001-000000000022', 'coverage', 'quality', 'fail'),
    ('00000000-0000-0000-0001-000000000023', 'facts', 'truth', 'fail');

-- Expected, by title:
--   a pending 0 | b c d blocked 0 | e in_progress 0 | f in_progress 0.5
--   g failed 0 | h failed 0.667 | i completed 1 | j completed 1
--   k blocked 1 (1 failed gate) | l blocked 0.5 (gate of the queued run)
--   m completed 0.5 | n in_progress 0 (1 failed gate) | o failed 0 (1 failed gate)
--   p blocked 1 (2 failed gates) | q completed 0.333
:check

-- taskdb.status_derived(id), the view task_status_derived and the plan's
-- compatibility view task_status_derived_mv all agree with the summary.
SELECT t.title, taskdb.status_derived(t.id) AS function, v.status_derived AS view,
       m.status_derived AS mv_view, round(m.health_score::numeric, 3) AS mv_health,
       m.stored_status
  FROM taskdb.tasks t
  JOIN taskdb.task_status_derived v ON v.task_id = t.id
  JOIN taskdb.task_status_derived_mv m ON m.task_id = t.id
 ORDER BY t.title;

-- Unknown task and NULL: NULL.
SELECT taskdb.status_derived('00000000-0000-0000-0000-00000000dead') IS NULL AS unknown_is_null,
       taskdb.status_derived(NULL) IS NULL AS null_is_null;

-- The dashboard query over the summary equals the recomputation's counts.
SELECT status_derived, count(*) FROM taskdb.task_status GROUP BY 1 ORDER BY 1;
SELECT status_derived, count(*) FROM recomputed GROUP BY 1 ORDER BY 1;

--
-- One task walked through every status, one committed step at a time.
--
CREATE VIEW walk AS SELECT * FROM report WHERE title = 'z walk';
INSERT INTO taskdb.tasks (id, title, policy_version)
VALUES ('00000000-0000-0000-0000-000000000026', 'z walk', '1.0');
-- pending: no runs
SELECT * FROM walk;
INSERT INTO taskdb.runs (id, task_id, status)
VALUES ('00000000-0000-0000-0001-000000000101', '00000000-0000-0000-0000-000000000026', 'queued');
-- blocked: only a queued run
SELECT * FROM walk;
UPDATE taskdb.runs SET status = 'running' WHERE id = '00000000-0000-0000-0001-000000000101';
-- in_progress
SELECT * FROM walk;
INSERT INTO taskdb.runs (id, task_id, status)
VALUES ('00000000-0000-0000-0001-000000000102', '00000000-0000-0000-0000-000000000026', 'completed');
-- still in_progress: running beats completed; health 0.5
SELECT * FROM walk;
UPDATE taskdb.runs SET status = 'completed' WHERE id = '00000000-0000-0000-0001-000000000101';
-- completed, health 1
SELECT * FROM walk;
INSERT INTO taskdb.gates (id, run_id, name, type, status)
VALUES ('00000000-0000-0000-0002-000000000101', '00000000-0000-0000-0001-000000000102', 'semgrep', 'security', 'fail');
-- blocked: completed, but a gate failed
SELECT * FROM walk;
INSERT INTO taskdb.runs (id, task_id, status)
VALUES ('00000000-0000-0000-0001-000000000103', '00000000-0000-0000-0000-000000000026', 'failed');
-- failed beats everything; health 2/3
SELECT * FROM walk;
DELETE FROM taskdb.runs WHERE id = '00000000-0000-0000-0001-000000000103';
-- back to blocked
SELECT * FROM walk;
UPDATE taskdb.gates SET status = 'pass' WHERE id = '00000000-0000-0000-0002-000000000101';
-- completed again
SELECT * FROM walk;
UPDATE taskdb.runs SET status = 'cancelled' WHERE task_id = '00000000-0000-0000-0000-000000000026';
-- only cancelled runs: blocked, health 0
SELECT * FROM walk;
UPDATE taskdb.gates SET status = 'fail' WHERE id = '00000000-0000-0000-0002-000000000101';
-- a failed gate of a cancelled run still counts (blocked either way)
SELECT * FROM walk;
UPDATE taskdb.runs SET status = 'running' WHERE id = '00000000-0000-0000-0001-000000000102';
-- in_progress: a failed gate does not matter while a run is running
SELECT * FROM walk;
DELETE FROM taskdb.runs WHERE task_id = '00000000-0000-0000-0000-000000000026';
-- pending again, all counters 0 (the failed gate went with its run)
SELECT * FROM walk;
SELECT * FROM drift;

DROP VIEW walk;
DROP VIEW report;
DROP VIEW drift;
DROP VIEW recomputed;
DROP FUNCTION task_of(text);
