#!/usr/bin/env bash
# The suite on every PostgreSQL major taskdb is tested on:
#
#   15  on this Debian 12 machine: scripts/test.sh, the whole suite;
#   17  in a Debian 13 "trixie" root filesystem (postgresql-17);
#   18  in a Debian unstable "sid" root filesystem (postgresql-18);
#   13  compiled only, in a Debian 11 "bullseye" root filesystem
#       (postgresql-server-dev-13): no Debian release has a server of it
#       with pgTAP... and 14 and 16 are in no Debian release at all.
#
# In each root filesystem taskdb is built with warnings as errors, installed,
# and scripts/run-suites.sh runs on a throwaway cluster that preloads it:
# pg_regress, the isolation specs, pgTAP, the Perl TAP tests and the script
# tests, all of them (Prometheus is installed for the alert rules and the
# scrape test, Node.js for the client in clients/node).  A compile-only
# major counts as one test: the extension and the client build.  The root
# filesystems are made with debootstrap the first time and cached as tarballs under
# /var/tmp/taskdb-rootfs (see scripts/rootfs.sh); a cold run takes minutes
# more per major.
#
#   scripts/test-majors.sh [MAJOR...]      default: 15 17 18 13
#
# Needs root.  Prints each major's "N passed, N failed" and, last, the sum of
# them all; exits non-zero if any test failed or a major could not be tested.
# TASKDB_MAJORS_PORT is the port of the clusters inside (default 55650).
set -uo pipefail
cd "$(dirname "$0")/.."
src=$PWD
source scripts/rootfs.sh
trap rootfs_cleanup EXIT

[ "$(id -u)" -eq 0 ] || { echo "scripts/test-majors.sh needs root (debootstrap, chroot)" >&2; exit 2; }
majors=("$@")
[ ${#majors[@]} -gt 0 ] || majors=(15 17 18 13)
compile_only=" 13 "

missing=()
for tool in debootstrap zstd; do
	command -v "$tool" >/dev/null || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "installing: ${missing[*]}"
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		"${missing[@]}" >/dev/null || exit 2
fi

suite_of() {
	case $1 in
	13) echo bullseye ;;
	17) echo trixie ;;
	18) echo sid ;;
	*) return 1 ;;
	esac
}

# Everything a major's suite (or build) needs inside its root filesystem.
packages_of() {
	local v=$1
	case $compile_only in
	*" $v "*)
		echo build-essential libssl-dev libpq-dev libsqlite3-dev postgresql-server-dev-$v
		return
		;;
	esac
	echo build-essential libssl-dev libpq-dev libsqlite3-dev sqlite3 \
		libipc-run-perl libtap-parser-sourcehandler-pgtap-perl \
		postgresql-$v postgresql-server-dev-$v postgresql-$v-pgtap prometheus nodejs npm
}

# The source tree as it is (committed or not), without build products.
copy_source() {
	local dest=$1
	mkdir -p "$dest"
	git -C "$src" ls-files -z --cached --others --exclude-standard |
		(cd "$src" && xargs -0 cp --parents -t "$dest" 2>/dev/null)
}

run_in_rootfs() {
	local v=$1 suite
	suite=$(suite_of "$v") || { echo "no root filesystem known for PostgreSQL $v"; return 2; }
	# shellcheck disable=SC2046
	rootfs_open "$suite-pg$v" "$suite" $(packages_of "$v") || {
		rootfs_cleanup
		return 2
	}
	copy_source "$ROOTFS/src/taskdb"
	# The host's certificate authorities, for npm inside (a network that
	# inspects TLS has its own, which the root filesystem's bundle lacks).
	if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
		mkdir -p "$ROOTFS/etc/ssl"
		cp /etc/ssl/certs/ca-certificates.crt "$ROOTFS/etc/ssl/host-ca-certificates.crt"
	fi
	case $compile_only in
	*" $v "*)
		cat >"$ROOTFS/src/run.sh" <<EOF
cd /src/taskdb
export PG_CONFIG=/usr/lib/postgresql/$v/bin/pg_config
\$PG_CONFIG --version
if make -s -k && make -s -k client; then
	echo "ok - PostgreSQL $v: the extension and the client build (warnings are errors)"
	echo "1 passed, 0 failed"
else
	echo "not ok - PostgreSQL $v: the build failed"
	echo "0 passed, 1 failed"
	exit 1
fi
EOF
		;;
	*)
		cat >"$ROOTFS/src/run.sh" <<EOF
set -eu
cd /src/taskdb
export PG_CONFIG=/usr/lib/postgresql/$v/bin/pg_config
\$PG_CONFIG --version
make -s && make -s client && make -s install && make -s install-client
if [ -f /etc/ssl/host-ca-certificates.crt ]; then
	export NODE_EXTRA_CA_CERTS=/etc/ssl/host-ca-certificates.crt NPM_CONFIG_CAFILE=/etc/ssl/host-ca-certificates.crt
fi
export PGPORT=${TASKDB_MAJORS_PORT:-55650}
# max_connections as scripts/test.sh sets it: the Node.js client's load test opens 100.
exec pg_virtualenv -v $v -t -o shared_preload_libraries=taskdb -o max_prepared_transactions=10 \\
	-o deadlock_timeout=100ms -o max_connections=150 scripts/run-suites.sh
EOF
		;;
	esac
	ROOTFS_TIMEOUT=1800 rootfs_run bash /src/run.sh
	local rc=$?
	rootfs_close
	return $rc
}

total_passed=0
total_failed=0
results=()
log=$(mktemp)
for v in "${majors[@]}"; do
	echo "=============== PostgreSQL $v"
	start=$(date +%s)
	# Not in a pipeline: run_in_rootfs must run in this shell, whose EXIT
	# trap unmounts whatever it left mounted (a subshell has no trap).  The
	# output goes to the log and is followed from there as it is written.
	: >"$log"
	tail -n +1 -f "$log" &
	follower=$!
	if [ "$v" = 15 ]; then
		bash scripts/test.sh >"$log" 2>&1
	else
		run_in_rootfs "$v" >"$log" 2>&1
	fi
	rc=$?
	sleep 1
	kill "$follower" 2>/dev/null
	wait "$follower" 2>/dev/null
	secs=$(($(date +%s) - start))
	summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)
	if [ -z "$summary" ]; then
		# Nothing ran (no build, no root filesystem): one failure.
		summary="0 passed, 1 failed"
	elif [ "$rc" -ne 0 ] && [[ $summary == *" 0 failed"* ]]; then
		summary="${summary/ 0 failed/ 1 failed}"
	fi
	read -r p _ f _ <<<"${summary//,/}"
	total_passed=$((total_passed + p))
	total_failed=$((total_failed + f))
	case $compile_only in
	*" $v "*) results+=("PostgreSQL $v (compiled only): $summary ($secs s)") ;;
	*) results+=("PostgreSQL $v: $summary ($secs s)") ;;
	esac
done
rm -f "$log"

echo
printf '%s\n' "${results[@]}"
echo "$total_passed passed, $total_failed failed"
[ "$total_failed" -eq 0 ] && [ "$total_passed" -gt 0 ]
