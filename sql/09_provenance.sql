--
-- 09_provenance: publish_report / verify_provenance / debug_provenance.
-- Every claim kind against every mismatch reason, the signature, key
-- rotation, and the errors for malformed input.  Ids are fixed and times are
-- projected out, so the output is deterministic.
--
\i sql/include/fresh.sql

-- verdict(report): verify_provenance without the volatile parts.
CREATE FUNCTION verdict(report jsonb)
RETURNS TABLE (claim text, kind text, status text, expected text, actual text,
               mismatch text, changed_later boolean)
LANGUAGE sql AS $$
    SELECT v.claim, v.kind, v.status, v.expected, v.actual,
           regexp_replace(v.mismatch, 'sha256:[0-9a-f]{64}', 'sha256:<hex>', 'g'),
           CASE WHEN v.changed_at IS NOT NULL
                THEN v.changed_at >= (report->>'verification_snapshot_ts')::timestamptz END
      FROM taskdb.verify_provenance(report) v
     WHERE v.kind <> 'signature'
    UNION ALL
    SELECT 'signature', v.kind, v.status, NULL, v.actual, v.mismatch, NULL
      FROM taskdb.verify_provenance(report) v WHERE v.kind = 'signature';
$$;
-- debug(report, verbose): debug_provenance with times and signatures masked.
CREATE FUNCTION debug(report jsonb, detail boolean DEFAULT true)
RETURNS SETOF text LANGUAGE sql AS $$
    SELECT regexp_replace(regexp_replace(l,
               '\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z', '<time>', 'g'),
               'hmac-sha256:[0-9a-f]{6}', 'hmac-sha256:<sig>')
      FROM taskdb.debug_provenance(report, detail) l;
$$;

-- The data: one task with a run, a gate and an artifact per scenario.
\set t_ok      '10000000-0000-4000-8000-000000000001'
\set t_chg     '10000000-0000-4000-8000-000000000002'
\set t_del     '10000000-0000-4000-8000-000000000003'
\set t_late    '10000000-0000-4000-8000-000000000004'
\set t_never   '10000000-0000-4000-8000-0000000000ff'
\set r_ok      '20000000-0000-4000-8000-000000000001'
\set r_chg     '20000000-0000-4000-8000-000000000002'
\set r_del     '20000000-0000-4000-8000-000000000003'
\set r_late    '20000000-0000-4000-8000-000000000004'
\set r_never   '20000000-0000-4000-8000-0000000000ff'
\set g_ok      '30000000-0000-4000-8000-000000000001'
\set g_chg     '30000000-0000-4000-8000-000000000002'
\set g_del     '30000000-0000-4000-8000-000000000003'
\set g_late    '30000000-0000-4000-8000-000000000004'
\set g_never   '30000000-0000-4000-8000-0000000000ff'
\set a_ok      '40000000-0000-4000-8000-000000000001'
\set a_chg     '40000000-0000-4000-8000-000000000002'
\set a_del     '40000000-0000-4000-8000-000000000003'
\set a_late    '40000000-0000-4000-8000-000000000004'
\set a_content '40000000-0000-4000-8000-000000000005'
\set a_never   '40000000-0000-4000-8000-0000000000ff'

INSERT INTO taskdb.tasks (id, title, policy_version) VALUES
    (:'t_ok', 'ok', '1'), (:'t_chg', 'changes', '1'), (:'t_del', 'deleted', '1');
INSERT INTO taskdb.runs (id, task_id, status) VALUES
    (:'r_ok', :'t_ok', 'completed'), (:'r_chg', :'t_chg', 'completed'), (:'r_del', :'t_del', 'completed');
INSERT INTO taskdb.gates (id, run_id, name, type, status) VALUES
    (:'g_ok', :'r_ok', 'lint', 'lint', 'pass'), (:'g_chg', :'r_chg', 'lint', 'lint', 'pass'),
    (:'g_del', :'r_del', 'lint', 'lint', 'pass');
INSERT INTO taskdb.artifacts (id, run_id, task_id, path, sha256, content)
SELECT x.id::uuid, x.run::uuid, x.task::uuid, x.path, taskdb.sha256(x.body), x.body
  FROM (VALUES (:'a_ok', :'r_ok', :'t_ok', 'ok.txt', 'ok'::bytea),
               (:'a_chg', :'r_chg', :'t_chg', 'chg.txt', 'chg'),
               (:'a_del', :'r_del', :'t_del', 'del.txt', 'del'),
               (:'a_content', :'r_ok', :'t_ok', 'content.txt', 'content')) x(id, run, task, path, body);

