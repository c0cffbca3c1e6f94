--
-- 04_api: the SQL API.  create_task / create_run / create_gate (return
-- values, defaults, named arguments, the started_at / finished_at /
-- completed_at stamps, errors), set_run_status / set_gate_status (the row
-- they return, errors), status_derived() (pending changes included, NULL
-- for an unknown task), derive_status() (the rule, case by case) and
-- system_stats() (one row per entity and status).
--
-- Everything happens in one rolled-back transaction, so the commit-time
-- flush never runs: status_derived() and task_status_derived show the
-- transaction's changes, task_status itself still shows every task created
-- here as pending with zero counters.
--
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS taskdb;

SELECT plan(64);

-- Start from an empty store (inside this transaction only).
DELETE FROM taskdb.tasks;

--
-- create_task(title, policy_version, description, priority, status, feature,
--             owner, summary, dependencies, metadata) -> uuid
--
SELECT taskdb.create_task('Write the parser', '1.0') AS t1 \gset
SELECT isnt(:'t1'::uuid, NULL, 'create_task returns the new id');
SELECT results_eq(
    format($$SELECT title::text, policy_version::text, status::text, priority::text, description, feature::text,
                    owner::text, summary, dependencies, metadata, completed_at,
                    created_at = now(), updated_at = now()
               FROM taskdb.tasks WHERE id = %L$$, :'t1'),
    $$VALUES ('Write the parser', '1.0', 'pending', 'medium', NULL::text, NULL::text, NULL::text, NULL::text,
              NULL::jsonb, NULL::jsonb, NULL::timestamptz, true, true)$$,
    'create_task defaults: pending, medium, no completed_at, created_at = updated_at = now()');
SELECT taskdb.create_task(title => 'Ship it', policy_version => '2.0', priority => 'high',
                          status => 'completed', feature => 'release', owner => 'ana',
                          description => 'Cut the release', summary => 'Shipped',
                          dependencies => '["Write the parser"]', metadata => '{"sprint": 7}') AS t2 \gset
SELECT results_eq(
    format($$SELECT title::text, policy_version::text, status::text, priority::text, description, feature::text,
                    owner::text, summary, dependencies, metadata, completed_at = now()
               FROM taskdb.tasks WHERE id = %L$$, :'t2'),
    $$VALUES ('Ship it', '2.0', 'completed', 'high', 'Cut the release', 'release', 'ana', 'Shipped',
              '["Write the parser"]'::jsonb, '{"sprint": 7}'::jsonb, true)$$,
    'create_task with every argument named stores each one; status completed stamps completed_at');
SELECT taskdb.create_task('Review', '1.0', priority => 'low', status => 'in_progress') AS t3 \gset
SELECT results_eq(
    format($$SELECT title::text, status::text, priority::text, completed_at FROM taskdb.tasks WHERE id = %L$$, :'t3'),
    $$VALUES ('Review', 'in_progress', 'low', NULL::timestamptz)$$,
    'positional and named arguments mix; only completed stamps completed_at');
SELECT isnt(taskdb.create_task('Review', '1.0'), :'t3'::uuid, 'two tasks with the same title get different ids');
SELECT throws_ok($$SELECT taskdb.create_task('No policy')$$,
                 '42883', 'function taskdb.create_task(unknown) does not exist', 'policy_version is a required argument');
SELECT throws_ok($$SELECT taskdb.create_task(title => 'No policy', priority => 'high')$$,
                 '42883', 'function taskdb.create_task(title => unknown, priority => unknown) does not exist',
                 'policy_version is required with named arguments too');
SELECT throws_ok($$SELECT taskdb.create_task('Null policy', NULL)$$,
                 '23502', 'null value in column "policy_version" of relation "tasks" violates not-null constraint',
                 'a NULL policy_version is refused');
SELECT throws_ok($$SELECT taskdb.create_task(NULL, '1.0')$$,
                 '23502', 'null value in column "title" of relation "tasks" violates not-null constraint',
                 'a NULL title is refused');
