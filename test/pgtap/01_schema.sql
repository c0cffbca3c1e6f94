--
-- 01_schema: the objects CREATE EXTENSION taskdb installs, and their
-- properties: tables, columns (type, nullability, defaults), keys, foreign
-- keys with ON DELETE CASCADE, indexes, trigger definitions, functions with
-- their volatility / strictness / parallel safety / language / search_path,
-- and a COMMENT on every table, column, view, index and function.
--
-- Run with pg_prove; everything happens in one rolled-back transaction.
--
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS taskdb;

SELECT plan(205);

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
SELECT tables_are('taskdb', ARRAY['tasks', 'runs', 'gates', 'artifacts', 'task_status'],
                  'schema taskdb has exactly the tables tasks, runs, gates, artifacts, task_status');
SELECT views_are('taskdb', ARRAY['task_status_derived', 'task_status_derived_mv'],
                 'schema taskdb has exactly the views task_status_derived and task_status_derived_mv');
SELECT is((SELECT count(*)::int FROM pg_class
            WHERE relnamespace = 'taskdb'::regnamespace AND relkind IN ('S', 'm', 'f', 'p', 'c')),
          0, 'no sequences, materialized views, foreign, partitioned tables or composite types');

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
SELECT columns_are('taskdb', 'task_status_derived',
    ARRAY['task_id', 'stored_status', 'status_derived', 'health_score', 'calculated_at', 'runs_total',
          'runs_running', 'runs_completed', 'runs_failed', 'gates_failed']);
SELECT columns_are('taskdb', 'task_status_derived_mv',
    ARRAY['task_id', 'stored_status', 'status_derived', 'health_score', 'calculated_at']);

-- Column types and nullability (49 columns, two tests each).
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
    ('task_status', 'calculated_at', 'timestamp with time zone', true);
SELECT col_type_is('taskdb', tab, col, typ, format('%s.%s is %s', tab, col, typ))
  FROM expected_columns ORDER BY tab, col;
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

--
-- Primary keys
--
SELECT col_is_pk('taskdb', 'tasks', 'id', 'tasks.id is the primary key');
SELECT col_is_pk('taskdb', 'runs', 'id', 'runs.id is the primary key');
SELECT col_is_pk('taskdb', 'gates', 'id', 'gates.id is the primary key');
SELECT col_is_pk('taskdb', 'artifacts', 'id', 'artifacts.id is the primary key');
SELECT col_is_pk('taskdb', 'task_status', 'task_id', 'task_status.task_id is the primary key');

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
    'the only foreign keys are these five, each ON DELETE CASCADE, not deferrable');

--
-- CHECK constraints: the allowed-values helpers, and no CHECK on task_status
--
SELECT results_eq(
    $$SELECT conrelid::regclass::text, conname::text COLLATE "default", pg_get_constraintdef(oid)
        FROM pg_constraint
       WHERE contype = 'c' AND connamespace = 'taskdb'::regnamespace
       ORDER BY 1, 2$$,
    $$VALUES ('taskdb.artifacts', 'valid_sha256', 'CHECK (taskdb.check_sha256(''artifacts.sha256''::text, sha256))'),
             ('taskdb.artifacts', 'valid_size', 'CHECK (((size_bytes IS NULL) OR (size_bytes >= 0)))'),
             ('taskdb.gates', 'valid_gate_status', 'CHECK (taskdb.check_allowed(''gates.status''::text, (status)::text, ''{pending,pass,fail,skipped}''::text[]))'),
             ('taskdb.gates', 'valid_gate_type', 'CHECK (taskdb.check_allowed(''gates.type''::text, (type)::text, ''{lint,policy,security,quality,truth}''::text[]))'),
             ('taskdb.runs', 'valid_run_status', 'CHECK (taskdb.check_allowed(''runs.status''::text, (status)::text, ''{queued,running,completed,failed,cancelled}''::text[]))'),
             ('taskdb.tasks', 'valid_priority', 'CHECK (taskdb.check_allowed(''tasks.priority''::text, (priority)::text, ''{critical,high,medium,low}''::text[]))'),
             ('taskdb.tasks', 'valid_status', 'CHECK (taskdb.check_allowed(''tasks.status''::text, (status)::text, ''{pending,in_progress,completed,failed,cancelled,retracted}''::text[]))')$$,
    'CHECK constraints: allowed values of every status, priority and type column, sha256 form, size >= 0');

