-- Baseline read: the seed plan's materialized-view query (CASE over EXISTS)
-- evaluated for one random existing task, on the tables without triggers.
\set n random(1, :ntasks)
SELECT CASE
         WHEN EXISTS (SELECT 1 FROM baseline.runs r WHERE r.task_id = t.id AND r.status = 'failed') THEN 'failed'
         WHEN NOT EXISTS (SELECT 1 FROM baseline.runs r WHERE r.task_id = t.id) THEN 'pending'
         WHEN EXISTS (SELECT 1 FROM baseline.runs r WHERE r.task_id = t.id AND r.status = 'running') THEN 'in_progress'
         WHEN EXISTS (SELECT 1 FROM baseline.runs r WHERE r.task_id = t.id AND r.status = 'completed')
              AND NOT EXISTS (SELECT 1 FROM baseline.gates g JOIN baseline.runs r ON g.run_id = r.id
                               WHERE r.task_id = t.id AND g.status = 'fail') THEN 'completed'
         ELSE 'blocked'
       END AS status_derived
  FROM baseline.tasks t
 WHERE t.id = (SELECT id FROM bench_ids WHERE n = :n);
