#!/usr/bin/env bash
# Upgrades from 1.0, compared with a fresh install.
#
# Four databases on the suite's cluster:
#   fresh    CREATE EXTENSION taskdb (the newest version);
#   jump     CREATE EXTENSION taskdb VERSION '1.0', filled with data, reports
#            and history by the new library serving the 1.0 SQL, then
#            ALTER EXTENSION taskdb UPDATE in one step;
#   steps    the same, updated one version at a time along
#            pg_extension_update_paths('taskdb');
#   restored pg_dump -Fc of "jump" after its update, pg_restore'd with
#            taskdb.restoring on, then taskdb.post_restore().
# Every object of the extension (lib/catalog.sql: relations, columns,
# constraints, indexes, triggers, views, sequences, functions with their full
# definitions, owners, grants, comments, membership) must be the same in all
# four; in "jump" and "steps" the data (export_hash), the event history and
# every report's verdict must be what they were before the update, and the
# restored database must hold the same data, history and verdicts again.
set -euo pipefail
cd "$(dirname "$0")/../.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
fail() {
	printf 'FAIL: %s\n' "$*"
	failures=$((failures + 1))
}
sql() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }

newest=$(sed -n "s/^default_version *= *'\(.*\)'/\1/p" taskdb.control)
sql -d postgres <<'SQL'
SET client_min_messages = warning;
DROP DATABASE IF EXISTS taskdb_up_fresh;
DROP DATABASE IF EXISTS taskdb_up_jump;
DROP DATABASE IF EXISTS taskdb_up_steps;
DROP DATABASE IF EXISTS taskdb_up_restored;
CREATE DATABASE taskdb_up_fresh;
CREATE DATABASE taskdb_up_jump;
CREATE DATABASE taskdb_up_steps;
CREATE DATABASE taskdb_up_restored;
SQL
sql -d taskdb_up_fresh -c 'CREATE EXTENSION taskdb'

# A 1.0 database in use: tasks, runs, gates and artifacts written every way,
# two reports, changes after them (so verdicts fail with a time), deletes,
# a TRUNCATE, and archived history.
fill_1_0() {
	sql -d "$1" <<'SQL'
SET client_min_messages = error;
CREATE EXTENSION taskdb VERSION '1.0';
SELECT taskdb.generate_synthetic(40, 3, 2, 30, seed => 11) IS NOT NULL AS loaded;
INSERT INTO taskdb.tasks (id, title, policy_version)
VALUES ('0a000000-0000-4000-8000-000000000001', 'kept', '1'),
       ('0a000000-0000-4000-8000-000000000002', 'changed', '1'),
       ('0a000000-0000-4000-8000-000000000003', 'deleted', '1');
INSERT INTO taskdb.runs (id, task_id, status)
VALUES ('0a000000-0000-4000-8001-000000000001', '0a000000-0000-4000-8000-000000000001', 'completed'),
       ('0a000000-0000-4000-8001-000000000002', '0a000000-0000-4000-8000-000000000002', 'completed'),
       ('0a000000-0000-4000-8001-000000000003', '0a000000-0000-4000-8000-000000000003', 'running');
INSERT INTO taskdb.gates (id, run_id, name, type, status)
VALUES ('0a000000-0000-4000-8002-000000000001', '0a000000-0000-4000-8001-000000000001', 'lint', 'lint', 'pass');
SELECT taskdb.create_artifact('out.txt', 'some content'::bytea,
                              run_id => '0a000000-0000-4000-8001-000000000001') IS NOT NULL AS artifact;
SELECT taskdb.publish_report('[
  {"kind": "task_id", "id": "0a000000-0000-4000-8000-000000000001"},
  {"kind": "run_id", "id": "0a000000-0000-4000-8001-000000000001", "expected": "completed"},
  {"kind": "run_id", "id": "0a000000-0000-4000-8001-000000000002", "expected": "completed"},
  {"kind": "status_derived", "id": "0a000000-0000-4000-8000-000000000002", "expected": "completed"},
  {"kind": "gate_id", "id": "0a000000-0000-4000-8002-000000000001", "expected": "pass"},
  {"kind": "task_id", "id": "0a000000-0000-4000-8000-000000000003"},
  {"kind": "artifact_hash", "hash": "sha256:290f493c44f5d63d06b374d0a5abd292fae38b92cab2fae5efefe1b0e9347f56"}
]') IS NOT NULL AS report1;
UPDATE taskdb.runs SET status = 'failed', metrics = '{"why": "flaky"}'
 WHERE id = '0a000000-0000-4000-8001-000000000002';
DELETE FROM taskdb.tasks WHERE id = '0a000000-0000-4000-8000-000000000003';
SELECT taskdb.publish_report('[
  {"kind": "run_id", "id": "0a000000-0000-4000-8001-000000000002", "expected": "failed"},
  {"kind": "task_id", "id": "0a000000-0000-4000-8000-000000000003", "expected": "pending"}
]') IS NOT NULL AS report2;
UPDATE taskdb.gates SET status = 'fail' WHERE id = '0a000000-0000-4000-8002-000000000001';
TRUNCATE taskdb.artifacts;
SQL
	# archival runs outside a transaction block; everything older than now
	sql -d "$1" -c "CALL taskdb.archive_events(interval '0 seconds', 2)" >/dev/null
	sql -d "$1" -c "UPDATE taskdb.tasks SET status = 'completed' WHERE id = '0a000000-0000-4000-8000-000000000001'"
}

