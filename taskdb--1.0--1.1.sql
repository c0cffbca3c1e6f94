/*
 * taskdb 1.0 -> 1.1 (ALTER EXTENSION taskdb UPDATE TO '1.1').
 *
 * The fresh 1.1 install script, taskdb--1.1.sql, is built by the Makefile as
 * taskdb--1.0.sql followed by this file, so a fresh install and an updated
 * 1.0 database run the same statements; test/scripts/upgrade.sh checks that
 * they end up with the same objects, grants and comments.
 *
 * Sections, one per change:
 */
\echo Use "ALTER EXTENSION taskdb UPDATE TO '1.1'" to load this file. \quit

/* ------------------------------------------------------------------------
 * Report stamps that no publisher waits for (src/provenance.c)
 *
 * 1.0 took each verification_snapshot_ts from the one row of
 * taskdb.report_clock, whose lock every publisher held until its
 * transaction ended: one publisher idle in its transaction (or prepared)
 * blocked all others.  1.1 keeps the last stamp in a sequence, which is not
 * transactional; publishers serialize only for the microseconds of taking a
 * stamp.
 * ------------------------------------------------------------------------ */

CREATE SEQUENCE @extschema@.report_stamp_seq AS bigint;
COMMENT ON SEQUENCE @extschema@.report_stamp_seq IS 'Internal: the last verification_snapshot_ts handed out, in microseconds since 2000-01-01 UTC (as timestamptz counts). Not transactional, so no publisher waits for another''s transaction; not dumped: after a restore stamps continue above the newest report''s.';
SELECT pg_catalog.setval('@extschema@.report_stamp_seq',
                         GREATEST(1, (pg_catalog.date_part('epoch', c.last_ts OPERATOR(pg_catalog.-) '2000-01-01 00:00:00+00'::pg_catalog.timestamptz)
                                      OPERATOR(pg_catalog.*) 1000000)::pg_catalog.int8))
  FROM @extschema@.report_clock c WHERE pg_catalog.isfinite(c.last_ts);
DROP TABLE @extschema@.report_clock;
COMMENT ON COLUMN @extschema@.reports.verification_snapshot_ts IS 'Unique, strictly increasing publication stamp, taken before the report''s snapshot (see taskdb.report_stamp_seq).';
COMMENT ON FUNCTION @extschema@.export_hash() IS
'sha256:<hex> over all of taskdb''s data in canonical form: tasks, runs, gates, artifacts, reports and task_status (without calculated_at), each in primary-key order. Independent of physical order, VACUUM and session settings; equal on a restored dump; the event history, the signing key and the report stamp sequence are not included.';

/* ------------------------------------------------------------------------
 * doctor() counts only what its checks found (src/doctor.c)
 *
 * 1.0's doctor() called count_doctor_checks(), which any role could call
 * with numbers of its own to fire the doctor and orphan alerts.  The checks
 * move to doctor_checks(); doctor() is a C function that runs them and
 * counts their rows.
 * ------------------------------------------------------------------------ */

DROP FUNCTION @extschema@.count_doctor_checks(integer, integer, integer, bigint);

CREATE FUNCTION @extschema@.doctor_checks(sample integer DEFAULT NULL)
RETURNS TABLE (check_name text, status text, detail text, problems bigint)
LANGUAGE plpgsql VOLATILE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n bigint;
    total bigint;
    first_bad text;
    preloaded boolean;
    fails int := 0;
    warns int := 0;
    checks int := 0;
