--
-- 04_transactions: transaction control and the summary.  Inside a transaction
-- taskdb.status_derived() and the view task_status_derived include its own
-- changes; task_status changes only at commit; whatever is rolled back
-- (ROLLBACK, ROLLBACK TO, caught exceptions, failed statements, ROLLBACK
-- PREPARED) never reaches it; after every commit drift is 0 0.
--
\i sql/include/fresh.sql

-- The recomputation, drift check and id helpers every file shares.
\i sql/include/helpers.sql
-- drift_live: the same comparison for the view task_status_derived, which adds
-- the current transaction's not yet applied deltas to the stored summary.
CREATE VIEW drift_live AS
SELECT (SELECT count(*) FROM (
            SELECT task_id, status_derived, health_score, runs_total, runs_running,
                   runs_completed, runs_failed, gates_failed FROM taskdb.task_status_derived
            EXCEPT ALL SELECT * FROM recomputed) a) AS live_not_recomputed,
       (SELECT count(*) FROM (
            SELECT * FROM recomputed
            EXCEPT ALL SELECT task_id, status_derived, health_score, runs_total, runs_running,
                              runs_completed, runs_failed, gates_failed FROM taskdb.task_status_derived) b) AS recomputed_not_live;
-- live: what taskdb reports inside the transaction, by title.
CREATE VIEW live AS
SELECT t.title, taskdb.status_derived(t.id) AS status_fn, v.status_derived AS status_view,
       round(v.health_score::numeric, 3) AS health, v.runs_total AS runs, v.runs_running AS running,
       v.runs_completed AS completed, v.runs_failed AS failed, v.gates_failed
  FROM taskdb.tasks t LEFT JOIN taskdb.task_status_derived v ON v.task_id = t.id;

\set t1 '00000000-0000-0000-0000-000000000001'
\set t2 '00000000-0000-0000-0000-000000000002'
\set t3 '00000000-0000-0000-0000-000000000003'
\set t4 '00000000-0000-0000-0000-000000000004'
\set t5 '00000000-0000-0000-0000-000000000005'
\set t6 '00000000-0000-0000-0000-000000000006'
\set t7 '00000000-0000-0000-0000-000000000007'

INSERT INTO taskdb.tasks (id, title, policy_version)
VALUES (:'t1', 'alpha', '1.0'), (:'t2', 'bravo', '1.0'), (:'t3', 'charlie', '1.0'), (:'t4', 'delta', '1.0');
INSERT INTO taskdb.runs (id, task_id, status)
VALUES (rid(1), :'t1', 'completed'), (rid(2), :'t2', 'running'), (rid(3), :'t3', 'completed');
INSERT INTO taskdb.gates (id, run_id, name, type, status) VALUES (gid(1), rid(3), 'eslint', 'lint', 'pass');
-- alpha completed | bravo in_progress | charlie completed | delta pending
:check

--
-- A transaction sees its own changes through status_derived() and the view
-- task_status_derived; the stored summary changes only at COMMIT.
--
BEGIN;
INSERT INTO taskdb.runs (id, task_id, status) VALUES (rid(10), :'t1', 'failed');
INSERT INTO taskdb.gates (id, run_id, name, type, status) VALUES (gid(10), rid(3), 'semgrep', 'security', 'fail');
-- alpha failed, charlie blocked, here:
SELECT * FROM live ORDER BY title;
SELECT * FROM drift_live;
-- but not yet in task_status (alpha completed, charlie completed; 2 rows differ):
SELECT * FROM report ORDER BY title;
SELECT * FROM drift;
-- what COMMIT will apply:
SELECT t.title, p.runs_total, p.runs_running, p.runs_completed, p.runs_failed, p.gates_failed
  FROM taskdb.pending_deltas() p JOIN taskdb.tasks t ON t.id = p.task_id ORDER BY t.title;
COMMIT;
-- alpha failed 0.5 | charlie blocked
:check
SELECT count(*) AS pending_outside_a_transaction FROM taskdb.pending_deltas();

-- ROLLBACK: the changes seen inside vanish, the summary never moved.
BEGIN;
DELETE FROM taskdb.runs WHERE task_id = :'t1';
UPDATE taskdb.gates SET status = 'pass' WHERE id = gid(10);
-- alpha pending, charlie completed, here:
SELECT * FROM live ORDER BY title;
ROLLBACK;
-- alpha failed | charlie blocked, as before
:check
SELECT * FROM live ORDER BY title;

