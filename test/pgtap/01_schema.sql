--
-- 01_schema: the objects CREATE EXTENSION taskdb installs, and their
-- properties: tables, the history and its sequence, columns (type, nullability,
-- defaults), keys, foreign keys with ON DELETE CASCADE, indexes, trigger
-- definitions (the history's append-only guards fire ALWAYS), functions with
-- their volatility / strictness / parallel safety / language / search_path,
-- a COMMENT on every table, column, view, sequence, index and function, and
-- which tables pg_dump keeps.
--
-- Run with pg_prove; everything happens in one rolled-back transaction.
--
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS taskdb;

SELECT plan(332);

--
-- The extension
--
SELECT has_extension('taskdb', 'extension taskdb is installed');
SELECT is((SELECT n.nspname::text FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
            WHERE e.extname = 'taskdb'), 'taskdb', 'extension lives in schema taskdb');
SELECT is((SELECT extrelocatable FROM pg_extension WHERE extname = 'taskdb'), false,
          'extension is not relocatable');
SELECT has_schema('taskdb');

--
-- Tables and views: exactly these
--
SELECT tables_are('taskdb', ARRAY['tasks', 'runs', 'gates', 'artifacts', 'task_status', 'reports', 'signing_key',
                                  'eras', 'history', 'history_default', 'history_archive', 'history_archived'],
                  'schema taskdb has exactly the tables tasks, runs, gates, artifacts, task_status, reports, signing_key, eras, history (partitioned, with its default partition), history_archive and history_archived');
SELECT views_are('taskdb', ARRAY['task_status_derived', 'task_status_derived_mv', 'events', 'events_archive',
                                 'event_history', 'stat'],
                 'schema taskdb has exactly the views task_status_derived, task_status_derived_mv, events, events_archive, event_history and stat');
SELECT sequences_are('taskdb', ARRAY['history_id_seq', 'report_stamp_seq'], 'the sequences are history_id_seq and report_stamp_seq');
SELECT is((SELECT ARRAY[seqstart, seqincrement, seqcache] FROM pg_sequence
            WHERE seqrelid = 'taskdb.history_id_seq'::regclass),
          ARRAY[1, 64, 1]::bigint[], 'history_id_seq starts at 1, steps by 64 (the events of a row) and caches nothing (ids follow write order)');
SELECT is((SELECT count(*)::int FROM pg_class
            WHERE relnamespace = 'taskdb'::regnamespace AND relkind IN ('m', 'f', 'c')),
          0, 'no materialized views, foreign tables or composite types');
SELECT is(ARRAY(SELECT oid::regclass::text FROM pg_class
                 WHERE relnamespace = 'taskdb'::regnamespace AND relkind = 'p' ORDER BY 1),
          ARRAY['taskdb.history', 'taskdb.history_archive'], 'the partitioned tables are history and history_archive');
SELECT is((SELECT pg_get_partkeydef('taskdb.history'::regclass)), 'RANGE (occurred_at)',
          'history is partitioned by range of occurred_at');
SELECT is((SELECT pg_get_partkeydef('taskdb.history_archive'::regclass)), 'RANGE (occurred_at)',
          'history_archive is partitioned by range of occurred_at');
SELECT is((SELECT pg_get_expr(relpartbound, oid) FROM pg_class WHERE oid = 'taskdb.history_default'::regclass),
          'DEFAULT', 'history_default is the default partition of history');

--
-- Columns: exactly these, in this order
--
SELECT columns_are('taskdb', 'tasks',
    ARRAY['id', 'title', 'description', 'status', 'priority', 'policy_version', 'feature', 'owner',
          'created_at', 'updated_at', 'completed_at', 'summary', 'dependencies', 'metadata']);
SELECT columns_are('taskdb', 'runs',
    ARRAY['id', 'task_id', 'status', 'tool_calls', 'metrics', 'started_at', 'finished_at',
          'created_at', 'updated_at']);
SELECT columns_are('taskdb', 'gates',
    ARRAY['id', 'run_id', 'task_id', 'name', 'type', 'status', 'checks', 'created_at']);
SELECT columns_are('taskdb', 'artifacts',
    ARRAY['id', 'task_id', 'run_id', 'path', 'sha256', 'size_bytes', 'media_type', 'content', 'created_at']);
SELECT columns_are('taskdb', 'task_status',
    ARRAY['task_id', 'runs_total', 'runs_running', 'runs_completed', 'runs_failed', 'gates_failed',
          'status_derived', 'health_score', 'calculated_at']);
SELECT columns_are('taskdb', 'events',
    ARRAY['id', 'xact_id', 'occurred_at', 'task_id', 'entity', 'entity_id', 'operation', 'old_status',
          'new_status', 'changes', 'era']);
SELECT columns_are('taskdb', 'history',
    ARRAY['occurred_at', 'xact_id', 'id', 'era', 'entity', 'operation', 'task_id', 'entity_ids', 'statuses',
          'changes', 'archived_at']);
SELECT columns_are('taskdb', 'reports',
    ARRAY['id', 'verification_snapshot_ts', 'snapshot', 'published_by', 'claims_count', 'report', 'created_at']);
SELECT columns_are('taskdb', 'signing_key', ARRAY['key', 'created_at']);
SELECT columns_are('taskdb', 'task_status_derived',
    ARRAY['task_id', 'stored_status', 'status_derived', 'health_score', 'calculated_at', 'runs_total',
          'runs_running', 'runs_completed', 'runs_failed', 'gates_failed']);
SELECT columns_are('taskdb', 'task_status_derived_mv',
    ARRAY['task_id', 'stored_status', 'status_derived', 'health_score', 'calculated_at']);

-- Column types and nullability (70 columns, two tests each).
CREATE TEMP TABLE expected_columns (tab name, col name, typ text, not_null boolean) ON COMMIT DROP;
INSERT INTO expected_columns VALUES
    ('tasks', 'id', 'uuid', true),
    ('tasks', 'title', 'character varying(255)', true),
    ('tasks', 'description', 'text', false),
    ('tasks', 'status', 'character varying(20)', true),
    ('tasks', 'priority', 'character varying(10)', true),
    ('tasks', 'policy_version', 'character varying(20)', true),
    ('tasks', 'feature', 'character varying(100)', false),
    ('tasks', 'owner', 'character varying(100)', false),
    ('tasks', 'created_at', 'timestamp with time zone', true),
    ('tasks', 'updated_at', 'timestamp with time zone', true),
    ('tasks', 'completed_at', 'timestamp with time zone', false),
    ('tasks', 'summary', 'text', false),
    ('tasks', 'dependencies', 'jsonb', false),
    ('tasks', 'metadata', 'jsonb', false),
    ('runs', 'id', 'uuid', true),
    ('runs', 'task_id', 'uuid', true),
    ('runs', 'status', 'character varying(20)', true),
    ('runs', 'tool_calls', 'jsonb', false),
    ('runs', 'metrics', 'jsonb', false),
    ('runs', 'started_at', 'timestamp with time zone', false),
    ('runs', 'finished_at', 'timestamp with time zone', false),
    ('runs', 'created_at', 'timestamp with time zone', true),
    ('runs', 'updated_at', 'timestamp with time zone', true),
    ('gates', 'id', 'uuid', true),
    ('gates', 'run_id', 'uuid', true),
    ('gates', 'task_id', 'uuid', true),
    ('gates', 'name', 'character varying(255)', true),
    ('gates', 'type', 'character varying(20)', true),
    ('gates', 'status', 'character varying(20)', true),
    ('gates', 'checks', 'jsonb', false),
    ('gates', 'created_at', 'timestamp with time zone', true),
    ('artifacts', 'id', 'uuid', true),
    ('artifacts', 'task_id', 'uuid', true),
    ('artifacts', 'run_id', 'uuid', false),
    ('artifacts', 'path', 'text', true),
    ('artifacts', 'sha256', 'text', true),
    ('artifacts', 'size_bytes', 'bigint', false),
    ('artifacts', 'media_type', 'text', false),
    ('artifacts', 'content', 'bytea', false),
    ('artifacts', 'created_at', 'timestamp with time zone', true),
    ('task_status', 'task_id', 'uuid', true),
    ('task_status', 'runs_total', 'bigint', true),
    ('task_status', 'runs_running', 'bigint', true),
    ('task_status', 'runs_completed', 'bigint', true),
    ('task_status', 'runs_failed', 'bigint', true),
    ('task_status', 'gates_failed', 'bigint', true),
    ('task_status', 'status_derived', 'text', true),
    ('task_status', 'health_score', 'double precision', true),
    ('task_status', 'calculated_at', 'timestamp with time zone', true),
    ('history', 'occurred_at', 'timestamp with time zone', true),
    ('history', 'xact_id', 'xid8', true),
    ('history', 'id', 'bigint', true),
    ('history', 'era', 'integer', true),
    ('history', 'entity', 'char', true),
    ('history', 'operation', 'char', true),
    ('history', 'task_id', 'uuid', false),
    ('history', 'entity_ids', 'uuid[]', true),
    ('history', 'statuses', 'bytea', false),
    ('history', 'changes', 'jsonb', false),
    ('history', 'archived_at', 'timestamp with time zone', false),
    ('reports', 'id', 'uuid', true),
    ('reports', 'verification_snapshot_ts', 'timestamp with time zone', true),
    ('reports', 'snapshot', 'pg_snapshot', true),
    ('reports', 'published_by', 'text', true),
    ('reports', 'claims_count', 'integer', true),
    ('reports', 'report', 'jsonb', true),
    ('reports', 'created_at', 'timestamp with time zone', true),
    ('signing_key', 'key', 'bytea', true),
    ('signing_key', 'created_at', 'timestamp with time zone', true);
SELECT col_type_is('taskdb', tab, col, typ, format('%s.%s is %s', tab, col, typ))
  FROM expected_columns WHERE typ <> 'char' ORDER BY tab, col;
-- The one-byte "char" columns from the catalog: pgTAP versions spell the
-- type name differently (1.1 compares '"char"', 1.3 reads 'char' as character(1)).
SELECT is(format_type(a.atttypid, a.atttypmod), '"char"', format('%s.%s is "char"', e.tab, e.col))
  FROM expected_columns e
  JOIN pg_attribute a ON a.attrelid = format('taskdb.%I', e.tab)::regclass AND a.attname = e.col
 WHERE e.typ = 'char' ORDER BY e.tab, e.col;
SELECT CASE WHEN not_null
            THEN col_not_null('taskdb', tab, col, format('%s.%s is NOT NULL', tab, col))
            ELSE col_is_null('taskdb', tab, col, format('%s.%s allows NULL', tab, col)) END
  FROM expected_columns ORDER BY tab, col;

-- Defaults.
SELECT col_default_is('taskdb', 'tasks', 'id', 'gen_random_uuid()', 'tasks.id defaults to gen_random_uuid()');
SELECT col_default_is('taskdb', 'tasks', 'status', 'pending', 'tasks.status defaults to pending');
SELECT col_default_is('taskdb', 'tasks', 'priority', 'medium', 'tasks.priority defaults to medium');
SELECT col_default_is('taskdb', 'tasks', 'created_at', 'now()', 'tasks.created_at defaults to now()');
SELECT col_default_is('taskdb', 'tasks', 'updated_at', 'now()', 'tasks.updated_at defaults to now()');
SELECT col_default_is('taskdb', 'runs', 'id', 'gen_random_uuid()', 'runs.id defaults to gen_random_uuid()');
SELECT col_default_is('taskdb', 'runs', 'status', 'queued', 'runs.status defaults to queued');
SELECT col_default_is('taskdb', 'gates', 'id', 'gen_random_uuid()', 'gates.id defaults to gen_random_uuid()');
SELECT col_default_is('taskdb', 'gates', 'status', 'pending', 'gates.status defaults to pending');
SELECT col_hasnt_default('taskdb', 'gates', 'task_id', 'gates.task_id has no default (taskdb fills it from the run)');
SELECT col_default_is('taskdb', 'artifacts', 'id', 'gen_random_uuid()', 'artifacts.id defaults to gen_random_uuid()');
SELECT col_default_is('taskdb', 'task_status', 'runs_total', '0', 'task_status.runs_total defaults to 0');
SELECT col_default_is('taskdb', 'task_status', 'gates_failed', '0', 'task_status.gates_failed defaults to 0');
SELECT col_default_is('taskdb', 'task_status', 'status_derived', 'pending', 'task_status.status_derived defaults to pending');
SELECT col_default_is('taskdb', 'task_status', 'health_score', '0', 'task_status.health_score defaults to 0');
SELECT is(ARRAY(SELECT a.attname::text FROM pg_attribute a
                 WHERE a.attrelid IN ('taskdb.history'::regclass, 'taskdb.history_archive'::regclass)
                   AND a.attnum > 0 AND NOT a.attisdropped AND a.atthasdef ORDER BY a.attnum),
          '{}'::text[], 'no history column has a default: taskdb computes every value it writes');
SELECT col_hasnt_default('taskdb', 'reports', 'id', 'reports.id has no default (publish_report makes the report_id)');
SELECT col_default_is('taskdb', 'reports', 'created_at', 'now()', 'reports.created_at defaults to now()');
SELECT col_default_is('taskdb', 'signing_key', 'created_at', 'now()', 'signing_key.created_at defaults to now()');

--
-- Primary keys
--
SELECT col_is_pk('taskdb', 'tasks', 'id', 'tasks.id is the primary key');
SELECT col_is_pk('taskdb', 'runs', 'id', 'runs.id is the primary key');
SELECT col_is_pk('taskdb', 'gates', 'id', 'gates.id is the primary key');
SELECT col_is_pk('taskdb', 'artifacts', 'id', 'artifacts.id is the primary key');
SELECT col_is_pk('taskdb', 'task_status', 'task_id', 'task_status.task_id is the primary key');
SELECT hasnt_pk('taskdb', 'history', 'history has no primary key index: ids come from history_id_seq and only taskdb inserts');
SELECT col_is_pk('taskdb', 'reports', 'id', 'reports.id is the primary key');
SELECT hasnt_pk('taskdb', 'signing_key', 'signing_key has no primary key (keys are compared as a set)');
SELECT col_is_unique('taskdb', 'reports', 'verification_snapshot_ts', 'reports.verification_snapshot_ts is UNIQUE');
SELECT isnt(obj_description((SELECT oid FROM pg_constraint
                              WHERE conname = 'reports_verification_snapshot_ts_key'
                                AND conrelid = 'taskdb.reports'::regclass), 'pg_constraint'),
            NULL, 'the UNIQUE constraint on reports.verification_snapshot_ts has a COMMENT');

--
-- Foreign keys: exactly these, all ON DELETE CASCADE
--
SELECT fk_ok('taskdb', 'runs', 'task_id', 'taskdb', 'tasks', 'id');
SELECT fk_ok('taskdb', 'gates', 'run_id', 'taskdb', 'runs', 'id');
SELECT fk_ok('taskdb', 'artifacts', 'task_id', 'taskdb', 'tasks', 'id');
SELECT fk_ok('taskdb', 'artifacts', 'run_id', 'taskdb', 'runs', 'id');
SELECT fk_ok('taskdb', 'task_status', 'task_id', 'taskdb', 'tasks', 'id');
SELECT results_eq(
    $$SELECT c.conrelid::regclass::text, c.confrelid::regclass::text,
             (SELECT string_agg(a.attname::text, ',' ORDER BY a.attnum) COLLATE "default" FROM pg_attribute a
               WHERE a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)),
             c.confdeltype::text, c.confupdtype::text, c.condeferrable
        FROM pg_constraint c
       WHERE c.contype = 'f' AND c.connamespace = 'taskdb'::regnamespace
       ORDER BY 1, 3$$,
    $$VALUES ('taskdb.artifacts', 'taskdb.runs', 'run_id', 'c', 'a', false),
             ('taskdb.artifacts', 'taskdb.tasks', 'task_id', 'c', 'a', false),
             ('taskdb.gates', 'taskdb.runs', 'run_id', 'c', 'a', false),
             ('taskdb.runs', 'taskdb.tasks', 'task_id', 'c', 'a', false),
             ('taskdb.task_status', 'taskdb.tasks', 'task_id', 'c', 'a', false)$$,
    'the only foreign keys are these five, each ON DELETE CASCADE, not deferrable (history.task_id is none: the history outlives the task)');

