#!/usr/bin/env bash
# The benchmark driver.  Runs inside the throwaway cluster that bench/run.sh
# creates with pg_virtualenv (PGHOST/PGPORT/PGUSER/PGPASSWORD are set), never
# against anything else.  Progress goes to stderr; the result table to stdout
# and bench/out/latest.txt; raw pgbench outputs to bench/out/last-run/.
set -euo pipefail
unset LD_PRELOAD			# fakeroot was only for pg_virtualenv; keep it out of pgbench

B=${BENCH_ROOT:?run bench/run.sh, not this file}
OUT=$B/out
RUN=$OUT/last-run
rm -rf "$RUN"
mkdir -p "$RUN"

case ${BENCH_SCALE:-default} in
	full) NTASKS=100000 NRUNS=1000000 NGATES=3000000 NBULK=1000000 ;;
	*) NTASKS=10000 NRUNS=100000 NGATES=300000 NBULK=100000 ;;
esac
HOT=50
NREPORTS10=20				# stored provenance reports of 10 claims
NREPORTS1000=5				# ... and of 1,000 claims
LAT_SECS=${BENCH_SECONDS:-20}
CONC_SECS=${BENCH_SECONDS:-30}
WARMUP=${BENCH_WARMUP:-2}
MAX_TRIES=${BENCH_MAX_TRIES:-1}
BULK_REPS=3

. "$B/lib/common.sh"

VARS=(-D ntasks=$NTASKS -D nruns=$NRUNS -D nreports10=$NREPORTS10 -D nreports1000=$NREPORTS1000)

# --- results: name=value pairs, read back when printing the table ----------
declare -A R
set_r() { R[$1]=$2; }
r_add() { R[$1]=$(( ${R[$1]:-0} + ${2:-0} )); }

# The write measurements run with synchronous_commit = $SYNC (off: a
# commit's WAL flush would hide the CPU each side spends; the server is
# fsync on, and the same measurements with synchronous_commit = on are
# printed beside them).  PGOPTIONS set by a caller (7.) is kept.
SYNC=
sync_opts() { echo "${PGOPTIONS:-}${SYNC:+ -c synchronous_commit=$SYNC}"; }

# One client, prepared statements, one transaction after another, every
# transaction's latency logged.  A measurement may be split into segments
# (see latency_pair); latency_segment runs one, latency_finish merges them
# and sets R[<name>.p50/.p95/.p99/.mean/.n/.tps].
latency_segment() {
	local name=$1 script=$2 secs=$3 seg=$4
	log "latency: $name segment $seg ($secs s)"
	if [ "$seg" = 1 ] && [ "$WARMUP" -gt 0 ]; then
		PGOPTIONS="$(sync_opts)" pgbench -n -M prepared -c 1 -j 1 -T "$WARMUP" "${VARS[@]}" -f "$script" >/dev/null 2>&1
	fi
	checkpoint
	PGOPTIONS="$(sync_opts)" pgbench -n -M prepared -c 1 -j 1 -T "$secs" "${VARS[@]}" -f "$script" \
		-l --log-prefix="$RUN/$name.log$seg" >"$RUN/$name.$seg.out" 2>&1 ||
		{ log "pgbench failed for $name, see $RUN/$name.$seg.out"; cat "$RUN/$name.$seg.out" >&2; exit 1; }
}
latency_finish() {
	local name=$1 p50 p95 p99 mean n
	read -r p50 p95 p99 mean n < <(percentiles "$RUN/$name".log*)
	rm -f "$RUN/$name".log*
	set_r "$name.p50" "$p50"
	set_r "$name.p95" "$p95"
	set_r "$name.p99" "$p99"
	set_r "$name.mean" "$mean"
	set_r "$name.n" "$n"
	# equal-length segments: the mean of their tps is the overall tps
	set_r "$name.tps" "$(cat "$RUN/$name".*.out | awk '/^tps = / { s += $3; k++ } END { if (k) printf "%.0f", s / k }')"
}
latency_run() {
	latency_segment "$1" "$2" "$LAT_SECS" 1
	latency_finish "$1"
}

