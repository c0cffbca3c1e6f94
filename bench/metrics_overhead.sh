#!/usr/bin/env bash
# bench/metrics_overhead.sh — what collecting metrics costs on the read and
# insert paths: the same cluster, the same data, restarted with and without
# shared_preload_libraries = 'taskdb' in alternating order, in one run.
#
# Without preloading, taskdb does not read the clock nor touch shared memory
# on these paths; with it, each status_derived() read and each commit-time
# flush takes two clock readings and three atomic additions, and each
# writing transaction two more on the writers gauge.  The /metrics worker is
# not started (taskdb.metrics_port = 0), as it costs nothing between scrapes.
#
# Environment:
#   BENCH_PORT     port of the private cluster            (default 55436)
#   BENCH_ROUNDS   rounds; each restarts the server once per side and
#                  takes the median of three measurements  (default 5)
# Commits are asynchronous (synchronous_commit = off) so that the WAL flush,
# milliseconds that vary by more than the microseconds measured here, does
# not drown them; fsync stays on.  Needs `make install` first.
set -euo pipefail
cd "$(dirname "$0")/.."
B=$PWD/bench
mkdir -p "$B/out"
pg_config=${PG_CONFIG:-pg_config}
bindir=$("$pg_config" --bindir)
port=${BENCH_PORT:-55436}
rounds=${BENCH_ROUNDS:-5}
if [ ! -f "$("$pg_config" --sharedir)/extension/taskdb.control" ]; then
	echo "bench/metrics_overhead.sh: taskdb is not installed; run 'make install' first" >&2
	exit 2
fi

dir=$(mktemp -d /tmp/taskdb-bench-metrics.XXXXXX)
chmod 755 "$dir"
as_pg=()
if [ "$(id -u)" -eq 0 ]; then
	chown postgres "$dir"
	as_pg=(runuser -u postgres --)
fi
stop() { "${as_pg[@]}" "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true; }
trap 'stop; rm -rf "$dir"' EXIT
log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }
export PGHOST=$dir PGPORT=$port PGUSER=postgres PGDATABASE=postgres
q() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }

"${as_pg[@]}" "$bindir/initdb" -D "$dir/data" -A trust -U postgres >/dev/null
cat >>"$dir/data/postgresql.conf" <<EOF
port = $port
listen_addresses = ''
unix_socket_directories = '$dir'
shared_buffers = 1GB
fsync = on
synchronous_commit = off
max_wal_size = 16GB
checkpoint_timeout = 1h
jit = off
EOF
start() {
	"${as_pg[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
		-o "-c shared_preload_libraries='$1'" start >/dev/null
}

start taskdb
log "loading 10k tasks, 100k runs, 300k gates"
q -f "$B/lib/setup.sql" >/dev/null
q -v ntasks=10000 -v nruns=100000 -v ngates=300000 -f "$B/lib/load.sql" >/dev/null
q -c "VACUUM ANALYZE" -c CHECKPOINT
stop

# Both paths are timed inside the server, so that what the client and the
# scheduler add (tens of microseconds per round trip, varying by more than
# the whole metrics cost) stays out of the figure.
# read: microseconds per status_derived() call, over 1M calls in one statement.
measure_read() {
	q -c "DO \$\$
	      DECLARE t0 timestamptz := clock_timestamp();
	      BEGIN
	        PERFORM count(taskdb.status_derived(b.id)) FROM bench_ids b, generate_series(1, 100);
	        RAISE NOTICE 'us %', round(extract(epoch FROM clock_timestamp() - t0)::numeric * 1e6 / (100 * 10000), 4);
	      END \$\$" 2>&1 | awk '/NOTICE:  us / { print $3 }'
}
# insert: microseconds per transaction of one single-row INSERT into runs
# (20,000 transactions, each committed, so each pays the writers gauge and
# the commit-time flush with its timing).
measure_insert() {
	q -c "DO \$\$
	      DECLARE t0 timestamptz := clock_timestamp();
	      BEGIN
	        FOR i IN 1..20000 LOOP
	          INSERT INTO taskdb.runs (task_id, status, started_at)
	          SELECT id, 'running', now() FROM bench_ids WHERE n = 1 + (i * 7919) % 10000;
	          COMMIT;
	        END LOOP;
	        RAISE NOTICE 'us %', round(extract(epoch FROM clock_timestamp() - t0)::numeric * 1e6 / 20000, 4);
	      END \$\$" 2>&1 | awk '/NOTICE:  us / { print $3 }'
}

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
declare -A lat
for r in $(seq 1 "$rounds"); do
	if [ $((r % 2)) -eq 1 ]; then order="taskdb none"; else order="none taskdb"; fi
	for side in $order; do
		if [ "$side" = taskdb ]; then start taskdb; else start ''; fi
		[ "$(q -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'taskdb metrics'")" = 0 ]
		measure_read >/dev/null		# warm the caches
		reads=() inserts=()
		for k in 1 2 3; do
			reads+=("$(measure_read)")
			inserts+=("$(measure_insert)")
		done
		lat[read.$side.$r]=$(median "${reads[@]}")
		lat[insert.$side.$r]=$(median "${inserts[@]}")
		log "round $r, preload=${side}: read ${reads[*]} us, insert ${inserts[*]} us"
		stop
	done
done

{
	echo "taskdb metrics overhead — $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs," \
		"$("$bindir/postgres" --version | awk '{ print $3 }'), git $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
	echo "10k tasks / 100k runs / 300k gates; timed inside the server (1M reads in one statement; 20,000 one-row INSERT transactions), $rounds rounds" \
		"(sides alternate: with, without; without, with; ...); synchronous_commit = off, fsync = on"
	echo
	printf '%-36s | %12s | %12s | %7s | %8s | %s\n' "path (microseconds each)" "preloaded" "not loaded" ratio target "per-round ratios"
	printf -- '%.0s-' {1..110}; echo
	for path in read insert; do
		with=() without=() ratios=""
		for r in $(seq 1 "$rounds"); do
			with+=("${lat[$path.taskdb.$r]}")
			without+=("${lat[$path.none.$r]}")
			ratios+=$(awk -v a="${lat[$path.taskdb.$r]}" -v b="${lat[$path.none.$r]}" 'BEGIN { printf " %.3f", a / b }')
		done
		w=$(median "${with[@]}")
		n=$(median "${without[@]}")
		case $path in
			read) label="status_derived() call" ;;
			insert) label="1-row INSERT run transaction" ;;
		esac
		printf '%-36s | %12.3f | %12.3f | %7.3f | %8s |%s\n' "$label" "$w" "$n" \
			"$(awk -v a="$w" -v b="$n" 'BEGIN { print a / b }')" "<= 1.02" "$ratios"
	done
} | tee "$B/out/metrics-overhead.txt"
