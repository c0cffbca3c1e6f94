--
-- 14_owner_search_path: nothing taskdb runs as the extension owner can be
-- steered through the caller's search_path.
--
-- An unprivileged role plants operators (=, <>, <, >, +, -, ||, prefix -)
-- for uuid, text, bigint, integer and timestamptz, and functions (now(),
-- clock_timestamp(), date_trunc(), md5(), unnest()) in a schema of its own
-- that comes first on its search_path; each planted object logs who ran it
-- (current_user) and then does what the real one does.  The role then drives
-- every path where taskdb acts on its own behalf: INSERT, UPDATE, DELETE and
-- TRUNCATE of every table it may write, a commit-time flush of at most 16
-- tasks and one of more (with status-change notifications on), a task
-- deleted and re-created in one transaction,
-- publishing, verifying, debugging and doctor; a careless superuser with the
-- same search_path runs archival, doctor, rebuild_status, the synthetic load
-- and the export hash.  In 1.0, TRUNCATE's summary reset ran the planted
-- prefix "-" as the owner (a superuser): the role could make itself
-- superuser.  No planted object may ever run as anyone but the attacker.
--
\i sql/include/fresh.sql

SET client_min_messages = warning;
DROP SCHEMA IF EXISTS evil CASCADE;
DROP TABLE IF EXISTS public.planted_calls;
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'taskdb_attacker') THEN
        EXECUTE 'DROP OWNED BY taskdb_attacker';
        EXECUTE 'DROP ROLE taskdb_attacker';
    END IF;
END $$;
RESET client_min_messages;

CREATE ROLE taskdb_attacker NOLOGIN;
GRANT USAGE ON SCHEMA taskdb TO taskdb_attacker;
GRANT SELECT ON ALL TABLES IN SCHEMA taskdb TO taskdb_attacker;
GRANT SELECT ON ALL SEQUENCES IN SCHEMA taskdb TO taskdb_attacker;
GRANT INSERT, UPDATE, DELETE, TRUNCATE ON taskdb.tasks, taskdb.runs, taskdb.gates, taskdb.artifacts
    TO taskdb_attacker;
CREATE SCHEMA evil AUTHORIZATION taskdb_attacker;
CREATE TABLE public.planted_calls (obj text, current_usr name, session_usr name);
GRANT INSERT, SELECT ON public.planted_calls TO PUBLIC;
-- Some data made by the owner before the attack: runs and failed gates, so
-- that TRUNCATE has counters to reset.
INSERT INTO taskdb.tasks (id, title, policy_version)
SELECT ('14000000-0000-4000-8000-' || lpad(i::text, 12, '0'))::uuid, 'task ' || i, '1'
  FROM generate_series(1, 50) i;
INSERT INTO taskdb.runs (id, task_id, status)
SELECT ('14000000-0000-4000-8001-' || lpad(i::text, 12, '0'))::uuid,
       ('14000000-0000-4000-8000-' || lpad(i::text, 12, '0'))::uuid, 'completed'
  FROM generate_series(1, 50) i;
INSERT INTO taskdb.gates (run_id, name, type, status)
SELECT ('14000000-0000-4000-8001-' || lpad(i::text, 12, '0'))::uuid, 'g', 'lint', 'fail'
  FROM generate_series(1, 50) i;

-- Status-change notifications on for the attacker's session (as an
-- administrator would set them for the database): every flush below also
-- reads its rows back for them.
SET taskdb.notify_status_changes = on;

-- The attacker plants its objects.
SET ROLE taskdb_attacker;
SET search_path = evil, pg_catalog, public;
CREATE FUNCTION evil.log(obj text) RETURNS void LANGUAGE sql
AS $$ INSERT INTO public.planted_calls VALUES (obj, current_user, session_user) $$;
DO $plant$
DECLARE
    t text;
    op record;
