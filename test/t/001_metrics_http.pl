# The /metrics endpoint: answers, refusals, clients that misbehave, a flood
# of silent connections, cancel and restarts, a port already taken, and a
# real Prometheus scraping it.
use strict;
use warnings;

use File::Temp qw(tempdir);
use HTTP::Tiny;
use IO::Select;
use IO::Socket::INET;
use JSON::PP;
use POSIX ();
use Time::HiRes qw(time sleep);

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $hport = PostgreSQL::Test::Cluster::get_free_port();

my $node = PostgreSQL::Test::Cluster->new('metrics');
$node->init;
$node->append_conf('postgresql.conf', qq(
shared_preload_libraries = 'taskdb'
taskdb.metrics_port = $hport
restart_after_crash = on
));
$node->start;

# Everything the server sends until it closes (or $secs pass), then close.
sub read_to_eof
{
	my ($sock, $secs) = @_;
	my $sel = IO::Select->new($sock);
	my $data = '';
	my $until = time + $secs;
	while (time < $until && $sel->can_read($until - time))
	{
		my $n = sysread($sock, my $chunk, 65536);
		last if !$n;
		$data .= $chunk;
	}
	close $sock;
	return $data;
}

# One request over a raw socket: returns (status, headers, body), or
# (undef) when the server closed without an answer or did not answer within
# $secs (8 unless given), connecting included.
sub http_raw
{
	my ($port, $request, $secs) = @_;
	$secs //= 8;
	my $until = time + $secs;
	my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
		Proto => 'tcp', Timeout => $secs) or return (undef);
	print $sock $request;
	my $data = read_to_eof($sock, $until - time);
	return (undef) unless $data =~ m{^HTTP/1\.1 (\d{3}) [^\r]*\r\n(.*?)\r\n\r\n(.*)\z}s;
	return ($1, $2, $3);
}

