#!/usr/bin/env bash
# make check from a clean copy of the tree: no cluster needed, the
# regression and isolation suites run on temporary instances that preload
# taskdb.  PostgreSQL refuses root, so as root the copy belongs to the
# postgres user and make runs as that user; make check itself, run as root,
# must refuse with a message saying so.
set -euo pipefail
cd "$(dirname "$0")/../.."
pg_config=${PG_CONFIG:-pg_config}
work=$(mktemp -d /tmp/taskdb-check.XXXXXX)
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"
if git rev-parse --git-dir >/dev/null 2>&1; then
	git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$work"
else
	tar --exclude='./results' --exclude='./tmp_*' --exclude='*.o' --exclude='*.so' -cf - . | tar -xf - -C "$work"
	make -s -C "$work" clean PG_CONFIG="$pg_config" >/dev/null
fi
as=()
if [ "$(id -u)" -eq 0 ]; then
	if timeout 600 make -C "$work" check PG_CONFIG="$pg_config" >"$work/root.out" 2>&1; then
		echo "FAIL: make check ran as root"
		exit 1
	fi
	grep -q 'refuses to run as root' "$work/root.out" || { cat "$work/root.out"; echo "FAIL: no clear refusal as root"; exit 1; }
	chown -R postgres "$work"
	as=(runuser -u postgres --)
fi
if ! timeout 900 "${as[@]}" make -C "$work" check PG_CONFIG="$pg_config" >"$work/check.out" 2>&1; then
	cat "$work/check.out"
	for f in "$work/regression.diffs" "$work/output_iso/regression.diffs"; do
		[ -f "$f" ] && cat "$f"
	done
	echo "FAIL: make check"
	exit 1
fi
grep -E '(tests passed|All [0-9]+ tests|^# All)' "$work/check.out"
echo "make check: ok"