SELECT throws_ok($$SELECT taskdb.create_task('Bad', '1.0', priority => 'urgent')$$,
                 '23514', 'invalid value "urgent" for tasks.priority', 'create_task refuses an unknown priority');
SELECT throws_ok($$SELECT taskdb.create_task('Bad', '1.0', status => 'done')$$,
                 '23514', 'invalid value "done" for tasks.status', 'create_task refuses an unknown status');
SELECT results_eq(
    $$SELECT count(*)::int, count(*) FILTER (WHERE s.status_derived = 'pending' AND s.runs_total = 0)::int
        FROM taskdb.tasks t JOIN taskdb.task_status s ON s.task_id = t.id$$,
    $$VALUES (4, 4)$$, 'every created task has its task_status row: pending, no runs');
SELECT is(taskdb.status_derived(:'t2'), 'pending', 'status_derived of a task without runs is pending, whatever its stored status');

--
-- create_run(task_id, status => 'queued', tool_calls, metrics) -> uuid
--
SELECT taskdb.create_run(:'t1') AS r1 \gset
SELECT results_eq(
    format($$SELECT task_id, status::text, tool_calls, metrics, started_at, finished_at, created_at = now(), updated_at = now()
               FROM taskdb.runs WHERE id = %L$$, :'r1'),
    format($$VALUES (%L::uuid, 'queued', NULL::jsonb, NULL::jsonb, NULL::timestamptz, NULL::timestamptz, true, true)$$, :'t1'),
    'create_run defaults: queued, not started, not finished');
SELECT is(taskdb.status_derived(:'t1'), 'blocked', 'a task whose only run is queued is blocked');
SELECT taskdb.create_run(:'t1', 'running', tool_calls => '[{"tool": "grep"}]', metrics => '{"tokens": 12}') AS r2 \gset
SELECT results_eq(
    format($$SELECT status::text, tool_calls, metrics, started_at = now(), finished_at FROM taskdb.runs WHERE id = %L$$, :'r2'),
    $$VALUES ('running', '[{"tool": "grep"}]'::jsonb, '{"tokens": 12}'::jsonb, true, NULL::timestamptz)$$,
    'create_run running: stores tool_calls and metrics, stamps started_at only');
SELECT is(taskdb.status_derived(:'t1'), 'in_progress', 'a running run makes the task in_progress');
SELECT taskdb.create_run(task_id => :'t1', status => 'completed') AS r3 \gset
SELECT results_eq(
    format($$SELECT status::text, started_at = now(), finished_at = now() FROM taskdb.runs WHERE id = %L$$, :'r3'),
    $$VALUES ('completed', true, true)$$, 'create_run completed (named arguments) stamps started_at and finished_at');
SELECT taskdb.create_run(:'t3', 'failed') AS r4 \gset
SELECT taskdb.create_run(:'t3', 'cancelled') AS r5 \gset
SELECT results_eq(
    format($$SELECT r.status::text, r.started_at = now(), r.finished_at = now()
               FROM taskdb.runs r WHERE r.id IN (%L, %L) ORDER BY 1$$, :'r4', :'r5'),
    $$VALUES ('cancelled', true, true), ('failed', true, true)$$,
    'create_run failed and cancelled stamp both as well');
SELECT is(taskdb.status_derived(:'t3'), 'failed', 'a failed run makes the task failed');
SELECT throws_ok($$SELECT taskdb.create_run('00000000-0000-0000-0000-00000000dead')$$,
                 '23503', 'insert or update on table "runs" violates foreign key constraint "runs_task_id_fkey"',
                 'create_run refuses an unknown task');
SELECT throws_ok($$SELECT taskdb.create_run(NULL)$$,
                 '23502', 'null value in column "task_id" of relation "runs" violates not-null constraint',
                 'create_run refuses a NULL task');
SELECT throws_ok(format($$SELECT taskdb.create_run(%L, 'done')$$, :'t1'),
                 '23514', 'invalid value "done" for runs.status', 'create_run refuses an unknown status');

