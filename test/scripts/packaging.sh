#!/usr/bin/env bash
# Release metadata and archives:
#   - META.json is valid against the PGXN Meta Spec 1.0 (the rules of its
#     JSON schemas, checked here in Perl: required keys, semantic versions,
#     terms, licenses, prerequisites, resources, tags, no unknown keys but
#     x_ ones), has release_status, resources and provides, and every
#     version in it is the control file's (x.y as x.y.0);
#   - make dist makes taskdb-<version>.zip from git archive: the committed
#     tree at HEAD under taskdb-<version>/, with the built install script
#     META.json names, and nothing else;
#   - debian/changelog's upstream version is the control file's too.
# The archive part needs a git checkout (it is skipped in a copy without .git).
set -euo pipefail
cd "$(dirname "$0")/../.."
control=$(sed -n "s/^default_version *= *'\(.*\)'/\1/p" taskdb.control)
perl -MJSON::PP -e '
	use strict;
	use warnings;
	my ($control) = @ARGV;
	local $/;
	open my $f, "<", "META.json" or die "META.json: $!";
	my $m = decode_json(<$f>);
	my @errors;
	my $err = sub { push @errors, join("", @_) };

	my $semver = qr/^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;
	my $range_one = qr/(?:(?:[=!]=|[<>]=?)\s*)?(?:(?:0|[1-9]\d*)\.(?:0|[1-9]\d*)\.(?:0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?|0)/;
	my $term = qr/^[^\/\\\s\p{Cntrl}]{2,}$/;
	my %licenses = map { $_ => 1 } qw(agpl_3 apache_1_1 apache_2_0 artistic_1 artistic_2 bsd freebsd
		gfdl_1_2 gfdl_1_3 gpl_1 gpl_2 gpl_3 lgpl_2_1 lgpl_3_0 mit mozilla_1_0 mozilla_1_1 openssl perl_5
		postgresql qpl_1_0 ssleay sun zlib open_source restricted unrestricted unknown);
	my $custom = sub { $_[0] =~ /^[xX]_./ };
	my $string = sub { defined $_[0] && !ref $_[0] && length $_[0] >= ($_[1] // 1) };
	my $only = sub {
		my ($where, $h, @keys) = @_;
		my %ok = map { $_ => 1 } @keys;
		for (sort keys %$h) { $err->("$where: unknown key \"$_\"") unless $ok{$_} || $custom->($_) }
	};
	my $uri = qr/^[A-Za-z][A-Za-z0-9+.-]*:\S+$/;

	# The distribution.
	for my $k (qw(name version abstract maintainer license provides meta-spec)) {
		$err->("required key \"$k\" missing") unless exists $m->{$k};
	}
	$only->("META.json", $m, qw(name version abstract maintainer license provides meta-spec
		description generated_by tags no_index prereqs release_status resources));
	$err->("name is not a term") unless $string->($m->{name}) && $m->{name} =~ $term;
	$err->("version \"$m->{version}\" is not a semantic version") unless $string->($m->{version}) && $m->{version} =~ $semver;
	$err->("abstract is empty") unless $string->($m->{abstract});
	for my $k (qw(description generated_by)) {
		$err->("$k is empty") if exists $m->{$k} && !$string->($m->{$k});
	}
	my $mt = $m->{maintainer};
	$err->("maintainer is neither a string nor a list of strings")
		unless $string->($mt) || (ref $mt eq "ARRAY" && @$mt && !grep { !$string->($_) } @$mt);
	my $lic = $m->{license};
	$err->("license is not a known license, a list of them, or a map to URIs")
		unless (!ref $lic && $licenses{$lic // ""})
		|| (ref $lic eq "ARRAY" && @$lic && !grep { ref $_ || !$licenses{$_} } @$lic)
		|| (ref $lic eq "HASH" && %$lic && !grep { !$string->($_) || $_ !~ $uri } values %$lic);
	my $ms = $m->{"meta-spec"} // {};
	$only->("meta-spec", $ms, qw(version url));
	$err->("meta-spec version is not 1.0.x") unless ($ms->{version} // "") =~ /^1\.0\.\d+$/;
	$err->("meta-spec url is not the spec") if exists $ms->{url} && $ms->{url} !~ m{^https?://pgxn\.org/meta/spec\.txt$};

	# What the issue asks for on top of the required keys.
	$err->("release_status missing") unless exists $m->{release_status};
	$err->("release_status is not stable, testing or unstable")
		if exists $m->{release_status} && ($m->{release_status} // "") !~ /^(stable|testing|unstable)$/;
	my $res = $m->{resources};
	if (ref $res ne "HASH") {
		$err->("resources missing");
	} else {
		$only->("resources", $res, qw(homepage bugtracker repository));
		$err->("resources names no homepage, bugtracker or repository")
			unless grep { exists $res->{$_} } qw(homepage bugtracker repository);
		$err->("resources.homepage is not a URI") if exists $res->{homepage} && ($res->{homepage} // "") !~ $uri;
		if (exists $res->{bugtracker}) {
			my $b = $res->{bugtracker};
			$only->("resources.bugtracker", $b, qw(web mailto));
			$err->("resources.bugtracker has neither web nor mailto") unless $b->{web} || $b->{mailto};
			$err->("resources.bugtracker.web is not a URI") if exists $b->{web} && ($b->{web} // "") !~ $uri;
			$err->("resources.bugtracker.mailto is not an address") if exists $b->{mailto} && ($b->{mailto} // "") !~ /^[^@\s]+@[^@\s]+$/;
		}
		if (exists $res->{repository}) {
			my $r = $res->{repository};
			$only->("resources.repository", $r, qw(url web type));
			$err->("resources.repository needs url and type, or web")
				unless ($r->{url} && $r->{type}) || $r->{web};
		}
	}

	# provides: each extension with a file and a version.
	my $pr = $m->{provides};
	if (ref $pr ne "HASH" || !%$pr) {
		$err->("provides is not a non-empty object");
	} else {
		for my $ext (sort keys %$pr) {
			my $e = $pr->{$ext};
			$err->("provides: \"$ext\" is not a term") unless $ext =~ $term;
			$only->("provides.$ext", $e, qw(file version abstract docfile));
			$err->("provides.$ext.file missing") unless $string->($e->{file}, 2);
			$err->("provides.$ext.version is not a semantic version") unless ($e->{version} // "") =~ $semver;
			$err->("provides.$ext.docfile $e->{docfile} does not exist") if exists $e->{docfile} && !-f $e->{docfile};
		}
	}

	# prereqs: phases, relationships, version ranges.
	if (exists $m->{prereqs}) {
		my $p = $m->{prereqs};
		$only->("prereqs", $p, qw(configure build test runtime develop));
		for my $phase (sort grep { !$custom->($_) } keys %$p) {
			$only->("prereqs.$phase", $p->{$phase}, qw(requires recommends suggests conflicts));
			for my $rel (sort grep { !$custom->($_) } keys %{ $p->{$phase} }) {
				my $deps = $p->{$phase}{$rel};
				$err->("prereqs.$phase.$rel is empty") unless ref $deps eq "HASH" && %$deps;
				for my $dep (sort keys %$deps) {
					$err->("prereqs.$phase.$rel: \"$dep\" is not a term") unless $dep =~ $term;
					my $v = $deps->{$dep};
					$err->("prereqs.$phase.$rel.$dep: \"$v\" is not a version range")
						unless "$v" =~ /^$range_one(?:,\s*$range_one)*$/;
				}
			}
		}
	}
	if (exists $m->{tags}) {
		my $t = $m->{tags};
		my %seen;
		$err->("tags is not a non-empty list") unless ref $t eq "ARRAY" && @$t;
		for (@{ ref $t eq "ARRAY" ? $t : [] }) {
			$err->("tag \"$_\" is not 2 to 255 characters without / \\ or control characters")
				unless $string->($_, 2) && length $_ <= 255 && $_ !~ /[\/\\\p{Cntrl}]/;
			$err->("tag \"$_\" appears twice") if $seen{$_}++;
		}
	}

	# Versions equal to the control file.
	(my $norm = $control) =~ s/^(\d+\.\d+)$/$1.0/;
	$err->("META version $m->{version} != control $control (as $norm)") unless $m->{version} eq $norm;
	my $t = ref $pr eq "HASH" ? $pr->{taskdb} : undef;
	if (!$t) {
		$err->("provides.taskdb missing");
	} else {
		$err->("provides.taskdb version $t->{version} != control $control (as $norm)") unless $t->{version} eq $norm;
		$err->("provides.taskdb file is $t->{file}, not taskdb--$control.sql") unless $t->{file} eq "taskdb--$control.sql";
	}
	if (@errors) {
		print "META.json: $_\n" for @errors;
		exit 1;
	}
	print "META.json $m->{version} is valid PGXN metadata and matches taskdb.control $control\n";
' "$control"

# debian/changelog: upstream version = the control file's.
deb=$(sed -n '1s/^taskdb (\([^-)]*\)-[^)]*).*/\1/p' debian/changelog)
[ "$deb" = "$control" ] || { echo "debian/changelog's version $deb != control $control"; exit 1; }
echo "debian/changelog $deb matches taskdb.control"

# make dist, from a clone of HEAD so the working tree stays as it is.
if ! git rev-parse --git-dir >/dev/null 2>&1; then
	echo "not a git checkout: make dist not checked"
	exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git clone -q --no-local . "$work/src"
make -s -C "$work/src" dist PG_CONFIG="${PG_CONFIG:-pg_config}" >/dev/null
zip="$work/src/taskdb-$control.0.zip"
[ -f "$zip" ] || { echo "make dist made no taskdb-$control.0.zip"; exit 1; }
unzip -q "$zip" -d "$work/unzipped"
dir="$work/unzipped/taskdb-$control.0"
[ -d "$dir" ] || { echo "the archive's files are not under taskdb-$control.0/"; exit 1; }
(cd "$dir" && find . -type f | sed 's|^\./||' | sort) >"$work/zipped"
(git -C "$work/src" ls-files; echo "taskdb--$control.sql") | sort >"$work/committed"
diff -u "$work/committed" "$work/zipped" || { echo "the archive is not the committed tree plus taskdb--$control.sql"; exit 1; }
git show HEAD:META.json | cmp -s - "$dir/META.json" || { echo "the archive's META.json is not the committed one"; exit 1; }
echo "make dist: taskdb-$control.0.zip holds $(wc -l <"$work/zipped") files, the committed tree and taskdb--$control.sql"
