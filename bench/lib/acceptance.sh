#!/usr/bin/env bash
# The acceptance driver.  Runs inside the throwaway cluster bench/acceptance.sh
# creates, never against anything else.  For each scale it loads the plan's
# dataset with taskdb.generate_synthetic() into a database of its own, then
# measures the plan's acceptance figures; at the small scale it also
# measures the plan's original design (bench/lib/mv_baseline.sql).  Progress
# goes to stderr, the table to stdout and bench/out/acceptance.txt, raw
# pgbench output to bench/out/acceptance-run/.
set -euo pipefail
unset LD_PRELOAD			# fakeroot was only for pg_virtualenv
B=${BENCH_ROOT:?run bench/acceptance.sh, not this file}
OUT=$B/out
RUN=$OUT/acceptance-run
rm -rf "$RUN"
mkdir -p "$RUN"
. "$B/lib/common.sh"

SECS=${BENCH_SECONDS:-20}		# each 1-client latency run
WSECS=${BENCH_WRITER_SECONDS:-60}	# the 100 writers, per side
declare -A R

# 1-client latency: sets R[<key>.p95/.p50/.mean/.tps]
latency() {
	local key=$1 script=$2 secs=$3 p50 p95 p99 mean n
	shift 3
	pgbench -n -M prepared -c 1 -j 1 -T 2 "$@" -f "$B/pgbench/$script" >/dev/null 2>&1 || true
	pgbench -n -M prepared -c 1 -j 1 -T "$secs" "$@" -f "$B/pgbench/$script" \
		-l --log-prefix="$RUN/$key.log" >"$RUN/$key.out" 2>&1 ||
		{ log "pgbench failed for $key"; cat "$RUN/$key.out" >&2; exit 1; }
	read -r p50 p95 p99 mean n < <(percentiles "$RUN/$key".log*)
	rm -f "$RUN/$key".log*
	R[$key.p50]=$p50 R[$key.p95]=$p95 R[$key.mean]=$mean R[$key.n]=$n
	R[$key.tps]=$(awk '/^tps = / { printf "%.1f", $3 }' "$RUN/$key.out")
}

# Many clients for a while: sets R[<key>.tps/.failed]; deadlocks added to R[<key>.deadlocks]
writers() {
	local key=$1 script=$2 clients=$3 secs=$4 d0 d1 f
	shift 4
	checkpoint
	d0=$(deadlocks)
	f=$RUN/$key.$RANDOM.out
	pgbench -n -M prepared -c "$clients" -j 2 -T "$secs" --max-tries=1 --failures-detailed "$@" \
		-f "$B/pgbench/$script" >"$f" 2>&1 || true
	sleep 1
	d1=$(deadlocks)
	R[$key.tps_list]="${R[$key.tps_list]:-} $(awk '/^tps = / { printf "%.1f", $3 }' "$f")"
	R[$key.failed]=$(( ${R[$key.failed]:-0} + $(awk -F': ' '/^number of failed transactions/ { print $2 + 0 }' "$f") \
		+ $(grep -c 'aborted in command' "$f" || true) ))
	R[$key.deadlocks]=$(( ${R[$key.deadlocks]:-0} + d1 - d0 ))
}
mean_of() { echo "$1" | awk '{ for (i = 1; i <= NF; i++) s += $i; if (NF) printf "%.1f", s / NF; else print "NA" }'; }
timed_ms() {
	local t0 t1
	t0=$(now)
	q -c "$1" >/dev/null
	t1=$(now)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", (b - a) * 1000 }'
}