sub get_metrics { return http_raw($hport, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", @_); }

sub wait_for_endpoint
{
	my $until = time + 60;
	while (time < $until)
	{
		my ($status) = get_metrics();
		return 1 if defined $status && $status == 200;
		sleep 0.2;
	}
	return 0;
}

sub worker_pid
{
	return $node->safe_psql('postgres',
		"SELECT pid FROM pg_stat_activity WHERE backend_type = 'taskdb metrics'");
}

ok(wait_for_endpoint(), 'the endpoint answers after server start');

# --- what it answers ---------------------------------------------------------
$node->safe_psql('postgres', q{
	CREATE EXTENSION taskdb;
	SELECT taskdb.metrics_reset();
	SELECT taskdb.status_derived(taskdb.create_task('t', '1'));
	SELECT taskdb.status_derived(id) FROM taskdb.tasks;
	SELECT taskdb.status_derived(id) FROM taskdb.tasks;
});
my ($status, $headers, $body) = get_metrics();
is($status, 200, 'GET /metrics: 200');
like($headers, qr{^Content-Type: text/plain; version=0\.0\.4; charset=utf-8\r?$}mi,
	'Prometheus text content type');
like($headers, qr{^Content-Length: ${\ length($body)}\r?$}m, 'Content-Length is the body length');
like($headers, qr{^Connection: close\r?$}m, 'Connection: close');
like($body, qr/^taskdb_build_info\{version="1\.1",pg_major="\d+"\} 1$/m, 'build info');
like($body, qr/^taskdb_status_derived_read_latency_ms_count 3$/m,
	'the three reads made over SQL are counted in what HTTP serves');

# The same samples as taskdb.metrics() (the gauge and counters do not move
# between the two reads; the histograms were not touched since).
my $sql_text = $node->safe_psql('postgres', 'SELECT taskdb.metrics()');
my ($s2, undef, $body2) = get_metrics();
s/\n+\z// for $sql_text, $body2;
is($body2, $sql_text, 'the body equals taskdb.metrics()');

($status) = http_raw($hport, "GET /metrics?name[]=x HTTP/1.0\r\n\r\n");
is($status, 200, 'a query string and HTTP/1.0 are fine');
($status) = http_raw($hport, "GET /metrics HTTP/1.1\n\n");
is($status, 200, 'bare LF line ends are fine');

# --- what it refuses ---------------------------------------------------------
my ($st, $hd, $bd) = http_raw($hport, "POST /metrics HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc");
is($st, 405, 'POST /metrics: 405');
like($hd, qr/^Allow: GET\r?$/m, '405 says which method is allowed');
($st) = http_raw($hport, "HEAD /metrics HTTP/1.1\r\n\r\n");
is($st, 405, 'HEAD /metrics: 405');
($st, undef, $bd) = http_raw($hport, "GET / HTTP/1.1\r\n\r\n");
is($st, 404, 'GET /: 404');
like($bd, qr{/metrics}, '404 says where the metrics are');
($st) = http_raw($hport, "GET /metricsx HTTP/1.1\r\n\r\n");
is($st, 404, 'GET /metricsx: 404');
($st) = http_raw($hport, "GET /metrics/ HTTP/1.1\r\n\r\n");
is($st, 404, 'GET /metrics/: 404');
($st) = http_raw($hport, "garbage\r\n\r\n");
is($st, 400, 'garbage: 400');
($st) = http_raw($hport, "GET /metrics\r\n\r\n");
is($st, 400, 'no protocol version: 400');
($st) = http_raw($hport, "GET /metrics SPDY/3\r\n\r\n");
is($st, 400, 'not HTTP/1.x: 400');
($st) = http_raw($hport, "GET metrics HTTP/1.1\r\n\r\n");
is($st, 400, 'a target without a slash: 400');
($st) = http_raw($hport, "GET /met\x01rics HTTP/1.1\r\n\r\n");
is($st, 400, 'a control character: 400');
($st) = http_raw($hport, "\0\xff\xfe binary \r\n\r\n");
is($st, 400, 'binary junk: 400');
($st) = http_raw($hport, "GET /metrics HTTP/1.1\0garbage\r\n\r\n");
is($st, 400, 'a NUL byte in the request line: 400');
($st) = http_raw($hport, "\r\n\r\nGET /metrics HTTP/1.1\r\n\r\n");
is($st, 200, 'empty lines before the request line are skipped (RFC 9112)');
($st) = http_raw($hport, "GET /metrics HTTP/1.1\r\nX-Long: " . ('a' x 9000) . "\r\n\r\n");
is($st, 431, 'headers over 8 kB: 431');
($st) = http_raw($hport, 'G' x 20000);
is($st, 431, '20 kB without a line end: 431');

# --- clients that misbehave cannot block it, nor the database ----------------
my @silent;
for my $i (1 .. 40)
{
	my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $hport, Proto => 'tcp')
	  or die "connect: $!";
	print $s "GET /metr" if $i % 2;    # half send a partial request
	push @silent, $s;
}
# A client that asks and never reads its answer.
my $deaf = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $hport, Proto => 'tcp');
print $deaf "GET /metrics HTTP/1.1\r\n\r\n";
my $t0 = time;
($st) = get_metrics();
my $elapsed = time - $t0;
is($st, 200, 'a scrape succeeds while 40 silent or half-sent clients and a deaf one are connected');
# Clients are dropped after 5 s; a scrape that waited for them would take that long.
cmp_ok($elapsed, '<', 4, 'and is not made to wait for them');
is($node->safe_psql('postgres', 'SELECT count(*) FROM taskdb.tasks'), '1',
	'the database answers meanwhile');
# A silent client is dropped (EOF) within its 5 s.
my $lone = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $hport, Proto => 'tcp');
my $sel = IO::Select->new($lone);
$t0 = time;
my $got_eof = 0;
if ($sel->can_read(15))
{
	my $n = sysread($lone, my $buf, 100);
	$got_eof = defined $n && $n == 0;
}
ok($got_eof, 'a client that says nothing is disconnected');
cmp_ok(time - $t0, '<', 10, 'within its time limit');
close $_ for @silent, $deaf, $lone;

# A burst of 48 clients that all connect first and then all ask: every one
# is answered (none is evicted by another member of the burst).
my @burst = map {
	IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $hport, Proto => 'tcp') or die "connect: $!"
} 1 .. 48;
print $_ "GET /metrics HTTP/1.1\r\n\r\n" for @burst;
my $answered = 0;
for my $sock (@burst)
{
	$answered++ if read_to_eof($sock, 10) =~ m{^HTTP/1\.1 200 };
}
is($answered, 48, 'a burst of 48 simultaneous scrapes: all answered 200');

# 200 clients, more than the 128 slots, each asking as soon as it is
# connected and reading its answer only once all are connected: every one
# is answered (the clients evicted to make room are those already answered).
@burst = map {
	my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $hport, Proto => 'tcp')
	  or die "connect: $!";
	print $s "GET /metrics HTTP/1.1\r\n\r\n";
	$s;
} 1 .. 200;
$answered = 0;
for my $sock (@burst)
{
	$answered++ if read_to_eof($sock, 10) =~ m{^HTTP/1\.1 200 };
}
is($answered, 200, '200 scrapes at once, more than the slots: all answered 200');