# taskdb and baseline measured in alternating halves (T B B T), so that a
# change in background load during the run hits both sides alike.
halves() { awk -v s="$1" 'BEGIN { h = int(s / 2); print (h < 1 ? 1 : h) }'; }
latency_pair() {
	local nt=$1 st=$2 nb=$3 sb=$4 h
	h=$(halves "$LAT_SECS")
	latency_segment "$nt" "$st" "$h" 1
	latency_segment "$nb" "$sb" "$h" 1
	latency_segment "$nb" "$sb" "$h" 2
	latency_segment "$nt" "$st" "$h" 2
	latency_finish "$nt"
	latency_finish "$nb"
}

# Many clients.  Each segment adds to R[<name>.done/.failed/
# .failed_deadlock/.failed_serialization/.retried/.aborted/.deadlocks] and
# records its tps; concurrent_finish sets R[<name>.tps] (mean over the
# equal-length segments) and R[<name>.rc] (worst pgbench exit status).
concurrent_segment() {
	local name=$1 script=$2 range=$3 clients=$4 secs=$5 seg=$6 rc=0 d0 d1 f k v
	log "concurrent: $name segment $seg ($clients clients, tasks 1..$range, $secs s)"
	checkpoint
	d0=$(deadlocks)
	f=$RUN/$name.$seg.out
	PGOPTIONS="$(sync_opts)" pgbench -n -M prepared -c "$clients" -j 2 -T "$secs" "${VARS[@]}" -D range="$range" \
		--max-tries="$MAX_TRIES" --failures-detailed -f "$script" >"$f" 2>&1 || rc=$?
	sleep 1						# exiting backends report their statistics
	d1=$(deadlocks)
	r_add "$name.done" "$(awk -F': ' '/^number of transactions actually processed/ { split($2, a, "/"); print a[1] + 0 }' "$f")"
	r_add "$name.failed" "$(awk -F': ' '/^number of failed transactions/ { print $2 + 0 }' "$f")"
	r_add "$name.failed_deadlock" "$(awk -F': ' '/^number of deadlock failures/ { print $2 + 0 }' "$f")"
	r_add "$name.failed_serialization" "$(awk -F': ' '/^number of serialization failures/ { print $2 + 0 }' "$f")"
	r_add "$name.retried" "$(awk -F': ' '/^number of transactions retried/ { print $2 + 0 }' "$f")"
	r_add "$name.aborted" "$(grep -c 'aborted in command' "$f" || true)"
	r_add "$name.deadlocks" "$((d1 - d0))"
	[ "$rc" -le "${R[$name.rc]:-0}" ] || R[$name.rc]=$rc
	v=$(awk '/^tps = / { printf "%.0f", $3 }' "$f")
	if [ -z "$v" ]; then
		log "pgbench printed no tps for $name (exit $rc); counted as 0, see $f"
		v=0
	fi
	R[$name.tps_list]="${R[$name.tps_list]:-} $v"
}
concurrent_finish() {
	local name=$1
	set_r "$name.tps" "$(echo "${R[$name.tps_list]}" | awk '{ for (i = 1; i <= NF; i++) s += $i; printf "%.0f", s / NF }')"
	for k in done failed failed_deadlock failed_serialization retried aborted deadlocks rc; do
		[ -n "${R[$name.$k]:-}" ] || R[$name.$k]=0
	done
}
concurrent_pair() {
	local nt=$1 st=$2 nb=$3 sb=$4 range=$5 clients=$6 h
	h=$(halves "$CONC_SECS")
	concurrent_segment "$nt" "$st" "$range" "$clients" "$h" 1
	concurrent_segment "$nb" "$sb" "$range" "$clients" "$h" 1
	concurrent_segment "$nb" "$sb" "$range" "$clients" "$h" 2
	concurrent_segment "$nt" "$st" "$range" "$clients" "$h" 2
	concurrent_finish "$nt"
	concurrent_finish "$nb"
}

# One timed bulk INSERT ... SELECT; prints milliseconds.  The rows are
# deleted again (and the tables vacuumed) so every repetition starts from
# the same table sizes -- except taskdb.events, which is append-only: each
# taskdb repetition leaves 2 * $NBULK events (the inserts and the deletes).
bulk_once() {
	local schema=$1 ms
	checkpoint
	ms=$(PGOPTIONS="$(sync_opts)" psql -X -q -At -v ON_ERROR_STOP=1 -v schema="$schema" -v nbulk="$NBULK" -v ntasks="$NTASKS" \
		-f "$B/lib/bulk.sql" | awk '/^Time: / { print $2 }')
	q -c "DELETE FROM $schema.runs WHERE metrics->>'bench' = 'bulk'"
	if [ "$schema" = taskdb ]; then
		q -c "VACUUM ANALYZE taskdb.runs" -c "VACUUM ANALYZE taskdb.task_status"
	else
		q -c "VACUUM ANALYZE baseline.runs"
	fi
	echo "$ms"
}

