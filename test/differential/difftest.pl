#!/usr/bin/perl
# difftest.pl — randomized differential test of taskdb.task_status.
#
#   perl difftest.pl setup
#       prints the SQL that creates the test's own recomputation (schema
#       difftest: view expected, function check) in the test database.
#   perl difftest.pl generate SEED BATCHES [--self-test] [--no-reincarnation]
#       prints a psql script of BATCHES random transactions (stdout) and the
#       plan (what the script does, as "key value" lines) on stderr.
#   perl difftest.pl summarize PLAN STDOUT STDERR PSQL_RC SECONDS
#       reads what psql printed, prints the summary line, exits 0 (pass) or 1.
#
# The generator keeps a model of every row it creates (tasks, runs, gates,
# artifacts: ids and statuses; savepoints and aborted statements restore a
# copy of it), so every statement it writes is valid, or fails on purpose
# with a known error.  The model is only there to write valid statements and
# to prove the workload did what it says (per-status row counts are compared
# at every check); the oracle for task_status is the recomputation in SQL
# (difftest.expected), compared both ways with EXCEPT ALL.
#
# Deterministic: ids are derived from counters, subsets are chosen here (never
# by random() or physical row order in the server), and hash keys are always
# sorted before use.  Perl's rand() is its own drand48 (same on every
# platform since 5.20).
#
# Core Perl only.
use strict;
use warnings;


# ---------------------------------------------------------------------------
# The recomputation: the plan's materialized-view query, written here, never
# calling taskdb.derive_status() or rebuild_status().
# ---------------------------------------------------------------------------
sub setup_sql
{
	return <<'SQL';
CREATE SCHEMA difftest;

-- One row per task, from the base tables only.
CREATE VIEW difftest.expected AS
SELECT t.id AS task_id,
       c.runs_total, c.runs_running, c.runs_completed, c.runs_failed, c.gates_failed,
       CASE WHEN EXISTS (SELECT 1 FROM taskdb.runs r WHERE r.task_id = t.id AND r.status = 'failed')
            THEN 'failed'
            WHEN NOT EXISTS (SELECT 1 FROM taskdb.runs r WHERE r.task_id = t.id)
            THEN 'pending'
            WHEN EXISTS (SELECT 1 FROM taskdb.runs r WHERE r.task_id = t.id AND r.status = 'running')
            THEN 'in_progress'
            WHEN EXISTS (SELECT 1 FROM taskdb.runs r WHERE r.task_id = t.id AND r.status = 'completed')
                 AND NOT EXISTS (SELECT 1 FROM taskdb.gates g JOIN taskdb.runs r ON r.id = g.run_id
                                  WHERE r.task_id = t.id AND g.status = 'fail')
            THEN 'completed'
            ELSE 'blocked'
       END::text AS status_derived,
       CASE WHEN c.runs_total > 0 THEN c.runs_completed::float8 / c.runs_total ELSE 0 END::float8
           AS health_score
FROM taskdb.tasks t
CROSS JOIN LATERAL (
    SELECT (SELECT count(*) FROM taskdb.runs r WHERE r.task_id = t.id) AS runs_total,
           (SELECT count(*) FROM taskdb.runs r WHERE r.task_id = t.id AND r.status = 'running') AS runs_running,
           (SELECT count(*) FROM taskdb.runs r WHERE r.task_id = t.id AND r.status = 'completed') AS runs_completed,
           (SELECT count(*) FROM taskdb.runs r WHERE r.task_id = t.id AND r.status = 'failed') AS runs_failed,
           (SELECT count(*) FROM taskdb.gates g JOIN taskdb.runs r ON r.id = g.run_id
             WHERE r.task_id = t.id AND g.status = 'fail') AS gates_failed) c;

-- What the generator's model should see: row counts per table and status.
CREATE VIEW difftest.fingerprint AS
SELECT format('t=%s r=%s,%s,%s,%s,%s g=%s,%s,%s,%s a=%s',
    (SELECT count(*) FROM taskdb.tasks),
    (SELECT count(*) FROM taskdb.runs WHERE status = 'queued'),
    (SELECT count(*) FROM taskdb.runs WHERE status = 'running'),
    (SELECT count(*) FROM taskdb.runs WHERE status = 'completed'),
    (SELECT count(*) FROM taskdb.runs WHERE status = 'failed'),
    (SELECT count(*) FROM taskdb.runs WHERE status = 'cancelled'),
    (SELECT count(*) FROM taskdb.gates WHERE status = 'pending'),
    (SELECT count(*) FROM taskdb.gates WHERE status = 'pass'),
    (SELECT count(*) FROM taskdb.gates WHERE status = 'fail'),
    (SELECT count(*) FROM taskdb.gates WHERE status = 'skipped'),
    (SELECT count(*) FROM taskdb.artifacts)) AS f;

/*
 * One check.  derived = false compares the stored summary (valid in a
 * committed state); derived = true compares taskdb.task_status_derived,
 * which adds the transaction's pending deltas (valid anywhere, since the
 * recomputation sees the transaction's own rows).  Prints:
 *   DRIFT label missing (row)   a recomputed row the summary lacks
 *   DRIFT label extra (row)     a summary row the recomputation lacks
 *   DRIFT label status_derived(id) = x, expected y
 *                               taskdb.status_derived() disagrees (it, too,
 *                               includes the transaction's pending deltas)
 *   FILL label ...              a gate/artifact whose task_id is not its run's
 *   MODEL label db=... gen=...  the generator's model disagrees with the tables
 *   HISTORY label ...           taskdb.events disagrees with the tables: for every
 *                               task, run, gate and artifact, the last event naming
 *                               it must be an insert or update (not followed by a
 *                               TRUNCATE of its table) whose new_status is its
 *                               status now, and an entity whose last event leaves
 *                               it alive must exist
 *   CHECK label mode missing extra status_derived() fill history model(ok|bad)
 */
CREATE FUNCTION difftest.check(label text, derived boolean, model text)
RETURNS SETOF text LANGUAGE sql AS $$
WITH act AS (
    SELECT task_id, runs_total, runs_running, runs_completed, runs_failed, gates_failed,
           status_derived, health_score
      FROM taskdb.task_status WHERE NOT derived
    UNION ALL
    SELECT task_id, runs_total, runs_running, runs_completed, runs_failed, gates_failed,
           status_derived, health_score
      FROM taskdb.task_status_derived WHERE derived),
exp AS (SELECT * FROM difftest.expected),
missing AS (SELECT * FROM exp EXCEPT ALL SELECT * FROM act),
extra AS (SELECT * FROM act EXCEPT ALL SELECT * FROM exp),
fn AS (
    SELECT e.task_id, e.status_derived AS expected, taskdb.status_derived(e.task_id) AS got
      FROM exp e),
fill AS (
    SELECT 'gate ' || g.id || ' task ' || g.task_id || ' run task ' || r.task_id AS what
      FROM taskdb.gates g JOIN taskdb.runs r ON r.id = g.run_id
     WHERE g.task_id IS DISTINCT FROM r.task_id
    UNION ALL
    SELECT 'artifact ' || a.id || ' task ' || a.task_id || ' run task ' || r.task_id
      FROM taskdb.artifacts a JOIN taskdb.runs r ON r.id = a.run_id
     WHERE a.task_id IS DISTINCT FROM r.task_id),
fp AS (SELECT f FROM difftest.fingerprint),
hist AS (
    SELECT DISTINCT ON (e.entity, e.entity_id) e.entity, e.entity_id, e.id, e.operation, e.new_status
      FROM taskdb.events e
     WHERE e.entity IN ('task', 'run', 'gate', 'artifact') AND e.entity_id IS NOT NULL
     ORDER BY e.entity, e.entity_id, e.id DESC),
trunc AS (
    SELECT t.entity, max(t.id) AS last_id FROM taskdb.events t
     WHERE t.entity_id IS NULL AND t.operation = 'truncate' GROUP BY t.entity),
last AS (
    SELECT h.*, h.operation <> 'delete' AND h.id > COALESCE(tr.last_id, 0) AS alive
      FROM hist h LEFT JOIN trunc tr ON tr.entity = h.entity),
cur AS (
    SELECT 'task' AS entity, id, status::text AS status FROM taskdb.tasks
    UNION ALL SELECT 'run', id, status::text FROM taskdb.runs
    UNION ALL SELECT 'gate', id, status::text FROM taskdb.gates
    UNION ALL SELECT 'artifact', id, NULL FROM taskdb.artifacts),
history AS (
    SELECT c.entity || ' ' || c.id || ' is ' || coalesce(c.status, 'present') || ', its history ends with '
           || coalesce(l.operation || ' ' || coalesce(l.new_status, '-')
                       || CASE WHEN l.alive THEN '' ELSE ' (gone)' END, 'nothing') AS what
      FROM cur c LEFT JOIN last l ON l.entity = c.entity AND l.entity_id = c.id
     WHERE l.entity_id IS NULL OR NOT l.alive OR l.new_status IS DISTINCT FROM c.status
    UNION ALL
    SELECT l.entity || ' ' || l.entity_id || ' does not exist, its history ends with ' || l.operation
      FROM last l
     WHERE l.alive AND NOT EXISTS (SELECT 1 FROM cur c WHERE c.entity = l.entity AND c.id = l.entity_id))
SELECT * FROM (
    SELECT 'DRIFT ' || label || ' missing ' || m::text FROM missing m
    UNION ALL
    SELECT 'DRIFT ' || label || ' extra ' || x::text FROM extra x
    UNION ALL
    SELECT 'DRIFT ' || label || ' status_derived(' || task_id || ') = ' || coalesce(got, 'NULL')
           || ', expected ' || expected
      FROM fn WHERE got IS DISTINCT FROM expected
    UNION ALL
    SELECT 'FILL ' || label || ' ' || what FROM fill
    UNION ALL
    SELECT 'HISTORY ' || label || ' ' || what FROM history
    UNION ALL
    SELECT 'MODEL ' || label || ' db=' || fp.f || ' gen=' || model FROM fp WHERE fp.f <> model
) problems
UNION ALL
SELECT 'CHECK ' || label || ' ' || CASE WHEN derived THEN 'derived' ELSE 'stored' END
       || ' ' || (SELECT count(*) FROM missing) || ' ' || (SELECT count(*) FROM extra)
       || ' ' || (SELECT count(*) FROM fn WHERE got IS DISTINCT FROM expected)
       || ' ' || (SELECT count(*) FROM fill)
       || ' ' || (SELECT count(*) FROM history)
       || ' ' || CASE WHEN (SELECT f FROM fp) = model THEN 'ok' ELSE 'bad' END;
$$;

-- For PL/pgSQL blocks: the problem lines of one derived check, as one text (NULL if none).
CREATE FUNCTION difftest.problems(label text, model text)
RETURNS text LANGUAGE sql AS $$
    SELECT string_agg(c, E'\n') FROM difftest.check(label, true, model) c WHERE c NOT LIKE 'CHECK %';
$$;
SQL
}