run_scale() {
	local s=$1 ntasks=$2 t0 t1 n
	export PGDATABASE=accept_$s
	psql -X -q -d postgres -c "CREATE DATABASE accept_$s"
	q -f "$B/lib/setup.sql" >/dev/null
	log "$s: generate_synthetic($ntasks, 10, 3, $((ntasks * 5)), 42)"
	t0=$(now)
	q -c "SET client_min_messages = warning" \
		-c "SELECT * FROM taskdb.generate_synthetic($ntasks, 10, 3, $((ntasks * 5)), 42)" >"$RUN/$s.load"
	t1=$(now)
	R[$s.load_s]=$(elapsed "$t0" "$t1")
	R[$s.counts]=$(q -F' ' -c "SELECT (SELECT count(*) FROM taskdb.tasks), (SELECT count(*) FROM taskdb.runs),
	                                  (SELECT count(*) FROM taskdb.gates), (SELECT count(*) FROM taskdb.artifacts),
	                                  (SELECT count(*) FROM taskdb.events)")
	R[$s.db_size]=$(q -c "SELECT pg_size_pretty(pg_database_size(current_database()))")
	R[$s.db_bytes]=$(q -c "SELECT pg_database_size(current_database())")
	read -r n b <<<"$(events_size)"
	R[$s.event_bytes]=$(awk -v b="$b" -v n="$n" 'BEGIN { printf "%.1f", n ? b / n : 0 }')
	log "$s: loaded in ${R[$s.load_s]} s: ${R[$s.counts]} (tasks runs gates artifacts events), ${R[$s.db_size]}"
	q -c "INSERT INTO bench_ids (n, id) SELECT row_number() OVER (ORDER BY id), id FROM taskdb.tasks" \
		-c "INSERT INTO bench_runs (n, id, task_id) SELECT row_number() OVER (ORDER BY id), id, task_id FROM taskdb.runs"
	q -f "$B/lib/copy.sql"
	q -v nreports10=20 -v nreports1000=1 -f "$B/lib/reports.sql" >/dev/null
	q -c "VACUUM ANALYZE"
	checkpoint
	local vars=(-D ntasks="$ntasks" -D nreports10=20 -D range="$ntasks")

	log "$s: reads, idle"
	latency "$s.read_idle" read_status_derived.sql "$SECS" "${vars[@]}"
	# (before any writes, so every claim of the stored reports still holds)
	log "$s: verification of 10-claim reports"
	latency "$s.verify10" verify_report_10.sql "$SECS" "${vars[@]}"
	R[$s.verify_fail]=$(q -c "SELECT count(*) FROM bench_reports b, taskdb.verify_provenance(b.report) v
	                          WHERE b.kind = '10' AND v.status <> 'PASS'")
	log "$s: reads while 8 writers run"
	pgbench -n -M prepared -c 8 -j 2 -T $((SECS + 4)) "${vars[@]}" -f "$B/pgbench/writers.taskdb.sql" \
		>"$RUN/$s.bg8.out" 2>&1 &
	local bg=$!
	sleep 2
	latency "$s.read_busy" read_status_derived.sql "$SECS" "${vars[@]}"
	wait "$bg" || true
	R[$s.bg8_tps]=$(awk '/^tps = / { printf "%.0f", $3 }' "$RUN/$s.bg8.out")
	log "$s: INSERT 1 run"
	latency "$s.ins_t" insert_run.taskdb.sql "$SECS" "${vars[@]}"
	latency "$s.ins_b" insert_run.baseline.sql "$SECS" "${vars[@]}"

	log "$s: 100 writers, ${WSECS} s per side in halves (taskdb, baseline, baseline, taskdb)"
	q -c "VACUUM ANALYZE"
	local h=$((WSECS / 2))
	writers "$s.w_t" writers.taskdb.sql 100 "$h" "${vars[@]}"
	writers "$s.w_b" writers.baseline.sql 100 "$h" "${vars[@]}"
	writers "$s.w_b" writers.baseline.sql 100 "$h" "${vars[@]}"
	writers "$s.w_t" writers.taskdb.sql 100 "$h" "${vars[@]}"
	R[$s.w_t.tps]=$(mean_of "${R[$s.w_t.tps_list]}")
	R[$s.w_b.tps]=$(mean_of "${R[$s.w_b.tps_list]}")
	R[$s.drift]=$(drift)

	log "$s: export_hash, doctor"
	R[$s.hash_ms]=$(timed_ms "SELECT taskdb.export_hash()")
	R[$s.doctor_ms]=$(timed_ms "SELECT * FROM taskdb.doctor()")
	R[$s.health]=$(q -c "SELECT status FROM taskdb.doctor() WHERE check_name = 'system_health'")

	if [ "$s" = small ]; then
		log "$s: the plan's design: a materialized view refreshed by a row trigger"
		q -f "$B/lib/mv_baseline.sql" >/dev/null
		checkpoint
		latency "$s.mv_read" read_mv.sql "$SECS" "${vars[@]}"
		latency "$s.mv_ins" insert_run.mv.sql "$SECS" "${vars[@]}"
		writers "$s.mv_w8" insert_run.mv.sql 8 "$SECS" "${vars[@]}"
		writers "$s.t_w8" insert_run.taskdb.sql 8 "$SECS" "${vars[@]}"
		R[$s.mv_w8.tps]=$(mean_of "${R[$s.mv_w8.tps_list]}")
		R[$s.t_w8.tps]=$(mean_of "${R[$s.t_w8.tps_list]}")
	fi
	unset PGDATABASE
}

# The full load again on a cluster at PostgreSQL's defaults (shared_buffers
# 128 MB, work_mem 4 MB; fsync on as everywhere here), nothing else in it.
load_at_defaults() {
	local ntasks=$1 t0 t1 rc=0
	log "defaults: generate_synthetic($ntasks, 10, 3, $((ntasks * 5)), 42) on a cluster with PostgreSQL's defaults"
	t0=$(now)
	PGPORT=$((PGPORT + 1)) timeout 1800 pg_virtualenv -t -o fsync=on -o synchronous_commit=on \
		bash -c "psql -X -q -v ON_ERROR_STOP=1 -c 'CREATE EXTENSION taskdb' -c 'SET client_min_messages = warning' \
		         -c 'SHOW shared_buffers' -c 'SHOW work_mem' \
		         -c 'SELECT * FROM taskdb.generate_synthetic($ntasks, 10, 3, $((ntasks * 5)), 42)'" \
		>"$RUN/defaults.load" 2>&1 || rc=$?
	t1=$(now)
	if [ "$rc" -eq 0 ]; then
		R[defaults.load_s]=$(elapsed "$t0" "$t1")
	else
		R[defaults.load_s]="failed ($rc)"
		log "defaults: the load failed (exit $rc), see $RUN/defaults.load"
	fi
}

start=$(now)
for s in ${ACCEPT_SCALES:-small full}; do
	case $s in
		small) run_scale small 10000 ;;
		full) run_scale full 100000 ;;
		*) echo "unknown scale $s" >&2; exit 2 ;;
	esac
