# Root filesystems of other Debian releases, to build and test taskdb on
# other PostgreSQL majors and to install its packages on a clean system.
# Sourced (not run) by scripts/test-majors.sh and scripts/test-package.sh;
# needs root, debootstrap and zstd.
#
#   rootfs_open NAME SUITE[+updates] PACKAGE...
#       Sets ROOTFS to a fresh root filesystem of Debian SUITE with the
#       PACKAGEs installed, and mounts /proc, /dev and /dev/pts in it.
#       SUITE+updates adds the suite's security and stable updates, as an
#       installed system has them (debootstrap sets up the suite alone).  The
#       first time, it is made with debootstrap and apt-get and saved as
#       /var/tmp/taskdb-rootfs/NAME-<key>.tar.zst, where <key> is a hash of
#       SUITE and the PACKAGEs; later calls unpack that tarball.  Delete the
#       tarball to start from a new debootstrap.
#   rootfs_run COMMAND...
#       Runs COMMAND inside ROOTFS as root, with a plain environment.
#   rootfs_close
#       Ends what still runs inside ROOTFS, unmounts it and removes it.
#   rootfs_cleanup
#       rootfs_close for every root filesystem still open: the caller traps
#       EXIT with it (trap rootfs_cleanup EXIT) so that no mount outlives
#       the script, whatever way it ends.
#
# Packages come from the mirror debootstrap chooses, or DEBIAN_MIRROR.
# No service starts inside (policy-rc.d says no); tests start their own
# clusters.

ROOTFS=
# Part of every cache key: change it when rootfs_create makes something else.
rootfs_recipe=2
rootfs_cache=${TASKDB_ROOTFS_CACHE:-/var/tmp/taskdb-rootfs}
rootfs_open_list=()

rootfs_log() {
	echo "rootfs: $*" >&2
}

# Mount points, innermost first.
rootfs_mounts() {
	local root=$1
	findmnt -rn -o TARGET | awk -v r="$root" 'index($0, r "/") == 1' | sort -r
}

