#!/usr/bin/env bash
# config/: the alert rules load (promtool check rules); every alert fires
# when it should and stays silent when it should not (promtool test rules,
# config/tests/); a real scrape of taskdb.metrics() passes promtool check
# metrics but for the names the original plan fixed (its "_ms" units and the
# gauge taskdb_concurrent_writers_total), and every taskdb metric the alerts
# use is one taskdb.metrics() exports; the Grafana dashboard has a panel for
# every alert and uses only exported metrics.  Needs taskdb preloaded (the
# suite's cluster is).
set -euo pipefail
db=taskdb_alerts
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

promtool check rules config/prometheus-alerts.yml
promtool test rules config/tests/alerts.test.yml
promtool check config config/prometheus.yml

psql -X -q -v ON_ERROR_STOP=1 -c "SET client_min_messages = warning" \
	-c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" postgres
psql -X -q -v ON_ERROR_STOP=1 -d "$db" -c "CREATE EXTENSION taskdb" \
	-c "SELECT taskdb.status_derived(taskdb.create_task('t', '1'))" >/dev/null
psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" -c "SELECT taskdb.metrics()" >"$work/scrape"

# promtool exits non-zero on lint problems; keep only the ones not allowed.
promtool check metrics <"$work/scrape" >"$work/lint" 2>&1 || true
grep -vE '^taskdb_[a-z_]+_ms metric names should not contain abbreviated units$|^taskdb_concurrent_writers_total non-counter metrics should not have "_total" suffix$' \
	"$work/lint" >"$work/problems" || true
if [ -s "$work/problems" ]; then
	echo "promtool check metrics found problems in a scrape of taskdb.metrics():"
	cat "$work/problems"
	exit 1
fi

exported=$(sed -n 's/^# TYPE \([a-z_]*\) .*/\1/p' "$work/scrape" | sort -u)
[ -n "$exported" ] || { echo "taskdb.metrics() exported nothing"; exit 1; }
missing=0
for name in $(grep -o 'taskdb_[a-z_]*' config/prometheus-alerts.yml | sed -E 's/_(bucket|sum|count)$//' | sort -u); do
	if ! grep -qx "$name" <<<"$exported"; then
		echo "config/prometheus-alerts.yml uses $name, which taskdb.metrics() does not export"
		missing=$((missing + 1))
	fi
done
[ "$missing" -eq 0 ] || exit 1

# The dashboard: current schema, timeseries and stat panels only, every
# metric it uses exported, and for every alert a panel that names the alert
# and plots the metrics of the alert's expression.
perl -MJSON::PP -e '
	use strict;
	my ($dash_file, $rules_file, $exported_file) = @ARGV;
	local $/;
	open my $fh, "<", $dash_file or die "$dash_file: $!";
	my $d = decode_json(<$fh>);
	open $fh, "<", $exported_file or die; my %exported = map { $_ => 1 } split /\n/, <$fh>;
	open $fh, "<", $rules_file or die; my $rules = <$fh>;
	my @bad;
	push @bad, "schemaVersion $d->{schemaVersion} is older than 36" if ($d->{schemaVersion} // 0) < 36;
	for my $p (@{ $d->{panels} }) {
		push @bad, "panel \"$p->{title}\" is a $p->{type}" unless $p->{type} =~ /^(timeseries|stat)$/;
		for my $t (@{ $p->{targets} }) {
			for my $m ($t->{expr} =~ /(taskdb_[a-z_]+)/g) {
				(my $base = $m) =~ s/_(bucket|sum|count)$//;
				push @bad, "panel \"$p->{title}\" uses $m, which taskdb.metrics() does not export" unless $exported{$base};
			}
		}
	}
	while ($rules =~ /- alert: (\S+)\n\s+expr: ([^\n]+)/g) {
		my ($alert, $expr) = ($1, $2);
		my @panels = grep { ($_->{description} // "") =~ /\b\Q$alert\E\b/ } @{ $d->{panels} };
		if (!@panels) { push @bad, "no panel for alert $alert"; next; }
		my $exprs = join " ", map { $_->{expr} } map { @{ $_->{targets} } } @panels;
		for my $m ($expr =~ /(taskdb_[a-z_]+)/g) {
			push @bad, "the panel for $alert does not plot $m" unless index($exprs, $m) >= 0;
		}
	}
	if (@bad) { print "config/grafana-dashboard.json: $_\n" for @bad; exit 1 }
	printf "dashboard: %d panels, one for each of %d alerts\n", scalar @{ $d->{panels} },
		scalar(() = $rules =~ /- alert: /g);
' config/grafana-dashboard.json config/prometheus-alerts.yml <(echo "$exported")
psql -X -q -c "DROP DATABASE $db" postgres
echo "alerts: rules load, $(grep -c 'alertname:' config/tests/alerts.test.yml) alert tests pass, the scrape lints clean, every metric the alerts use is exported"
