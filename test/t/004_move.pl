# Moving a database to another server with pg_dump: the history goes with
# it, and verdicts do not depend on the transaction ids of the server that
# verifies.
#
# The source server's transaction ids are set far ahead (pg_resetwal -x),
# as on any server that has been in use for a while; the target is new, so
# its ids start far below.  In 1.0 the history was not dumped at all, and a
# change made on the target after the move would have an xid "visible" in
# every report snapshot taken on the source: verification would call it
# "already different at snapshot".  1.1 dumps the history, restores it with
# taskdb.restoring on, and post_restore() starts a new era in which every
# change is after every snapshot of an earlier era.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;

my $source = PostgreSQL::Test::Cluster->new('source');
$source->init;
$source->append_conf('postgresql.conf', "shared_preload_libraries = 'taskdb'\n");
# Next xid 50,000,000: pg_resetwal needs the commit log segment for it.
my $pgdata = $source->data_dir;
command_ok([ 'pg_resetwal', '-x', '50000000', $pgdata ], 'the source server starts at xid 50,000,000');
{
	my $segment = sprintf('%s/pg_xact/%04X', $pgdata, int(50000000 / (32768 * 32)));
	open(my $fh, '>', $segment) or die "cannot create $segment: $!";
	print $fh "\0" x (256 * 1024);
	close($fh);
}
$source->start;
cmp_ok($source->safe_psql('postgres', 'SELECT pg_current_xact_id()::text::bigint'), '>=', 50000000,
	'the source hands out xids above 50,000,000');

$source->safe_psql('postgres', q{
	CREATE EXTENSION taskdb;
	INSERT INTO taskdb.tasks (id, title, policy_version) VALUES
	  ('04000000-0000-4000-8000-000000000001', 'kept', '1'),
	  ('04000000-0000-4000-8000-000000000002', 'changed before the move', '1'),
	  ('04000000-0000-4000-8000-000000000003', 'changed after the move', '1');
	INSERT INTO taskdb.runs (id, task_id, status) VALUES
	  ('04000000-0000-4000-8001-000000000001', '04000000-0000-4000-8000-000000000001', 'completed'),
	  ('04000000-0000-4000-8001-000000000002', '04000000-0000-4000-8000-000000000002', 'completed'),
	  ('04000000-0000-4000-8001-000000000003', '04000000-0000-4000-8000-000000000003', 'completed');
});
$source->safe_psql('postgres', q{
	SELECT taskdb.publish_report('[
	  {"kind": "run_id", "id": "04000000-0000-4000-8001-000000000001", "expected": "completed"},
	  {"kind": "run_id", "id": "04000000-0000-4000-8001-000000000002", "expected": "completed"},
	  {"kind": "run_id", "id": "04000000-0000-4000-8001-000000000003", "expected": "completed"},
	  {"kind": "status_derived", "id": "04000000-0000-4000-8000-000000000003", "expected": "completed"}]') IS NOT NULL;
});
$source->safe_psql('postgres',
	q{UPDATE taskdb.runs SET status = 'failed' WHERE id = '04000000-0000-4000-8001-000000000002'});

my $verdicts = q{
	SELECT string_agg(format('%s %s %s %s', v.claim, v.status, coalesce(v.mismatch, '-'),
	                         coalesce(v.changed_at::text, '-')), E'\n' ORDER BY v.claim)
	  FROM taskdb.reports r, taskdb.verify_provenance(r.report) v};
my $history = q{
	SELECT count(*) || ' ' || md5(string_agg(ROW(e.id, e.xact_id, e.occurred_at, e.task_id, e.entity, e.entity_id,
	       e.operation, e.old_status, e.new_status, e.changes, e.era)::text, '|' ORDER BY e.id))
	  FROM taskdb.event_history e};
my $source_verdicts = $source->safe_psql('postgres', $verdicts);
like($source_verdicts, qr/run_id:04000000-0000-4000-8001-000000000002 FAIL changed after snapshot: completed -> failed \d{4}-/,
	'on the source, the run changed after the report fails, with the time of the change');
my $source_history = $source->safe_psql('postgres', $history);

my $custom = $source->basedir . '/taskdb.dump';
my $plain = $source->basedir . '/taskdb.sql';
$source->command_ok([ 'pg_dump', '-Fc', '-f', $custom, '-d', $source->connstr('postgres') ], 'pg_dump -Fc');
$source->command_ok([ 'pg_dump', '-f', $plain, '-d', $source->connstr('postgres') ], 'pg_dump (plain)');

