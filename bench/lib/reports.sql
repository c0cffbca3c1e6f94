-- Provenance reports for the verification runs: :nreports10 reports of 10
-- claims and :nreports1000 reports of 1,000 claims (bench_claims in
-- setup.sql: the five claim kinds in equal numbers, over random loaded
-- entities), each published by taskdb.publish_report in its own transaction
-- (\gexec runs every UPDATE in autocommit), after the load, so every claim
-- holds when the runs verify them.
\set ON_ERROR_STOP on
INSERT INTO bench_reports (kind, n, claims)
SELECT '10', n, bench_claims(2) FROM generate_series(1, :nreports10) AS n;
INSERT INTO bench_reports (kind, n, claims)
SELECT '1000', n, bench_claims(200) FROM generate_series(1, :nreports1000) AS n;

SELECT format('UPDATE bench_reports SET report = taskdb.publish_report(claims) WHERE kind = %L AND n = %s',
              kind, n)
  FROM bench_reports ORDER BY kind, n
\gexec
