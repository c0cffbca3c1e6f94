--
-- 18_history_compression: what an UPDATE changed is kept compressed in the
-- history row (lz4 where the server is built with it, else pglz) once it is
-- 128 bytes or more, and reads back exactly.  Uncompressed, the changes of
-- a few updated runs were most of the history's size: repeated keys and
-- timestamps that TOAST compresses only in rows of more than 2 kB.
--
\i sql/include/fresh.sql

INSERT INTO taskdb.tasks (id, title, policy_version)
VALUES ('18000000-0000-4000-8000-000000000001', 'eighteen', '1');
INSERT INTO taskdb.runs (id, task_id, status)
SELECT ('18000000-0000-4000-8000-0000000000' || lpad(i::text, 2, '0'))::uuid,
       '18000000-0000-4000-8000-000000000001', 'queued'
  FROM generate_series(1, 12) i;

-- One statement, one task: one history row with twelve events.
UPDATE taskdb.runs
   SET status = 'running',
       started_at = '2026-01-01 00:00:00+00'::timestamptz + make_interval(secs => right(id::text, 2)::int),
       metrics = jsonb_build_object('attempt', right(id::text, 2)::int, 'note', 'started by the scheduler')
 WHERE task_id = '18000000-0000-4000-8000-000000000001';

-- Stored compressed, and smaller than the jsonb it holds.
SELECT cardinality(entity_ids) AS events,
       pg_column_compression(changes) IN ('lz4', 'pglz') AS compressed,
       pg_column_size(changes) < octet_length(changes::text) AS smaller
  FROM taskdb.history WHERE entity = 'r' AND operation = 'u';

-- Each event's changes, read through the view, are what the statement did.
SELECT right(e.entity_id::text, 2) AS run, e.old_status, e.new_status,
       e.changes->'started_at'->>'new' = to_jsonb(r.started_at)->>0 AS started_at_ok,
       e.changes->'metrics'->'new' = r.metrics AS metrics_ok,
       e.changes->'metrics'->'old' = 'null'::jsonb AS old_metrics_null
  FROM taskdb.events e JOIN taskdb.runs r ON r.id = e.entity_id
 WHERE e.entity = 'run' AND e.operation = 'update'
 ORDER BY e.id;

-- A small change stays as it is.
UPDATE taskdb.runs SET metrics = '{"a": 1}' WHERE id = '18000000-0000-4000-8000-000000000001';
SELECT pg_column_compression(changes) AS compression, changes
  FROM taskdb.history WHERE entity = 'r' AND operation = 'u' ORDER BY id DESC LIMIT 1;