# Ends every process running inside root, then unmounts everything in it.
rootfs_umount() {
	local root=$1 pid tries m
	# Processes started inside (a cluster left behind by a failed test).
	for tries in 1 2 3 4 5 6 7 8 9 10; do
		local pids=()
		for pid in /proc/[0-9]*; do
			[ "$(readlink "$pid/root" 2>/dev/null)" = "$root" ] && pids+=("${pid#/proc/}")
		done
		[ ${#pids[@]} -eq 0 ] && break
		if [ "$tries" -lt 5 ]; then
			kill -TERM "${pids[@]}" 2>/dev/null || true
		else
			kill -KILL "${pids[@]}" 2>/dev/null || true
		fi
		sleep 1
	done
	for tries in 1 2 3; do
		while read -r m; do
			[ -n "$m" ] || continue
			umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
		done < <(rootfs_mounts "$root")
		[ -z "$(rootfs_mounts "$root")" ] && break
		sleep 1
	done
	if [ -n "$(rootfs_mounts "$root")" ]; then
		rootfs_log "still mounted: $(rootfs_mounts "$root" | tr '\n' ' ')"
		return 1
	fi
}

rootfs_close_one() {
	local root=$1
	[ -n "$root" ] && [ -d "$root" ] || return 0
	# Never remove a tree that still has the host's /dev in it.
	rootfs_umount "$root" || {
		rootfs_log "left in place: $root"
		return 1
	}
	rm -rf --one-file-system "$root"
}

rootfs_close() {
	local root=$ROOTFS keep=() r
	rootfs_close_one "$root" || return 1
	for r in "${rootfs_open_list[@]}"; do
		[ "$r" = "$root" ] || keep+=("$r")
	done
	rootfs_open_list=("${keep[@]}")
	ROOTFS=
}

rootfs_cleanup() {
	local r
	for r in "${rootfs_open_list[@]}"; do
		rootfs_close_one "$r" || true
	done
	rootfs_open_list=()
	ROOTFS=
}

rootfs_mount() {
	local root=$1
	mount -t proc proc "$root/proc"
	mount --bind /dev "$root/dev"
	mount --bind /dev/pts "$root/dev/pts"
	# /dev/shm is a directory of the host's /dev (bound above): PostgreSQL's
	# dynamic shared memory works in it.
}

rootfs_run() {
	timeout --kill-after=30 "${ROOTFS_TIMEOUT:-3600}" \
		chroot "$ROOTFS" /usr/bin/env -i HOME=/root LANG=C.UTF-8 \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		DEBIAN_FRONTEND=noninteractive CI="${CI:-}" "$@"
}

# Makes the root filesystem ROOTFS from nothing.
rootfs_create() {
	local suite=${1%+updates} updates= mirror
	[ "$1" = "$suite" ] || updates=yes
	shift
	rootfs_log "debootstrap $suite (once; cached afterwards)"
	timeout 1800 debootstrap --variant=minbase "$suite" "$ROOTFS" ${DEBIAN_MIRROR:+"$DEBIAN_MIRROR"} \
		>"$ROOTFS.debootstrap.log" 2>&1 || {
		tail -n 30 "$ROOTFS.debootstrap.log" >&2
		return 1
	}
	rm -f "$ROOTFS.debootstrap.log"
	printf '#!/bin/sh\nexit 101\n' >"$ROOTFS/usr/sbin/policy-rc.d"
	chmod 755 "$ROOTFS/usr/sbin/policy-rc.d"
	cp /etc/resolv.conf "$ROOTFS/etc/resolv.conf" 2>/dev/null || true
	# unstable's Release file is valid for a week only; a mirror that serves
	# a snapshot of the archive must still do.
	echo 'Acquire::Check-Valid-Until "false";' >"$ROOTFS/etc/apt/apt.conf.d/99taskdb-valid-until"
	if [ -n "$updates" ]; then
		read -r _ mirror _ < <(grep -m1 '^deb ' "$ROOTFS/etc/apt/sources.list")
		{
			echo "deb ${mirror%/} $suite-updates main"
			echo "deb ${mirror%/}-security $suite-security main"
		} >>"$ROOTFS/etc/apt/sources.list"
	fi
	rootfs_mount "$ROOTFS"
	rootfs_log "apt-get install $*"
	rootfs_run sh -c 'apt-get update -qq && apt-get install -y -qq --no-install-recommends "$@" >/dev/null && apt-get clean' \
		sh "$@" || return 1
	# Postinst scripts create a cluster "main"; tests make their own.
	rootfs_run sh -c 'for c in $(pg_lsclusters -h 2>/dev/null | cut -d" " -f1,2 | tr " " /); do
		pg_dropcluster --stop ${c%/*} ${c#*/}; done' || true
}

rootfs_open() {
	local name=$1 suite=$2 key tarball
	shift 2
	key=$(printf '%s\n' "$rootfs_recipe" "$suite" "$@" | sha256sum | cut -c1-12)
	tarball=$rootfs_cache/$name-$key.tar.zst
	mkdir -p "$rootfs_cache"
	ROOTFS=$(mktemp -d "$rootfs_cache/$name.XXXXXX")
	chmod 755 "$ROOTFS"
	rootfs_open_list+=("$ROOTFS")
	if [ -f "$tarball" ]; then
		rootfs_log "$name from $tarball"
		tar -I zstd -xf "$tarball" -C "$ROOTFS"
		rootfs_mount "$ROOTFS"
		return 0
	fi
	rootfs_create "$suite" "$@" || return 1
	# Saved unmounted, under a temporary name until complete.
	rootfs_umount "$ROOTFS" || return 1
	rm -f "$rootfs_cache/$name"-*.tar.zst
	tar -I "zstd -T0 -3" -cf "$tarball.part" -C "$ROOTFS" --one-file-system . && mv "$tarball.part" "$tarball"
	rootfs_log "saved $tarball ($(du -h "$tarball" | cut -f1))"
	rootfs_mount "$ROOTFS"
}
