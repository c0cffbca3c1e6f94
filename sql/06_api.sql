--
-- 06_api: the SQL API (create_task, create_run, create_gate, set_run_status,
-- set_gate_status, system_stats): defaults, named arguments, errors, the
-- started_at / finished_at stamps, and the summary after every call.
--
\i sql/include/fresh.sql

-- The recomputation, drift check and id helpers every file shares.
\i sql/include/helpers.sql

\set nobody '00000000-0000-0000-0000-00000000dead'

--
-- create_task(title, policy_version, description, priority => 'medium',
--             status => 'pending', feature, owner, summary, dependencies, metadata)
--
SELECT taskdb.create_task('Write the parser', '1.1.0') AS t1 \gset
SELECT title, policy_version, status, priority, description, feature, owner, summary,
       dependencies, metadata, completed_at IS NULL AS no_completed_at
  FROM taskdb.tasks WHERE id = :'t1';
SELECT taskdb.create_task(title => 'Ship it', policy_version => '2.0', priority => 'high',
                          status => 'completed', feature => 'release', owner => 'ana',
                          description => 'Cut the release', summary => 'Shipped',
                          dependencies => '["Write the parser"]', metadata => '{"sprint": 7}') AS t2 \gset
SELECT title, policy_version, status, priority, description, feature, owner, summary,
       dependencies, metadata, completed_at IS NOT NULL AS has_completed_at
  FROM taskdb.tasks WHERE id = :'t2';
-- Positional and named arguments mixed.
SELECT taskdb.create_task('Review', '1.0', priority => 'low') AS t3 \gset
SELECT title, status, priority FROM taskdb.tasks WHERE id = :'t3';
-- policy_version is required.
SELECT taskdb.create_task('No policy');
SELECT taskdb.create_task(title => 'No policy', priority => 'high');
\set VERBOSITY terse
SELECT taskdb.create_task('Null policy', NULL);
\set VERBOSITY default
-- Invalid values are refused as for a plain INSERT.
SELECT taskdb.create_task('Bad', '1.0', priority => 'urgent');
SELECT taskdb.create_task('Bad', '1.0', status => 'done');
-- Every created task has its summary row: pending.
:check

--
-- create_run(task_id, status => 'queued', tool_calls, metrics): started_at is
-- stamped unless queued, finished_at for completed / failed / cancelled.
--
SELECT taskdb.create_run(:'t1') AS r1 \gset
SELECT taskdb.create_run(:'t1', 'running') AS r2 \gset
SELECT taskdb.create_run(task_id => :'t1', status => 'completed',
                         tool_calls => '[{"tool": "grep"}]', metrics => '{"tokens": 10}') AS r3 \gset
SELECT taskdb.create_run(:'t3', status => 'cancelled') AS r4 \gset
SELECT taskdb.create_run(:'t3', status => 'failed') AS r5 \gset
SELECT v.name, r.status, r.started_at IS NOT NULL AS started, r.finished_at IS NOT NULL AS finished,
       r.tool_calls, r.metrics, r.task_id = :'t1' AS of_t1
  FROM taskdb.runs r
  JOIN (VALUES ('r1', :'r1'::uuid), ('r2', :'r2'::uuid), ('r3', :'r3'::uuid),
               ('r4', :'r4'::uuid), ('r5', :'r5'::uuid)) AS v(name, id) ON v.id = r.id
 ORDER BY v.name;
SELECT taskdb.create_run(:'nobody');
SELECT taskdb.create_run(:'t1', 'bogus');
-- Write the parser in_progress (queued, running, completed) | Review failed
:check

--
-- create_gate(run_id, name, type, status => 'pending', checks): task_id from the run.
--
SELECT taskdb.create_gate(:'r3', 'semgrep', 'security') AS g1 \gset
SELECT taskdb.create_gate(run_id => :'r3', name => 'eslint', type => 'lint', status => 'fail',
                          checks => '[{"rule": "no-unused-vars", "ok": false}]') AS g2 \gset
SELECT name, type, status, checks, run_id = :'r3' AS of_r3, task_id = :'t1' AS of_t1
  FROM taskdb.gates ORDER BY name;
SELECT taskdb.create_gate(:'nobody', 'semgrep', 'security');
SELECT taskdb.create_gate(:'r3', 'prettier', 'style');
SELECT taskdb.create_gate(:'r3', 'prettier', 'lint', 'ok');
-- Write the parser: still in_progress (a run is running), 1 failed gate
:check

--
-- set_run_status(run_id, status) returns the updated runs row.
--
SELECT id = :'r1' AS same_run, status, started_at IS NOT NULL AS started, finished_at IS NOT NULL AS finished
  FROM taskdb.set_run_status(:'r1', 'running');
SELECT started_at AS r1_started FROM taskdb.runs WHERE id = :'r1' \gset
-- finishing keeps the start time and stamps the finish
SELECT status, started_at = :'r1_started' AS start_kept, finished_at IS NOT NULL AS finished
  FROM taskdb.set_run_status(:'r1', 'completed');
SELECT started_at AS r2_started FROM taskdb.runs WHERE id = :'r2' \gset
SELECT status, started_at = :'r2_started' AS start_kept, finished_at IS NOT NULL AS finished
  FROM taskdb.set_run_status(:'r2', 'completed');