# ---------------------------------------------------------------------------
# Generator
# ---------------------------------------------------------------------------

my $NTASKS = 48;                # task id pool: tasks are created and deleted within it
my @RUN_ST = qw(queued running completed failed cancelled);
my @GATE_ST = qw(pending pass fail skipped);
my @GATE_TYPES = qw(lint policy security quality truth);
my $SHA = 'sha256:' . ('0123456789abcdef' x 4);

# The model: tasks{idx} = 1, runs{id} = [task idx, status], gates{id} = [run id, status],
# arts{id} = [task idx, run id or undef].
my %S;
my %n = (run => 0, gate => 0, art => 0, gid => 0);
my %plan;                       # counters reported in the plan
my %mix;                        # statement kinds
my $out = '';
my $no_reincarnation = 0;
my %deleted_in_txn;             # task indexes deleted by the current transaction
my $ctx = 'psql';               # 'psql' (top level), 'do' (inside a DO block), 'multi' (one \; query)
my $batch_no = 0;
my $txn_truncated = 0;         # the current transaction ran a TRUNCATE
my $check_no = 0;

sub tid { sprintf('a0000000-0000-4000-8000-%012d', $_[0]) }
sub new_run_id { sprintf('b0000000-0000-4000-8000-%012d', ++$n{run}) }
sub new_gate_id { sprintf('c0000000-0000-4000-8000-%012d', ++$n{gate}) }
sub new_art_id { sprintf('d0000000-0000-4000-8000-%012d', ++$n{art}) }

sub rnd { int(rand($_[0])) }
sub chance { rand() < $_[0] }
sub pick { $_[rnd(scalar @_)] }

# k distinct elements of a (sorted) list, in random order.
sub sample
{
	my ($k, @list) = @_;
	my @out;
	$k = @list if $k > @list;
	for (1 .. $k)
	{
		push @out, splice(@list, rnd(scalar @list), 1);
	}
	return @out;
}

sub weighted
{
	my @pairs = @_;
	my $total = 0;
	for (my $i = 1; $i < @pairs; $i += 2) { $total += $pairs[$i]; }
	my $r = rand($total);
	for (my $i = 0; $i < @pairs; $i += 2)
	{
		return $pairs[$i] if ($r -= $pairs[$i + 1]) < 0;
	}
	return $pairs[-2];
}

sub run_status { weighted(queued => 25, running => 25, completed => 28, failed => 9, cancelled => 13) }
sub gate_status { weighted(pending => 30, pass => 30, fail => 25, skipped => 15) }

sub tasks { sort { $a <=> $b } keys %{ $S{tasks} } }
sub runs { sort keys %{ $S{runs} } }
sub gates { sort keys %{ $S{gates} } }
sub free_tasks
{
	grep { !$S{tasks}{$_} && !($no_reincarnation && $deleted_in_txn{$_}) } 1 .. $NTASKS;
}

# Savepoints, aborted transactions and PL/pgSQL exception blocks restore a copy.
sub clone_state { clone_from(\%S) }
sub restore_state { %S = %{ clone_from($_[0]) } }

sub clone_from
{
	my ($snap) = @_;
	my %c;
	$c{tasks} = { %{ $snap->{tasks} } };
	for my $t (qw(runs gates arts))
	{
		$c{$t} = { map { $_ => [ @{ $snap->{$t}{$_} } ] } keys %{ $snap->{$t} } };
	}
	return \%c;
}

sub fingerprint
{
	my %rc = map { $_ => 0 } @RUN_ST;
	my %gc = map { $_ => 0 } @GATE_ST;
	$rc{ $_->[1] }++ for values %{ $S{runs} };
	$gc{ $_->[1] }++ for values %{ $S{gates} };
	return sprintf('t=%d r=%s g=%s a=%d', scalar(keys %{ $S{tasks} }),
		join(',', map { $rc{$_} } @RUN_ST), join(',', map { $gc{$_} } @GATE_ST),
		scalar(keys %{ $S{arts} }));
}

# Model deletions, with the cascades the foreign keys perform.
sub drop_gates_of_runs
{
	my %r = map { $_ => 1 } @_;
	for my $g (keys %{ $S{gates} }) { delete $S{gates}{$g} if $r{ $S{gates}{$g}[0] }; }
}

sub drop_runs
{
	my %r = map { $_ => 1 } @_;
	delete $S{runs}{$_} for @_;
	drop_gates_of_runs(@_);
	for my $a (keys %{ $S{arts} }) { delete $S{arts}{$a} if defined $S{arts}{$a}[1] && $r{ $S{arts}{$a}[1] }; }
}

sub drop_tasks
{
	my %t = map { $_ => 1 } @_;
	delete $S{tasks}{$_} for @_;
	$deleted_in_txn{$_} = 1 for @_;
	drop_runs(grep { $t{ $S{runs}{$_}[0] } } keys %{ $S{runs} });
	for my $a (keys %{ $S{arts} }) { delete $S{arts}{$a} if $t{ $S{arts}{$a}[0] }; }
}

sub runs_of_tasks
{
	my %t = map { $_ => 1 } @_;
	return grep { $t{ $S{runs}{$_}[0] } } runs();
}

sub gates_of_tasks
{
	my %t = map { $_ => 1 } @_;
	return grep { $t{ $S{runs}{ $S{gates}{$_}[0] }[0] } } gates();
}

sub sqlq { "'" . $_[0] . "'" }
sub idlist { join(', ', map { sqlq($_) } @_) }
sub tidlist { join(', ', map { sqlq(tid($_)) } @_) }

# ---------------------------------------------------------------------------
# Statements that succeed.  Each returns its SQL (no trailing semicolon) and
# applies its effect to the model, or returns undef when the model has
# nothing for it to work on.
# ---------------------------------------------------------------------------

sub st_insert_tasks
{
	my (@want) = @_;
	my @free = free_tasks();
	my $k;
	if (@want) { @free = @want; $k = @want; }
	else
	{
		return undef unless @free;
		$k = keys %{ $S{tasks} } < 20 ? 5 + rnd(15) : (chance(0.6) ? 1 : 2 + rnd(3));
	}
	my @new = @want ? @want : sample($k, @free);
	my @vals = map { sprintf("(%s, 'task %d', '1.%d', '%s')", sqlq(tid($_)), $_, rnd(3), pick(qw(critical high medium low))) } @new;
	my $sql;
	if (!@want && chance(0.25) && keys %{ $S{tasks} })
	{
		# ON CONFLICT DO NOTHING with some existing ids: only the new ones get a summary row.
		my @old = sample(1 + rnd(2), tasks());
		push @vals, map { sprintf("(%s, 'dup %d', '9', 'low')", sqlq(tid($_)), $_) } @old;
		@vals = sample(scalar @vals, @vals);
		# ... or DO UPDATE: the existing ones are updated, which creates nothing
		$sql = "INSERT INTO taskdb.tasks (id, title, policy_version, priority) VALUES " . join(', ', @vals)
		  . (chance(0.5) ? " ON CONFLICT (id) DO NOTHING" : " ON CONFLICT (id) DO UPDATE SET title = EXCLUDED.title");
		$mix{insert_tasks_on_conflict}++;
	}
	else
	{
		$sql = "INSERT INTO taskdb.tasks (id, title, policy_version, priority) VALUES " . join(', ', @vals);
		$mix{ @new > 1 ? 'insert_tasks_multi' : 'insert_task' }++;
	}
	$S{tasks}{$_} = 1 for @new;
	return $sql;
}

