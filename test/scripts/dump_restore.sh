#!/usr/bin/env bash
# pg_dump / pg_restore round trip: the data tables are extension
# configuration tables, so a dump keeps their rows; task_status is not dumped
# but rebuilt by the triggers while the rows load; the history's partitions
# are dumped whole and loaded as they were (taskdb.restoring on, then
# taskdb.post_restore()).  The restored database must hold the same rows,
# the same status for every task, the same taskdb.export_hash(), the same
# history and the same verdict for every claim of every report.
set -euo pipefail
src=taskdb_dump_src
dst=taskdb_dump_dst
dump=$(mktemp)
trap 'rm -f "$dump"' EXIT

psql -X -q -v ON_ERROR_STOP=1 postgres <<SQL
DROP DATABASE IF EXISTS $src;
DROP DATABASE IF EXISTS $dst;
CREATE DATABASE $src;
CREATE DATABASE $dst;
SQL

psql -X -q -v ON_ERROR_STOP=1 -d "$src" <<'SQL'
CREATE EXTENSION taskdb;
-- 200 tasks with runs and gates in every state, set-based.
INSERT INTO taskdb.tasks (title, policy_version, priority)
SELECT 'task ' || i, '1.1.0', (ARRAY['critical','high','medium','low'])[1 + i % 4]
FROM generate_series(1, 200) i;
INSERT INTO taskdb.runs (task_id, status)
SELECT t.id, (ARRAY['queued','running','completed','failed','cancelled'])[1 + (abs(hashtext(t.title || r)) % 5)]
FROM taskdb.tasks t, generate_series(1, (abs(hashtext(t.title)) % 4)) r;
INSERT INTO taskdb.gates (run_id, name, type, status)
SELECT r.id, 'g' || g, 'lint', (ARRAY['pending','pass','fail','skipped'])[1 + (abs(hashtext(r.id::text || g)) % 4)]
FROM taskdb.runs r, generate_series(1, 2) g;
INSERT INTO taskdb.artifacts (task_id, path, sha256)
SELECT id, '/out/' || title, 'sha256:' || encode(sha256(title::bytea), 'hex') FROM taskdb.tasks;
-- The synthetic dataset and a published report too.
SET client_min_messages = warning;
SELECT taskdb.generate_synthetic(300, 3, 2, 500, seed => 5);
SELECT taskdb.publish_report(jsonb_build_array(jsonb_build_object('kind', 'task_id',
       'id', (SELECT id FROM taskdb.tasks ORDER BY id LIMIT 1)))) IS NOT NULL;
SELECT taskdb.publish_report(jsonb_agg(jsonb_build_object('kind', 'run_id', 'id', r.id, 'expected', r.status)))
       IS NOT NULL FROM (SELECT id, status FROM taskdb.runs ORDER BY id LIMIT 20) r;
SELECT count(*) > 0 AS partitions FROM taskdb.maintain_history();
UPDATE taskdb.runs SET status = 'cancelled' WHERE id IN (SELECT id FROM taskdb.runs ORDER BY id LIMIT 5);
SQL

fingerprint() {
	psql -X -At -v ON_ERROR_STOP=1 -d "$1" <<'SQL'
SELECT 'tasks ' || count(*) || ' ' || md5(string_agg(t::text, '|' ORDER BY id)) FROM taskdb.tasks t;
SELECT 'runs ' || count(*) || ' ' || md5(string_agg(r::text, '|' ORDER BY id)) FROM taskdb.runs r;
SELECT 'gates ' || count(*) || ' ' || md5(string_agg(g::text, '|' ORDER BY id)) FROM taskdb.gates g;
SELECT 'artifacts ' || count(*) || ' ' || md5(string_agg(a::text, '|' ORDER BY id)) FROM taskdb.artifacts a;
SELECT 'status ' || count(*) || ' ' || md5(string_agg(concat_ws(',', task_id, runs_total, runs_running,
       runs_completed, runs_failed, gates_failed, status_derived, health_score), '|' ORDER BY task_id))
FROM taskdb.task_status;
SELECT 'export_hash ' || taskdb.export_hash();
SELECT 'history ' || count(*) || ' ' || md5(string_agg(ROW(e.id, e.xact_id, e.occurred_at, e.task_id, e.entity,
       e.entity_id, e.operation, e.old_status, e.new_status, e.changes, e.era)::text, '|' ORDER BY e.id))
  FROM taskdb.event_history e;
SELECT 'verdicts ' || count(*) FILTER (WHERE v.status = 'FAIL') || ' fail ' ||
       md5(string_agg(concat_ws(' ', v.claim, v.status, v.mismatch, v.changed_at), '|'
                      ORDER BY r.verification_snapshot_ts, v.claim))
  FROM taskdb.reports r, taskdb.verify_provenance(r.report) v;
SELECT 'by_status ' || string_agg(status_derived || '=' || n, ' ' ORDER BY status_derived)
FROM (SELECT status_derived, count(*) n FROM taskdb.task_status GROUP BY 1) s;
SQL
}

before=$(fingerprint "$src")
pg_dump -Fc -d "$src" -f "$dump"
psql -X -q -v ON_ERROR_STOP=1 -c "ALTER DATABASE $dst SET taskdb.restoring = on" postgres
pg_restore --exit-on-error -d "$dst" "$dump"
psql -X -q -At -v ON_ERROR_STOP=1 -d "$dst" -c 'SELECT taskdb.post_restore()'
after=$(fingerprint "$dst")

echo "$before"
if [ "$before" != "$after" ]; then
	echo "restored database differs:"
	diff <(echo "$before") <(echo "$after") || true
	exit 1
fi
# The dataset must exercise more than one status, or the comparison proves little.
distinct=$(psql -X -At -d "$dst" -c 'SELECT count(DISTINCT status_derived) FROM taskdb.task_status')
[ "$distinct" -ge 4 ] || { echo "dataset covers only $distinct statuses"; exit 1; }
psql -X -q -c "DROP DATABASE $src" -c "DROP DATABASE $dst" postgres
grep -q '^verdicts [1-9][0-9]* fail ' <<<"$after" || { echo "no failing verdict to compare"; exit 1; }
echo "dump/restore: identical data, export hash, status for every task, history and verdicts"
