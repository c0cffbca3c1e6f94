-- Test helpers, none of them uses a taskdb function.  The views go with
-- DROP EXTENSION taskdb CASCADE; the functions do not (their bodies are
-- not dependencies), so they are dropped here first.
SET client_min_messages TO warning;
DROP FUNCTION IF EXISTS task_of(text), rid(int), gid(int), aid(int);
RESET client_min_messages;
-- recomputed: the original plan's materialized-view query, plus the
-- counters recomputed with count(*), straight from the base tables.
CREATE VIEW recomputed AS
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
       COALESCE((SELECT count(*) FROM taskdb.runs r WHERE r.task_id = t.id AND r.status = 'completed')::float
                / NULLIF((SELECT count(*) FROM taskdb.runs r WHERE r.task_id = t.id), 0), 0) AS health_score,
       (SELECT count(*) FROM taskdb.runs r WHERE r.task_id = t.id) AS runs_total,
       (SELECT count(*) FROM taskdb.runs r WHERE r.task_id = t.id AND r.status = 'running') AS runs_running,
       (SELECT count(*) FROM taskdb.runs r WHERE r.task_id = t.id AND r.status = 'completed') AS runs_completed,
       (SELECT count(*) FROM taskdb.runs r WHERE r.task_id = t.id AND r.status = 'failed') AS runs_failed,
       (SELECT count(*) FROM taskdb.gates g JOIN taskdb.runs r ON g.run_id = r.id
         WHERE r.task_id = t.id AND g.status = 'fail') AS gates_failed
  FROM taskdb.tasks t;
-- drift: rows of the stored summary the recomputation lacks, and the other
-- way round (EXCEPT ALL both ways); 0 and 0 when the summary is exact.
CREATE VIEW drift AS
SELECT (SELECT count(*) FROM (
            SELECT task_id, status_derived, health_score, runs_total, runs_running,
                   runs_completed, runs_failed, gates_failed FROM taskdb.task_status
            EXCEPT ALL SELECT * FROM recomputed) a) AS stored_not_recomputed,
       (SELECT count(*) FROM (
            SELECT * FROM recomputed
            EXCEPT ALL SELECT task_id, status_derived, health_score, runs_total, runs_running,
                              runs_completed, runs_failed, gates_failed FROM taskdb.task_status) b) AS recomputed_not_stored;
-- report: the stored summary per task, by title.
CREATE VIEW report AS
SELECT t.title, s.status_derived, round(s.health_score::numeric, 3) AS health,
       s.runs_total AS runs, s.runs_running AS running, s.runs_completed AS completed,
       s.runs_failed AS failed, s.gates_failed
  FROM taskdb.tasks t LEFT JOIN taskdb.task_status s ON s.task_id = t.id;
-- The id of a task, by title.
CREATE FUNCTION task_of(text) RETURNS uuid LANGUAGE sql STABLE
AS $$ SELECT id FROM taskdb.tasks WHERE title = $1 $$;
\set check 'SELECT * FROM drift; SELECT * FROM report ORDER BY title;'
-- Deterministic run / gate / artifact ids: rid(7) = 00000000-0000-0000-0001-000000000007.
CREATE FUNCTION rid(int) RETURNS uuid LANGUAGE sql IMMUTABLE
AS $$ SELECT ('00000000-0000-0000-0001-' || lpad($1::text, 12, '0'))::uuid $$;
CREATE FUNCTION gid(int) RETURNS uuid LANGUAGE sql IMMUTABLE
AS $$ SELECT ('00000000-0000-0000-0002-' || lpad($1::text, 12, '0'))::uuid $$;
CREATE FUNCTION aid(int) RETURNS uuid LANGUAGE sql IMMUTABLE
AS $$ SELECT ('00000000-0000-0000-0003-' || lpad($1::text, 12, '0'))::uuid $$;
