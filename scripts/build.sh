#!/usr/bin/env bash
# Builds and installs taskdb into the PostgreSQL 15 installation (warnings are errors).
set -euo pipefail
cd "$(dirname "$0")/.."
export PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
make -s clean
make -s
make -s install
