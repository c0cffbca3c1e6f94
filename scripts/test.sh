#!/usr/bin/env bash
# Runs the whole taskdb test suite: installs what is missing, builds with
# warnings as errors, installs, and runs every suite on a throwaway cluster.
# Ends with one line "N passed, N failed"; exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh

log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
pg_virtualenv -t -o shared_preload_libraries=taskdb -o max_prepared_transactions=10 -o deadlock_timeout=100ms \
	scripts/run-suites.sh 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e

# Repeat the summary as the very last line (the cluster's shutdown prints after it).
summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)
if [ -z "$summary" ]; then
	summary="0 passed, 1 failed"
	rc=1
fi
echo "$summary"
exit "$rc"