# A flood of silent connections: a child process opens about 200 a second
# for 4 s (800 at most) and never sends a byte on them, while this process
# scrapes one scrape after another.  Every scrape must be answered 200
# within 1 s; each is given at most 3 s, so the section ends within about
# 8 s whatever the worker does.
{
	my ($flood_secs, $rate) = (4, 200);
	pipe(my $from_flood, my $to_parent) or die "pipe: $!";
	my $flooder = fork();
	die "fork: $!" unless defined $flooder;
	if ($flooder == 0)
	{
		close $from_flood;
		# Never die nor exit() here: the cluster's END blocks, which stop
		# the nodes, belong to the parent.
		eval {
			my @held;
			my $start = time;
			for my $i (0 .. $flood_secs * $rate - 1)
			{
				my $wait = $start + $i / $rate - time;
				sleep($wait) if $wait > 0;
				last if time > $start + $flood_secs;
				# Non-blocking: a full backlog must not slow the flood down.
				my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $hport,
					Proto => 'tcp', Blocking => 0);
				push @held, $s if $s;
			}
			printf $to_parent "%d %.2f\n", scalar(@held), time - $start;
			close $to_parent;
		};
		POSIX::_exit(0);
	}
	close $to_parent;

	my @took;
	my $failed = 0;
	my $stop = time + $flood_secs;
	sleep 0.3;    # let the flood fill the slots first
	while (time < $stop && @took < 200)
	{
		my $t = time;
		my ($fst) = get_metrics(3);
		my $dt = time - $t;
		push @took, $dt;
		$failed++ unless defined $fst && $fst == 200 && $dt < 1;
		sleep 0.02;
	}
	my $flood = <$from_flood> // '0 0';
	waitpid($flooder, 0);
	my ($opened, $over) = split ' ', $flood;
	my @sorted = sort { $a <=> $b } @took;
	diag(sprintf('silent flood: %d connections in %.2f s; %d scrapes, %d not 200 within 1 s; '
		  . 'scrape time median %.3f s, max %.3f s',
		$opened, $over, scalar(@took), $failed, $sorted[ $#sorted / 2 ] // 0, $sorted[-1] // 0));
	cmp_ok($opened, '>=', $flood_secs * $rate * 0.9,
		'the flood opened about 200 silent connections a second');
	cmp_ok(scalar(@took), '>=', 10, 'scrapes were made throughout the flood');
	is($failed, 0, 'every scrape during the flood was answered 200 within 1 s');
}

# --- cancel, terminate, crash ---------------------------------------------------
my $pid = worker_pid();
like($pid, qr/^\d+$/, 'the worker shows in pg_stat_activity as "taskdb metrics"');

# pg_cancel_backend() has nothing to cancel in the worker: the same process
# keeps serving, with no gap.
is($node->safe_psql('postgres', "SELECT pg_cancel_backend($pid)"), 't',
	'pg_cancel_backend() signals the worker');
($st) = get_metrics(1);
is($st, 200, 'a scrape right after pg_cancel_backend() is answered 200');
my $served = 0;
for (1 .. 10)
{
	my ($cst) = get_metrics(1);
	$served++ if defined $cst && $cst == 200;
	sleep 0.05;
}
is($served, 10, 'and so are the ten scrapes after it');
is(worker_pid(), $pid, 'by the same worker process');

$node->safe_psql('postgres', "SELECT pg_terminate_backend($pid)");
ok( $node->poll_query_until('postgres',
		"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'taskdb metrics' AND pid <> $pid"),
	'terminated, the worker is started again');
ok(wait_for_endpoint(), 'and answers again');

$pid = worker_pid();
kill 'KILL', $pid;
ok(wait_for_endpoint(), 'after a SIGKILL and the crash restart it brings, the endpoint answers again');
is($node->safe_psql('postgres', 'SELECT count(*) FROM taskdb.tasks'), '1',
	'and the data is intact');

# --- a port already in use: the database starts anyway, the log says why -------
my $other = PostgreSQL::Test::Cluster->new('port_taken');
$other->init;
$other->append_conf('postgresql.conf', qq(
shared_preload_libraries = 'taskdb'
taskdb.metrics_port = $hport
));
$other->start;
ok( $other->wait_for_log(
		qr/could not listen for the taskdb metrics endpoint on "127\.0\.0\.1" port $hport: Address already in use/),
	'a second cluster on the same metrics port logs why it cannot listen');
is($other->safe_psql('postgres', 'SELECT 1'), '1', 'and works otherwise');
$other->stop;

# --- a real Prometheus scrapes it -----------------------------------------------
SKIP:
{
	my ($prometheus) = grep { -x } map { "$_/prometheus" } split /:/, $ENV{PATH};
	if (!$prometheus)
	{
		# CI installs it (scripts/install-deps.sh); elsewhere say so loudly.
		fail('prometheus is installed') if $ENV{CI};
		skip 'prometheus is not installed', 6;
	}
	my $pport = PostgreSQL::Test::Cluster::get_free_port();
	my $dir = tempdir(CLEANUP => 1);
	# The shipped configuration, pointed at this cluster's port and scraping
	# every second; it loads the shipped alert rules.
	my $cfg = slurp_file("config/prometheus.yml");
	ok($cfg =~ s/'127\.0\.0\.1:9189'/'127.0.0.1:$hport'/, 'config/prometheus.yml has the target to point at this port');
	$cfg =~ s/(scrape_interval|evaluation_interval): 15s/$1: 1s/g;
	open my $out, '>', "$dir/prometheus.yml" or die;
	print $out $cfg;
	close $out;
	open $out, '>', "$dir/prometheus-alerts.yml" or die;
	print $out slurp_file("config/prometheus-alerts.yml");
	close $out;
	my $ppid = fork();
	if ($ppid == 0)
	{
		open STDOUT, '>', "$dir/prometheus.log";
		open STDERR, '>&', \*STDOUT;
		exec $prometheus, "--config.file=$dir/prometheus.yml",
		  "--web.listen-address=127.0.0.1:$pport",
		  "--storage.tsdb.path=$dir/data";
		die "exec prometheus: $!";
	}

	my $http = HTTP::Tiny->new(timeout => 5);
	my $query = sub {
		my ($expr) = @_;
		my $r = $http->get("http://127.0.0.1:$pport/api/v1/query?query="
			  . join('', map { sprintf '%%%02X', ord } split //, $expr));
		return undef unless $r->{success};
		my $res = decode_json($r->{content});
		return undef unless $res->{status} eq 'success' && @{ $res->{data}{result} };
		return $res->{data}{result}[0];
	};
	my $wait_for = sub {
		my ($expr, $want) = @_;
		my $until = time + 90;
		while (time < $until)
		{
			my $r = $query->($expr);
			return $r if $r && (!defined $want || $r->{value}[1] eq $want);
			sleep 0.5;
		}
		return undef;
	};

	$node->safe_psql('postgres', q{
		SELECT taskdb.metrics_reset();
		SELECT taskdb.status_derived(id) FROM taskdb.tasks, generate_series(1, 7);
	});
	my $up = $wait_for->('up{job="taskdb"}', '1');
	ok($up, 'Prometheus scrapes the endpoint: up == 1');
	my $info = $wait_for->('taskdb_build_info', '1');
	is($info && $info->{metric}{version}, '1.1', 'taskdb_build_info read back through the query API');
	my $reads = $wait_for->('taskdb_status_derived_read_latency_ms_count', '7');
	ok($reads, 'the 7 reads made over SQL come back through Prometheus');
	my $p95 = $wait_for->(
		'histogram_quantile(0.95, taskdb_status_derived_read_latency_ms_bucket)');
	ok($p95 && $p95->{value}[1] =~ /^[0-9.e+-]+$/ && $p95->{value}[1] > 0,
		'histogram_quantile over the buckets gives a P95');
	my $rules = $http->get("http://127.0.0.1:$pport/api/v1/rules");
	my @alerts = $rules->{success}
	  ? map { $_->{name} } map { @{ $_->{rules} } } @{ decode_json($rules->{content})->{data}{groups} }
	  : ();
	my @shipped = slurp_file("config/prometheus-alerts.yml") =~ /^\s*- alert: (\S+)$/mg;
	is_deeply([ sort @alerts ], [ sort @shipped ],
		'Prometheus loaded every shipped alert rule (' . scalar(@shipped) . ')');

	kill 'TERM', $ppid;
	waitpid($ppid, 0);
	if (!$up)
	{
		diag(slurp_file("$dir/prometheus.log"));
	}
}

$node->stop;
done_testing();
