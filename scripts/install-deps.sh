#!/usr/bin/env bash
# Installs the Debian 12 packages taskdb needs to build, run and test, if any
# are missing.  Idempotent; needs root (or sudo).
set -euo pipefail

packages=(
	build-essential
	postgresql-15
	postgresql-contrib
	postgresql-server-dev-15
	postgresql-15-pgtap
	libtap-parser-sourcehandler-pgtap-perl
	libipc-run-perl
	libssl-dev
	libsqlite3-dev
	sqlite3
	prometheus
)

missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=
[ "$(id -u)" -eq 0 ] || sudo=sudo
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# Install without starting services: the tests run their own throwaway
# clusters and call promtool only; a packaged Prometheus server would
# otherwise start listening on every interface.
policy=/usr/sbin/policy-rc.d
made_policy=
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
	$sudo chmod 755 "$policy"
	made_policy=1
fi
status=0
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || status=$?
[ -n "$made_policy" ] && $sudo rm -f "$policy"
exit $status
