/*-------------------------------------------------------------------------
 *
 * cli.h
 *	  Declarations shared by the taskdb command-line client's files:
 *	  taskdb.c (command line, subcommands) and migrate.c (taskdb migrate).
 *
 *-------------------------------------------------------------------------
 */
#ifndef TASKDB_CLI_H
#define TASKDB_CLI_H

#include <stdbool.h>

#include "libpq-fe.h"

#define TASKDB_CLI_VERSION "1.1"

#define EXIT_PASS		0		/* every claim holds (or help, version) */
#define EXIT_FAIL		1		/* some claim does not hold */
#define EXIT_TROUBLE	2		/* usage, file, connection or SQL error */

/*
 * Largest claims or report file accepted.  The whole file travels as one
 * parameter and the server holds it (and its jsonb form) in memory, so a
 * runaway input is refused here rather than there.
 */
#define MAX_INPUT_BYTES ((size_t) 256 * 1024 * 1024)
#define MAX_INPUT_LABEL "256 MB"

/* Subcommand options, as bits of Subcommand.options. */
#define OPT_VERBOSE		0x01
#define OPT_JSON		0x02
#define OPT_MIGRATE		0x04	/* --from, --to, --init-sqlite, --append, --force */

/* SQL functions a subcommand needs at most. */
#define MAX_NEEDS		3

#if defined(__GNUC__) || defined(__clang__)
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#else
#define PRINTF_LIKE(f, a)
#endif

#define COLOUR_GREEN	"\033[32m"
#define COLOUR_RED		"\033[31m"
#define COLOUR_YELLOW	"\033[33m"
#define COLOUR_RESET	"\033[0m"

struct Subcommand;

/* What the command line asked for. */
typedef struct Invocation
{
	const struct Subcommand *cmd;
	const char *conninfo;		/* -d/--dbname, or NULL for the libpq env */
	bool		verbose;		/* --verbose */
	bool		json;			/* --json */
	const char *from;			/* migrate --from */
	const char *to;				/* migrate --to */
	const char *init_sqlite;	/* migrate --init-sqlite */
	bool		append;			/* migrate --append */
	bool		force;			/* migrate --force */
	int			nargs;			/* positional arguments after the name */
	char	  **args;
} Invocation;

typedef struct Subcommand
{
	const char *name;
	int			(*run) (const Invocation *inv);
	const char *args;			/* argument synopsis, e.g. "REPORT" */
	const char *summary;		/* one line, for "taskdb --help" */
	const char *description;	/* paragraph(s) for "taskdb NAME --help" */
	const char *option_help;	/* lines for the options in .options */
	const char *notes;			/* closing paragraph: input, exit status */
	unsigned	options;		/* OPT_* bits accepted */
	int			min_args;
	int			max_args;

	/*
	 * regprocedure signatures of the SQL functions the subcommand calls; an
	 * "undefined function" error is explained with them (see
	 * explain_missing_extension).
	 */
	const char *needs[MAX_NEEDS + 1];
} Subcommand;

void		print_error(const char *fmt,...) PRINTF_LIKE(1, 2);
int			usage_error(const Subcommand *cmd, const char *fmt,...) PRINTF_LIKE(2, 3);
int			trimmed_length(const char *msg);
void		report_result_error(const PGresult *res, PGconn *conn);
int			finish_output(int status);

/* migrate.c */
int			cmd_migrate(const Invocation *inv);

#endif							/* TASKDB_CLI_H */
