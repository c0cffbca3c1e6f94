-- examples/provenance.sql: the small dataset behind examples/claims.json and
-- examples/report.json.  Run it in a database with the taskdb extension, then
--   taskdb publish examples/claims.json > report.json
--   taskdb debug-provenance --verbose report.json
-- It sets a fixed DEMONSTRATION signing key so that examples/report.json, as
-- committed, verifies in any database this script was run in.  Never use this
-- key for real reports: anyone can read it here.
\set ON_ERROR_STOP on
SELECT taskdb.set_signing_key(decode('6578616d706c65206b6579206f6e6c792c206e6576657220757365206d65210a', 'hex'));

INSERT INTO taskdb.tasks (id, title, policy_version, priority) VALUES
    ('a1b2c3d4-0000-4000-8000-000000000001', 'Write the parser', '1.1.0', 'high'),
    ('e5f6a7b8-0000-4000-8000-000000000002', 'Security review', '1.1.0', 'critical');
INSERT INTO taskdb.runs (id, task_id, status) VALUES
    ('c9d0e1f2-0000-4000-8000-000000000001', 'a1b2c3d4-0000-4000-8000-000000000001', 'completed'),
    ('c9d0e1f2-0000-4000-8000-000000000002', 'e5f6a7b8-0000-4000-8000-000000000002', 'completed');
INSERT INTO taskdb.gates (id, run_id, name, type, status) VALUES
    ('b3c4d5e6-0000-4000-8000-000000000001', 'c9d0e1f2-0000-4000-8000-000000000001', 'eslint', 'lint', 'pass'),
    ('b3c4d5e6-0000-4000-8000-000000000002', 'c9d0e1f2-0000-4000-8000-000000000002', 'semgrep', 'security', 'fail');
INSERT INTO taskdb.artifacts (id, run_id, path, sha256, size_bytes, media_type, content)
SELECT 'f7a8b9c0-0000-4000-8000-000000000001', 'c9d0e1f2-0000-4000-8000-000000000001',
       'dist/parser-1.1.0.tar.gz', taskdb.sha256(body), length(body), 'application/gzip', body
  FROM (SELECT convert_to('parser build 1.1.0', 'UTF8') AS body) b;

-- The report itself, as publishing stored it in the database it came from
-- (a report verifies only where it is recorded in taskdb.reports: one
-- published in a transaction that rolled back never is).
INSERT INTO taskdb.reports (id, verification_snapshot_ts, snapshot, published_by, claims_count, report)
SELECT (r->>'report_id')::uuid, (r->>'verification_snapshot_ts')::timestamptz, (r->>'snapshot')::pg_snapshot,
       r->>'published_by', jsonb_array_length(r->'claims_validated'), r
  FROM (SELECT $report${
    "format": "taskdb-provenance/1",
    "database": "postgres",
    "snapshot": "731:731:",
    "report_id": "f82c9339-8de2-490f-aa74-ce1bea3e7034",
    "signature": "hmac-sha256:8141a32120ff389ef22dece6cfe62ccaa005f96ee41259e3493bfeed969e7684",
    "published_by": "postgres",
    "claims_validated": [
        {
            "id": "a1b2c3d4-0000-4000-8000-000000000001",
            "kind": "task_id",
            "claim": "task_id:a1b2c3d4-0000-4000-8000-000000000001",
            "expected": "pending",
            "at_snapshot": "pending"
        },
        {
            "id": "a1b2c3d4-0000-4000-8000-000000000001",
            "kind": "status_derived",
            "claim": "status_derived:a1b2c3d4-0000-4000-8000-000000000001",
            "expected": "completed",
            "at_snapshot": "completed"
        },
        {
            "id": "c9d0e1f2-0000-4000-8000-000000000001",
            "kind": "run_id",
            "claim": "run_id:c9d0e1f2-0000-4000-8000-000000000001",
            "expected": "completed",
            "at_snapshot": "completed"
        },
        {
            "id": "b3c4d5e6-0000-4000-8000-000000000001",
            "kind": "gate_id",
            "claim": "gate_id:b3c4d5e6-0000-4000-8000-000000000001",
            "expected": "pass",
            "at_snapshot": "pass"
        },
        {
            "id": "e5f6a7b8-0000-4000-8000-000000000002",
            "kind": "status_derived",
            "claim": "status_derived:e5f6a7b8-0000-4000-8000-000000000002",
            "expected": "blocked",
            "at_snapshot": "blocked"
        },
        {
            "id": "f7a8b9c0-0000-4000-8000-000000000001",
            "hash": "sha256:e76ea18b9b45d37cab805eb1a412fe5a033adb9d5ff6996fd4923f54959def5c",
            "kind": "artifact_hash",
            "claim": "artifact_hash:sha256:e76ea18b9b45d37cab805eb1a412fe5a033adb9d5ff6996fd4923f54959def5c",
            "expected": "sha256:e76ea18b9b45d37cab805eb1a412fe5a033adb9d5ff6996fd4923f54959def5c",
            "at_snapshot": "sha256:e76ea18b9b45d37cab805eb1a412fe5a033adb9d5ff6996fd4923f54959def5c"
        }
    ],
    "verification_snapshot_ts": "2026-11-27T21:23:32.079933Z"
}$report$::jsonb AS r) d;
