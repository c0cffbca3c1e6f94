#!/usr/bin/env bash
# The taskdb command-line client (cli/taskdb), run against a database of its
# own:
#   - help, usage and version text, and exit status 2 with a one-line reason
#     for every kind of trouble: usage, files, bad JSON, no server, no
#     extension;
#   - on tasks and runs made here: publish a report, then verify and
#     debug-provenance it while it holds (exit 0), after it was altered (the
#     signature fails), after a run's status changed and after the run was
#     deleted (exit 1, the failing claims named);
#   - debug-provenance prints exactly what psql prints for the same query,
#     colours [PASS]/[FAIL] only on a terminal, and --json is verify;
#   - every way of naming the database reaches the same one.
#
# Outputs are compared with test/scripts/cli-expected/ once uuids,
# timestamps and signatures are replaced by <uuid>, <ts> and <hex>.  After a
# deliberate change of wording, `UPDATE_GOLDEN=1 bash test/scripts/cli.sh`
# rewrites those files; read the diff line by line before keeping it.  The
# checks that do not use those files hold whatever the wording.
set -uo pipefail
cd "$(dirname "$0")/../.."

cli=${TASKDB_CLI:-cli/taskdb}
golden_dir=test/scripts/cli-expected
db=taskdb_cli
bare=taskdb_cli_bare
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
: >"$work/errors"

fail() {
	printf 'FAIL: %s\n' "$*"
	failures=$((failures + 1))
}

# run NAME WANT COMMAND...
#   Runs COMMAND with stdout and stderr kept in $work/NAME.out and .err; its
#   exit status must be WANT.
run() {
	local name=$1 want=$2 got
	shift 2
	"$@" >"$work/$name.out" 2>"$work/$name.err"
	got=$?
	if [ "$got" -ne "$want" ]; then
		fail "$name: exit status $got, expected $want"
		head -n 20 "$work/$name.out" | sed 's/^/    stdout| /'
		head -n 20 "$work/$name.err" | sed 's/^/    stderr| /'
		return 1
	fi
	return 0
}

# trouble LABEL COMMAND...
#   COMMAND must exit 2 and print nothing on stdout.  "$ LABEL", its stderr
#   and its exit status are added to the transcript compared with
#   cli-expected/errors.txt.
trouble() {
	local label=$1 got
	shift
	"$@" >"$work/trouble.out" 2>"$work/trouble.err"
	got=$?
	{
		echo "\$ $label"
		cat "$work/trouble.err"
		echo "[exit $got]"
	} >>"$work/errors"
	[ "$got" -eq 2 ] || fail "$label: exit status $got, expected 2"
	[ -s "$work/trouble.out" ] && fail "$label: printed on stdout: $(head -c 300 "$work/trouble.out")"
	return 0
}

normalize() {
	sed -E \
		-e "s|$work|<work>|g" \
		-e 's/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/<uuid>/g' \
		-e 's/hmac-sha256:[0-9a-f]+/hmac-sha256:<hex>/g' \
		-e 's/(^|[^0-9a-f])[0-9a-f]{8}\.\.\./\1<id>.../g' \
		-e 's/[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}(:[0-9]{2})?)?/<ts>/g'
}

# golden NAME FILE
#   FILE, normalized, must equal cli-expected/NAME (UPDATE_GOLDEN=1: becomes it).
golden() {
	local name=$1 file=$2
	normalize <"$file" >"$work/normalized"
	if [ -n "${UPDATE_GOLDEN:-}" ]; then
		cp "$work/normalized" "$golden_dir/$name"
		echo "wrote $golden_dir/$name"
	elif ! diff -u "$golden_dir/$name" "$work/normalized" >"$work/diff" 2>&1; then
		fail "$name: output differs from $golden_dir/$name (- expected, + actual)"
		cat "$work/diff"
	fi
}

same() {
	local what=$1 a=$2 b=$3
	if ! cmp -s "$a" "$b"; then
		fail "$what"
		diff -u "$a" "$b" | head -n 40
	fi
}

sql() {
	psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" -c "$1"
}