--
-- CHECK constraints: the allowed-values helpers, the key
-- length, eras from 2, and no CHECK on task_status or the history (only taskdb writes them)
--
SELECT results_eq(
    $$SELECT conrelid::regclass::text, conname::text COLLATE "default", pg_get_constraintdef(oid)
        FROM pg_constraint
       WHERE contype = 'c' AND connamespace = 'taskdb'::regnamespace
       ORDER BY 1, 2$$,
    $$VALUES ('taskdb.artifacts', 'valid_sha256', 'CHECK (taskdb.check_sha256(''artifacts.sha256''::text, sha256))'),
             ('taskdb.artifacts', 'valid_size', 'CHECK (((size_bytes IS NULL) OR (size_bytes >= 0)))'),
             ('taskdb.eras', 'eras_era_check', 'CHECK ((era > 1))'),
             ('taskdb.gates', 'valid_gate_status', 'CHECK (taskdb.check_allowed(''gates.status''::text, (status)::text, ''{pending,pass,fail,skipped}''::text[]))'),
             ('taskdb.gates', 'valid_gate_type', 'CHECK (taskdb.check_allowed(''gates.type''::text, (type)::text, ''{lint,policy,security,quality,truth}''::text[]))'),
             ('taskdb.runs', 'valid_run_status', 'CHECK (taskdb.check_allowed(''runs.status''::text, (status)::text, ''{queued,running,completed,failed,cancelled}''::text[]))'),
             ('taskdb.signing_key', 'signing_key_key_check', 'CHECK ((length(key) >= 32))'),
             ('taskdb.tasks', 'valid_priority', 'CHECK (taskdb.check_allowed(''tasks.priority''::text, (priority)::text, ''{critical,high,medium,low}''::text[]))'),
             ('taskdb.tasks', 'valid_status', 'CHECK (taskdb.check_allowed(''tasks.status''::text, (status)::text, ''{pending,in_progress,completed,failed,cancelled,retracted}''::text[]))')$$,
    'CHECK constraints: allowed values of every status, priority and type column, sha256 form, size >= 0, keys of 32+ bytes, eras from 2');

