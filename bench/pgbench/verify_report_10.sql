-- Verify one of the stored 10-claim reports (2 task_id, 2 run_id, 2 gate_id,
-- 2 status_derived, 2 artifact_hash), picked at random: one row per claim
-- plus one for the signature, counted so only a number goes back.
\set n random(1, :nreports10)
SELECT count(*) FROM bench_reports b, taskdb.verify_provenance(b.report) v
 WHERE b.kind = '10' AND b.n = :n;
