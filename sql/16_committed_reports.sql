--
-- 16_committed_reports: a report states committed data only, and a report
-- verifies only where it is recorded; smaller defects found by attacking
-- 1.0: artifact content removed after publishing, whole bad values copied
-- into CHECK errors, and seeds generate_synthetic could not take.
--
\i sql/include/fresh.sql

-- verdict16(report): verify_provenance without the volatile parts.
SET client_min_messages = warning;
DROP FUNCTION IF EXISTS verdict16(jsonb);
RESET client_min_messages;
CREATE FUNCTION verdict16(report jsonb)
RETURNS TABLE (kind text, status text, actual text, mismatch text, changed_later boolean)
LANGUAGE sql AS $$
    SELECT v.kind, v.status, v.actual, v.mismatch,
           CASE WHEN v.changed_at IS NOT NULL
                THEN v.changed_at >= (report->>'verification_snapshot_ts')::timestamptz END
      FROM taskdb.verify_provenance(report) v ORDER BY v.kind;
$$;

INSERT INTO taskdb.tasks (id, title, policy_version)
VALUES ('16000000-0000-4000-8000-000000000001', 'sixteen', '1');
INSERT INTO taskdb.runs (id, task_id, status)
VALUES ('16000000-0000-4000-8000-0000000000a1', '16000000-0000-4000-8000-000000000001', 'failed');
\set claim_completed '[{"kind": "run_id", "id": "16000000-0000-4000-8000-0000000000a1", "expected": "completed"}]'

-- 1. The attack on 1.0: make the run completed, publish, roll back.  The
-- signed report would state what never committed.  Refused instead.
BEGIN;
UPDATE taskdb.runs SET status = 'completed' WHERE id = '16000000-0000-4000-8000-0000000000a1';
SELECT taskdb.publish_report(:'claim_completed');
ROLLBACK;
-- Every kind of write counts, also a TRUNCATE and a write in a subtransaction
-- that committed into its parent.
BEGIN;
SAVEPOINT s;
INSERT INTO taskdb.tasks (title, policy_version) VALUES ('in a savepoint', '1');
RELEASE s;
SELECT taskdb.publish_report(:'claim_completed');
ROLLBACK;
BEGIN;
TRUNCATE taskdb.gates;
SELECT taskdb.publish_report(:'claim_completed');
ROLLBACK;
-- A write rolled back to its savepoint is gone: publishing is allowed, and
-- the claim is judged on the committed value (failed).
BEGIN;
SAVEPOINT s;
UPDATE taskdb.runs SET status = 'completed' WHERE id = '16000000-0000-4000-8000-0000000000a1';
ROLLBACK TO s;
SELECT (taskdb.publish_report(:'claim_completed')->'claims_validated'->0->>'at_snapshot') AS at_snapshot;
ROLLBACK;
-- An UPDATE that matches nothing wrote nothing.
BEGIN;
UPDATE taskdb.runs SET status = 'completed' WHERE id = '16000000-0000-4000-8000-0000000000ff';
SELECT (taskdb.publish_report(:'claim_completed')->'claims_validated'->0->>'at_snapshot') AS at_snapshot;
ROLLBACK;

-- 2. A report published in a transaction that rolled back: its signature is
-- valid, but it is not recorded, so it does not verify -- even once its
-- claims come true.
BEGIN;
SELECT taskdb.publish_report(:'claim_completed') AS unrecorded \gset
ROLLBACK;
UPDATE taskdb.runs SET status = 'completed' WHERE id = '16000000-0000-4000-8000-0000000000a1';
SELECT taskdb.report_signature_valid(:'unrecorded') AS signature_valid;
SELECT * FROM verdict16(:'unrecorded');
SELECT regexp_replace(l, 'hmac-sha256:[0-9a-f]{6}', 'hmac-sha256:<sig>') AS l
  FROM taskdb.debug_provenance(:'unrecorded', true) l WHERE l LIKE '%ecorded%';
-- A recorded report that was deleted later fails the same way.
SELECT taskdb.publish_report(:'claim_completed') AS recorded \gset
SELECT * FROM verdict16(:'recorded');
DELETE FROM taskdb.reports WHERE id = (:'recorded'::jsonb->>'report_id')::uuid;
SELECT kind, status, actual FROM verdict16(:'recorded') WHERE kind = 'signature';

