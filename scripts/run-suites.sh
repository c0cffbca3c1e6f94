#!/usr/bin/env bash
# Runs every test suite against the cluster described by the libpq
# environment (scripts/test.sh provides a throwaway one) and prints
# "N passed, N failed".  Counts one test per pg_regress file, isolation spec,
# pgTAP file, and script test.
set -uo pipefail
cd "$(dirname "$0")/.."
export PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}

passed=0
failed=0
failures=()
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT

# Count the tests pg_regress and pg_isolation_regress report: "test x ... ok"
# / "... FAILED" up to PostgreSQL 15, TAP lines "ok 1 - x" / "not ok 1 - x"
# from 16 on.
count_regress() {
	local out=$1 p f
	local ok_re='(\.\.\. ok|^ok [0-9]+ )' bad_re='(\.\.\. (FAILED|failed)|^not ok [0-9]+ )'
	p=$(grep -cE "$ok_re" "$out")
	f=$(grep -cE "$bad_re" "$out")
	passed=$((passed + p))
	failed=$((failed + f))
	grep -E "$bad_re" "$out" | while read -r line; do echo "FAILED: $line"; done
	[ "$f" -eq 0 ] || failures+=("$(grep -E "$bad_re" "$out" | tr -s ' ')")
}

run_step() {
	local name=$1
	shift
	echo "=== $name"
	if "$@" >"$log/step.out" 2>&1; then
		passed=$((passed + 1))
		tail -n 3 "$log/step.out"
		echo "ok - $name"
	else
		failed=$((failed + 1))
		failures+=("$name")
		cat "$log/step.out"
		echo "not ok - $name"
	fi
}

echo "=== pg_regress (sql/)"
make -s installcheck ISOLATION= TAP_TESTS= >"$log/regress.out" 2>&1
cat "$log/regress.out"
count_regress "$log/regress.out"
[ -f regression.diffs ] && cat regression.diffs

echo "=== isolation (specs/)"
make -s installcheck REGRESS= TAP_TESTS= >"$log/iso.out" 2>&1
cat "$log/iso.out"
count_regress "$log/iso.out"
[ -f output_iso/regression.diffs ] && cat output_iso/regression.diffs

echo "=== pgTAP (test/pgtap/)"
psql -X -q -c 'DROP DATABASE IF EXISTS taskdb_pgtap' -c 'CREATE DATABASE taskdb_pgtap' postgres
for f in test/pgtap/*.sql; do
	[ -e "$f" ] || continue
	if pg_prove -d taskdb_pgtap "$f" >"$log/tap.out" 2>&1; then
		passed=$((passed + 1))
		echo "ok - $f"
	else
		failed=$((failed + 1))
		failures+=("$f")
		cat "$log/tap.out"
		echo "not ok - $f"
	fi
done

echo "=== Perl TAP (test/t/): clusters of their own"
for t in test/t/*.pl; do
	[ -e "$t" ] || continue
	run_step "$t" scripts/prove.sh "$t"
done

for t in test/scripts/*.sh test/differential/run.sh; do
	[ -e "$t" ] || continue
	run_step "$t" bash "$t"
done

echo
if [ "$failed" -gt 0 ]; then
	echo "failures:"
	printf '  %s\n' "${failures[@]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
