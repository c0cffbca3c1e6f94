-- A small demo dataset: five tasks whose runs and gates put each in a
-- different status_derived, then 1,000 generated tasks, and the summary.
CREATE EXTENSION taskdb;

SELECT taskdb.create_task('Write the parser', policy_version => '1.1.0', priority => 'high') AS parser \gset
SELECT taskdb.create_task('Add the CLI', policy_version => '1.1.0') AS cli \gset
SELECT taskdb.create_task('Security review', policy_version => '1.1.0', priority => 'critical') AS review \gset
SELECT taskdb.create_task('Benchmark', policy_version => '1.1.0', priority => 'low') AS bench \gset
SELECT taskdb.create_task('Release notes', policy_version => '1.1.0') AS notes \gset

-- parser: one completed run whose gates all pass -> completed
SELECT taskdb.create_run(:'parser', status => 'completed') AS r \gset
SELECT :'r' AS parser_run \gset
SELECT taskdb.create_gate(:'r', 'eslint', 'lint', 'pass') IS NOT NULL AS gate_added \gset
SELECT taskdb.create_gate(:'r', 'truth check', 'truth', 'pass') IS NOT NULL AS gate_added \gset
-- cli: a run still running -> in_progress
SELECT taskdb.create_run(:'cli', status => 'running') IS NOT NULL AS run_added \gset
-- review: completed run but a failed security gate -> blocked
SELECT taskdb.create_run(:'review', status => 'completed') AS r \gset
SELECT taskdb.create_gate(:'r', 'semgrep', 'security', 'fail') IS NOT NULL AS gate_added \gset
-- bench: one failed and one completed run -> failed
SELECT taskdb.create_run(:'bench', status => 'failed') IS NOT NULL AS run_added \gset
SELECT taskdb.create_run(:'bench', status => 'completed') IS NOT NULL AS run_added \gset
-- notes: no runs -> pending

\echo
\echo 'status_derived of the five demo tasks:'
SELECT t.title, t.priority, d.status_derived, round(d.health_score::numeric, 2) AS health,
       d.runs_total AS runs, d.gates_failed
FROM taskdb.tasks t JOIN taskdb.task_status_derived d ON d.task_id = t.id
ORDER BY t.created_at;

-- 1,000 more tasks with 1-4 runs each and two gates per run, loaded set-based.
INSERT INTO taskdb.tasks (title, policy_version)
SELECT 'generated ' || i, '1.1.0' FROM generate_series(1, 1000) i;
INSERT INTO taskdb.runs (task_id, status)
SELECT t.id, (ARRAY['queued','running','completed','completed','completed','completed',
                    'completed','completed','cancelled','failed'])[1 + abs(hashtext(t.title || r)) % 10]
FROM taskdb.tasks t, generate_series(1, 1 + abs(hashtext(t.title)) % 4) r
WHERE t.title LIKE 'generated %';
INSERT INTO taskdb.gates (run_id, name, type, status)
SELECT r.id, 'gate ' || g, 'quality', (ARRAY['pass','pass','pass','pass','pass','pass','pass','pass','skipped','fail'])[1 + abs(hashtext(r.id::text || g)) % 10]
FROM taskdb.runs r JOIN taskdb.tasks t ON t.id = r.task_id AND t.title LIKE 'generated %', generate_series(1, 2) g;

\echo
\echo 'every task by status_derived (maintained incrementally, read from an index):'
SELECT status_derived, count(*) FROM taskdb.task_status GROUP BY 1 ORDER BY 1;

\echo
\echo 'totals (taskdb.system_stats()):'
SELECT * FROM taskdb.system_stats();

-- Provenance: publish a signed report, verify it, change the data, debug it.
SELECT taskdb.create_artifact(path => 'dist/parser.tar.gz', content => 'parser build 1.1.0',
                              run_id => :'parser_run') AS artifact \gset
SELECT taskdb.publish_report(jsonb_build_array(
         jsonb_build_object('kind', 'status_derived', 'id', :'parser', 'expected', 'completed'),
         jsonb_build_object('kind', 'run_id', 'id', :'parser_run'),
         jsonb_build_object('kind', 'task_id', 'id', :'cli'),
         jsonb_build_object('kind', 'artifact_hash', 'id', :'artifact'))) AS report \gset
\echo
\echo 'a published report (taskdb.publish_report), abridged:'
SELECT r.report->>'report_id' AS report_id, r.report->>'verification_snapshot_ts' AS snapshot_ts,
       r.report->>'snapshot' AS snapshot, r.claims_count, left(r.report->>'signature', 24) || '...' AS signature
FROM taskdb.reports r WHERE r.id = (:'report'::jsonb->>'report_id')::uuid;
\echo
\echo 'verified right away (taskdb.debug_provenance):'
SELECT * FROM taskdb.debug_provenance(:'report');
-- Later: the parser run is re-judged as failed and the CLI task is cancelled.
SELECT taskdb.set_run_status(:'parser_run', 'failed') IS NOT NULL AS changed \gset
UPDATE taskdb.tasks SET status = 'cancelled' WHERE id = :'cli';
\echo
\echo 'verified after the data changed (verbose):'
SELECT * FROM taskdb.debug_provenance(:'report', verbose => true);
\echo
\echo 'the history behind the verdict (taskdb.events for the parser task):'
SELECT e.entity, e.operation, e.old_status, e.new_status
FROM taskdb.events e WHERE e.task_id = :'parser' ORDER BY e.id;

\echo
\echo 'health (taskdb.doctor()):'
SELECT * FROM taskdb.doctor();
\echo
\echo 'metrics (taskdb.metrics(), counters and histogram counts):'
SELECT l AS metric FROM regexp_split_to_table(taskdb.metrics(), E'\n') l
WHERE l <> '' AND l NOT LIKE '#%' AND l NOT LIKE '%_bucket{%';

\echo
\echo 'a synthetic load through the same path (taskdb.generate_synthetic, 1,000 tasks), then the hash of all data:'
SET client_min_messages = warning;
SELECT * FROM taskdb.generate_synthetic(1000, 10, 3, 5000, seed => 42);
RESET client_min_messages;
SELECT status_derived, count(*) FROM taskdb.task_status GROUP BY 1 ORDER BY 1;
SELECT taskdb.export_hash();