--
-- create_gate(run_id, name, type, status => 'pending', checks) -> uuid
--
SELECT taskdb.create_gate(:'r3', 'semgrep', 'security') AS g1 \gset
SELECT results_eq(
    format($$SELECT run_id, task_id, name::text, type::text, status::text, checks, created_at = now()
               FROM taskdb.gates WHERE id = %L$$, :'g1'),
    format($$VALUES (%L::uuid, %L::uuid, 'semgrep', 'security', 'pending', NULL::jsonb, true)$$, :'r3', :'t1'),
    'create_gate defaults: pending, no checks, task_id taken from the run');
SELECT taskdb.create_gate(run_id => :'r3', name => 'opa', type => 'policy', status => 'fail',
                          checks => '{"rules": 3}') AS g2 \gset
SELECT results_eq(
    format($$SELECT task_id, name::text, type::text, status::text, checks FROM taskdb.gates WHERE id = %L$$, :'g2'),
    format($$VALUES (%L::uuid, 'opa', 'policy', 'fail', '{"rules": 3}'::jsonb)$$, :'t1'),
    'create_gate with named arguments stores status and checks');
SELECT throws_ok($$SELECT taskdb.create_gate('00000000-0000-0000-0001-00000000dead', 'opa', 'policy')$$,
                 '23503', 'run 00000000-0000-0000-0001-00000000dead does not exist', 'create_gate refuses an unknown run');
SELECT throws_ok(format($$SELECT taskdb.create_gate(%L, 'prettier', 'style')$$, :'r3'),
                 '23514', 'invalid value "style" for gates.type', 'create_gate refuses an unknown type');
SELECT throws_ok(format($$SELECT taskdb.create_gate(%L, 'opa', 'policy', 'passed')$$, :'r3'),
                 '23514', 'invalid value "passed" for gates.status', 'create_gate refuses an unknown status');
SELECT throws_ok(format($$SELECT taskdb.create_gate(%L, NULL, 'policy')$$, :'r3'),
                 '23502', 'null value in column "name" of relation "gates" violates not-null constraint',
                 'create_gate refuses a NULL name');

--
-- set_run_status(run_id, status) -> taskdb.runs
--
SELECT is((SELECT ROW(x.id, x.task_id, x.status::text, x.started_at = now(), x.finished_at IS NULL, x.updated_at = now())::text
             FROM taskdb.set_run_status(:'r1', 'running') x),
          ROW(:'r1'::uuid, :'t1'::uuid, 'running', true, true, true)::text,
          'set_run_status returns the updated row: running, started now, not finished');
-- started_at is kept once set: move it back and finish the run.
UPDATE taskdb.runs SET started_at = '2024-01-01 00:00:00+00' WHERE id = :'r1';
SELECT is((SELECT ROW(x.status::text, x.started_at, x.finished_at = now())::text
             FROM taskdb.set_run_status(:'r1', 'completed') x),
          ROW('completed', '2024-01-01 00:00:00+00'::timestamptz, true)::text,
          'set_run_status completed keeps started_at and stamps finished_at');
SELECT is((SELECT ROW(x.status::text, x.started_at, x.finished_at)::text
             FROM taskdb.set_run_status(:'r1', 'queued') x),
          ROW('queued', NULL::timestamptz, NULL::timestamptz)::text,
          'set_run_status queued clears started_at and finished_at');
SELECT is((SELECT ROW(x.status::text, x.started_at, x.finished_at = now())::text
             FROM taskdb.set_run_status(:'r1', 'cancelled') x),
          ROW('cancelled', now(), true)::text,
          'set_run_status cancelled from queued stamps both');
SELECT is((SELECT count(*)::int FROM taskdb.runs WHERE id = :'r1' AND status = 'cancelled'), 1,
          'the returned row is what the table holds');
SELECT throws_ok($$SELECT taskdb.set_run_status('00000000-0000-0000-0001-00000000dead', 'running')$$,
                 'P0002', 'run 00000000-0000-0000-0001-00000000dead does not exist', 'set_run_status of an unknown run');
