#!/usr/bin/env bash
# The committed example report is a real report: after examples/provenance.sql
# (which sets the example's demonstration key) it verifies all PASS with the
# CLI, exactly as README describes; after a change to the data it fails, and
# the CLI says which claim and why.
set -euo pipefail
cli=${TASKDB_CLI:-cli/taskdb}
db=taskdb_examples
psql -X -q -v ON_ERROR_STOP=1 -c "SET client_min_messages = warning" \
	-c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" postgres
psql -X -q -v ON_ERROR_STOP=1 -d "$db" -c "CREATE EXTENSION taskdb" -f examples/provenance.sql >/dev/null

# Every claim of the example names one of the example's entities.
claim_ids=$(grep -o '"id": "[0-9a-f-]*"' examples/claims.json | sort -u | wc -l)
[ "$claim_ids" -ge 4 ] || { echo "examples/claims.json: expected ids"; exit 1; }

out=$("$cli" -d "$db" debug-provenance --verbose examples/report.json) || {
	echo "examples/report.json does not verify:"; echo "$out"; exit 1; }
echo "$out"
[ "$(grep -c '^\[PASS\]' <<<"$out")" -eq 7 ] || { echo "expected 7 PASS lines"; exit 1; }

# The example's claims published again give a report of the same shape.
fresh=$("$cli" -d "$db" publish examples/claims.json)
shape() {
	psql -X -At -v ON_ERROR_STOP=1 -d "$db" -v doc="$1" <<'SQL'
SELECT jsonb_agg(c - 'id') FROM jsonb_array_elements((:'doc')::jsonb->'claims_validated') c;
SQL
}
a=$(shape "$fresh")
b=$(shape "$(cat examples/report.json)")
[ -n "$a" ] && [ "$a" = "$b" ] || {
	echo "examples/report.json no longer matches what publishing examples/claims.json gives"; exit 1; }

# Change the data: the report stops holding, exit status 1, and the claim is named.
psql -X -q -d "$db" -c "UPDATE taskdb.runs SET status = 'failed' WHERE id = 'c9d0e1f2-0000-4000-8000-000000000001'"
rc=0
out=$("$cli" -d "$db" debug-provenance --verbose examples/report.json) || rc=$?
[ "$rc" -eq 1 ] || { echo "expected exit status 1 after the change, got $rc"; echo "$out"; exit 1; }
grep -q "^\[FAIL\] run_id: c9d0e1f2... - Expected status 'completed', got 'failed'" <<<"$out" || {
	echo "the failing run claim is not reported:"; echo "$out"; exit 1; }
grep -q "Mismatch: Status changed after snapshot" <<<"$out" || { echo "no mismatch line"; exit 1; }
psql -X -q -c "DROP DATABASE $db" postgres
echo "examples: ok"
