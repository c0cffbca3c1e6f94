#!/usr/bin/env bash
# The event history's memory and large values (defects found in 1.0):
#   1. an UPDATE of 200,000 runs carrying 1.5 kB of metrics each: the
#      backend's peak private memory (RssAnon, polled) must stay within 50 MB
#      of the same UPDATE on the same rows in a table without taskdb's
#      triggers (1.0 kept every old row in a hash table: ~540 MB more), at
#      PostgreSQL's default work_mem (each transition table holds up to
#      work_mem in memory before it spills to disk);
#   2. UPDATE artifacts SET media_type on rows with 2 MB of content reads no
#      block of the TOAST table (1.0 detoasted every unchanged content to
#      compare it), while a real content change still gives an event;
#   3. a 135 MB metadata value can be replaced (1.0 failed with 54000: the
#      history's "changes" overflowed jsonb); "changes" then holds the
#      values' SHA-256 and length, and the right ones.
# Runs against the suite's cluster (libpq environment), as root or as a
# user that may read the backend's /proc/PID/status.
set -euo pipefail
db=taskdb_history_memory
rows=${HISTORY_MEMORY_ROWS:-200000}
limit_mb=50
failures=0
fail() {
	printf 'FAIL: %s\n' "$*"
	failures=$((failures + 1))
}
sql() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" "$@"; }

psql -X -q -v ON_ERROR_STOP=1 -d postgres <<SQL
SET client_min_messages = warning;
DROP DATABASE IF EXISTS $db;
CREATE DATABASE $db;
SQL
sql <<SQL
CREATE EXTENSION taskdb;
SET client_min_messages = warning;
SELECT count(*) FROM taskdb.generate_synthetic(2000, 0, 0, 0, seed => 3);
-- The same runs in taskdb.runs and in a plain copy without triggers.
INSERT INTO taskdb.runs (task_id, status, metrics)
SELECT t.id, 'running', jsonb_build_object('log', repeat(md5(i::text), 47))
  FROM generate_series(1, $rows) i
  JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM taskdb.tasks) t ON t.n = i % 2000;
CREATE TABLE public.plain_runs (LIKE taskdb.runs INCLUDING DEFAULTS);
INSERT INTO public.plain_runs SELECT * FROM taskdb.runs;
VACUUM ANALYZE taskdb.runs, public.plain_runs;
SQL

# peak_anon_kb SQL: runs SQL in a new backend and polls that backend's
# RssAnon every 10 ms while it runs; prints the largest value seen (kB).
peak_anon_kb() {
	local statement=$1 pid peak=0 v
	psql -X -q -d "$db" -v ON_ERROR_STOP=1 >/dev/null <<SQL &
SET application_name = 'history_memory_probe';
SET work_mem = '4MB';
SELECT pg_sleep(0.3);
$statement;
SQL
	local client=$!
	for _ in $(seq 1 100); do
		pid=$(psql -X -At -d postgres -c "SELECT pid FROM pg_stat_activity WHERE application_name = 'history_memory_probe'")
		[ -n "$pid" ] && break
		sleep 0.05
	done
	[ -n "$pid" ] || { wait "$client"; echo 0; return; }
	while kill -0 "$client" 2>/dev/null; do
		v=$(awk '/^RssAnon:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || true)
		[ -n "$v" ] && [ "$v" -gt "$peak" ] && peak=$v
		sleep 0.01
	done
	wait "$client" || { echo -1; return; }
	echo "$peak"
}

# 1. Memory of a large UPDATE, against the same UPDATE without triggers.
# The metrics change too, so every row gets an event with "changes".
plain=$(peak_anon_kb "UPDATE public.plain_runs SET status = 'completed', metrics = metrics || '{\"done\": true}'")
taskdb=$(peak_anon_kb "UPDATE taskdb.runs SET status = 'completed', metrics = metrics || '{\"done\": true}'")
[ "$plain" -gt 0 ] && [ "$taskdb" -gt 0 ] || fail "the UPDATE failed or its backend was not found (plain $plain kB, taskdb $taskdb kB)"
extra=$(((taskdb - plain) / 1024))
echo "UPDATE of $rows runs with 1.5 kB metrics: peak RssAnon $((plain / 1024)) MB without triggers, $((taskdb / 1024)) MB with taskdb (+$extra MB)"
[ "$extra" -le "$limit_mb" ] || fail "the UPDATE with taskdb peaked $extra MB above the same UPDATE without triggers (limit $limit_mb MB)"
n=$(sql -c "SELECT count(*) FROM taskdb.events WHERE entity = 'run' AND operation = 'update' AND changes ? 'metrics'")
[ "$n" -eq "$rows" ] || fail "expected $rows update events with metrics in changes, found $n"
[ "$(sql -c "SELECT count(*) FROM taskdb.task_status WHERE runs_completed > 0")" -eq 2000 ] ||
	fail "the summary did not count the completed runs"

# 2. An unchanged 2 MB content is not read to be compared.
sql <<'SQL'
SET client_min_messages = warning;
INSERT INTO taskdb.artifacts (task_id, path, sha256, content)
SELECT id, 'big-' || n, 'sha256:' || repeat('0', 64),
       (SELECT string_agg(sha256((n * 1000 + g)::text::bytea), '') FROM generate_series(1, 65536) g)
  FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM taskdb.tasks LIMIT 20) t;
