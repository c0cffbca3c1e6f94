-- status_derived of one random existing task from the plan's materialized view.
\set n random(1, :ntasks)
SELECT status_derived FROM mv.task_status_derived_mv
 WHERE task_id = (SELECT id FROM bench_ids WHERE n = :n);
