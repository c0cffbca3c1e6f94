#!/usr/bin/env bash
# bench/notify_overhead.sh — what taskdb.notify_status_changes costs on the
# write path: the same single-row run INSERT transactions with the setting
# on and off, in alternating order, in one run on one private cluster.
#
# With the setting on, the commit-time flush reads the summary rows it just
# updated back (by primary key) and queues one NOTIFY per task whose
# status_derived changed; PostgreSQL writes the queue at commit.  Paths:
#   changes    each transaction adds the first run of a task without runs
#              (pending -> in_progress): one notification per transaction
#   unchanged  each transaction adds a running run to a task that is
#              in_progress already: the read-back, no notification
# Timed inside the server (a DO loop committing each transaction), so what
# the client and the scheduler add stays out of the figure; no session is
# listening.  Ratios with synchronous_commit = off (a commit's WAL flush,
# milliseconds that vary more than what is measured, hides the CPU cost);
# the "changes" path again with synchronous_commit = on beside them.  fsync
# is on throughout.
#
# Environment:
#   BENCH_PORT     port of the private cluster            (default 55437)
#   BENCH_ROUNDS   rounds, each measuring both sides        (default 5)
#   BENCH_TX       transactions per measurement, sync off   (default 20000;
#                  a tenth of it with synchronous_commit = on)
# Needs `make install` first.
set -euo pipefail
cd "$(dirname "$0")/.."
B=$PWD/bench
mkdir -p "$B/out"
pg_config=${PG_CONFIG:-pg_config}
bindir=$("$pg_config" --bindir)
port=${BENCH_PORT:-55437}
rounds=${BENCH_ROUNDS:-5}
ntx=${BENCH_TX:-20000}
nsync=$(( ntx / 10 ))
if [ ! -f "$("$pg_config" --sharedir)/extension/taskdb.control" ]; then
	echo "bench/notify_overhead.sh: taskdb is not installed; run 'make install' first" >&2
	exit 2
fi

dir=$(mktemp -d /tmp/taskdb-bench-notify.XXXXXX)
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
max_wal_size = 16GB
checkpoint_timeout = 1h
jit = off
EOF
"${as_pg[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/log" -w start >/dev/null

log "loading 10k tasks, 100k runs, 300k gates, and $ntx tasks without runs"
q -f "$B/lib/setup.sql" >/dev/null
q -v ntasks=10000 -v nruns=100000 -v ngates=300000 -f "$B/lib/load.sql" >/dev/null
q -c "CREATE TABLE bench_fresh (n int PRIMARY KEY, id uuid NOT NULL)" \
  -c "INSERT INTO bench_fresh SELECT i, md5('bench-fresh-' || i)::uuid FROM generate_series(1, $ntx) i" \
  -c "INSERT INTO taskdb.tasks (id, title, policy_version) SELECT id, 'fresh ' || n, '1' FROM bench_fresh" \
  -c "INSERT INTO taskdb.runs (task_id, status) SELECT id, 'running' FROM bench_ids" \
  -c "VACUUM ANALYZE" -c CHECKPOINT

# measure SIDE SYNC PATH N: microseconds per transaction of N one-row
# INSERT transactions; the fresh tasks get their runs deleted afterwards.
measure() {
	local side=$1 sync=$2 path=$3 n=$4 table pick us
	if [ "$path" = changes ]; then
		table=bench_fresh pick=i			# a task of its own for every transaction
	else
		table=bench_ids pick="1 + (i - 1) % 10000"
	fi
	us=$(q -c "SET synchronous_commit = $sync" -c "SET taskdb.notify_status_changes = $side" -c "DO \$\$
	      DECLARE t0 timestamptz := clock_timestamp();
	      BEGIN
	        FOR i IN 1..$n LOOP
	          INSERT INTO taskdb.runs (task_id, status) SELECT id, 'running' FROM $table WHERE n = $pick;
	          COMMIT;
	        END LOOP;
	        RAISE NOTICE 'us %', round(extract(epoch FROM clock_timestamp() - t0)::numeric * 1e6 / $n, 3);
	      END \$\$" 2>&1 | awk '/NOTICE:  us / { print $3 }')
	[ -n "$us" ] || { log "measurement $side/$sync/$path failed"; exit 1; }
	if [ "$path" = changes ]; then
		q -c "SET client_min_messages = warning" \
		  -c "DELETE FROM taskdb.runs r USING bench_fresh f WHERE r.task_id = f.id" \
		  -c "VACUUM ANALYZE taskdb.runs" -c "VACUUM ANALYZE taskdb.task_status" -c CHECKPOINT
	else
		q -c "VACUUM ANALYZE taskdb.runs" -c CHECKPOINT
	fi
	echo "$us"
}

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
declare -A lat
measure off off changes "$ntx" >/dev/null		# warm the caches
for r in $(seq 1 "$rounds"); do
	if [ $((r % 2)) -eq 1 ]; then order="on off"; else order="off on"; fi
	for side in $order; do
		lat[changes.$side.$r]=$(measure "$side" off changes "$ntx")
		lat[unchanged.$side.$r]=$(measure "$side" off unchanged "$ntx")
		lat[sync.$side.$r]=$(measure "$side" on changes "$nsync")
		log "round $r, notify $side: changes ${lat[changes.$side.$r]} us, unchanged ${lat[unchanged.$side.$r]} us," \
			"changes with synchronous_commit ${lat[sync.$side.$r]} us"
	done
done
[ "$(q -c "SELECT count(*) FROM taskdb.task_status s JOIN bench_ids b ON b.id = s.task_id
            WHERE s.status_derived NOT IN ('in_progress', 'failed')")" = 0 ]

{
	echo "taskdb notification overhead — $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs," \
		"$("$bindir/postgres" --version | awk '{ print $3 }'), git $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
	echo "10k tasks / 100k runs / 300k gates + $ntx tasks without runs; timed inside the server ($ntx one-row INSERT transactions" \
		"per measurement, $nsync with synchronous_commit = on), $rounds rounds (sides alternate: on, off; off, on; ...); fsync = on;" \
		"no session listening; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo
	echo "ratio: the median of the per-round ratios (a round measures both sides back to back, so a change in the machine's load"
	echo "between rounds cancels out); on and off: the medians over the rounds"
	echo
	printf '%-52s | %10s | %10s | %7s | %s\n' "path (microseconds per transaction)" "notify on" "notify off" ratio "per-round ratios"
	printf -- '%.0s-' {1..110}; echo
	for path in changes unchanged sync; do
		on=() off=() ratios=""
		for r in $(seq 1 "$rounds"); do
			on+=("${lat[$path.on.$r]}")
			off+=("${lat[$path.off.$r]}")
			ratios+=$(awk -v a="${lat[$path.on.$r]}" -v b="${lat[$path.off.$r]}" 'BEGIN { printf " %.3f", a / b }')
		done
		w=$(median "${on[@]}")
		n=$(median "${off[@]}")
		# shellcheck disable=SC2086
		ratio=$(median $ratios)
		case $path in
			changes) label="status changes (a notification), sync commit off" ;;
			unchanged) label="status unchanged (no notification), sync commit off" ;;
			sync) label="status changes, synchronous_commit = on" ;;
		esac
		printf '%-52s | %10.3f | %10.3f | %7.3f |%s\n' "$label" "$w" "$n" "$ratio" "$ratios"
	done
} | tee "$B/out/notify-overhead.txt"