SELECT throws_ok(format($$SELECT taskdb.set_run_status(%L, 'bogus')$$, :'r1'),
                 '23514', 'invalid value "bogus" for runs.status', 'set_run_status refuses an unknown status');
-- r1 cancelled, r2 running, r3 completed with a failed gate: still in_progress.
SELECT is(taskdb.status_derived(:'t1'), 'in_progress', 'status_derived follows set_run_status');
SELECT is((SELECT status::text FROM taskdb.set_run_status(:'r2', 'completed')), 'completed', 'the running run completes');
SELECT is(taskdb.status_derived(:'t1'), 'blocked', 'no run running, one completed, a failed gate: blocked');

--
-- set_gate_status(gate_id, status) -> taskdb.gates
--
SELECT is((SELECT ROW(x.id, x.run_id, x.task_id, x.status::text)::text FROM taskdb.set_gate_status(:'g2', 'pass') x),
          ROW(:'g2'::uuid, :'r3'::uuid, :'t1'::uuid, 'pass')::text,
          'set_gate_status returns the updated row');
SELECT is(taskdb.status_derived(:'t1'), 'completed', 'with the gate passed the task is completed');
SELECT is((SELECT status::text FROM taskdb.set_gate_status(:'g1', 'fail')), 'fail', 'the other gate fails');
SELECT is(taskdb.status_derived(:'t1'), 'blocked', 'a failed gate blocks the task again');
SELECT throws_ok($$SELECT taskdb.set_gate_status('00000000-0000-0000-0002-00000000dead', 'pass')$$,
                 'P0002', 'gate 00000000-0000-0000-0002-00000000dead does not exist', 'set_gate_status of an unknown gate');
SELECT throws_ok(format($$SELECT taskdb.set_gate_status(%L, 'ok')$$, :'g1'),
                 '23514', 'invalid value "ok" for gates.status', 'set_gate_status refuses an unknown status');

--
-- status_derived(uuid), task_status_derived and task_status
--
SELECT is(taskdb.status_derived('00000000-0000-0000-0000-00000000dead'), NULL, 'status_derived of an unknown task is NULL');
SELECT is(taskdb.status_derived(NULL), NULL, 'status_derived(NULL) is NULL');
SELECT is(ARRAY(SELECT t.title || ' ' || COALESCE(taskdb.status_derived(t.id), 'NULL')
                  FROM taskdb.tasks t ORDER BY 1),
          ARRAY['Review failed', 'Review pending', 'Ship it pending', 'Write the parser blocked'],
          'status_derived of every task');
SELECT is(ARRAY(SELECT t.id FROM taskdb.tasks t JOIN taskdb.task_status_derived v ON v.task_id = t.id
                 WHERE v.status_derived IS DISTINCT FROM taskdb.status_derived(t.id)),
          '{}'::uuid[], 'the view task_status_derived agrees with status_derived() for every task');
SELECT results_eq(
    format($$SELECT stored_status::text, status_derived, round(health_score::numeric, 3), runs_total, runs_running,
                    runs_completed, runs_failed, gates_failed
               FROM taskdb.task_status_derived WHERE task_id = %L$$, :'t1'),
    $$VALUES ('pending', 'blocked', 0.667, 3::bigint, 0::bigint, 2::bigint, 0::bigint, 1::bigint)$$,
    'task_status_derived: stored status, status_derived, health and counters with the pending changes');
SELECT results_eq(
    format($$SELECT task_id, stored_status::text, status_derived, round(health_score::numeric, 3)
               FROM taskdb.task_status_derived_mv WHERE task_id = %L$$, :'t1'),
    format($$VALUES (%L::uuid, 'pending', 'blocked', 0.667)$$, :'t1'),
    'task_status_derived_mv has the original plan''s columns and the same values');
SELECT results_eq(
    $$SELECT count(*)::int, count(*) FILTER (WHERE s.status_derived = 'pending' AND s.runs_total = 0
                                               AND s.gates_failed = 0 AND s.health_score = 0)::int
        FROM taskdb.task_status s$$,
    $$VALUES (4, 4)$$, 'task_status itself is unchanged until commit: every task still pending with zero counters');
