# Helpers shared by the bench drivers (bench.sh, acceptance.sh), sourced
# with B set to the bench/ directory, inside their throwaway cluster.

log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }
q() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
checkpoint() { q -c CHECKPOINT; }
deadlocks() { q -c "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()"; }
drift() { q -f "$B/lib/drift.sql"; }
# Size of the event history: "rows bytes" (bytes with indexes and TOAST).
events_size() {
	q -F' ' -c "SELECT (SELECT COALESCE(sum(cardinality(entity_ids)), 0) FROM taskdb.history)
	                   + (SELECT COALESCE(sum(cardinality(entity_ids)), 0) FROM taskdb.history_archive),
	                   (SELECT sum(pg_total_relation_size(p.partition)) FROM taskdb.history_partitions() p)"
}
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }

# Nearest-rank P50 / P95 / P99 and mean (ms) and count of the successful
# transactions in pgbench --log files (3rd field = latency in microseconds;
# failed transactions have a word there instead).
percentiles() {
	awk '$3 ~ /^[0-9]+$/ { print $3 }' "$@" | sort -n |
		awk '{ v[NR] = $1; s += $1 }
		     END {
		       if (NR == 0) { print "NA NA NA NA 0"; exit }
		       n = split("50 95 99", p, " ")
		       for (i = 1; i <= n; i++) {
		         k = int((p[i] * NR + 99) / 100); if (k < 1) k = 1
		         printf "%.3f ", v[k] / 1000
		       }
		       printf "%.3f %d\n", s / NR / 1000, NR
		     }'
}