--
-- Indexes
--
SELECT indexes_are('taskdb', 'tasks', ARRAY['tasks_pkey']);
SELECT indexes_are('taskdb', 'runs', ARRAY['runs_pkey', 'runs_task_id_idx']);
SELECT indexes_are('taskdb', 'gates', ARRAY['gates_pkey', 'gates_run_id_idx']);
SELECT indexes_are('taskdb', 'artifacts', ARRAY['artifacts_pkey', 'artifacts_task_id_idx', 'artifacts_run_id_idx']);
SELECT indexes_are('taskdb', 'task_status', ARRAY['task_status_pkey', 'task_status_derived_idx']);
SELECT has_index('taskdb', 'runs', 'runs_task_id_idx', ARRAY['task_id'], 'runs (task_id) is indexed (cascades, per-task reads)');
SELECT has_index('taskdb', 'gates', 'gates_run_id_idx', ARRAY['run_id'], 'gates (run_id) is indexed (cascades from runs)');
SELECT has_index('taskdb', 'artifacts', 'artifacts_task_id_idx', ARRAY['task_id'], 'artifacts (task_id) is indexed');
SELECT has_index('taskdb', 'artifacts', 'artifacts_run_id_idx', ARRAY['run_id'], 'artifacts (run_id) is indexed');
SELECT has_index('taskdb', 'task_status', 'task_status_derived_idx', ARRAY['status_derived', 'calculated_at'],
                 'task_status (status_derived, calculated_at) is indexed (dashboard queries)');
SELECT index_is_type('taskdb', 'task_status', 'task_status_derived_idx', 'btree');
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
SELECT triggers_are('taskdb', 'tasks', ARRAY['tasks_status_insert', 'tasks_status_delete', 'tasks_immutable_keys']);
SELECT triggers_are('taskdb', 'runs', ARRAY['runs_status_insert', 'runs_status_update', 'runs_status_delete',
                                            'runs_status_truncate', 'runs_immutable_keys']);
SELECT triggers_are('taskdb', 'gates', ARRAY['gates_fill_task_id', 'gates_status_insert', 'gates_status_update',
                                             'gates_status_delete', 'gates_status_truncate', 'gates_immutable_keys']);
SELECT triggers_are('taskdb', 'artifacts', ARRAY['artifacts_fill_task_id', 'artifacts_immutable_keys']);
SELECT triggers_are('taskdb', 'task_status', ARRAY[]::name[]);
SELECT is(pg_get_triggerdef(t.oid), d.def, format('trigger %s on %s', d.tg, d.tab))
  FROM (VALUES
    ('tasks', 'tasks_status_insert', 'CREATE TRIGGER tasks_status_insert AFTER INSERT ON taskdb.tasks REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION taskdb.tasks_after_insert()'),
    ('tasks', 'tasks_status_delete', 'CREATE TRIGGER tasks_status_delete AFTER DELETE ON taskdb.tasks REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION taskdb.fold_status_delta()'),
    ('tasks', 'tasks_immutable_keys', 'CREATE TRIGGER tasks_immutable_keys BEFORE UPDATE OF id ON taskdb.tasks FOR EACH ROW WHEN ((old.id IS DISTINCT FROM new.id)) EXECUTE FUNCTION taskdb.refuse_key_change()'),
    ('runs', 'runs_status_insert', 'CREATE TRIGGER runs_status_insert AFTER INSERT ON taskdb.runs REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION taskdb.fold_status_delta()'),
    ('runs', 'runs_status_update', 'CREATE TRIGGER runs_status_update AFTER UPDATE ON taskdb.runs REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION taskdb.fold_status_delta()'),
    ('runs', 'runs_status_delete', 'CREATE TRIGGER runs_status_delete AFTER DELETE ON taskdb.runs REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION taskdb.fold_status_delta()'),
    ('runs', 'runs_status_truncate', 'CREATE TRIGGER runs_status_truncate AFTER TRUNCATE ON taskdb.runs FOR EACH STATEMENT EXECUTE FUNCTION taskdb.truncate_status()'),
    ('runs', 'runs_immutable_keys', 'CREATE TRIGGER runs_immutable_keys BEFORE UPDATE OF id, task_id ON taskdb.runs FOR EACH ROW WHEN (((old.id IS DISTINCT FROM new.id) OR (old.task_id IS DISTINCT FROM new.task_id))) EXECUTE FUNCTION taskdb.refuse_key_change()'),
    ('gates', 'gates_fill_task_id', 'CREATE TRIGGER gates_fill_task_id BEFORE INSERT ON taskdb.gates FOR EACH ROW EXECUTE FUNCTION taskdb.fill_task_id()'),
    ('gates', 'gates_status_insert', 'CREATE TRIGGER gates_status_insert AFTER INSERT ON taskdb.gates REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION taskdb.fold_status_delta()'),
    ('gates', 'gates_status_update', 'CREATE TRIGGER gates_status_update AFTER UPDATE ON taskdb.gates REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION taskdb.fold_status_delta()'),
    ('gates', 'gates_status_delete', 'CREATE TRIGGER gates_status_delete AFTER DELETE ON taskdb.gates REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION taskdb.fold_status_delta()'),
    ('gates', 'gates_status_truncate', 'CREATE TRIGGER gates_status_truncate AFTER TRUNCATE ON taskdb.gates FOR EACH STATEMENT EXECUTE FUNCTION taskdb.truncate_status()'),
    ('gates', 'gates_immutable_keys', 'CREATE TRIGGER gates_immutable_keys BEFORE UPDATE OF id, run_id, task_id ON taskdb.gates FOR EACH ROW WHEN (((old.id IS DISTINCT FROM new.id) OR (old.run_id IS DISTINCT FROM new.run_id) OR (old.task_id IS DISTINCT FROM new.task_id))) EXECUTE FUNCTION taskdb.refuse_key_change()'),
    ('artifacts', 'artifacts_fill_task_id', 'CREATE TRIGGER artifacts_fill_task_id BEFORE INSERT ON taskdb.artifacts FOR EACH ROW EXECUTE FUNCTION taskdb.fill_task_id()'),
    ('artifacts', 'artifacts_immutable_keys', 'CREATE TRIGGER artifacts_immutable_keys BEFORE UPDATE OF id, task_id, run_id ON taskdb.artifacts FOR EACH ROW WHEN (((old.id IS DISTINCT FROM new.id) OR (old.task_id IS DISTINCT FROM new.task_id) OR (old.run_id IS DISTINCT FROM new.run_id))) EXECUTE FUNCTION taskdb.refuse_key_change()')
  ) AS d(tab, tg, def)
  LEFT JOIN pg_trigger t ON t.tgrelid = format('taskdb.%I', d.tab)::regclass AND t.tgname = d.tg
 ORDER BY d.tab, d.tg;
