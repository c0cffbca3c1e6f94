# Starts the bench's throwaway cluster and runs a driver in it: sourced by
# bench/run.sh and bench/acceptance.sh, from the repository root, as
#   bench_cluster NAME DEFAULT_PORT DRIVER [GUC=VALUE...]
# NAME is the caller's name in messages; the settings after DRIVER are the
# caller's own; BENCH_PORT overrides the port and BENCH_PGOPTS adds settings.
bench_cluster() {
	local name=$1 port=$2 driver=$3 tool o
	shift 3
	for tool in pg_virtualenv pgbench psql awk sort; do
		command -v "$tool" >/dev/null || { echo "$name: $tool not found" >&2; exit 2; }
	done
	if [ ! -f "$(pg_config --sharedir)/extension/taskdb.control" ]; then
		echo "$name: taskdb is not installed; run 'make install' first" >&2
		exit 2
	fi

	export BENCH_ROOT=$PWD/bench
	mkdir -p bench/out

	# One guc per -o.  pg_virtualenv itself sets fsync=off; we turn it back on so
	# commits cost what they cost in production (a later setting wins).
	# Checkpoints are taken by the driver before each measurement, never by a
	# timer in the middle of one; JIT off so neither side pays a compile.
	local opts=(
		-o shared_buffers=1GB
		-o max_connections=200
		-o fsync=on
		-o synchronous_commit=on
		-o max_wal_size=16GB
		-o checkpoint_timeout=1h
		-o maintenance_work_mem=256MB
		-o work_mem=16MB
		-o jit=off
		-o deadlock_timeout=1s
	)
	for o in "$@" ${BENCH_PGOPTS:-}; do
		opts+=(-o "$o")
	done

	# -t: keep the cluster in a private temporary directory (as root,
	# pg_virtualenv would otherwise create the machine-wide cluster 15/regress,
	# which collides with anyone else's throwaway cluster).
	export PGPORT=${BENCH_PORT:-$port}
	exec pg_virtualenv -t "${opts[@]}" bash "$driver"
}
