-- Reference read: a plain primary-key SELECT of the stored summary row (what
-- status_derived() does inside, minus the function call and its SPI plan).
\set n random(1, :ntasks)
SELECT status_derived FROM taskdb.task_status
 WHERE task_id = (SELECT id FROM bench_ids WHERE n = :n);
