#!/usr/bin/env bash
# The main job: on a fresh Debian 12 machine (as root), install what is
# missing, build and install taskdb, start a throwaway PostgreSQL cluster,
# load a small demo dataset and print status_derived for its tasks.  The
# cluster is removed when the script ends.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
exec pg_virtualenv -t -o shared_preload_libraries=taskdb -o max_prepared_transactions=10 \
	psql -X -v ON_ERROR_STOP=1 -q -f scripts/demo.sql
