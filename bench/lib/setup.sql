-- Schema for the benchmark: taskdb itself, and schema "baseline" holding the
-- same tables (columns, defaults, primary keys, indexes, CHECK constraints,
-- foreign keys) with none of taskdb's triggers.  Nothing maintains a summary
-- in baseline: its status_derived is computed on read.
\set ON_ERROR_STOP on

CREATE EXTENSION taskdb;

CREATE SCHEMA baseline;
CREATE TABLE baseline.tasks (LIKE taskdb.tasks INCLUDING ALL);
CREATE TABLE baseline.runs  (LIKE taskdb.runs  INCLUDING ALL);
CREATE TABLE baseline.gates (LIKE taskdb.gates INCLUDING ALL);
-- LIKE copies no foreign keys; load.sql adds them (as in taskdb) after the copy.

-- Random picks in pgbench scripts: a random n selects an existing id.
CREATE TABLE bench_ids  (n int PRIMARY KEY, id uuid NOT NULL);
CREATE TABLE bench_runs (n int PRIMARY KEY, id uuid NOT NULL, task_id uuid NOT NULL);

-- Published provenance reports for the verification runs: kind '10' or
-- '1000' (claims per report), n = 1..count of that kind, the claims document
-- (kept so the publish run can publish the same claims again) and the signed
-- report publish_report returned.  lib/reports.sql fills it.
CREATE TABLE bench_reports (
    kind    text NOT NULL,
    n       int NOT NULL,
    claims  jsonb NOT NULL,
    report  jsonb,
    PRIMARY KEY (kind, n)
);

-- A claims document of 5 * k claims about randomly chosen, distinct loaded
-- entities: k task_id, k run_id, k gate_id, k status_derived (on k other
-- tasks), and k artifact_hash, half of them naming the artifact by id and
-- half by its hash (on distinct artifacts, so no two claims are about the
-- same artifact).  Each gate is one gate of a run that no run_id claim
-- names.  Raises an error if the dataset is too small for k.
CREATE FUNCTION bench_claims(k int) RETURNS jsonb
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    tasks uuid[];
    runs uuid[];
    arts uuid[];
    hashes text[];
    nruns int := (SELECT max(n) FROM bench_runs);
    claims jsonb;
BEGIN
    SELECT array_agg(id) INTO tasks
      FROM (SELECT id FROM bench_ids ORDER BY random() LIMIT 2 * k) x;
    -- distinct random run numbers, drawn with replacement and deduplicated
    SELECT array_agg(r.id) INTO runs
      FROM (SELECT DISTINCT 1 + floor(random() * nruns)::int AS n
              FROM generate_series(1, 4 * k) LIMIT 2 * k) x
      JOIN bench_runs r ON r.n = x.n;
    SELECT array_agg(id), array_agg(sha256) INTO arts, hashes
      FROM (SELECT id, sha256 FROM taskdb.artifacts ORDER BY random() LIMIT k) x;
    IF coalesce(cardinality(tasks), 0) < 2 * k OR coalesce(cardinality(runs), 0) < 2 * k
       OR coalesce(cardinality(arts), 0) < k THEN
        RAISE EXCEPTION 'the dataset is too small for % claims of each kind', k;
    END IF;
    SELECT jsonb_agg(c ORDER BY ord) INTO claims FROM (
        SELECT i AS ord, jsonb_build_object('kind', 'task_id', 'id', tasks[i]) AS c
          FROM generate_series(1, k) i
        UNION ALL
        SELECT k + i, jsonb_build_object('kind', 'run_id', 'id', runs[i])
          FROM generate_series(1, k) i
        UNION ALL
        SELECT 2 * k + i, jsonb_build_object('kind', 'gate_id', 'id',
                   (SELECT g.id FROM taskdb.gates g WHERE g.run_id = runs[k + i] ORDER BY g.id LIMIT 1))
          FROM generate_series(1, k) i
        UNION ALL
        SELECT 3 * k + i, jsonb_build_object('kind', 'status_derived', 'id', tasks[k + i])
          FROM generate_series(1, k) i
        UNION ALL
        SELECT 4 * k + i, CASE WHEN i <= k / 2
                               THEN jsonb_build_object('kind', 'artifact_hash', 'id', arts[i])
                               ELSE jsonb_build_object('kind', 'artifact_hash', 'hash', hashes[i]) END
          FROM generate_series(1, k) i
    ) x;
    RETURN claims;
END;
$$;
