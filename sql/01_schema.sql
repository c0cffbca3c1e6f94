--
-- 01_schema: what CREATE EXTENSION taskdb installs.
--
-- Checks the parts of the design the rest of the suite relies on: the
-- extension's schema, the tables and their columns, the CHECK / foreign
-- key / cascade rules, the triggers that maintain task_status, the
-- indexes, COMMENTs on every object, pinned search_path on SQL functions,
-- and the configuration tables pg_dump keeps.
--
SET client_min_messages TO warning;
DROP EXTENSION IF EXISTS taskdb CASCADE;
RESET client_min_messages;
CREATE EXTENSION taskdb;

-- Installed in its own fixed schema, version 1.0.
SELECT e.extname, e.extversion, n.nspname AS schema, e.extrelocatable
  FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
 WHERE e.extname = 'taskdb';

-- The tables and views the design names.
SELECT c.relname, c.relkind
  FROM pg_class c
 WHERE c.relnamespace = 'taskdb'::regnamespace
   AND c.relname IN ('tasks', 'runs', 'gates', 'artifacts', 'task_status',
                     'task_status_derived', 'task_status_derived_mv')
 ORDER BY c.relname;

-- Columns of the base tables (tasks exactly as in the seed plan) and of the
-- summary: name, type, NOT NULL, default.
SELECT a.attrelid::regclass AS tbl, a.attname, format_type(a.atttypid, a.atttypmod) AS type,
       a.attnotnull AS not_null,
       CASE WHEN a.attgenerated <> '' THEN 'GENERATED' ELSE pg_get_expr(d.adbin, d.adrelid) END AS default
  FROM pg_attribute a
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE a.attrelid IN ('taskdb.tasks'::regclass, 'taskdb.runs'::regclass, 'taskdb.gates'::regclass,
                      'taskdb.artifacts'::regclass, 'taskdb.task_status'::regclass)
   AND a.attnum > 0 AND NOT a.attisdropped
 ORDER BY a.attrelid::regclass::text, a.attnum;

-- CHECK constraints (the status/priority/type lists go through check_allowed,
-- which names column, value and allowed values; see 04_constraints).
SELECT conrelid::regclass AS tbl, conname, pg_get_constraintdef(oid) AS def
  FROM pg_constraint
 WHERE connamespace = 'taskdb'::regnamespace AND contype = 'c'
 ORDER BY conrelid::regclass::text, conname;

-- Foreign keys: every child goes away with its parent (ON DELETE CASCADE).
SELECT conrelid::regclass AS tbl, pg_get_constraintdef(oid) AS def
  FROM pg_constraint
 WHERE connamespace = 'taskdb'::regnamespace AND contype = 'f'
 ORDER BY conrelid::regclass::text, conname;

-- gates.task_id is deliberately not a foreign key of its own: it is filled
-- from the run (fill_task_id) and immutable, and the run's FK covers it.

-- Triggers installed on the tables (user-visible ones only).
SELECT tgrelid::regclass AS tbl, tgname,
       CASE WHEN tgtype & 64 <> 0 THEN 'INSTEAD OF' WHEN tgtype & 2 <> 0 THEN 'BEFORE' ELSE 'AFTER' END AS timing,
       CASE WHEN tgtype & 1 <> 0 THEN 'ROW' ELSE 'STATEMENT' END AS level,
       concat_ws(' ', CASE WHEN tgtype & 4 <> 0 THEN 'INSERT' END,
                      CASE WHEN tgtype & 8 <> 0 THEN 'DELETE' END,
                      CASE WHEN tgtype & 16 <> 0 THEN 'UPDATE' END,
                      CASE WHEN tgtype & 32 <> 0 THEN 'TRUNCATE' END) AS events,
       tgoldtable IS NOT NULL AS old_table, tgnewtable IS NOT NULL AS new_table,
       tgfoid::regproc AS function
  FROM pg_trigger
 WHERE NOT tgisinternal
   AND tgrelid IN (SELECT oid FROM pg_class WHERE relnamespace = 'taskdb'::regnamespace)
 ORDER BY tgrelid::regclass::text, tgname;

