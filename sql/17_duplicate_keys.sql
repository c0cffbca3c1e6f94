--
-- 17_duplicate_keys: a report given as text is refused when an object in it
-- names a key twice.  jsonb keeps the last of two equal keys while people,
-- and parsers that keep the first, read the other one: in 1.0 a report file
-- with "expected": "failed", ..., "expected": "completed" verified PASS
-- although it reads as a claim that the run failed.
--
\i sql/include/fresh.sql

INSERT INTO taskdb.tasks (id, title, policy_version)
VALUES ('15000000-0000-4000-8000-000000000001', 'fifteen', '1');
INSERT INTO taskdb.runs (id, task_id, status)
VALUES ('15000000-0000-4000-8000-0000000000a1', '15000000-0000-4000-8000-000000000001', 'completed');
SELECT taskdb.publish_report('[{"kind": "run_id", "id": "15000000-0000-4000-8000-0000000000a1", "expected": "completed"}]')::text AS report \gset

-- The report as published verifies through both overloads.
SELECT kind, status FROM taskdb.verify_provenance(:'report'::text) ORDER BY kind;
SELECT kind, status FROM taskdb.verify_provenance(:'report'::jsonb) ORDER BY kind;

-- The attack: "expected": "failed" put before the real key.  An untyped
-- literal (as psql variables and drivers send text) takes the text overload.
SELECT replace(:'report', '"expected": "completed"', '"expected": "failed", "expected": "completed"') AS doubled \gset
SELECT position('"expected": "failed", "expected": "completed"' IN :'doubled') > 0 AS attack_in_place;
SELECT * FROM taskdb.verify_provenance(:'doubled');
SELECT * FROM taskdb.debug_provenance(:'doubled', true);
-- Cast to jsonb by the caller, the duplicate is gone before taskdb sees it:
-- that is jsonb's rule, and the reason the text overloads exist.
SELECT kind, status FROM taskdb.verify_provenance(:'doubled'::jsonb) ORDER BY kind;

-- Escapes do not hide a key: "expect\u0065d" is "expected".
SELECT * FROM taskdb.verify_provenance(replace(:'report', '"expected": "completed"',
                                               '"expect\u0065d": "failed", "expected": "completed"'));
-- At the top level and deep inside, in any position.
SELECT * FROM taskdb.verify_provenance('{"format": "taskdb-provenance/1", "claims": [], "format": "x"}');
SELECT * FROM taskdb.verify_provenance('{"a": [1, {"b": {"c": 1, "d": [{"e": 1}, {"e": 2, "f": 3, "e": 4}]}}]}');
-- A long key is quoted short.
SELECT * FROM taskdb.verify_provenance('{"' || repeat('k', 5000) || '": 1, "' || repeat('k', 5000) || '": 2}');

-- No false alarm: the same key in different objects, in sibling objects
-- of an array, and an object with many distinct keys: each gets past the
-- key check to the report checks that follow it.
SELECT count(*) AS rows FROM taskdb.verify_provenance(
    '{"x": {"k": 1}, "y": {"k": 1}, "z": [{"k": 1}, {"k": 2}], "k": 0}');
SELECT count(*) AS rows FROM taskdb.verify_provenance(
    (SELECT '{' || string_agg(format('"k%s": %s', i, i), ', ') || '}' FROM generate_series(1, 20000) i));

-- Invalid JSON gets jsonb's own error.
SELECT * FROM taskdb.verify_provenance('{"claims": [}');