BEGIN
    IF sample IS NOT NULL AND sample OPERATOR(pg_catalog.<) 1 THEN
        RAISE EXCEPTION 'sample must be a positive number of tasks, not %', sample
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass NULL (the default) to check every task.';
    END IF;

    -- 1. The summary against the recomputation from runs and gates.
    /*
     * Set-based, as rebuild_status() computes: one pass over runs and one
     * over failed gates, grouped by task (a per-task subquery would be a
     * join per task).  With a sample, only the sampled tasks' rows.
     */
    WITH d AS (
        SELECT t.id FROM @extschema@.tasks t
         ORDER BY CASE WHEN sample IS NULL THEN 0 ELSE pg_catalog.random() END
         LIMIT sample),
    r AS (
        SELECT x.task_id,
               pg_catalog.count(*) AS total,
               pg_catalog.count(*) FILTER (WHERE x.status OPERATOR(pg_catalog.=) 'running') AS running,
               pg_catalog.count(*) FILTER (WHERE x.status OPERATOR(pg_catalog.=) 'completed') AS completed,
               pg_catalog.count(*) FILTER (WHERE x.status OPERATOR(pg_catalog.=) 'failed') AS failed
          FROM @extschema@.runs x
         WHERE sample IS NULL OR x.task_id IN (SELECT d.id FROM d)
         GROUP BY x.task_id),
    g AS (
        SELECT x.task_id, pg_catalog.count(*) AS failed
          FROM @extschema@.gates y JOIN @extschema@.runs x ON x.id OPERATOR(pg_catalog.=) y.run_id
         WHERE y.status OPERATOR(pg_catalog.=) 'fail'
           AND (sample IS NULL OR x.task_id IN (SELECT d.id FROM d))
         GROUP BY x.task_id),
    c AS (
        SELECT d.id, COALESCE(r.total, 0) AS total, COALESCE(r.running, 0) AS running,
               COALESCE(r.completed, 0) AS completed, COALESCE(r.failed, 0) AS failed,
               COALESCE(g.failed, 0) AS gates_failed
          FROM d
          LEFT JOIN r ON r.task_id OPERATOR(pg_catalog.=) d.id
          LEFT JOIN g ON g.task_id OPERATOR(pg_catalog.=) d.id)
    SELECT (SELECT pg_catalog.count(*) FROM d), pg_catalog.count(*), pg_catalog.min(c.id::text)
      INTO total, n, first_bad
      FROM c
      LEFT JOIN @extschema@.task_status s ON s.task_id OPERATOR(pg_catalog.=) c.id
     WHERE s.task_id IS NULL
        OR (s.runs_total, s.runs_running, s.runs_completed, s.runs_failed, s.gates_failed,
            s.status_derived)
           IS DISTINCT FROM
           (c.total, c.running, c.completed, c.failed, c.gates_failed,
            @extschema@.derive_status(c.total, c.running, c.completed, c.failed, c.gates_failed));
    check_name := 'summary_drift';
    problems := n;
    IF n OPERATOR(pg_catalog.=) 0 THEN
        status := 'pass';
        detail := pg_catalog.format('%s tasks checked%s, all equal to the recomputation', total,
                                    CASE WHEN sample IS NULL THEN '' ELSE ' (sampled)' END);
    ELSE
        status := 'fail';
        detail := pg_catalog.format('%s of %s tasks differ from the recomputation (first: %s); run taskdb.rebuild_status()',
                                    n, total, first_bad);
    END IF;
    fails := fails + (status OPERATOR(pg_catalog.=) 'fail')::int;
    warns := warns + (status OPERATOR(pg_catalog.=) 'warn')::int;
    checks := checks + 1;
    RETURN NEXT;

    -- 2. Orphans: rows whose parent is gone (foreign keys should make these impossible).
    check_name := 'orphans';
    SELECT (SELECT pg_catalog.count(*) FROM @extschema@.gates g
             WHERE NOT EXISTS (SELECT 1 FROM @extschema@.runs r WHERE r.id OPERATOR(pg_catalog.=) g.run_id))
         + (SELECT pg_catalog.count(*) FROM @extschema@.runs r
             WHERE NOT EXISTS (SELECT 1 FROM @extschema@.tasks t WHERE t.id OPERATOR(pg_catalog.=) r.task_id))
         + (SELECT pg_catalog.count(*) FROM @extschema@.task_status s
             WHERE NOT EXISTS (SELECT 1 FROM @extschema@.tasks t WHERE t.id OPERATOR(pg_catalog.=) s.task_id))
         + (SELECT pg_catalog.count(*) FROM @extschema@.tasks t
             WHERE NOT EXISTS (SELECT 1 FROM @extschema@.task_status s WHERE s.task_id OPERATOR(pg_catalog.=) t.id))
      INTO n;
    problems := n;
    status := CASE WHEN n OPERATOR(pg_catalog.=) 0 THEN 'pass' ELSE 'fail' END;
    detail := CASE WHEN n OPERATOR(pg_catalog.=) 0
                   THEN 'no gate without its run, run without its task, summary row without its task or task without its summary row'
                   ELSE pg_catalog.format('%s orphaned or missing rows (gates without runs, runs without tasks, summary rows without tasks, tasks without summary rows); run taskdb.rebuild_status() for the summary', n) END;
    fails := fails + (status OPERATOR(pg_catalog.=) 'fail')::int;
    warns := warns + (status OPERATOR(pg_catalog.=) 'warn')::int;
    checks := checks + 1;
    RETURN NEXT;

    -- 3. The history's guard is in place on the tables and every partition, and always fires.
    check_name := 'event_history_guard';
    SELECT pg_catalog.count(*) FILTER (WHERE NOT g.ok), pg_catalog.min(g.relname) FILTER (WHERE NOT g.ok)
      INTO n, first_bad
      FROM (SELECT c.relname::text AS relname,
                   (SELECT pg_catalog.count(*) FROM pg_catalog.pg_trigger t
                     WHERE t.tgrelid OPERATOR(pg_catalog.=) c.oid
                       AND t.tgname OPERATOR(pg_catalog.=) ANY ('{history_append_only,history_append_only_statement}'::name[])
                       AND t.tgenabled OPERATOR(pg_catalog.=) 'A') OPERATOR(pg_catalog.=) 2 AS ok
              FROM pg_catalog.pg_class c
             WHERE c.oid OPERATOR(pg_catalog.=) ANY (ARRAY['@extschema@.history'::pg_catalog.regclass,
                                                           '@extschema@.history_archive'::pg_catalog.regclass])
                OR c.oid IN (SELECT i.inhrelid FROM pg_catalog.pg_inherits i
                              WHERE i.inhparent OPERATOR(pg_catalog.=) ANY (ARRAY['@extschema@.history'::pg_catalog.regclass,
                                                                                  '@extschema@.history_archive'::pg_catalog.regclass]))) g;
    problems := n;
    status := CASE WHEN n OPERATOR(pg_catalog.=) 0 THEN 'pass' ELSE 'fail' END;
    detail := CASE WHEN n OPERATOR(pg_catalog.=) 0
                   THEN 'the append-only triggers of taskdb.history, taskdb.history_archive and every partition are enabled ALWAYS: the history cannot be changed through SQL'
                   ELSE pg_catalog.format('%s history tables or partitions lack an append-only trigger enabled ALWAYS (first: %s): the history may have been changed',
                                          n, first_bad) END;
    fails := fails + (status OPERATOR(pg_catalog.=) 'fail')::int;
    warns := warns + (status OPERATOR(pg_catalog.=) 'warn')::int;
    checks := checks + 1;
    RETURN NEXT;

    -- 4. No event carries an id the sequence has not handed out (an event
    --    inserted behind the append-only guard's back with an id of its own).
    check_name := 'event_history_ids';
    IF NOT pg_catalog.has_sequence_privilege('@extschema@.history_id_seq', 'SELECT') THEN
        problems := NULL;
        status := 'warn';
        detail := pg_catalog.format('not checked: %s cannot read taskdb.history_id_seq; GRANT SELECT ON SEQUENCE taskdb.history_id_seq TO %s',
                                    CURRENT_USER, pg_catalog.quote_ident(CURRENT_USER));
    ELSE
        SELECT pg_catalog.count(*) INTO n
          FROM (SELECT h.id, h.entity_ids FROM @extschema@.history h UNION ALL
                SELECT h.id, h.entity_ids FROM @extschema@.history_archive h) h
         WHERE h.id OPERATOR(pg_catalog.+) pg_catalog.cardinality(h.entity_ids) OPERATOR(pg_catalog.-) 1
               OPERATOR(pg_catalog.>) (SELECT s.last_value OPERATOR(pg_catalog.+) 63 FROM @extschema@.history_id_seq s);
        problems := n;
        status := CASE WHEN n OPERATOR(pg_catalog.=) 0 THEN 'pass' ELSE 'fail' END;
        detail := CASE WHEN n OPERATOR(pg_catalog.=) 0 THEN 'every event id was issued by history_id_seq'
                       ELSE pg_catalog.format('%s history rows have ids history_id_seq never issued', n) END;
    END IF;
    fails := fails + (status OPERATOR(pg_catalog.=) 'fail')::int;
    warns := warns + (status OPERATOR(pg_catalog.=) 'warn')::int;
    checks := checks + 1;
    RETURN NEXT;

    -- 4b. The history is being recorded, and partitions are ready for it.
    check_name := 'history_recording';
    problems := NULL;
    IF pg_catalog.current_setting('taskdb.restoring', true) OPERATOR(pg_catalog.=) 'on' THEN
        status := 'fail';
        detail := 'taskdb.restoring is on: changes are not recorded in the history; after a restore run SELECT taskdb.post_restore()';
    ELSIF NOT pg_catalog.has_table_privilege('@extschema@.history_default', 'SELECT') THEN
        status := 'warn';
        detail := pg_catalog.format('not checked: %s cannot read taskdb.history_default; GRANT SELECT ON taskdb.history_default TO %s',
                                    CURRENT_USER, pg_catalog.quote_ident(CURRENT_USER));
    ELSE
        /* rows wait in the default partition only until maintain_history() runs */
        SELECT pg_catalog.count(*) INTO n FROM @extschema@.history_default d
         WHERE d.occurred_at OPERATOR(pg_catalog.<) (pg_catalog.now() OPERATOR(pg_catalog.-)
               pg_catalog.current_setting('taskdb.history_partition_interval')::interval);
        SELECT pg_catalog.count(*) INTO total FROM @extschema@.history_default;
        problems := n;
        IF n OPERATOR(pg_catalog.>) 0 THEN
            status := 'warn';
            detail := pg_catalog.format('%s history rows older than taskdb.history_partition_interval wait in the default partition: run SELECT taskdb.maintain_history() regularly (e.g. daily)', n);
        ELSE
            status := 'pass';
            detail := CASE WHEN total OPERATOR(pg_catalog.=) 0
                           THEN 'history is recorded, into time partitions'
                           ELSE pg_catalog.format('history is recorded; %s recent rows in the default partition go to time partitions at the next taskdb.maintain_history()', total) END;
        END IF;
    END IF;
    fails := fails + (status OPERATOR(pg_catalog.=) 'fail')::int;
    warns := warns + (status OPERATOR(pg_catalog.=) 'warn')::int;
    checks := checks + 1;
    RETURN NEXT;

    -- 4c. Every stored report's publication is in the history.  The
    --     publishing statement starts before the report's stamp is taken, so
    --     a publication event that occurred after the stamp was written by
    --     something else: a restore made without taskdb.restoring, which
    --     records the restored report anew and loses the history it stands on.
    check_name := 'report_history';
    SELECT pg_catalog.count(*), pg_catalog.count(*) FILTER (WHERE NOT EXISTS (
               SELECT 1 FROM @extschema@.history h
                WHERE h.entity_ids OPERATOR(pg_catalog.@>) ARRAY[r.id]
                  AND h.entity OPERATOR(pg_catalog.=) 'p' AND h.operation OPERATOR(pg_catalog.=) 'i'
                  AND h.occurred_at OPERATOR(pg_catalog.<=) r.verification_snapshot_ts)
             AND NOT EXISTS (
               SELECT 1 FROM @extschema@.history_archive h
                WHERE h.entity_ids OPERATOR(pg_catalog.@>) ARRAY[r.id]
                  AND h.entity OPERATOR(pg_catalog.=) 'p' AND h.operation OPERATOR(pg_catalog.=) 'i'
                  AND h.occurred_at OPERATOR(pg_catalog.<=) r.verification_snapshot_ts))
      INTO total, n
      FROM (SELECT * FROM @extschema@.reports
             ORDER BY CASE WHEN sample IS NULL THEN 0 ELSE pg_catalog.random() END LIMIT sample) r;
    problems := n;
    status := CASE WHEN n OPERATOR(pg_catalog.=) 0 THEN 'pass' ELSE 'fail' END;
    detail := CASE WHEN n OPERATOR(pg_catalog.=) 0
                   THEN pg_catalog.format('%s stored reports checked%s, each one''s publication is in the history', total,
                                          CASE WHEN sample IS NULL THEN '' ELSE ' (sampled)' END)
                   ELSE pg_catalog.format('%s of %s stored reports have no publication event in the history: it was not restored with it (taskdb.restoring) or was rewritten; verification cannot explain their changes',
                                          n, total) END;
    fails := fails + (status OPERATOR(pg_catalog.=) 'fail')::int;
    warns := warns + (status OPERATOR(pg_catalog.=) 'warn')::int;
    checks := checks + 1;
    RETURN NEXT;

    -- 5. Report signatures.
    check_name := 'report_signatures';
    SELECT pg_catalog.count(*), pg_catalog.count(*) FILTER (WHERE NOT @extschema@.report_signature_valid(r.report)),
           pg_catalog.min(r.id::text) FILTER (WHERE NOT @extschema@.report_signature_valid(r.report))
      INTO total, n, first_bad
      FROM (SELECT * FROM @extschema@.reports
             ORDER BY CASE WHEN sample IS NULL THEN 0 ELSE pg_catalog.random() END LIMIT sample) r;
    problems := n;
    status := CASE WHEN n OPERATOR(pg_catalog.=) 0 THEN 'pass' ELSE 'fail' END;
    detail := CASE WHEN n OPERATOR(pg_catalog.=) 0
                   THEN pg_catalog.format('%s stored reports checked%s, every signature valid', total,
                                          CASE WHEN sample IS NULL THEN '' ELSE ' (sampled)' END)
                   ELSE pg_catalog.format('%s of %s stored reports have an invalid signature (first: %s): altered, or signed with a key this database no longer has',
                                          n, total, first_bad) END;
    fails := fails + (status OPERATOR(pg_catalog.=) 'fail')::int;
    warns := warns + (status OPERATOR(pg_catalog.=) 'warn')::int;
    checks := checks + 1;
    RETURN NEXT;

    -- 6. Metrics need the library preloaded.
    check_name := 'metrics_preloaded';
    problems := NULL;
    /*
     * shared_preload_libraries is readable by superusers and
     * pg_read_all_settings only; taskdb.metrics_port exists only when taskdb
     * was preloaded, and anyone may read it.
     */
    IF pg_catalog.pg_has_role('pg_read_all_settings', 'USAGE') THEN
        preloaded := 'taskdb' OPERATOR(pg_catalog.=) ANY (pg_catalog.string_to_array(
                         pg_catalog.replace(pg_catalog.current_setting('shared_preload_libraries'), ' ', ''), ','));
    ELSE
        preloaded := pg_catalog.current_setting('taskdb.metrics_port', true) IS NOT NULL;
    END IF;
    IF preloaded THEN
        status := 'pass';
        detail := 'taskdb is in shared_preload_libraries';
    ELSE
        status := 'warn';
        detail := 'taskdb is not in shared_preload_libraries: everything works, but no metrics are collected';
    END IF;
    fails := fails + (status OPERATOR(pg_catalog.=) 'fail')::int;
    warns := warns + (status OPERATOR(pg_catalog.=) 'warn')::int;
    checks := checks + 1;
    RETURN NEXT;

    -- The verdict (doctor() counts the checks above into taskdb.metrics()).
    check_name := 'system_health';
    problems := fails;
    status := CASE WHEN fails OPERATOR(pg_catalog.>) 0 THEN 'failing'
                   WHEN warns OPERATOR(pg_catalog.>) 0 THEN 'degraded'
                   ELSE 'excellent' END;
    detail := pg_catalog.format('%s checks: %s pass, %s warn, %s fail',
                                checks, checks OPERATOR(pg_catalog.-) warns OPERATOR(pg_catalog.-) fails, warns, fails);
    RETURN NEXT;
END;
$$;
COMMENT ON FUNCTION @extschema@.doctor_checks(integer) IS
'The checks behind taskdb.doctor(), one row each, with problems = how many problems the check found (NULL where it counts none). Calling it directly counts nothing in taskdb.metrics(); doctor() does.';

CREATE OR REPLACE FUNCTION @extschema@.doctor(sample integer DEFAULT NULL)
RETURNS TABLE (check_name text, status text, detail text)
AS 'MODULE_PATHNAME', 'doctor'
LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.doctor(integer) IS
'Health checks, one row each (status pass, warn or fail, with what was found): summary drift (every task, or a random sample of that many tasks and reports), orphans, the event history''s guard and ids, report signatures, whether metrics are collected; then the row system_health: excellent (all pass), degraded (some warn) or failing (any fail). Runs taskdb.doctor_checks() with the caller''s privileges and counts its results into taskdb_doctor_checks_total and taskdb_orphans_detected_total.';

/* ------------------------------------------------------------------------
 * generate_synthetic(): every seed works, sizes checked first
 *
 * 1.0 computed seed + 1 .. seed + 3 as integers: seed 2147483647 failed with
 * a bare "integer out of range".  The same seeds give the same data.
 * ------------------------------------------------------------------------ */

CREATE OR REPLACE FUNCTION @extschema@.generate_synthetic(
    tasks integer,
    runs_per_task integer DEFAULT 10,
    gates_per_run integer DEFAULT 3,
    artifacts integer DEFAULT NULL,
    seed integer DEFAULT 42,
    OUT tasks_created bigint,
    OUT runs_created bigint,
    OUT gates_created bigint,
    OUT artifacts_created bigint,
    OUT events_written bigint)
RETURNS record
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
/*
 * Every join below looks rows up by primary key for one chunk: nested loops
 * over the indexes.  A hash or merge join reads all of a table that grows
 * with every chunk, which made the load quadratic when statistics lagged
 * (at the default work_mem, 5,000 tasks took 371 s in 1.0).
 */
SET enable_hashjoin = off
SET enable_mergejoin = off
AS $$
DECLARE
    ntasks constant bigint := tasks;
    rpt constant bigint := runs_per_task;
    gpr constant bigint := gates_per_run;
    nart bigint := artifacts;
    chunk bigint;
    lo bigint;
    hi bigint;
    n bigint;
    t0 timestamptz := pg_catalog.clock_timestamp();
    base constant timestamptz := '2026-01-01 00:00:00+00';
    prefix constant text := 'taskdb-synthetic:' OPERATOR(pg_catalog.||) seed::text OPERATOR(pg_catalog.||) ':';
BEGIN
    IF ntasks IS NULL OR rpt IS NULL OR gpr IS NULL OR seed IS NULL THEN
        RAISE EXCEPTION 'generate_synthetic: tasks, runs_per_task, gates_per_run and seed must not be NULL'
            USING ERRCODE = 'null_value_not_allowed',
                  HINT = 'Leave artifacts NULL (or out) for 5 per task; give every other argument a value or leave it out.';
    END IF;
    IF ntasks OPERATOR(pg_catalog.<) 0 OR rpt OPERATOR(pg_catalog.<) 0 OR gpr OPERATOR(pg_catalog.<) 0
       OR nart OPERATOR(pg_catalog.<) 0 THEN
        RAISE EXCEPTION 'generate_synthetic: counts must not be negative: tasks %, runs_per_task %, gates_per_run %, artifacts %',
            ntasks, rpt, gpr, nart
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'The plan''s dataset is generate_synthetic(100000, 10, 3, 500000).';
    END IF;
    nart := COALESCE(nart, ntasks OPERATOR(pg_catalog.*) 5);
    /* One transaction writes it all: refuse sizes no database could take before trying. */
    IF ntasks OPERATOR(pg_catalog.>) 100000000
       OR ntasks::pg_catalog.numeric OPERATOR(pg_catalog.*) rpt OPERATOR(pg_catalog.>) 1000000000
       OR ntasks::pg_catalog.numeric OPERATOR(pg_catalog.*) rpt OPERATOR(pg_catalog.*) gpr OPERATOR(pg_catalog.>) 3000000000
       OR nart OPERATOR(pg_catalog.>) 1000000000 THEN
        RAISE EXCEPTION 'generate_synthetic: % tasks, % runs per task, % gates per run and % artifacts are more than one transaction can load',
            ntasks, rpt, gpr, nart
            USING ERRCODE = 'program_limit_exceeded',
                  DETAIL = 'The limits are 100,000,000 tasks, 1,000,000,000 runs, 3,000,000,000 gates and 1,000,000,000 artifacts in one call.',
                  HINT = 'The plan''s dataset is generate_synthetic(100000, 10, 3, 500000); load more in several calls with different seeds.';
    END IF;
    IF nart OPERATOR(pg_catalog.>) 0 AND ntasks OPERATOR(pg_catalog.=) 0 THEN
        RAISE EXCEPTION 'generate_synthetic: % artifacts need at least one task', nart
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Every artifact belongs to a task; ask for tasks too, or for 0 artifacts.';
    END IF;
    IF EXISTS (SELECT 1 FROM @extschema@.tasks t
                WHERE t.id OPERATOR(pg_catalog.=) pg_catalog.md5(prefix OPERATOR(pg_catalog.||) 'task:1')::uuid) THEN
        RAISE EXCEPTION 'generate_synthetic: the dataset of seed % is already loaded', seed
            USING ERRCODE = 'unique_violation',
                  HINT = 'Ids are derived from the seed: use another seed, or delete the tasks first.';
    END IF;

    tasks_created := 0; runs_created := 0; gates_created := 0;
    artifacts_created := 0; events_written := 0;
    chunk := GREATEST(1, LEAST(5000, (ntasks OPERATOR(pg_catalog.+) 19) OPERATOR(pg_catalog./) 20));
    lo := 1;
    WHILE lo OPERATOR(pg_catalog.<=) ntasks LOOP
        hi := LEAST(ntasks, lo OPERATOR(pg_catalog.+) chunk OPERATOR(pg_catalog.-) 1);

        INSERT INTO @extschema@.tasks (id, title, description, status, priority, policy_version,
                                       feature, owner, created_at, updated_at, dependencies, metadata)
        SELECT pg_catalog.md5(prefix OPERATOR(pg_catalog.||) 'task:' OPERATOR(pg_catalog.||) i)::uuid,
               'Synthetic task ' OPERATOR(pg_catalog.||) i,
               'Generated by taskdb.generate_synthetic, seed ' OPERATOR(pg_catalog.||) seed,
               'pending',
               (ARRAY['critical','high','medium','low'])[1 OPERATOR(pg_catalog.+)
                   (pg_catalog.hashint8extended(i, seed) OPERATOR(pg_catalog.&) 3)::int],
               '1.1.0',
               'feature-' OPERATOR(pg_catalog.||) (i OPERATOR(pg_catalog.%) 40),
               'owner-' OPERATOR(pg_catalog.||) (i OPERATOR(pg_catalog.%) 25),
               base OPERATOR(pg_catalog.+) pg_catalog.make_interval(secs => i),
               base OPERATOR(pg_catalog.+) pg_catalog.make_interval(secs => i),
               CASE WHEN i OPERATOR(pg_catalog.>) 1 AND i OPERATOR(pg_catalog.%) 10 OPERATOR(pg_catalog.=) 0
                    THEN pg_catalog.jsonb_build_array(pg_catalog.md5(prefix OPERATOR(pg_catalog.||) 'task:'
                             OPERATOR(pg_catalog.||) (i OPERATOR(pg_catalog.-) 1))::uuid) END,
               pg_catalog.jsonb_build_object('synthetic', true, 'seed', seed, 'n', i)
          FROM pg_catalog.generate_series(lo, hi) AS i;
        GET DIAGNOSTICS n = ROW_COUNT;
        tasks_created := tasks_created OPERATOR(pg_catalog.+) n;
        events_written := events_written OPERATOR(pg_catalog.+) n;

        /* r: the run's number; its fate f in 0..999 decides what happens to it. */
        IF pg_catalog.to_regclass('pg_temp.taskdb_synthetic_runs') IS NULL THEN
            CREATE TEMP TABLE taskdb_synthetic_runs
                (id uuid PRIMARY KEY, r bigint, t bigint, f int) ON COMMIT DROP;
        END IF;
        TRUNCATE taskdb_synthetic_runs;
        INSERT INTO taskdb_synthetic_runs
        SELECT pg_catalog.md5(prefix OPERATOR(pg_catalog.||) 'run:' OPERATOR(pg_catalog.||) r)::uuid, r, t,
               pg_catalog.abs(pg_catalog.hashint8extended(r, seed::pg_catalog.int8 OPERATOR(pg_catalog.+) 1) OPERATOR(pg_catalog.%) 1000)::int
          FROM pg_catalog.generate_series(lo, hi) AS t,
               LATERAL pg_catalog.generate_series((t OPERATOR(pg_catalog.-) 1) OPERATOR(pg_catalog.*) rpt OPERATOR(pg_catalog.+) 1,
                                                  t OPERATOR(pg_catalog.*) rpt) AS r;
        ANALYZE taskdb_synthetic_runs;

        INSERT INTO @extschema@.runs (id, task_id, status, created_at, updated_at)
        SELECT s.id, pg_catalog.md5(prefix OPERATOR(pg_catalog.||) 'task:' OPERATOR(pg_catalog.||) s.t)::uuid,
               'queued',
               base OPERATOR(pg_catalog.+) pg_catalog.make_interval(secs => s.r),
               base OPERATOR(pg_catalog.+) pg_catalog.make_interval(secs => s.r)
          FROM taskdb_synthetic_runs s ORDER BY s.r;
        GET DIAGNOSTICS n = ROW_COUNT;
        runs_created := runs_created OPERATOR(pg_catalog.+) n;
        events_written := events_written OPERATOR(pg_catalog.+) n;

        INSERT INTO @extschema@.gates (id, run_id, name, type, status, created_at)
        SELECT pg_catalog.md5(prefix OPERATOR(pg_catalog.||) 'gate:' OPERATOR(pg_catalog.||)
                   ((s.r OPERATOR(pg_catalog.-) 1) OPERATOR(pg_catalog.*) gpr OPERATOR(pg_catalog.+) g))::uuid,
               s.id,
               'gate-' OPERATOR(pg_catalog.||) g,
               (ARRAY['lint','policy','security','quality','truth'])[1 OPERATOR(pg_catalog.+)
                   ((g OPERATOR(pg_catalog.-) 1) OPERATOR(pg_catalog.%) 5)::int],
               'pending',
               base OPERATOR(pg_catalog.+) pg_catalog.make_interval(secs => s.r, mins => g::int)
          FROM taskdb_synthetic_runs s, pg_catalog.generate_series(1, gpr) AS g
         ORDER BY s.r, g;
        GET DIAGNOSTICS n = ROW_COUNT;
        gates_created := gates_created OPERATOR(pg_catalog.+) n;
        events_written := events_written OPERATOR(pg_catalog.+) n;

        /* 0.5 % of the runs stay queued; the rest start. */
        UPDATE @extschema@.runs x
           SET status = 'running',
               started_at = base OPERATOR(pg_catalog.+) pg_catalog.make_interval(secs => s.r, mins => 1),
               updated_at = base OPERATOR(pg_catalog.+) pg_catalog.make_interval(secs => s.r, mins => 1)
          FROM taskdb_synthetic_runs s
         WHERE x.id OPERATOR(pg_catalog.=) s.id AND s.f OPERATOR(pg_catalog.>=) 5;
        GET DIAGNOSTICS n = ROW_COUNT;
        events_written := events_written OPERATOR(pg_catalog.+) n;

        UPDATE @extschema@.runs x
           SET tool_calls = pg_catalog.jsonb_build_array(
                   pg_catalog.jsonb_build_object('tool', 'bash', 'calls', s.r OPERATOR(pg_catalog.%) 7),
                   pg_catalog.jsonb_build_object('tool', 'edit', 'calls', s.r OPERATOR(pg_catalog.%) 5)),
               updated_at = base OPERATOR(pg_catalog.+) pg_catalog.make_interval(secs => s.r, mins => 2)
          FROM taskdb_synthetic_runs s
         WHERE x.id OPERATOR(pg_catalog.=) s.id AND s.f OPERATOR(pg_catalog.>=) 5;
        GET DIAGNOSTICS n = ROW_COUNT;
        events_written := events_written OPERATOR(pg_catalog.+) n;

        /* 1.5 % stay running, 1 % fail, 2 % are cancelled, 95 % complete. */
        UPDATE @extschema@.runs x
           SET status = CASE WHEN s.f OPERATOR(pg_catalog.<) 30 THEN 'failed'
                             WHEN s.f OPERATOR(pg_catalog.<) 50 THEN 'cancelled'
                             ELSE 'completed' END,
               metrics = pg_catalog.jsonb_build_object('duration_ms', 1000 OPERATOR(pg_catalog.+) (s.f OPERATOR(pg_catalog.*) 37)),
               finished_at = base OPERATOR(pg_catalog.+) pg_catalog.make_interval(secs => s.r, mins => 3),
               updated_at = base OPERATOR(pg_catalog.+) pg_catalog.make_interval(secs => s.r, mins => 3)
          FROM taskdb_synthetic_runs s
         WHERE x.id OPERATOR(pg_catalog.=) s.id AND s.f OPERATOR(pg_catalog.>=) 20;
        GET DIAGNOSTICS n = ROW_COUNT;
        events_written := events_written OPERATOR(pg_catalog.+) n;

        /*
         * Gates of runs that started are decided: 0.5 % fail, 4 % are
         * skipped.  Their ids go to a temporary table with statistics first:
         * joined to a computed subquery, the planner misjudged its size and
         * hashed all of taskdb.gates for every chunk (quadratic at the
         * default work_mem).
         */
        IF pg_catalog.to_regclass('pg_temp.taskdb_synthetic_gates') IS NULL THEN
            CREATE TEMP TABLE taskdb_synthetic_gates (id uuid PRIMARY KEY, h int) ON COMMIT DROP;
        END IF;
        TRUNCATE taskdb_synthetic_gates;
        INSERT INTO taskdb_synthetic_gates
        SELECT pg_catalog.md5(prefix OPERATOR(pg_catalog.||) 'gate:' OPERATOR(pg_catalog.||) gn)::uuid,
               pg_catalog.abs(pg_catalog.hashint8extended(gn, seed::pg_catalog.int8 OPERATOR(pg_catalog.+) 2)
                              OPERATOR(pg_catalog.%) 1000)::int
          FROM taskdb_synthetic_runs s,
               LATERAL pg_catalog.generate_series((s.r OPERATOR(pg_catalog.-) 1) OPERATOR(pg_catalog.*) gpr OPERATOR(pg_catalog.+) 1,
                                                  s.r OPERATOR(pg_catalog.*) gpr) AS gn
         WHERE s.f OPERATOR(pg_catalog.>=) 5;
        ANALYZE taskdb_synthetic_gates;
        UPDATE @extschema@.gates y
           SET status = CASE WHEN v.h OPERATOR(pg_catalog.<) 5 THEN 'fail'
                             WHEN v.h OPERATOR(pg_catalog.<) 45 THEN 'skipped'
                             ELSE 'pass' END,
               checks = pg_catalog.jsonb_build_object('passed', v.h OPERATOR(pg_catalog.>=) 5, 'score', v.h)
          FROM taskdb_synthetic_gates v
         WHERE y.id OPERATOR(pg_catalog.=) v.id;
        GET DIAGNOSTICS n = ROW_COUNT;
        events_written := events_written OPERATOR(pg_catalog.+) n;

        /* The tasks are closed: stored status by their number. */
        UPDATE @extschema@.tasks x
           SET status = CASE WHEN pg_catalog.hashint8extended(i, seed::pg_catalog.int8 OPERATOR(pg_catalog.+) 3) OPERATOR(pg_catalog.%) 10
                                  OPERATOR(pg_catalog.=) 0 THEN 'in_progress'
                             ELSE 'completed' END,
               updated_at = base OPERATOR(pg_catalog.+) pg_catalog.make_interval(days => 1, secs => i),
               completed_at = CASE WHEN pg_catalog.hashint8extended(i, seed::pg_catalog.int8 OPERATOR(pg_catalog.+) 3) OPERATOR(pg_catalog.%) 10
                                        OPERATOR(pg_catalog.=) 0 THEN NULL
                                   ELSE base OPERATOR(pg_catalog.+) pg_catalog.make_interval(days => 1, secs => i) END
          FROM pg_catalog.generate_series(lo, hi) AS i
         WHERE x.id OPERATOR(pg_catalog.=) pg_catalog.md5(prefix OPERATOR(pg_catalog.||) 'task:' OPERATOR(pg_catalog.||) i)::uuid;
        GET DIAGNOSTICS n = ROW_COUNT;
        events_written := events_written OPERATOR(pg_catalog.+) n;

        /* Artifacts j = t, t + ntasks, t + 2 ntasks, ... of each task t, on one of its runs. */
        INSERT INTO @extschema@.artifacts (id, task_id, run_id, path, sha256, size_bytes, media_type, created_at)
        SELECT pg_catalog.md5(prefix OPERATOR(pg_catalog.||) 'artifact:' OPERATOR(pg_catalog.||) j)::uuid,
               pg_catalog.md5(prefix OPERATOR(pg_catalog.||) 'task:' OPERATOR(pg_catalog.||) t)::uuid,
               CASE WHEN rpt OPERATOR(pg_catalog.>) 0 THEN
                   pg_catalog.md5(prefix OPERATOR(pg_catalog.||) 'run:' OPERATOR(pg_catalog.||)
                       ((t OPERATOR(pg_catalog.-) 1) OPERATOR(pg_catalog.*) rpt OPERATOR(pg_catalog.+) 1
                        OPERATOR(pg_catalog.+) (j OPERATOR(pg_catalog.%) rpt)))::uuid END,
               'artifacts/' OPERATOR(pg_catalog.||) t OPERATOR(pg_catalog.||) '/output-' OPERATOR(pg_catalog.||) j OPERATOR(pg_catalog.||) '.json',
               'sha256:' OPERATOR(pg_catalog.||) pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(
                   prefix OPERATOR(pg_catalog.||) 'content:' OPERATOR(pg_catalog.||) j, 'UTF8')), 'hex'),
               pg_catalog.length(prefix OPERATOR(pg_catalog.||) 'content:' OPERATOR(pg_catalog.||) j),
               'application/json',
               base OPERATOR(pg_catalog.+) pg_catalog.make_interval(days => 1, secs => j)
          FROM pg_catalog.generate_series(lo, hi) AS t,
               LATERAL pg_catalog.generate_series(t, nart, ntasks) AS j
         ORDER BY j;
        GET DIAGNOSTICS n = ROW_COUNT;
        artifacts_created := artifacts_created OPERATOR(pg_catalog.+) n;
        events_written := events_written OPERATOR(pg_catalog.+) n;

        RAISE NOTICE 'generate_synthetic: % of % tasks (% %%), % runs, % gates, % artifacts, % events, % s',
            hi, ntasks, (100 OPERATOR(pg_catalog.*) hi) OPERATOR(pg_catalog./) ntasks,
            runs_created, gates_created, artifacts_created, events_written,
            pg_catalog.round(pg_catalog.date_part('epoch', pg_catalog.clock_timestamp() OPERATOR(pg_catalog.-) t0)::numeric, 1);
        lo := hi OPERATOR(pg_catalog.+) 1;
    END LOOP;