--
-- Indexes
--
SELECT indexes_are('taskdb', 'tasks', ARRAY['tasks_pkey']);
SELECT indexes_are('taskdb', 'runs', ARRAY['runs_pkey', 'runs_task_id_idx']);
SELECT indexes_are('taskdb', 'gates', ARRAY['gates_pkey', 'gates_run_id_idx']);
SELECT indexes_are('taskdb', 'artifacts', ARRAY['artifacts_pkey', 'artifacts_task_id_idx', 'artifacts_run_id_idx',
                                                 'artifacts_sha256_idx']);
SELECT indexes_are('taskdb', 'task_status', ARRAY['task_status_pkey', 'task_status_derived_idx']);
SELECT indexes_are('taskdb', 'history', ARRAY[]::name[]);
SELECT indexes_are('taskdb', 'history_default', ARRAY['history_default_task_id_idx', 'history_default_entity_ids_idx']);
SELECT indexes_are('taskdb', 'eras', ARRAY['eras_pkey']);
SELECT indexes_are('taskdb', 'history_archived', ARRAY['history_archived_pkey']);
SELECT indexes_are('taskdb', 'reports', ARRAY['reports_pkey', 'reports_verification_snapshot_ts_key']);
SELECT indexes_are('taskdb', 'signing_key', ARRAY[]::name[]);
SELECT has_index('taskdb', 'runs', 'runs_task_id_idx', ARRAY['task_id'], 'runs (task_id) is indexed (cascades, per-task reads)');
SELECT has_index('taskdb', 'gates', 'gates_run_id_idx', ARRAY['run_id'], 'gates (run_id) is indexed (cascades from runs)');
SELECT has_index('taskdb', 'artifacts', 'artifacts_task_id_idx', ARRAY['task_id'], 'artifacts (task_id) is indexed');
SELECT has_index('taskdb', 'artifacts', 'artifacts_run_id_idx', ARRAY['run_id'], 'artifacts (run_id) is indexed');
SELECT has_index('taskdb', 'task_status', 'task_status_derived_idx', ARRAY['status_derived', 'calculated_at'],
                 'task_status (status_derived, calculated_at) is indexed (dashboard queries)');
