--
-- 10_doctor: taskdb.doctor() finds each kind of damage it checks for, says
-- what it found, and gives the verdict system_health.  The test cluster
-- preloads taskdb, so a healthy database is "excellent" (without preloading
-- the metrics check warns: test/scripts/metrics_not_preloaded.sh).
--
\i sql/include/fresh.sql

INSERT INTO taskdb.tasks (id, title, policy_version)
SELECT ('10000000-0000-4000-8000-00000000000' || i)::uuid, 'task ' || i, '1' FROM generate_series(1, 4) i;
INSERT INTO taskdb.runs (task_id, status)
SELECT id, s FROM taskdb.tasks, unnest('{completed,running}'::text[]) s;
INSERT INTO taskdb.gates (run_id, name, type, status)
SELECT id, 'lint', 'lint', 'fail' FROM taskdb.runs WHERE status = 'completed';
SELECT count(*) AS reports FROM (
    SELECT taskdb.publish_report(jsonb_build_array(jsonb_build_object('kind', 'status_derived', 'id', id)))
      FROM taskdb.tasks) r;

-- Healthy.
SELECT * FROM taskdb.doctor();
SELECT check_name, status, detail FROM taskdb.doctor(2) WHERE check_name IN ('summary_drift', 'report_signatures');
-- Read-only works (a standby).
BEGIN READ ONLY;
SELECT check_name, status FROM taskdb.doctor();
ROLLBACK;

-- A summary row that no longer matches its runs: drift, and the verdict is failing.
UPDATE taskdb.task_status SET runs_completed = 0, status_derived = 'in_progress'
 WHERE task_id = '10000000-0000-4000-8000-000000000002';
SELECT check_name, status, detail FROM taskdb.doctor() WHERE check_name IN ('summary_drift', 'system_health');
SELECT taskdb.rebuild_status() AS repaired;
SELECT check_name, status FROM taskdb.doctor() WHERE check_name IN ('summary_drift', 'system_health');

-- A task without its summary row.
DELETE FROM taskdb.task_status WHERE task_id = '10000000-0000-4000-8000-000000000003';
SELECT check_name, status, detail FROM taskdb.doctor() WHERE check_name IN ('summary_drift', 'orphans');
SELECT taskdb.rebuild_status() AS repaired;

-- An altered report.
UPDATE taskdb.reports SET report = jsonb_set(report, '{published_by}', '"mallory"')
 WHERE report->'claims_validated'->0->>'id' = '10000000-0000-4000-8000-000000000004';
SELECT check_name, status, regexp_replace(detail, '[0-9a-f-]{36}', '<id>') AS detail
  FROM taskdb.doctor() WHERE check_name = 'report_signatures';
DELETE FROM taskdb.reports WHERE report->>'published_by' = 'mallory';

-- The history's guard switched off, and an event the sequence never issued.
ALTER TABLE taskdb.history_default DISABLE TRIGGER history_append_only_statement;
ALTER TABLE taskdb.history DISABLE TRIGGER history_append_only;
INSERT INTO taskdb.history_default (occurred_at, xact_id, id, era, entity, operation, task_id, entity_ids, statuses)
VALUES (now(), '1', 1000000000, 1, 'r', 'u', gen_random_uuid(), ARRAY[gen_random_uuid()], '\x0803');
SELECT check_name, status, detail FROM taskdb.doctor()
 WHERE check_name IN ('event_history_guard', 'event_history_ids', 'system_health');
ALTER TABLE taskdb.history_default ENABLE ALWAYS TRIGGER history_append_only_statement;
ALTER TABLE taskdb.history ENABLE ALWAYS TRIGGER history_append_only;
SELECT check_name, status FROM taskdb.doctor() WHERE check_name = 'event_history_guard';

-- Bad argument.
SELECT * FROM taskdb.doctor(0);