END;
$$;

/*
 * Reports given as text.  jsonb keeps the last of two equal keys while a
 * reader of the file sees the first, so a report naming a key twice could
 * verify as one thing and read as another: these overloads refuse it
 * (SQLSTATE 22030).  An untyped literal or a psql variable resolves to them.
 */
CREATE FUNCTION @extschema@.verify_provenance(report text)
RETURNS TABLE (claim text, kind text, status text, expected text, actual text,
               mismatch text, changed_at timestamptz)
AS 'MODULE_PATHNAME', 'verify_provenance'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED ROWS 11;
COMMENT ON FUNCTION @extschema@.verify_provenance(text) IS
'verify_provenance(jsonb) for a report given as text: refuses a report in which an object names a key twice (SQLSTATE 22030), since jsonb would keep the last value while a reader sees the first.';

CREATE FUNCTION @extschema@.debug_provenance(report text, verbose boolean DEFAULT false)
RETURNS SETOF text
AS 'MODULE_PATHNAME', 'debug_provenance'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED ROWS 12;
COMMENT ON FUNCTION @extschema@.debug_provenance(text, boolean) IS
'debug_provenance(jsonb, boolean) for a report given as text: refuses a report in which an object names a key twice (SQLSTATE 22030).';

/* ------------------------------------------------------------------------
 * Event history 2.0 (src/capture.c, src/history.c)
 *
 * 1.0 wrote one taskdb.events row per changed row through two statement
 * triggers per table and event, kept it out of pg_dump, and archived by
 * physical block order.  1.1:
 *
 *   - one trigger per table and event, taskdb.capture(), reads each
 *     statement's transition tables once for both the summary and the
 *     history;
 *   - the history is taskdb.history: one row per statement, table,
 *     operation and task holding up to 64 events (their ids, statuses and
 *     changes in arrays), partitioned by time (taskdb.maintain_history()
 *     makes the partitions, taskdb.history_partition_interval sets their
 *     length); archival moves whole partitions to taskdb.history_archive;
 *   - the views taskdb.events, taskdb.events_archive and
 *     taskdb.event_history show one row per event with 1.0's columns;
 *   - partitions are dumped by pg_dump; a restore runs with
 *     taskdb.restoring = on and ends with taskdb.post_restore(), which
 *     starts a new era: transaction ids are compared with a report's
 *     snapshot only within the era (the server) that wrote both, so a
 *     verdict never depends on the xid counter of the server that verifies.
 * ------------------------------------------------------------------------ */