-- A task inserted by the transaction has its summary row at once.
BEGIN;
INSERT INTO taskdb.tasks (id, title, policy_version) VALUES (:'t5', 'echo', '1.0');
SELECT status_derived AS stored, taskdb.status_derived(:'t5') AS fn
  FROM taskdb.task_status WHERE task_id = :'t5';
INSERT INTO taskdb.runs (task_id, status) VALUES (:'t5', 'completed');
SELECT status_derived AS stored, taskdb.status_derived(:'t5') AS fn
  FROM taskdb.task_status WHERE task_id = :'t5';
COMMIT;
-- echo completed
:check

--
-- SAVEPOINT / ROLLBACK TO / RELEASE, nested.
--
-- Rolled-back inner savepoint, released outer one.
BEGIN;
INSERT INTO taskdb.runs (id, task_id, status) VALUES (rid(20), :'t4', 'completed');
SAVEPOINT s1;
INSERT INTO taskdb.runs (id, task_id, status) VALUES (rid(21), :'t4', 'running');
SAVEPOINT s2;
INSERT INTO taskdb.runs (id, task_id, status) VALUES (rid(22), :'t4', 'failed');
INSERT INTO taskdb.gates (run_id, name, type, status) VALUES (rid(20), 'opa', 'policy', 'fail');
SELECT taskdb.status_derived(:'t4') AS in_s2;
ROLLBACK TO s2;
SELECT taskdb.status_derived(:'t4') AS after_rollback_to_s2;
RELEASE s1;
SELECT * FROM drift_live;
COMMIT;
-- delta in_progress 0.5: the completed and the running run, no failed gate
:check

-- A savepoint that records nothing itself around one that does: the inner
-- one is released into it, then the outer one is rolled back.
BEGIN;
SAVEPOINT a;
SAVEPOINT b;
UPDATE taskdb.runs SET status = 'failed' WHERE id = rid(21);
RELEASE b;
SELECT taskdb.status_derived(:'t4') AS after_release_b;
ROLLBACK TO a;
SELECT taskdb.status_derived(:'t4') AS after_rollback_to_a;
COMMIT;
-- delta unchanged: in_progress
:check

-- Changes before the savepoints and after the rollback count; those inside do not.
BEGIN;
UPDATE taskdb.runs SET status = 'completed' WHERE id = rid(21);
SAVEPOINT a;
SAVEPOINT b;
DELETE FROM taskdb.runs WHERE id = rid(20);
RELEASE b;
INSERT INTO taskdb.runs (task_id, status) VALUES (:'t4', 'failed');
SELECT taskdb.status_derived(:'t4') AS inside_a;
ROLLBACK TO a;
INSERT INTO taskdb.gates (id, run_id, name, type, status) VALUES (gid(21), rid(21), 'facts', 'truth', 'fail');
SELECT taskdb.status_derived(:'t4') AS after_rollback_to_a;
COMMIT;
-- delta blocked 1.0: two completed runs, one failed gate
:check

-- Three levels, all released at once.
BEGIN;
SAVEPOINT a;
INSERT INTO taskdb.runs (task_id, status) VALUES (:'t2', 'queued');
SAVEPOINT b;
INSERT INTO taskdb.runs (task_id, status) VALUES (:'t2', 'completed');
SAVEPOINT c;
UPDATE taskdb.runs SET status = 'completed' WHERE id = rid(2);
RELEASE a;
COMMIT;
-- bravo completed 0.667 (3 runs: 2 completed, 1 queued)
:check

-- Rolling back to the same savepoint twice.
BEGIN;
SAVEPOINT a;
INSERT INTO taskdb.runs (task_id, status) VALUES (:'t2', 'failed');
ROLLBACK TO a;
INSERT INTO taskdb.runs (task_id, status) VALUES (:'t2', 'running');
ROLLBACK TO a;
INSERT INTO taskdb.runs (task_id, status) VALUES (:'t2', 'cancelled');
COMMIT;
-- bravo completed 0.5 (4 runs: 2 completed)
:check

-- Released savepoints inside a transaction that is rolled back: nothing.
BEGIN;
SAVEPOINT a;
INSERT INTO taskdb.runs (task_id, status) VALUES (:'t3', 'failed');
RELEASE a;
ROLLBACK;
:check

--
-- Exceptions caught in PL/pgSQL (each BEGIN ... EXCEPTION block is a subtransaction).
--
DO $$
DECLARE
    t uuid := '00000000-0000-0000-0000-000000000002';  -- bravo