BEGIN
    FOREACH t IN ARRAY ARRAY['uuid', 'text', 'bigint', 'integer', 'timestamptz'] LOOP
        FOR op IN SELECT * FROM (VALUES ('=', 'eq'), ('<>', 'ne'), ('<', 'lt'), ('>', 'gt')) v(sym, name) LOOP
            EXECUTE format($f$CREATE FUNCTION evil.%s_%s(a %s, b %s) RETURNS boolean LANGUAGE plpgsql
                AS $b$ BEGIN PERFORM evil.log(%L); RETURN a OPERATOR(pg_catalog.%s) b; END $b$$f$,
                op.name, t, t, t, op.sym || ' ' || t, op.sym);
            EXECUTE format('CREATE OPERATOR evil.%s (LEFTARG = %s, RIGHTARG = %s, FUNCTION = evil.%s_%s)',
                           op.sym, t, t, op.name, t);
        END LOOP;
    END LOOP;
    FOREACH t IN ARRAY ARRAY['bigint', 'integer'] LOOP
        FOR op IN SELECT * FROM (VALUES ('+', 'plus'), ('-', 'minus')) v(sym, name) LOOP
            EXECUTE format($f$CREATE FUNCTION evil.%s_%s(a %s, b %s) RETURNS %s LANGUAGE plpgsql
                AS $b$ BEGIN PERFORM evil.log(%L); RETURN a OPERATOR(pg_catalog.%s) b; END $b$$f$,
                op.name, t, t, t, t, op.sym || ' ' || t, op.sym);
            EXECUTE format('CREATE OPERATOR evil.%s (LEFTARG = %s, RIGHTARG = %s, FUNCTION = evil.%s_%s)',
                           op.sym, t, t, op.name, t);
        END LOOP;
        -- prefix minus: also tries to make the attacker a superuser
        EXECUTE format($f$CREATE FUNCTION evil.neg_%s(a %s) RETURNS %s LANGUAGE plpgsql
            AS $b$ BEGIN
                PERFORM evil.log(%L);
                BEGIN
                    ALTER ROLE taskdb_attacker SUPERUSER;
                    PERFORM evil.log('escalated');
                EXCEPTION WHEN insufficient_privilege THEN NULL;
                END;
                RETURN OPERATOR(pg_catalog.-) a;
            END $b$$f$, t, t, t, 'prefix - ' || t);
        EXECUTE format('CREATE OPERATOR evil.- (RIGHTARG = %s, FUNCTION = evil.neg_%s)', t, t);
    END LOOP;
END
$plant$;
CREATE FUNCTION evil.ts_plus(a timestamptz, b interval) RETURNS timestamptz LANGUAGE plpgsql
AS $$ BEGIN PERFORM evil.log('timestamptz + interval'); RETURN a OPERATOR(pg_catalog.+) b; END $$;
CREATE OPERATOR evil.+ (LEFTARG = timestamptz, RIGHTARG = interval, FUNCTION = evil.ts_plus);
CREATE FUNCTION evil.ts_minus(a timestamptz, b interval) RETURNS timestamptz LANGUAGE plpgsql
AS $$ BEGIN PERFORM evil.log('timestamptz - interval'); RETURN a OPERATOR(pg_catalog.-) b; END $$;
CREATE OPERATOR evil.- (LEFTARG = timestamptz, RIGHTARG = interval, FUNCTION = evil.ts_minus);
CREATE FUNCTION evil.ts_diff(a timestamptz, b timestamptz) RETURNS interval LANGUAGE plpgsql
AS $$ BEGIN PERFORM evil.log('timestamptz - timestamptz'); RETURN a OPERATOR(pg_catalog.-) b; END $$;
CREATE OPERATOR evil.- (LEFTARG = timestamptz, RIGHTARG = timestamptz, FUNCTION = evil.ts_diff);
CREATE FUNCTION evil.cat(a text, b text) RETURNS text LANGUAGE plpgsql
AS $$ BEGIN PERFORM evil.log('text || text'); RETURN a OPERATOR(pg_catalog.||) b; END $$;
CREATE OPERATOR evil.|| (LEFTARG = text, RIGHTARG = text, FUNCTION = evil.cat);
CREATE FUNCTION evil.now() RETURNS timestamptz LANGUAGE plpgsql
AS $$ BEGIN PERFORM evil.log('now()'); RETURN pg_catalog.now(); END $$;
CREATE FUNCTION evil.clock_timestamp() RETURNS timestamptz LANGUAGE plpgsql
AS $$ BEGIN PERFORM evil.log('clock_timestamp()'); RETURN pg_catalog.clock_timestamp(); END $$;
CREATE FUNCTION evil.date_trunc(f text, t timestamptz) RETURNS timestamptz LANGUAGE plpgsql
AS $$ BEGIN PERFORM evil.log('date_trunc()'); RETURN pg_catalog.date_trunc(f, t); END $$;
CREATE FUNCTION evil.md5(t text) RETURNS text LANGUAGE plpgsql
AS $$ BEGIN PERFORM evil.log('md5()'); RETURN pg_catalog.md5(t); END $$;
CREATE FUNCTION evil.unnest(a anyarray) RETURNS SETOF anyelement LANGUAGE plpgsql
AS $$ BEGIN PERFORM evil.log('unnest()'); RETURN QUERY SELECT * FROM pg_catalog.unnest(a); END $$;
SELECT count(*) AS planted_operators FROM pg_operator WHERE oprnamespace = 'evil'::regnamespace;