-- back to queued clears both
SELECT status, started_at IS NULL AS no_start, finished_at IS NULL AS no_finish
  FROM taskdb.set_run_status(:'r1', 'queued');
-- queued straight to failed stamps both
SELECT status, started_at IS NOT NULL AS started, finished_at IS NOT NULL AS finished
  FROM taskdb.set_run_status(run_id => :'r1', status => 'failed');
-- Write the parser failed (1 failed run) | Review failed
:check
SELECT status FROM taskdb.set_run_status(:'r1', 'cancelled');
-- Write the parser blocked (completed runs, failed gate)
:check
-- Unknown run: no_data_found (P0002), with a hint.
SELECT * FROM taskdb.set_run_status('00000000-0000-0000-0001-00000000dead', 'running');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM taskdb.set_run_status(:'r1', 'done');

--
-- set_gate_status(gate_id, status) returns the updated gates row.
--
SELECT id = :'g2' AS same_gate, name, status FROM taskdb.set_gate_status(:'g2', 'pass');
-- Write the parser completed
:check
SELECT name, status FROM taskdb.set_gate_status(gate_id => :'g1', status => 'fail');
-- Write the parser blocked again
:check
SELECT * FROM taskdb.set_gate_status('00000000-0000-0000-0002-00000000dead', 'pass');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM taskdb.set_gate_status(:'g1', 'passed');

--
-- The README walk-through, with the status after each step.
--
SELECT taskdb.create_task('Readme example', policy_version => '1.1.0') AS t \gset
SELECT taskdb.create_run(:'t', status => 'running') AS r \gset
SELECT taskdb.status_derived(:'t');
SELECT status FROM taskdb.set_run_status(:'r', 'completed');
SELECT taskdb.status_derived(:'t');
SELECT taskdb.create_gate(:'r', 'semgrep', 'security', status => 'fail') IS NOT NULL AS created;
SELECT taskdb.status_derived(:'t');
-- and inside one transaction, before it commits
BEGIN;
SELECT taskdb.create_task('In a transaction', '1.0') AS tx \gset
SELECT taskdb.create_run(:'tx', 'running') AS rx \gset
SELECT taskdb.status_derived(:'tx') AS after_create_run;
SELECT status FROM taskdb.set_run_status(:'rx', 'failed');
SELECT taskdb.status_derived(:'tx') AS after_set_run_status;
SELECT status_derived AS stored_before_commit FROM taskdb.task_status WHERE task_id = :'tx';
COMMIT;
:check

--
-- system_stats(): totals per table and per status, and tasks per status_derived.
--
SELECT * FROM taskdb.system_stats() ORDER BY entity, status;
-- the same counts, computed here
SELECT count(*) AS differences FROM (
    (SELECT * FROM taskdb.system_stats()
     EXCEPT ALL
     (SELECT 'tasks', 'total', count(*) FROM taskdb.tasks
      UNION ALL SELECT 'tasks', status, count(*) FROM taskdb.tasks GROUP BY status
      UNION ALL SELECT 'runs', 'total', count(*) FROM taskdb.runs
      UNION ALL SELECT 'runs', status, count(*) FROM taskdb.runs GROUP BY status
      UNION ALL SELECT 'gates', 'total', count(*) FROM taskdb.gates
      UNION ALL SELECT 'gates', status, count(*) FROM taskdb.gates GROUP BY status
      UNION ALL SELECT 'artifacts', 'total', count(*) FROM taskdb.artifacts
      UNION ALL SELECT 'status_derived', status_derived, count(*) FROM recomputed GROUP BY status_derived))
    UNION ALL
    ((SELECT 'tasks', 'total', count(*) FROM taskdb.tasks
      UNION ALL SELECT 'tasks', status, count(*) FROM taskdb.tasks GROUP BY status
      UNION ALL SELECT 'runs', 'total', count(*) FROM taskdb.runs
      UNION ALL SELECT 'runs', status, count(*) FROM taskdb.runs GROUP BY status
      UNION ALL SELECT 'gates', 'total', count(*) FROM taskdb.gates
      UNION ALL SELECT 'gates', status, count(*) FROM taskdb.gates GROUP BY status
      UNION ALL SELECT 'artifacts', 'total', count(*) FROM taskdb.artifacts
      UNION ALL SELECT 'status_derived', status_derived, count(*) FROM recomputed GROUP BY status_derived)
     EXCEPT ALL
     SELECT * FROM taskdb.system_stats())) d;

-- NULL arguments to the setters are errors, not a silent NULL result.
SELECT taskdb.set_run_status(rid(1), NULL);
SELECT taskdb.set_run_status(NULL, 'running');
SELECT taskdb.set_gate_status(NULL, 'pass');
SELECT status FROM taskdb.runs WHERE id = :'r1';

-- Clean up the helpers (the extension stays for the next file).
DROP VIEW report;
DROP VIEW drift;
DROP VIEW recomputed;
DROP FUNCTION task_of(text);
DROP FUNCTION rid(int);
DROP FUNCTION gid(int);
DROP FUNCTION aid(int);