sub st_delete_tasks
{
	my (@want) = @_;
	my @t = tasks();
	return undef if !@want && @t < 12;
	my @del = @want ? @want : sample(chance(0.7) ? 1 : 2 + rnd(2), @t);
	drop_tasks(@del);
	$mix{delete_tasks}++;
	return "DELETE FROM taskdb.tasks WHERE id IN (" . tidlist(@del) . ")";
}

sub st_update_tasks
{
	my @t = tasks();
	return undef unless @t;
	$mix{update_tasks}++;
	return "UPDATE taskdb.tasks SET summary = 'touched', updated_at = now() WHERE id IN ("
	  . tidlist(sample(1 + rnd(4), @t)) . ")";
}

sub run_row
{
	my ($t, $st) = @_;
	my $id = new_run_id();
	$S{runs}{$id} = [ $t, $st ];
	return ($id, $t, $st);
}

sub st_insert_runs
{
	my ($mode, @want) = @_;
	my @t = @want ? @want : tasks();
	return undef unless @t;
	my @rows;
	$mode //= weighted(single => 45, multi => 40, wide => 15);
	if ($mode eq 'wide')
	{
		# one run for each of many tasks: more than 16 touched tasks takes the set-based flush
		return undef if @t < 17;
		@rows = map { [ run_row($_, run_status()) ] } sample(17 + rnd(@t - 16), @t);
		$mix{insert_runs_wide}++;
	}
	elsif ($mode eq 'multi')
	{
		my @few = sample(1 + rnd(3), @t);
		@rows = map { [ run_row(pick(@few), run_status()) ] } 1 .. 2 + rnd(6);
		$mix{insert_runs_multi}++;
	}
	else
	{
		@rows = ([ run_row(pick(@t), run_status()) ]);
		$mix{insert_run}++;
	}
	if ($mode eq 'single' && $ctx ne 'multi' && chance(0.3))
	{
		# through the API-shaped form: status with timestamps, as create_run does
		my ($id, $t, $st) = @{ $rows[0] };
		return "INSERT INTO taskdb.runs (id, task_id, status, started_at, tool_calls) VALUES ("
		  . sqlq($id) . ", " . sqlq(tid($t)) . ", " . sqlq($st) . ", CASE WHEN " . sqlq($st) . " <> 'queued' THEN now() END, '[]')";
	}
	return "INSERT INTO taskdb.runs (id, task_id, status) VALUES "
	  . join(', ', map { "(" . sqlq($_->[0]) . ", " . sqlq(tid($_->[1])) . ", " . sqlq($_->[2]) . ")" } @rows);
}

# COPY ... FROM STDIN (psql only): returns the whole command including data.
sub st_copy
{
	return undef unless $ctx eq 'psql';
	my $which = weighted(runs => 70, gates => 20, tasks => 10);
	my @t = tasks();
	my @r = runs();
	if ($which eq 'tasks')
	{
		my @new = sample(1 + rnd(4), free_tasks());
		return undef unless @new;
		$S{tasks}{$_} = 1 for @new;
		$mix{copy_tasks}++;
		return "COPY taskdb.tasks (id, title, policy_version) FROM STDIN;\n"
		  . join('', map { tid($_) . "\tcopied $_\t2.0\n" } @new) . "\\.";
	}
	if ($which eq 'gates' && @r)
	{
		# no task_id column: taskdb fills it from the run, row by row
		my @rows = map { [ gate_row(pick(@r), gate_status()) ] } 1 .. 1 + rnd(8);
		$mix{copy_gates}++;
		return "COPY taskdb.gates (id, run_id, name, type, status) FROM STDIN;\n"
		  . join('', map { "$_->[0]\t$_->[1]\tcopied\tlint\t$_->[2]\n" } @rows) . "\\.";
	}
	return undef unless @t;
	my @few = chance(0.2) && @t >= 17 ? @t : sample(1 + rnd(4), @t);
	my $k = @few >= 17 ? @few : 1 + rnd(25);
	my @rows = map { [ run_row($_ <= @few ? $few[$_ - 1] : pick(@few), run_status()) ] } 1 .. $k;
	$mix{copy_runs}++;
	return "COPY taskdb.runs (id, task_id, status) FROM STDIN;\n"
	  . join('', map { "$_->[0]\t" . tid($_->[1]) . "\t$_->[2]\n" } @rows) . "\\.";
}

sub gate_row
{
	my ($rid, $st) = @_;
	my $id = new_gate_id();
	$S{gates}{$id} = [ $rid, $st ];
	return ($id, $rid, $st);
}

sub st_insert_gates
{
	my @r = @_ ? @_ : runs();
	return undef unless @r;
	my $k = chance(0.5) ? 1 : 2 + rnd(5);
	my @rows = map { [ gate_row(pick(@r), gate_status()) ] } 1 .. $k;
	$mix{ $k > 1 ? 'insert_gates_multi' : 'insert_gate' }++;
	if (chance(0.15))
	{
		# with the run's own task_id (accepted, not trusted)
		$mix{insert_gates_with_task_id}++;
		return "INSERT INTO taskdb.gates (id, run_id, task_id, name, type, status) VALUES "
		  . join(', ', map { "(" . sqlq($_->[0]) . ", " . sqlq($_->[1]) . ", " . sqlq(tid($S{runs}{ $_->[1] }[0])) . ", 'g"
			  . ++$n{gid} . "', " . sqlq(pick(@GATE_TYPES)) . ", " . sqlq($_->[2]) . ")" } @rows);
	}
	return "INSERT INTO taskdb.gates (id, run_id, name, type, status) VALUES "
	  . join(', ', map { "(" . sqlq($_->[0]) . ", " . sqlq($_->[1]) . ", 'g" . ++$n{gid} . "', "
		  . sqlq(pick(@GATE_TYPES)) . ", " . sqlq($_->[2]) . ")" } @rows);
}

sub st_insert_artifacts
{
	my @r = runs();
	my @t = tasks();
	return undef unless @t;
	$mix{insert_artifacts}++;
	if (@r && chance(0.7))
	{
		my $rid = pick(@r);
		my $id = new_art_id();
		$S{arts}{$id} = [ $S{runs}{$rid}[0], $rid ];
		return "INSERT INTO taskdb.artifacts (id, run_id, path, sha256) VALUES ("
		  . sqlq($id) . ", " . sqlq($rid) . ", '/out/$id', '$SHA')";
	}
	my $t = pick(@t);
	my $id = new_art_id();
	$S{arts}{$id} = [ $t, undef ];
	return "INSERT INTO taskdb.artifacts (id, task_id, path, sha256) VALUES ("
	  . sqlq($id) . ", " . sqlq(tid($t)) . ", '/out/$id', '$SHA')";
}

sub st_update_run_single
{
	my @r = runs();
	return undef unless @r;
	my $rid = pick(@r);
	my $st = run_status();
	$S{runs}{$rid}[1] = $st;
	if (chance(0.4) && $ctx ne 'multi')
	{
		$mix{set_run_status}++;
		return ($ctx eq 'do' ? "PERFORM" : "SELECT FROM") . " taskdb.set_run_status(" . sqlq($rid) . ", " . sqlq($st) . ")";
	}
	$mix{update_run}++;
	return "UPDATE taskdb.runs SET status = " . sqlq($st) . ", updated_at = now() WHERE id = " . sqlq($rid);
}

my %NEXT_RUN = (queued => 'running', running => 'completed', completed => 'failed', failed => 'cancelled', cancelled => 'queued');