# check_verify FILE PASSED SIGNATURE ID=KIND=STATUS...
#   The verify document in FILE says passed=PASSED; its claim rows, in
#   order, are the given ones, each naming its id in "claim", with a
#   mismatch exactly when FAIL; one more row, kind "signature", has status
#   SIGNATURE.
check_verify() {
	local file=$1
	shift
	if ! perl -MJSON::PP -e '
		my ($file, $passed, $sig, @want) = @ARGV;
		open my $f, "<", $file or die "$file: $!\n";
		my $d = eval { local $/; decode_json(<$f>) } or die "not JSON: $@";
		my @err;
		push @err, "passed is not $passed"
			unless JSON::PP::is_bool($d->{passed}) && ($d->{passed} ? "true" : "false") eq $passed;
		my @rows = @{$d->{results} || []};
		my @sigs = grep { $_->{kind} eq "signature" } @rows;
		my @claims = grep { $_->{kind} ne "signature" } @rows;
		push @err, scalar(@sigs) . " signature rows, expected 1" unless @sigs == 1;
		push @err, "signature row is $sigs[0]{status}, expected $sig" if @sigs == 1 && $sigs[0]{status} ne $sig;
		push @err, scalar(@claims) . " claim rows, expected " . scalar(@want) unless @claims == @want;
		for my $i (0 .. $#want) {
			my ($id, $kind, $status) = split /=/, $want[$i];
			my $r = $claims[$i] or last;
			push @err, "row " . ($i + 1) . " is $r->{kind} $r->{status}, expected $kind $status"
				unless $r->{kind} eq $kind && $r->{status} eq $status;
			push @err, "row " . ($i + 1) . " claim \"$r->{claim}\" does not name $id"
				unless index($r->{claim} // "", $id) >= 0;
		}
		for my $r (@rows) {
			for my $k (qw(claim kind status expected actual mismatch changed_at)) {
				push @err, "a row has no \"$k\"" unless exists $r->{$k};
			}
			push @err, "$r->{kind} row: FAIL without a mismatch"
				if $r->{status} eq "FAIL" && !defined $r->{mismatch};
			push @err, "$r->{kind} row: PASS with mismatch \"$r->{mismatch}\""
				if $r->{status} eq "PASS" && defined $r->{mismatch};
		}
		die join("\n", @err) . "\n" if @err;
	' "$file" "$@" 2>"$work/check.err"; then
		fail "verify document $(basename "$file"):"
		sed 's/^/    /' "$work/check.err"
	fi
}

# check_debug FILE VERBOSE ID=KIND=STATUS...
#   The debug-provenance lines in FILE: the header names the report's
#   snapshot; a [PASS] or [FAIL] line names each claim by kind and id prefix;
#   with VERBOSE=yes, Expected / Actual / Mismatch lines follow each [FAIL];
#   without, there are no indented lines.
check_debug() {
	local file=$1 verbose=$2 spec id kind status line next
	shift 2
	if ! head -n 1 "$file" | grep -qxF "Debugging provenance for snapshot: $snapshot_ts"; then
		fail "$(basename "$file"): first line is not the header naming snapshot $snapshot_ts"
	fi
	for spec in "$@"; do
		IFS== read -r id kind status <<<"$spec"
		grep -qE "^\[$status\] $kind: ${id:0:8}\.\.\. - " "$file" ||
			fail "$(basename "$file"): no \"[$status] $kind: ${id:0:8}... - \" line"
	done
	if [ "$verbose" = yes ]; then
		while IFS=: read -r line _; do
			next=$(sed -n "$((line + 1)),$((line + 3))p" "$file" | cut -c1-18 | tr '\n' '|')
			[ "$next" = "        Expected: |        Actual:   |        Mismatch: |" ] ||
				fail "$(basename "$file"): line $line ([FAIL]) is not followed by Expected, Actual, Mismatch"
		done < <(grep -n '^\[FAIL\]' "$file")
	elif grep -q '^ ' "$file"; then
		fail "$(basename "$file"): indented lines without --verbose"
	fi
}

# psql_debug VERBOSE: what psql prints for debug_provenance of the report.
psql_debug() {
	psql -X -A -t -v ON_ERROR_STOP=1 -d "$db" -v report="$(cat "$work/report.json")" <<SQL
SELECT * FROM taskdb.debug_provenance(:'report'::jsonb, $1);
SQL
}

# The same report, three ways: verify, debug-provenance, debug --verbose,
# each with its golden file; psql agrees; --json is verify; WANT is the exit status.
check_state() {
	local state=$1 want=$2 passed=$3
	shift 3
	run "verify-$state" "$want" "$cli" -d "$db" verify "$work/report.json" &&
		check_verify "$work/verify-$state.out" "$passed" PASS "$@"
	golden "verify-$state.json" "$work/verify-$state.out"

	run "debug-$state" "$want" "$cli" -d "$db" debug-provenance "$work/report.json" &&
		check_debug "$work/debug-$state.out" no "$@"
	golden "debug-$state.txt" "$work/debug-$state.out"
	run "debug-$state-verbose" "$want" "$cli" -d "$db" debug-provenance --verbose "$work/report.json" &&
		check_debug "$work/debug-$state-verbose.out" yes "$@"
	golden "debug-$state-verbose.txt" "$work/debug-$state-verbose.out"

	nfail=$(grep -c '^\[FAIL\]' "$work/debug-$state.out")
	nrows=$(perl -MJSON::PP -e 'local $/; print scalar grep { $_->{status} ne "PASS" } @{decode_json(<STDIN>)->{results}}' \
		<"$work/verify-$state.out" 2>/dev/null)
	[ "$nfail" = "$nrows" ] ||
		fail "$state: debug-provenance shows $nfail [FAIL] lines, verify $nrows failing rows"

	psql_debug false >"$work/psql-$state.out" 2>&1
	same "$state: debug-provenance differs from psql's SELECT * FROM taskdb.debug_provenance(...)" \
		"$work/psql-$state.out" "$work/debug-$state.out"
	psql_debug true >"$work/psql-$state-verbose.out" 2>&1
	same "$state: debug-provenance --verbose differs from psql's debug_provenance(..., true)" \
		"$work/psql-$state-verbose.out" "$work/debug-$state-verbose.out"
	grep -q $'\e' "$work/debug-$state.out" "$work/debug-$state-verbose.out" &&
		fail "$state: escape sequences in output that is not a terminal"

	run "json-$state" "$want" "$cli" debug-provenance -d "$db" --json "$work/report.json" &&
		same "$state: debug-provenance --json differs from verify" "$work/verify-$state.out" "$work/json-$state.out"
}

[ -x "$cli" ] || { echo "FAIL: $cli is not built (run make client)"; exit 1; }
# make install-client puts the client next to psql; TASKDB_CLI=path tests another build.
if [ -z "${TASKDB_CLI:-}" ] && [ -n "${PG_CONFIG:-}" ]; then
	installed="$("$PG_CONFIG" --bindir)/taskdb"
	cmp -s "$cli" "$installed" || fail "$installed is not the $cli just built (run make install-client)"
fi

psql -X -q -v ON_ERROR_STOP=1 -d postgres <<SQL || exit 1
SET client_min_messages = warning;
DROP DATABASE IF EXISTS $db;
DROP DATABASE IF EXISTS $bare;
CREATE DATABASE $db TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C';
CREATE DATABASE $bare TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C';
SQL
sql 'CREATE EXTENSION taskdb' || exit 1

# ------------------------------------------------------------------------
# Help, usage, version
# ------------------------------------------------------------------------

run help 0 "$cli" --help
cp "$work/help.out" "$work/help-all"
for c in publish verify debug-provenance doctor load export-hash migrate help; do
	run "help-$c" 0 "$cli" help "$c" && {
		echo "=== taskdb help $c"
		cat "$work/help-$c.out"
	} >>"$work/help-all"
	run "help2-$c" 0 "$cli" "$c" --help &&
		same "\"taskdb $c --help\" differs from \"taskdb help $c\"" "$work/help-$c.out" "$work/help2-$c.out"
	run "help3-$c" 0 "$cli" -h "$c" &&
		same "\"taskdb -h $c\" differs from \"taskdb help $c\"" "$work/help-$c.out" "$work/help3-$c.out"
done
golden help.txt "$work/help-all"
run help-h 0 "$cli" -h && same '"taskdb -h" differs from "taskdb --help"' "$work/help.out" "$work/help-h.out"
run help-cmd 0 "$cli" help && same '"taskdb help" differs from "taskdb --help"' "$work/help.out" "$work/help-cmd.out"
for c in help help-h help-cmd help-verify; do
	[ -s "$work/$c.err" ] && fail "$c: printed on stderr: $(cat "$work/$c.err")"
done
run version 0 "$cli" --version
[ "$(cat "$work/version.out")" = "taskdb (taskdb CLI) 1.1" ] ||
	fail "--version printed \"$(cat "$work/version.out")\""

# ------------------------------------------------------------------------
# Trouble: exit 2, one-line reason on stderr, nothing on stdout
# ------------------------------------------------------------------------

printf '{not json\n' >"$work/bad.json"
: >"$work/empty.json"
printf '{"claims": [\0]}' >"$work/nul.json"
truncate -s $((256 * 1024 * 1024 + 1)) "$work/big.json"

trouble 'taskdb' "$cli"
trouble 'taskdb frob' "$cli" frob
trouble 'taskdb --frob verify report.json' "$cli" --frob verify report.json
trouble 'taskdb verify --verbose report.json' "$cli" verify --verbose report.json
trouble 'taskdb publish --json claims.json' "$cli" publish --json claims.json
trouble 'taskdb verify' "$cli" verify
trouble 'taskdb verify a.json b.json' "$cli" verify a.json b.json
trouble 'taskdb -d' "$cli" -d
trouble 'taskdb help frob' "$cli" help frob
trouble 'taskdb verify missing.json' "$cli" verify "$work/missing.json"
trouble 'taskdb verify DIRECTORY' "$cli" verify "$work"
trouble 'taskdb verify empty.json' "$cli" verify "$work/empty.json"
trouble 'taskdb verify nul.json' "$cli" verify "$work/nul.json"
trouble 'taskdb verify big.json' "$cli" verify "$work/big.json"
trouble 'taskdb -d taskdb_cli verify bad.json' "$cli" -d "$db" verify "$work/bad.json"
trouble 'taskdb -d taskdb_cli debug-provenance - < bad.json' "$cli" -d "$db" debug-provenance - <"$work/bad.json"
trouble 'taskdb -d taskdb_cli publish bad.json' "$cli" -d "$db" publish "$work/bad.json"
trouble 'echo {} | taskdb -d taskdb_cli_bare verify -' "$cli" -d "$bare" verify - <<<'{}'
golden errors.txt "$work/errors"

# No server: libpq's wording varies by version, so only its framing is checked.
run noserver 2 "$cli" -d 'host=127.0.0.1 port=1 connect_timeout=2' verify "$work/bad.json"
head -n 1 "$work/noserver.err" | grep -q '^taskdb: connection failed: .*port 1 failed: ' ||
	fail "unreachable server: stderr does not start with \"taskdb: connection failed:\": $(cat "$work/noserver.err")"
[ "$(grep -c '^taskdb: ' "$work/noserver.err")" -eq 1 ] ||
	fail "unreachable server: expected one \"taskdb: \" line: $(cat "$work/noserver.err")"
[ -n "$(tail -n 1 "$work/noserver.err")" ] ||
	fail "unreachable server: stderr ends with a blank line"

# ------------------------------------------------------------------------
# Provenance: publish, then verify while the report holds and after changes
# ------------------------------------------------------------------------

task=$(sql "SELECT taskdb.create_task('cli report subject', '1.1.0')") || exit 1
run_id=$(sql "SELECT taskdb.create_run('$task', 'running')") || exit 1
sql "SELECT 1 FROM taskdb.set_run_status('$run_id', 'completed')" >/dev/null || exit 1
other_task=$(sql "SELECT taskdb.create_task('cli other subject', '1.1.0')") || exit 1
other_run=$(sql "SELECT taskdb.create_run('$other_task', 'completed')") || exit 1

cat >"$work/claims.json" <<JSON
[{"kind": "task_id", "id": "$task"},
 {"kind": "run_id", "id": "$run_id"},
 {"kind": "status_derived", "id": "$task"}]
JSON

if ! run publish 0 "$cli" -d "$db" publish "$work/claims.json"; then
	fail "publish failed; the provenance checks cannot run"
else
	cp "$work/publish.out" "$work/report.json"
	# Pretty JSON ending in one newline, the report of our claims.
	snapshot_ts=$(perl -MJSON::PP -e '
		local $/; my $text = <STDIN>;
		my $d = decode_json($text);
		die "not a JSON object\n" unless ref $d eq "HASH";
		die "not indented\n" unless $text =~ /^\{\n    "/;
		die "does not end with one newline\n" unless $text =~ /\}\n\z/;
		die "no verification_snapshot_ts\n" unless defined $d->{verification_snapshot_ts};
		die "no signature\n" unless defined $d->{signature};
		for my $id (@ARGV) { die "does not mention $id\n" unless index($text, $id) >= 0 }
		print $d->{verification_snapshot_ts};
	' "$task" "$run_id" <"$work/report.json" 2>"$work/check.err") ||
		fail "publish output: $(cat "$work/check.err")"
	run publish-stdin 0 "$cli" publish - -d "$db" <"$work/claims.json"

	holds=("$task=task_id=PASS" "$run_id=run_id=PASS" "$task=status_derived=PASS")
	check_state holds 0 true "${holds[@]}"

	# Every way of naming the database, options before or after the
	# subcommand, "-" for standard input, "--" before a file named like an option.
	cp "$work/report.json" "$work/-report.json"
	n=0
	for args in "-d $db verify REPORT" "verify REPORT -d $db" "-d$db verify REPORT" \
		"--dbname=$db verify REPORT" "--dbname $db verify REPORT" \
		"-d dbname=$db verify REPORT" "-d postgresql:///$db verify REPORT" \
		"-d $db verify -" "-d $db verify -- $work/-report.json"; do
		n=$((n + 1))
		read -ra argv <<<"${args//REPORT/$work/report.json}"
		run "conn$n" 0 "$cli" "${argv[@]}" <"$work/report.json" &&
			same "taskdb $args: output differs" "$work/verify-holds.out" "$work/conn$n.out"
	done
	run conn-env 0 env PGDATABASE="$db" "$cli" verify "$work/report.json" &&
		same "PGDATABASE=$db: output differs" "$work/verify-holds.out" "$work/conn-env.out"

	# The report altered to name another completed run: every claim still
	# holds, but the signature does not.
	sed "s/$run_id/$other_run/g" "$work/report.json" >"$work/altered.json"
	run altered 1 "$cli" -d "$db" verify "$work/altered.json" &&
		check_verify "$work/altered.out" false FAIL \
			"$task=task_id=PASS" "$other_run=run_id=PASS" "$task=status_derived=PASS"
	if run altered-debug 1 "$cli" -d "$db" debug-provenance "$work/altered.json"; then
		[ "$(grep -c '^\[FAIL\]' "$work/altered-debug.out")" -eq 1 ] ||
			fail "altered report: expected exactly one [FAIL] line (the signature)"
	fi

	# A key named twice: jsonb keeps the last value, a reader sees the first.
	# The run's claim gets "expected": "failed" before its real "completed"
	# (and once spelled with an escape); every file command refuses it
	# (exit 2, the key and where it is named), before anything is sent.
	perl -0pe 's/"expected": "completed"/"expected": "failed", "expected": "completed"/ or die' \
		"$work/report.json" >"$work/doubled.json" 2>>"$work/errors" ||
		fail "could not make the doubled report"
	perl -0pe 's/"expected": "completed"/"expect\\u0065d": "failed", "expected": "completed"/ or die' \
		"$work/report.json" >"$work/escaped.json" 2>>"$work/errors" ||
		fail "could not make the escaped report"
	printf '[{"kind": "run_id", "id": "%s", "expected": "failed", "expected": "completed"}]' "$run_id" \
		>"$work/doubled-claims.json"
	for c in "verify doubled.json" "debug-provenance doubled.json" "debug-provenance --json doubled.json" \
		"verify escaped.json" "publish doubled-claims.json"; do
		read -ra argv <<<"$c"
		argv[-1]=$work/${argv[-1]}
		n=$((n + 1))
		if run "dup$n" 2 "$cli" -d "$db" "${argv[@]}"; then
			[ -s "$work/dup$n.out" ] && fail "taskdb $c: printed on stdout"
			grep -q '^taskdb: .*: duplicate key "expected" in the object at \$\(\.claims_validated\)\?\[[0-9]\]: ' "$work/dup$n.err" ||
				fail "taskdb $c: stderr does not name the duplicate key: $(cat "$work/dup$n.err")"
		fi
	done

	# Terminal output: the tags coloured, nothing else changed; NO_COLOR.
	sql "SELECT 1 FROM taskdb.set_run_status('$run_id', 'failed')" >/dev/null || exit 1
	changed=("$task=task_id=PASS" "$run_id=run_id=FAIL" "$task=status_derived=FAIL")
	check_state changed 1 false "${changed[@]}"
	cmd=$(printf '%q ' env -u NO_COLOR "$cli" -d "$db" debug-provenance "$work/report.json")
	script -qec "$cmd" /dev/null </dev/null >"$work/tty.out" 2>&1
	rc=$?
	[ "$rc" -eq 1 ] || fail "on a terminal: exit status $rc, expected 1"
	grep -q $'^\e\\[32m\\[PASS\\]\e\\[0m task_id: ' "$work/tty.out" ||
		fail "on a terminal: [PASS] is not green"
	grep -q $'^\e\\[31m\\[FAIL\\]\e\\[0m run_id: ' "$work/tty.out" ||
		fail "on a terminal: [FAIL] is not red"
	tr -d '\r' <"$work/tty.out" | sed $'s/\e\\[[0-9]*m//g' >"$work/tty.plain"
	same "on a terminal: output differs from plain output beyond colour" "$work/debug-changed.out" "$work/tty.plain"
	cmd=$(printf '%q ' env NO_COLOR=1 "$cli" -d "$db" debug-provenance "$work/report.json")
	script -qec "$cmd" /dev/null </dev/null >"$work/tty-nocolor.out" 2>&1
	grep -q $'\e' "$work/tty-nocolor.out" && fail "NO_COLOR=1: escape sequences on a terminal"

	sql "DELETE FROM taskdb.runs WHERE id = '$run_id'" >/dev/null || exit 1
	deleted=("$task=task_id=PASS" "$run_id=run_id=FAIL" "$task=status_derived=FAIL")
	check_state deleted 1 false "${deleted[@]}"

	# A document that is not a report, or claims that are not claims: an
	# ERROR, exit 2, never a verdict.
	for doc in '[]' '{}' '"report"' '{"format": "taskdb-provenance/1"}'; do
		if run not-a-report 2 "$cli" -d "$db" verify - <<<"$doc"; then
			grep -q '^taskdb: ' "$work/not-a-report.err" ||
				fail "verify $doc: no \"taskdb: \" reason"
		fi
		run not-a-report-debug 2 "$cli" -d "$db" debug-provenance - <<<"$doc"
	done
	for doc in '{}' '5' '[{"kind": "task_id"}]' '[{"kind": "frob", "id": "'"$task"'"}]'; do
		if run not-claims 2 "$cli" -d "$db" publish - <<<"$doc"; then
			grep -q '^taskdb: ' "$work/not-claims.err" ||
				fail "publish $doc: no \"taskdb: \" reason"
		fi
	done

	# doctor: one line per check and the verdict; the exit status follows
	# the verdict (0 excellent: the suite's cluster preloads taskdb; 3
	# failing once a summary row is damaged).
	if run doctor 0 "$cli" -d "$db" doctor; then
		grep -q '^\[PASS\] metrics_preloaded - ' "$work/doctor.out" || fail "doctor: no PASS line for metrics"
		grep -q '^\[PASS\] summary_drift - ' "$work/doctor.out" || fail "doctor: no PASS line for drift"
		grep -q '^system_health: excellent ' "$work/doctor.out" || fail "doctor: verdict is not excellent"
		[ "$(grep -c '^\[' "$work/doctor.out")" -eq "$(sql "SELECT count(*) - 1 FROM taskdb.doctor()")" ] ||
			fail "doctor: not one line per check of taskdb.doctor()"
	fi
	run doctor-json 0 "$cli" -d "$db" doctor --json 2 &&
		perl -MJSON::PP -e 'local $/; my $d = decode_json(<STDIN>); exit !(ref $d eq "ARRAY" && $d->[-1]{check} eq "system_health" && $d->[-1]{status} eq "excellent")' \
			<"$work/doctor-json.out" || fail "doctor --json: not an array ending with system_health excellent"
	run doctor-zero 2 "$cli" -d "$db" doctor 0 &&
		grep -q '^taskdb: SAMPLE must be a positive whole number of tasks, not "0"$' "$work/doctor-zero.err" ||
		fail "doctor 0: no usage error naming the value"
	sql "UPDATE taskdb.task_status SET runs_total = runs_total + 1 WHERE task_id = '$task'" >/dev/null || exit 1
	if run doctor-failing 3 "$cli" -d "$db" doctor; then
		grep -q "^\[FAIL\] summary_drift - 1 of .* (first: $task)" "$work/doctor-failing.out" ||
			fail "doctor: the damaged summary row is not named"
		grep -q '^system_health: failing ' "$work/doctor-failing.out" || fail "doctor: verdict is not failing"
	fi

	# load and export-hash, in databases of their own: the same arguments
	# give the same hash; the line printed is what was loaded; a progress
	# bar only on a terminal; bad arguments and a second load refused.
	psql -X -q -d postgres -c "DROP DATABASE IF EXISTS ${db}_load1" -c "DROP DATABASE IF EXISTS ${db}_load2" \
		-c "CREATE DATABASE ${db}_load1" -c "CREATE DATABASE ${db}_load2" || exit 1
	for d in ${db}_load1 ${db}_load2; do
		psql -X -q -d "$d" -c "CREATE EXTENSION taskdb" || exit 1
	done
	if run load 0 "$cli" -d ${db}_load1 load 30 2 2 40 5; then
		grep -Eq '^loaded 30 tasks, 60 runs, 120 gates, 40 artifacts and [0-9]+ events in [0-9.]+ s$' "$work/load.out" ||
			fail "load: unexpected summary line: $(cat "$work/load.out")"
		events=$(psql -X -At -d ${db}_load1 -c "SELECT count(*) FROM taskdb.events")
		grep -q " and $events events in " "$work/load.out" || fail "load: the events printed are not the $events in the history"
		[ -s "$work/load.err" ] && fail "load: wrote to stderr without a terminal: $(head -c 200 "$work/load.err")"
	fi
	script -qec "$cli -d ${db}_load2 load 30 2 2 40 5" /dev/null </dev/null >"$work/load-tty.out" 2>&1
	grep -q $'\r\\[##############################\\] 100%  30/30 tasks' "$work/load-tty.out" ||
		fail "load on a terminal: no progress bar reaching 100%: $(head -c 300 "$work/load-tty.out" | tr '\r' '|')"
	[ "$(grep -o $'\r\\[' "$work/load-tty.out" | wc -l)" -ge 10 ] || fail "load on a terminal: the bar was drawn fewer than 10 times"
	run hash1 0 "$cli" -d ${db}_load1 export-hash
	run hash2 0 "$cli" -d ${db}_load2 export-hash
	grep -Eqx 'sha256:[0-9a-f]{64}' "$work/hash1.out" || fail "export-hash: not one sha256 line: $(cat "$work/hash1.out")"
	same "export-hash: the same load gives another hash" "$work/hash1.out" "$work/hash2.out"
	[ "$(cat "$work/hash1.out")" = "$(psql -X -At -d ${db}_load1 -c 'SELECT taskdb.export_hash()')" ] ||
		fail "export-hash differs from taskdb.export_hash()"
	psql -X -q -d ${db}_load2 -c "UPDATE taskdb.gates SET status = 'skipped' WHERE id = (SELECT id FROM taskdb.gates ORDER BY id LIMIT 1)"
	run hash3 0 "$cli" -d ${db}_load2 export-hash
	cmp -s "$work/hash1.out" "$work/hash3.out" && fail "export-hash: one changed gate, same hash"
	run load-again 2 "$cli" -d ${db}_load1 load 30 2 2 40 5 &&
		grep -q '^taskdb: generate_synthetic: the dataset of seed 5 is already loaded$' "$work/load-again.err" ||
		fail "load twice: no error naming the seed: $(cat "$work/load-again.err")"
	grep -q '^HINT:  ' "$work/load-again.err" || fail "load twice: no hint"
	run load-bad 2 "$cli" -d ${db}_load1 load 30 x &&
		grep -q '^taskdb: RUNS_PER_TASK must be a whole number, not "x"$' "$work/load-bad.err" ||
		fail "load 30 x: no usage error naming the argument"
	run load-many 2 "$cli" -d ${db}_load1 load 1 2 3 4 5 6
	psql -X -q -d postgres -c "DROP DATABASE ${db}_load1" -c "DROP DATABASE ${db}_load2"
fi

if [ "$failures" -gt 0 ]; then
	echo "cli: $failures check(s) failed"
	exit 1
fi
psql -X -q -d postgres -c "DROP DATABASE $db" -c "DROP DATABASE $bare"
echo "cli: all checks passed"