--
-- A report that holds: every kind PASSes, the signature is valid.
--
SELECT taskdb.publish_report(jsonb_build_array(
    jsonb_build_object('kind', 'task_id', 'id', :'t_ok'),
    jsonb_build_object('kind', 'run_id', 'id', :'r_ok', 'expected', 'completed'),
    jsonb_build_object('kind', 'gate_id', 'id', :'g_ok'),
    jsonb_build_object('kind', 'status_derived', 'id', :'t_ok', 'expected', 'completed'),
    jsonb_build_object('kind', 'artifact_hash', 'id', :'a_ok'),
    jsonb_build_object('kind', 'artifact_hash', 'hash', taskdb.sha256('content')))) AS good \gset
SELECT * FROM verdict(:'good');
SELECT * FROM debug(:'good');
-- The report as stored: one row, same document, snapshot recorded.
SELECT r.report = :'good'::jsonb AS stored_as_returned, r.claims_count,
       r.snapshot::text = :'good'::jsonb->>'snapshot' AS snapshot_recorded,
       r.published_by = current_user AS publisher
  FROM taskdb.reports r WHERE r.id = (:'good'::jsonb->>'report_id')::uuid;
SELECT jsonb_object_keys(:'good'::jsonb) AS report_field ORDER BY 1;
SELECT c - 'id' - 'claim' AS claim_fields
  FROM jsonb_array_elements(:'good'::jsonb->'claims_validated') c;

--
-- Claims that were wrong when published: already different at snapshot,
-- never existed, created after snapshot.  publish_report warns, stores the
-- report as published, and verification says why each FAILs.
--
SELECT taskdb.publish_report(jsonb_build_array(
    jsonb_build_object('kind', 'task_id', 'id', :'t_ok', 'expected', 'failed'),
    jsonb_build_object('kind', 'run_id', 'id', :'r_ok', 'expected', 'running'),
    jsonb_build_object('kind', 'gate_id', 'id', :'g_ok', 'expected', 'fail'),
    jsonb_build_object('kind', 'status_derived', 'id', :'t_ok', 'expected', 'blocked'),
    jsonb_build_object('kind', 'artifact_hash', 'id', :'a_ok', 'hash', taskdb.sha256('not ok')),
    jsonb_build_object('kind', 'task_id', 'id', :'t_never'),
    jsonb_build_object('kind', 'run_id', 'id', :'r_never'),
    jsonb_build_object('kind', 'gate_id', 'id', :'g_never'),
    jsonb_build_object('kind', 'status_derived', 'id', :'t_never'),
    jsonb_build_object('kind', 'artifact_hash', 'id', :'a_never'),
    jsonb_build_object('kind', 'task_id', 'id', :'t_late'),
    jsonb_build_object('kind', 'run_id', 'id', :'r_late'),
    jsonb_build_object('kind', 'gate_id', 'id', :'g_late'),
    jsonb_build_object('kind', 'status_derived', 'id', :'t_late'),
    jsonb_build_object('kind', 'artifact_hash', 'id', :'a_late'),
    jsonb_build_object('kind', 'artifact_hash', 'hash', taskdb.sha256('late')))) AS wrong \gset
-- The "late" entities appear after the report was published.
INSERT INTO taskdb.tasks (id, title, policy_version) VALUES (:'t_late', 'late', '1');
INSERT INTO taskdb.runs (id, task_id, status) VALUES (:'r_late', :'t_late', 'running');
INSERT INTO taskdb.gates (id, run_id, name, type) VALUES (:'g_late', :'r_late', 'lint', 'lint');
SELECT taskdb.create_artifact(path => 'late.txt', content => 'late', run_id => :'r_late') IS NOT NULL AS created;
INSERT INTO taskdb.artifacts (id, task_id, path, sha256) VALUES (:'a_late', :'t_late', 'late2', taskdb.sha256('late2'));
SELECT * FROM verdict(:'wrong');
SELECT * FROM debug(:'wrong');