SQL
toast_reads=$(sql <<'SQL'
BEGIN;
CREATE TEMP TABLE toast_rel AS SELECT reltoastrelid AS oid FROM pg_class WHERE oid = 'taskdb.artifacts'::regclass;
CREATE TEMP TABLE before AS SELECT pg_stat_get_xact_blocks_fetched(oid) AS n FROM toast_rel;
UPDATE taskdb.artifacts SET media_type = 'application/octet-stream' WHERE path LIKE 'big-%';
SELECT pg_stat_get_xact_blocks_fetched(t.oid) - b.n FROM toast_rel t, before b;
COMMIT;
SQL
)
echo "UPDATE artifacts SET media_type on 20 rows with 2 MB of content: $toast_reads TOAST blocks read"
[ "$toast_reads" -eq 0 ] || fail "an UPDATE that leaves content unchanged read $toast_reads blocks of the TOAST table"
[ "$(sql -c "SELECT count(*) FROM taskdb.events WHERE entity = 'artifact' AND operation = 'update'
                 AND changes = '{\"media_type\": {\"old\": null, \"new\": \"application/octet-stream\"}}'")" -eq 20 ] ||
	fail "the media_type updates did not each give one event with exactly that change"
sql -c "UPDATE taskdb.artifacts SET content = content || '\\x00'::bytea WHERE path = 'big-1'"
[ "$(sql -c "SELECT count(*) FROM taskdb.events e JOIN taskdb.artifacts a ON a.id = e.entity_id
                 WHERE a.path = 'big-1' AND e.operation = 'update'
                   AND (e.changes->'content'->>'old_bytes')::bigint = 2097152
                   AND (e.changes->'content'->>'new_bytes')::bigint = 2097153
                   AND e.changes->'content'->>'new_sha256' = taskdb.sha256(a.content)")" -eq 1 ] ||
	fail "a changed 2 MB content is not recorded by its sizes and new sha256"

# 3. A 135 MB metadata value replaced: the statement succeeds, the history
# keeps digests.
sql <<'SQL'
SET client_min_messages = warning;
UPDATE taskdb.tasks SET metadata = jsonb_build_object('blob', repeat('a', 135000000))
 WHERE id = (SELECT id FROM taskdb.tasks ORDER BY id LIMIT 1);
UPDATE taskdb.tasks SET metadata = jsonb_build_object('blob', repeat('b', 135000000))
 WHERE id = (SELECT id FROM taskdb.tasks ORDER BY id LIMIT 1);
SQL
got=$(sql -c "SELECT (changes->'metadata'->>'old_bytes') || ' ' || (changes->'metadata'->>'new_bytes') || ' ' ||
                     (changes->'metadata'->>'new_sha256' =
                      'sha256:' || encode(sha256(convert_to((SELECT metadata::text FROM taskdb.tasks
                                                              WHERE id = e.entity_id), 'UTF8')), 'hex'))
                FROM taskdb.events e
               WHERE entity = 'task' AND operation = 'update' AND changes ? 'metadata'
               ORDER BY id DESC LIMIT 1")
echo "135 MB metadata replaced: changes holds $got (old bytes, new bytes, new sha256 matches)"
[ "$got" = "135000012 135000012 true" ] || fail "the 135 MB update's changes: got \"$got\""

psql -X -q -d postgres -c "DROP DATABASE $db"
if [ "$failures" -gt 0 ]; then
	echo "history_memory: $failures check(s) failed"
	exit 1
fi
echo "history_memory: ok"
