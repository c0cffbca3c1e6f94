-- Drift: tasks whose task_status row is missing or differs from the
-- recomputation from runs and gates (counters, and status_derived by the
-- seed's rule restated here in SQL, independently of taskdb.derive_status).
-- Prints one number; 0 expected.
WITH r AS (
    SELECT task_id,
           count(*) AS total,
           count(*) FILTER (WHERE status = 'running') AS running,
           count(*) FILTER (WHERE status = 'completed') AS completed,
           count(*) FILTER (WHERE status = 'failed') AS failed
      FROM taskdb.runs GROUP BY task_id
), g AS (
    SELECT r.task_id, count(*) AS failed
      FROM taskdb.gates g JOIN taskdb.runs r ON r.id = g.run_id
     WHERE g.status = 'fail' GROUP BY r.task_id
), want AS (
    SELECT t.id AS task_id,
           coalesce(r.total, 0) AS runs_total, coalesce(r.running, 0) AS runs_running,
           coalesce(r.completed, 0) AS runs_completed, coalesce(r.failed, 0) AS runs_failed,
           coalesce(g.failed, 0) AS gates_failed
      FROM taskdb.tasks t LEFT JOIN r ON r.task_id = t.id LEFT JOIN g ON g.task_id = t.id
)
SELECT count(*)
  FROM want w FULL JOIN taskdb.task_status s ON s.task_id = w.task_id
 WHERE w.task_id IS NULL OR s.task_id IS NULL
    OR (s.runs_total, s.runs_running, s.runs_completed, s.runs_failed, s.gates_failed)
       IS DISTINCT FROM (w.runs_total, w.runs_running, w.runs_completed, w.runs_failed, w.gates_failed)
    OR s.status_derived IS DISTINCT FROM
       CASE WHEN w.runs_failed > 0 THEN 'failed'
            WHEN w.runs_total = 0 THEN 'pending'
            WHEN w.runs_running > 0 THEN 'in_progress'
            WHEN w.runs_completed > 0 AND w.gates_failed = 0 THEN 'completed'
            ELSE 'blocked' END;