sub st_update_runs_set
{
	my @r = runs();
	return undef unless @r;
	my $form = weighted(ids => 30, by_status => 30, advance => 25, wide => 10, no_status => 5);
	$mix{"update_runs_$form"}++;
	if ($form eq 'ids')
	{
		my @ids = sample(2 + rnd(8), @r);
		my $st = run_status();
		$S{runs}{$_}[1] = $st for @ids;
		return "UPDATE taskdb.runs SET status = " . sqlq($st) . " WHERE id IN (" . idlist(@ids) . ")";
	}
	if ($form eq 'by_status' || $form eq 'wide')
	{
		my @t = $form eq 'wide' ? tasks() : sample(1 + rnd(5), tasks());
		my $from = pick(@RUN_ST);
		my $to = run_status();
		$S{runs}{$_}[1] = $to for grep { $S{runs}{$_}[1] eq $from } runs_of_tasks(@t);
		my $where = $form eq 'wide' ? '' : "task_id IN (" . tidlist(@t) . ") AND ";
		return "UPDATE taskdb.runs SET status = " . sqlq($to) . " WHERE ${where}status = " . sqlq($from);
	}
	if ($form eq 'advance')
	{
		my @t = sample(1 + rnd(6), tasks());
		$S{runs}{$_}[1] = $NEXT_RUN{ $S{runs}{$_}[1] } for runs_of_tasks(@t);
		return "UPDATE taskdb.runs SET status = CASE status "
		  . join(' ', map { "WHEN '$_' THEN '$NEXT_RUN{$_}'" } @RUN_ST)
		  . " END, updated_at = now() WHERE task_id IN (" . tidlist(@t) . ")";
	}
	# no status change: the transition tables carry rows whose status did not move
	my @t = sample(1 + rnd(6), tasks());
	return "UPDATE taskdb.runs SET metrics = '{\"touched\": true}' WHERE task_id IN (" . tidlist(@t) . ")";
}

sub st_update_gate_single
{
	my @g = gates();
	return undef unless @g;
	my $gid = pick(@g);
	my $st = gate_status();
	$S{gates}{$gid}[1] = $st;
	if (chance(0.4) && $ctx ne 'multi')
	{
		$mix{set_gate_status}++;
		return ($ctx eq 'do' ? "PERFORM" : "SELECT FROM") . " taskdb.set_gate_status(" . sqlq($gid) . ", " . sqlq($st) . ")";
	}
	$mix{update_gate}++;
	return "UPDATE taskdb.gates SET status = " . sqlq($st) . " WHERE id = " . sqlq($gid);
}

sub st_update_gates_set
{
	my @g = gates();
	return undef unless @g;
	my $form = weighted(ids => 30, by_status => 30, by_run_status => 20, flip => 20);
	$mix{"update_gates_$form"}++;
	if ($form eq 'ids')
	{
		my @ids = sample(2 + rnd(8), @g);
		my $st = gate_status();
		$S{gates}{$_}[1] = $st for @ids;
		return "UPDATE taskdb.gates SET status = " . sqlq($st) . " WHERE id IN (" . idlist(@ids) . ")";
	}
	if ($form eq 'by_status')
	{
		my @t = chance(0.2) ? tasks() : sample(1 + rnd(5), tasks());
		my $from = pick(@GATE_ST);
		my $to = gate_status();
		$S{gates}{$_}[1] = $to for grep { $S{gates}{$_}[1] eq $from } gates_of_tasks(@t);
		return "UPDATE taskdb.gates SET status = " . sqlq($to) . " WHERE task_id IN (" . tidlist(@t)
		  . ") AND status = " . sqlq($from);
	}
	if ($form eq 'by_run_status')
	{
		my @t = sample(1 + rnd(8), tasks());
		my $rst = pick(@RUN_ST);
		my $to = gate_status();
		my %rs = map { $_ => 1 } grep { $S{runs}{$_}[1] eq $rst } runs_of_tasks(@t);
		$S{gates}{$_}[1] = $to for grep { $rs{ $S{gates}{$_}[0] } } gates();
		return "UPDATE taskdb.gates g SET status = " . sqlq($to) . " FROM taskdb.runs r WHERE r.id = g.run_id AND r.status = "
		  . sqlq($rst) . " AND r.task_id IN (" . tidlist(@t) . ")";
	}
	my @t = sample(1 + rnd(6), tasks());
	for my $gid (gates_of_tasks(@t))
	{
		my $s = \$S{gates}{$gid}[1];
		$$s = $$s eq 'fail' ? 'pass' : $$s eq 'pass' ? 'fail' : $$s;
	}
	return "UPDATE taskdb.gates SET status = CASE status WHEN 'fail' THEN 'pass' WHEN 'pass' THEN 'fail' ELSE status END"
	  . " WHERE task_id IN (" . tidlist(@t) . ")";
}

sub st_delete_runs
{
	my @r = runs();
	return undef unless @r;
	if (chance(0.6))
	{
		my @ids = sample(1 + rnd(4), @r);
		drop_runs(@ids);
		$mix{delete_runs_ids}++;
		return "DELETE FROM taskdb.runs WHERE id IN (" . idlist(@ids) . ")";
	}
	my @t = sample(1 + rnd(4), tasks());
	my $st = pick(@RUN_ST);
	drop_runs(grep { $S{runs}{$_}[1] eq $st } runs_of_tasks(@t));
	$mix{delete_runs_by_status}++;
	return "DELETE FROM taskdb.runs WHERE task_id IN (" . tidlist(@t) . ") AND status = " . sqlq($st);
}

sub st_delete_gates
{
	my @g = gates();
	return undef unless @g;
	if (chance(0.6))
	{
		my @ids = sample(1 + rnd(5), @g);
		delete $S{gates}{$_} for @ids;
		$mix{delete_gates_ids}++;
		return "DELETE FROM taskdb.gates WHERE id IN (" . idlist(@ids) . ")";
	}
	my @t = chance(0.15) ? tasks() : sample(1 + rnd(4), tasks());
	my $st = pick(@GATE_ST);
	delete $S{gates}{$_} for grep { $S{gates}{$_}[1] eq $st } gates_of_tasks(@t);
	$mix{delete_gates_by_status}++;
	return "DELETE FROM taskdb.gates WHERE task_id IN (" . tidlist(@t) . ") AND status = " . sqlq($st);
}

sub st_upsert_runs
{
	my @r = runs();
	my @t = tasks();
	return undef unless @r && @t;
	my @rows;
	my $form = weighted(update => 60, update_where => 25, nothing => 15);
	for my $rid (sample(1 + rnd(3), @r))
	{
		my $st = run_status();
		push @rows, [ $rid, $S{runs}{$rid}[0], $st ];
		next if $form eq 'nothing';
		next if $form eq 'update_where' && $S{runs}{$rid}[1] eq 'failed';
		$S{runs}{$rid}[1] = $st;
	}
	push @rows, [ run_row(pick(@t), run_status()) ] for 1 .. rnd(3);
	@rows = sample(scalar @rows, @rows);
	$mix{"upsert_runs_$form"}++;
	my $sql = "INSERT INTO taskdb.runs AS r (id, task_id, status) VALUES "
	  . join(', ', map { "(" . sqlq($_->[0]) . ", " . sqlq(tid($_->[1])) . ", " . sqlq($_->[2]) . ")" } @rows)
	  . " ON CONFLICT (id) ";
	return $sql . "DO NOTHING" if $form eq 'nothing';
	$sql .= "DO UPDATE SET status = EXCLUDED.status, updated_at = now()";
	$sql .= " WHERE r.status <> 'failed'" if $form eq 'update_where';
	return $sql;
}

sub st_upsert_gates
{
	my @g = gates();
	my @r = runs();
	return undef unless @g && @r;
	my @rows;
	for my $gid (sample(1 + rnd(3), @g))
	{
		my $st = gate_status();
		push @rows, [ $gid, $S{gates}{$gid}[0], $st ];
		$S{gates}{$gid}[1] = $st;
	}
	push @rows, [ gate_row(pick(@r), gate_status()) ] for 1 .. rnd(3);
	@rows = sample(scalar @rows, @rows);
	$mix{upsert_gates}++;
	return "INSERT INTO taskdb.gates (id, run_id, name, type, status) VALUES "
	  . join(', ', map { "(" . sqlq($_->[0]) . ", " . sqlq($_->[1]) . ", 'u', 'policy', " . sqlq($_->[2]) . ")" } @rows)
	  . " ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status";
}

sub st_merge_runs
{
	my @r = runs();
	my @t = tasks();
	return undef unless @t;
	my @rows;
	for my $rid (sample(rnd(4), @r))
	{
		if (chance(0.3))
		{
			push @rows, [ $rid, $S{runs}{$rid}[0], 'queued', 'd' ];
			drop_runs($rid);
		}
		else
		{
			my $st = run_status();
			push @rows, [ $rid, $S{runs}{$rid}[0], $st, 'u' ];
			$S{runs}{$rid}[1] = $st;
		}
	}
	push @rows, [ run_row(pick(@t), run_status()), 'i' ] for 1 .. rnd(3) + (@rows ? 0 : 1);
	@rows = sample(scalar @rows, @rows);
	$mix{merge_runs}++;
	return "MERGE INTO taskdb.runs r USING (VALUES "
	  . join(', ', map { "(" . sqlq($_->[0]) . "::uuid, " . sqlq(tid($_->[1])) . "::uuid, " . sqlq($_->[2]) . ", " . sqlq($_->[3]) . ")" } @rows)
	  . ") AS s(id, task_id, status, op) ON r.id = s.id"
	  . " WHEN MATCHED AND s.op = 'd' THEN DELETE"
	  . " WHEN MATCHED THEN UPDATE SET status = s.status, updated_at = now()"
	  . " WHEN NOT MATCHED THEN INSERT (id, task_id, status) VALUES (s.id, s.task_id, s.status)";
}

