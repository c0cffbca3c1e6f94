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

# Node.js 20 or later and npm, for the client in clients/node.  Debian 12
# ships Node 18: when no node >= 20 is on PATH, Debian's nodejs and npm are
# installed, and then Node 20 from the npm registry (the "node" package),
# which npm puts in /usr/local/bin, ahead of /usr/bin on PATH.
node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if [ "$(node_major)" -lt 20 ] || ! command -v npm >/dev/null; then
	command -v node >/dev/null || packages+=(nodejs)
	command -v npm >/dev/null || packages+=(npm)
fi

sudo=
[ "$(id -u)" -eq 0 ] || sudo=sudo

install_node20() {
	[ "$(node_major)" -ge 20 ] && return 0
	echo "installing Node.js 20 from the npm registry (found $(node --version 2>/dev/null || echo none))"
	$sudo npm install -g --no-audit --no-fund --loglevel=error node@20
	hash -r
	if [ "$(node_major)" -lt 20 ]; then
		echo "install-deps: node on PATH is still $(node --version 2>/dev/null || echo missing); put $(npm prefix -g)/bin first on PATH" >&2
		return 1
	fi
}

missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done
if [ ${#missing[@]} -eq 0 ]; then
	install_node20
	exit
fi

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
[ $status -eq 0 ] || exit $status
install_node20