# What must not change across an update: data, history, verdicts.
state() {
	sql -At -d "$1" <<'SQL'
SELECT 'export_hash ' || taskdb.export_hash();
SELECT 'events ' || count(*) || ' ' || md5(string_agg(ROW(e.id, e.xact_id, e.occurred_at, e.task_id, e.entity,
       e.entity_id, e.operation, e.old_status, e.new_status, e.changes)::text, '|' ORDER BY e.id)) FROM taskdb.events e;
SELECT 'archive ' || count(*) || ' ' || md5(string_agg(ROW(e.id, e.xact_id, e.occurred_at, e.task_id, e.entity,
       e.entity_id, e.operation, e.old_status, e.new_status, e.changes, e.archived_at)::text, '|' ORDER BY e.id))
  FROM taskdb.events_archive e;
SELECT 'reports ' || count(*) || ' ' || md5(string_agg(r::text, '|' ORDER BY r.id)) FROM taskdb.reports r;
SELECT 'summary ' || md5(string_agg(concat_ws(',', task_id, runs_total, runs_running, runs_completed,
       runs_failed, gates_failed, status_derived, health_score, calculated_at), '|' ORDER BY task_id))
  FROM taskdb.task_status;
SELECT format('verdict %s %s %s %s %s %s %s', r.verification_snapshot_ts, v.claim, v.status,
              v.expected, v.actual, v.mismatch, v.changed_at)
  FROM taskdb.reports r, LATERAL taskdb.verify_provenance(r.report) v
 ORDER BY r.verification_snapshot_ts, v.claim;
SQL
}

for db in taskdb_up_jump taskdb_up_steps; do
	fill_1_0 "$db" >/dev/null
	state "$db" >"$work/$db.before"
done
grep -q '^verdict .* FAIL .*changed after snapshot' "$work/taskdb_up_jump.before" ||
	fail "the 1.0 database has no verdict that failed after its snapshot; the comparison would prove little"

