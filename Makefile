# taskdb — PGXS build.  `make && make install`, then `make installcheck`
# against a running cluster (scripts/test.sh sets one up).

EXTENSION = taskdb
MODULE_big = taskdb
# taskdb--1.0.sql is what 1.0 users installed and is never edited.  The
# fresh install of the current version is 1.0 followed by the upgrade
# scripts, so a new database and an updated one run the same statements.
DATA = taskdb--1.0.sql taskdb--1.0--1.1.sql
DATA_built = taskdb--1.1.sql
OBJS = $(patsubst %.c,%.o,$(wildcard src/*.c))

PG_CONFIG ?= pg_config
PG_CPPFLAGS = -Wall -Wextra -Werror -Wno-unused-parameter -Wno-sign-compare \
	-Wno-missing-field-initializers -Isrc
SHLIB_LINK = -lcrypto

REGRESS = $(patsubst sql/%.sql,%,$(sort $(wildcard sql/*.sql)))
REGRESS_OPTS = --inputdir=.
ISOLATION = $(patsubst specs/%.spec,%,$(sort $(wildcard specs/*.spec)))
ISOLATION_OPTS = --inputdir=.
TAP_TESTS = 1
# Perl TAP tests start clusters of their own; initdb refuses root, so as
# root run them with scripts/prove.sh (the suite does).
PROVE_TESTS = $(wildcard test/t/*.pl)

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# PGXS tracks no header dependencies: every object depends on every header.
$(OBJS): $(wildcard src/*.h)

taskdb--1.1.sql: taskdb--1.0.sql taskdb--1.0--1.1.sql
	cat $^ > $@

# The command-line client, cli/taskdb, a libpq and libsqlite3 program.  PGXS builds either
# a MODULE_big or a PROGRAM from one Makefile (both use OBJS), so the client
# has its own rules; includedir, libdir and bindir are PGXS's, from pg_config.
all: cli/taskdb

cli/taskdb: cli/taskdb.c cli/migrate.c cli/json.c cli/cli.h cli/json.h
	$(CC) $(CFLAGS) -Wall -Wextra -Werror -I$(includedir) -o $@ cli/taskdb.c cli/migrate.c cli/json.c \
		$(LDFLAGS) -L$(libdir) -lpq -lsqlite3

install: install-cli
install-cli: cli/taskdb
	$(MKDIR_P) '$(DESTDIR)$(bindir)'
	$(INSTALL_PROGRAM) cli/taskdb '$(DESTDIR)$(bindir)/taskdb'

uninstall: uninstall-cli
uninstall-cli:
	rm -f '$(DESTDIR)$(bindir)/taskdb'

clean: clean-cli
clean-cli:
	rm -f cli/taskdb

.PHONY: install-cli uninstall-cli clean-cli
