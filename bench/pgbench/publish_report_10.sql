-- Publish the claims of one of the stored 10-claim reports again (autocommit):
-- a new signed report each time, stored in taskdb.reports and returned.
-- Publishers take turns on one row lock, hence a 1-client run of its own.
\set n random(1, :nreports10)
SELECT taskdb.publish_report(b.claims) FROM bench_reports b
 WHERE b.kind = '10' AND b.n = :n;