-- No trigger at all on the summary: nothing but taskdb writes it.
SELECT count(*) AS triggers_on_task_status
  FROM pg_trigger WHERE tgrelid = 'taskdb.task_status'::regclass AND NOT tgisinternal;

-- Indexes that serve cascades and the dashboard queries.
SELECT indexrelid::regclass AS index, indrelid::regclass AS tbl,
       pg_get_indexdef(indexrelid) LIKE '%(status_derived, calculated_at)%' AS on_status_derived
  FROM pg_index
 WHERE indrelid IN ('taskdb.runs'::regclass, 'taskdb.gates'::regclass,
                    'taskdb.artifacts'::regclass, 'taskdb.task_status'::regclass)
   AND NOT indisprimary
 ORDER BY indexrelid::regclass::text;

-- The dashboard query "how many tasks are <status>" can use the index.
SET enable_seqscan = off;
EXPLAIN (COSTS OFF)
SELECT count(*) FROM taskdb.task_status WHERE status_derived = 'blocked';
RESET enable_seqscan;

-- Functions of the API and of the maintenance, with the properties the
-- design asks for (volatility, strictness, no SECURITY DEFINER).
SELECT p.oid::regprocedure AS function, p.provolatile AS vol, p.proisstrict AS strict,
       p.proparallel AS par, p.prosecdef AS secdef, l.lanname
  FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
 WHERE p.pronamespace = 'taskdb'::regnamespace
   AND p.proname IN ('check_allowed', 'derive_status', 'status_derived', 'pending_deltas',
                     'create_task', 'create_run', 'create_gate', 'set_run_status',
                     'set_gate_status', 'system_stats', 'rebuild_status')
 ORDER BY p.proname;

-- Every SQL / PL/pgSQL function pins search_path; the one exception is the
-- procedure archive_events, which COMMITs between batches (a SET clause would
-- forbid that) and schema-qualifies every name instead.
SELECT p.oid::regprocedure AS unpinned
  FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
 WHERE p.pronamespace = 'taskdb'::regnamespace
   AND l.lanname IN ('sql', 'plpgsql')
   AND NOT EXISTS (SELECT 1 FROM unnest(p.proconfig) c WHERE c LIKE 'search_path=%');

-- Every object of the extension has a COMMENT (expect no rows):
-- relations, indexes (except those a PRIMARY KEY creates), columns, functions.
SELECT 'relation' AS kind, c.oid::regclass::text AS object
  FROM pg_class c
 WHERE c.relnamespace = 'taskdb'::regnamespace
   AND c.relkind IN ('r', 'v', 'm', 'i', 'p')
   AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = c.oid)
   AND obj_description(c.oid, 'pg_class') IS NULL
UNION ALL
SELECT 'column', a.attrelid::regclass || '.' || a.attname
  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
 WHERE c.relnamespace = 'taskdb'::regnamespace AND c.relkind = 'r'
   AND a.attnum > 0 AND NOT a.attisdropped
   AND col_description(a.attrelid, a.attnum) IS NULL
UNION ALL
SELECT 'function', p.oid::regprocedure::text
  FROM pg_proc p
 WHERE p.pronamespace = 'taskdb'::regnamespace
   AND obj_description(p.oid, 'pg_proc') IS NULL
 ORDER BY 1, 2;

-- Everything in schema taskdb belongs to the extension (so DROP EXTENSION
-- removes it; see 07_dump_config).  Expect no rows.
SELECT c.oid::regclass AS not_a_member
  FROM pg_class c
 WHERE c.relnamespace = 'taskdb'::regnamespace AND c.relkind IN ('r', 'v', 'm', 'S', 'p')
   AND NOT EXISTS (SELECT 1 FROM pg_depend d
                    WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                      AND d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e');

-- The summary starts empty and follows tasks from the first insert.
SELECT count(*) AS summary_rows FROM taskdb.task_status;
