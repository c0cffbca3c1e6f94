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

export BENCH_SCALE=$scale
. bench/lib/cluster.sh
bench_cluster bench/run.sh 55435 bench/lib/bench.sh