median3() { printf '%s\n' "$@" | sort -g | sed -n 2p; }

# =========================================================================
start=$(now)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
REVISION="git $(git -C "$B/.." rev-parse --short HEAD 2>/dev/null || echo '?')"
if [ -n "$(git -C "$B/.." status --porcelain -- src taskdb--1.0.sql 2>/dev/null)" ]; then
	REVISION="$REVISION + uncommitted changes in src/ or taskdb--1.0.sql"
fi
log "scale ${BENCH_SCALE:-default}: $NTASKS tasks, $NRUNS runs, $NGATES gates; port $PGPORT"
q -f "$B/lib/setup.sql"

log "loading taskdb (maintenance on)"
t0=$(now)
q -v ntasks=$NTASKS -v nruns=$NRUNS -v ngates=$NGATES -f "$B/lib/load.sql"
t1=$(now)
set_r load.taskdb "$(elapsed "$t0" "$t1")"
log "copying into baseline"
q -f "$B/lib/copy.sql"
q -c "VACUUM ANALYZE"
set_r drift.load "$(drift)"
# What the history costs in space, next to the data it records.
v=$(events_size)
read -r n b <<<"$v"
set_r events.load.rows "$n"
set_r events.load.bytes "$b"
set_r data.load.bytes "$(q -c "SELECT sum(pg_total_relation_size(c)) FROM unnest('{taskdb.tasks,taskdb.runs,taskdb.gates,taskdb.artifacts,taskdb.task_status}'::regclass[]) AS c")"
set_r artifacts "$(q -c "SELECT count(*) FROM taskdb.artifacts")"
log "publishing $NREPORTS10 reports of 10 claims and $NREPORTS1000 of 1000 claims"
q -v nreports10=$NREPORTS10 -v nreports1000=$NREPORTS1000 -f "$B/lib/reports.sql" >/dev/null
q -c "VACUUM ANALYZE bench_reports"
checkpoint

# --- 1. reads -------------------------------------------------------------
latency_run read_fn "$B/pgbench/read_status_derived.sql"
latency_run read_cor "$B/pgbench/read_compute_on_read.sql"
latency_run read_pk "$B/pgbench/read_summary_pk.sql"

