# Chaos: the server is killed with SIGKILL under 16 writers, five times; a
# backend is killed inside the commit-time status flush; bulk loads are
# aborted midway.  After each: every acknowledged commit is there, no
# transaction is half there, in-doubt commits are decided by pg_xact_status,
# the summary has no drift, doctor() says excellent, and the data the
# writers never touched hashes as before.  fsync is on.
use strict;
use warnings;

use IPC::Run;
use Time::HiRes qw(sleep time);

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $seed = $ENV{TASKDB_CHAOS_SEED} // int(time);
srand($seed);
note("kill points drawn with seed $seed (set TASKDB_CHAOS_SEED to repeat them)");

my $WRITERS = 16;
my $CYCLES = 5;
my $TXNS_PER_WRITER = 3000;    # more than a writer gets through before the kill

my $node = PostgreSQL::Test::Cluster->new('chaos');
$node->init;
$node->append_conf('postgresql.conf', qq(
fsync = on
shared_preload_libraries = 'taskdb'
max_connections = 50
restart_after_crash = on
));
$node->start;

my $q = sub { return $node->safe_psql('postgres', $_[0]); };

$q->(q{
	CREATE EXTENSION taskdb;
	CREATE EXTENSION amcheck;
	SET client_min_messages = warning;
	SELECT taskdb.generate_synthetic(300, 3, 2, 200, seed => 11);
});
# The data no writer will touch, and its hash.
my $untouched_hash = $q->('SELECT taskdb.export_hash()');
# Four hot tasks every writer adds runs to (their summary rows take every
# writer's commit-time flush), and a task for the flush test.
$q->(q{
	INSERT INTO taskdb.tasks (id, title, policy_version)
	SELECT md5('hot-' || i)::uuid, 'hot-' || i, '1' FROM generate_series(0, 3) i;
	INSERT INTO taskdb.tasks (id, title, policy_version) VALUES (md5('victim')::uuid, 'victim', '1');
});

# Drift: the stored summary against the plain recomputation, both ways.
my $drift_sql = q{
	WITH r AS (
	  SELECT task_id, count(*) AS total, count(*) FILTER (WHERE status = 'running') AS running,
	         count(*) FILTER (WHERE status = 'completed') AS completed,
	         count(*) FILTER (WHERE status = 'failed') AS failed
	    FROM taskdb.runs GROUP BY task_id),
	  g AS (
	  SELECT r.task_id, count(*) AS failed FROM taskdb.gates g JOIN taskdb.runs r ON r.id = g.run_id
	   WHERE g.status = 'fail' GROUP BY r.task_id),
	  truth AS (
	  SELECT t.id AS task_id, coalesce(r.total, 0) AS runs_total, coalesce(r.running, 0) AS runs_running,
	         coalesce(r.completed, 0) AS runs_completed, coalesce(r.failed, 0) AS runs_failed,
	         coalesce(g.failed, 0) AS gates_failed
	    FROM taskdb.tasks t LEFT JOIN r ON r.task_id = t.id LEFT JOIN g ON g.task_id = t.id),
	  stored AS (
	  SELECT task_id, runs_total, runs_running, runs_completed, runs_failed, gates_failed FROM taskdb.task_status)
	SELECT (SELECT count(*) FROM (SELECT * FROM truth EXCEPT ALL SELECT * FROM stored) a)
	     + (SELECT count(*) FROM (SELECT * FROM stored EXCEPT ALL SELECT * FROM truth) b)
	     + (SELECT count(*) FROM taskdb.task_status s
	         WHERE s.status_derived <> taskdb.derive_status(s.runs_total, s.runs_running,
	               s.runs_completed, s.runs_failed, s.gates_failed))};

# Everything that must hold after any crash.
sub check_consistent
{
	my ($what) = @_;
	is($q->($drift_sql), '0', "$what: no drift between the summary and the recomputation");
	is($q->("SELECT status FROM taskdb.doctor() WHERE check_name = 'system_health'"),
		'excellent', "$what: doctor() says excellent");
	# (safe_psql dies on the first corrupt index)
	cmp_ok( $q->(q{
			SELECT count(*) FROM (
			  SELECT bt_index_check(c.oid, true) FROM pg_class c JOIN pg_am a ON a.oid = c.relam
			   WHERE a.amname = 'btree' AND c.relkind = 'i'
			     AND c.relnamespace = 'taskdb'::regnamespace) x}), '>=', 10,
		"$what: every taskdb btree index passes amcheck with heapallindexed");
	# The untouched data: hash everything but the writers' tasks.
	is( $q->(q{
			BEGIN;
			SET LOCAL client_min_messages = warning;
			DELETE FROM taskdb.tasks WHERE title !~ '^Synthetic task ';
			SELECT taskdb.export_hash();
			ROLLBACK;}),
		$untouched_hash, "$what: the data no writer touched hashes as before");
}

