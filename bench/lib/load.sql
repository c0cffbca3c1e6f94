-- Dataset, generated set-based into taskdb with its maintenance on:
-- :ntasks tasks, :nruns runs spread evenly over the tasks, :ngates gates
-- spread evenly over the runs, and :ntasks / 10 artifacts (about 1 KiB of
-- content each, hashed by taskdb.sha256) on as many distinct random runs.
-- Run statuses are drawn from a seeded random(): about 1 % failed,
-- 2 % running, 3 % queued, 2 % cancelled, the rest completed; about 3 % of
-- the gates fail, 2 % pending, 2 % skipped.  Every row also goes into
-- taskdb's event history (taskdb.events), written by taskdb's triggers.
-- copy.sql then copies tasks, runs and gates row for row into baseline
-- (which has no artifacts table: no measurement writes artifacts).
\set ON_ERROR_STOP on
SELECT setseed(0.4242) \gset

INSERT INTO taskdb.tasks (title, description, priority, policy_version, feature, owner, metadata)
SELECT 'Synthetic Task ' || i,
       'Generated task for load testing',
       (ARRAY['critical','high','medium','low'])[1 + i % 4],
       '1.1.0',
       'feature-' || (i % 40),
       'owner-' || (i % 25),
       jsonb_build_object('batch', i % 100)
  FROM generate_series(1, :ntasks) AS i;

-- n = 1..ntasks in uuid order, i.e. in no order related to creation.
INSERT INTO bench_ids (n, id)
SELECT row_number() OVER (ORDER BY id), id FROM taskdb.tasks;

INSERT INTO taskdb.runs (task_id, status, tool_calls, started_at, finished_at)
SELECT b.id, s.status,
       jsonb_build_array(jsonb_build_object('tool', 'bash', 'calls', g.i % 7)),
       CASE WHEN s.status <> 'queued' THEN now() - interval '1 hour' END,
       CASE WHEN s.status IN ('completed', 'failed', 'cancelled') THEN now() END
  FROM (SELECT i, random() AS x FROM generate_series(1, :nruns) AS i) AS g
  JOIN bench_ids b ON b.n = 1 + (g.i - 1) % :ntasks
  CROSS JOIN LATERAL (SELECT CASE WHEN g.x < 0.01 THEN 'failed'
                                  WHEN g.x < 0.03 THEN 'running'
                                  WHEN g.x < 0.06 THEN 'queued'
                                  WHEN g.x < 0.08 THEN 'cancelled'
                                  ELSE 'completed' END AS status) AS s;

INSERT INTO bench_runs (n, id, task_id)
SELECT row_number() OVER (ORDER BY id), id, task_id FROM taskdb.runs;

-- task_id is not given: taskdb fills it from the run.
INSERT INTO taskdb.gates (run_id, name, type, status)
SELECT r.id,
       'gate-' || g.k,
       (ARRAY['lint','policy','security','quality','truth'])[1 + (r.n + g.k) % 5],
       CASE WHEN g.x < 0.03 THEN 'fail'
            WHEN g.x < 0.05 THEN 'pending'
            WHEN g.x < 0.07 THEN 'skipped'
            ELSE 'pass' END
  FROM (SELECT i, (i - 1) / :nruns + 1 AS k, random() AS x
          FROM generate_series(1, :ngates) AS i) AS g
  JOIN bench_runs r ON r.n = 1 + (g.i - 1) % :nruns;

-- task_id is not given: taskdb fills it from the run.  bench_runs is in uuid
-- order, so its first rows are random runs.  Content: 32 lines of md5 hex,
-- distinct per artifact (so every hash names one artifact).
INSERT INTO taskdb.artifacts (run_id, path, sha256, size_bytes, media_type, content)
SELECT r.id, 'out/result-' || r.n || '.txt', taskdb.sha256(c.content), length(c.content),
       'text/plain', c.content
  FROM bench_runs r
  CROSS JOIN LATERAL (SELECT convert_to(string_agg(md5(r.n || ':' || j), E'\n' ORDER BY j), 'UTF8') AS content
                        FROM generate_series(1, 32) AS j) AS c
 WHERE r.n <= :ntasks / 10;