# --- 6. provenance (run here, before the writes of 2.-5., so that every ---
# claim of the stored reports still holds and verification takes its usual
# all-PASS path; the table lists it last)
latency_run verify10 "$B/pgbench/verify_report_10.sql"
latency_run verify1000 "$B/pgbench/verify_report_1000.sql"
# every stored report must verify claim for claim, or the figures above
# timed something else (a FAIL explains itself from the event history)
v=$(q -F' ' -c "SELECT count(*) FILTER (WHERE v.status <> 'PASS'), count(*)
                 FROM bench_reports b, taskdb.verify_provenance(b.report) v")
read -r n b <<<"$v"
set_r verify.fail "$n"
set_r verify.rows "$b"
latency_run publish10 "$B/pgbench/publish_report_10.sql"

# --- 2. single-row inserts ------------------------------------------------
# (each pair in alternating halves: taskdb, baseline, baseline, taskdb)
read -r n b <<<"$(events_size)"
set_r events.pre2.rows "$n"
set_r events.pre2.bytes "$b"
SYNC=off
latency_pair ins_run_t "$B/pgbench/insert_run.taskdb.sql" ins_run_b "$B/pgbench/insert_run.baseline.sql"
latency_pair ins_gate_t "$B/pgbench/insert_gate.taskdb.sql" ins_gate_b "$B/pgbench/insert_gate.baseline.sql"
SYNC=on
latency_pair ins_run_ts "$B/pgbench/insert_run.taskdb.sql" ins_run_bs "$B/pgbench/insert_run.baseline.sql"
SYNC=off
read -r n b <<<"$(events_size)"
set_r events.post2.rows "$n"
set_r events.post2.bytes "$b"

# --- 3. bulk INSERT ... SELECT, alternating sides (T B, B T, T B) ----------
q -c "VACUUM ANALYZE"
bt=() bb=()
for rep in $(seq 1 $BULK_REPS); do
	if [ $((rep % 2)) -eq 1 ]; then order="taskdb baseline"; else order="baseline taskdb"; fi
	for s in $order; do
		log "bulk: $NBULK runs into $s (repetition $rep)"
		ms=$(bulk_once "$s")
		if [ "$s" = taskdb ]; then bt+=("$ms"); else bb+=("$ms"); fi
	done
done
set_r bulk_t "$(median3 "${bt[@]}")"
set_r bulk_b "$(median3 "${bb[@]}")"
set_r bulk_t.all "${bt[*]}"
set_r bulk_b.all "${bb[*]}"
set_r drift.bulk "$(drift)"

# --- 4. hot tasks: 32 clients on 50 tasks ---------------------------------
q -c "VACUUM ANALYZE"
# (in alternating halves: taskdb, baseline, baseline, taskdb)
concurrent_pair hot_t "$B/pgbench/writers.taskdb.sql" hot_b "$B/pgbench/writers.baseline.sql" $HOT 32
SYNC=on
concurrent_pair hot_ts "$B/pgbench/writers.taskdb.sql" hot_bs "$B/pgbench/writers.baseline.sql" $HOT 32
SYNC=off
set_r drift.hot "$(drift)"

# --- 5. 100 clients over the whole dataset --------------------------------
q -c "VACUUM ANALYZE"
concurrent_pair all_t "$B/pgbench/writers.taskdb.sql" all_b "$B/pgbench/writers.baseline.sql" $NTASKS 100
SYNC=on
concurrent_pair all_ts "$B/pgbench/writers.taskdb.sql" all_bs "$B/pgbench/writers.baseline.sql" $NTASKS 100
SYNC=
set_r drift.all "$(drift)"

# --- 7. status-change notifications: taskdb.notify_status_changes on vs off
# The same single-row run INSERT with the setting on and off, in alternating
# halves (on, off, off, on), no session listening.  "fresh": every
# transaction adds the first run of a task without runs, so every one
# changes a status and, when on, sends a notification; the fresh tasks get
# their runs deleted again before the next pair.  "unchanged": the insert of
# 2. on a random task, which by now is almost always in_progress or failed
# already, so the flush reads its rows back and sends nothing.  Ratios with
# synchronous_commit = off (the commit's WAL flush hides CPU cost), and the
# fresh pair again with synchronous_commit = on (fsync on) beside them.
NFRESH=$(( (2 * LAT_SECS + 2 * WARMUP) * 5000 ))
log "notifications: $NFRESH tasks without runs"
q -c "CREATE TABLE bench_fresh (n int PRIMARY KEY, id uuid NOT NULL)" \
  -c "CREATE SEQUENCE bench_fresh_seq" \
  -c "INSERT INTO bench_fresh SELECT i, md5('bench-fresh-' || i)::uuid FROM generate_series(1, $NFRESH) i" \
  -c "INSERT INTO taskdb.tasks (id, title, policy_version) SELECT id, 'fresh ' || n, '1' FROM bench_fresh" \
  -c "VACUUM ANALYZE bench_fresh" -c "VACUUM ANALYZE taskdb.tasks" -c "VACUUM ANALYZE taskdb.task_status"
fresh_reset() {
	local used
	used=$(q -c "SELECT last_value FROM bench_fresh_seq")
	if [ "$used" -ge "$NFRESH" ]; then
		log "notifications: all $NFRESH fresh tasks were used; the figures would include runs on tasks that had one"
		exit 1
	fi
	set_r "$1.fresh_used" "$used"
	q -c "SET client_min_messages = warning" \
	  -c "DELETE FROM taskdb.runs r USING bench_fresh f WHERE r.task_id = f.id AND f.n <= $used" \
	  -c "ALTER SEQUENCE bench_fresh_seq RESTART" -c "VACUUM ANALYZE taskdb.runs" -c "VACUUM ANALYZE taskdb.task_status"
}
notify_pair() {
	local on=$1 off=$2 script=$3 sync=$4 h
	h=$(halves "$LAT_SECS")
	PGOPTIONS="-c synchronous_commit=$sync -c taskdb.notify_status_changes=on" latency_segment "$on" "$script" "$h" 1
	PGOPTIONS="-c synchronous_commit=$sync -c taskdb.notify_status_changes=off" latency_segment "$off" "$script" "$h" 1
	PGOPTIONS="-c synchronous_commit=$sync -c taskdb.notify_status_changes=off" latency_segment "$off" "$script" "$h" 2
	PGOPTIONS="-c synchronous_commit=$sync -c taskdb.notify_status_changes=on" latency_segment "$on" "$script" "$h" 2
	latency_finish "$on"
	latency_finish "$off"
}
notify_pair ntf_fresh_on ntf_fresh_off "$B/pgbench/insert_run_fresh.sql" off
fresh_reset ntf_fresh
notify_pair ntf_sync_on ntf_sync_off "$B/pgbench/insert_run_fresh.sql" on
fresh_reset ntf_sync
set_r ntf.settled "$(q -c "SELECT count(*) FILTER (WHERE s.status_derived IN ('in_progress', 'failed')) * 100 / count(*)
                              FROM taskdb.task_status s JOIN bench_ids b ON b.id = s.task_id")"
notify_pair ntf_same_on ntf_same_off "$B/pgbench/insert_run.taskdb.sql" off

v=$(events_size)
read -r n b <<<"$v"
set_r events.end.rows "$n"
set_r events.end.bytes "$b"

total=$(elapsed "$start" "$(now)")
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

# =========================================================================
# The table.  ratio = taskdb / baseline.  Kinds: le = lower is better and
# ratio must be <= target; ge = ratio must be >= target; abs = the taskdb
# value itself must be <= target; zero = the taskdb value must be 0;
# info = no target.
fmt() { awk -v v="$1" -v d="$2" 'BEGIN { if (v == "" || v == "NA") print "n/a"; else printf "%.*f", d, v }'; }
row() {
	local metric=$1 t=$2 b=$3 kind=$4 target=$5 dec=$6 ratio="-" ok="-" tgt="-"
	if [ -n "$b" ] && [ "$b" != "-" ]; then
		ratio=$(awk -v t="$t" -v b="$b" 'BEGIN { if (b + 0 == 0) print "-"; else printf "%.2fx", t / b }')
	fi
	case $kind in
		le) tgt="<= ${target}x"; ok=$(awk -v t="$t" -v b="$b" -v x="$target" 'BEGIN { print (b > 0 && t / b <= x) ? "yes" : "NO" }') ;;
		ge) tgt=">= ${target}x"; ok=$(awk -v t="$t" -v b="$b" -v x="$target" 'BEGIN { print (b > 0 && t / b >= x) ? "yes" : "NO" }') ;;
		abs) tgt="<= $target"; ok=$(awk -v t="$t" -v x="$target" 'BEGIN { print (t != "" && t + 0 <= x + 0) ? "yes" : "NO" }') ;;
		zero) tgt="0"; ok=$( [ "$t" = 0 ] && echo yes || echo NO) ;;
	esac
	[ "$b" = "-" ] || b=$(fmt "$b" "$dec")
	printf '%-56s | %11s | %11s | %7s | %9s | %s\n' "$metric" "$(fmt "$t" "$dec")" "$b" "$ratio" "$tgt" "$ok"
}

