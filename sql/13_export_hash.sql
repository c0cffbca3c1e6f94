--
-- 13_export_hash: taskdb.generate_synthetic() loads a deterministic dataset
-- through the normal path; taskdb.export_hash() is a canonical hash of all
-- data: equal for equal data whatever the physical order, VACUUM, the
-- session's settings or calculated_at, different after any committed change.
--
\i sql/include/fresh.sql
\i sql/include/helpers.sql

-- The empty database has a hash too.
SELECT taskdb.export_hash() ~ '^sha256:[0-9a-f]{64}$' AS well_formed;
SELECT taskdb.export_hash() AS h_empty \gset

-- One transaction; a progress NOTICE per chunk of tasks (they carry times: not shown).
SET client_min_messages TO warning;
SELECT * FROM taskdb.generate_synthetic(40, 3, 2, 100, seed => 7);
RESET client_min_messages;
-- What it says it wrote is what is there, and every row went through the
-- maintenance path: one event per row written, the summary exact.
SELECT (SELECT count(*) FROM taskdb.tasks) AS tasks, (SELECT count(*) FROM taskdb.runs) AS runs,
       (SELECT count(*) FROM taskdb.gates) AS gates, (SELECT count(*) FROM taskdb.artifacts) AS artifacts,
       (SELECT count(*) FROM taskdb.events) AS events;
SELECT entity, operation, count(*) FROM taskdb.events GROUP BY 1, 2 ORDER BY 1, 2;
SELECT * FROM drift;
-- Each artifact's run is a run of its task, every gate's task its run's.
SELECT count(*) AS mismatched FROM taskdb.artifacts a JOIN taskdb.runs r ON r.id = a.run_id
 WHERE r.task_id <> a.task_id;
SELECT count(*) AS artifacts_per_task_spread FROM (
    SELECT task_id, count(*) FROM taskdb.artifacts GROUP BY 1 HAVING count(*) NOT BETWEEN 2 AND 3) x;
-- Times are fixed, not now().
SELECT min(created_at) AS first_created, max(updated_at) AS last_updated FROM taskdb.runs;

SELECT taskdb.export_hash() AS h1 \gset
SELECT :'h1' <> :'h_empty' AS differs_from_empty;

-- Deterministic: the same seed again, after removing everything, gives the
-- same data (task_status rows are new, calculated_at differs: not hashed).
TRUNCATE taskdb.tasks CASCADE;
SET client_min_messages TO warning;
SELECT events_written FROM taskdb.generate_synthetic(40, 3, 2, 100, seed => 7);
RESET client_min_messages;
SELECT taskdb.export_hash() = :'h1' AS same_seed_same_hash;
-- Loading it twice is refused.
SELECT taskdb.generate_synthetic(40, 3, 2, 100, seed => 7);

-- Independent of the session's settings.
BEGIN;
SET LOCAL TimeZone = 'Pacific/Chatham';
SET LOCAL DateStyle = 'SQL, DMY';
SET LOCAL IntervalStyle = 'sql_standard';
SET LOCAL extra_float_digits = -10;
SET LOCAL bytea_output = 'escape';
SET LOCAL search_path = pg_temp;
SELECT taskdb.export_hash() = :'h1' AS same_under_other_settings;
COMMIT;

-- Independent of physical order and VACUUM: rewrite a row to where it
-- lands at the end of the table, change it back, VACUUM FULL.
SELECT ctid AS ctid_before FROM taskdb.tasks ORDER BY id LIMIT 1 \gset
UPDATE taskdb.tasks SET title = title || '~' WHERE id = (SELECT id FROM taskdb.tasks ORDER BY id LIMIT 1);
SELECT taskdb.export_hash() <> :'h1' AS a_changed_task_changes_it;
UPDATE taskdb.tasks SET title = left(title, -1) WHERE id = (SELECT id FROM taskdb.tasks ORDER BY id LIMIT 1);
SELECT ctid <> :'ctid_before' AS row_moved FROM taskdb.tasks ORDER BY id LIMIT 1;
SELECT taskdb.export_hash() = :'h1' AS changed_back_same_hash;
VACUUM FULL taskdb.tasks;
VACUUM FULL taskdb.runs;
VACUUM taskdb.gates;
SELECT taskdb.export_hash() = :'h1' AS same_after_vacuum_full;
-- calculated_at is not data.
UPDATE taskdb.task_status SET calculated_at = calculated_at - interval '1 day';
SELECT taskdb.export_hash() = :'h1' AS same_with_other_calculated_at;

