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
