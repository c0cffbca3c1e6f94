#!/usr/bin/env bash
# Without shared_preload_libraries, everything in taskdb works except the
# metrics, whose functions say how to enable them.  The suite's cluster
# preloads taskdb, so this test starts a cluster of its own without it
# (as the postgres user: PostgreSQL refuses to run as root), on a Unix
# socket in its own directory only.
set -euo pipefail
bindir=$("${PG_CONFIG:-pg_config}" --bindir)
dir=$(mktemp -d /tmp/taskdb-nopreload.XXXXXX)
chmod 755 "$dir"
as_postgres() {
	if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
[ "$(id -u)" -eq 0 ] && chown postgres "$dir"
cleanup() {
	as_postgres "$bindir/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
	rm -rf "$dir"
}
trap cleanup EXIT
port=$(( ${PGPORT:-5432} + 7 ))
as_postgres "$bindir/initdb" -D "$dir/data" -A trust -U postgres >/dev/null
as_postgres "$bindir/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
	-o "-p $port -k $dir -c listen_addresses=''" start >/dev/null
q() { as_postgres "$bindir/psql" -X -q -At -h "$dir" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 "$@"; }

q -c "CREATE EXTENSION taskdb"
q -c "SHOW shared_preload_libraries" | grep -qv taskdb
# Everything else works: a task, a run, its status, a report, the doctor.
q -c "SELECT taskdb.create_run(taskdb.create_task('t', '1'), 'completed')" >/dev/null
[ "$(q -c "SELECT status_derived FROM taskdb.task_status")" = completed ]
q -c "SELECT count(*) FROM taskdb.verify_provenance(taskdb.publish_report(
        (SELECT jsonb_agg(jsonb_build_object('kind', 'task_id', 'id', id)) FROM taskdb.tasks)))
      WHERE status <> 'PASS'" | grep -qx 0
[ "$(q -c "SELECT status FROM taskdb.doctor() WHERE check_name = 'metrics_preloaded'")" = warn ]
# The metric functions refuse, with the remedy.
for f in "taskdb.metrics()" "taskdb.metrics_reset()"; do
	out=$(q -c "SELECT $f" 2>&1 || true)
	echo "$out" | grep -q 'ERROR:  taskdb metrics are not collected: taskdb is not in shared_preload_libraries' ||
		{ echo "$f: unexpected answer: $out"; exit 1; }
	echo "$out" | grep -q 'HINT:  Add taskdb to shared_preload_libraries in postgresql.conf and restart the server.' ||
		{ echo "$f: no hint: $out"; exit 1; }
done
echo "not preloaded: everything but the metrics works; metrics() says how to enable them"