BEGIN
    INSERT INTO taskdb.runs (task_id, status) VALUES (t, 'running');
    BEGIN
        INSERT INTO taskdb.runs (task_id, status) VALUES (t, 'failed');
        RAISE NOTICE 'inside the block: %', taskdb.status_derived(t);
        RAISE EXCEPTION 'undo this block';
    EXCEPTION WHEN raise_exception THEN
        RAISE NOTICE 'caught "%", now: %', SQLERRM, taskdb.status_derived(t);
    END;
    FOR i IN 1..3 LOOP
        BEGIN
            INSERT INTO taskdb.runs (task_id, status) VALUES (t, 'completed');
            IF i = 2 THEN
                UPDATE taskdb.runs SET status = 'bogus' WHERE task_id = t;
            END IF;
        EXCEPTION WHEN check_violation THEN
            RAISE NOTICE 'iteration % rolled back: %', i, SQLERRM;
        END;
    END LOOP;
    BEGIN
        UPDATE taskdb.runs SET status = 'cancelled' WHERE task_id = t AND status = 'running';
        BEGIN
            DELETE FROM taskdb.runs WHERE task_id = t;
            RAISE NOTICE 'all runs deleted: %', taskdb.status_derived(t);
            PERFORM 1 / 0;
        EXCEPTION WHEN division_by_zero THEN
            RAISE NOTICE 'delete undone: %', taskdb.status_derived(t);
        END;
    END;
END
$$;
-- bravo completed 0.571: 7 runs (4 completed, 1 queued, 2 cancelled)
:check

-- An exception nobody catches undoes the whole statement.
DO $$
BEGIN
    INSERT INTO taskdb.runs (task_id, status) VALUES ('00000000-0000-0000-0000-000000000002', 'failed');
    RAISE EXCEPTION 'not caught';
END
$$;
:check

--
-- A statement that fails after taskdb's trigger has already folded it:
-- an AFTER STATEMENT trigger named to fire after taskdb's, which raises.
--
CREATE FUNCTION explode() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM changed WHERE metrics ? 'explode') THEN
        RAISE EXCEPTION 'statement fails after taskdb folded it';
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER zz_explode_insert AFTER INSERT ON taskdb.runs
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION explode();
CREATE TRIGGER zz_explode_delete AFTER DELETE ON taskdb.runs
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION explode();
-- psql's ON_ERROR_ROLLBACK runs each statement in a savepoint.
\set ON_ERROR_ROLLBACK on
BEGIN;
INSERT INTO taskdb.runs (task_id, status) VALUES (:'t3', 'running');
INSERT INTO taskdb.runs (task_id, status, metrics)
VALUES (:'t3', 'failed', NULL), (:'t3', 'failed', '{"explode": true}');
SELECT taskdb.status_derived(:'t3') AS after_failed_insert;
UPDATE taskdb.runs SET metrics = '{"explode": true}' WHERE id = rid(3);
DELETE FROM taskdb.runs WHERE task_id = :'t3';
SELECT taskdb.status_derived(:'t3') AS after_failed_delete;
SELECT * FROM drift_live;
COMMIT;
\set ON_ERROR_ROLLBACK off
-- charlie in_progress 0.5: its completed run and the new running one
:check
-- The same inside a PL/pgSQL exception block.
DO $$
BEGIN
    BEGIN
        INSERT INTO taskdb.runs (task_id, status, metrics)
        VALUES ('00000000-0000-0000-0000-000000000003', 'failed', '{"explode": true}');
    EXCEPTION WHEN raise_exception THEN
        RAISE NOTICE 'caught: %', SQLERRM;
    END;
    DELETE FROM taskdb.runs WHERE task_id = '00000000-0000-0000-0000-000000000003' AND status = 'running';
END
$$;
-- charlie blocked again: the running run deleted, the failed one never there
:check
DROP TRIGGER zz_explode_insert ON taskdb.runs;
DROP TRIGGER zz_explode_delete ON taskdb.runs;
DROP FUNCTION explode();

--
-- Two-phase commit: deltas are applied at PREPARE TRANSACTION and become
-- visible at COMMIT PREPARED; ROLLBACK PREPARED discards them.
--
BEGIN;
INSERT INTO taskdb.runs (id, task_id, status) VALUES (rid(30), :'t4', 'failed');
SAVEPOINT s;
INSERT INTO taskdb.runs (task_id, status) VALUES (:'t4', 'running');
ROLLBACK TO s;
INSERT INTO taskdb.tasks (id, title, policy_version) VALUES (:'t6', 'foxtrot', '1.0');
INSERT INTO taskdb.runs (task_id, status) VALUES (:'t6', 'running');
PREPARE TRANSACTION 'taskdb_regress_commit';
SELECT gid FROM pg_prepared_xacts WHERE gid LIKE 'taskdb_regress%' ORDER BY gid;
-- nothing visible yet: delta blocked, no foxtrot
:check
COMMIT PREPARED 'taskdb_regress_commit';
-- delta failed 0.667 | foxtrot in_progress
:check
BEGIN;
DELETE FROM taskdb.runs WHERE id = rid(30);
UPDATE taskdb.runs SET status = 'completed' WHERE task_id = :'t6';
PREPARE TRANSACTION 'taskdb_regress_rollback';
ROLLBACK PREPARED 'taskdb_regress_rollback';
-- unchanged: delta failed | foxtrot in_progress
:check
SELECT count(*) AS prepared_left FROM pg_prepared_xacts WHERE gid LIKE 'taskdb_regress%';

