-- status_derived of one random existing task, through taskdb's C function.
\set n random(1, :ntasks)
SELECT taskdb.status_derived((SELECT id FROM bench_ids WHERE n = :n));