sub st_merge_gates
{
	my @g = gates();
	my @r = runs();
	return undef unless @r;
	my @rows;
	for my $gid (sample(rnd(4), @g))
	{
		if (chance(0.3))
		{
			push @rows, [ $gid, $S{gates}{$gid}[0], 'pending', 'd' ];
			delete $S{gates}{$gid};
		}
		else
		{
			my $st = gate_status();
			push @rows, [ $gid, $S{gates}{$gid}[0], $st, 'u' ];
			$S{gates}{$gid}[1] = $st;
		}
	}
	push @rows, [ gate_row(pick(@r), gate_status()), 'i' ] for 1 .. rnd(3) + (@rows ? 0 : 1);
	@rows = sample(scalar @rows, @rows);
	$mix{merge_gates}++;
	return "MERGE INTO taskdb.gates g USING (VALUES "
	  . join(', ', map { "(" . sqlq($_->[0]) . "::uuid, " . sqlq($_->[1]) . "::uuid, " . sqlq($_->[2]) . ", " . sqlq($_->[3]) . ")" } @rows)
	  . ") AS s(id, run_id, status, op) ON g.id = s.id"
	  . " WHEN MATCHED AND s.op = 'd' THEN DELETE"
	  . " WHEN MATCHED THEN UPDATE SET status = s.status"
	  . " WHEN NOT MATCHED THEN INSERT (id, run_id, name, type, status) VALUES (s.id, s.run_id, 'm', 'quality', s.status)";
}