/*
 * Eras: the transaction id spaces the history has been written in.  Era 1
 * is the server the extension was created on (no row); post_restore() adds
 * one row per restore into another server or database.
 */
CREATE TABLE @extschema@.eras (
    era                 integer PRIMARY KEY CHECK (era OPERATOR(pg_catalog.>) 1),
    began_at            timestamptz NOT NULL DEFAULT pg_catalog.now(),
    system_identifier   text NOT NULL,
    database            text NOT NULL,
    reason              text NOT NULL
);
SELECT pg_catalog.pg_extension_config_dump('@extschema@.eras', '');
COMMENT ON TABLE @extschema@.eras IS 'The transaction id spaces (servers) the history was written in: era 1 is where the extension was created; taskdb.post_restore() adds one per restore. An event''s xact_id is compared with a report''s snapshot only within one era; a later era is after the snapshot, an earlier one before it.';
COMMENT ON COLUMN @extschema@.eras.era IS 'Era number, from 2 (era 1, the original server, has no row).';
COMMENT ON COLUMN @extschema@.eras.began_at IS 'When the era began (the end of the restore).';
COMMENT ON COLUMN @extschema@.eras.system_identifier IS 'pg_control_system().system_identifier of the server the era''s transactions ran on.';
COMMENT ON COLUMN @extschema@.eras.database IS 'The database the era''s transactions ran in.';
COMMENT ON COLUMN @extschema@.eras.reason IS 'Why the era began.';

CREATE FUNCTION @extschema@.eras_changed()
RETURNS trigger
AS 'MODULE_PATHNAME', 'eras_changed'
LANGUAGE C;
COMMENT ON FUNCTION @extschema@.eras_changed() IS
'Statement trigger on taskdb.eras: every backend forgets the era it keeps, so the next history it writes carries the new one.';
REVOKE ALL ON FUNCTION @extschema@.eras_changed() FROM PUBLIC;
CREATE TRIGGER eras_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.eras
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.eras_changed();
ALTER TABLE @extschema@.eras ENABLE ALWAYS TRIGGER eras_changed;
COMMENT ON TRIGGER eras_changed ON @extschema@.eras IS 'A new era reaches every backend''s history writer (ALWAYS: a restore loads eras with triggers in any mode).';

/*
 * Event ids: each history row takes one value and gives its events that id
 * and the next ones (at most 64), so ids stay unique and in the order events
 * were written.
 */
CREATE SEQUENCE @extschema@.history_id_seq AS bigint INCREMENT BY 64;
COMMENT ON SEQUENCE @extschema@.history_id_seq IS 'Ids of history rows: a row''s events have ids id, id + 1, ... (up to 64 per row), in the order they were written.';

CREATE TABLE @extschema@.history (
    occurred_at     timestamptz NOT NULL,
    xact_id         xid8 NOT NULL,
    id              bigint NOT NULL,
    era             integer NOT NULL,
    entity          "char" NOT NULL,
    operation       "char" NOT NULL,
    task_id         uuid,
    entity_ids      uuid[] NOT NULL,
    statuses        bytea,
    changes         jsonb,
    archived_at     timestamptz
) PARTITION BY RANGE (occurred_at);
COMMENT ON TABLE @extschema@.history IS 'The event history as stored: one row per statement, table, operation and task, holding up to 64 events. Partitioned by occurred_at (see taskdb.maintain_history()); written only by taskdb, append-only. Read it through the views taskdb.events and taskdb.event_history.';
COMMENT ON COLUMN @extschema@.history.occurred_at IS 'Start time of the statement that made the changes (not their commit time); the partition key.';
COMMENT ON COLUMN @extschema@.history.xact_id IS 'Top-level transaction that made the changes (pg_current_xact_id()), compared with report snapshots of the same era.';
COMMENT ON COLUMN @extschema@.history.id IS 'Id of the row''s first event; the i-th event (from 0) has id + i.';
COMMENT ON COLUMN @extschema@.history.era IS 'The taskdb.eras transaction id space xact_id belongs to.';
COMMENT ON COLUMN @extschema@.history.entity IS 't task, r run, g gate, a artifact, p report.';
COMMENT ON COLUMN @extschema@.history.operation IS 'i insert, u update, d delete, t truncate.';
COMMENT ON COLUMN @extschema@.history.task_id IS 'The task every event of the row belongs to (NULL for reports and TRUNCATE).';
COMMENT ON COLUMN @extschema@.history.entity_ids IS 'Ids of the changed rows, one per event ({NULL} for a TRUNCATE).';
COMMENT ON COLUMN @extschema@.history.statuses IS 'Two bytes per event, the old and new status as codes (taskdb.history_events() decodes them); NULL for artifacts and reports.';
COMMENT ON COLUMN @extschema@.history.changes IS 'One element per event: the other columns an UPDATE changed, as in taskdb.events.changes, or null. NULL when no event has any.';
COMMENT ON COLUMN @extschema@.history.archived_at IS 'When 1.0''s archive_events() archived these events; NULL otherwise (archived partitions are listed in taskdb.history_archived).';