SELECT index_is_type('taskdb', 'task_status', 'task_status_derived_idx', 'btree');
SELECT has_index('taskdb', 'artifacts', 'artifacts_sha256_idx', ARRAY['sha256'],
                 'artifacts (sha256) is indexed (artifact_hash claims given by hash)');
SELECT has_index('taskdb', 'history_default', 'history_default_task_id_idx', ARRAY['task_id'],
                 'the default partition''s task_id is indexed (history of one task; TRUNCATE rows have none)');
SELECT has_index('taskdb', 'history_default', 'history_default_entity_ids_idx', ARRAY['entity_ids'],
                 'the default partition''s entity_ids are indexed (history of one row)');
SELECT index_is_type('taskdb', 'history_default', 'history_default_entity_ids_idx', 'gin');
SELECT is_empty(
    $$SELECT i.indexrelid::regclass::text FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
       WHERE c.relnamespace = 'taskdb'::regnamespace AND i.indpred IS NOT NULL$$,
    'no partial index: TRUNCATE rows (task_id IS NULL) are found through the task_id index');
SELECT is(ARRAY(SELECT i.indexrelid::regclass::text FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
                  JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_am am ON am.oid = ic.relam
                 WHERE c.relnamespace = 'taskdb'::regnamespace AND am.amname <> 'btree' ORDER BY 1),
          ARRAY['taskdb.history_default_entity_ids_idx'],
          'every taskdb index is a btree but the history''s GIN on entity_ids');
-- Every foreign key column is the leading column of some index (cascading deletes never scan).
SELECT is(ARRAY(
    SELECT format('%s.%s', c.conrelid::regclass, a.attname)
      FROM pg_constraint c
      JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
     WHERE c.contype = 'f' AND c.connamespace = 'taskdb'::regnamespace
       AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.conrelid AND i.indkey[0] = c.conkey[1])
     ORDER BY 1), '{}'::text[], 'every foreign key column leads an index');
SELECT is((SELECT reloptions FROM pg_class WHERE oid = 'taskdb.task_status'::regclass),
          '{fillfactor=70}'::text[], 'task_status has fillfactor 70 (room for HOT updates)');

--
-- Triggers: exactly these, with exactly these definitions
--
SELECT triggers_are('taskdb', 'tasks', ARRAY['tasks_immutable_keys', 'tasks_capture_insert', 'tasks_capture_update',
                                             'tasks_capture_delete', 'tasks_capture_truncate']);
SELECT triggers_are('taskdb', 'runs', ARRAY['runs_immutable_keys', 'runs_capture_insert', 'runs_capture_update',
                                            'runs_capture_delete', 'runs_capture_truncate']);
SELECT triggers_are('taskdb', 'gates', ARRAY['gates_fill_task_id', 'gates_immutable_keys', 'gates_capture_insert',
                                             'gates_capture_update', 'gates_capture_delete', 'gates_capture_truncate']);
SELECT triggers_are('taskdb', 'artifacts', ARRAY['artifacts_fill_task_id', 'artifacts_immutable_keys',
                                                 'artifacts_capture_insert', 'artifacts_capture_update',
                                                 'artifacts_capture_delete', 'artifacts_capture_truncate']);