-- Any committed change to any hashed table changes it.
BEGIN; UPDATE taskdb.tasks SET title = title || '.' WHERE id = (SELECT id FROM taskdb.tasks ORDER BY id DESC LIMIT 1);
SELECT 'task title' AS change, taskdb.export_hash() <> :'h1' AS differs; ROLLBACK;
BEGIN; UPDATE taskdb.tasks SET metadata = NULL WHERE id = (SELECT id FROM taskdb.tasks ORDER BY id DESC LIMIT 1);
SELECT 'task metadata to NULL' AS change, taskdb.export_hash() <> :'h1' AS differs; ROLLBACK;
BEGIN; UPDATE taskdb.gates SET status = 'fail' WHERE id = (SELECT id FROM taskdb.gates WHERE status = 'pass' ORDER BY id LIMIT 1);
SELECT 'gate status (and the summary)' AS change, taskdb.export_hash() <> :'h1' AS differs; ROLLBACK;
BEGIN; UPDATE taskdb.runs SET finished_at = finished_at + interval '1 microsecond' WHERE id = (SELECT id FROM taskdb.runs WHERE finished_at IS NOT NULL ORDER BY id LIMIT 1);
SELECT 'run time by 1 microsecond' AS change, taskdb.export_hash() <> :'h1' AS differs; ROLLBACK;
BEGIN; UPDATE taskdb.artifacts SET media_type = 'text/plain' WHERE id = (SELECT id FROM taskdb.artifacts ORDER BY id LIMIT 1);
SELECT 'artifact media type' AS change, taskdb.export_hash() <> :'h1' AS differs; ROLLBACK;
BEGIN; DELETE FROM taskdb.gates WHERE id = (SELECT id FROM taskdb.gates ORDER BY id LIMIT 1);
SELECT 'a gate deleted' AS change, taskdb.export_hash() <> :'h1' AS differs; ROLLBACK;
BEGIN; UPDATE taskdb.task_status SET health_score = health_score + 1e-9 WHERE task_id = (SELECT task_id FROM taskdb.task_status ORDER BY task_id LIMIT 1);
SELECT 'a summary value' AS change, taskdb.export_hash() <> :'h1' AS differs; ROLLBACK;
BEGIN; SELECT taskdb.publish_report(jsonb_build_array(jsonb_build_object('kind', 'task_id', 'id', (SELECT id FROM taskdb.tasks ORDER BY id LIMIT 1)))) IS NOT NULL AS published;
SELECT 'a report published' AS change, taskdb.export_hash() <> :'h1' AS differs; ROLLBACK;
-- Two rows swapping a value: the multiset of values is the same, the data is not.
BEGIN; UPDATE taskdb.tasks t SET owner = CASE WHEN t.id = a.lo THEN a.hi_owner ELSE a.lo_owner END
  FROM (SELECT (SELECT id FROM taskdb.tasks ORDER BY id LIMIT 1) AS lo,
               (SELECT id FROM taskdb.tasks ORDER BY id DESC LIMIT 1) AS hi,
               (SELECT owner FROM taskdb.tasks ORDER BY id LIMIT 1) AS lo_owner,
               (SELECT owner FROM taskdb.tasks ORDER BY id DESC LIMIT 1) AS hi_owner) a
 WHERE t.id IN (a.lo, a.hi);
SELECT 'two rows swap their owners' AS change, taskdb.export_hash() <> :'h1' AS differs; ROLLBACK;
SELECT taskdb.export_hash() = :'h1' AS all_rolled_back;

-- Another seed, other data.
TRUNCATE taskdb.tasks CASCADE;
SET client_min_messages TO warning;
SELECT tasks_created FROM taskdb.generate_synthetic(40, 3, 2, 100, seed => 8);
RESET client_min_messages;
SELECT taskdb.export_hash() <> :'h1' AS other_seed_other_hash;

-- Edge sizes and bad input (progress NOTICEs carry times: not shown).
TRUNCATE taskdb.tasks CASCADE;
SET client_min_messages TO warning;
SELECT * FROM taskdb.generate_synthetic(0, 3, 2, 0);
SELECT * FROM taskdb.generate_synthetic(3, 0, 5, 4, seed => 1);
SELECT count(*) FILTER (WHERE run_id IS NULL) AS artifacts_without_run FROM taskdb.artifacts;
SELECT * FROM taskdb.generate_synthetic(2, 1, 0, seed => 2);
SELECT taskdb.generate_synthetic(-1);
SELECT taskdb.generate_synthetic(1, -2);
SELECT taskdb.generate_synthetic(0, 1, 1, 5);
SELECT taskdb.generate_synthetic(NULL);
SELECT taskdb.generate_synthetic(1, seed => NULL);
RESET client_min_messages;
-- An application role may hash (with SELECT) but not generate.
CREATE ROLE taskdb_hash_reader;
GRANT USAGE ON SCHEMA taskdb TO taskdb_hash_reader;
GRANT SELECT ON taskdb.tasks, taskdb.runs, taskdb.gates, taskdb.artifacts, taskdb.reports, taskdb.task_status TO taskdb_hash_reader;
SET ROLE taskdb_hash_reader;
SELECT taskdb.export_hash() ~ '^sha256:' AS reader_can_hash;
SELECT taskdb.generate_synthetic(1, seed => 99);
RESET ROLE;
REVOKE ALL ON taskdb.tasks, taskdb.runs, taskdb.gates, taskdb.artifacts, taskdb.reports, taskdb.task_status FROM taskdb_hash_reader;
REVOKE USAGE ON SCHEMA taskdb FROM taskdb_hash_reader;
DROP ROLE taskdb_hash_reader;