/*
 * The default partition takes what no time partition covers (history
 * written before taskdb.maintain_history() first ran, and 1.0's events);
 * maintain_history() moves its rows into time partitions.  It belongs to
 * the extension and is dumped as configuration data; time partitions do not
 * belong to it, so pg_dump dumps them whole.  Indexes are per partition
 * (no partitioned index), so a restored partition gets exactly its own.
 */
CREATE TABLE @extschema@.history_default PARTITION OF @extschema@.history DEFAULT;
CREATE INDEX history_default_task_id_idx ON @extschema@.history_default (task_id);
CREATE INDEX history_default_entity_ids_idx ON @extschema@.history_default USING gin (entity_ids) WITH (fastupdate = off);
SELECT pg_catalog.pg_extension_config_dump('@extschema@.history_default', '');
COMMENT ON TABLE @extschema@.history_default IS 'Default partition of taskdb.history: rows no time partition covers yet; taskdb.maintain_history() moves them into time partitions.';
COMMENT ON INDEX @extschema@.history_default_task_id_idx IS 'History of one task (its row, runs, gates, artifacts).';
COMMENT ON INDEX @extschema@.history_default_entity_ids_idx IS 'History of one task, run, gate, artifact or report by its id. Without fastupdate: a pending list would make every lookup read it whole.';

CREATE TABLE @extschema@.history_archive (LIKE @extschema@.history) PARTITION BY RANGE (occurred_at);
COMMENT ON COLUMN @extschema@.history_default.occurred_at IS 'As taskdb.history.occurred_at.';
COMMENT ON COLUMN @extschema@.history_default.xact_id IS 'As taskdb.history.xact_id.';
COMMENT ON COLUMN @extschema@.history_default.id IS 'As taskdb.history.id.';
COMMENT ON COLUMN @extschema@.history_default.era IS 'As taskdb.history.era.';
COMMENT ON COLUMN @extschema@.history_default.entity IS 'As taskdb.history.entity.';
COMMENT ON COLUMN @extschema@.history_default.operation IS 'As taskdb.history.operation.';
COMMENT ON COLUMN @extschema@.history_default.task_id IS 'As taskdb.history.task_id.';
COMMENT ON COLUMN @extschema@.history_default.entity_ids IS 'As taskdb.history.entity_ids.';
COMMENT ON COLUMN @extschema@.history_default.statuses IS 'As taskdb.history.statuses.';
COMMENT ON COLUMN @extschema@.history_default.changes IS 'As taskdb.history.changes.';
COMMENT ON COLUMN @extschema@.history_default.archived_at IS 'As taskdb.history.archived_at.';
COMMENT ON COLUMN @extschema@.history_archive.occurred_at IS 'As taskdb.history.occurred_at.';
COMMENT ON COLUMN @extschema@.history_archive.xact_id IS 'As taskdb.history.xact_id.';
COMMENT ON COLUMN @extschema@.history_archive.id IS 'As taskdb.history.id.';
COMMENT ON COLUMN @extschema@.history_archive.era IS 'As taskdb.history.era.';
COMMENT ON COLUMN @extschema@.history_archive.entity IS 'As taskdb.history.entity.';
COMMENT ON COLUMN @extschema@.history_archive.operation IS 'As taskdb.history.operation.';
COMMENT ON COLUMN @extschema@.history_archive.task_id IS 'As taskdb.history.task_id.';
COMMENT ON COLUMN @extschema@.history_archive.entity_ids IS 'As taskdb.history.entity_ids.';
COMMENT ON COLUMN @extschema@.history_archive.statuses IS 'As taskdb.history.statuses.';
COMMENT ON COLUMN @extschema@.history_archive.changes IS 'As taskdb.history.changes.';
COMMENT ON COLUMN @extschema@.history_archive.archived_at IS 'As taskdb.history.archived_at.';
COMMENT ON TABLE @extschema@.history_archive IS 'Partitions of taskdb.history moved out by taskdb.archive_events(), unchanged; provenance verification still reads them (taskdb.event_history).';

CREATE TABLE @extschema@.history_archived (
    partition       text PRIMARY KEY,
    archived_at     timestamptz NOT NULL DEFAULT pg_catalog.now(),
    events          bigint NOT NULL
);
SELECT pg_catalog.pg_extension_config_dump('@extschema@.history_archived', '');
COMMENT ON TABLE @extschema@.history_archived IS 'The partitions taskdb.archive_events() moved to taskdb.history_archive, when, and how many events each holds.';
COMMENT ON COLUMN @extschema@.history_archived.partition IS 'Name of the partition (in schema taskdb).';
COMMENT ON COLUMN @extschema@.history_archived.archived_at IS 'When it was archived.';
COMMENT ON COLUMN @extschema@.history_archived.events IS 'How many events it holds.';

CREATE FUNCTION @extschema@.history_events(entity_ids uuid[], statuses bytea, changes jsonb)
RETURNS TABLE (ord integer, entity_id uuid, old_status text, new_status text, changes jsonb)
AS 'MODULE_PATHNAME', 'history_events'
LANGUAGE C IMMUTABLE PARALLEL SAFE ROWS 8;
COMMENT ON FUNCTION @extschema@.history_events(uuid[], bytea, jsonb) IS
'The events of one taskdb.history row: position (from 0), entity id, old and new status, changes.';

CREATE FUNCTION @extschema@.capture()
RETURNS trigger
AS 'MODULE_PATHNAME', 'capture'
LANGUAGE C;
COMMENT ON FUNCTION @extschema@.capture() IS
'Statement trigger on tasks, runs, gates, artifacts and reports: reads the statement''s transition tables once, folding runs and gates into the summary''s pending deltas and appending the events to taskdb.history.';

CREATE FUNCTION @extschema@.refuse_history_change()
RETURNS trigger
AS 'MODULE_PATHNAME', 'refuse_history_change'
LANGUAGE C;
COMMENT ON FUNCTION @extschema@.refuse_history_change() IS
'Trigger on taskdb.history, taskdb.history_archive and each partition (history_append_only per row, cloned; history_append_only_statement per statement): refuses INSERT (but a restore''s, with taskdb.restoring on), UPDATE, DELETE and TRUNCATE, for superusers too.';

/* 1.0's events, converted: consecutive events of one statement, table, operation and task share a row. */
CREATE FUNCTION pg_temp.status_code(s text) RETURNS integer LANGUAGE sql IMMUTABLE
AS $$ SELECT CASE s WHEN 'pending' THEN 1 WHEN 'in_progress' THEN 2 WHEN 'completed' THEN 3 WHEN 'failed' THEN 4
                    WHEN 'cancelled' THEN 5 WHEN 'retracted' THEN 6 WHEN 'queued' THEN 7 WHEN 'running' THEN 8
                    WHEN 'pass' THEN 9 WHEN 'fail' THEN 10 WHEN 'skipped' THEN 11
                    WHEN NULL THEN 0 ELSE CASE WHEN s IS NULL THEN 0 ELSE 255 END END $$;
INSERT INTO @extschema@.history_default
    (occurred_at, xact_id, id, era, entity, operation, task_id, entity_ids, statuses, changes, archived_at)
SELECT g.occurred_at, g.xact_id, pg_catalog.min(g.id), 1,
       CASE WHEN g.entity OPERATOR(pg_catalog.=) 'report' THEN 'p' ELSE pg_catalog.substr(g.entity, 1, 1) END::"char",
       pg_catalog.substr(g.operation, 1, 1)::"char",
       g.task_id,
       pg_catalog.array_agg(g.entity_id ORDER BY g.id),
       CASE WHEN g.entity OPERATOR(pg_catalog.=) ANY ('{task,run,gate}'::text[]) THEN
           pg_catalog.decode(pg_catalog.string_agg(
               pg_catalog.lpad(pg_catalog.to_hex(pg_temp.status_code(g.old_status)), 2, '0') OPERATOR(pg_catalog.||)
               pg_catalog.lpad(pg_catalog.to_hex(pg_temp.status_code(g.new_status)), 2, '0'), '' ORDER BY g.id), 'hex') END,
       CASE WHEN pg_catalog.bool_or(g.changes IS NOT NULL) THEN pg_catalog.jsonb_agg(g.changes ORDER BY g.id) END,
       g.archived_at
  FROM (SELECT s.*, (pg_catalog.row_number() OVER w2 OPERATOR(pg_catalog.-) 1) OPERATOR(pg_catalog./) 64 AS chunk
          FROM (SELECT e.*, e.id OPERATOR(pg_catalog.-) pg_catalog.row_number() OVER w AS run
                  FROM (SELECT id, xact_id, occurred_at, task_id, entity, entity_id, operation, old_status, new_status,
                               changes, NULL::timestamptz AS archived_at
                          FROM @extschema@.events
                        UNION ALL
                        SELECT id, xact_id, occurred_at, task_id, entity, entity_id, operation, old_status, new_status,
                               changes, archived_at
                          FROM @extschema@.events_archive) e
                WINDOW w AS (PARTITION BY e.xact_id, e.occurred_at, e.entity, e.operation, e.task_id, e.archived_at
                             ORDER BY e.id)) s
        WINDOW w2 AS (PARTITION BY s.xact_id, s.occurred_at, s.entity, s.operation, s.task_id, s.archived_at, s.run
                      ORDER BY s.id)) g
 GROUP BY g.xact_id, g.occurred_at, g.entity, g.operation, g.task_id, g.archived_at, g.run, g.chunk;
DROP FUNCTION pg_temp.status_code(text);
SELECT pg_catalog.setval('@extschema@.history_id_seq',
                         GREATEST(1, (SELECT pg_catalog.max(e.id) OPERATOR(pg_catalog.+) 1
                                        FROM (SELECT id FROM @extschema@.events UNION ALL
                                              SELECT id FROM @extschema@.events_archive) e)), false);

/* From here on, only taskdb writes the history. */
CREATE TRIGGER history_append_only BEFORE INSERT OR UPDATE OR DELETE ON @extschema@.history
    FOR EACH ROW EXECUTE FUNCTION @extschema@.refuse_history_change();
CREATE TRIGGER history_append_only_statement BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.history
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.refuse_history_change();
CREATE TRIGGER history_append_only BEFORE INSERT OR UPDATE OR DELETE ON @extschema@.history_archive
    FOR EACH ROW EXECUTE FUNCTION @extschema@.refuse_history_change();
