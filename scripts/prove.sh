#!/usr/bin/env bash
# Runs Perl TAP tests (default: test/t/*.pl) with PostgreSQL::Test::Cluster,
# the way PGXS's "make installcheck" does (PROVE_TESTS in the Makefile).
# The tests start clusters of their own with initdb, which refuses to run as
# root: as root, they are copied to a directory the postgres user owns and
# run as that user.  Usage: scripts/prove.sh [prove options] [test/t/NNN_name.pl ...]
set -euo pipefail
cd "$(dirname "$0")/.."
pg_config=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
bindir=$("$pg_config" --bindir)
pgxs=$(dirname "$("$pg_config" --pgxs)")/../..
case " $* " in *.pl\ *) ;; *) set -- "$@" test/t/*.pl ;; esac

work=$(mktemp -d /tmp/taskdb-tap.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/test"
cp -r test/t "$work/test/"
cp -r config "$work/"
as=()
if [ "$(id -u)" -eq 0 ]; then
	chown -R postgres "$work"
	as=(runuser -u postgres --)
fi
cd "$work"
"${as[@]}" env PATH="$bindir:$PATH" TESTDIR="$work" PG_TEST_PORT_DIR="$work" \
	PG_REGRESS="$pgxs/src/test/regress/pg_regress" CI="${CI:-}" \
	prove -I "$pgxs/src/test/perl" -I test/t "$@" || {
	rc=$?
	for f in tmp_check/log/*; do
		[ -f "$f" ] && { echo "--- $f"; tail -n 60 "$f"; }
	done
	exit $rc
}