SELECT results_eq(
    $$SELECT t.title::text, p.runs_total, p.runs_running, p.runs_completed, p.runs_failed, p.gates_failed
        FROM taskdb.pending_deltas() p JOIN taskdb.tasks t ON t.id = p.task_id ORDER BY 1$$,
    $$VALUES ('Review', 2::bigint, 0::bigint, 0::bigint, 1::bigint, 0::bigint),
             ('Write the parser', 3::bigint, 0::bigint, 2::bigint, 0::bigint, 1::bigint)$$,
    'pending_deltas() lists the net change per touched task');

--
-- derive_status(runs_total, runs_running, runs_completed, runs_failed, gates_failed)
--
SELECT is(taskdb.derive_status(c[1], c[2], c[3], c[4], c[5]), want, format('derive_status%s = %s: %s', c, want, why))
  FROM (VALUES
    ('{0,0,0,0,0}'::bigint[], 'pending', 'no runs'),
    ('{1,0,0,1,0}', 'failed', 'a failed run'),
    ('{3,1,1,1,2}', 'failed', 'a failed run wins over running runs and failed gates'),
    ('{2,1,1,0,0}', 'in_progress', 'a running run'),
    ('{2,1,0,0,3}', 'in_progress', 'a running run wins over failed gates'),
    ('{1,0,1,0,0}', 'completed', 'a completed run and no failed gate'),
    ('{2,0,1,0,1}', 'blocked', 'a completed run and a failed gate'),
    ('{2,0,0,0,0}', 'blocked', 'only queued or cancelled runs')
  ) AS v(c, want, why);
SELECT is(taskdb.derive_status(NULL, 0, 0, 0, 0), NULL, 'derive_status is strict');

--
-- system_stats(): one row per (entity, status); 'total' per table; status
-- rows only for statuses present; status_derived counts come from
-- task_status (the stored summary, which this transaction has not changed).
--
-- tasks: Write the parser (pending), Ship it (completed), Review (in_progress), Review (pending)
-- runs:  r1 cancelled, r2 completed, r3 completed, failed, cancelled
-- gates: g1 fail, g2 pass
SELECT results_eq(
    $$SELECT entity, status, count FROM taskdb.system_stats() ORDER BY entity, status$$,
    $$VALUES ('artifacts', 'total', 0::bigint),
             ('gates', 'fail', 1::bigint), ('gates', 'pass', 1::bigint), ('gates', 'total', 2::bigint),
             ('runs', 'cancelled', 2::bigint), ('runs', 'completed', 2::bigint), ('runs', 'failed', 1::bigint),
             ('runs', 'total', 5::bigint),
             ('status_derived', 'pending', 4::bigint),
             ('tasks', 'completed', 1::bigint), ('tasks', 'in_progress', 1::bigint), ('tasks', 'pending', 2::bigint),
             ('tasks', 'total', 4::bigint)$$,
    'system_stats(): totals and per-status counts');
SELECT bag_eq(
    $$SELECT * FROM taskdb.system_stats()$$,
    $$SELECT 'tasks'::text AS entity, 'total'::text AS status, count(*) AS count FROM taskdb.tasks
      UNION ALL SELECT 'tasks', status::text, count(*) FROM taskdb.tasks GROUP BY status
      UNION ALL SELECT 'runs', 'total', count(*) FROM taskdb.runs
      UNION ALL SELECT 'runs', status::text, count(*) FROM taskdb.runs GROUP BY status
      UNION ALL SELECT 'gates', 'total', count(*) FROM taskdb.gates
      UNION ALL SELECT 'gates', status::text, count(*) FROM taskdb.gates GROUP BY status
      UNION ALL SELECT 'artifacts', 'total', count(*) FROM taskdb.artifacts
      UNION ALL SELECT 'status_derived', status_derived, count(*) FROM taskdb.task_status GROUP BY status_derived$$,
    'system_stats() equals the same counts computed here');

SELECT * FROM finish();
ROLLBACK;