CREATE TRIGGER history_append_only_statement BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.history_archive
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.refuse_history_change();
CREATE TRIGGER history_append_only_statement BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.history_default
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.refuse_history_change();
ALTER TABLE @extschema@.history ENABLE ALWAYS TRIGGER history_append_only;
ALTER TABLE @extschema@.history ENABLE ALWAYS TRIGGER history_append_only_statement;
ALTER TABLE @extschema@.history_archive ENABLE ALWAYS TRIGGER history_append_only;
ALTER TABLE @extschema@.history_archive ENABLE ALWAYS TRIGGER history_append_only_statement;
ALTER TABLE @extschema@.history_default ENABLE ALWAYS TRIGGER history_append_only_statement;
COMMENT ON TRIGGER history_append_only ON @extschema@.history IS 'Refuses row changes to the history, on every partition (cloned), for superusers and replicas too.';
COMMENT ON TRIGGER history_append_only_statement ON @extschema@.history IS 'Refuses INSERT, UPDATE, DELETE and TRUNCATE through the partitioned table.';
COMMENT ON TRIGGER history_append_only ON @extschema@.history_archive IS 'Refuses row changes to the archived history, on every partition (cloned).';
COMMENT ON TRIGGER history_append_only_statement ON @extschema@.history_archive IS 'Refuses INSERT, UPDATE, DELETE and TRUNCATE through the partitioned table.';
COMMENT ON TRIGGER history_append_only_statement ON @extschema@.history_default IS 'Refuses INSERT, UPDATE, DELETE and TRUNCATE on the partition itself, also when no row is touched (statement triggers are not cloned).';

/* 1.0's history, triggers and the functions only they used make way. */
/* Whoever could read 1.0's history keeps reading it (see the grants below). */
CREATE TEMP TABLE taskdb_history_readers ON COMMIT DROP AS
SELECT DISTINCT a.grantee, c.relname::text AS relname
  FROM pg_catalog.pg_class c, pg_catalog.aclexplode(c.relacl) a
 WHERE c.oid OPERATOR(pg_catalog.=) ANY (ARRAY['@extschema@.events'::regclass, '@extschema@.events_id_seq'::regclass])
   AND a.privilege_type OPERATOR(pg_catalog.=) 'SELECT' AND a.grantee OPERATOR(pg_catalog.<>) c.relowner;
DROP VIEW @extschema@.event_history;
DROP TABLE @extschema@.events;
DROP TABLE @extschema@.events_archive;
DROP TRIGGER tasks_events_insert ON @extschema@.tasks;
DROP TRIGGER tasks_events_update ON @extschema@.tasks;
DROP TRIGGER tasks_events_delete ON @extschema@.tasks;
DROP TRIGGER tasks_events_truncate ON @extschema@.tasks;
DROP TRIGGER runs_events_insert ON @extschema@.runs;
DROP TRIGGER runs_events_update ON @extschema@.runs;
DROP TRIGGER runs_events_delete ON @extschema@.runs;
DROP TRIGGER runs_events_truncate ON @extschema@.runs;
DROP TRIGGER gates_events_insert ON @extschema@.gates;
DROP TRIGGER gates_events_update ON @extschema@.gates;
DROP TRIGGER gates_events_delete ON @extschema@.gates;
DROP TRIGGER gates_events_truncate ON @extschema@.gates;
DROP TRIGGER artifacts_events_insert ON @extschema@.artifacts;
DROP TRIGGER artifacts_events_update ON @extschema@.artifacts;
DROP TRIGGER artifacts_events_delete ON @extschema@.artifacts;
DROP TRIGGER artifacts_events_truncate ON @extschema@.artifacts;
DROP TRIGGER reports_events_insert ON @extschema@.reports;
DROP TRIGGER reports_events_delete ON @extschema@.reports;
DROP TRIGGER tasks_status_insert ON @extschema@.tasks;
DROP TRIGGER tasks_status_delete ON @extschema@.tasks;
DROP TRIGGER runs_status_insert ON @extschema@.runs;
DROP TRIGGER runs_status_update ON @extschema@.runs;
DROP TRIGGER runs_status_delete ON @extschema@.runs;
DROP TRIGGER runs_status_truncate ON @extschema@.runs;
DROP TRIGGER gates_status_insert ON @extschema@.gates;
DROP TRIGGER gates_status_update ON @extschema@.gates;
DROP TRIGGER gates_status_delete ON @extschema@.gates;
DROP TRIGGER gates_status_truncate ON @extschema@.gates;
DROP FUNCTION @extschema@.record_events();
DROP FUNCTION @extschema@.fold_status_delta();
DROP FUNCTION @extschema@.truncate_status();
DROP FUNCTION @extschema@.tasks_after_insert();
DROP PROCEDURE @extschema@.archive_events(interval, integer, bigint);
DROP FUNCTION @extschema@.archive_event_blocks(timestamptz, bigint, integer);

/* One trigger per table and event: the summary and the history in one pass. */
CREATE TRIGGER tasks_capture_insert AFTER INSERT ON @extschema@.tasks
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.capture();
CREATE TRIGGER tasks_capture_update AFTER UPDATE ON @extschema@.tasks
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.capture();
CREATE TRIGGER tasks_capture_delete AFTER DELETE ON @extschema@.tasks
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.capture();
CREATE TRIGGER tasks_capture_truncate AFTER TRUNCATE ON @extschema@.tasks
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.capture();
CREATE TRIGGER runs_capture_insert AFTER INSERT ON @extschema@.runs
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.capture();
CREATE TRIGGER runs_capture_update AFTER UPDATE ON @extschema@.runs
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.capture();
CREATE TRIGGER runs_capture_delete AFTER DELETE ON @extschema@.runs
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.capture();
CREATE TRIGGER runs_capture_truncate AFTER TRUNCATE ON @extschema@.runs
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.capture();
CREATE TRIGGER gates_capture_insert AFTER INSERT ON @extschema@.gates
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.capture();
CREATE TRIGGER gates_capture_update AFTER UPDATE ON @extschema@.gates
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.capture();
CREATE TRIGGER gates_capture_delete AFTER DELETE ON @extschema@.gates
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.capture();
CREATE TRIGGER gates_capture_truncate AFTER TRUNCATE ON @extschema@.gates
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.capture();
CREATE TRIGGER artifacts_capture_insert AFTER INSERT ON @extschema@.artifacts
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.capture();
CREATE TRIGGER artifacts_capture_update AFTER UPDATE ON @extschema@.artifacts
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.capture();
CREATE TRIGGER artifacts_capture_delete AFTER DELETE ON @extschema@.artifacts
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.capture();
CREATE TRIGGER artifacts_capture_truncate AFTER TRUNCATE ON @extschema@.artifacts
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.capture();
CREATE TRIGGER reports_capture_insert AFTER INSERT ON @extschema@.reports
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.capture();
CREATE TRIGGER reports_capture_delete AFTER DELETE ON @extschema@.reports
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.capture();
COMMENT ON TRIGGER tasks_capture_insert ON @extschema@.tasks IS 'New tasks get their summary row; one insert event each.';
COMMENT ON TRIGGER tasks_capture_update ON @extschema@.tasks IS 'One update event per task that changed.';
COMMENT ON TRIGGER tasks_capture_delete ON @extschema@.tasks IS 'One delete event per task; a re-created id starts its summary afresh.';
COMMENT ON TRIGGER tasks_capture_truncate ON @extschema@.tasks IS 'One truncate event.';
COMMENT ON TRIGGER runs_capture_insert ON @extschema@.runs IS 'Run counters into the pending deltas; one insert event each.';
COMMENT ON TRIGGER runs_capture_update ON @extschema@.runs IS 'Run counters into the pending deltas; one update event per run that changed.';
COMMENT ON TRIGGER runs_capture_delete ON @extschema@.runs IS 'Run counters out of the pending deltas; one delete event each.';
COMMENT ON TRIGGER runs_capture_truncate ON @extschema@.runs IS 'Zeroes the run counters of task_status; one truncate event.';
COMMENT ON TRIGGER gates_capture_insert ON @extschema@.gates IS 'Failed gates into the pending deltas; one insert event each.';
COMMENT ON TRIGGER gates_capture_update ON @extschema@.gates IS 'Failed gates into the pending deltas; one update event per gate that changed.';
COMMENT ON TRIGGER gates_capture_delete ON @extschema@.gates IS 'Failed gates out of the pending deltas; one delete event each.';
COMMENT ON TRIGGER gates_capture_truncate ON @extschema@.gates IS 'Zeroes gates_failed in task_status; one truncate event.';
COMMENT ON TRIGGER artifacts_capture_insert ON @extschema@.artifacts IS 'One insert event per artifact.';
COMMENT ON TRIGGER artifacts_capture_update ON @extschema@.artifacts IS 'One update event per artifact that changed (content by its digests).';
COMMENT ON TRIGGER artifacts_capture_delete ON @extschema@.artifacts IS 'One delete event per artifact.';
COMMENT ON TRIGGER artifacts_capture_truncate ON @extschema@.artifacts IS 'One truncate event.';
COMMENT ON TRIGGER reports_capture_insert ON @extschema@.reports IS 'One insert event per published report.';
COMMENT ON TRIGGER reports_capture_delete ON @extschema@.reports IS 'One delete event per deleted report.';

/* Per-event views with 1.0's columns (and the era). */
CREATE VIEW @extschema@.events AS
SELECT h.id OPERATOR(pg_catalog.+) e.ord AS id, h.xact_id, h.occurred_at, h.task_id,
       CASE WHEN h.entity OPERATOR(pg_catalog.=) 't' THEN 'task' WHEN h.entity OPERATOR(pg_catalog.=) 'r' THEN 'run'
            WHEN h.entity OPERATOR(pg_catalog.=) 'g' THEN 'gate' WHEN h.entity OPERATOR(pg_catalog.=) 'a' THEN 'artifact'
            WHEN h.entity OPERATOR(pg_catalog.=) 'p' THEN 'report' END AS entity,
       e.entity_id,
       CASE WHEN h.operation OPERATOR(pg_catalog.=) 'i' THEN 'insert' WHEN h.operation OPERATOR(pg_catalog.=) 'u' THEN 'update'
            WHEN h.operation OPERATOR(pg_catalog.=) 'd' THEN 'delete' WHEN h.operation OPERATOR(pg_catalog.=) 't' THEN 'truncate' END AS operation,
       e.old_status, e.new_status, e.changes, h.era
  FROM @extschema@.history h
 CROSS JOIN LATERAL @extschema@.history_events(h.entity_ids, h.statuses, h.changes) e
 WHERE h.archived_at IS NULL;
COMMENT ON VIEW @extschema@.events IS 'The event history not yet archived, one row per event: every row inserted, changed or deleted in tasks, runs, gates, artifacts and reports, one per TRUNCATE. Read-only; stored in taskdb.history. Find one task''s or row''s history with taskdb.task_history() / taskdb.entity_history() (index scans).';
COMMENT ON COLUMN @extschema@.events.id IS 'Event id: unique, increasing in the order events were written.';
COMMENT ON COLUMN @extschema@.events.xact_id IS 'Top-level transaction that wrote the change (pg_current_xact_id() in its era).';
COMMENT ON COLUMN @extschema@.events.occurred_at IS 'Start time of the statement that made the change (not its commit time).';
COMMENT ON COLUMN @extschema@.events.task_id IS 'Task the changed row belongs to (NULL for reports and TRUNCATE).';
COMMENT ON COLUMN @extschema@.events.entity IS 'task, run, gate, artifact or report.';
COMMENT ON COLUMN @extschema@.events.entity_id IS 'Id of the changed row (NULL for TRUNCATE).';
COMMENT ON COLUMN @extschema@.events.operation IS 'insert, update, delete or truncate.';
COMMENT ON COLUMN @extschema@.events.old_status IS 'status before the change (tasks, runs, gates; NULL for inserts).';
COMMENT ON COLUMN @extschema@.events.new_status IS 'status after the change (tasks, runs, gates; NULL for deletes).';
COMMENT ON COLUMN @extschema@.events.changes IS 'For updates: the other columns that changed, as {"column": {"old": ..., "new": ...}}; a value over 1 kB (and artifact content) as "old_sha256"/"old_bytes", "new_sha256"/"new_bytes". NULL otherwise.';
COMMENT ON COLUMN @extschema@.events.era IS 'The transaction id space xact_id belongs to (taskdb.eras).';