-- 3. Publishing first and writing afterwards in the same transaction: the
-- report is committed with it, and the transaction's own later write counts
-- as after the snapshot.
-- Publishing twice before writing is fine.
BEGIN;
SELECT taskdb.publish_report(:'claim_completed') AS before_write \gset
SELECT taskdb.publish_report('[{"kind": "task_id", "id": "16000000-0000-4000-8000-000000000001"}]') IS NOT NULL
    AS second_report_in_the_same_transaction;
UPDATE taskdb.runs SET status = 'cancelled' WHERE id = '16000000-0000-4000-8000-0000000000a1';
COMMIT;
SELECT * FROM verdict16(:'before_write');
UPDATE taskdb.runs SET status = 'completed' WHERE id = '16000000-0000-4000-8000-0000000000a1';

-- 4. An artifact whose content is removed after publishing: a claim about
-- the file no longer holds.  One stored without content keeps passing.
SELECT taskdb.create_artifact('kept.txt', 'kept'::bytea,
                              run_id => '16000000-0000-4000-8000-0000000000a1') AS kept \gset
SELECT taskdb.create_artifact('removed.txt', 'removed'::bytea,
                              run_id => '16000000-0000-4000-8000-0000000000a1') AS removed \gset
SELECT taskdb.create_artifact('never.txt', sha256 => taskdb.sha256('never stored'::bytea),
                              run_id => '16000000-0000-4000-8000-0000000000a1') AS never \gset
SELECT taskdb.publish_report(jsonb_build_array(
           jsonb_build_object('kind', 'artifact_hash', 'id', :'kept'),
           jsonb_build_object('kind', 'artifact_hash', 'id', :'removed'),
           jsonb_build_object('kind', 'artifact_hash', 'id', :'never'))) AS files \gset
UPDATE taskdb.artifacts SET content = NULL WHERE id = :'removed';
UPDATE taskdb.artifacts SET media_type = 'text/plain' WHERE id IN (:'kept', :'never');
SELECT v.claim = 'artifact_hash:' || a.sha256 AS named, a.path, v.status, v.actual, v.mismatch,
       v.changed_at >= (:'files'::jsonb->>'verification_snapshot_ts')::timestamptz AS changed_later
  FROM taskdb.verify_provenance(:'files') v
  JOIN taskdb.artifacts a ON v.claim = 'artifact_hash:' || a.sha256
 ORDER BY a.path;
SELECT regexp_replace(l, 'sha256:[0-9a-f]{6}', 'sha256:<hash>') AS l
  FROM taskdb.debug_provenance(:'files', true) l WHERE l LIKE '%removed%' OR l LIKE '%Mismatch%';

-- 5. A bad value in a CHECK error is quoted short (at most 100 bytes, cut on
-- a character boundary), never copied whole: it was 10 MB in the error and
-- the server log.  (Status columns are varchar(20): their CHECK errors are
-- short anyway, and quoted the same way.)
DO $$
BEGIN
    INSERT INTO taskdb.artifacts (task_id, path, sha256)
    VALUES ('16000000-0000-4000-8000-000000000001', 'x', repeat('x', 10000000));
EXCEPTION WHEN check_violation THEN
    RAISE NOTICE 'message of % bytes: %', octet_length(SQLERRM), left(SQLERRM, 40);
END $$;
DO $$
BEGIN
    INSERT INTO taskdb.artifacts (task_id, path, sha256)
    VALUES ('16000000-0000-4000-8000-000000000001', 'x', 'sha256:' || repeat('é', 1000000));
EXCEPTION WHEN check_violation THEN
    RAISE NOTICE 'message of % bytes, ends %', octet_length(SQLERRM), right(SQLERRM, 30);
END $$;

-- 6. generate_synthetic takes every seed (2147483647 failed with "integer
-- out of range"), gives the same data for the same seed as before, and
-- refuses sizes no transaction could take, saying so.
SET client_min_messages = warning;
SELECT * FROM taskdb.generate_synthetic(2, 2, 1, 1, seed => 2147483647);
SELECT * FROM taskdb.generate_synthetic(2, 2, 1, 1, seed => -2147483648);
SELECT count(*) AS synthetic_tasks FROM taskdb.tasks WHERE metadata->>'synthetic' = 'true';
RESET client_min_messages;
SELECT * FROM taskdb.generate_synthetic(2147483647, 2147483647, 2147483647);
