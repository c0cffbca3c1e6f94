--
-- 11_archive: CALL taskdb.archive_events() moves old events to
-- taskdb.events_archive in batches; nothing else may write either table;
-- verification still explains changes whose events were archived.
--
\i sql/include/fresh.sql

INSERT INTO taskdb.tasks (id, title, policy_version)
SELECT ('10000000-0000-4000-8000-00000000000' || i)::uuid, 'task ' || i, '1' FROM generate_series(1, 3) i;
INSERT INTO taskdb.runs (id, task_id, status)
SELECT ('20000000-0000-4000-8000-00000000000' || i)::uuid, ('10000000-0000-4000-8000-00000000000' || i)::uuid,
       'running' FROM generate_series(1, 3) i;
SELECT taskdb.publish_report(jsonb_build_array(
         jsonb_build_object('kind', 'run_id', 'id', '20000000-0000-4000-8000-000000000001'),
         jsonb_build_object('kind', 'status_derived', 'id', '10000000-0000-4000-8000-000000000001'))) AS rep \gset
UPDATE taskdb.runs SET status = 'failed' WHERE id = '20000000-0000-4000-8000-000000000001';
SELECT entity, operation, count(*) FROM taskdb.events GROUP BY 1, 2 ORDER BY 1, 2;

-- Everything written before this statement is "older than 0 seconds".
CALL taskdb.archive_events(interval '0', batch_blocks => 1);
SELECT (SELECT count(*) FROM taskdb.events) AS left_in_events,
       (SELECT count(*) FROM taskdb.events_archive) AS archived,
       (SELECT count(*) FROM taskdb.event_history) AS whole_history;
-- Moved unchanged: the history view is the same rows as before.
SELECT entity, operation, count(*) FROM taskdb.event_history GROUP BY 1, 2 ORDER BY 1, 2;

-- Verification still explains the change, from the archive.
SELECT kind, status, mismatch, changed_at IS NOT NULL AS has_time
  FROM taskdb.verify_provenance(:'rep') WHERE kind <> 'signature';

-- New events stay in events until they are old enough.
UPDATE taskdb.runs SET status = 'completed' WHERE id = '20000000-0000-4000-8000-000000000002';
CALL taskdb.archive_events(interval '1 day');
SELECT count(*) AS left_in_events FROM taskdb.events;

-- Nobody writes the archive but archival, nobody changes it.
INSERT INTO taskdb.events_archive (id, xact_id, occurred_at, entity, operation)
VALUES (1, '1', now(), 'run', 'insert');
DELETE FROM taskdb.events_archive;
UPDATE taskdb.events_archive SET new_status = 'completed';
TRUNCATE taskdb.events_archive;

-- Bad arguments; archival commits per batch, so not inside a transaction block.
CALL taskdb.archive_events(interval '-1 day');
CALL taskdb.archive_events(NULL);
CALL taskdb.archive_events(interval '1 day', batch_blocks => 0);
SELECT taskdb.archive_event_blocks(now(), -1, 10);
BEGIN;
CALL taskdb.archive_events(interval '0');
ROLLBACK;
SELECT check_name, status FROM taskdb.doctor() WHERE check_name LIKE 'event%';