CREATE VIEW @extschema@.events_archive AS
SELECT h.id OPERATOR(pg_catalog.+) e.ord AS id, h.xact_id, h.occurred_at, h.task_id,
       CASE WHEN h.entity OPERATOR(pg_catalog.=) 't' THEN 'task' WHEN h.entity OPERATOR(pg_catalog.=) 'r' THEN 'run'
            WHEN h.entity OPERATOR(pg_catalog.=) 'g' THEN 'gate' WHEN h.entity OPERATOR(pg_catalog.=) 'a' THEN 'artifact'
            WHEN h.entity OPERATOR(pg_catalog.=) 'p' THEN 'report' END AS entity,
       e.entity_id,
       CASE WHEN h.operation OPERATOR(pg_catalog.=) 'i' THEN 'insert' WHEN h.operation OPERATOR(pg_catalog.=) 'u' THEN 'update'
            WHEN h.operation OPERATOR(pg_catalog.=) 'd' THEN 'delete' WHEN h.operation OPERATOR(pg_catalog.=) 't' THEN 'truncate' END AS operation,
       e.old_status, e.new_status, e.changes, h.era, COALESCE(h.archived_at, a.archived_at) AS archived_at
  FROM (SELECT h1.*, h1.tableoid FROM @extschema@.history h1 WHERE h1.archived_at IS NOT NULL
        UNION ALL
        SELECT h2.*, h2.tableoid FROM @extschema@.history_archive h2) h
  LEFT JOIN @extschema@.history_archived a
         ON a.partition OPERATOR(pg_catalog.=) (SELECT c.relname::text FROM pg_catalog.pg_class c
                                                  WHERE c.oid OPERATOR(pg_catalog.=) h.tableoid)
 CROSS JOIN LATERAL @extschema@.history_events(h.entity_ids, h.statuses, h.changes) e;
COMMENT ON VIEW @extschema@.events_archive IS 'Archived events, one row per event, with when they were archived.';
COMMENT ON COLUMN @extschema@.events_archive.archived_at IS 'When the event was archived.';

CREATE VIEW @extschema@.event_history AS
SELECT id, xact_id, occurred_at, task_id, entity, entity_id, operation, old_status, new_status, changes, era
  FROM @extschema@.events
UNION ALL
SELECT id, xact_id, occurred_at, task_id, entity, entity_id, operation, old_status, new_status, changes, era
  FROM @extschema@.events_archive;
COMMENT ON VIEW @extschema@.event_history IS 'Every event, archived or not, one row per event.';

/*
 * The views are read-only: they join each row with its decoded events, so
 * PostgreSQL refuses every INSERT, UPDATE and DELETE on them, in every
 * session_replication_role, and the tables behind them refuse writes
 * themselves.  1.0's guard on the events table goes with the table.
 */
DROP FUNCTION @extschema@.refuse_event_change();

DO $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT grantee, relname FROM pg_temp.taskdb_history_readers LOOP
        IF r.relname OPERATOR(pg_catalog.=) 'events' THEN
            EXECUTE pg_catalog.format('GRANT SELECT ON @extschema@.history, @extschema@.history_default,'
                                      ' @extschema@.history_archive, @extschema@.eras,'
                                      ' @extschema@.history_archived, @extschema@.events, @extschema@.events_archive,'
                                      ' @extschema@.event_history TO %s',
                                      CASE WHEN r.grantee OPERATOR(pg_catalog.=) 0 THEN 'PUBLIC'
                                           ELSE pg_catalog.quote_ident(r.grantee::regrole::text) END);
        ELSE
            EXECUTE pg_catalog.format('GRANT SELECT ON SEQUENCE @extschema@.history_id_seq TO %s',
                                      CASE WHEN r.grantee OPERATOR(pg_catalog.=) 0 THEN 'PUBLIC'
                                           ELSE pg_catalog.quote_ident(r.grantee::regrole::text) END);
        END IF;
    END LOOP;
END
$$;
DROP TABLE pg_temp.taskdb_history_readers;

/* Index scans into the history of one task or one row. */
CREATE FUNCTION @extschema@.task_history(task_id uuid)
RETURNS SETOF @extschema@.event_history
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
SELECT h.id OPERATOR(pg_catalog.+) e.ord, h.xact_id, h.occurred_at, h.task_id,
       CASE WHEN h.entity OPERATOR(pg_catalog.=) 't' THEN 'task' WHEN h.entity OPERATOR(pg_catalog.=) 'r' THEN 'run'
            WHEN h.entity OPERATOR(pg_catalog.=) 'g' THEN 'gate' WHEN h.entity OPERATOR(pg_catalog.=) 'a' THEN 'artifact'
            WHEN h.entity OPERATOR(pg_catalog.=) 'p' THEN 'report' END,
       e.entity_id,
       CASE WHEN h.operation OPERATOR(pg_catalog.=) 'i' THEN 'insert' WHEN h.operation OPERATOR(pg_catalog.=) 'u' THEN 'update'
            WHEN h.operation OPERATOR(pg_catalog.=) 'd' THEN 'delete' WHEN h.operation OPERATOR(pg_catalog.=) 't' THEN 'truncate' END,
       e.old_status, e.new_status, e.changes, h.era
  FROM (SELECT * FROM @extschema@.history WHERE history.task_id OPERATOR(pg_catalog.=) task_history.task_id
        UNION ALL
        SELECT * FROM @extschema@.history_archive WHERE history_archive.task_id OPERATOR(pg_catalog.=) task_history.task_id) h
 CROSS JOIN LATERAL @extschema@.history_events(h.entity_ids, h.statuses, h.changes) e
 ORDER BY 1
$$;
COMMENT ON FUNCTION @extschema@.task_history(uuid) IS
'Every event of one task (its own row, its runs, gates and artifacts), archived or not, in id order; an index scan.';

CREATE FUNCTION @extschema@.entity_history(entity_id uuid)
RETURNS SETOF @extschema@.event_history
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
SELECT h.id OPERATOR(pg_catalog.+) e.ord, h.xact_id, h.occurred_at, h.task_id,
       CASE WHEN h.entity OPERATOR(pg_catalog.=) 't' THEN 'task' WHEN h.entity OPERATOR(pg_catalog.=) 'r' THEN 'run'
            WHEN h.entity OPERATOR(pg_catalog.=) 'g' THEN 'gate' WHEN h.entity OPERATOR(pg_catalog.=) 'a' THEN 'artifact'
            WHEN h.entity OPERATOR(pg_catalog.=) 'p' THEN 'report' END,
       e.entity_id,
       CASE WHEN h.operation OPERATOR(pg_catalog.=) 'i' THEN 'insert' WHEN h.operation OPERATOR(pg_catalog.=) 'u' THEN 'update'
            WHEN h.operation OPERATOR(pg_catalog.=) 'd' THEN 'delete' WHEN h.operation OPERATOR(pg_catalog.=) 't' THEN 'truncate' END,
       e.old_status, e.new_status, e.changes, h.era
  FROM (SELECT * FROM @extschema@.history
         WHERE history.entity_ids OPERATOR(pg_catalog.@>) ARRAY[entity_history.entity_id]
        UNION ALL
        SELECT * FROM @extschema@.history_archive
         WHERE history_archive.entity_ids OPERATOR(pg_catalog.@>) ARRAY[entity_history.entity_id]) h
 CROSS JOIN LATERAL @extschema@.history_events(h.entity_ids, h.statuses, h.changes) e
 WHERE e.entity_id OPERATOR(pg_catalog.=) entity_history.entity_id
 ORDER BY 1
$$;
COMMENT ON FUNCTION @extschema@.entity_history(uuid) IS
'Every event of one task, run, gate, artifact or report, archived or not, in id order; an index scan.';

/* ------------------------------------------------------------------------
 * History partitions: making them, archiving them, restoring them
 * ------------------------------------------------------------------------ */

CREATE FUNCTION @extschema@.history_partitions()
RETURNS TABLE (partition regclass, parent regclass, lower timestamptz, upper timestamptz)
AS 'MODULE_PATHNAME', 'history_partitions'
LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.history_partitions() IS
'The partitions of taskdb.history and taskdb.history_archive with their time ranges (NULL bounds: the default partition).';

CREATE FUNCTION @extschema@.history_move_default(target regclass, lower timestamptz, upper timestamptz)
RETURNS bigint
AS 'MODULE_PATHNAME', 'history_move_default'
LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.history_move_default(regclass, timestamptz, timestamptz) IS
'Internal to maintain_history(): moves the rows of taskdb.history_default in [lower, upper) to target, unchanged; returns how many rows.';

CREATE FUNCTION @extschema@.maintain_history(premake integer DEFAULT 2)
RETURNS TABLE (partition text, lower timestamptz, upper timestamptz, moved_rows bigint)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    step interval;
    months integer;
    lo timestamptz;
    hi timestamptz;
    upto timestamptz;
    oldest timestamptz;
    covered timestamptz;
    next_lo timestamptz;
    owner_name name;
    idx text;