# One writer's script: transaction i creates task cC-wW-i with a run and a
# pending gate, adds a completed run to a hot task, and finishes the run and
# decides the gate of task i-1.  It prints its xid before COMMIT and ACK
# after: psql runs one command after the other and stops at the first
# error, so "ACK i" means the server acknowledged the commit.
sub writer_script
{
	my ($cycle, $w) = @_;
	my $s = "\\set ON_ERROR_STOP 1\n\\set QUIET 1\n";
	for my $i (1 .. $TXNS_PER_WRITER)
	{
		my $k = "c$cycle-w$w-$i";
		my $p = "c$cycle-w$w-" . ($i - 1);
		my $hot = ($w + $i) % 4;
		$s .= "BEGIN;\n"
		  . "INSERT INTO taskdb.tasks (id, title, policy_version) VALUES (md5('$k')::uuid, '$k', '1');\n"
		  . "INSERT INTO taskdb.runs (id, task_id, status) VALUES (md5('$k:run')::uuid, md5('$k')::uuid, 'running');\n"
		  . "INSERT INTO taskdb.gates (id, run_id, name, type, status) VALUES (md5('$k:gate')::uuid, md5('$k:run')::uuid, 'g', 'lint', 'pending');\n"
		  . "INSERT INTO taskdb.runs (id, task_id, status) VALUES (md5('$k:hot')::uuid, md5('hot-$hot')::uuid, 'completed');\n";
		if ($i > 1)
		{
			my $gate = $i % 3 == 0 ? 'fail' : 'pass';
			$s .= "UPDATE taskdb.runs SET status = 'completed' WHERE id = md5('$p:run')::uuid;\n"
			  . "UPDATE taskdb.gates SET status = '$gate' WHERE id = md5('$p:gate')::uuid;\n";
		}
		$s .= "SELECT pg_current_xact_id() AS xid \\gset\n"
		  . "\\echo XID $i :xid\n"
		  . "COMMIT;\n"
		  . "\\echo ACK $i\n";
	}
	return $s;
}

# pg_xact_status(), or "never written" for an xid recovery never saw (its
# WAL was still in memory when the server died): not committed either way.
sub xact_status
{
	my ($xid) = @_;
	my ($rc, $out, $err) = $node->psql('postgres', "SELECT pg_xact_status('$xid'::xid8)");
	return $out if $rc == 0;
	return 'aborted' if $err =~ /transaction ID \d+ is in the future/;
	die "pg_xact_status($xid): $err";
}