my $target = PostgreSQL::Test::Cluster->new('target');
$target->init;
$target->append_conf('postgresql.conf', "shared_preload_libraries = 'taskdb'\n");
$target->start;
cmp_ok($target->safe_psql('postgres', 'SELECT pg_current_xact_id()::text::bigint'), '<', 100000,
	'the target is a new server: its xids start far below the source\'s');

# A restore without taskdb.restoring fails loudly instead of losing history.
$target->safe_psql('postgres', 'CREATE DATABASE careless');
my ($out, $err) = ('', '');
my $ok = IPC::Run::run([ 'pg_restore', '-d', $target->connstr('careless'), $custom ], '>', \$out, '2>', \$err);
ok(!$ok, 'pg_restore without taskdb.restoring exits with an error');
like($err, qr/INSERT on taskdb\.history\S* is not allowed/, 'it names the refused history');
like($err, qr/taskdb\.restoring = on/, 'and says what to do');
is($target->safe_psql('careless', "SELECT status FROM taskdb.doctor() WHERE check_name = 'report_history'"),
	'fail', 'and doctor() says the reports lost the history they stand on');

# pg_dump -Fc / pg_restore, and pg_dump | psql, with taskdb.restoring on.
for my $way ('custom', 'plain')
{
	my $db = "moved_$way";
	$target->safe_psql('postgres', "CREATE DATABASE $db");
	$target->safe_psql('postgres', "ALTER DATABASE $db SET taskdb.restoring = on");
	if ($way eq 'custom')
	{
		$target->command_ok([ 'pg_restore', '--exit-on-error', '-d', $target->connstr($db), $custom ],
			'pg_restore into the new server');
	}
	else
	{
		$target->command_ok([ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-f', $plain, '-d', $target->connstr($db) ],
			'psql < the plain dump into the new server');
	}
	like($target->safe_psql($db, 'SELECT taskdb.post_restore()'), qr/^taskdb restored: era 2 begins/,
		"$way: post_restore() starts era 2");
	is($target->safe_psql($db, $history), $source_history, "$way: the whole history came along, unchanged");
	is($target->safe_psql($db, $verdicts), $source_verdicts,
		"$way: every claim verifies as on the source: same status, mismatch and changed_at");
	is($target->safe_psql($db, "SELECT status FROM taskdb.doctor() WHERE check_name = 'system_health'"),
		'excellent', "$way: doctor() says excellent");

	# A change on the new server, whose xids are far below the report's snapshot.
	$target->safe_psql($db,
		q{UPDATE taskdb.runs SET status = 'failed' WHERE id = '04000000-0000-4000-8001-000000000003'});
	my $after = $target->safe_psql($db, q{
		SELECT v.status || ' ' || v.mismatch || ' ' || (v.changed_at > (r.report->>'verification_snapshot_ts')::timestamptz)
		  FROM taskdb.reports r, taskdb.verify_provenance(r.report) v
		 WHERE v.claim IN ('run_id:04000000-0000-4000-8001-000000000003', 'status_derived:04000000-0000-4000-8000-000000000003')
		 ORDER BY v.claim});
	is($after, "FAIL changed after snapshot: completed -> failed true\nFAIL changed after snapshot: completed -> failed true",
		"$way: a change made after the move is \"changed after snapshot\", with its time");
	is($target->safe_psql($db, q{SELECT string_agg(DISTINCT era::text, ',') FROM taskdb.event_history
	                               WHERE entity_id = '04000000-0000-4000-8001-000000000003'}), '1,2',
		"$way: the run's history holds its era-1 events and the era-2 change");

	# A report published on the new server verifies there as usual.
	$target->safe_psql($db, q{SELECT taskdb.publish_report('[
	  {"kind": "run_id", "id": "04000000-0000-4000-8001-000000000001", "expected": "completed"}]')});
	$target->safe_psql($db,
		q{UPDATE taskdb.runs SET status = 'cancelled' WHERE id = '04000000-0000-4000-8001-000000000001'});
	is($target->safe_psql($db, q{
		SELECT string_agg(v.status || ' ' || coalesce(v.mismatch, '-'), ',' ORDER BY r.verification_snapshot_ts)
		  FROM taskdb.reports r, taskdb.verify_provenance(r.report) v
		 WHERE v.claim = 'run_id:04000000-0000-4000-8001-000000000001'}),
		'FAIL changed after snapshot: completed -> cancelled,FAIL changed after snapshot: completed -> cancelled',
		"$way: the source's report and a report made after the move both see the later change");
}

done_testing();