BEGIN
    IF premake IS NULL OR premake OPERATOR(pg_catalog.<) 0 OR premake OPERATOR(pg_catalog.>) 1000 THEN
        RAISE EXCEPTION 'premake must be between 0 and 1000 partitions ahead, not %', COALESCE(premake::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'The default, 2, keeps the current partition and the next two ready.';
    END IF;
    BEGIN
        step := pg_catalog.current_setting('taskdb.history_partition_interval')::interval;
    EXCEPTION WHEN OTHERS THEN
        RAISE EXCEPTION 'taskdb.history_partition_interval is not an interval: "%"',
                        pg_catalog.left(pg_catalog.current_setting('taskdb.history_partition_interval', true), 100)
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Set it to a number of months dividing a year (''1 month'', ''3 months'', ''1 year'') or a fixed length between a second and 366 days (''1 day'', ''7 days'').';
    END;
    months := (pg_catalog.date_part('year', step) OPERATOR(pg_catalog.*) 12 OPERATOR(pg_catalog.+) pg_catalog.date_part('month', step))::integer;
    IF NOT ((months OPERATOR(pg_catalog.>) 0 AND 12 OPERATOR(pg_catalog.%) months OPERATOR(pg_catalog.=) 0
             AND step OPERATOR(pg_catalog.=) pg_catalog.make_interval(months => months))
            OR (months OPERATOR(pg_catalog.=) 0 AND step OPERATOR(pg_catalog.>=) '1 second'::interval
                AND step OPERATOR(pg_catalog.<=) '366 days'::interval)) THEN
        RAISE EXCEPTION 'taskdb.history_partition_interval "%" cannot cut time into partitions', step
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use a number of months dividing a year (''1 month'', ''3 months'', ''1 year'') or a fixed length between a second and 366 days (''1 day'', ''7 days'').';
    END IF;
    SELECT c.relowner::regrole::name INTO owner_name FROM pg_catalog.pg_class c
     WHERE c.oid OPERATOR(pg_catalog.=) '@extschema@.history'::regclass;

    /* from the start of the bucket holding the oldest row waiting in the default partition, or now */
    SELECT LEAST(pg_catalog.min(d.occurred_at), pg_catalog.now()) INTO oldest FROM @extschema@.history_default d;
    lo := oldest;
    lo := CASE WHEN months OPERATOR(pg_catalog.>) 0
               THEN (pg_catalog.date_trunc('month', lo AT TIME ZONE 'UTC')
                     OPERATOR(pg_catalog.-) pg_catalog.make_interval(months =>
                         (pg_catalog.date_part('month', lo AT TIME ZONE 'UTC')::integer OPERATOR(pg_catalog.-) 1)
                         OPERATOR(pg_catalog.%) months)) AT TIME ZONE 'UTC'
               ELSE pg_catalog.date_bin(step, lo, '2000-01-01 00:00:00+00') END;
    upto := pg_catalog.now() OPERATOR(pg_catalog.+) (step OPERATOR(pg_catalog.*) (premake OPERATOR(pg_catalog.+) 1));
    WHILE lo OPERATOR(pg_catalog.<) upto LOOP
        SELECT pg_catalog.max(p.upper) INTO covered FROM @extschema@.history_partitions() p
         WHERE p.lower OPERATOR(pg_catalog.<=) lo AND p.upper OPERATOR(pg_catalog.>) lo;
        IF covered IS NOT NULL THEN
            lo := covered;
            CONTINUE;
        END IF;
        /* the end of lo's bucket (in UTC), or the next partition's start if sooner */
        IF months OPERATOR(pg_catalog.>) 0 THEN
            hi := ((pg_catalog.date_trunc('month', lo AT TIME ZONE 'UTC')
                    OPERATOR(pg_catalog.-) pg_catalog.make_interval(months =>
                        (pg_catalog.date_part('month', lo AT TIME ZONE 'UTC')::integer OPERATOR(pg_catalog.-) 1)
                        OPERATOR(pg_catalog.%) months))
                   OPERATOR(pg_catalog.+) step) AT TIME ZONE 'UTC';
        ELSE
            hi := pg_catalog.date_bin(step, lo, '2000-01-01 00:00:00+00') OPERATOR(pg_catalog.+) step;
        END IF;
        SELECT pg_catalog.min(p.lower) INTO next_lo FROM @extschema@.history_partitions() p
         WHERE p.lower OPERATOR(pg_catalog.>) lo;
        IF next_lo IS NOT NULL AND next_lo OPERATOR(pg_catalog.<) hi THEN
            hi := next_lo;
        END IF;
        IF hi OPERATOR(pg_catalog.<=) oldest THEN
            lo := hi;       /* a gap wholly before anything written: nothing will go there */
            CONTINUE;
        END IF;

        partition := 'history_' OPERATOR(pg_catalog.||) pg_catalog.to_char(lo AT TIME ZONE 'UTC', 'YYYYMMDD"_"HH24MISS');
        lower := lo;
        upper := hi;
        EXECUTE pg_catalog.format('CREATE TABLE @extschema@.%I (LIKE @extschema@.history)', partition);
        EXECUTE pg_catalog.format('ALTER TABLE @extschema@.%I OWNER TO %I', partition, owner_name);
        idx := partition OPERATOR(pg_catalog.||) '_task_id_idx';
        EXECUTE pg_catalog.format('CREATE INDEX %I ON @extschema@.%I (task_id)', idx, partition);
        idx := partition OPERATOR(pg_catalog.||) '_entity_ids_idx';
        EXECUTE pg_catalog.format('CREATE INDEX %I ON @extschema@.%I USING gin (entity_ids) WITH (fastupdate = off)', idx, partition);
        EXECUTE pg_catalog.format('CREATE TRIGGER history_append_only_statement'
                                  ' BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.%I'
                                  ' FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.refuse_history_change()', partition);
        EXECUTE pg_catalog.format('ALTER TABLE @extschema@.%I ENABLE ALWAYS TRIGGER history_append_only_statement', partition);
        moved_rows := @extschema@.history_move_default(pg_catalog.format('@extschema@.%I', partition)::regclass, lo, hi);
        EXECUTE pg_catalog.format('ALTER TABLE @extschema@.history ATTACH PARTITION @extschema@.%I FOR VALUES FROM (%L) TO (%L)',
                                  partition, lo, hi);
        EXECUTE pg_catalog.format('ALTER TABLE @extschema@.%I ENABLE ALWAYS TRIGGER history_append_only', partition);
        RETURN NEXT;
        lo := hi;
    END LOOP;
END;
$$;
COMMENT ON FUNCTION @extschema@.maintain_history(integer) IS
'Owner only: creates the time partitions of taskdb.history up to premake intervals ahead (taskdb.history_partition_interval long), moving rows that taskdb.history_default holds for them; returns the partitions it made. Run it regularly (cron, pg_cron): writers never wait for it, and history written when no partition covers the time goes to the default partition.';

CREATE PROCEDURE @extschema@.archive_events(older_than interval, INOUT archived bigint DEFAULT NULL)
LANGUAGE plpgsql
AS $$
/*
 * No SET search_path here: a procedure with SET clauses cannot COMMIT.
 * Every name below is schema-qualified instead.
 */
DECLARE
    cutoff pg_catalog.timestamptz;
    p record;
    n pg_catalog.int8;
BEGIN
    IF older_than IS NULL OR older_than OPERATOR(pg_catalog.<) '0'::pg_catalog.interval THEN
        RAISE EXCEPTION 'older_than must be a positive interval, not %', COALESCE(older_than::pg_catalog.text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'For example CALL taskdb.archive_events(interval ''90 days'').';
    END IF;
    cutoff := pg_catalog.now() OPERATOR(pg_catalog.-) older_than;
    archived := 0;
    /* rows of the default partition get their partitions first */
    PERFORM @extschema@.maintain_history();
    COMMIT;
    FOR p IN SELECT h.partition, h.lower, h.upper FROM @extschema@.history_partitions() h
              WHERE h.parent OPERATOR(pg_catalog.=) '@extschema@.history'::pg_catalog.regclass
                AND h.upper OPERATOR(pg_catalog.<=) cutoff
              ORDER BY h.lower LOOP
        BEGIN
            /* readers of the history wait at most this long; writers never take this lock */
            PERFORM pg_catalog.set_config('lock_timeout', '5s', true);
            EXECUTE pg_catalog.format('ALTER TABLE @extschema@.history DETACH PARTITION %s', p.partition);
            EXECUTE pg_catalog.format('ALTER TABLE @extschema@.history_archive ATTACH PARTITION %s FOR VALUES FROM (%L) TO (%L)',
                                      p.partition, p.lower, p.upper);
            EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE ALWAYS TRIGGER history_append_only', p.partition);
            EXECUTE pg_catalog.format('SELECT COALESCE(pg_catalog.sum(pg_catalog.cardinality(h.entity_ids)), 0) FROM %s h',
                                      p.partition) INTO n;
            INSERT INTO @extschema@.history_archived (partition, events)
            SELECT c.relname, n FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) p.partition;
            archived := archived OPERATOR(pg_catalog.+) n;
        EXCEPTION WHEN lock_not_available THEN
            RAISE NOTICE 'taskdb.archive_events: % is in use; it will be archived by a later call', p.partition;
        END;
        COMMIT;
    END LOOP;
    PERFORM @extschema@.count_archived(archived);
END;
$$;
COMMENT ON PROCEDURE @extschema@.archive_events(interval, bigint) IS
'Owner only, outside a transaction block: moves every partition of taskdb.history whose time range ended more than older_than ago to taskdb.history_archive, whole and unchanged, one transaction each; returns how many events. Writers never wait for it. Verification still explains archived changes (taskdb.event_history).';

CREATE FUNCTION @extschema@.count_archived(events bigint)
RETURNS void
AS 'MODULE_PATHNAME', 'count_archived'
LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.count_archived(bigint) IS
'Internal to archive_events(): adds to taskdb_events_archived_total.';

CREATE FUNCTION @extschema@.pre_restore()
RETURNS text
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    EXECUTE pg_catalog.format('ALTER DATABASE %I SET taskdb.restoring = on', pg_catalog.current_database());
    PERFORM pg_catalog.set_config('taskdb.restoring', 'on', false);
    RETURN pg_catalog.format('taskdb.restoring is on in database %s: restore now (pg_restore or psql), then run SELECT taskdb.post_restore();',
                             pg_catalog.current_database());
END;
$$;
COMMENT ON FUNCTION @extschema@.pre_restore() IS
'Superuser: before restoring a dump into this database, turns taskdb.restoring on for it (ALTER DATABASE ... SET), so the restore loads the history as it was instead of recording the restored rows as new. In an empty database, run ALTER DATABASE ... SET taskdb.restoring = on instead (the extension is not there yet).';

CREATE FUNCTION @extschema@.post_restore()
RETURNS text
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    new_era integer;
    events bigint;
    reports bigint;
    next_id bigint;
    fixed bigint;
BEGIN
    EXECUTE pg_catalog.format('ALTER DATABASE %I RESET taskdb.restoring', pg_catalog.current_database());
    PERFORM pg_catalog.set_config('taskdb.restoring', 'off', false);
    SELECT GREATEST(COALESCE((SELECT pg_catalog.max(e.era) FROM @extschema@.eras e), 1),
                    COALESCE((SELECT pg_catalog.max(h.era) FROM @extschema@.history h), 1),
                    COALESCE((SELECT pg_catalog.max(h.era) FROM @extschema@.history_archive h), 1))
           OPERATOR(pg_catalog.+) 1 INTO new_era;
    INSERT INTO @extschema@.eras (era, system_identifier, database, reason)
    SELECT new_era, s.system_identifier::text, pg_catalog.current_database(), 'restored by pg_restore or psql'
      FROM pg_catalog.pg_control_system() s;
    SELECT COALESCE(pg_catalog.max(h.id OPERATOR(pg_catalog.+) pg_catalog.cardinality(h.entity_ids)), 1)
      INTO next_id
      FROM (SELECT id, entity_ids FROM @extschema@.history UNION ALL
            SELECT id, entity_ids FROM @extschema@.history_archive) h;
    IF next_id OPERATOR(pg_catalog.>) (SELECT s.last_value FROM @extschema@.history_id_seq s) THEN
        PERFORM pg_catalog.setval('@extschema@.history_id_seq', next_id, false);
    END IF;
    PERFORM @extschema@.maintain_history();
    fixed := @extschema@.rebuild_status();
    SELECT pg_catalog.count(*) INTO events FROM @extschema@.event_history;
    SELECT pg_catalog.count(*) INTO reports FROM @extschema@.reports;
    RETURN pg_catalog.format('taskdb restored: era %s begins (transaction ids of this server); %s events and %s reports restored; %s summary rows repaired',
                             new_era, events, reports, fixed);
END;
$$;
COMMENT ON FUNCTION @extschema@.post_restore() IS
'Superuser, after a restore made with taskdb.restoring on: turns it off, starts a new era (this server''s transaction ids, which verification never compares with the old server''s), moves id sequences above the restored history, makes the history''s partitions and checks the summary.';

REVOKE ALL ON FUNCTION @extschema@.capture() FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.refuse_history_change() FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.history_move_default(regclass, timestamptz, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.maintain_history(integer) FROM PUBLIC;
REVOKE ALL ON PROCEDURE @extschema@.archive_events(interval, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.count_archived(bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.pre_restore() FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.post_restore() FROM PUBLIC;
