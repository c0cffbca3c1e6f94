# taskdb — PGXS build.  `make && make install`, then `make installcheck`
# against a running cluster (scripts/test.sh sets one up).

EXTENSION = taskdb
MODULE_big = taskdb
DATA = taskdb--1.0.sql
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

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)