SELECT triggers_are('taskdb', 'task_status', ARRAY[]::name[]);
SELECT triggers_are('taskdb', 'events', ARRAY[]::name[]);
SELECT triggers_are('taskdb', 'events_archive', ARRAY[]::name[]);
SELECT triggers_are('taskdb', 'history', ARRAY['history_append_only', 'history_append_only_statement']);
SELECT triggers_are('taskdb', 'history_default', ARRAY['history_append_only', 'history_append_only_statement']);
SELECT triggers_are('taskdb', 'history_archive', ARRAY['history_append_only', 'history_append_only_statement']);
SELECT triggers_are('taskdb', 'reports', ARRAY['reports_capture_insert', 'reports_capture_delete']);
SELECT triggers_are('taskdb', 'signing_key', ARRAY[]::name[]);
SELECT triggers_are('taskdb', 'eras', ARRAY['eras_changed']);
SELECT is(pg_get_triggerdef(t.oid), d.def, format('trigger %s on %s', d.tg, d.tab))
  FROM (VALUES
    ('tasks', 'tasks_capture_insert', 'CREATE TRIGGER tasks_capture_insert AFTER INSERT ON taskdb.tasks REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION taskdb.capture()'),
    ('tasks', 'tasks_capture_update', 'CREATE TRIGGER tasks_capture_update AFTER UPDATE ON taskdb.tasks REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION taskdb.capture()'),
    ('tasks', 'tasks_capture_delete', 'CREATE TRIGGER tasks_capture_delete AFTER DELETE ON taskdb.tasks REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION taskdb.capture()'),
    ('tasks', 'tasks_capture_truncate', 'CREATE TRIGGER tasks_capture_truncate AFTER TRUNCATE ON taskdb.tasks FOR EACH STATEMENT EXECUTE FUNCTION taskdb.capture()'),
    ('runs', 'runs_capture_insert', 'CREATE TRIGGER runs_capture_insert AFTER INSERT ON taskdb.runs REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION taskdb.capture()'),
    ('runs', 'runs_capture_update', 'CREATE TRIGGER runs_capture_update AFTER UPDATE ON taskdb.runs REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION taskdb.capture()'),
    ('runs', 'runs_capture_delete', 'CREATE TRIGGER runs_capture_delete AFTER DELETE ON taskdb.runs REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION taskdb.capture()'),
    ('runs', 'runs_capture_truncate', 'CREATE TRIGGER runs_capture_truncate AFTER TRUNCATE ON taskdb.runs FOR EACH STATEMENT EXECUTE FUNCTION taskdb.capture()'),
    ('gates', 'gates_capture_insert', 'CREATE TRIGGER gates_capture_insert AFTER INSERT ON taskdb.gates REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION taskdb.capture()'),
    ('gates', 'gates_capture_update', 'CREATE TRIGGER gates_capture_update AFTER UPDATE ON taskdb.gates REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION taskdb.capture()'),
    ('gates', 'gates_capture_delete', 'CREATE TRIGGER gates_capture_delete AFTER DELETE ON taskdb.gates REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION taskdb.capture()'),
    ('gates', 'gates_capture_truncate', 'CREATE TRIGGER gates_capture_truncate AFTER TRUNCATE ON taskdb.gates FOR EACH STATEMENT EXECUTE FUNCTION taskdb.capture()'),
    ('artifacts', 'artifacts_capture_insert', 'CREATE TRIGGER artifacts_capture_insert AFTER INSERT ON taskdb.artifacts REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION taskdb.capture()'),
    ('artifacts', 'artifacts_capture_update', 'CREATE TRIGGER artifacts_capture_update AFTER UPDATE ON taskdb.artifacts REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION taskdb.capture()'),
    ('artifacts', 'artifacts_capture_delete', 'CREATE TRIGGER artifacts_capture_delete AFTER DELETE ON taskdb.artifacts REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION taskdb.capture()'),
    ('artifacts', 'artifacts_capture_truncate', 'CREATE TRIGGER artifacts_capture_truncate AFTER TRUNCATE ON taskdb.artifacts FOR EACH STATEMENT EXECUTE FUNCTION taskdb.capture()'),
    ('reports', 'reports_capture_insert', 'CREATE TRIGGER reports_capture_insert AFTER INSERT ON taskdb.reports REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION taskdb.capture()'),
    ('reports', 'reports_capture_delete', 'CREATE TRIGGER reports_capture_delete AFTER DELETE ON taskdb.reports REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION taskdb.capture()'),
    ('tasks', 'tasks_immutable_keys', 'CREATE TRIGGER tasks_immutable_keys BEFORE UPDATE OF id ON taskdb.tasks FOR EACH ROW WHEN ((old.id IS DISTINCT FROM new.id)) EXECUTE FUNCTION taskdb.refuse_key_change()'),
    ('runs', 'runs_immutable_keys', 'CREATE TRIGGER runs_immutable_keys BEFORE UPDATE OF id, task_id ON taskdb.runs FOR EACH ROW WHEN (((old.id IS DISTINCT FROM new.id) OR (old.task_id IS DISTINCT FROM new.task_id))) EXECUTE FUNCTION taskdb.refuse_key_change()'),
    ('gates', 'gates_fill_task_id', 'CREATE TRIGGER gates_fill_task_id BEFORE INSERT ON taskdb.gates FOR EACH ROW EXECUTE FUNCTION taskdb.fill_task_id()'),
    ('gates', 'gates_immutable_keys', 'CREATE TRIGGER gates_immutable_keys BEFORE UPDATE OF id, run_id, task_id ON taskdb.gates FOR EACH ROW WHEN (((old.id IS DISTINCT FROM new.id) OR (old.run_id IS DISTINCT FROM new.run_id) OR (old.task_id IS DISTINCT FROM new.task_id))) EXECUTE FUNCTION taskdb.refuse_key_change()'),
    ('artifacts', 'artifacts_fill_task_id', 'CREATE TRIGGER artifacts_fill_task_id BEFORE INSERT ON taskdb.artifacts FOR EACH ROW EXECUTE FUNCTION taskdb.fill_task_id()'),
    ('artifacts', 'artifacts_immutable_keys', 'CREATE TRIGGER artifacts_immutable_keys BEFORE UPDATE OF id, task_id, run_id ON taskdb.artifacts FOR EACH ROW WHEN (((old.id IS DISTINCT FROM new.id) OR (old.task_id IS DISTINCT FROM new.task_id) OR (old.run_id IS DISTINCT FROM new.run_id))) EXECUTE FUNCTION taskdb.refuse_key_change()'),
    ('history', 'history_append_only', 'CREATE TRIGGER history_append_only BEFORE INSERT OR DELETE OR UPDATE ON taskdb.history FOR EACH ROW EXECUTE FUNCTION taskdb.refuse_history_change()'),
    ('history', 'history_append_only_statement', 'CREATE TRIGGER history_append_only_statement BEFORE INSERT OR DELETE OR UPDATE OR TRUNCATE ON taskdb.history FOR EACH STATEMENT EXECUTE FUNCTION taskdb.refuse_history_change()'),
    ('history_archive', 'history_append_only', 'CREATE TRIGGER history_append_only BEFORE INSERT OR DELETE OR UPDATE ON taskdb.history_archive FOR EACH ROW EXECUTE FUNCTION taskdb.refuse_history_change()'),
    ('history_archive', 'history_append_only_statement', 'CREATE TRIGGER history_append_only_statement BEFORE INSERT OR DELETE OR UPDATE OR TRUNCATE ON taskdb.history_archive FOR EACH STATEMENT EXECUTE FUNCTION taskdb.refuse_history_change()'),
    ('history_default', 'history_append_only', 'CREATE TRIGGER history_append_only BEFORE INSERT OR DELETE OR UPDATE ON taskdb.history_default FOR EACH ROW EXECUTE FUNCTION taskdb.refuse_history_change()'),
    ('history_default', 'history_append_only_statement', 'CREATE TRIGGER history_append_only_statement BEFORE INSERT OR DELETE OR UPDATE OR TRUNCATE ON taskdb.history_default FOR EACH STATEMENT EXECUTE FUNCTION taskdb.refuse_history_change()'),
    ('eras', 'eras_changed', 'CREATE TRIGGER eras_changed AFTER INSERT OR DELETE OR UPDATE OR TRUNCATE ON taskdb.eras FOR EACH STATEMENT EXECUTE FUNCTION taskdb.eras_changed()')
  ) AS d(tab, tg, def)
  LEFT JOIN pg_trigger t ON t.tgrelid = format('taskdb.%I', d.tab)::regclass AND t.tgname = d.tg
 ORDER BY d.tab, d.tg;