-- The planted objects work: the attacker's own statements use them (as the attacker).
SELECT '14000000-0000-4000-8000-000000000001'::uuid = '14000000-0000-4000-8000-000000000001'::uuid AS bait_works;

-- Every table, every operation.
INSERT INTO taskdb.tasks (id, title, policy_version)
VALUES ('14000000-0000-4000-8000-0000000000a1', 'attacker task', '1');
INSERT INTO taskdb.runs (id, task_id, status)
VALUES ('14000000-0000-4000-8001-0000000000a1', '14000000-0000-4000-8000-0000000000a1', 'running');
INSERT INTO taskdb.gates (id, run_id, name, type, status)
VALUES ('14000000-0000-4000-8002-0000000000a1', '14000000-0000-4000-8001-0000000000a1', 'g', 'lint', 'fail');
SELECT taskdb.create_artifact('a.txt', 'attacker content'::bytea,
                              run_id => '14000000-0000-4000-8001-0000000000a1') IS NOT NULL AS artifact;
UPDATE taskdb.tasks SET status = 'in_progress', metadata = '{"x": 1}'
 WHERE id = '14000000-0000-4000-8000-0000000000a1';
UPDATE taskdb.runs SET status = 'completed' WHERE id = '14000000-0000-4000-8001-0000000000a1';
UPDATE taskdb.gates SET status = 'pass' WHERE id = '14000000-0000-4000-8002-0000000000a1';
UPDATE taskdb.artifacts SET media_type = 'text/plain' WHERE path = 'a.txt';
SELECT taskdb.status_derived('14000000-0000-4000-8000-0000000000a1');
-- More than 16 tasks in one transaction (the set-based flush), then a few.
INSERT INTO taskdb.runs (task_id, status)
SELECT id, 'failed' FROM taskdb.tasks WHERE title <> 'attacker task';
BEGIN;
UPDATE taskdb.runs SET status = 'running' WHERE task_id IN ('14000000-0000-4000-8000-000000000001',
                                                           '14000000-0000-4000-8000-000000000002');
