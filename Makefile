# taskdb — PGXS build.
#
#   make && make install     the extension (needs the server headers and OpenSSL)
#   make client              the taskdb command (cli/taskdb, links libpq and SQLite)
#   make install-client      installs it next to psql (bindir=... to choose)
#   make installcheck        pg_regress and isolation specs against a running
#                            cluster that preloads taskdb (scripts/test.sh sets one up)
#   make check               the same on a temporary instance, no cluster needed
#                            (as an ordinary user: initdb refuses root)
#   make dist                taskdb-<version>.zip for PGXN, from git archive
#
# Builds in the source tree or out of it (make -f ../Makefile VPATH=..; what
# pg_buildext does for Debian packages): every source path below is written
# relative to $(srcdir).

EXTENSION = taskdb
MODULE_big = taskdb
EXTVERSION = $(shell sed -n "s/^default_version *= *'\(.*\)'/\1/p" $(srcdir)/taskdb.control)
# taskdb--1.0.sql is what 1.0 users installed and is never edited.  The
# fresh install of the current version is 1.0 followed by the upgrade
# scripts, so a new database and an updated one run the same statements.
DATA = taskdb--1.0.sql taskdb--1.0--1.1.sql
DATA_built = taskdb--1.1.sql
OBJS = $(patsubst $(srcdir)/%.c,%.o,$(wildcard $(srcdir)/src/*.c))

PG_CONFIG ?= pg_config
PG_CPPFLAGS = -Wall -Wextra -Werror -Wno-unused-parameter -Wno-sign-compare \
	-Wno-missing-field-initializers -I$(srcdir)/src
SHLIB_LINK = -lcrypto

REGRESS = $(patsubst $(srcdir)/sql/%.sql,%,$(sort $(wildcard $(srcdir)/sql/*.sql)))
ISOLATION = $(patsubst $(srcdir)/specs/%.spec,%,$(sort $(wildcard $(srcdir)/specs/*.spec)))
TAP_TESTS = 1
# Perl TAP tests start clusters of their own; initdb refuses root, so as
# root run them with scripts/prove.sh (the suite does).
PROVE_TESTS = $(patsubst $(srcdir)/%,%,$(wildcard $(srcdir)/test/t/*.pl))
EXTRA_CLEAN = tmp_install/ cli/taskdb taskdb-*.zip

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# PGXS tracks no header dependencies: every object depends on every header.
$(OBJS): $(wildcard $(srcdir)/src/*.h)

# Out of tree, objects go to src/ under the build directory, and the tests'
# "\i sql/include/..." (relative to where pg_regress runs psql) find the
# shared preamble through a link to the source's sql/.
ifdef VPATH
$(shell mkdir -p src; [ -e sql ] || ln -s '$(srcdir)/sql' sql)
endif

taskdb--1.1.sql: taskdb--1.0.sql taskdb--1.0--1.1.sql
	cat $^ > $@

# The command-line client.  PGXS builds either a MODULE_big or a PROGRAM
# from one Makefile (both use OBJS), so the client has rules of its own;
# includedir, libdir and bindir are PGXS's, from pg_config.  The extension
# does not depend on it: a server package needs neither libpq nor SQLite.
client: cli/taskdb

cli/taskdb: cli/taskdb.c cli/migrate.c cli/json.c cli/cli.h cli/json.h
	@$(MKDIR_P) cli
	$(CC) $(CFLAGS) -Wall -Wextra -Werror -I$(includedir) -o $@ $(filter %.c,$^) \
		$(LDFLAGS) -L$(libdir) -lpq -lsqlite3

install-client: cli/taskdb
	$(MKDIR_P) '$(DESTDIR)$(bindir)'
	$(INSTALL_PROGRAM) cli/taskdb '$(DESTDIR)$(bindir)/taskdb'

uninstall-client:
	rm -f '$(DESTDIR)$(bindir)/taskdb'

# make check: PGXS has no temporary installation of its own, so
# tmp_install/ gets one.  The PostgreSQL binaries are copied and the rest of
# the installation linked file by file; PostgreSQL finds its lib and share
# directories relative to where its binaries are, so installing taskdb into
# tmp_install with DESTDIR makes that copy serve it.  test/check.conf
# preloads taskdb in the temporary instances.
abs_builddir := $(shell pwd)
tmp_install = $(abs_builddir)/tmp_install
temp_regress_opts = --bindir='$(tmp_install)$(bindir)' --inputdir=$(srcdir) \
	--temp-config=$(srcdir)/test/check.conf $(EXTRA_REGRESS_OPTS)

tmp-install: all
	@if [ "$$(id -u)" = 0 ]; then \
		echo 'make check starts PostgreSQL, which refuses to run as root.' >&2; \
		echo 'Run it as an ordinary user (the build tree must be writable):' >&2; \
		echo '  chown -R postgres . && runuser -u postgres -- make check' >&2; \
		exit 1; \
	fi
	rm -rf '$(tmp_install)'
	$(MKDIR_P) '$(tmp_install)$(bindir)' '$(tmp_install)$(pkglibdir)' '$(tmp_install)$(datadir)'
	cp -a '$(bindir)/.' '$(tmp_install)$(bindir)/'
	cp -as '$(pkglibdir)/.' '$(tmp_install)$(pkglibdir)/'
	cp -as '$(datadir)/.' '$(tmp_install)$(datadir)/'
	rm -rf '$(tmp_install)$(datadir)'/extension/taskdb[.-]* '$(tmp_install)$(pkglibdir)'/taskdb.so \
		'$(tmp_install)$(pkglibdir)'/bitcode/taskdb*
	$(MAKE) -f $(firstword $(MAKEFILE_LIST)) install DESTDIR='$(tmp_install)' >/dev/null

# PGXS's own check only says it is not supported; ours replaces it (make
# warns that it overrides a recipe, when asked for check only).
ifneq ($(filter check,$(MAKECMDGOALS)),)
check: tmp-install
	rm -rf tmp_check tmp_check_iso
	$(top_builddir)/src/test/regress/pg_regress --temp-instance=./tmp_check \
		$(temp_regress_opts) --dbname=$(CONTRIB_TESTDB) $(REGRESS)
	$(top_builddir)/src/test/isolation/pg_isolation_regress --temp-instance=./tmp_check_iso \
		--outputdir=output_iso $(temp_regress_opts) --dbname=$(ISOLATION_TESTDB) $(ISOLATION)
endif

# PGXN's release archive: the committed tree at HEAD, plus the built install
# script META.json names, under taskdb-<version>/ with the version META.json
# gives (the control file's, in PGXN's x.y.z form).
dist: taskdb--$(EXTVERSION).sql
	git -C '$(srcdir)' archive --format=zip --prefix=taskdb-$(EXTVERSION).0/ \
		--add-file='$(abs_builddir)/taskdb--$(EXTVERSION).sql' \
		-o '$(abs_builddir)/taskdb-$(EXTVERSION).0.zip' HEAD
	@echo 'taskdb-$(EXTVERSION).0.zip'

.PHONY: client install-client uninstall-client tmp-install dist
