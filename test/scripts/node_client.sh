#!/usr/bin/env bash
# The Node.js client, clients/node: npm ci from its lockfile, then npm test
# (the declarations type-checked with tsc, unit tests of every function and
# error, status-change notifications, and the original plan's tests:
# load-concurrency.test.mjs, the concurrent publication test and
# chaos-recovery.test.mjs).  Runs against the suite's cluster (the libpq
# environment), where each test file makes a database of its own; the
# crash and restart tests start throwaway clusters of their own
# (PG_CONFIG's binaries, as the postgres user when run as root).
set -euo pipefail
cd "$(dirname "$0")/../../clients/node"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	echo "node_client: node and npm are needed; scripts/install-deps.sh installs them" >&2
	exit 1
fi
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 20 ]; then
	echo "node_client: Node.js $(node --version) is too old, 20 or later is needed; scripts/install-deps.sh installs it" >&2
	exit 1
fi
npm ci --no-audit --no-fund --loglevel=error
start=$(date +%s)
npm test
echo "node client (Node.js $(node --version)): npm test passed in $(( $(date +%s) - start )) s"
