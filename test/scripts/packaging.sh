#!/usr/bin/env bash
# META.json is valid PGXN metadata whose versions match taskdb.control, and
# the install script it names exists.
set -euo pipefail
cd "$(dirname "$0")/../.."
control=$(sed -n "s/^default_version *= *'\(.*\)'/\1/p" taskdb.control)
perl -MJSON::PP -e '
	my ($control) = @ARGV;
	local $/; open my $f, "<", "META.json" or die "META.json: $!";
	my $m = decode_json(<$f>);
	for my $k (qw(name abstract version maintainer license provides meta-spec)) {
		die "META.json lacks $k\n" unless exists $m->{$k};
	}
	die "meta-spec is not 1.0.0\n" unless $m->{"meta-spec"}{version} eq "1.0.0";
	(my $norm = $control) =~ s/^(\d+\.\d+)$/$1.0/;
	die "META version $m->{version} != control $control\n" unless $m->{version} eq $norm;
	my $p = $m->{provides}{taskdb} or die "provides.taskdb missing\n";
	die "provides version $p->{version} != control $control\n" unless $p->{version} eq $norm;
	die "provides file $p->{file} missing\n" unless -f $p->{file};
	die "install script taskdb--$control.sql missing\n" unless -f "taskdb--$control.sql";
	print "META.json $m->{version} matches taskdb.control $control\n";
' "$control"
