#!/usr/bin/env bash
# 50 concurrent publishers (the original plan's "publicación concurrente"):
# 50 pgbench clients each publish one report at the same moment, while one
# other publisher sits inside its open transaction and another has prepared
# its transaction (PREPARE TRANSACTION), both after publishing.  No publisher
# may wait for them: the 50 run with lock_timeout = 2s, so any wait for a
# lock the two hold fails the run.  Every report must get its own
# verification_snapshot_ts and verify all PASS right after.
set -euo pipefail
db=taskdb_publishers
clients=${PUBLISHERS:-50}
psql -X -q -v ON_ERROR_STOP=1 -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" postgres
psql -X -q -v ON_ERROR_STOP=1 -d "$db" <<'SQL'
CREATE EXTENSION taskdb;
CREATE TABLE pub_tasks (n int PRIMARY KEY, id uuid NOT NULL);
INSERT INTO pub_tasks SELECT n, taskdb.create_task('task ' || n, '1') FROM generate_series(1, 20) n;
SELECT count(taskdb.create_run(id, 'completed')) AS runs FROM pub_tasks \g /dev/null
SQL
script=$(mktemp)
cat >"$script" <<'SQL'
\set t random(1, 20)
SELECT taskdb.publish_report(jsonb_build_array(
         jsonb_build_object('kind', 'status_derived', 'id', p.id),
         jsonb_build_object('kind', 'task_id', 'id', p.id)))
  FROM pub_tasks p WHERE p.n = :t;
SQL
one_claim="SELECT taskdb.publish_report(jsonb_build_array(jsonb_build_object('kind', 'task_id', 'id', (SELECT id FROM pub_tasks WHERE n = 1))))"
# The prepared publisher.
psql -X -q -v ON_ERROR_STOP=1 -d "$db" -c "BEGIN" -c "$one_claim" -c "PREPARE TRANSACTION 'taskdb_idle_publisher'" >/dev/null
# The idle one: it publishes, then sleeps inside its transaction (bounded).
psql -X -q -d "$db" -c "BEGIN" -c "$one_claim" -c "SELECT pg_sleep(60)" >/dev/null 2>&1 &
idle=$!
cleanup() {
	psql -X -q -d "$db" -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '$db' AND pid <> pg_backend_pid()" >/dev/null 2>&1 || true
	wait "$idle" 2>/dev/null || true
	psql -X -q -d "$db" -c "ROLLBACK PREPARED 'taskdb_idle_publisher'" >/dev/null 2>&1 || true
	rm -f "$script"
}
trap cleanup EXIT
for _ in $(seq 1 100); do
	[ "$(psql -X -At -d "$db" -c "SELECT count(*) FROM pg_stat_activity WHERE datname = '$db' AND query LIKE 'SELECT pg_sleep%'")" = 1 ] && break
	sleep 0.1
done

start=$(date +%s%N)
PGOPTIONS='-c lock_timeout=2s' pgbench -n -c "$clients" -j 2 -t 1 -f "$script" "$db" >"$script.out" 2>&1 || {
	cat "$script.out"; echo "a publisher failed (waited for the idle or the prepared publisher?)"; exit 1; }
echo "$clients publishers beside an idle and a prepared one: $(( ($(date +%s%N) - start) / 1000000 )) ms in all"
grep -q "number of failed transactions: 0" "$script.out" || ! grep -q "number of failed transactions" "$script.out" || {
	cat "$script.out"; exit 1; }

psql -X -A -t -v ON_ERROR_STOP=1 -d "$db" <<SQL | tee /dev/stderr | grep -q '^ok$'
WITH r AS (
    SELECT r.report, r.verification_snapshot_ts AS ts FROM taskdb.reports r
     WHERE jsonb_array_length(r.report->'claims_validated') = 2
), checks AS (
    SELECT (SELECT count(*) FROM r) AS reports,
           (SELECT count(DISTINCT ts) FROM r) AS distinct_ts,
           (SELECT count(*) FROM r, taskdb.verify_provenance(r.report) v
             WHERE v.status <> 'PASS') AS failed_claims,
           (SELECT count(*) FROM r, taskdb.verify_provenance(r.report) v) AS checked
)
SELECT format('reports=%s distinct_ts=%s failed=%s/%s', reports, distinct_ts, failed_claims, checked)
  FROM checks
UNION ALL
SELECT CASE WHEN reports = $clients AND distinct_ts = $clients
             AND failed_claims = 0 AND checked = 3 * $clients
            THEN 'ok' ELSE 'FAILED' END
  FROM checks;
SQL
cleanup
trap - EXIT
psql -X -q -c "DROP DATABASE $db" postgres