{
	echo "taskdb bench — $(date -u '+%Y-%m-%d %H:%M UTC'), scale ${BENCH_SCALE:-default}"
	echo "dataset: $NTASKS tasks, $NRUNS runs, $NGATES gates, ${R[artifacts]} artifacts; bulk $NBULK runs; hot set $HOT tasks;" \
		"$NREPORTS10 + $NREPORTS1000 stored reports of 10 / 1000 claims"
	echo "machine: $(nproc) CPUs, $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) RAM, $(q -c 'SHOW server_version' | cut -d' ' -f1)" \
		"(pgbench runs on the same CPUs as the server)"
	echo "taskdb: $REVISION (source tree when the run started; the installed build is what make install last put there)"
	echo "load average (1/5/15 min) at start: $LOAD_START, at end: $LOAD_END (anything else running on the machine skews the figures)"
	echo "durations: latency runs ${LAT_SECS}s (+${WARMUP}s warm-up), concurrent runs ${CONC_SECS}s, max-tries $MAX_TRIES; total ${total}s"
	echo "order: reads (1), provenance (6), then the writes (2-5); INSERT latencies and concurrent runs in alternating halves" \
		"(taskdb, baseline, baseline, taskdb); bulk T B, B T, T B"
	echo "writes (2-5, 7) with synchronous_commit = off unless said (the server is fsync on; lines \"the same, synchronous_commit = on\"" \
		"give the figures with every commit flushed)"
	echo "taskdb side of 2-5 = taskdb's triggers: status summary (task_status) AND event history (one event per row" \
		"written); baseline = the same tables, no triggers"
	echo
	printf '%-56s | %11s | %11s | %7s | %9s | %s\n' metric taskdb baseline ratio target ok?
	printf -- '%.0s-' {1..116}; echo
	row "1. status_derived read P50 (ms) [b: compute-on-read]" "${R[read_fn.p50]}" "${R[read_cor.p50]}" info "" 3
	row "1. status_derived read P95 (ms) [b: compute-on-read]" "${R[read_fn.p95]}" "${R[read_cor.p95]}" abs 0.5ms 3
	row "1. status_derived read P99 (ms) [b: compute-on-read]" "${R[read_fn.p99]}" "${R[read_cor.p99]}" info "" 3
	row "1. status_derived read P95 (ms) [b: plain PK SELECT]" "${R[read_fn.p95]}" "${R[read_pk.p95]}" info "" 3
	row "2. INSERT 1 run, mean latency (ms)" "${R[ins_run_t.mean]}" "${R[ins_run_b.mean]}" le 1.20 3
	row "2.   the same, synchronous_commit = on (ms)" "${R[ins_run_ts.mean]}" "${R[ins_run_bs.mean]}" info "" 3
	row "2. INSERT 1 gate, mean latency (ms)" "${R[ins_gate_t.mean]}" "${R[ins_gate_b.mean]}" le 1.20 3
	row "3. bulk INSERT..SELECT $NBULK runs, median of 3 (ms)" "${R[bulk_t]}" "${R[bulk_b]}" le 1.30 0
	row "4. hot 32 clients/50 tasks, throughput (tps)" "${R[hot_t.tps]}" "${R[hot_b.tps]}" ge 0.70 0
	row "4.   the same, synchronous_commit = on (tps)" "${R[hot_ts.tps]}" "${R[hot_bs.tps]}" info "" 0
	row "4. hot: deadlocks (pg_stat_database)" "${R[hot_t.deadlocks]}" "${R[hot_b.deadlocks]}" zero "" 0
	row "4. hot: failed transactions + aborted clients" "$((R[hot_t.failed] + R[hot_t.aborted]))" "$((R[hot_b.failed] + R[hot_b.aborted]))" zero "" 0
	row "4. hot: drift afterwards (tasks)" "${R[drift.hot]}" - zero "" 0
	row "5. 100 clients/all tasks, throughput (tps)" "${R[all_t.tps]}" "${R[all_b.tps]}" ge 0.85 0
	row "5.   the same, synchronous_commit = on (tps)" "${R[all_ts.tps]}" "${R[all_bs.tps]}" info "" 0
	row "5. all: deadlocks (pg_stat_database)" "${R[all_t.deadlocks]}" "${R[all_b.deadlocks]}" zero "" 0
	row "5. all: failed transactions + aborted clients" "$((R[all_t.failed] + R[all_t.aborted]))" "$((R[all_b.failed] + R[all_b.aborted]))" zero "" 0
	row "5. all: drift afterwards (tasks)" "${R[drift.all]}" - zero "" 0
	row "6. verify 10-claim report P50 (ms)" "${R[verify10.p50]}" - info "" 3
	row "6. verify 10-claim report P95 (ms) [b: plan's bar]" "${R[verify10.p95]}" 150 abs 2ms 3
	row "6. verify 1000-claim report P50 (ms)" "${R[verify1000.p50]}" - info "" 3
	row "6. verify 1000-claim report P95 (ms)" "${R[verify1000.p95]}" - abs 50ms 3
	row "6. verify: FAIL rows over all stored reports" "${R[verify.fail]}" - zero "" 0
	row "6. publish 10-claim report P50 (ms)" "${R[publish10.p50]}" - info "" 3
	row "6. publish 10-claim report P95 (ms)" "${R[publish10.p95]}" - info "" 3
	row "7. notify on/off: INSERT 1 run, changes, P50 (ms)" "${R[ntf_fresh_on.p50]}" "${R[ntf_fresh_off.p50]}" info "" 3
	row "7. the same, synchronous_commit = on, P50 (ms)" "${R[ntf_sync_on.p50]}" "${R[ntf_sync_off.p50]}" info "" 3
	row "7. notify on/off: INSERT 1 run, unchanged, P50 (ms)" "${R[ntf_same_on.p50]}" "${R[ntf_same_off.p50]}" info "" 3
	row "8. event history after the load, bytes per event" "$(awk -v b="${R[events.load.bytes]}" -v n="${R[events.load.rows]}" 'BEGIN { printf "%.1f", n ? b / n : 0 }')" - abs 80 1
	row "8. the same for the events of 2 (1 row per INSERT)" "$(awk -v b="${R[events.post2.bytes]}" -v n="${R[events.post2.rows]}" -v b0="${R[events.pre2.bytes]}" -v n0="${R[events.pre2.rows]}" 'BEGIN { printf "%.1f", (n > n0 ? (b - b0) / (n - n0) : 0) }')" - info "" 1
	echo
	echo "details:"
	for n in read_fn read_cor read_pk ins_run_t ins_run_b ins_run_ts ins_run_bs ins_gate_t ins_gate_b verify10 verify1000 publish10 \
		ntf_fresh_on ntf_fresh_off ntf_sync_on ntf_sync_off ntf_same_on ntf_same_off; do
		printf '  %-10s P50 %s  P95 %s  P99 %s  mean %s ms  (%s transactions, %s tps)\n' "$n" \
			"${R[$n.p50]}" "${R[$n.p95]}" "${R[$n.p99]}" "${R[$n.mean]}" "${R[$n.n]}" "${R[$n.tps]}"
	done
	echo "  read_fn = taskdb.status_derived(id); read_cor = seed MV query for one task on baseline; read_pk = SELECT from taskdb.task_status by PK"
	echo "  verify10/verify1000 = taskdb.verify_provenance of a stored report (10 / 1000 claims, the 5 kinds in equal numbers);" \
		"publish10 = taskdb.publish_report of 10 claims; the 150 ms of line 6 is the original plan's bar"
	echo "  verification verdicts over all $((NREPORTS10 + NREPORTS1000)) stored reports: ${R[verify.rows]} rows, ${R[verify.fail]} FAIL"
	echo "  bulk taskdb ms: ${R[bulk_t.all]}   bulk baseline ms: ${R[bulk_b.all]}"
	echo "  7.: taskdb on both sides, taskdb.notify_status_changes on vs off (ratio = on / off), P50 (the means carry the" \
		"machine's outliers; bench/notify_overhead.sh times the same in the server), no session listening;" \
		"synchronous_commit = off unless said; fresh tasks used: ${R[ntf_fresh.fresh_used]} (sync off), ${R[ntf_sync.fresh_used]} (sync on);" \
		"\"unchanged\": ${R[ntf.settled]} % of the tasks were in_progress or failed before it"
	for n in hot_t hot_b hot_ts hot_bs all_t all_b all_ts all_bs; do
		printf '  %-6s %s tx, %s tps; failed %s (deadlock %s, serialization %s), retried %s, aborted clients %s, pgbench exit %s, deadlocks %s\n' "$n" \
			"${R[$n.done]}" "${R[$n.tps]}" "${R[$n.failed]}" "${R[$n.failed_deadlock]}" "${R[$n.failed_serialization]}" \
			"${R[$n.retried]}" "${R[$n.aborted]}" "${R[$n.rc]}" "${R[$n.deadlocks]}"
	done
	echo "  drift: after load ${R[drift.load]}, after bulk ${R[drift.bulk]}, after hot ${R[drift.hot]}, after all ${R[drift.all]}"
	echo "  taskdb dataset load (tasks + runs + gates + artifacts, summary and event history on): ${R[load.taskdb]} s"
	printf '  event history after the load: %s rows, %s with indexes (%s bytes/row); tasks + runs + gates + artifacts + task_status: %s\n' \
		"${R[events.load.rows]}" "$(mib "${R[events.load.bytes]}")" \
		"$(awk -v b="${R[events.load.bytes]}" -v n="${R[events.load.rows]}" 'BEGIN { printf "%.0f", n ? b / n : 0 }')" \
		"$(mib "${R[data.load.bytes]}")"
	printf '  event history at the end of the run: %s rows, %s (the publishing of 6 and the writes of 2-5 add to it; bulk rows are inserted and deleted)\n' \
		"${R[events.end.rows]}" "$(mib "${R[events.end.bytes]}")"
} | tee "$OUT/latest.txt"
log "done in ${total}s; table in bench/out/latest.txt, raw pgbench output in bench/out/last-run/"
