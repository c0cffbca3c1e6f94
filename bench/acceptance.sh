#!/usr/bin/env bash
# bench/acceptance.sh — the plan's acceptance table.  For each scale (small:
# 10k tasks, full: the plan's 100k tasks / 1M runs / 3M gates / 500k
# artifacts / 10.7M events) it loads the dataset with
# taskdb.generate_synthetic() into a database of its own and measures:
# status_derived read P95 idle and while 8 writers run, verification of 10
# claims P95, single-row INSERT against the same tables without triggers,
# 100 writers against that baseline (throughput, deadlocks, failures,
# drift), export_hash() and doctor() times.  At the small scale it also
# measures the plan's original design, a materialized view refreshed by a
# per-row trigger.  Creates one throwaway cluster (pg_virtualenv) on port
# $BENCH_PORT (default 55437); prints the table and writes it to
# bench/out/acceptance.txt.  About 20 minutes for both scales.
#
# Environment:
#   ACCEPT_SCALES          which scales, in order          (default "small full")
#   BENCH_PORT             port of the throwaway cluster   (default 55437)
#   BENCH_SECONDS          each 1-client latency run, s     (default 20)
#   BENCH_WRITER_SECONDS   the 100 writers, s per side      (default 60)
# The extension must be installed first (make install); see bench/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."

case "${1:-}" in
	-h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
	"") ;;
	*) echo "bench/acceptance.sh: no arguments expected (see --help)" >&2; exit 2 ;;
esac

. bench/lib/cluster.sh
# Preloaded, as production runs it: metrics on, doctor() can say excellent.
bench_cluster bench/acceptance.sh 55437 bench/lib/acceptance.sh shared_preload_libraries=taskdb