-- The history's append-only guards are ENABLE ALWAYS on purpose:
-- session_replication_role = replica must not switch them off; so is
-- eras_changed, or an era restored in replica mode would not reach the
-- backends' history writers.  Every other trigger fires in origin mode.
SELECT results_eq(
    $$SELECT c.oid::regclass::text, t.tgname::text COLLATE "default", t.tgenabled::text
        FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
       WHERE c.relnamespace = 'taskdb'::regnamespace AND NOT t.tgisinternal AND t.tgenabled <> 'O'
       ORDER BY 1, 2$$,
    $$VALUES ('taskdb.eras', 'eras_changed', 'A'),
             ('taskdb.history', 'history_append_only', 'A'),
             ('taskdb.history', 'history_append_only_statement', 'A'),
             ('taskdb.history_archive', 'history_append_only', 'A'),
             ('taskdb.history_archive', 'history_append_only_statement', 'A'),
             ('taskdb.history_default', 'history_append_only', 'A'),
             ('taskdb.history_default', 'history_append_only_statement', 'A')$$,
    'every taskdb trigger fires in origin mode (tgenabled = O) but the history''s append-only guards and eras_changed, which fire ALWAYS (A)');

--
-- Functions: exactly these, with the right properties
--
SELECT functions_are('taskdb', ARRAY[
    'check_allowed', 'check_sha256', 'derive_status', 'capture', 'fill_task_id', 'refuse_key_change',
    'pending_deltas', 'status_derived', 'void_pending_deltas', 'create_task', 'create_run', 'create_gate',
    'set_run_status', 'set_gate_status', 'system_stats', 'rebuild_status', 'refuse_history_change', 'eras_changed', 'history_events', 'history_partitions', 'history_move_default',
    'maintain_history', 'count_archived', 'pre_restore', 'post_restore', 'task_history', 'entity_history',
    'sha256', 'create_artifact', 'publish_report', 'verify_provenance', 'debug_provenance',
    'set_signing_key', 'report_signature_valid', 'doctor', 'archive_events',
    'metrics', 'metrics_reset', 'doctor_checks', 'metric_samples', 'metrics_histogram',
    'export_hash', 'generate_synthetic']);
-- One row per function: (signature, language, return type, volatility, strict, parallel).
-- volatility i/s/v = immutable/stable/volatile; parallel s/r/u = safe/restricted/unsafe.
CREATE TEMP TABLE expected_functions (sig text, lang name, ret text, vol "char", strict boolean, par "char")
    ON COMMIT DROP;