--
-- A task inserted and deleted in the same transaction leaves nothing behind.
--
BEGIN;
INSERT INTO taskdb.tasks (id, title, policy_version) VALUES (:'t7', 'ghost', '1.0');
INSERT INTO taskdb.runs (id, task_id, status) VALUES (rid(40), :'t7', 'failed'), (rid(41), :'t7', 'completed');
INSERT INTO taskdb.gates (run_id, name, type, status) VALUES (rid(41), 'opa', 'policy', 'fail');
SELECT taskdb.status_derived(:'t7') AS before_delete;
DELETE FROM taskdb.tasks WHERE id = :'t7';
SELECT taskdb.status_derived(:'t7') IS NULL AS gone;
COMMIT;
:check
SELECT (SELECT count(*) FROM taskdb.tasks) AS tasks, (SELECT count(*) FROM taskdb.task_status) AS summary_rows;

-- A task deleted and inserted again with the same id in one transaction:
-- the new task starts from zero, the old task's runs no longer count.
BEGIN;
DELETE FROM taskdb.tasks WHERE id = :'t4';
INSERT INTO taskdb.tasks (id, title, policy_version) VALUES (:'t4', 'delta reborn', '2.0');
INSERT INTO taskdb.runs (task_id, status) VALUES (:'t4', 'queued');
SELECT taskdb.status_derived(:'t4') AS reborn;
SELECT * FROM drift_live;
COMMIT;
-- delta reborn blocked: 1 queued run
:check
-- (whatever happened above, continue from a known state)
DELETE FROM taskdb.tasks WHERE id = :'t4';

--
-- REPEATABLE READ and SERIALIZABLE transactions.
--
BEGIN ISOLATION LEVEL REPEATABLE READ;
INSERT INTO taskdb.runs (task_id, status) VALUES (:'t5', 'running');
UPDATE taskdb.gates SET status = 'pass' WHERE id = gid(10);
SELECT * FROM live ORDER BY title;
COMMIT;
-- charlie completed | echo in_progress
:check
BEGIN ISOLATION LEVEL SERIALIZABLE;
UPDATE taskdb.runs SET status = 'completed' WHERE task_id = :'t5' AND status = 'running';
SAVEPOINT s;
INSERT INTO taskdb.runs (task_id, status) VALUES (:'t5', 'failed');
ROLLBACK TO s;
INSERT INTO taskdb.runs (task_id, status) VALUES (:'t6', 'failed');
SELECT * FROM live ORDER BY title;
COMMIT;
-- echo completed 1.0 (2 runs) | foxtrot failed
:check

--
-- More than 16 tasks in one transaction (the flush then locks the rows in
-- order and updates them in one statement).
--
CREATE VIEW bulk_counts AS
SELECT s.status_derived, count(*) AS stored,
       (SELECT count(*) FROM recomputed r JOIN taskdb.tasks t2 ON t2.id = r.task_id
         WHERE t2.title LIKE 'bulk%' AND r.status_derived = s.status_derived) AS recomputed
  FROM taskdb.task_status s JOIN taskdb.tasks t ON t.id = s.task_id
 WHERE t.title LIKE 'bulk%' GROUP BY s.status_derived;
BEGIN;
INSERT INTO taskdb.tasks (id, title, policy_version)
SELECT ('00000000-0000-0000-0000-0000000001' || lpad(i::text, 2, '0'))::uuid, 'bulk ' || lpad(i::text, 2, '0'), '1.0'
  FROM generate_series(1, 24) AS i;
INSERT INTO taskdb.runs (task_id, status)
SELECT t.id, (ARRAY['queued', 'running', 'completed', 'failed', 'cancelled'])[1 + (substr(t.title, 6)::int + n) % 5]
  FROM taskdb.tasks t, generate_series(1, 3) AS n
 WHERE t.title LIKE 'bulk%' AND (n = 1 OR substr(t.title, 6)::int % 3 <> 0);
