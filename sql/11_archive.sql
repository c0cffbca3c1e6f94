--
-- 11_archive: CALL taskdb.archive_events() moves whole time partitions of
-- taskdb.history to taskdb.history_archive; nothing else may write either;
-- verification still explains changes whose events were archived.
--
-- In 1.0 archival walked the table's blocks and stopped at the first range
-- holding newer events, assuming physical order was time order: after
-- VACUUM freed early blocks, newer events filled them and later archivals
-- moved nothing.  Here the history is cut by time (two-second partitions,
-- so the test does not wait long): events A, then events B a partition
-- later, archive A only, VACUUM, events C (written where VACUUM freed
-- room, if anywhere), then archive with B due: every B event moves, C stays.
--
\i sql/include/fresh.sql

SET taskdb.history_partition_interval = '2 seconds';
SELECT count(*) > 10 AS partitions_made FROM taskdb.maintain_history(premake => 15);
-- Start A just after a partition begins, so each phase fits in one partition.
SELECT pg_sleep(2.05 - (extract(epoch FROM clock_timestamp())::numeric % 2)) AS aligned;

-- A: three tasks with a running run each, and a report about them.
INSERT INTO taskdb.tasks (id, title, policy_version)
SELECT ('10000000-0000-4000-8000-00000000000' || i)::uuid, 'task ' || i, '1' FROM generate_series(1, 3) i;
INSERT INTO taskdb.runs (id, task_id, status)
SELECT ('20000000-0000-4000-8000-00000000000' || i)::uuid, ('10000000-0000-4000-8000-00000000000' || i)::uuid,
       'running' FROM generate_series(1, 3) i;
SELECT taskdb.publish_report(jsonb_build_array(
         jsonb_build_object('kind', 'run_id', 'id', '20000000-0000-4000-8000-000000000001'),
         jsonb_build_object('kind', 'status_derived', 'id', '10000000-0000-4000-8000-000000000001'))) AS rep \gset
SELECT p.upper AS a_end FROM taskdb.history_partitions() p
 WHERE p.parent = 'taskdb.history'::regclass AND p.lower <= statement_timestamp() AND p.upper > statement_timestamp() \gset
SELECT pg_sleep(2.1);

-- B: run 1 fails, and 300 more runs for task 2 (a few hundred events).
UPDATE taskdb.runs SET status = 'failed' WHERE id = '20000000-0000-4000-8000-000000000001';
INSERT INTO taskdb.runs (task_id, status)
SELECT '10000000-0000-4000-8000-000000000002', 'queued' FROM generate_series(1, 300);
SELECT p.upper AS b_end FROM taskdb.history_partitions() p
 WHERE p.parent = 'taskdb.history'::regclass AND p.lower <= statement_timestamp() AND p.upper > statement_timestamp() \gset
SELECT pg_sleep(2.1);
SELECT entity, operation, count(*) FROM taskdb.events GROUP BY 1, 2 ORDER BY 1, 2;

-- Archive what ended by A's end: A only.
CALL taskdb.archive_events(now() - :'a_end'::timestamptz);
SELECT (SELECT count(*) FROM taskdb.events) AS left_in_events,
       (SELECT count(*) FROM taskdb.events_archive) AS archived,
       (SELECT count(*) FROM taskdb.event_history) AS whole_history;
SELECT entity, operation, count(*) FROM taskdb.events_archive GROUP BY 1, 2 ORDER BY 1, 2;

-- VACUUM, then C: new events.
VACUUM taskdb.history;
UPDATE taskdb.runs SET status = 'completed' WHERE task_id = '10000000-0000-4000-8000-000000000003';

-- Archive what ended by B's end: every B event moves, C's stay.
CALL taskdb.archive_events(now() - :'b_end'::timestamptz);
SELECT (SELECT count(*) FROM taskdb.events) AS left_in_events,
       (SELECT count(*) FROM taskdb.events_archive) AS archived,
       (SELECT count(*) FROM taskdb.event_history) AS whole_history;
