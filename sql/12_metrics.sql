--
-- 12_metrics: taskdb.metrics() with taskdb in shared_preload_libraries (as
-- the test cluster runs it): every read, verification and flush is counted
-- in its histogram, the counters follow what happened, the exposition is
-- self-consistent, and metrics_reset() zeroes it.  Latencies vary, so only
-- counts and the shape of the output are shown.
--
\i sql/include/fresh.sql

-- value(name): the sample of the line that starts with name (a full series name).
CREATE FUNCTION metric(series text) RETURNS numeric LANGUAGE sql AS $$
    SELECT split_part(l, ' ', 2)::numeric
      FROM regexp_split_to_table(taskdb.metrics(), E'\n') l
     WHERE split_part(l, ' ', 1) = series;
$$;

SELECT taskdb.metrics_reset();
SELECT metric('taskdb_status_derived_read_latency_ms_count') AS reads,
       metric('taskdb_provenance_verifications_total{status="pass"}') AS verified_pass;

-- Three reads; two commits that change runs (two flushes: the new run, its new
-- status); one passing and one failing verification.
SELECT taskdb.create_task('metrics', '1') AS t \gset
SELECT count(taskdb.status_derived(:'t')) FROM generate_series(1, 3);
SELECT taskdb.create_run(:'t', 'running') AS r \gset
SELECT taskdb.publish_report(jsonb_build_array(jsonb_build_object('kind', 'run_id', 'id', :'r'))) AS rep \gset
SELECT count(*) FROM taskdb.verify_provenance(:'rep');
SELECT taskdb.set_run_status(:'r', 'failed') IS NOT NULL AS changed;
SELECT count(*) FROM taskdb.debug_provenance(:'rep');
SELECT metric('taskdb_status_derived_read_latency_ms_count') AS reads,
       metric('taskdb_status_flush_latency_ms_count') AS flushes,
       metric('taskdb_provenance_verifications_total{status="pass"}') AS verified_pass,
       metric('taskdb_provenance_verifications_total{status="fail"}') AS verified_fail,
       metric('taskdb_provenance_verification_latency_ms_count') AS verifications_timed;

-- Writers: a transaction that has written counts while it is open.
BEGIN;
SELECT metric('taskdb_concurrent_writers_total') AS writers_before_writing;
SELECT taskdb.create_run(:'t') IS NOT NULL AS wrote;
SELECT metric('taskdb_concurrent_writers_total') AS writers_while_writing;
COMMIT;
SELECT metric('taskdb_concurrent_writers_total') AS writers_after_commit;
BEGIN;
SELECT taskdb.create_run(:'t') IS NOT NULL AS wrote;
ROLLBACK;
SELECT metric('taskdb_concurrent_writers_total') AS writers_after_rollback;

-- doctor() and archive_events() count what they found and moved.
SELECT count(*) FROM taskdb.doctor();
SELECT metric('taskdb_doctor_checks_total{status="pass"}') AS doctor_pass,
       metric('taskdb_doctor_checks_total{status="fail"}') AS doctor_fail;
DELETE FROM taskdb.task_status;
SELECT count(*) FROM taskdb.doctor();
SELECT metric('taskdb_doctor_checks_total{status="fail"}') AS doctor_fail,
       metric('taskdb_orphans_detected_total') AS orphans;
SELECT taskdb.rebuild_status() > 0 AS repaired;
-- One-second partitions: a second later, everything written so far has ended.
SET taskdb.history_partition_interval = '1 second';
SELECT count(*) AS events_to_archive FROM taskdb.events \gset
SELECT pg_sleep(1.1);
CALL taskdb.archive_events(interval '0');
RESET taskdb.history_partition_interval;
SELECT metric('taskdb_events_archived_total') = :events_to_archive AS archived_counted;

-- The exposition: HELP and TYPE for every metric, cumulative buckets, +Inf = count.
SELECT l FROM regexp_split_to_table(taskdb.metrics(), E'\n') l WHERE l LIKE '# TYPE %' ORDER BY 1;
WITH b AS (
    SELECT regexp_replace(l, '_bucket\{.*$', '') AS hist, ord,
           split_part(l, ' ', 2)::numeric AS v, l LIKE '%le="+Inf"%' AS inf
      FROM regexp_split_to_table(taskdb.metrics(), E'\n') WITH ORDINALITY x(l, ord)
     WHERE l LIKE '%_bucket{%')
SELECT hist, count(*) AS buckets,
       bool_and(v >= coalesce(prev, 0)) AS cumulative,
       max(v) FILTER (WHERE inf) = metric(hist || '_count') AS inf_is_count
  FROM (SELECT b.*, lag(v) OVER (PARTITION BY hist ORDER BY ord) AS prev FROM b) x
 GROUP BY hist ORDER BY hist;
-- pg_major is the server's major version, whichever it is.
SELECT replace(l, format('pg_major="%s"', current_setting('server_version_num')::int / 10000),
               'pg_major="<this server>"') AS l
  FROM regexp_split_to_table(taskdb.metrics(), E'\n') l WHERE l LIKE 'taskdb_build_info%';

-- The same samples as rows (taskdb.stat), and one histogram as postgres_exporter reads it.
SELECT (SELECT count(*) FROM taskdb.stat)
       = (SELECT count(*) FROM regexp_split_to_table(taskdb.metrics(), E'\n') l
           WHERE l <> '' AND l NOT LIKE '#%') AS one_row_per_sample,
       (SELECT value FROM taskdb.stat WHERE metric = 'taskdb_status_derived_read_latency_ms_count')
       = metric('taskdb_status_derived_read_latency_ms_count') AS same_values;
SELECT metric, labels, value FROM taskdb.stat WHERE metric LIKE 'taskdb_doctor%' ORDER BY labels;
SELECT array_length(h.bounds, 1) AS buckets, h.bounds[1] AS first_bound_ms, h.bounds[20] AS last_bound,
       h.counts[20] = h.count AS last_is_count,
       h.count = metric('taskdb_status_derived_read_latency_ms_count') AS count_agrees,
       (SELECT bool_and(c >= p) FROM (SELECT c, lag(c, 1, 0::bigint) OVER (ORDER BY o) AS p
                                        FROM unnest(h.counts) WITH ORDINALITY u(c, o)) x) AS cumulative
  FROM taskdb.metrics_histogram('taskdb_status_derived_read_latency_ms') h;
SELECT * FROM taskdb.metrics_histogram('read_latency');

-- Reset.
SELECT taskdb.metrics_reset();
SELECT metric('taskdb_status_derived_read_latency_ms_count') AS reads,
       metric('taskdb_provenance_verifications_total{status="fail"}') AS verified_fail,
       metric('taskdb_events_archived_total') AS archived;
