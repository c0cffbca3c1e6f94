#!/usr/bin/env bash
# taskdb migrate: SQLite -> PostgreSQL -> SQLite -> PostgreSQL gives the same
# canonical hash at every step (and the same taskdb.export_hash() in the
# three databases); every kind of bad input is refused naming the table, row
# and value, with nothing written; targets are protected (--append, --force).
set -uo pipefail
cd "$(dirname "$0")/../.."
cli=${TASKDB_CLI:-cli/taskdb}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
fail() { printf 'FAIL: %s\n' "$*"; failures=$((failures + 1)); }
sql() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }
dbs="taskdb_mig_a taskdb_mig_b taskdb_mig_c taskdb_mig_bad"
for d in $dbs; do
	sql -d postgres -c "DROP DATABASE IF EXISTS $d" -c "CREATE DATABASE $d" || exit 1
	sql -d "$d" -c "CREATE EXTENSION taskdb" || exit 1
done

# --- the round trip -----------------------------------------------------------
# A synthetic dataset plus the awkward values: tab, newline, backslash and
# non-ASCII text, binary content with NUL and newline bytes, NULLs, nested JSON.
sql -d taskdb_mig_a <<'SQL' >/dev/null || exit 1
SET client_min_messages = warning;
SELECT taskdb.generate_synthetic(300, 3, 2, 400, seed => 9);
SELECT taskdb.create_artifact(E'out/a\tb.bin', content => '\x00ff0a095c'::bytea,
       task_id => (SELECT id FROM taskdb.tasks ORDER BY id LIMIT 1));
UPDATE taskdb.tasks SET description = E'tab\there\nnew line \\ back, ü, 漢字, "quoted"',
       metadata = '{"nested": {"a": [1, 2.5, null, "x\ty"]}, "empty": {}}', owner = NULL
 WHERE id = (SELECT id FROM taskdb.tasks ORDER BY id LIMIT 1);
SQL
step() {
	local name=$1
	shift
	"$cli" "$@" >"$work/$name.out" 2>"$work/$name.err"
	local rc=$?
	[ "$rc" -eq 0 ] || { fail "$name: exit $rc: $(cat "$work/$name.err")"; return 1; }
	grep -o 'canonical hash sha256:[0-9a-f]*' "$work/$name.out" | cut -d' ' -f3
}
h1=$(step to-sqlite-1 migrate --from postgres:dbname=taskdb_mig_a --to "sqlite:$work/f1.db")
h2=$(step to-pg-1 migrate --from "sqlite:$work/f1.db" --to postgres:dbname=taskdb_mig_b)
h3=$(step to-sqlite-2 migrate --from postgres:dbname=taskdb_mig_b --to "sqlite:$work/f2.db")
h4=$(step to-pg-2 migrate --from "sqlite:$work/f2.db" --to postgres:dbname=taskdb_mig_c)
echo "round trip hashes: $h1 $h2 $h3 $h4"
[ -n "$h1" ] && [ "$h1" = "$h2" ] && [ "$h2" = "$h3" ] && [ "$h3" = "$h4" ] ||
	fail "round trip: canonical hashes differ: $h1 / $h2 / $h3 / $h4"
e=()
for d in taskdb_mig_a taskdb_mig_b taskdb_mig_c; do e+=("$(sql -d $d -c 'SELECT taskdb.export_hash()')"); done
[ "${e[0]}" = "${e[1]}" ] && [ "${e[1]}" = "${e[2]}" ] || fail "round trip: export_hash differs: ${e[*]}"
grep -q '^migrated sqlite:.* 300 tasks, 900 runs, 1800 gates, 401 artifacts in ' "$work/to-pg-1.out" ||
	fail "to-pg-1: summary: $(cat "$work/to-pg-1.out")"
# The two SQLite files hold the same rows (their histories differ: the
# second is taskdb's record of the first migration).
for t in tasks runs gates artifacts; do
	[ "$(sqlite3 "$work/f1.db" "SELECT * FROM $t ORDER BY id" | md5sum)" = \
	  "$(sqlite3 "$work/f2.db" "SELECT * FROM $t ORDER BY id" | md5sum)" ] || fail "table $t differs between the two SQLite files"
done
[ "$(sqlite3 "$work/f1.db" "SELECT hex(content) FROM artifacts WHERE path LIKE 'out/a%'")" = 00FF0A095C ] ||
	fail "binary content did not survive"
[ "$(sqlite3 "$work/f1.db" "SELECT count(*) FROM events")" = "$(sql -d taskdb_mig_a -c 'SELECT count(*) FROM taskdb.event_history')" ] ||
	fail "the history was not exported whole"
sqlite3 "$work/f1.db" "SELECT created_at FROM tasks LIMIT 1" | grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z$' ||
	fail "timestamps are not ISO-8601 UTC with microseconds"