INSERT INTO expected_functions VALUES
    -- CHECK-constraint helpers and the rule: pure functions of their arguments
    ('taskdb.check_allowed(text,text,text[])', 'c', 'boolean', 'i', true, 's'),
    ('taskdb.check_sha256(text,text)', 'c', 'boolean', 'i', true, 's'),
    ('taskdb.derive_status(bigint,bigint,bigint,bigint,bigint)', 'c', 'text', 'i', true, 's'),
    -- trigger functions
    ('taskdb.capture()', 'c', 'trigger', 'v', false, 'u'),
    ('taskdb.fill_task_id()', 'c', 'trigger', 'v', false, 'u'),
    ('taskdb.refuse_key_change()', 'c', 'trigger', 'v', false, 'u'),
    ('taskdb.refuse_history_change()', 'c', 'trigger', 'v', false, 'u'),
    ('taskdb.eras_changed()', 'c', 'trigger', 'v', false, 'u'),
    -- read the backend-local pending deltas: restricted to the leader
    ('taskdb.pending_deltas()', 'c', 'record', 'v', false, 'r'),
    ('taskdb.status_derived(uuid)', 'c', 'text', 's', true, 'r'),
    ('taskdb.void_pending_deltas()', 'c', 'void', 'v', false, 'u'),
    -- the SQL API
    ('taskdb.create_task(text,text,text,text,text,text,text,text,jsonb,jsonb)', 'sql', 'uuid', 'v', false, 'u'),
    ('taskdb.create_run(uuid,text,jsonb,jsonb)', 'sql', 'uuid', 'v', false, 'u'),
    ('taskdb.create_gate(uuid,text,text,text,jsonb)', 'sql', 'uuid', 'v', false, 'u'),
    ('taskdb.set_run_status(uuid,text)', 'plpgsql', 'taskdb.runs', 'v', false, 'u'),
    ('taskdb.set_gate_status(uuid,text)', 'plpgsql', 'taskdb.gates', 'v', false, 'u'),
    ('taskdb.system_stats()', 'sql', 'record', 's', false, 's'),
    ('taskdb.rebuild_status()', 'plpgsql', 'bigint', 'v', false, 'u'),
    -- hashing: a pure function of its argument
    ('taskdb.sha256(bytea)', 'c', 'text', 'i', true, 's'),
    ('taskdb.create_artifact(text,bytea,text,uuid,uuid,text,boolean)', 'plpgsql', 'uuid', 'v', false, 'u'),
    -- provenance: publishing writes (reports, the stamp sequence); verifying reads
    -- the events as of now and computes content hashes
    ('taskdb.publish_report(jsonb)', 'c', 'jsonb', 'v', true, 'u'),
    ('taskdb.verify_provenance(jsonb)', 'c', 'record', 'v', true, 'r'),
    ('taskdb.debug_provenance(jsonb,boolean)', 'c', 'text', 'v', true, 'r'),
    -- the same for a report given as text, refusing duplicate keys (1.1)
    ('taskdb.verify_provenance(text)', 'c', 'record', 'v', true, 'r'),
    ('taskdb.debug_provenance(text,boolean)', 'c', 'text', 'v', true, 'r'),
    ('taskdb.set_signing_key(bytea)', 'plpgsql', 'void', 'v', false, 'u'),
    ('taskdb.report_signature_valid(jsonb)', 'c', 'boolean', 's', true, 'r'),
    -- diagnostics: reads only, but random sampling
    ('taskdb.doctor(integer)', 'c', 'record', 'v', false, 'r'),
    ('taskdb.doctor_checks(integer)', 'plpgsql', 'record', 'v', false, 'r'),
    -- archival: a batch function and the procedure that commits between batches
    ('taskdb.archive_events(interval,bigint)', 'plpgsql', 'record', 'v', false, 'u'),
    ('taskdb.count_archived(bigint)', 'c', 'void', 'v', true, 'u'),
    -- the history: decoding a row (pure), its partitions (catalog reads), maintenance and restore (writes)
    ('taskdb.history_events(uuid[],bytea,jsonb)', 'c', 'record', 'i', false, 's'),
    ('taskdb.history_partitions()', 'c', 'record', 'v', false, 'r'),
    ('taskdb.history_move_default(regclass,timestamp with time zone,timestamp with time zone)', 'c', 'bigint', 'v', true, 'u'),
    ('taskdb.maintain_history(integer)', 'plpgsql', 'record', 'v', false, 'u'),
    ('taskdb.pre_restore()', 'plpgsql', 'text', 'v', false, 'u'),
    ('taskdb.post_restore()', 'plpgsql', 'text', 'v', false, 'u'),
    ('taskdb.task_history(uuid)', 'sql', 'taskdb.event_history', 's', false, 's'),
    ('taskdb.entity_history(uuid)', 'sql', 'taskdb.event_history', 's', false, 's'),
    -- metrics: shared-memory atomics, readable from any process
    ('taskdb.metrics()', 'c', 'text', 'v', false, 's'),
    ('taskdb.metrics_reset()', 'c', 'void', 'v', false, 'u'),
    ('taskdb.metric_samples()', 'c', 'record', 'v', false, 's'),
    ('taskdb.metrics_histogram(text)', 'c', 'record', 'v', true, 's'),
    -- the whole-data hash reads with SPI in the statement's snapshot; the
    -- synthetic load writes
    ('taskdb.export_hash()', 'c', 'text', 's', false, 'r'),
    ('taskdb.generate_synthetic(integer,integer,integer,integer,integer)', 'plpgsql', 'record', 'v', false, 'u');
SELECT is(ROW(l.lanname, p.prorettype::regtype::text, p.provolatile, p.proisstrict, p.proparallel),
          ROW(e.lang, e.ret, e.vol, e.strict, e.par),
          format('%s: language %s, returns %s, volatility %s, strict %s, parallel %s',
                 e.sig, e.lang, e.ret, e.vol, e.strict, e.par))
  FROM expected_functions e
  LEFT JOIN pg_proc p ON p.oid = to_regprocedure(e.sig)
  LEFT JOIN pg_language l ON l.oid = p.prolang
 ORDER BY e.sig;
SELECT is((SELECT count(*)::int FROM pg_proc WHERE pronamespace = 'taskdb'::regnamespace),
          (SELECT count(*)::int FROM expected_functions), 'no function overloads beyond those above');
-- The new API's arguments (names, defaults) and result shapes.
SELECT results_eq(
    $$SELECT p.oid::regprocedure::text, pg_get_function_arguments(p.oid), pg_get_function_result(p.oid)
        FROM pg_proc p
       WHERE p.oid IN ('taskdb.sha256(bytea)'::regprocedure,
                       'taskdb.create_artifact(text,bytea,text,uuid,uuid,text,boolean)'::regprocedure,
                       'taskdb.publish_report(jsonb)'::regprocedure,
                       'taskdb.verify_provenance(jsonb)'::regprocedure,
                       'taskdb.debug_provenance(jsonb,boolean)'::regprocedure,
                       'taskdb.set_signing_key(bytea)'::regprocedure)
       ORDER BY 1$$,
    $$VALUES ('taskdb.create_artifact(text,bytea,text,uuid,uuid,text,boolean)',
              'path text, content bytea DEFAULT NULL::bytea, sha256 text DEFAULT NULL::text, run_id uuid DEFAULT NULL::uuid, task_id uuid DEFAULT NULL::uuid, media_type text DEFAULT NULL::text, store_content boolean DEFAULT true',
              'uuid'),
             ('taskdb.debug_provenance(jsonb,boolean)', 'report jsonb, "verbose" boolean DEFAULT false', 'SETOF text'),
             ('taskdb.publish_report(jsonb)', 'claims jsonb', 'jsonb'),
             ('taskdb.set_signing_key(bytea)', 'key bytea', 'void'),
             ('taskdb.sha256(bytea)', 'content bytea', 'text'),
             ('taskdb.verify_provenance(jsonb)', 'report jsonb',
              'TABLE(claim text, kind text, status text, expected text, actual text, mismatch text, changed_at timestamp with time zone)')$$,
    'sha256, create_artifact, publish_report, verify_provenance, debug_provenance, set_signing_key: arguments, defaults, results');