SELECT count(*) AS pending FROM taskdb.pending_deltas();
COMMIT;
-- A task deleted and re-created with its id in one transaction (recounted at commit).
BEGIN;
DELETE FROM taskdb.tasks WHERE id = '14000000-0000-4000-8000-0000000000a1';
INSERT INTO taskdb.tasks (id, title, policy_version)
VALUES ('14000000-0000-4000-8000-0000000000a1', 'attacker task', '1');
INSERT INTO taskdb.runs (task_id, status) VALUES ('14000000-0000-4000-8000-0000000000a1', 'completed');
COMMIT;
DELETE FROM taskdb.artifacts WHERE path = 'a.txt';
DELETE FROM taskdb.gates WHERE run_id = '14000000-0000-4000-8001-000000000003';
DELETE FROM taskdb.runs WHERE task_id = '14000000-0000-4000-8000-000000000004';
DELETE FROM taskdb.tasks WHERE id = '14000000-0000-4000-8000-000000000005';
-- TRUNCATE: the summary reset that ran the planted prefix "-" as the owner in 1.0.
TRUNCATE taskdb.gates;
TRUNCATE taskdb.artifacts;
TRUNCATE taskdb.runs CASCADE;
SELECT count(*) AS tasks_with_runs FROM taskdb.task_status WHERE runs_total > 0;

-- Publishing, verifying, debugging, the doctor.
INSERT INTO taskdb.runs (id, task_id, status)
VALUES ('14000000-0000-4000-8001-0000000000b1', '14000000-0000-4000-8000-000000000001', 'completed');
SELECT taskdb.publish_report(jsonb_build_array(
           jsonb_build_object('kind', 'task_id', 'id', '14000000-0000-4000-8000-000000000001'),
           jsonb_build_object('kind', 'run_id', 'id', '14000000-0000-4000-8001-0000000000b1'),
           jsonb_build_object('kind', 'status_derived', 'id', '14000000-0000-4000-8000-000000000001'))) AS report \gset
SELECT kind, status FROM taskdb.verify_provenance(:'report') ORDER BY kind;
UPDATE taskdb.runs SET status = 'failed' WHERE id = '14000000-0000-4000-8001-0000000000b1';
SELECT kind, status, mismatch FROM taskdb.verify_provenance(:'report') WHERE status = 'FAIL' ORDER BY kind;
SELECT count(*) AS debug_lines FROM taskdb.debug_provenance(:'report', true);
SELECT taskdb.report_signature_valid(:'report');
SELECT check_name, status FROM taskdb.doctor() WHERE check_name IN ('summary_drift', 'system_health');
RESET ROLE;
RESET taskdb.notify_status_changes;

-- A careless superuser with the attacker's schema first on its search_path.
-- Every name in these statements is qualified, so whatever planted object
-- runs now was run by taskdb's own code.
SET search_path = evil, pg_catalog, public;
SET taskdb.history_partition_interval = '1 second';
SELECT pg_catalog.count(*) OPERATOR(pg_catalog.>=) 0 AS partitions FROM taskdb.maintain_history();
SELECT pg_catalog.pg_sleep(1.1);
CALL taskdb.archive_events(interval '0 seconds');
RESET taskdb.history_partition_interval;
SELECT pg_catalog.count(*) OPERATOR(pg_catalog.>) 0 AS archived FROM taskdb.events_archive;
SELECT d.check_name, d.status FROM taskdb.doctor() d;
SELECT taskdb.rebuild_status() AS rebuilt;
SET client_min_messages = warning;
SELECT s.tasks_created FROM taskdb.generate_synthetic(3, 2, 1, 1, seed => 14) s;
RESET client_min_messages;
SELECT pg_catalog.length(taskdb.export_hash()) AS export_hash_length;
RESET search_path;

-- The verdict.
SELECT rolsuper AS attacker_is_superuser FROM pg_roles WHERE rolname = 'taskdb_attacker';
SELECT count(*) > 0 AS bait_ran_as_the_attacker FROM planted_calls WHERE current_usr = 'taskdb_attacker';
SELECT obj, current_usr AS ran_as FROM planted_calls
 WHERE current_usr <> 'taskdb_attacker' OR obj = 'escalated'
 GROUP BY 1, 2 ORDER BY 1, 2;

SET client_min_messages = warning;
DROP SCHEMA evil CASCADE;
DROP TABLE public.planted_calls;
DROP OWNED BY taskdb_attacker;
DROP ROLE taskdb_attacker;
RESET client_min_messages;
