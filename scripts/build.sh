#!/usr/bin/env bash
# Builds and installs taskdb and its command-line client into the PostgreSQL
# installation of PG_CONFIG (default: PostgreSQL 15); warnings are errors.
set -euo pipefail
cd "$(dirname "$0")/.."
export PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
make -s clean
make -s
make -s client
make -s install
make -s install-client
