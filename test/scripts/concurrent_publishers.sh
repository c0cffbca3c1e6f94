#!/usr/bin/env bash
# 50 concurrent publishers (the original plan's "publicación concurrente"):
# 50 pgbench clients each publish one report at the same moment.  Every
# report must get its own verification_snapshot_ts; the stamps must follow
# the order in which the publications took the report clock (the order of
# their history events) and each report's snapshot must see every report
# stamped before it; and each report must verify all PASS right after.
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
trap 'rm -f "$script"' EXIT
cat >"$script" <<'SQL'
\set t random(1, 20)
SELECT taskdb.publish_report(jsonb_build_array(
         jsonb_build_object('kind', 'status_derived', 'id', p.id),
         jsonb_build_object('kind', 'task_id', 'id', p.id)))
  FROM pub_tasks p WHERE p.n = :t;
SQL
pgbench -n -c "$clients" -j 2 -t 1 -f "$script" "$db" >/dev/null

psql -X -A -t -v ON_ERROR_STOP=1 -d "$db" <<SQL | tee /dev/stderr | grep -q '^ok$'
WITH r AS (
    SELECT r.report, r.verification_snapshot_ts AS ts, r.snapshot,
           e.xact_id, e.id AS event_id
      FROM taskdb.reports r
      JOIN taskdb.events e ON e.entity = 'report' AND e.entity_id = r.id AND e.operation = 'insert'
), checks AS (
    SELECT (SELECT count(*) FROM r) AS reports,
           (SELECT count(DISTINCT ts) FROM r) AS distinct_ts,
           (SELECT count(*) FROM r a, r b
             WHERE a.event_id < b.event_id AND NOT a.ts < b.ts) AS out_of_order,
           (SELECT count(*) FROM r a, r b
             WHERE a.ts < b.ts AND NOT pg_visible_in_snapshot(a.xact_id, b.snapshot)) AS unseen_earlier,
           (SELECT count(*) FROM r, taskdb.verify_provenance(r.report) v
             WHERE v.status <> 'PASS') AS failed_claims,
           (SELECT count(*) FROM r, taskdb.verify_provenance(r.report) v) AS checked
)
SELECT format('reports=%s distinct_ts=%s out_of_order=%s unseen_earlier=%s failed=%s/%s',
              reports, distinct_ts, out_of_order, unseen_earlier, failed_claims, checked)
  FROM checks
UNION ALL
SELECT CASE WHEN reports = $clients AND distinct_ts = $clients AND out_of_order = 0
             AND unseen_earlier = 0 AND failed_claims = 0 AND checked = 3 * $clients
            THEN 'ok' ELSE 'FAILED' END
  FROM checks;
SQL
psql -X -q -c "DROP DATABASE $db" postgres