sql -d taskdb_mig_b -c "SELECT status FROM taskdb.doctor() WHERE check_name = 'summary_drift'" | grep -qx pass ||
	fail "drift after migrating in"

# A CONNINFO asking for another client encoding cannot alter the text: the
# session pins UTF8 (ü and 漢字 would not survive LATIN1, and the hashes
# would still agree, both being taken after the conversion).
sql -d postgres -c "DROP DATABASE IF EXISTS taskdb_mig_enc" -c "CREATE DATABASE taskdb_mig_enc" >/dev/null
sql -d taskdb_mig_enc -c "CREATE EXTENSION taskdb" >/dev/null
h5=$(step to-pg-latin1 migrate --from "sqlite:$work/f1.db" --to "postgres:dbname=taskdb_mig_enc client_encoding=LATIN1")
[ "$h5" = "$h1" ] || fail "with client_encoding=LATIN1 in the CONNINFO: hash $h5, not $h1"
[ "$(sql -d taskdb_mig_enc -c 'SELECT taskdb.export_hash()')" = "${e[0]}" ] ||
	fail "with client_encoding=LATIN1 in the CONNINFO: the data differs"
sql -d postgres -c "DROP DATABASE taskdb_mig_enc" >/dev/null

# A progress bar on a terminal only (the runs above wrote nothing to stderr).
[ -s "$work/to-pg-1.err" ] && fail "to-pg-1: wrote to stderr without a terminal: $(head -c 200 "$work/to-pg-1.err")"
sql -d postgres -c "DROP DATABASE IF EXISTS taskdb_mig_tty" -c "CREATE DATABASE taskdb_mig_tty" >/dev/null
sql -d taskdb_mig_tty -c "CREATE EXTENSION taskdb" >/dev/null
script -qec "$cli migrate --from sqlite:$work/f1.db --to postgres:dbname=taskdb_mig_tty" /dev/null </dev/null >"$work/tty.out" 2>&1
grep -q $'\r\\[##############################\\] 100%  3401/3401 rows  artifacts' "$work/tty.out" ||
	fail "on a terminal: no progress bar reaching 100%: $(head -c 300 "$work/tty.out" | tr '\r' '|')"
sql -d postgres -c "DROP DATABASE taskdb_mig_tty" >/dev/null

# --- targets are protected -------------------------------------------------------
"$cli" migrate --from "sqlite:$work/f1.db" --to postgres:dbname=taskdb_mig_b >"$work/o" 2>"$work/e"
[ $? -eq 2 ] && grep -q 'already holds 300 tasks' "$work/e" && grep -q -- '--append' "$work/e" ||
	fail "a database with tasks was not refused: $(cat "$work/e")"
"$cli" migrate --from "sqlite:$work/f1.db" --to postgres:dbname=taskdb_mig_b --append >"$work/o" 2>"$work/e"
[ $? -eq 2 ] && grep -q 'table tasks, row 1: id ".*" is already in the target database' "$work/e" ||
	fail "--append of the same rows: not refused by id: $(cat "$work/e")"
"$cli" migrate --from postgres:dbname=taskdb_mig_a --to "sqlite:$work/f1.db" >"$work/o" 2>"$work/e"
[ $? -eq 2 ] && grep -q 'f1.db already exists' "$work/e" || fail "an existing SQLite file was not refused"
before=$(md5sum <"$work/f2.db")
"$cli" migrate --from postgres:dbname=taskdb_mig_a --to "sqlite:$work/f2.db" --force >"$work/o" 2>"$work/e" ||
	fail "--force: $(cat "$work/e")"