SELECT entity, operation, count(*) FROM taskdb.events GROUP BY 1, 2 ORDER BY 1, 2;
-- Archived whole and unchanged: the partitions moved, with their events counted.
SELECT count(*) > 0 AS partitions_archived,
       sum(a.events) = (SELECT count(*) FROM taskdb.events_archive) AS counts_match,
       bool_and(a.archived_at IS NOT NULL) AS stamped
  FROM taskdb.history_archived a;
SELECT count(*) AS archived_partitions_still_in_history
  FROM taskdb.history_partitions() p JOIN taskdb.history_archived a ON a.partition = p.partition::text
 WHERE p.parent = 'taskdb.history'::regclass;

-- Verification still explains the change, from the archive.
SELECT kind, status, mismatch, changed_at IS NOT NULL AS has_time
  FROM taskdb.verify_provenance(:'rep') WHERE kind <> 'signature';

-- Nobody writes the archive or the history through SQL, nobody changes them.
INSERT INTO taskdb.events_archive (id, xact_id, occurred_at, entity, operation)
VALUES (1, '1', now(), 'run', 'insert');
DELETE FROM taskdb.events_archive;
UPDATE taskdb.events_archive SET new_status = 'completed';
INSERT INTO taskdb.history_archive (occurred_at, xact_id, id, era, entity, operation, entity_ids)
VALUES (now() - interval '1 hour', '1', 1, 1, 'r', 'i', '{}');
DELETE FROM taskdb.history_archive;
UPDATE taskdb.history_archive SET era = 2;
TRUNCATE taskdb.history_archive;
-- Nor each partition directly (their names carry their times, so only the
-- outcome is shown): an archived one, a current one, the default.
DO $$
DECLARE
    p record;
    stmt text;
BEGIN
    FOR p IN (SELECT h.partition::text AS name, h.lower AS ts FROM taskdb.history_partitions() h
               WHERE h.parent = 'taskdb.history_archive'::regclass ORDER BY h.lower LIMIT 1)
             UNION ALL
             (SELECT h.partition::text, h.lower FROM taskdb.history_partitions() h
               WHERE h.parent = 'taskdb.history'::regclass AND h.upper > now() ORDER BY h.lower LIMIT 1)
             UNION ALL
             SELECT 'taskdb.history_default', now() - interval '100 years' LOOP
        FOREACH stmt IN ARRAY ARRAY[
                format('INSERT INTO %s (occurred_at, xact_id, id, era, entity, operation, entity_ids) VALUES (%L, ''1'', 1, 1, ''r'', ''i'', ''{}'')',
                       p.name, p.ts),
                format('UPDATE %s SET era = 2', p.name), format('DELETE FROM %s', p.name), format('TRUNCATE %s', p.name)] LOOP
            BEGIN
                EXECUTE stmt;
                RAISE NOTICE '% on %: allowed', split_part(stmt, ' ', 1),
                             CASE WHEN p.name = 'taskdb.history_default' THEN 'the default partition' ELSE 'a partition' END;
            EXCEPTION WHEN insufficient_privilege THEN
                RAISE NOTICE '% on %: refused (%)', split_part(stmt, ' ', 1),
                             CASE WHEN p.name = 'taskdb.history_default' THEN 'the default partition' ELSE 'a partition' END, SQLSTATE;
            END;
        END LOOP;
    END LOOP;
END $$;

-- Bad arguments; archival commits per partition, so not inside a transaction block.
CALL taskdb.archive_events(interval '-1 day');
CALL taskdb.archive_events(NULL);
BEGIN;
CALL taskdb.archive_events(interval '0');
ROLLBACK;
SET taskdb.history_partition_interval = '5 weeks and a bit';
SELECT * FROM taskdb.maintain_history();
SET taskdb.history_partition_interval = '5 months';
SELECT * FROM taskdb.maintain_history();
SET taskdb.history_partition_interval = '0.5 seconds';
SELECT * FROM taskdb.maintain_history();
RESET taskdb.history_partition_interval;
SELECT * FROM taskdb.maintain_history(premake => -1);
SELECT check_name, status FROM taskdb.doctor() WHERE check_name LIKE '%history%';