SELECT is(ARRAY(SELECT p.oid::regprocedure::text FROM pg_proc p
                 WHERE p.pronamespace = 'taskdb'::regnamespace AND p.prosecdef ORDER BY 1),
          '{}'::text[], 'no SECURITY DEFINER function');
-- Every SQL and PL/pgSQL function pins search_path.
SELECT isnt_empty($$SELECT 1 FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
                    WHERE p.pronamespace = 'taskdb'::regnamespace AND l.lanname IN ('sql', 'plpgsql')$$,
                  'there are SQL / PL/pgSQL functions to check');
SELECT is(ARRAY(SELECT p.oid::regprocedure::text
                  FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
                 WHERE p.pronamespace = 'taskdb'::regnamespace AND l.lanname IN ('sql', 'plpgsql')
                   AND NOT COALESCE('search_path=pg_catalog, pg_temp' = ANY (p.proconfig), false)
                 ORDER BY 1),
          ARRAY['taskdb.archive_events(interval,bigint)'],
          'every SQL and PL/pgSQL function has SET search_path = pg_catalog, pg_temp, but the procedure archive_events, which COMMITs between batches (SET clauses forbid that) and qualifies every name instead');
SELECT is(ARRAY(SELECT p.oid::regprocedure::text FROM pg_proc p
                 WHERE p.pronamespace = 'taskdb'::regnamespace AND p.proconfig IS NOT NULL
                   AND array_length(p.proconfig, 1) <> 1 ORDER BY 1),
          ARRAY['taskdb.export_hash()', 'taskdb.generate_synthetic(integer,integer,integer,integer,integer)'],
          'no function sets anything but search_path, but export_hash and generate_synthetic');
SELECT is((SELECT proconfig FROM pg_proc WHERE oid = 'taskdb.generate_synthetic(integer,integer,integer,integer,integer)'::regprocedure),
          ARRAY['search_path=pg_catalog, pg_temp', 'enable_hashjoin=off', 'enable_mergejoin=off'],
          'generate_synthetic joins by primary key only: hash and merge joins off (they made the load quadratic)');
-- export_hash fixes every setting that shapes the text it hashes.
SELECT is((SELECT proconfig FROM pg_proc WHERE oid = 'taskdb.export_hash()'::regprocedure),
          ARRAY['search_path=pg_catalog, pg_temp', 'TimeZone=UTC', 'DateStyle=ISO, YMD',
                'IntervalStyle=postgres', 'bytea_output=hex', 'extra_float_digits=1'],
          'export_hash sets search_path, TimeZone, DateStyle, IntervalStyle, bytea_output and extra_float_digits');

--
-- Comments: every table, view, column of a table, explicitly created index
-- and function has one
--
SELECT is(ARRAY(SELECT c.oid::regclass::text FROM pg_class c
                 WHERE c.relnamespace = 'taskdb'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'S')
                   AND obj_description(c.oid, 'pg_class') IS NULL ORDER BY 1),
          '{}'::text[], 'every table, view and sequence has a COMMENT');
SELECT is(ARRAY(SELECT format('%s.%s', c.oid::regclass, a.attname)
                  FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
                 WHERE c.relnamespace = 'taskdb'::regnamespace AND c.relkind IN ('r', 'p')
                   AND a.attnum > 0 AND NOT a.attisdropped
                   AND col_description(c.oid, a.attnum) IS NULL ORDER BY 1),
          '{}'::text[], 'every column of every table has a COMMENT');
SELECT is(ARRAY(SELECT i.indexrelid::regclass::text FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
                 WHERE c.relnamespace = 'taskdb'::regnamespace
                   AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
                   AND obj_description(i.indexrelid, 'pg_class') IS NULL ORDER BY 1),
          '{}'::text[], 'every index not backing a constraint has a COMMENT');
SELECT is(ARRAY(SELECT p.oid::regprocedure::text FROM pg_proc p
                 WHERE p.pronamespace = 'taskdb'::regnamespace
                   AND obj_description(p.oid, 'pg_proc') IS NULL ORDER BY 1),
          '{}'::text[], 'every function has a COMMENT');

--
-- Membership and dump configuration
--
SELECT is(ARRAY(SELECT c.oid::regclass::text FROM pg_class c
                 WHERE c.relnamespace = 'taskdb'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'S')
                   AND NOT EXISTS (SELECT 1 FROM pg_depend d
                                    WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                                      AND d.deptype = 'e')
                 ORDER BY 1), '{}'::text[], 'every table, view and sequence belongs to the extension');
SELECT is(ARRAY(SELECT p.oid::regprocedure::text FROM pg_proc p
                 WHERE p.pronamespace = 'taskdb'::regnamespace
                   AND NOT EXISTS (SELECT 1 FROM pg_depend d
                                    WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid
                                      AND d.deptype = 'e')
                 ORDER BY 1), '{}'::text[], 'every function belongs to the extension');
SELECT is(ARRAY(SELECT x::regclass::text FROM pg_extension e, unnest(e.extconfig) x
                 WHERE e.extname = 'taskdb' ORDER BY 1),
          ARRAY['taskdb.artifacts', 'taskdb.eras', 'taskdb.gates', 'taskdb.history_archived', 'taskdb.history_default',
                'taskdb.reports', 'taskdb.runs', 'taskdb.signing_key', 'taskdb.tasks'],
          'pg_dump keeps tasks, runs, gates, artifacts, reports, signing_key, the eras, the list of archived partitions and the default history partition (time partitions are not extension members: pg_dump dumps them whole; task_status is rebuilt by the triggers, report stamps continue above the newest report)');
SELECT is((SELECT array_agg(DISTINCT c) FROM pg_extension e, unnest(e.extcondition) c WHERE e.extname = 'taskdb'),
          ARRAY['']::text[], 'every dumped table is dumped whole (no WHERE condition)');

--
-- Rows the install script writes
--
SELECT is((SELECT seqcache FROM pg_sequence WHERE seqrelid = 'taskdb.report_stamp_seq'::regclass), 1::bigint,
          'report_stamp_seq caches nothing (a backend caching values would hand out stamps behind a setval)');
SELECT isnt_empty($$SELECT 1 FROM taskdb.signing_key WHERE length(key) >= 32$$,
                  'there is a signing key of at least 32 bytes');

SELECT * FROM finish();
ROLLBACK;
