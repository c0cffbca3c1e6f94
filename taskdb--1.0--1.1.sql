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

    -- 3. The history's guard is in place and always fires.
    check_name := 'event_history_guard';
    SELECT pg_catalog.count(*) INTO n FROM pg_catalog.pg_trigger
     WHERE ((tgrelid OPERATOR(pg_catalog.=) '@extschema@.events'::pg_catalog.regclass
             AND tgname OPERATOR(pg_catalog.=) 'events_append_only')
         OR (tgrelid OPERATOR(pg_catalog.=) '@extschema@.events_archive'::pg_catalog.regclass
             AND tgname OPERATOR(pg_catalog.=) 'events_archive_append_only'))
       AND tgenabled OPERATOR(pg_catalog.=) 'A';
    problems := 2 OPERATOR(pg_catalog.-) n;
    status := CASE WHEN n OPERATOR(pg_catalog.=) 2 THEN 'pass' ELSE 'fail' END;
    detail := CASE WHEN n OPERATOR(pg_catalog.=) 2
                   THEN 'events_append_only and events_archive_append_only are enabled ALWAYS: the history cannot be changed through SQL'
                   ELSE 'an append-only trigger (events_append_only, events_archive_append_only) is missing or not ENABLE ALWAYS: the history may have been changed' END;
    fails := fails + (status OPERATOR(pg_catalog.=) 'fail')::int;
    warns := warns + (status OPERATOR(pg_catalog.=) 'warn')::int;
    checks := checks + 1;
    RETURN NEXT;

    -- 4. No event carries an id the sequence has not handed out (an event
    --    inserted behind the append-only guard's back with an id of its own).
    check_name := 'event_history_ids';
    IF NOT pg_catalog.has_sequence_privilege('@extschema@.events_id_seq', 'SELECT') THEN
        problems := NULL;
        status := 'warn';
        detail := pg_catalog.format('not checked: %s cannot read taskdb.events_id_seq; GRANT SELECT ON SEQUENCE taskdb.events_id_seq TO %s',
                                    CURRENT_USER, pg_catalog.quote_ident(CURRENT_USER));
    ELSE
        SELECT pg_catalog.count(*) INTO n FROM @extschema@.event_history e
         WHERE e.id OPERATOR(pg_catalog.>) (SELECT s.last_value FROM @extschema@.events_id_seq s);
        problems := n;
        status := CASE WHEN n OPERATOR(pg_catalog.=) 0 THEN 'pass' ELSE 'fail' END;
        detail := CASE WHEN n OPERATOR(pg_catalog.=) 0 THEN 'every event id was issued by events_id_seq'
                       ELSE pg_catalog.format('%s events have ids events_id_seq never issued', n) END;
    END IF;
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

        /* Gates of runs that started are decided: 0.5 % fail, 4 % are skipped. */
        UPDATE @extschema@.gates y
           SET status = CASE WHEN v.h OPERATOR(pg_catalog.<) 5 THEN 'fail'
                             WHEN v.h OPERATOR(pg_catalog.<) 45 THEN 'skipped'
                             ELSE 'pass' END,
               checks = pg_catalog.jsonb_build_object('passed', v.h OPERATOR(pg_catalog.>=) 5, 'score', v.h)
          FROM (SELECT pg_catalog.md5(prefix OPERATOR(pg_catalog.||) 'gate:' OPERATOR(pg_catalog.||) gn)::uuid AS id,
                       pg_catalog.abs(pg_catalog.hashint8extended(gn, seed::pg_catalog.int8 OPERATOR(pg_catalog.+) 2)
                                      OPERATOR(pg_catalog.%) 1000)::int AS h
                  FROM taskdb_synthetic_runs s,
                       LATERAL pg_catalog.generate_series((s.r OPERATOR(pg_catalog.-) 1) OPERATOR(pg_catalog.*) gpr OPERATOR(pg_catalog.+) 1,
                                                          s.r OPERATOR(pg_catalog.*) gpr) AS gn
                 WHERE s.f OPERATOR(pg_catalog.>=) 5) v
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