INSERT INTO taskdb.gates (run_id, name, type, status)
SELECT r.id, 'semgrep', 'security', 'fail'
  FROM taskdb.runs r JOIN taskdb.tasks t ON t.id = r.task_id
 WHERE t.title LIKE 'bulk%' AND r.status = 'completed' AND substr(t.title, 6)::int % 2 = 0;
COMMIT;
SELECT * FROM drift;
SELECT * FROM bulk_counts ORDER BY status_derived;
-- One statement changing runs of many bulk tasks.
UPDATE taskdb.runs SET status = 'completed'
 WHERE status = 'running' AND task_id IN (SELECT id FROM taskdb.tasks WHERE title LIKE 'bulk%');
SELECT * FROM drift;
SELECT * FROM bulk_counts ORDER BY status_derived;
BEGIN;
DELETE FROM taskdb.gates WHERE task_id IN (SELECT id FROM taskdb.tasks WHERE title LIKE 'bulk%');
UPDATE taskdb.runs SET status = 'running'
 WHERE status = 'queued' AND task_id IN (SELECT id FROM taskdb.tasks WHERE title LIKE 'bulk%');
COMMIT;
SELECT * FROM drift;
SELECT * FROM bulk_counts ORDER BY status_derived;
DELETE FROM taskdb.tasks WHERE title LIKE 'bulk%';
DROP VIEW bulk_counts;
:check

--
-- rebuild_status(): repairs a corrupted summary and returns how many rows it changed.
--
SELECT taskdb.rebuild_status() AS changed_when_consistent;
-- Corrupt it on purpose (as superuser): wrong counters, a wrong status, a
-- wrong score, and a missing row.
UPDATE taskdb.task_status SET runs_total = runs_total + 3, runs_failed = runs_failed + 1 WHERE task_id = :'t1';
UPDATE taskdb.task_status SET status_derived = 'failed' WHERE task_id = :'t2';
UPDATE taskdb.task_status SET health_score = 0.25 WHERE task_id = :'t5';
DELETE FROM taskdb.task_status WHERE task_id = :'t3';
SELECT * FROM drift;
SELECT taskdb.rebuild_status() AS changed;
:check
SELECT taskdb.rebuild_status() AS changed_again;

-- Inside a transaction that has pending changes of its own: the rebuilt rows
-- already include them, so COMMIT must not apply them a second time.
BEGIN;
INSERT INTO taskdb.runs (task_id, status) VALUES (:'t1', 'completed'), (:'t1', 'completed');
INSERT INTO taskdb.gates (run_id, name, type, status)
SELECT id, 'opa', 'policy', 'fail' FROM taskdb.runs WHERE task_id = :'t2' AND status = 'completed' LIMIT 1;
UPDATE taskdb.task_status SET runs_completed = 0 WHERE task_id = :'t5';
-- alpha and bravo (pending changes) and echo (corrupted): 3 rows
SELECT taskdb.rebuild_status() AS changed;
SELECT * FROM drift;
SELECT * FROM drift_live;
SELECT count(*) AS pending_after_rebuild FROM taskdb.pending_deltas();
-- changes after the rebuild are applied as usual
INSERT INTO taskdb.runs (task_id, status) VALUES (:'t3', 'failed');
SELECT * FROM drift_live;
SELECT taskdb.rebuild_status() AS changed_second_call;
INSERT INTO taskdb.runs (task_id, status) VALUES (:'t3', 'running');
COMMIT;
-- alpha failed 0.75 (4 runs) | bravo blocked | charlie failed 0.333 (3 runs) | echo completed
:check

-- A rebuild rolled back to a savepoint gives the pending changes back.
BEGIN;
INSERT INTO taskdb.runs (task_id, status) VALUES (:'t5', 'failed');
SAVEPOINT s;
SELECT taskdb.rebuild_status() AS changed;
ROLLBACK TO s;
SELECT t.title, p.runs_total, p.runs_failed
  FROM taskdb.pending_deltas() p JOIN taskdb.tasks t ON t.id = p.task_id;
SELECT * FROM drift_live;
COMMIT;
-- echo failed 0.667
:check

-- Clean up the helpers (the extension stays for the next file).
DROP VIEW live;
DROP VIEW drift_live;
DROP VIEW report;
DROP VIEW drift;
DROP VIEW recomputed;
DROP FUNCTION task_of(text);
DROP FUNCTION rid(int);
DROP FUNCTION gid(int);
DROP FUNCTION aid(int);