# Data-modifying CTEs: several ModifyTable nodes (and transition tables) in one statement.
sub st_cte
{
	my @t = tasks();
	my @r = runs();
	return undef unless @t;
	my $form = weighted(update_runs_fail_gates => 25, insert_runs_and_gates => 30, delete_and_insert_runs => 25,
		two_run_updates => 20);
	$form = 'insert_runs_and_gates' unless @r >= 2;
	$mix{"cte_$form"}++;
	if ($form eq 'update_runs_fail_gates')
	{
		my @ids = sample(1 + rnd(4), @r);
		my $st = run_status();
		my %set = map { $_ => 1 } @ids;
		$S{runs}{$_}[1] = $st for @ids;
		$S{gates}{$_}[1] = 'fail' for grep { $set{ $S{gates}{$_}[0] } } gates();
		return "WITH u AS (UPDATE taskdb.runs SET status = " . sqlq($st) . " WHERE id IN (" . idlist(@ids)
		  . ") RETURNING id) UPDATE taskdb.gates SET status = 'fail' WHERE run_id IN (SELECT id FROM u)";
	}
	if ($form eq 'insert_runs_and_gates')
	{
		my @rows = map { [ run_row(pick(@t), run_status()) ] } 1 .. 1 + rnd(4);
		my @grows = map { [ gate_row($_->[0], gate_status()) ] } @rows;
		return "WITH i AS (INSERT INTO taskdb.runs (id, task_id, status) VALUES "
		  . join(', ', map { "(" . sqlq($_->[0]) . ", " . sqlq(tid($_->[1])) . ", " . sqlq($_->[2]) . ")" } @rows)
		  . " RETURNING id) INSERT INTO taskdb.gates (id, run_id, name, type, status)"
		  . " SELECT v.gid, i.id, 'cte', 'truth', v.st FROM i JOIN (VALUES "
		  . join(', ', map { "(" . sqlq($_->[1]) . "::uuid, " . sqlq($_->[0]) . "::uuid, " . sqlq($_->[2]) . ")" } @grows)
		  . ") AS v(rid, gid, st) ON v.rid = i.id";
	}
	if ($form eq 'delete_and_insert_runs')
	{
		my @ids = sample(1 + rnd(3), @r);
		drop_runs(@ids);
		my @t2 = tasks();
		my @rows = map { [ run_row(pick(@t2), run_status()) ] } 1 .. 1 + rnd(3);
		return "WITH d AS (DELETE FROM taskdb.runs WHERE id IN (" . idlist(@ids) . ") RETURNING id)"
		  . " INSERT INTO taskdb.runs (id, task_id, status) VALUES "
		  . join(', ', map { "(" . sqlq($_->[0]) . ", " . sqlq(tid($_->[1])) . ", " . sqlq($_->[2]) . ")" } @rows);
	}
	my @ids = sample(2 + rnd(6), @r);
	my @a = @ids[ 0 .. int(@ids / 2) - 1 ];
	my @b = @ids[ int(@ids / 2) .. $#ids ];
	my ($sa, $sb) = (run_status(), run_status());
	$S{runs}{$_}[1] = $sa for @a;
	$S{runs}{$_}[1] = $sb for @b;
	return "WITH a AS (UPDATE taskdb.runs SET status = " . sqlq($sa) . " WHERE id IN (" . idlist(@a)
	  . ") RETURNING 1) UPDATE taskdb.runs SET status = " . sqlq($sb) . " WHERE id IN (" . idlist(@b) . ")";
}

sub good_statement
{
	my $nt = keys %{ $S{tasks} };
	my $nr = keys %{ $S{runs} };
	my $ng = keys %{ $S{gates} };
	my @w = (
		insert_tasks => $nt < 20 ? 30 : $nt < 36 ? 6 : 2,
		delete_tasks => $nt > 30 ? 4 : 1,
		update_tasks => 1,
		insert_runs => $nr > 3 * $nt ? 3 : 12,
		copy => $ctx eq 'psql' ? 4 : 0,
		insert_gates => $ng > 1.5 * $nr ? 3 : 16,
		insert_artifacts => 2,
		update_run_single => 9,
		update_runs_set => 8,
		update_gate_single => 6,
		update_gates_set => 6,
		delete_runs => $nr > 3 * $nt ? 10 : 3,
		delete_gates => $ng > 1.5 * $nr ? 10 : 2,
		upsert_runs => 4,
		upsert_gates => 3,
		merge_runs => 4,
		merge_gates => 2,
		cte => 3,
	);
	my %f = (
		insert_tasks => \&st_insert_tasks, delete_tasks => \&st_delete_tasks, update_tasks => \&st_update_tasks,
		insert_runs => sub { st_insert_runs() }, copy => \&st_copy, insert_gates => \&st_insert_gates,
		insert_artifacts => \&st_insert_artifacts, update_run_single => \&st_update_run_single,
		update_runs_set => \&st_update_runs_set, update_gate_single => \&st_update_gate_single,
		update_gates_set => \&st_update_gates_set, delete_runs => \&st_delete_runs,
		delete_gates => \&st_delete_gates, upsert_runs => \&st_upsert_runs, upsert_gates => \&st_upsert_gates,
		merge_runs => \&st_merge_runs, merge_gates => \&st_merge_gates, cte => \&st_cte,
	);
	for (1 .. 50)
	{
		my $k = weighted(@w);
		my $sql = $f{$k}->();
		return $sql if defined $sql;
	}
	# nothing else applies (no task, and none may be created): a statement that touches no row
	$mix{noop}++;
	return "UPDATE taskdb.runs SET status = status WHERE false";
}

# ---------------------------------------------------------------------------
# Statements that fail on purpose (the model is not touched: a failed
# statement undoes its own writes).  Each returns [sql, expected SQLSTATE]
# (23514 check_violation, 23505 unique_violation, 23503 foreign_key_violation,
# 23000 integrity_constraint_violation, P0001 raise_exception).
# Several write rows before they fail.
# ---------------------------------------------------------------------------

sub bad_statement
{
	my @t = tasks();
	my @r = runs();
	my @g = gates();
	my @kinds = ('missing_task');
	push @kinds, 'bad_run_status_insert', 'dup_run' if @t;
	push @kinds, 'bad_run_status_update', 'change_run_task', 'bad_gate_missing_run' if @r;
	push @kinds, 'gate_task_mismatch' if @r && @t >= 2;
	push @kinds, 'bad_gate_status', 'change_gate_run' if @g && @r >= 2;
	push @kinds, 'change_task_id' if @t;
	push @kinds, 'bad_copy' if @t && $ctx eq 'psql';
	push @kinds, 'raise' if $ctx eq 'do';
	my $k = pick(@kinds);
	$mix{"fail_$k"}++;
	my $fresh = sub { sprintf('b0000000-0000-4000-8000-%012d', ++$n{run}) };
	if ($k eq 'bad_run_status_insert')
	{
		# valid rows first, the invalid status last
		my @rows = map { "(" . sqlq($fresh->()) . ", " . sqlq(tid(pick(@t))) . ", '" . run_status() . "')" } 1 .. rnd(4);
		push @rows, "(" . sqlq($fresh->()) . ", " . sqlq(tid(pick(@t))) . ", '" . pick(qw(done Running bogus)) . "')";
		return [ "INSERT INTO taskdb.runs (id, task_id, status) VALUES " . join(', ', @rows), '23514' ];
	}
	if ($k eq 'dup_run')
	{
		my @rows = map { "(" . sqlq($fresh->()) . ", " . sqlq(tid(pick(@t))) . ", 'running')" } 1 .. 1 + rnd(3);
		my $dup = @r ? pick(@r) : $fresh->();
		my $dt = @r ? tid($S{runs}{$dup}[0]) : tid(pick(@t));
		push @rows, "(" . sqlq($dup) . ", " . sqlq($dt) . ", 'failed')";
		push @rows, "(" . sqlq($dup) . ", " . sqlq($dt) . ", 'failed')" unless @r;
		return [ "INSERT INTO taskdb.runs (id, task_id, status) VALUES " . join(', ', @rows), '23505' ];
	}
	if ($k eq 'bad_run_status_update')
	{
		my @ids = sample(1 + rnd(5), @r);
		my $last = $ids[-1];
		return [ "UPDATE taskdb.runs SET status = CASE WHEN id = " . sqlq($last) . " THEN 'Completed' ELSE 'failed' END"
			  . " WHERE id IN (" . idlist(@ids) . ")", '23514' ];
	}
	if ($k eq 'change_gate_run')
	{
		my $gid = pick(@g);
		my $other = pick(grep { $_ ne $S{gates}{$gid}[0] } @r);
		return [ "UPDATE taskdb.gates SET run_id = " . sqlq($other) . " WHERE id = " . sqlq($gid),
			'23000' ];
	}
	if ($k eq 'change_task_id')
	{
		my @free = grep { !$S{tasks}{$_} } 1 .. $NTASKS;
		my $to = @free ? pick(@free) : $NTASKS + 1;
		return [ "UPDATE taskdb.tasks SET id = " . sqlq(tid($to)) . " WHERE id = " . sqlq(tid(pick(@t))),
			'23000' ];
	}
	if ($k eq 'change_run_task')
	{
		my $rid = pick(@r);
		my $other = 1 + ($S{runs}{$rid}[0] % $NTASKS);
		return [ "UPDATE taskdb.runs SET task_id = " . sqlq(tid($other)) . " WHERE id = " . sqlq($rid),
			'23000' ];
	}
	if ($k eq 'bad_gate_missing_run')
	{
		return [ "INSERT INTO taskdb.gates (id, run_id, name, type, status) VALUES ("
			  . sqlq(new_gate_id()) . ", " . sqlq(pick(@r)) . ", 'ok', 'lint', 'fail'), ("
			  . sqlq(new_gate_id()) . ", 'b0000000-0000-4000-8000-999999999999', 'orphan', 'lint', 'fail')",
			'23503' ];
	}
	if ($k eq 'gate_task_mismatch')
	{
		my $rid = pick(@r);
		my $other = pick(grep { $_ != $S{runs}{$rid}[0] } @t);
		return [ "INSERT INTO taskdb.gates (id, run_id, task_id, name, type, status) VALUES ("
			  . sqlq(new_gate_id()) . ", " . sqlq($rid) . ", " . sqlq(tid($other)) . ", 'liar', 'truth', 'fail')",
			'23503' ];
	}
	if ($k eq 'bad_gate_status')
	{
		my @ids = sample(1 + rnd(4), @g);
		return [ "UPDATE taskdb.gates SET status = CASE WHEN id = " . sqlq($ids[-1]) . " THEN 'FAIL' ELSE 'fail' END"
			  . " WHERE id IN (" . idlist(@ids) . ")", '23514' ];
	}
	if ($k eq 'bad_copy')
	{
		my @rows = map { $fresh->() . "\t" . tid(pick(@t)) . "\t" . run_status() . "\n" } 1 .. 1 + rnd(5);
		push @rows, $fresh->() . "\t" . tid(pick(@t)) . "\tnope\n";
		return [ "COPY taskdb.runs (id, task_id, status) FROM STDIN;\n" . join('', @rows) . "\\.", '23514' ];
	}
	if ($k eq 'raise')
	{
		return [ "RAISE EXCEPTION 'difftest: planned failure'", 'P0001' ];
	}
	# a run of a task that does not exist (a pool id not in use, or outside the pool)
	my @free = grep { !$S{tasks}{$_} } 1 .. $NTASKS;
	my $missing = @free ? pick(@free) : $NTASKS + 1;
	my @rows = map { "(" . sqlq($fresh->()) . ", " . sqlq(tid(pick(@t))) . ", 'completed')" } 1 .. (@t ? rnd(3) : 0);
	push @rows, "(" . sqlq($fresh->()) . ", " . sqlq(tid($missing)) . ", 'running')";
	return [ "INSERT INTO taskdb.runs (id, task_id, status) VALUES " . join(', ', @rows), '23503' ];
}

# ---------------------------------------------------------------------------
# Script output
# ---------------------------------------------------------------------------

sub emit
{
	my ($sql) = @_;
	# COPY ... FROM STDIN carries its data, ended by \. (no semicolon after it)
	$out .= $sql =~ /\\\.\z/ ? "$sql\n" : "$sql;\n";
	$plan{statements}++;
}

sub emit_meta { $out .= "$_[0]\n"; }

# A statement that must fail: psql must not stop, and must report the error.
sub emit_failing
{
	my ($bad) = @_;
	emit_meta('\set ON_ERROR_STOP 0');
	emit($bad->[0]);
	emit_meta('\set ON_ERROR_STOP 1');
	# psql 15 leaves :ERROR false after a failed COPY FROM STDIN; for COPY the
	# count of errors on stderr (compared with the plan) is the proof.
	if ($bad->[0] !~ /^COPY /)
	{
		emit_meta('\if :ERROR');
		emit_meta("\\echo XERR batch $batch_no :SQLSTATE $bad->[1]");
		emit_meta('\else');
		emit_meta("\\echo UNEXPECTED_SUCCESS batch $batch_no");
		emit_meta('\endif');
	}
	else
	{
		$plan{failing_copies}++;
	}
	$plan{expected_errors}++;
	$plan{dml}++;
}

sub emit_dml
{
	emit($_[0]);
	$plan{dml}++;
}

sub emit_good
{
	my $sql = good_statement();
	emit($sql);
	$plan{dml}++;
}

sub emit_check
{
	my ($derived) = @_;
	my $label = "b$batch_no." . ++$check_no;
	emit("SELECT * FROM difftest.check('$label', " . ($derived ? 'true' : 'false') . ", '" . fingerprint() . "')");
	$plan{ $derived ? 'checks_derived' : 'checks_stored' }++;
}

# ---------------------------------------------------------------------------
# PL/pgSQL blocks: BEGIN ... EXCEPTION blocks that write rows and then fail,
# nested up to two levels, with read-your-writes checks inside.
# ---------------------------------------------------------------------------

my $CAUGHT = 'check_violation OR unique_violation OR foreign_key_violation OR integrity_constraint_violation OR raise_exception';

sub plpgsql_block
{
	my ($depth, $indent) = @_;
	my $body = '';
	my $snap = clone_state();
	my $n = 1 + rnd(3);
	for my $i (1 .. $n)
	{
		if ($depth < 2 && chance(0.3))
		{
			$body .= plpgsql_block($depth + 1, "$indent    ");
			next;
		}
		$body .= "$indent    " . (chance(0.015) ? st_truncate() : good_statement()) . ";\n";
		$plan{dml}++;
		if (chance(0.2))
		{
			# read-your-writes inside the block: a drift raises TD001, which nothing catches
			my $label = "b$batch_no.do" . ++$check_no;
			$body .= "$indent    p := difftest.problems('$label', '" . fingerprint() . "');\n"
			  . "$indent    IF p IS NOT NULL THEN RAISE EXCEPTION 'DIFFTEST drift in block: %', p USING ERRCODE = 'TD001'; END IF;\n"
			  . "$indent    RAISE NOTICE 'DIFFTEST block check $label';\n";
			$plan{checks_in_block}++;
		}
	}
	my $code = '';
	if (chance(0.6))
	{
		my $bad = bad_statement();
		$code = $bad->[1];
		$body .= "$indent    $bad->[0];\n";
		$plan{dml}++;
		$plan{caught_errors}++;
		restore_state($snap);
		$plan{block_rollbacks}++;
	}
	return "$indent    BEGIN\n$body$indent    EXCEPTION WHEN $CAUGHT THEN\n"
	  . "$indent        RAISE NOTICE 'DIFFTEST caught % expected $code', SQLSTATE;\n$indent    END;\n";
}

sub emit_do_block
{
	my $saved = $ctx;
	$ctx = 'do';
	my $body = '';
	$body .= "    " . good_statement() . ";\n" if chance(0.7);
	$plan{dml}++ if $body;
	$body .= plpgsql_block(0, '');
	if (chance(0.5)) { $body .= "    " . good_statement() . ";\n"; $plan{dml}++; }
	$ctx = $saved;
	emit("DO \$do\$\nDECLARE p text;\nBEGIN\n$body\nEND\n\$do\$");
	$mix{do_block}++;
}

# ---------------------------------------------------------------------------
# Transactions
# ---------------------------------------------------------------------------

sub savepoint_block
{
	my ($depth) = @_;
	my $name = "sp$depth";
	emit("SAVEPOINT $name");
	$plan{savepoints}++;
	my $snap = clone_state();
	my $n = 1 + rnd(4);
	for (1 .. $n)
	{
		if ($depth < 3 && chance(0.25)) { savepoint_block($depth + 1); }
		elsif (chance(0.1)) { emit_check(1); }
		elsif (chance(0.03))
		{
			# outer levels may hold deltas the TRUNCATE voids: read-your-writes right after
			emit_dml(st_truncate());
			emit_check(1) if chance(0.6);
		}
		else { emit_good(); }
	}
	my $end = weighted(release => 45, rollback_to => 35, rollback_to_continue => 12, leave_open => 8);
	if ($end eq 'release')
	{
		emit("RELEASE SAVEPOINT $name");
		$plan{releases}++;
		return 1;
	}
	if ($end eq 'leave_open')
	{
		# committed (or rolled back) together with the transaction
		$plan{left_open}++;
		return 0;
	}
	emit("ROLLBACK TO SAVEPOINT $name");
	restore_state($snap);
	$plan{rollback_to}++;
	emit_check(1) if chance(0.3);
	if ($end eq 'rollback_to_continue')
	{
		emit_good() for 1 .. 1 + rnd(2);
		emit("RELEASE SAVEPOINT $name");
		$plan{releases}++;
	}
	return 1;
}

# SAVEPOINT; some writes; a statement that fails; ROLLBACK TO.
sub failing_in_savepoint
{
	emit("SAVEPOINT f");
	$plan{savepoints}++;
	my $snap = clone_state();
	emit_good() for 1 .. rnd(3);
	emit_failing(bad_statement());
	emit("ROLLBACK TO SAVEPOINT f");
	$plan{rollback_to}++;
	restore_state($snap);
	emit("RELEASE SAVEPOINT f") if chance(0.7);
	emit_check(1) if chance(0.25);
}

# TRUNCATE (the lock it takes is why the PREPARE check is skipped after one).
# No task id it removes counts as deleted: TRUNCATE voids the pending deltas.
sub st_truncate
{
	my $k = weighted(gates => 45, runs => 40, tasks => 15);
	$mix{"truncate_$k"}++;
	$txn_truncated = 1;
	if ($k eq 'gates')
	{
		$S{gates} = {};
		return "TRUNCATE taskdb.gates";
	}
	if ($k eq 'runs')
	{
		$S{$_} = {} for qw(runs gates arts);
		return "TRUNCATE taskdb.runs, taskdb.gates, taskdb.artifacts";
	}
	$S{$_} = {} for qw(tasks runs gates arts);
	return "TRUNCATE taskdb.tasks CASCADE";
}

# A task that is born, gets runs and gates, and dies in one transaction.
sub task_churn
{
	my @free = free_tasks();
	return emit_good() unless @free;
	my $t = pick(@free);
	emit_dml(st_insert_tasks($t));
	emit_dml(st_insert_runs('multi', $t));
	emit_dml(st_insert_gates(runs_of_tasks($t))) if chance(0.6);
	emit_check(1) if chance(0.4);
	emit_dml(st_delete_tasks($t));
	$mix{task_churn}++;
}

# A task deleted and created again with the same id in one transaction: the
# deltas recorded for its old runs must not be applied to its new summary row.
sub task_reincarnation
{
	my @t = tasks();
	return emit_good() if $no_reincarnation || !@t;
	if (chance(0.3))
	{
		# in one statement: the cascade deleting the old runs fires after both tasks triggers
		my @ids = sample(1 + rnd(2), @t);
		drop_tasks(@ids);
		$S{tasks}{$_} = 1 for @ids;
		emit_dml("WITH d AS (DELETE FROM taskdb.tasks WHERE id IN (" . tidlist(@ids) . ")"
			  . " RETURNING id, title, policy_version)"
			  . " INSERT INTO taskdb.tasks (id, title, policy_version) SELECT id, title, policy_version FROM d");
		emit_check(1) if chance(0.5);
		$mix{task_reincarnation_one_statement}++;
		return;
	}
	my $t = pick(@t);
	emit_dml(st_delete_tasks($t));
	emit_good() if chance(0.4);
	emit_dml(st_insert_tasks($t)) unless $S{tasks}{$t};    # unless the statement in between did
	emit_dml(st_insert_runs('single', $t)) if chance(0.6);
	emit_check(1) if chance(0.3);
	$mix{task_reincarnation}++;
}

sub transaction
{
	my $start = clone_state();
	my $iso = weighted('' => 80, ' ISOLATION LEVEL REPEATABLE READ' => 10, ' ISOLATION LEVEL SERIALIZABLE' => 10);
	emit("BEGIN$iso");
	my $wide = chance(0.12);
	my $nops = $wide ? 3 + rnd(10) : 1 + rnd(8);
	$txn_truncated = 0;
	my $aborted = 0;
	for my $i (1 .. $nops)
	{
		my $op = weighted(good => 55, savepoint => 12, failing => 8, do_block => 6, check => 6,
			truncate => 0.8, churn => 2.5, reincarnation => 1.5, abort => 0.8, wide => $wide ? 15 : 0);
		if ($op eq 'good') { emit_good(); }
		elsif ($op eq 'savepoint') { savepoint_block(1); }
		elsif ($op eq 'failing') { failing_in_savepoint(); }
		elsif ($op eq 'do_block') { emit_do_block(); }
		elsif ($op eq 'check') { emit_check(1); }
		elsif ($op eq 'truncate') { emit_dml(st_truncate()); emit_check(1) if chance(0.5); }
		elsif ($op eq 'churn') { task_churn(); }
		elsif ($op eq 'reincarnation') { task_reincarnation(); }
		elsif ($op eq 'wide')
		{
			my $sql = st_insert_runs('wide') // st_update_runs_set();
			if (defined $sql) { emit($sql); $plan{dml}++; }
		}
		else
		{
			# an error outside any savepoint: the whole transaction is lost
			emit_failing(bad_statement());
			$aborted = 1;
			last;
		}
	}
	if ($aborted)
	{
		emit("COMMIT");          # answered with ROLLBACK
		restore_state($start);
		$plan{rolled_back}++;
		$plan{aborted_by_error}++;
		return;
	}
	emit_check(1) if chance(0.3);
	my $end = weighted(commit => 72, commit_and_chain => 4, rollback => 12, prepare_commit => 7, prepare_rollback => 5);
	if ($end eq 'commit')
	{
		emit("COMMIT");
		$plan{committed}++;
	}
	elsif ($end eq 'commit_and_chain')
	{
		# the flush, then at once a new transaction (same isolation level) on the same backend
		emit("COMMIT AND CHAIN");
		$plan{committed}++;
		emit_check(0);
		emit_good() for 1 .. 1 + rnd(3);
		emit_check(1) if chance(0.5);
		emit("COMMIT");
		$plan{committed}++;
		$mix{commit_and_chain}++;
	}
	elsif ($end eq 'rollback')
	{
		emit("ROLLBACK");
		restore_state($start);
		$plan{rolled_back}++;
	}
	else
	{
		my $gid = "difftest_$batch_no";
		emit("PREPARE TRANSACTION '$gid'");
		# The prepared changes are invisible: the committed state must still check out
		# (not after TRUNCATE: its lock would block the check).
		if (!$txn_truncated && chance(0.5))
		{
			my $after = clone_state();
			restore_state($start);
			emit_check(0);
			restore_state($after);
		}
		if ($end eq 'prepare_commit')
		{
			emit("COMMIT PREPARED '$gid'");
			$plan{committed}++;
			$plan{prepared_committed}++;
		}
		else
		{
			emit("ROLLBACK PREPARED '$gid'");
			restore_state($start);
			$plan{rolled_back}++;
			$plan{prepared_rolled_back}++;
		}
	}
}

# Several statements sent as one query string: one implicit transaction.
sub implicit_multi
{
	my $saved = $ctx;
	$ctx = 'multi';
	my @stmts = map { good_statement() } 1 .. 2 + rnd(3);
	$ctx = $saved;
	$out .= join("\\;\n", @stmts) . ";\n";
	$plan{statements} += @stmts;
	$plan{dml} += @stmts;
	$plan{committed}++;
	$mix{implicit_multi}++;
}

sub corrupt_summary
{
	my @t = tasks();
	if (!@t)
	{
		emit(st_insert_tasks(1));
		$plan{dml}++;
		@t = (1);
	}
	emit_meta("-- self-test: corrupt one committed summary row behind taskdb's back");
	emit("UPDATE taskdb.task_status SET runs_total = runs_total + 1 WHERE task_id = " . sqlq(tid($t[0])));
	$plan{corruptions}++;
	$plan{corrupted_task} = tid($t[0]);
	$plan{corruption_check} = "b$batch_no." . ($check_no + 1);    # the stored check that follows
}

sub generate
{
	my ($seed, $batches, @opts) = @_;
	die "generate: SEED and BATCHES must be integers\n" unless defined $batches && $seed =~ /^\d+$/ && $batches =~ /^\d+$/;
	my $selftest = grep { $_ eq '--self-test' } @opts;
	$no_reincarnation = grep { $_ eq '--no-reincarnation' } @opts;
	srand($seed);
	%S = (tasks => {}, runs => {}, gates => {}, arts => {});
	$plan{$_} = 0 for qw(failing_copies statements dml committed rolled_back aborted_by_error prepared_committed prepared_rolled_back
	  savepoints releases rollback_to left_open expected_errors caught_errors block_rollbacks checks_stored
	  checks_derived checks_in_block corruptions);

	emit_meta("-- taskdb differential test, seed $seed, $batches batches" . ($selftest ? ', self-test' : ''));
	emit_meta('\set ON_ERROR_STOP 1');
	emit_meta('\set VERBOSITY default');
	emit_meta('SET synchronous_commit = off;');    # durability is not what this test is about
	for my $b (1 .. $batches)
	{
		$batch_no = $b;
		%deleted_in_txn = ();
		emit_meta("-- batch $batch_no");
		if ($selftest && $batch_no == int($batches / 10) + 1)
		{
			corrupt_summary();
		}
		else
		{
			my $kind = weighted(transaction => 74, autocommit => 16, autocommit_do => 3, autocommit_failing => 3,
				implicit_multi => 4);
			if ($kind eq 'transaction') { transaction(); }
			elsif ($kind eq 'autocommit') { emit_good(); $plan{committed}++; }
			elsif ($kind eq 'autocommit_do') { emit_do_block(); $plan{committed}++; }
			elsif ($kind eq 'autocommit_failing') { emit_failing(bad_statement()); $plan{rolled_back}++; }
			else { implicit_multi(); }
		}
		emit_check(0);
	}
	emit_meta('\echo END');
	print $out;
	$plan{seed} = $seed;
	$plan{batches} = $batches;
	$plan{self_test} = $selftest ? 1 : 0;
	$plan{final_state} = fingerprint();
	print STDERR "$_ $plan{$_}\n" for sort keys %plan;
	print STDERR "mix.$_ $mix{$_}\n" for sort keys %mix;
}

# ---------------------------------------------------------------------------
# Summary
# ---------------------------------------------------------------------------

sub slurp_lines
{
	my ($f) = @_;
	open(my $fh, '<', $f) or die "cannot read $f: $!\n";
	my @l = <$fh>;
	close $fh;
	chomp @l;
	return @l;
}

sub summarize
{
	my ($planf, $stdoutf, $stderrf, $rc, $secs) = @_;
	my %p;
	for (slurp_lines($planf)) { my ($k, $v) = split / /, $_, 2; $p{$k} = $v; }
	my @so = slurp_lines($stdoutf);
	my @se = slurp_lines($stderrf);
	my ($checks, $derived, $drift, $fill, $history, $model, $unexpected, $wrong, $end) = (0, 0, 0, 0, 0, 0, 0, 0, 0);
	my @problems;
	for (@so)
	{
		if (/^CHECK (\S+) (stored|derived) (\d+) (\d+) (\d+) (\d+) (\d+) (ok|bad)$/)
		{
			$checks++;
			$derived++ if $2 eq 'derived';
			$drift += $3 + $4 + $5;
			$fill += $6;
			$history += $7;
			$model++ if $8 eq 'bad';
		}
		elsif (/^(DRIFT|FILL|HISTORY|MODEL) /) { push @problems, $_; }
		elsif (/^UNEXPECTED_SUCCESS/) { $unexpected++; push @problems, $_; }
		elsif (/^XERR batch (\d+) (\S+) (\S+)$/) { if ($2 ne $3) { $wrong++; push @problems, "batch $1: failed with SQLSTATE $2, expected $3"; } }
		elsif ($_ eq 'END') { $end = 1; }
	}
	my $errors = grep { /^psql:.*ERROR:/ } @se;
	my $block_checks = grep { /NOTICE:  DIFFTEST block check / } @se;
	my $caught = grep { /NOTICE:  DIFFTEST caught / } @se;
	for (grep { /NOTICE:  DIFFTEST caught / } @se)
	{
		next if /caught (\S+) expected (\S+)$/ && $1 eq $2;
		$wrong++;
		push @problems, "PL/pgSQL handler: $_";
	}
	my $bad_copies = grep { /ERROR:  invalid value "nope" for runs\.status/ } @se;
	my $want_checks = $p{checks_stored} + $p{checks_derived};
	my @fail;
	push @fail, "psql exited with status $rc" if $rc != 0;
	push @fail, "script did not reach its end" unless $end;
	push @fail, "$drift drift rows" if $drift;
	push @fail, "$fill gates/artifacts with a task_id other than their run's" if $fill;
	push @fail, "$history rows where the event history disagrees with the tables" if $history;
	push @fail, "$model checks where the tables disagree with the generator's model" if $model;
	push @fail, "$unexpected statements that should have failed succeeded" if $unexpected;
	push @fail, "$wrong statements failed with another error than planned" if $wrong;
	if ($end)
	{
		push @fail, "$checks checks ran, $want_checks planned" if $checks != $want_checks;
		push @fail, "$errors errors, $p{expected_errors} expected" if $errors != $p{expected_errors};
		push @fail, "$block_checks in-block checks ran, $p{checks_in_block} planned"
		  if $block_checks != $p{checks_in_block};
		push @fail, "$caught errors caught in PL/pgSQL, $p{caught_errors} planned" if $caught != $p{caught_errors};
		push @fail, "$bad_copies COPY commands failed on their bad row, $p{failing_copies} planned"
		  if $bad_copies != $p{failing_copies};
	}
	if ($p{self_test})
	{
		my ($l, $t) = ($p{corruption_check} // '', $p{corrupted_task} // '');
		my $caught = grep { /^DRIFT \Q$l\E (missing|extra) \(\Q$t\E,/ } @so;
		my $reached = grep { /^CHECK \Q$l\E / } @so;
		print "self-test: the summary row of task $t, corrupted before check $l, "
		  . ($caught ? "was reported as drift ($caught rows) by that check\n"
			: $reached ? "was NOT reported by that check\n" : "was never checked: the run stopped earlier\n");
		push @fail, "self-test: planted corruption not detected" unless $caught;
	}
	if (@problems)
	{
		print "first problems:\n";
		print "  $_\n" for @problems[ 0 .. ($#problems < 19 ? $#problems : 19) ];
	}
	if ($rc != 0 || !$end)
	{
		my @err = grep { !/NOTICE:  / } @se;
		print "last psql messages:\n";
		print "  $_\n" for @err[ ($#err > 14 ? $#err - 14 : 0) .. $#err ];
	}
	my @mix = map { /^mix\.(\S+)/ ? "$1=$p{$_}" : () } sort keys %p;
	print "mix: @mix\n";
	printf "differential: seed=%s batches=%s statements=%s dml=%s committed=%s rolled_back=%s "
	  . "(prepared: %s committed, %s rolled back) savepoints=%s rollback_to=%s expected_errors=%s/%s "
	  . "caught_in_plpgsql=%s checks=%s (stored=%s derived=%s in_block=%s) drift_rows=%s history_rows=%s time=%.1fs %s\n",
	  $p{seed}, $p{batches}, $p{statements}, $p{dml}, $p{committed}, $p{rolled_back},
	  $p{prepared_committed}, $p{prepared_rolled_back}, $p{savepoints}, $p{rollback_to}, $errors,
	  $p{expected_errors}, $caught, $checks + $block_checks, $checks - $derived, $derived, $block_checks,
	  $drift, $history, $secs, @fail ? 'FAIL: ' . join('; ', @fail) : 'PASS';
	return @fail ? 1 : 0;
}

# ---------------------------------------------------------------------------
# Main (at the end: the file-scope variables above must be initialized first)
# ---------------------------------------------------------------------------

my $cmd = shift @ARGV // '';
if ($cmd eq 'setup') { print setup_sql(); exit 0; }
if ($cmd eq 'generate') { generate(@ARGV); exit 0; }
if ($cmd eq 'summarize') { exit summarize(@ARGV); }
die "usage: $0 setup | generate SEED BATCHES [--self-test] [--no-reincarnation] | summarize ...\n";
