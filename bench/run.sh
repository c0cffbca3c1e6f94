#!/usr/bin/env bash
# bench/run.sh [--scale full] — taskdb's benchmark, each figure against a
# baseline measured in the same run on identical tables without taskdb's
# triggers (provenance verification and publishing, which have no
# baseline, as absolute latencies against their targets).  Creates one
# throwaway cluster (pg_virtualenv) on port $BENCH_PORT (default 55435),
# loads the dataset, runs every measurement, prints the table and writes it
# to bench/out/latest.txt.
#
# Environment:
#   BENCH_PORT      port of the throwaway cluster            (default 55435)
#   BENCH_SECONDS   duration of EVERY pgbench run, seconds   (default: 20 for
#                   the 1-client latency runs, 30 for the concurrent runs)
#   BENCH_WARMUP    unlogged warm-up before each 1-client run (default 2)
#   BENCH_MAX_TRIES pgbench --max-tries for the concurrent runs (default 1:
#                   a deadlock or serialization failure counts as failed)
#   BENCH_PGOPTS    extra postgresql.conf settings, space separated guc=value
# The extension must be installed first (make install); see bench/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."

scale=default
while [ $# -gt 0 ]; do
	case "$1" in
		--scale)
			[ $# -ge 2 ] || { echo "usage: bench/run.sh [--scale default|full]" >&2; exit 2; }
			scale=$2; shift 2 ;;
		--scale=*) scale=${1#--scale=}; shift ;;
		-h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
		*) echo "bench/run.sh: unknown argument '$1' (usage: bench/run.sh [--scale full])" >&2; exit 2 ;;
	esac
done
case "$scale" in
	default|full) ;;
	*) echo "bench/run.sh: --scale must be 'default' or 'full', not '$scale'" >&2; exit 2 ;;
esac

for tool in pg_virtualenv pgbench psql awk sort; do
	command -v "$tool" >/dev/null || { echo "bench/run.sh: $tool not found" >&2; exit 2; }
done
if [ ! -f "$(pg_config --sharedir)/extension/taskdb.control" ]; then
	echo "bench/run.sh: taskdb is not installed; run 'make install' first" >&2
	exit 2
fi

export BENCH_SCALE=$scale
export BENCH_ROOT=$PWD/bench
mkdir -p bench/out

# One guc per -o.  pg_virtualenv itself sets fsync=off; we turn it back on so
# commits cost what they cost in production (a later setting wins).
# Checkpoints are taken by the driver before each measurement, never by a
# timer in the middle of one; JIT off so neither side pays a compile.
opts=(
	-o shared_buffers=1GB
	-o max_connections=200
	-o fsync=on
	-o synchronous_commit=on
	-o max_wal_size=16GB
	-o checkpoint_timeout=1h
	-o maintenance_work_mem=256MB
	-o work_mem=16MB
	-o jit=off
	-o deadlock_timeout=1s
)
for o in ${BENCH_PGOPTS:-}; do
	opts+=(-o "$o")
done

# -t: keep the cluster in a private temporary directory (as root,
# pg_virtualenv would otherwise create the machine-wide cluster 15/regress,
# which collides with anyone else's throwaway cluster).
export PGPORT=${BENCH_PORT:-55435}
exec pg_virtualenv -t "${opts[@]}" bash bench/lib/bench.sh
