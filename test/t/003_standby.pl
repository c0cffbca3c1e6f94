# A streaming hot standby: after catch-up its status reads equal the
# primary's, its export hash too, doctor() runs there; promoted, it is clean
# and maintains the summary for new writes.  And pg_dump / pg_restore of the
# primary into a new database: the same export hash and statuses.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf', "shared_preload_libraries = 'taskdb'\n");
$primary->start;
$primary->safe_psql('postgres', q{
	CREATE EXTENSION taskdb;
	SET client_min_messages = warning;
	SELECT taskdb.generate_synthetic(200, 3, 2, 100, seed => 3);
});
$primary->backup('base');

my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'base', has_streaming => 1);
$standby->start;

# Writes after the base backup reach the standby only through streaming.
$primary->safe_psql('postgres', q{
	SET client_min_messages = warning;
	SELECT taskdb.generate_synthetic(100, 2, 2, 50, seed => 4);
	UPDATE taskdb.runs SET status = 'failed'
	 WHERE id IN (SELECT id FROM taskdb.runs ORDER BY id LIMIT 40);
	DELETE FROM taskdb.gates WHERE id IN (SELECT id FROM taskdb.gates WHERE status = 'fail' ORDER BY id LIMIT 3);
	SELECT taskdb.publish_report(jsonb_build_array(
	  jsonb_build_object('kind', 'task_id', 'id', (SELECT id FROM taskdb.tasks ORDER BY id LIMIT 1)))) IS NOT NULL;
});
$primary->wait_for_catchup($standby);

my $statuses = q{SELECT string_agg(task_id || ' ' || status_derived, ',' ORDER BY task_id) FROM taskdb.task_status};
my $reads = q{SELECT string_agg(taskdb.status_derived(id), ',' ORDER BY id) FROM taskdb.tasks};
is($standby->safe_psql('postgres', 'SELECT pg_is_in_recovery()'), 't', 'the standby is in recovery');
is($standby->safe_psql('postgres', $statuses), $primary->safe_psql('postgres', $statuses),
	'every task_status row on the standby equals the primary\'s');
is($standby->safe_psql('postgres', $reads), $primary->safe_psql('postgres', $reads),
	'status_derived() reads on the standby equal the primary\'s');
like($primary->safe_psql('postgres', 'SELECT count(DISTINCT status_derived) FROM taskdb.task_status'),
	qr/^[3-9]$/, 'with several distinct statuses to compare');
is($standby->safe_psql('postgres', 'SELECT taskdb.export_hash()'),
	$primary->safe_psql('postgres', 'SELECT taskdb.export_hash()'), 'export hashes are equal');
is($standby->safe_psql('postgres', q{
	SELECT count(*) FROM taskdb.reports r, taskdb.verify_provenance(r.report) v WHERE v.status <> 'PASS'}),
	'0', 'the report verifies on the standby');
is($standby->safe_psql('postgres', "SELECT status FROM taskdb.doctor() WHERE check_name = 'system_health'"),
	'excellent', 'doctor() runs on the standby and says excellent');
my ($rc, $out, $err) = $standby->psql('postgres',
	q{INSERT INTO taskdb.tasks (title, policy_version) VALUES ('x', '1')});
like($err, qr/read-only transaction/, 'the standby refuses writes');

# pg_dump / pg_restore into a new database.
my $dump = $primary->basedir . '/taskdb.dump';
$primary->command_ok([ 'pg_dump', '-Fc', '-f', $dump, '-d', $primary->connstr('postgres') ],
	'pg_dump of the primary');
$primary->safe_psql('postgres', 'CREATE DATABASE restored');
$primary->safe_psql('postgres', 'ALTER DATABASE restored SET taskdb.restoring = on');
$primary->command_ok([ 'pg_restore', '--exit-on-error', '-d', $primary->connstr('restored'), $dump ],
	'pg_restore into a new database, with taskdb.restoring on');
like($primary->safe_psql('restored', 'SELECT taskdb.post_restore()'), qr/^taskdb restored: era 2 begins/,
	'post_restore() starts era 2');
is($primary->safe_psql('restored', 'SELECT taskdb.export_hash()'),
	$primary->safe_psql('postgres', 'SELECT taskdb.export_hash()'), 'the restored database has the same export hash');
is($primary->safe_psql('restored', $statuses), $primary->safe_psql('postgres', $statuses),
	'and the same status for every task');
is($primary->safe_psql('restored', q{
	SELECT count(*) FROM taskdb.reports r, taskdb.verify_provenance(r.report) v WHERE v.status <> 'PASS'}),
	'0', 'and the report still verifies there');

$standby->promote;
$standby->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()')
  or die 'standby did not leave recovery';
is($standby->safe_psql('postgres', "SELECT status FROM taskdb.doctor() WHERE check_name = 'system_health'"),
	'excellent', 'promoted, doctor() says excellent');
$standby->safe_psql('postgres', q{
	INSERT INTO taskdb.runs (task_id, status)
	SELECT id, 'failed' FROM taskdb.tasks ORDER BY id LIMIT 5;
});
is($standby->safe_psql('postgres', q{
	SELECT count(*) FROM (SELECT id FROM taskdb.tasks ORDER BY id LIMIT 5) t
	 WHERE taskdb.status_derived(t.id) <> 'failed'}),
	'0', 'writes on the promoted standby maintain the summary');
is($standby->safe_psql('postgres', "SELECT status FROM taskdb.doctor() WHERE check_name = 'summary_drift'"),
	'pass', 'and leave no drift');

$standby->stop;
$primary->stop;
done_testing();