done
case " ${ACCEPT_SCALES:-small full} " in
	*" full "*) load_at_defaults 100000 ;;
esac
total=$(elapsed "$start" "$(now)")

v() { local x=${R[$1]:-}; [ -n "$x" ] && echo "$x" || echo "-"; }
ratio() { awk -v a="$(v "$1")" -v b="$(v "$2")" 'BEGIN { if (a == "-" || b == "-" || b + 0 == 0) print "-"; else printf "%.2fx", a / b }'; }
line() { printf '%-52s | %29s | %29s | %-15s | %s\n' "$@"; }
{
	echo "taskdb acceptance — $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) CPUs, $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) RAM," \
		"$(q -d postgres -c 'SHOW server_version' | cut -d' ' -f1), fsync on; taskdb git $(git -C "$B/.." rev-parse --short HEAD 2>/dev/null || echo '?'); total ${total} s"
	echo "datasets: generate_synthetic(N, 10, 3, 5N, 42); small N = 10,000, full N = 100,000 (the plan's)." \
		"pgbench runs on the same 2 CPUs; 1-client runs ${SECS} s, 100 writers ${WSECS} s per side"
	echo
	line "figure" "small (10k tasks)" "full (100k tasks)" "plan's bar" "our target"
	printf -- '%.0s-' {1..120}; echo
	for s in small full; do :; done
	line "load: tasks / runs / gates / artifacts" "$(v small.counts | awk '{ print $1"/"$2"/"$3"/"$4 }')" "$(v full.counts | awk '{ print $1"/"$2"/"$3"/"$4 }')" "100k/1M/3M/500k" ""
	line "load: events written" "$(v small.counts | awk '{ print $5 }')" "$(v full.counts | awk '{ print $5 }')" ">= 10M" ""
	line "load: time through the normal path (s)" "$(v small.load_s)" "$(v full.load_s)" "" "<= 180 s"
	line "load: the same at PostgreSQL's defaults (s)" "" "$(v defaults.load_s)" "" "<= 600 s"
	line "load: database size" "$(v small.db_size)" "$(v full.db_size)" "" "<= 2.5 GB"
	line "load: event history, bytes per event" "$(v small.event_bytes)" "$(v full.event_bytes)" "" "<= 80"
	line "status_derived read P95, idle (ms)" "$(v small.read_idle.p95)" "$(v full.read_idle.p95)" "< 5 ms" "<= 0.5 ms"
	line "status_derived read P95, 8 writers running (ms)" "$(v small.read_busy.p95)" "$(v full.read_busy.p95)" "" "<= 1 ms"
	line "  (the 8 writers' throughput meanwhile, tps)" "$(v small.bg8_tps)" "$(v full.bg8_tps)" "" ""
	line "verification of 10 claims, P95 (ms)" "$(v small.verify10.p95)" "$(v full.verify10.p95)" "< 150 ms" "<= 2 ms"
	line "  claims failing on the stored reports" "$(v small.verify_fail)" "$(v full.verify_fail)" "" "0"
	line "INSERT 1 run, mean (ms): taskdb / no triggers" "$(v small.ins_t.mean) / $(v small.ins_b.mean)" "$(v full.ins_t.mean) / $(v full.ins_b.mean)" "" ""
	line "  ratio" "$(ratio small.ins_t.mean small.ins_b.mean)" "$(ratio full.ins_t.mean full.ins_b.mean)" "" "<= 1.20x (sync off: bench/run.sh)"
	line "100 writers: tps taskdb / no triggers" "$(v small.w_t.tps) / $(v small.w_b.tps)" "$(v full.w_t.tps) / $(v full.w_b.tps)" "" ""
	line "  ratio" "$(ratio small.w_t.tps small.w_b.tps)" "$(ratio full.w_t.tps full.w_b.tps)" "no blocking" ">= 0.85x (sync off: bench/run.sh)"
	line "  deadlocks (taskdb side)" "$(v small.w_t.deadlocks)" "$(v full.w_t.deadlocks)" "" "0"
	line "  failed transactions (taskdb side)" "$(v small.w_t.failed)" "$(v full.w_t.failed)" "" "0"
	line "  drift afterwards (tasks)" "$(v small.drift)" "$(v full.drift)" "" "0"
	line "export_hash() (ms)" "$(v small.hash_ms)" "$(v full.hash_ms)" "" ""
	line "doctor(), full check (ms); verdict" "$(v small.doctor_ms); $(v small.health)" "$(v full.doctor_ms); $(v full.health)" "" "excellent"
	echo
	echo "The plan's original design at the small scale (materialized view + REFRESH CONCURRENTLY per row written):"
	line "figure" "plan's design" "taskdb" "ratio" ""
	printf -- '%.0s-' {1..120}; echo
	line "status_derived read P95 (ms)" "$(v small.mv_read.p95)" "$(v small.read_idle.p95)" "$(ratio small.mv_read.p95 small.read_idle.p95)" ""
	line "INSERT 1 run, mean (ms)" "$(v small.mv_ins.mean)" "$(v small.ins_t.mean)" "$(ratio small.mv_ins.mean small.ins_t.mean)" ""
	line "8 clients inserting runs (tps)" "$(v small.mv_w8.tps)" "$(v small.t_w8.tps)" "$(ratio small.t_w8.tps small.mv_w8.tps)" ""
	line "  deadlocks / failed transactions" "$(v small.mv_w8.deadlocks) / $(v small.mv_w8.failed)" "$(v small.t_w8.deadlocks) / $(v small.t_w8.failed)" "" ""
} | tee "$OUT/acceptance.txt"
