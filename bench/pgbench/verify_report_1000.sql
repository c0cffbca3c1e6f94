-- Verify one of the stored 1,000-claim reports (200 claims of each of the
-- five kinds), picked at random; see verify_report_10.sql.
\set n random(1, :nreports1000)
SELECT count(*) FROM bench_reports b, taskdb.verify_provenance(b.report) v
 WHERE b.kind = '1000' AND b.n = :n;
