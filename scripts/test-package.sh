#!/usr/bin/env bash
# The Debian packages, built and installed as a user would:
#
#   1. dpkg-buildpackage -us -uc -b on this Debian 12 machine, from a copy of
#      the source tree (debian/rules also runs the regression and isolation
#      suites against the built package);
#   2. lintian: no errors;
#   3. the packages installed with apt into a freshly debootstrapped Debian 12
#      root filesystem that has PostgreSQL 15 from the archive (cached under
#      /var/tmp/taskdb-rootfs, see scripts/rootfs.sh);
#   4. there, CREATE EXTENSION taskdb and the taskdb command on a new cluster;
#   5. there, debian/tests/installcheck, the package's autopkgtest.
#
#   scripts/test-package.sh [OUTDIR]     keeps the .deb files in OUTDIR
#
# Needs root.  Ends with "N passed, N failed" (one per step above) and exits
# non-zero on any failure.  TASKDB_PACKAGE_PORT is the port of the clusters
# it starts (default 55651).
set -uo pipefail
cd "$(dirname "$0")/.."
src=$PWD
source scripts/rootfs.sh
[ "$(id -u)" -eq 0 ] || { echo "scripts/test-package.sh needs root (apt-get, debootstrap, chroot)" >&2; exit 2; }
export PGPORT=${TASKDB_PACKAGE_PORT:-55651}

work=$(mktemp -d /tmp/taskdb-package.XXXXXX)
# The build-time tests run PostgreSQL as another user, which reads the
# packaged files from here.
chmod 755 "$work"
cleanup() {
	rootfs_cleanup
	rm -rf "$work"
}
trap cleanup EXIT

passed=0
failed=0
step() {
	local name=$1
	shift
	echo "=== $name"
	local start=$SECONDS
	if "$@"; then
		passed=$((passed + 1))
		echo "ok - $name ($((SECONDS - start)) s)"
	else
		failed=$((failed + 1))
		echo "not ok - $name ($((SECONDS - start)) s)"
		return 1
	fi
}

build_dependencies() {
	local missing=() p
	for p in debootstrap zstd lintian dpkg-dev; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	if [ ${#missing[@]} -gt 0 ] || ! dpkg-checkbuilddeps >/dev/null 2>&1; then
		apt-get update -qq &&
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null &&
			DEBIAN_FRONTEND=noninteractive apt-get build-dep -y -qq ./ >/dev/null
	fi
}

build() {
	mkdir -p "$work/taskdb"
	git ls-files -z --cached --others --exclude-standard |
		xargs -0 cp --parents -t "$work/taskdb" || return 1
	(cd "$work/taskdb" && timeout 1200 dpkg-buildpackage -us -uc -b) >"$work/build.log" 2>&1 || {
		tail -n 80 "$work/build.log"
		return 1
	}
	grep -E '(All [0-9]+ tests passed|tests? failed)' "$work/build.log"
	ls "$work"/*.deb
}

run_lintian() {
	# lintian warns when run as root; what counts here are errors.
	timeout 600 lintian --fail-on error "$work"/taskdb_*.changes 2>&1 | grep -v 'root privileges'
	return "${PIPESTATUS[0]}"
}

install_packages() {
	rootfs_open bookworm-pg15 bookworm+updates postgresql-15 postgresql-15-jit-llvm postgresql-server-dev-all make || return 1
	mkdir -p "$ROOTFS/tmp/debs"
	cp "$work"/postgresql-15-taskdb_*.deb "$work"/taskdb-client_*.deb "$ROOTFS/tmp/debs/"
	# apt resolves what the packages need, as it would for a user.
	rootfs_run sh -c 'apt-get update -qq && apt-get install -y -qq /tmp/debs/*.deb >/dev/null' || return 1
	rootfs_run dpkg-query -W postgresql-15-taskdb taskdb-client
}

create_extension() {
	rootfs_run env PGPORT="$PGPORT" pg_virtualenv -v 15 -o shared_preload_libraries=taskdb sh -ec '
		psql -X -v ON_ERROR_STOP=1 -At -c "CREATE EXTENSION taskdb" \
			-c "SELECT extname, extversion FROM pg_extension WHERE extname = '\''taskdb'\''" \
			-c "SELECT taskdb.status_derived(taskdb.create_task('\''packaged'\'', '\''1.0.0'\''))"
		taskdb --version
		taskdb doctor'
}

autopkgtest() {
	mkdir -p "$ROOTFS/src"
	cp -a "$work/taskdb" "$ROOTFS/src/taskdb"
	# autopkgtest runs the test from a clean source tree.
	rm -rf "$ROOTFS/src/taskdb"/build-* "$ROOTFS/src/taskdb/debian/tmp"
	ROOTFS_TIMEOUT=900 rootfs_run sh -c "cd /src/taskdb && PGPORT=$PGPORT debian/tests/installcheck"
}

step "build dependencies" build_dependencies &&
	step "dpkg-buildpackage -us -uc -b" build &&
	step "lintian (no errors)" run_lintian &&
	step "install into a fresh Debian 12" install_packages &&
	step "CREATE EXTENSION taskdb and the taskdb command" create_extension &&
	step "debian/tests/installcheck" autopkgtest
[ $# -gt 0 ] && mkdir -p "$1" && cp "$work"/*.deb "$1"/

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -eq 6 ]