SELECT is((SELECT count(*)::int FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
            WHERE c.relnamespace = 'taskdb'::regnamespace AND NOT t.tgisinternal AND t.tgenabled <> 'O'),
          0, 'every taskdb trigger fires in origin mode (tgenabled = O)');

--
-- Functions: exactly these, with the right properties
--
SELECT functions_are('taskdb', ARRAY[
    'check_allowed', 'check_sha256', 'derive_status', 'tasks_after_insert', 'fold_status_delta',
    'truncate_status', 'fill_task_id', 'refuse_key_change', 'pending_deltas', 'status_derived',
    'void_pending_deltas', 'create_task', 'create_run', 'create_gate', 'set_run_status',
    'set_gate_status', 'system_stats', 'rebuild_status']);
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
    ('taskdb.tasks_after_insert()', 'c', 'trigger', 'v', false, 'u'),
    ('taskdb.fold_status_delta()', 'c', 'trigger', 'v', false, 'u'),
    ('taskdb.truncate_status()', 'c', 'trigger', 'v', false, 'u'),
    ('taskdb.fill_task_id()', 'c', 'trigger', 'v', false, 'u'),
    ('taskdb.refuse_key_change()', 'c', 'trigger', 'v', false, 'u'),
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
    ('taskdb.rebuild_status()', 'plpgsql', 'bigint', 'v', false, 'u');
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
          '{}'::text[], 'every SQL and PL/pgSQL function has SET search_path = pg_catalog, pg_temp');
SELECT is(ARRAY(SELECT p.oid::regprocedure::text FROM pg_proc p
                 WHERE p.pronamespace = 'taskdb'::regnamespace AND p.proconfig IS NOT NULL
                   AND array_length(p.proconfig, 1) <> 1 ORDER BY 1),
          '{}'::text[], 'no function sets anything but search_path');

--
-- Comments: every table, view, column of a table, explicitly created index
-- and function has one
--
SELECT is(ARRAY(SELECT c.oid::regclass::text FROM pg_class c
                 WHERE c.relnamespace = 'taskdb'::regnamespace AND c.relkind IN ('r', 'v')
                   AND obj_description(c.oid, 'pg_class') IS NULL ORDER BY 1),
          '{}'::text[], 'every table and view has a COMMENT');
SELECT is(ARRAY(SELECT format('%s.%s', c.oid::regclass, a.attname)
                  FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
                 WHERE c.relnamespace = 'taskdb'::regnamespace AND c.relkind = 'r'
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
                 WHERE c.relnamespace = 'taskdb'::regnamespace AND c.relkind IN ('r', 'v')
                   AND NOT EXISTS (SELECT 1 FROM pg_depend d
                                    WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                                      AND d.deptype = 'e')
                 ORDER BY 1), '{}'::text[], 'every table and view belongs to the extension');
SELECT is(ARRAY(SELECT p.oid::regprocedure::text FROM pg_proc p
                 WHERE p.pronamespace = 'taskdb'::regnamespace
                   AND NOT EXISTS (SELECT 1 FROM pg_depend d
                                    WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid
                                      AND d.deptype = 'e')
                 ORDER BY 1), '{}'::text[], 'every function belongs to the extension');
SELECT is(ARRAY(SELECT x::regclass::text FROM pg_extension e, unnest(e.extconfig) x
                 WHERE e.extname = 'taskdb' ORDER BY 1),
          ARRAY['taskdb.artifacts', 'taskdb.gates', 'taskdb.runs', 'taskdb.tasks'],
          'pg_dump keeps tasks, runs, gates and artifacts (task_status is rebuilt by the triggers)');

SELECT * FROM finish();
ROLLBACK;