# One step ...
sql -d taskdb_up_jump -c 'ALTER EXTENSION taskdb UPDATE'
# ... and one version at a time along the shortest update path.
path=$(sql -At -d taskdb_up_steps -c "SELECT path FROM pg_extension_update_paths('taskdb')
                                       WHERE source = '1.0' AND target = '$newest'")
[ -n "$path" ] || fail "no update path from 1.0 to $newest"
read -ra versions <<<"${path//--/ }"
[ "${#versions[@]}" -ge 2 ] || fail "update path \"$path\" has no step"
for v in "${versions[@]:1}"; do
	sql -d taskdb_up_steps -c "ALTER EXTENSION taskdb UPDATE TO '$v'"
done

for db in taskdb_up_jump taskdb_up_steps; do
	state "$db" >"$work/$db.after"
	diff -u "$work/$db.before" "$work/$db.after" >"$work/$db.diff" ||
		fail "$db: data, history or verdicts changed by the update: $(head -n 20 "$work/$db.diff")"
done

pg_dump -Fc -d taskdb_up_jump -f "$work/jump.dump"
sql -d postgres -c 'ALTER DATABASE taskdb_up_restored SET taskdb.restoring = on'
pg_restore --exit-on-error -d taskdb_up_restored "$work/jump.dump"
sql -At -d taskdb_up_restored -c 'SELECT taskdb.post_restore()' >/dev/null
state taskdb_up_restored | grep -v '^summary ' >"$work/restored.state"
grep -v '^summary ' "$work/taskdb_up_jump.after" >"$work/jump.state"
diff -u "$work/jump.state" "$work/restored.state" >"$work/restored.diff" ||
	fail "restored: data, history or verdicts differ from the updated database's: $(head -n 20 "$work/restored.diff")"

# A role that could read 1.0's history keeps reading it, and verifying.
sql -d postgres <<'SQL'
SET client_min_messages = warning;
DROP DATABASE IF EXISTS taskdb_up_grants;
CREATE DATABASE taskdb_up_grants;
DO $$ BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'taskdb_up_reader') THEN DROP ROLE taskdb_up_reader; END IF;
END $$;
CREATE ROLE taskdb_up_reader;
SQL
sql -d taskdb_up_grants <<'SQL' >/dev/null
SET client_min_messages = error;
CREATE EXTENSION taskdb VERSION '1.0';
GRANT USAGE ON SCHEMA taskdb TO taskdb_up_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA taskdb TO taskdb_up_reader;
GRANT SELECT ON ALL SEQUENCES IN SCHEMA taskdb TO taskdb_up_reader;
SELECT taskdb.create_task('graded', '1') AS t \gset
SELECT taskdb.publish_report(jsonb_build_array(jsonb_build_object('kind', 'task_id', 'id', :'t'))) IS NOT NULL;
UPDATE taskdb.tasks SET status = 'completed';
ALTER EXTENSION taskdb UPDATE;
SQL
got=$(sql -At -d taskdb_up_grants <<'SQL'
SET ROLE taskdb_up_reader;
SELECT count(*) FROM taskdb.events;
SELECT string_agg(v.status, ',' ORDER BY v.kind) FROM taskdb.reports r, taskdb.verify_provenance(r.report) v;  -- signature PASS; task_id FAIL: it changed after the report
SELECT status FROM taskdb.doctor() WHERE check_name = 'event_history_ids';
SQL
)
[ "$got" = "$(printf '3\nPASS,FAIL\npass')" ] ||
	fail "a role with SELECT on 1.0's history cannot read or verify after the update: $got"
sql -d postgres -c 'DROP DATABASE taskdb_up_grants' -c 'DROP ROLE taskdb_up_reader'

for db in taskdb_up_fresh taskdb_up_jump taskdb_up_steps taskdb_up_restored; do
	sql -d "$db" -f test/scripts/lib/catalog.sql >"$work/$db.catalog"
done
grep -q "^extension version=$newest " "$work/taskdb_up_fresh.catalog" ||
	fail "the fresh install is not version $newest"
[ "$(grep -c '^function ' "$work/taskdb_up_fresh.catalog")" -gt 30 ] ||
	fail "the catalog listing found too few functions; the comparison would prove little"
for db in taskdb_up_jump taskdb_up_steps taskdb_up_restored; do
	diff -u "$work/taskdb_up_fresh.catalog" "$work/$db.catalog" >"$work/$db.catdiff" || {
		fail "$db differs from a fresh install of $newest:"
		head -n 40 "$work/$db.catdiff"
	}
done

sql -d postgres <<'SQL'
SET client_min_messages = warning;
DROP DATABASE taskdb_up_fresh;
DROP DATABASE taskdb_up_jump;
DROP DATABASE taskdb_up_steps;
DROP DATABASE taskdb_up_restored;
SQL
if [ "$failures" -gt 0 ]; then
	echo "upgrade: $failures check(s) failed"
	exit 1
fi
echo "upgrade: 1.0 -> $newest in one step and along '$path', and a restore of it, equal a fresh install" \
	"($(wc -l <"$work/taskdb_up_fresh.catalog") catalog lines); data, history and" \
	"$(grep -c '^verdict ' "$work/taskdb_up_jump.after") verdicts unchanged"
