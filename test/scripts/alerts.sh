#!/usr/bin/env bash
# config/: the alert rules load (promtool check rules); every alert fires
# when it should and stays silent when it should not (promtool test rules,
# config/tests/); a real scrape of taskdb.metrics() passes promtool check
# metrics but for the names the original plan fixed (its "_ms" units and the
# gauge taskdb_concurrent_writers_total), and every taskdb metric the alerts
# use is one taskdb.metrics() exports.  Needs taskdb preloaded (the suite's
# cluster is).
set -euo pipefail
db=taskdb_alerts
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

promtool check rules config/prometheus-alerts.yml
promtool test rules config/tests/alerts.test.yml

psql -X -q -v ON_ERROR_STOP=1 -c "SET client_min_messages = warning" \
	-c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" postgres
psql -X -q -v ON_ERROR_STOP=1 -d "$db" -c "CREATE EXTENSION taskdb" \
	-c "SELECT taskdb.status_derived(taskdb.create_task('t', '1'))" >/dev/null
psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" -c "SELECT taskdb.metrics()" >"$work/scrape"

# promtool exits non-zero on lint problems; keep only the ones not allowed.
promtool check metrics <"$work/scrape" >"$work/lint" 2>&1 || true
grep -vE '^taskdb_[a-z_]+_ms metric names should not contain abbreviated units$|^taskdb_concurrent_writers_total non-counter metrics should not have "_total" suffix$' \
	"$work/lint" >"$work/problems" || true
if [ -s "$work/problems" ]; then
	echo "promtool check metrics found problems in a scrape of taskdb.metrics():"
	cat "$work/problems"
	exit 1
fi

exported=$(sed -n 's/^# TYPE \([a-z_]*\) .*/\1/p' "$work/scrape" | sort -u)
[ -n "$exported" ] || { echo "taskdb.metrics() exported nothing"; exit 1; }
missing=0
for name in $(grep -o 'taskdb_[a-z_]*' config/prometheus-alerts.yml | sed -E 's/_(bucket|sum|count)$//' | sort -u); do
	if ! grep -qx "$name" <<<"$exported"; then
		echo "config/prometheus-alerts.yml uses $name, which taskdb.metrics() does not export"
		missing=$((missing + 1))
	fi
done
[ "$missing" -eq 0 ] || exit 1
psql -X -q -c "DROP DATABASE $db" postgres
echo "alerts: rules load, $(grep -c 'alertname:' config/tests/alerts.test.yml) alert tests pass, the scrape lints clean, every metric the alerts use is exported"