# SIGKILL to the postmaster and every process it started, at once.
sub kill_everything
{
	my $pm = $node->{_pid};
	my @children;
	opendir my $proc, '/proc' or die "/proc: $!";
	for my $pid (grep { /^\d+$/ } readdir $proc)
	{
		open my $stat, '<', "/proc/$pid/stat" or next;
		my ($ppid) = (<$stat> // '') =~ /\) \S (\d+)/;
		push @children, $pid if defined $ppid && $ppid == $pm;
	}
	kill 'KILL', @children;
	$node->kill9;
	my $until = time + 30;
	while (time < $until && kill(0, $pm, @children)) { sleep 0.05; }
}

my $scripts = PostgreSQL::Test::Utils::tempdir;
for my $cycle (1 .. $CYCLES)
{
	my (@harness, @out);
	for my $w (1 .. $WRITERS)
	{
		# From a file: IPC::Run feeds a scalar only while we pump it.
		my $file = "$scripts/c$cycle-w$w.sql";
		open my $fh, '>', $file or die "$file: $!";
		print $fh writer_script($cycle, $w);
		close $fh;
		$out[$w] = '';
		my $err = '';
		push @harness,
		  IPC::Run::start([ 'psql', '-X', '-q', '-d', $node->connstr('postgres'), '-f', $file ],
			'>', \$out[$w], '2>', \$err);
	}
	my $delay = 0.5 + rand(2.5);
	sleep $delay;
	kill_everything();
	$_->finish for @harness;    # the writers' psql exit on the lost connection
	$node->start;

	# Read each writer's log: acknowledged commits, and the one whose COMMIT
	# was sent but not acknowledged (in doubt).
	my ($acked, $decided_in, $decided_out, $bad) = (0, 0, 0, 0);
	my @expect_present;
	for my $w (1 .. $WRITERS)
	{
		my %xid = $out[$w] =~ /^XID (\d+) (\d+)$/mg;
		my @ack = $out[$w] =~ /^ACK (\d+)$/mg;
		my $last_ack = @ack ? $ack[-1] : 0;
		$acked += @ack;
		$bad++ if @ack && $ack[-1] != scalar(@ack);    # ACKs are 1..n with no gap
		my $present = $last_ack;
		my $doubt = $last_ack + 1;
		if (exists $xid{$doubt})
		{
			my $st = xact_status($xid{$doubt});
			if ($st eq 'committed') { $present = $doubt; $decided_in++; }
			elsif ($st eq 'aborted') { $decided_out++; }
			else { $bad++; diag("writer $w: transaction $doubt has status '$st' after recovery"); }
		}
		$expect_present[$w] = $present;
	}
	note("cycle $cycle: killed after ${\ sprintf '%.2f', $delay} s; $acked commits acknowledged;"
		  . " in doubt: $decided_in committed, $decided_out aborted");
	cmp_ok($acked, '>', $WRITERS, "cycle $cycle: the writers were committing when the server was killed");
	is($bad, 0, "cycle $cycle: acknowledgements in order, every in-doubt transaction decided by pg_xact_status");

	# What is in the database, per writer: the numbers of its tasks, and
	# every part of each transaction.
	my $rows = $q->(qq{
		SELECT split_part(t.title, '-', 2), split_part(t.title, '-', 3)::int,
		       r.status, g.status, (h.id IS NOT NULL),
		       (SELECT count(*) FROM taskdb.entity_history(t.id))
		  FROM taskdb.tasks t
		  LEFT JOIN taskdb.runs r ON r.id = md5(t.title || ':run')::uuid
		  LEFT JOIN taskdb.gates g ON g.id = md5(t.title || ':gate')::uuid
		  LEFT JOIN taskdb.runs h ON h.id = md5(t.title || ':hot')::uuid
		 WHERE t.title LIKE 'c$cycle-w%'
		 ORDER BY 1, 2});
	my %have;
	my $half = 0;
	for my $line (split /\n/, $rows)
	{
		my ($w, $i, $run, $gate, $hot, $ev) = split /\|/, $line;
		$w =~ s/^w//;
		$have{$w}{$i} = [ $run, $gate, $hot, $ev ];
	}
	my ($missing, $extra) = (0, 0);
	for my $w (1 .. $WRITERS)
	{
		my $n = $expect_present[$w];
		my @got = sort { $a <=> $b } keys %{ $have{$w} // {} };
		$missing++ if @got < $n || grep { !exists $have{$w}{$_} } 1 .. $n;
		$extra++ if grep { $_ > $n } @got;
		for my $i (@got)
		{
			my ($run, $gate, $hot, $ev) = @{ $have{$w}{$i} };
			my $next = exists $have{$w}{ $i + 1 };
			# Transaction i wrote the run, the gate, the hot run; i+1 finished them.
			my $want_run = $next ? 'completed' : 'running';
			my $want_gate = $next ? (($i + 1) % 3 == 0 ? 'fail' : 'pass') : 'pending';
			if ($run ne $want_run || $gate ne $want_gate || $hot ne 't' || $ev != 1)
			{
				$half++;
				diag("cycle $cycle writer $w transaction $i: run $run, gate $gate, hot run $hot, events $ev");
			}
		}
	}
	is($missing, 0, "cycle $cycle: every acknowledged (or committed in-doubt) transaction is there");
	is($extra, 0, "cycle $cycle: no transaction that was not committed is there");
	is($half, 0, "cycle $cycle: no transaction is half applied");
	# The hot tasks' runs are exactly the committed transactions' runs.
	is( $q->(qq{
			SELECT count(*) FROM taskdb.runs h
			 WHERE h.task_id IN (SELECT md5('hot-' || i)::uuid FROM generate_series(0, 3) i)
			   AND NOT EXISTS (SELECT 1 FROM taskdb.tasks t WHERE md5(t.title || ':hot')::uuid = h.id)}),
		'0', "cycle $cycle: no hot-task run without the transaction that made it");
	check_consistent("cycle $cycle");
}

# --- a backend killed inside the commit-time status flush -------------------
# Another session holds the victim task's summary row locked, so the
# victim's COMMIT waits inside the flush (for that row's lock); the backend
# is killed while it waits there.
my $before = $q->("SELECT runs_total FROM taskdb.task_status WHERE task_id = md5('victim')::uuid");
my $holder_script = q{
BEGIN;
SELECT 1 FROM taskdb.task_status WHERE task_id = md5('victim')::uuid FOR NO KEY UPDATE;
SELECT pg_sleep(300);
};
open my $hfh, '>', "$scripts/holder.sql" or die;
print $hfh $holder_script;
close $hfh;
my ($hout, $herr) = ('', '');
my $holder = IPC::Run::start([ 'psql', '-X', '-q', '-d', $node->connstr('postgres'), '-f', "$scripts/holder.sql" ],
	'>', \$hout, '2>', \$herr);
ok( $node->poll_query_until('postgres', q{
		SELECT count(*) = 1 FROM pg_stat_activity WHERE wait_event = 'PgSleep'}),
	'another session holds the summary row locked');
my $victim_script = q{
\set ON_ERROR_STOP 1
BEGIN;
INSERT INTO taskdb.runs (id, task_id, status) VALUES (md5('victim:run')::uuid, md5('victim')::uuid, 'failed');
SELECT pg_current_xact_id() AS xid \gset
\echo XID :xid
COMMIT;
\echo ACK
};
my ($vout, $verr) = ('', '');
open my $vfh, '>', "$scripts/victim.sql" or die;
print $vfh $victim_script;
close $vfh;
my $victim = IPC::Run::start([ 'psql', '-X', '-q', '-d', $node->connstr('postgres'), '-f', "$scripts/victim.sql" ],
	'>', \$vout, '2>', \$verr);
ok( $node->poll_query_until('postgres', q{
		SELECT count(*) = 1 FROM pg_stat_activity
		 WHERE wait_event_type = 'Lock' AND query LIKE '%COMMIT%'}),
	'the victim is inside the flush, its COMMIT waiting for the summary row');
my $vpid = $q->("SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%COMMIT%'");
kill 'KILL', $vpid;
$victim->finish;
$holder->finish;
# The postmaster reinitializes after a backend dies that way.
ok($node->poll_query_until('postgres', 'SELECT true'), 'the server is back after the crash restart');
my ($vxid) = $vout =~ /^XID (\d+)$/m;
unlike($vout, qr/^ACK$/m, 'the victim never saw its COMMIT acknowledged');
is(xact_status($vxid), 'aborted', 'its transaction is aborted (or never reached the WAL on disk)');
is($q->("SELECT count(*) FROM taskdb.runs WHERE id = md5('victim:run')::uuid"), '0', 'its run is not there');
is($q->("SELECT runs_total FROM taskdb.task_status WHERE task_id = md5('victim')::uuid"), $before,
	'the summary row is as before');
check_consistent('after a kill inside the flush');

# --- bulk loads aborted midway --------------------------------------------------
my $hash_before = $q->('SELECT taskdb.export_hash()');
my $events_before = $q->('SELECT count(*) FROM taskdb.events');
my ($ret, $stdout, $stderr) = $node->psql('postgres', q{
	SET statement_timeout = '1s';
	SET client_min_messages = warning;
	SELECT taskdb.generate_synthetic(20000, 5, 3, 1000, seed => 99);});
like($stderr, qr/canceling statement due to statement timeout/, 'a synthetic load hits statement_timeout');
is($q->("SELECT count(*) FROM taskdb.tasks WHERE title LIKE 'Synthetic task %' AND metadata->>'seed' = '99'"),
	'0', 'none of its tasks remain');

# A COPY cancelled from another session while rows stream in.
my ($cout, $cerr) = ('', '');
my $victim_id = $q->("SELECT md5('victim')::uuid");
my $copy_sql = "COPY taskdb.runs (task_id, status) FROM PROGRAM "
  . "'for i in \$(seq 1 2000000); do echo $victim_id,failed; done' (FORMAT csv)";
my $copy = IPC::Run::start([ 'psql', '-X', '-q', '-d', $node->connstr('postgres'), '-c', $copy_sql ],
	'>', \$cout, '2>', \$cerr);
ok( $node->poll_query_until('postgres',
		'SELECT coalesce(max(tuples_processed), 0) > 10000 FROM pg_stat_progress_copy'),
	'the COPY is streaming rows in');
$q->("SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE query LIKE 'COPY taskdb.runs%' AND pid <> pg_backend_pid()");
$copy->finish;
like($cerr, qr/canceling statement due to user request/, 'the COPY was cancelled midway');
is($q->('SELECT count(*) FROM taskdb.runs WHERE task_id = md5(\'victim\')::uuid'), '0', 'none of its rows remain');
is($q->('SELECT taskdb.export_hash()'), $hash_before, 'the export hash is as before both aborted loads');
is($q->('SELECT count(*) FROM taskdb.events'), $events_before, 'and the event history has nothing of them');
check_consistent('after the aborted loads');

$node->stop;
done_testing();