[ "$(md5sum <"$work/f2.db")" != "$before" ] || fail "--force did not replace the file"
ls "$work"/*.taskdb-migrate-* >/dev/null 2>&1 && fail "a temporary file was left behind"

# --- bad input: each refused, naming table, row and value; nothing written -------
bad() {
	local label=$1 file=$2 want=$3 rc
	shift 3
	"$cli" migrate --from "sqlite:$file" --to postgres:dbname=taskdb_mig_bad >"$work/bad.out" 2>"$work/bad.err"
	rc=$?
	[ "$rc" -ne 0 ] || fail "$label: exit status 0"
	grep -Eq -- "$want" "$work/bad.err" || fail "$label: message does not match /$want/: $(head -3 "$work/bad.err")"
	[ "$(sql -d taskdb_mig_bad -c 'SELECT (SELECT count(*) FROM taskdb.tasks) + (SELECT count(*) FROM taskdb.events)')" = 0 ] ||
		fail "$label: something was written"
	echo "refused ($label): $(head -1 "$work/bad.err")"
}
good() {	# a small valid file to spoil
	"$cli" migrate --init-sqlite "$1" >/dev/null || exit 1
	sqlite3 "$1" <<'SQL'
INSERT INTO tasks VALUES ('11111111-1111-4111-8111-111111111111', 'one', NULL, 'pending', 'high', '1', NULL, NULL,
  '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z', NULL, NULL, NULL, '{"k": 1}');
INSERT INTO tasks VALUES ('22222222-2222-4222-8222-222222222222', 'two', NULL, 'pending', 'low', '1', NULL, NULL,
  '2026-01-01T00:00:01Z', '2026-01-01T00:00:01+02:00', NULL, NULL, NULL, NULL);
INSERT INTO runs VALUES ('33333333-3333-4333-8333-333333333333', '11111111-1111-4111-8111-111111111111', 'running',
  '[]', NULL, '2026-01-01T00:00:02.5Z', NULL, '2026-01-01T00:00:02Z', '2026-01-01T00:00:02Z');
INSERT INTO gates VALUES ('44444444-4444-4444-8444-444444444444', '33333333-3333-4333-8333-333333333333',
  '11111111-1111-4111-8111-111111111111', 'lint', 'lint', 'pass', NULL, '2026-01-01T00:00:03Z');
SQL
}
good "$work/ok.db"
"$cli" migrate --from "sqlite:$work/ok.db" --to postgres:dbname=taskdb_mig_bad --append >/dev/null 2>"$work/e" ||
	fail "the valid small file was refused: $(cat "$work/e")"
[ "$(sql -d taskdb_mig_bad -c "SELECT taskdb.status_derived('11111111-1111-4111-8111-111111111111')")" = in_progress ] ||
	fail "the small file's task is not in_progress"
# --append into a database that has other tasks.
n0=$(sql -d taskdb_mig_a -c "SELECT count(*) FROM taskdb.tasks")
"$cli" migrate --from "sqlite:$work/ok.db" --to postgres:dbname=taskdb_mig_a --append >/dev/null 2>"$work/e" ||
	fail "--append into a database with tasks: $(cat "$work/e")"
[ "$(sql -d taskdb_mig_a -c "SELECT count(*) FROM taskdb.tasks")" = $((n0 + 2)) ] || fail "--append did not add the 2 tasks"

# The verification is not a formality: a trigger in the target that alters
# what is inserted makes the hashes differ, and nothing is committed (exit 1).
sql -d taskdb_mig_c <<'SQL' >/dev/null || exit 1
CREATE FUNCTION public.meddle() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN NEW.title := NEW.title || '!'; RETURN NEW; END $$;
CREATE TRIGGER meddle BEFORE INSERT ON taskdb.tasks FOR EACH ROW EXECUTE FUNCTION public.meddle();
SQL
sql -d postgres -c "DROP DATABASE IF EXISTS taskdb_mig_m" -c "CREATE DATABASE taskdb_mig_m TEMPLATE taskdb_mig_c" >/dev/null
sql -d taskdb_mig_m -c "SET client_min_messages = warning" -c "TRUNCATE taskdb.tasks CASCADE" >/dev/null
ev=$(sql -d taskdb_mig_m -c "SELECT count(*) FROM taskdb.event_history")
"$cli" migrate --from "sqlite:$work/ok.db" --to postgres:dbname=taskdb_mig_m >"$work/o" 2>"$work/e"
rc=$?
[ "$rc" -eq 1 ] && grep -q 'the loaded rows hash sha256:[0-9a-f]*, the file.s sha256:[0-9a-f]*: not committed' "$work/e" ||
	fail "a meddling trigger: exit $rc, $(cat "$work/e")"
[ "$(sql -d taskdb_mig_m -c "SELECT count(*) FROM taskdb.tasks")" = 0 ] &&
	[ "$(sql -d taskdb_mig_m -c "SELECT count(*) FROM taskdb.event_history")" = "$ev" ] ||
	fail "a migration that did not verify left rows or events behind"
sql -d postgres -c "DROP DATABASE taskdb_mig_m" >/dev/null

# A fresh database, so the bad cases start from no tasks and no history.
sql -d postgres -c "DROP DATABASE taskdb_mig_bad" -c "CREATE DATABASE taskdb_mig_bad" >/dev/null
sql -d taskdb_mig_bad -c "CREATE EXTENSION taskdb" >/dev/null

echo 'this is not a database' >"$work/text.db"
bad "not a SQLite file" "$work/text.db" 'text.db: .*(file is not a database|not a readable SQLite)'
good "$work/corrupt.db"
# Page 2, the root of the tasks table, overwritten with 0xff bytes.
head -c 4096 /dev/zero | tr '\0' '\377' | dd of="$work/corrupt.db" bs=4096 seek=1 conv=notrunc status=none
bad "a corrupt file" "$work/corrupt.db" 'malformed|not a database|corrupt'
good "$work/notable.db"; sqlite3 "$work/notable.db" "DROP TABLE gates"
bad "a missing table" "$work/notable.db" 'has no table "gates"'
good "$work/nocol.db"; sqlite3 "$work/nocol.db" "ALTER TABLE runs DROP COLUMN metrics"
bad "a missing column" "$work/nocol.db" 'table "runs" has no column "metrics"'
good "$work/status.db"; sqlite3 "$work/status.db" "UPDATE runs SET status = 'done'"
bad "an invalid run status" "$work/status.db" 'table runs, row 1: status "done" is not a run status'
good "$work/prio.db"; sqlite3 "$work/prio.db" "UPDATE tasks SET priority = 'urgent' WHERE title = 'two'"
bad "an invalid priority" "$work/prio.db" 'table tasks, row 2: priority "urgent" is not a priority'
good "$work/dangling.db"; sqlite3 "$work/dangling.db" "PRAGMA foreign_keys = OFF; INSERT INTO runs VALUES ('55555555-5555-4555-8555-555555555555', '99999999-9999-4999-8999-999999999999', 'queued', NULL, NULL, NULL, NULL, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')"
bad "a run of a missing task" "$work/dangling.db" 'table runs, row 2: task_id "99999999-9999-4999-8999-999999999999" names no task'
good "$work/dup.db"; sqlite3 "$work/dup.db" "ALTER TABLE tasks RENAME TO t0; CREATE TABLE tasks AS SELECT * FROM t0; INSERT INTO tasks SELECT * FROM t0 WHERE title = 'one'"
bad "duplicate ids" "$work/dup.db" 'table tasks, row 1: id "11111111-1111-4111-8111-111111111111" is a duplicate id'
good "$work/json.db"; sqlite3 "$work/json.db" "UPDATE tasks SET metadata = '{oops' WHERE title = 'two'"
bad "invalid JSON" "$work/json.db" 'table tasks, row 2: metadata "\{oops" is not valid JSON'
good "$work/ts.db"; sqlite3 "$work/ts.db" "UPDATE runs SET started_at = '2026-13-45T00:00:00Z'"
bad "an impossible timestamp" "$work/ts.db" 'table runs, row 1: started_at "2026-13-45T00:00:00Z" is not an ISO-8601 timestamp'
good "$work/ts2.db"; sqlite3 "$work/ts2.db" "UPDATE tasks SET created_at = 'yesterday' WHERE title = 'one'"
bad "a timestamp in words" "$work/ts2.db" 'table tasks, row 1: created_at "yesterday" is not an ISO-8601 timestamp'
good "$work/uuid.db"; sqlite3 "$work/uuid.db" "UPDATE gates SET id = 'not-a-uuid'"
bad "a malformed id" "$work/uuid.db" 'table gates, row 1: id "not-a-uuid" is not a lower-case uuid'
good "$work/gtask.db"; sqlite3 "$work/gtask.db" "UPDATE gates SET task_id = '22222222-2222-4222-8222-222222222222'"
bad "a gate filed under another task" "$work/gtask.db" "table gates, row 1: task_id .* is not the task of the gate's run"
good "$work/blob.db"; sqlite3 "$work/blob.db" "UPDATE tasks SET title = x'41ff42' WHERE title = 'one'"
bad "a BLOB where text belongs" "$work/blob.db" 'table tasks, row 1: title holds a BLOB'
good "$work/utf8.db"; sqlite3 "$work/utf8.db" "UPDATE tasks SET title = CAST(x'41ff42' AS TEXT) WHERE title = 'two'"
bad "invalid UTF-8" "$work/utf8.db" 'table tasks, row number 2 in rowid order: invalid byte sequence for encoding "UTF8"'
bad "a missing file" "$work/nope.db" 'nope.db: No such file or directory'
"$cli" migrate --from "sqlite:$work/ok.db" --to sqlite:x.db >/dev/null 2>"$work/e"; [ $? -eq 2 ] || fail "sqlite to sqlite accepted"
"$cli" migrate --from "sqlite:$work/ok.db" >/dev/null 2>"$work/e"; [ $? -eq 2 ] || fail "no --to accepted"
"$cli" doctor --append >/dev/null 2>"$work/e"; [ $? -eq 2 ] && grep -q 'option "--append" is not valid for "doctor"' "$work/e" ||
	fail "--append accepted by doctor"

if [ "$failures" -gt 0 ]; then
	echo "migrate: $failures check(s) failed"
	exit 1
fi
for d in $dbs; do sql -d postgres -c "DROP DATABASE $d"; done
echo "migrate: round trip with equal hashes at every step; every bad input refused with nothing written"
