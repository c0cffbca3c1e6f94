#!/usr/bin/env bash
# Runs the whole taskdb test suite: installs what is missing, builds with
# warnings as errors, installs, and runs every suite on a throwaway cluster.
# Ends with one line "N passed, N failed"; exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
exec pg_virtualenv -t -o max_prepared_transactions=10 -o deadlock_timeout=100ms \
	scripts/run-suites.sh