--
-- Claims that held and then stopped holding: changed after snapshot,
-- deleted after snapshot, content hash differs.
--
SELECT taskdb.publish_report(jsonb_build_array(
    jsonb_build_object('kind', 'task_id', 'id', :'t_chg'),
    jsonb_build_object('kind', 'run_id', 'id', :'r_chg'),
    jsonb_build_object('kind', 'gate_id', 'id', :'g_chg'),
    jsonb_build_object('kind', 'status_derived', 'id', :'t_chg'),
    jsonb_build_object('kind', 'artifact_hash', 'id', :'a_chg'),
    jsonb_build_object('kind', 'task_id', 'id', :'t_del'),
    jsonb_build_object('kind', 'run_id', 'id', :'r_del'),
    jsonb_build_object('kind', 'gate_id', 'id', :'g_del'),
    jsonb_build_object('kind', 'status_derived', 'id', :'t_del'),
    jsonb_build_object('kind', 'artifact_hash', 'id', :'a_del'),
    jsonb_build_object('kind', 'artifact_hash', 'id', :'a_content'))) AS later \gset
SELECT * FROM verdict(:'later');
UPDATE taskdb.tasks SET status = 'cancelled' WHERE id = :'t_chg';
SELECT taskdb.set_run_status(:'r_chg', 'failed') IS NOT NULL AS updated;
SELECT taskdb.set_gate_status(:'g_chg', 'fail') IS NOT NULL AS updated;
UPDATE taskdb.artifacts SET sha256 = taskdb.sha256('changed'), content = 'changed' WHERE id = :'a_chg';
UPDATE taskdb.artifacts SET content = 'tampered' WHERE id = :'a_content';
DELETE FROM taskdb.tasks WHERE id = :'t_del';
SELECT * FROM verdict(:'later');
SELECT * FROM debug(:'later');
-- The explanation of a change carries when it happened (the event's time).
SELECT v.kind, v.changed_at = (SELECT max(e.occurred_at) FROM taskdb.events e
                                WHERE e.entity_id = :'r_chg' AND e.operation = 'update') AS run_change_time
  FROM taskdb.verify_provenance(:'later') v WHERE v.claim = 'run_id:' || :'r_chg';
-- A change that is undone again verifies as PASS: the claim holds now.
SELECT taskdb.set_run_status(:'r_chg', 'completed') IS NOT NULL AS restored;
SELECT claim, status FROM verdict(:'later') WHERE claim = 'run_id:' || :'r_chg';

-- TRUNCATE is a deletion after the snapshot too.
SELECT taskdb.publish_report(jsonb_build_array(
    jsonb_build_object('kind', 'gate_id', 'id', :'g_ok'))) AS before_truncate \gset
TRUNCATE taskdb.gates;
SELECT * FROM verdict(:'before_truncate');

--
-- Signatures: one changed byte anywhere in the signed content is detected;
-- the claims are still checked.
--
SELECT * FROM verdict(jsonb_set(:'good'::jsonb, '{published_by}', '"mallory"'));
SELECT * FROM verdict(jsonb_set(:'good'::jsonb, '{verification_snapshot_ts}',
    to_jsonb(regexp_replace(:'good'::jsonb->>'verification_snapshot_ts', '\d(Z)$',
                            CASE WHEN :'good'::jsonb->>'verification_snapshot_ts' LIKE '%9Z'
                                 THEN '0\1' ELSE '9\1' END))))
 WHERE kind = 'signature';
SELECT * FROM verdict(jsonb_set(:'good'::jsonb, '{claims_validated,0,expected}', '"failed"'))
 WHERE kind IN ('task_id', 'signature');
SELECT * FROM verdict(jsonb_set(:'good'::jsonb, '{signature}',
    to_jsonb(translate(:'good'::jsonb->>'signature', '0123456789abcdef', '123456789abcdef0'))))
 WHERE kind = 'signature';
SELECT * FROM verdict(:'good'::jsonb - 'signature') WHERE kind = 'signature';
SELECT * FROM verdict(jsonb_set(:'good'::jsonb, '{signature}', '42')) WHERE kind = 'signature';
-- The report survives a round trip through text (key order, whitespace).
SELECT status FROM taskdb.verify_provenance(jsonb_pretty(:'good'::jsonb)::jsonb) WHERE kind = 'signature';
-- A new key: reports signed with the old one no longer verify.
SELECT taskdb.set_signing_key(decode(repeat('ab', 32), 'hex'));
SELECT status, mismatch FROM taskdb.verify_provenance(:'good') WHERE kind = 'signature';
SELECT taskdb.set_signing_key('short'::bytea);

--
-- Malformed claims inside a report: a FAIL row each, the rest still judged.
--
SELECT split_part(claim, ':', 1) || ':' || left(split_part(claim, ':', 2), 8) AS claim,
       kind, status, regexp_replace(mismatch, '[0-9a-f]{64}', '<hex>', 'g') AS mismatch
  FROM taskdb.verify_provenance(
    jsonb_set(jsonb_set(jsonb_set(jsonb_set(:'good'::jsonb,
        '{claims_validated,0,kind}', '"bogus"'),
        '{claims_validated,1,id}', '"not-a-uuid"'),
        '{claims_validated,2,at_snapshot}', '"maybe"'),
        '{claims_validated,3}', :'good'::jsonb->'claims_validated'->4));

--
-- Malformed documents: ERRORs that name the value and say what to pass.
--
SELECT taskdb.publish_report('[]');
SELECT taskdb.publish_report('"task"');
SELECT taskdb.publish_report('{"claim": []}');
SELECT taskdb.publish_report('[42]');
SELECT taskdb.publish_report('[{"kind": "job_id", "id": "10000000-0000-4000-8000-000000000001"}]');
SELECT taskdb.publish_report('[{"kind": "task_id"}]');
SELECT taskdb.publish_report('[{"kind": "task_id", "id": 7}]');
SELECT taskdb.publish_report('[{"kind": "task_id", "id": "10000000-0000-4000-8000-00000000001"}]');
SELECT taskdb.publish_report('[{"kind": "task_id", "id": "10000000-0000-4000-8000-000000000001", "expected": "done"}]');
SELECT taskdb.publish_report('[{"kind": "task_id", "id": "10000000-0000-4000-8000-000000000001", "expectd": "failed"}]');
SELECT taskdb.publish_report('[{"kind": "artifact_hash"}]');
SELECT taskdb.publish_report('[{"kind": "artifact_hash", "hash": "sha256:ABC"}]');
SELECT taskdb.publish_report('[{"kind": "run_id", "id": "10000000-0000-4000-8000-000000000001", "hash": "sha256:abc"}]');
SELECT taskdb.publish_report('[{"kind": "task_id", "id": "10000000-0000-4000-8000-000000000001"},
                               {"kind": "task_id", "id": "10000000-0000-4000-8000-000000000001"}]');
SELECT * FROM taskdb.verify_provenance('[]');
SELECT * FROM taskdb.verify_provenance('{}');
SELECT * FROM taskdb.verify_provenance(jsonb_set(:'good'::jsonb, '{format}', '"taskdb-provenance/9"'));
SELECT * FROM taskdb.verify_provenance(jsonb_set(:'good'::jsonb, '{report_id}', '"r1"'));
SELECT * FROM taskdb.verify_provenance(jsonb_set(:'good'::jsonb, '{verification_snapshot_ts}', '"2026-13-01T00:00:00Z"'));
SELECT * FROM taskdb.verify_provenance(jsonb_set(:'good'::jsonb, '{verification_snapshot_ts}', '"yesterday"'));
SELECT * FROM taskdb.verify_provenance(jsonb_set(:'good'::jsonb, '{snapshot}', '"a:b:c"'));
SELECT * FROM taskdb.verify_provenance(jsonb_set(:'good'::jsonb, '{snapshot}', '"20:10:"'));
SELECT * FROM taskdb.verify_provenance(jsonb_set(:'good'::jsonb, '{snapshot}', '"10:20:25"'));
SELECT * FROM taskdb.verify_provenance(jsonb_set(:'good'::jsonb, '{snapshot}', '"10:20:15,12"'));
SELECT * FROM taskdb.verify_provenance(jsonb_set(:'good'::jsonb, '{snapshot}', '"10:20:12,"'));
SELECT * FROM taskdb.verify_provenance(jsonb_set(:'good'::jsonb, '{snapshot}', '"99999999999999999999999:1:"'));
SELECT count(*) AS snapshot_with_xips_accepted FROM taskdb.verify_provenance(jsonb_set(:'good'::jsonb, '{snapshot}', '"10:20:12,15"'));
SELECT * FROM taskdb.verify_provenance(jsonb_set(:'good'::jsonb, '{claims_validated}', '{}'));
SELECT * FROM taskdb.verify_provenance(:'good'::jsonb - 'snapshot');

-- Nobody can rewrite history to make a report pass.
DELETE FROM taskdb.history;

-- Publishing stores a report: refused in a read-only transaction (and on a
-- standby); verifying only reads, and works there.
BEGIN READ ONLY;
SELECT taskdb.publish_report('[{"kind": "task_id", "id": "10000000-0000-4000-8000-000000000001"}]');
ROLLBACK;
BEGIN READ ONLY;
SELECT count(*) AS rows_verified_read_only FROM taskdb.verify_provenance(:'good');
ROLLBACK;
