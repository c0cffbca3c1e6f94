/*-------------------------------------------------------------------------
 *
 * taskdb.c
 *	  The taskdb command-line client: publishes provenance reports and checks
 *	  them against a database through the taskdb extension's SQL functions;
 *	  runs the doctor, loads the synthetic dataset, prints the export hash.
 *
 * The client holds no provenance logic of its own.  A claims or report file
 * is sent, as read, as one text parameter cast to jsonb (never interpolated
 * into SQL text), and everything printed -- the report, the verify document,
 * the debug lines -- is computed by the server, so that the client and
 * `psql -c "SELECT * FROM taskdb.debug_provenance(...)"` can never disagree.
 *
 * Each subcommand is one row of subcommands[] below: its name, the function
 * that runs it, its help text, which subcommand options it accepts and which
 * SQL functions it needs.  Adding a subcommand is adding a row and a
 * function; argument parsing, help and the "extension not installed"
 * diagnosis come from the table.
 *
 * Exit status: 0 when every claim holds, 1 when some claim fails, 2 on any
 * trouble (usage, file, connection, SQL error), so that a script can tell "the
 * report no longer holds" from "the report could not be checked".
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "libpq-fe.h"

#include "cli.h"
#include "json.h"

/* A claims or report file read into memory, NUL-terminated. */
typedef struct Input
{
	char	   *data;
	size_t		len;
	char	   *label;			/* "\"path\"" or "standard input" */
} Input;

/* An open connection, for the subcommand that opened it. */
typedef struct Session
{
	PGconn	   *conn;
	const Subcommand *cmd;
} Session;

static int	cmd_publish(const Invocation *inv);
static int	cmd_verify(const Invocation *inv);
static int	cmd_debug_provenance(const Invocation *inv);
static int	cmd_doctor(const Invocation *inv);
static int	cmd_load(const Invocation *inv);
static int	cmd_export_hash(const Invocation *inv);
static int	cmd_help(const Invocation *inv);

/*
 * The subcommands, in the order "taskdb --help" lists them.  A new one needs
 * a row here and its cmd_ function; options it takes beyond -d and -h are
 * OPT_* bits (a new option also needs a case in run_command_line).
 */
static const Subcommand subcommands[] = {
	{
		.name = "publish",
		.run = cmd_publish,
		.args = "CLAIMS",
		.summary = "publish a signed report of CLAIMS; print it",
		.description =
		"Publishes a report of the claims in CLAIMS, a JSON array such as\n"
		"  [{\"kind\": \"task_id\", \"id\": \"<uuid>\"}, ...]\n"
		"(kinds: task_id, run_id, gate_id, artifact_hash, status_derived) through\n"
		"taskdb.publish_report(), which captures the value of every claim in one\n"
		"snapshot, stores the report and signs it.  Prints the report as indented\n"
		"JSON, ready to be saved:\n"
		"  taskdb publish claims.json > report.json\n",
		.option_help = "",
		.notes =
		"Give \"-\" as CLAIMS to read standard input.\n"
		"Exit status: 0 published, 2 trouble (nothing is printed).\n",
		.options = 0,
		.min_args = 1,
		.max_args = 1,
		.needs = {"taskdb.publish_report(jsonb)"}
	},
	{
		.name = "verify",
		.run = cmd_verify,
		.args = "REPORT",
		.summary = "check REPORT; print the results as JSON",
		.description =
		"Checks every claim of REPORT, and its signature, with\n"
		"taskdb.verify_provenance() and prints one JSON document:\n"
		"  {\"passed\": true|false, \"results\": [{\"claim\", \"kind\", \"status\",\n"
		"   \"expected\", \"actual\", \"mismatch\", \"changed_at\"}, ...]}\n"
		"with the results in the order the function returns them.\n",
		.option_help = "",
		.notes =
		"Give \"-\" as REPORT to read standard input.\n"
		"Exit status: 0 every claim holds, 1 some claim fails, 2 trouble.\n",
		.options = 0,
		.min_args = 1,
		.max_args = 1,
		.needs = {"taskdb.verify_provenance(jsonb)"}
	},
	{
		.name = "debug-provenance",
		.run = cmd_debug_provenance,
		.args = "REPORT",
		.summary = "explain, claim by claim, if REPORT still holds",
		.description =
		"Prints the lines of taskdb.debug_provenance() for REPORT, one per line:\n"
		"a header naming the report's snapshot, then [PASS] or [FAIL] and the\n"
		"reason for each claim.  On a terminal the tags are coloured (unless\n"
		"NO_COLOR is set); otherwise the output is exactly the function's lines.\n"
		"The lines and the exit status come from one snapshot of the database.\n",
		.option_help =
		"      --verbose           add Expected, Actual and Mismatch lines\n"
		"      --json              print the document of \"taskdb verify\" instead\n",
		.notes =
		"Give \"-\" as REPORT to read standard input.\n"
		"Exit status: 0 every claim holds, 1 some claim fails, 2 trouble.\n",
		.options = OPT_VERBOSE | OPT_JSON,
		.min_args = 1,
		.max_args = 1,
		.needs = {"taskdb.debug_provenance(jsonb,boolean)", "taskdb.verify_provenance(jsonb)"}
	},
	{
		.name = "doctor",
		.run = cmd_doctor,
		.args = "[SAMPLE]",
		.summary = "run taskdb.doctor()'s health checks; exit status by verdict",
		.description =
		"Runs the health checks of taskdb.doctor() (summary drift, orphans, the\n"
		"event history's guard and ids, report signatures, metrics) and prints one\n"
		"line per check, [PASS], [WARN] or [FAIL] with what was found, then the\n"
		"verdict system_health: excellent, degraded or failing.  With SAMPLE, the\n"
		"drift and signature checks look at that many random tasks and reports\n"
		"instead of all of them (for big databases).\n",
		.option_help =
		"      --json              print the checks as a JSON array instead\n",
		.notes =
		"Exit status: 0 excellent, 1 degraded (a check warns), 3 failing (a check\n"
		"fails), 2 trouble.\n",
		.options = OPT_JSON,
		.min_args = 0,
		.max_args = 1,
		.needs = {"taskdb.doctor(integer)"}
	},
	{
		.name = "load",
		.run = cmd_load,
		.args = "[TASKS [RUNS_PER_TASK [GATES_PER_RUN [ARTIFACTS [SEED]]]]]",
		.summary = "load the synthetic dataset (default: the plan's 100k tasks)",
		.description =
		"Loads a synthetic dataset with taskdb.generate_synthetic(), through the\n"
		"normal path (status maintenance and event history on), in one\n"
		"transaction: TASKS tasks (default 100000), RUNS_PER_TASK runs each\n"
		"(10), GATES_PER_RUN gates per run (3), ARTIFACTS artifacts (5 per task)\n"
		"and SEED (42).  The same arguments give the same data, and the same\n"
		"\"taskdb export-hash\".  On a terminal a progress bar is drawn on\n"
		"standard error; at the end one line says what was written.\n",
		.option_help = "",
		.notes =
		"Exit status: 0 loaded, 2 trouble (nothing is loaded).\n",
		.options = 0,
		.min_args = 0,
		.max_args = 5,
		.needs = {"taskdb.generate_synthetic(integer,integer,integer,integer,integer)"}
	},
	{
		.name = "export-hash",
		.run = cmd_export_hash,
		.args = "",
		.summary = "print the canonical hash of all of taskdb's data",
		.description =
		"Prints taskdb.export_hash(): \"sha256:\" and 64 hex digits over the\n"
		"tasks, runs, gates, artifacts, reports and status summary, in a form\n"
		"independent of physical row order, VACUUM and session settings.  Two\n"
		"databases with the same data print the same line; any committed change\n"
		"to any row changes it.\n",
		.option_help = "",
		.notes =
		"Exit status: 0 printed, 2 trouble.\n",
		.options = 0,
		.min_args = 0,
		.max_args = 0,
		.needs = {"taskdb.export_hash()"}
	},
	{
		.name = "migrate",
		.run = cmd_migrate,
		.args = "",
		.summary = "move data between a SQLite file and taskdb, verified",
		.description =
		"Copies tasks, runs, gates and artifacts between a TaskDB SQLite file and\n"
		"a taskdb database, and proves the copy with row counts and a canonical\n"
		"hash computed on both sides:\n"
		"  taskdb migrate --init-sqlite FILE       create an empty TaskDB SQLite file\n"
		"  taskdb migrate --from sqlite:FILE --to postgres[:CONNINFO] [--append]\n"
		"  taskdb migrate --from postgres[:CONNINFO] --to sqlite:FILE [--force]\n"
		"Into PostgreSQL, everything is loaded in one transaction through taskdb's\n"
		"triggers (status summary and event history), and committed only if the\n"
		"counts and hashes match; a database that already has tasks is refused\n"
		"without --append.  Into SQLite, a new file is written next to FILE,\n"
		"read back and checked, then renamed over it; an existing FILE is refused\n"
		"without --force.  Bad input is refused naming the table, row and value,\n"
		"and nothing is written.  A progress bar is drawn on a terminal.\n",
		.option_help =
		"      --from=SOURCE       sqlite:FILE or postgres[:CONNINFO]\n"
		"      --to=TARGET         postgres[:CONNINFO] or sqlite:FILE\n"
		"      --init-sqlite=FILE  create an empty TaskDB SQLite file, then exit\n"
		"      --append            (into PostgreSQL) allow a database that has tasks\n"
		"      --force             (into SQLite) replace an existing FILE\n",
		.notes =
		"postgres without a CONNINFO uses -d or the libpq environment.\n"
		"Exit status: 0 migrated and verified, 1 the copy did not verify (nothing\n"
		"kept), 2 trouble (bad input, refused target, connection; nothing written).\n",
		.options = OPT_MIGRATE,
		.min_args = 0,
		.max_args = 0,
		.needs = {NULL}
	},
	{
		.name = "help",
		.run = cmd_help,
		.args = "[SUBCOMMAND]",
		.summary = "show this help, or the help of SUBCOMMAND",
		.description = "Shows the list of subcommands, or the help of one.\n",
		.option_help = "",
		.notes = NULL,
		.options = 0,
		.min_args = 0,
		.max_args = 1,
		.needs = {NULL}
	},
};

#define NUM_SUBCOMMANDS (sizeof(subcommands) / sizeof(subcommands[0]))


/* ------------------------------------------------------------------------
 * Messages
 * ------------------------------------------------------------------------
 */

/* Prints "taskdb: <message>" on stderr. */
void
print_error(const char *fmt,...)
{
	va_list		ap;

	fputs("taskdb: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* A usage error: the reason, then where to find the usage; returns 2. */
int
usage_error(const Subcommand *cmd, const char *fmt,...)
{
	va_list		ap;

	fputs("taskdb: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (cmd != NULL)
		fprintf(stderr, "Try \"taskdb %s --help\" for more information.\n",
				cmd->name);
	else
		fputs("Try \"taskdb --help\" for more information.\n", stderr);
	return EXIT_TROUBLE;
}

/* Length of msg without its trailing newlines and blanks (libpq ends with one). */
int
trimmed_length(const char *msg)
{
	size_t		len = strlen(msg);

	while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == ' ' ||
					   msg[len - 1] == '\t' || msg[len - 1] == '\r'))
		len--;
	return (int) len;
}

/*
 * Prints a failed query's error: the primary message after "taskdb: ", then
 * DETAIL and HINT lines as psql shows them.  Of the CONTEXT, only a "JSON
 * data, line N: ..." line is shown: it locates a syntax error in the input
 * file, while the rest (which PL/pgSQL line raised) helps nobody running the
 * client.  Without a server error (the connection was lost), libpq's own
 * message is shown.
 */
void
report_result_error(const PGresult *res, PGconn *conn)
{
	const char *primary = NULL;
	const char *detail;
	const char *hint;
	const char *context;

	if (res != NULL)
		primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	if (primary == NULL)
	{
		const char *msg = PQerrorMessage(conn);

		if (trimmed_length(msg) == 0)
			msg = "query failed without an error message";
		print_error("%.*s", trimmed_length(msg), msg);
		return;
	}

	print_error("%.*s", trimmed_length(primary), primary);
	detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
	hint = PQresultErrorField(res, PG_DIAG_MESSAGE_HINT);
	context = PQresultErrorField(res, PG_DIAG_CONTEXT);
	if (detail != NULL)
		fprintf(stderr, "DETAIL:  %.*s\n", trimmed_length(detail), detail);
	if (hint != NULL)
		fprintf(stderr, "HINT:  %.*s\n", trimmed_length(hint), hint);
	if (context != NULL && strncmp(context, "JSON data, line ", 16) == 0)
		fprintf(stderr, "CONTEXT:  %.*s\n",
				(int) strcspn(context, "\n"), context);
}


/* ------------------------------------------------------------------------
 * Help
 * ------------------------------------------------------------------------
 */

static const char common_option_help[] =
"  -d, --dbname=CONNINFO   database to connect to: a name, a \"key=value ...\"\n"
"                          string or a postgresql:// URI\n"
"  -h, --help              show this help, then exit\n";

static void
print_usage(FILE *out)
{
	size_t		i;

	fputs("taskdb publishes provenance reports of a taskdb database and checks\n"
		  "them against it; it also runs the database's health checks, loads\n"
		  "synthetic data, prints the hash of all data and migrates TaskDB's\n"
		  "SQLite files in and out.\n"
		  "\n"
		  "Usage:\n"
		  "  taskdb [OPTION]... SUBCOMMAND [ARGUMENT]...\n"
		  "\n"
		  "Subcommands:\n", out);
	for (i = 0; i < NUM_SUBCOMMANDS; i++)
	{
		char		head[64];

		snprintf(head, sizeof(head), "%s %s",
				 subcommands[i].name, subcommands[i].args);
		if (strlen(head) > 25)	/* a long synopsis gets a line of its own */
			fprintf(out, "  %s\n  %-26s%s\n", head, "", subcommands[i].summary);
		else
			fprintf(out, "  %-26s%s\n", head, subcommands[i].summary);
	}
	fputs("\n"
		  "Options (before or after the subcommand):\n", out);
	fputs(common_option_help, out);
	fputs("      --version           show the version, then exit\n", out);
	for (i = 0; i < NUM_SUBCOMMANDS; i++)
	{
		if (subcommands[i].options == 0)
			continue;
		fprintf(out, "\nOptions of %s:\n%s",
				subcommands[i].name, subcommands[i].option_help);
	}
	fputs("\n"
		  "CLAIMS and REPORT are files; \"-\" reads standard input.  Without -d, the\n"
		  "libpq environment (PGHOST, PGPORT, PGDATABASE, PGUSER, ...) applies.\n"
		  "\n"
		  "Exit status: 0 every claim holds, 1 some claim fails, 2 usage error,\n"
		  "unreadable file, connection failure or SQL error.\n", out);
}

static void
print_subcommand_help(const Subcommand *cmd, FILE *out)
{
	fprintf(out, "Usage:\n  taskdb %s [OPTION]...%s%s\n\n%s\nOptions:\n%s%s",
			cmd->name, cmd->args[0] ? " " : "", cmd->args, cmd->description,
			cmd->option_help, common_option_help);
	if (cmd->notes != NULL)
		fprintf(out, "\n%s", cmd->notes);
}

static const Subcommand *
find_subcommand(const char *name)
{
	size_t		i;

	for (i = 0; i < NUM_SUBCOMMANDS; i++)
		if (strcmp(subcommands[i].name, name) == 0)
			return &subcommands[i];
	return NULL;
}

static int
cmd_help(const Invocation *inv)
{
	const Subcommand *cmd;

	if (inv->nargs == 0)
	{
		print_usage(stdout);
		return EXIT_PASS;
	}
	cmd = find_subcommand(inv->args[0]);
	if (cmd == NULL)
		return usage_error(NULL, "unknown subcommand \"%s\"", inv->args[0]);
	print_subcommand_help(cmd, stdout);
	return EXIT_PASS;
}


/* ------------------------------------------------------------------------
 * Input files
 * ------------------------------------------------------------------------
 */

static void
free_input(Input *in)
{
	free(in->data);
	free(in->label);
	in->data = NULL;
	in->label = NULL;
}

/*
 * Refuses a file in which an object names a key twice: the server's jsonb
 * keeps the last value while a reader of the file sees the first, so such a
 * report could verify as one thing and read as another.  Any other defect
 * of the JSON is left for the server to report, in its own words.
 */
static bool
input_keys_unique(Input *in)
{
	char		err[512];
	bool		duplicate = false;
	JsonValue  *doc = json_parse(in->data, in->len, err, sizeof(err), &duplicate);

	json_free(doc);
	if (duplicate)
	{
		print_error("%s: %s", in->label, err);
		fputs("HINT:  Name each key once in every object of the file.\n", stderr);
		free_input(in);
		return false;
	}
	return true;
}

/*
 * Reads path ("-": standard input) whole.  Refuses what cannot travel as a
 * text parameter or should not: more than MAX_INPUT_BYTES, a NUL byte (libpq
 * would silently cut the text there), an empty file.  A UTF-8 byte order mark
 * is dropped, as JSON readers may do; the server's JSON parser rejects it.
 */
static bool
read_input(const char *path, Input *in)
{
	bool		is_stdin = strcmp(path, "-") == 0;
	FILE	   *f;
	struct stat st;
	size_t		cap = 64 * 1024;
	char	   *nul;

	in->data = NULL;
	in->len = 0;
	if (is_stdin)
		in->label = strdup("standard input");
	else
	{
		in->label = malloc(strlen(path) + 3);
		if (in->label != NULL)
			sprintf(in->label, "\"%s\"", path);
	}
	if (in->label == NULL)
	{
		print_error("out of memory");
		return false;
	}

	f = is_stdin ? stdin : fopen(path, "rb");
	if (f == NULL)
	{
		print_error("could not open %s: %s", in->label, strerror(errno));
		free_input(in);
		return false;
	}

	if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode))
	{
		if ((unsigned long long) st.st_size > MAX_INPUT_BYTES)
		{
			print_error("%s is too large (%llu bytes); the limit is " MAX_INPUT_LABEL,
						in->label, (unsigned long long) st.st_size);
			goto fail;
		}
		if ((size_t) st.st_size + 1 > cap)
			cap = (size_t) st.st_size + 1;
	}
	in->data = malloc(cap);
	if (in->data == NULL)
	{
		print_error("out of memory reading %s", in->label);
		goto fail;
	}

	/*
	 * Read to EOF: a regular file may have grown since fstat, a pipe has no
	 * size at all.  The buffer always keeps room for the terminating NUL, and
	 * grows only once a byte beyond it has arrived, so a file of known size is
	 * read into a buffer of exactly its size.
	 */
	for (;;)
	{
		size_t		n;
		size_t		newcap;
		char	   *grown;
		int			c;

		n = fread(in->data + in->len, 1, cap - 1 - in->len, f);
		in->len += n;
		if (in->len + 1 < cap)
			break;				/* short read: end of file or error */
		c = getc(f);
		if (c == EOF)
			break;
		if (in->len >= MAX_INPUT_BYTES)
		{
			print_error("%s is too large; the limit is " MAX_INPUT_LABEL,
						in->label);
			goto fail;
		}
		newcap = (cap > MAX_INPUT_BYTES / 2) ? MAX_INPUT_BYTES + 1 : cap * 2;
		grown = realloc(in->data, newcap);
		if (grown == NULL)
		{
			print_error("out of memory reading %s", in->label);
			goto fail;
		}
		in->data = grown;
		cap = newcap;
		in->data[in->len++] = (char) c;
	}
	if (ferror(f))
	{
		print_error("could not read %s: %s", in->label, strerror(errno));
		goto fail;
	}
	if (!is_stdin)
		fclose(f);
	in->data[in->len] = '\0';

	if (in->len >= 3 && memcmp(in->data, "\xEF\xBB\xBF", 3) == 0)
	{
		memmove(in->data, in->data + 3, in->len - 3 + 1);
		in->len -= 3;
	}
	if (in->len == 0)
	{
		print_error("%s is empty; expected JSON", in->label);
		free_input(in);
		return false;
	}
	nul = memchr(in->data, '\0', in->len);
	if (nul != NULL)
	{
		print_error("%s contains a NUL byte (at offset %zu); expected JSON text",
			  in->label, (size_t) (nul - in->data));
		free_input(in);
		return false;
	}
	return input_keys_unique(in);

fail:
	if (!is_stdin)
		fclose(f);
	free_input(in);
	return false;
}


/* ------------------------------------------------------------------------
 * Connection and queries
 * ------------------------------------------------------------------------
 */

/*
 * Connects as -d says, else as the libpq environment says.  client_encoding
 * is UTF8 because the files are JSON, which is UTF-8, unless PGCLIENTENCODING
 * says otherwise.  Both settings come before dbname, so a connection string
 * given with -d can still override them.
 */
static bool
open_session(const Invocation *inv, Session *s)
{
	const char *keywords[4];
	const char *values[4];
	int			n = 0;

	keywords[n] = "fallback_application_name";
	values[n++] = "taskdb";
	if (getenv("PGCLIENTENCODING") == NULL)
	{
		keywords[n] = "client_encoding";
		values[n++] = "UTF8";
	}
	if (inv->conninfo != NULL)
	{
		keywords[n] = "dbname";
		values[n++] = inv->conninfo;
	}
	keywords[n] = NULL;
	values[n] = NULL;

	s->cmd = inv->cmd;
	s->conn = PQconnectdbParams(keywords, values, 1);
	if (s->conn == NULL)
	{
		print_error("out of memory");
		return false;
	}
	if (PQstatus(s->conn) != CONNECTION_OK)
	{
		const char *msg = PQerrorMessage(s->conn);

		print_error("connection failed: %.*s", trimmed_length(msg), msg);
		if (PQconnectionNeedsPassword(s->conn))
			fputs("HINT:  taskdb does not prompt for a password; set PGPASSWORD or use a password file (~/.pgpass).\n",
				  stderr);
		PQfinish(s->conn);
		s->conn = NULL;
		return false;
	}
	return true;
}

static void
close_session(Session *s)
{
	if (s->conn != NULL)
		PQfinish(s->conn);
	s->conn = NULL;
}

/*
 * After an "undefined function" or "schema does not exist" error, says which
 * piece is missing -- the extension in this database, or a function of it --
 * instead of the bare SQL error.  Returns false when everything the
 * subcommand needs is there (the error came from elsewhere) or when the
 * catalogs cannot be read; the caller then shows the original error.
 */
static bool
explain_missing_extension(Session *s)
{
	PGresult   *res;
	char	   *dbname;
	char	   *extversion = NULL;
	bool		installed;
	bool		explained = false;
	int			i;

	if (PQtransactionStatus(s->conn) == PQTRANS_INERROR)
		PQclear(PQexec(s->conn, "ROLLBACK"));

	res = PQexec(s->conn,
				 "SELECT pg_catalog.current_database(), "
				 "(SELECT e.extversion FROM pg_catalog.pg_extension e "
				 "WHERE e.extname OPERATOR(pg_catalog.=) 'taskdb')");
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
	{
		PQclear(res);
		return false;
	}
	dbname = strdup(PQgetvalue(res, 0, 0));
	installed = !PQgetisnull(res, 0, 1);
	if (installed)
		extversion = strdup(PQgetvalue(res, 0, 1));
	PQclear(res);
	if (dbname == NULL || (installed && extversion == NULL))
		goto done;				/* out of memory: show the original error */

	if (!installed)
	{
		print_error("the taskdb extension is not installed in database \"%s\"",
					dbname);
		fputs("HINT:  Connect to the database that has it (-d, PGDATABASE), or run CREATE EXTENSION taskdb; there as a superuser.\n",
			  stderr);
		explained = true;
		goto done;
	}

	for (i = 0; s->cmd->needs[i] != NULL && !explained; i++)
	{
		const char *params[1];

		params[0] = s->cmd->needs[i];
		res = PQexecParams(s->conn,
						   "SELECT pg_catalog.to_regprocedure($1) IS NULL",
						   1, NULL, params, NULL, NULL, 0);
		if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
			strcmp(PQgetvalue(res, 0, 0), "t") == 0)
		{
			print_error("the taskdb extension in database \"%s\" (version %s) has no function %s",
				  dbname, extversion, s->cmd->needs[i]);
			fputs("HINT:  Install a taskdb that provides it, then run ALTER EXTENSION taskdb UPDATE; in that database.\n",
				  stderr);
			explained = true;
		}
		PQclear(res);
	}

done:
	free(dbname);
	free(extversion);
	return explained;
}

/*
 * Runs sql with text parameters.  Returns the result on success; otherwise
 * reports the error and returns NULL.
 */
static PGresult *
session_exec(Session *s, const char *sql, int nparams, const char *const *params)
{
	PGresult   *res;
	ExecStatusType status;
	const char *sqlstate;

	res = PQexecParams(s->conn, sql, nparams, NULL, params, NULL, NULL, 0);
	status = PQresultStatus(res);
	if (status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK)
		return res;

	sqlstate = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	if (sqlstate != NULL &&
		(strcmp(sqlstate, "42883") == 0 ||	/* undefined_function */
		 strcmp(sqlstate, "3F000") == 0) && /* invalid_schema_name */
		explain_missing_extension(s))
	{
		PQclear(res);
		return NULL;
	}
	report_result_error(res, s->conn);
	PQclear(res);
	return NULL;
}

/* Runs a statement whose result is not needed; false on error (reported). */
static bool
session_command(Session *s, const char *sql)
{
	PGresult   *res = session_exec(s, sql, 0, NULL);

	PQclear(res);
	return res != NULL;
}

/* Flushes stdout; a write error (disk full, closed pipe) is trouble. */
int
finish_output(int status)
{
	if (fflush(stdout) != 0 || ferror(stdout))
	{
		print_error("could not write to standard output: %s", strerror(errno));
		return EXIT_TROUBLE;
	}
	return status;
}


/* ------------------------------------------------------------------------
 * publish
 * ------------------------------------------------------------------------
 */

/*
 * What every subcommand that sends a file does first: read the file, then
 * connect.  On failure the reason has been printed and nothing is left open.
 */
static bool
start_command(const Invocation *inv, Input *in, Session *s)
{
	if (!read_input(inv->args[0], in))
		return false;
	if (!open_session(inv, s))
	{
		free_input(in);
		return false;
	}
	return true;
}

static int
cmd_publish(const Invocation *inv)
{
	Input		in;
	Session		s;
	PGresult   *res;
	const char *params[1];
	int			status = EXIT_TROUBLE;

	if (!start_command(inv, &in, &s))
		return EXIT_TROUBLE;

	params[0] = in.data;
	res = session_exec(&s,
					   "SELECT pg_catalog.jsonb_pretty("
					   "taskdb.publish_report($1::pg_catalog.jsonb))",
					   1, params);
	if (res != NULL)
	{
		if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0))
			print_error("taskdb.publish_report() returned no report");
		else
		{
			fputs(PQgetvalue(res, 0, 0), stdout);
			fputc('\n', stdout);
			status = finish_output(EXIT_PASS);
		}
		PQclear(res);
	}

	close_session(&s);
	free_input(&in);
	return status;
}


/* ------------------------------------------------------------------------
 * verify
 * ------------------------------------------------------------------------
 */

/*
 * The verify document, built by the server in one statement (so from one
 * snapshot), results in the function's row order.  A row counts as failing
 * unless its status is exactly PASS: a NULL status is not a pass.  Second
 * column: how many rows fail.
 */
static const char verify_sql[] =
"SELECT pg_catalog.jsonb_pretty(pg_catalog.jsonb_build_object("
"  'passed', pg_catalog.count(*) FILTER (WHERE v.status IS NULL"
"              OR v.status OPERATOR(pg_catalog.<>) 'PASS') OPERATOR(pg_catalog.=) 0,"
"  'results', COALESCE(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object("
"      'claim', v.claim, 'kind', v.kind, 'status', v.status,"
"      'expected', v.expected, 'actual', v.actual, 'mismatch', v.mismatch,"
"      'changed_at', v.changed_at) ORDER BY v.n), '[]'::pg_catalog.jsonb))),"
"  pg_catalog.count(*) FILTER (WHERE v.status IS NULL"
"              OR v.status OPERATOR(pg_catalog.<>) 'PASS')"
" FROM taskdb.verify_provenance($1::pg_catalog.jsonb) WITH ORDINALITY"
"      AS v(claim, kind, status, expected, actual, mismatch, changed_at, n)";

static int
cmd_verify(const Invocation *inv)
{
	Input		in;
	Session		s;
	PGresult   *res;
	const char *params[1];
	int			status = EXIT_TROUBLE;

	if (!start_command(inv, &in, &s))
		return EXIT_TROUBLE;

	params[0] = in.data;
	res = session_exec(&s, verify_sql, 1, params);
	if (res != NULL)
	{
		if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0))
			print_error("taskdb.verify_provenance() returned no result");
		else
		{
			fputs(PQgetvalue(res, 0, 0), stdout);
			fputc('\n', stdout);
			status = finish_output(strcmp(PQgetvalue(res, 0, 1), "0") == 0 ?
								   EXIT_PASS : EXIT_FAIL);
		}
		PQclear(res);
	}

	close_session(&s);
	free_input(&in);
	return status;
}


/* ------------------------------------------------------------------------
 * debug-provenance
 * ------------------------------------------------------------------------
 */

/*
 * Writes s for a terminal: control characters (C0, DEL, and C1 as UTF-8)
 * from the report -- a claim id is whatever the file said -- are shown as
 * escapes rather than sent to the terminal, where they could move the cursor
 * or rewrite the screen.  Output that is not a terminal is left byte for
 * byte as the server sent it.
 */
static void
put_for_terminal(const char *s, FILE *out)
{
	const unsigned char *p;

	for (p = (const unsigned char *) s; *p != '\0'; p++)
	{
		if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
			fprintf(out, "\\x%02x", *p);
		else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
		{
			fprintf(out, "\\u%04x", p[1]);
			p++;
		}
		else
			putc(*p, out);
	}
}

static void
print_debug_line(const char *line, bool terminal, bool colour)
{
	if (colour && strncmp(line, "[PASS]", 6) == 0)
	{
		fputs(COLOUR_GREEN "[PASS]" COLOUR_RESET, stdout);
		line += 6;
	}
	else if (colour && strncmp(line, "[FAIL]", 6) == 0)
	{
		fputs(COLOUR_RED "[FAIL]" COLOUR_RESET, stdout);
		line += 6;
	}
	if (terminal)
		put_for_terminal(line, stdout);
	else
		fputs(line, stdout);
	fputc('\n', stdout);
}

/*
 * Colour only for a terminal, and not when NO_COLOR is set to anything but
 * the empty string (https://no-color.org).
 */
static bool
want_colour(bool terminal)
{
	const char *no_colour = getenv("NO_COLOR");

	return terminal && (no_colour == NULL || no_colour[0] == '\0');
}

static int
cmd_debug_provenance(const Invocation *inv)
{
	Input		in;
	Session		s;
	PGresult   *lines = NULL;
	PGresult   *failing = NULL;
	const char *params[2];
	int			status = EXIT_TROUBLE;

	if (inv->json)
		return cmd_verify(inv);

	if (!start_command(inv, &in, &s))
		return EXIT_TROUBLE;

	/*
	 * The lines and the exit status are two statements; one REPEATABLE READ
	 * snapshot makes them describe the same database state, so a commit in
	 * between cannot print [PASS] lines and exit 1.
	 */
	params[0] = in.data;
	params[1] = inv->verbose ? "true" : "false";
	if (session_command(&s, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY") &&
		(lines = session_exec(&s,
							  "SELECT d.line FROM taskdb.debug_provenance("
							  "$1::pg_catalog.jsonb, $2::pg_catalog.bool)"
							  " WITH ORDINALITY AS d(line, n) ORDER BY d.n",
							  2, params)) != NULL &&
		(failing = session_exec(&s,
								"SELECT pg_catalog.count(*) FILTER (WHERE v.status IS NULL"
								" OR v.status OPERATOR(pg_catalog.<>) 'PASS')"
								" FROM taskdb.verify_provenance($1::pg_catalog.jsonb) AS v",
								1, params)) != NULL &&
		session_command(&s, "COMMIT"))
	{
		bool		terminal = isatty(STDOUT_FILENO);
		bool		colour = want_colour(terminal);
		int			i;

		for (i = 0; i < PQntuples(lines); i++)
			print_debug_line(PQgetvalue(lines, i, 0), terminal, colour);
		status = finish_output(strcmp(PQgetvalue(failing, 0, 0), "0") == 0 ?
							   EXIT_PASS : EXIT_FAIL);
	}

	PQclear(lines);
	PQclear(failing);
	close_session(&s);
	free_input(&in);
	return status;
}


/* ------------------------------------------------------------------------
 * doctor
 * ------------------------------------------------------------------------
 */

#define EXIT_DEGRADED	1		/* doctor: some check warns */
#define EXIT_FAILING	3		/* doctor: some check fails */

static int
cmd_doctor(const Invocation *inv)
{
	Session		s;
	PGresult   *res;
	const char *params[1] = {NULL};
	int			status = EXIT_TROUBLE;
	bool		terminal = isatty(fileno(stdout));
	bool		colour = want_colour(terminal);

	if (inv->nargs == 1)
	{
		const char *p = inv->args[0];

		if (*p == '\0' || strspn(p, "0123456789") != strlen(p) || strlen(p) > 9 || atoi(p) < 1)
			return usage_error(inv->cmd, "SAMPLE must be a positive whole number of tasks, not \"%s\"", p);
		params[0] = p;
	}
	if (!open_session(inv, &s))
		return EXIT_TROUBLE;

	res = session_exec(&s, inv->json
					   ? "SELECT pg_catalog.jsonb_pretty(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object("
					   "'check', d.check_name, 'status', d.status, 'detail', d.detail) ORDER BY d.n)),"
					   " pg_catalog.max(d.status) FILTER (WHERE d.check_name OPERATOR(pg_catalog.=) 'system_health')"
					   " FROM taskdb.doctor($1::pg_catalog.int4) WITH ORDINALITY AS d(check_name, status, detail, n)"
					   : "SELECT d.check_name, d.status, d.detail"
					   " FROM taskdb.doctor($1::pg_catalog.int4) AS d",
					   1, params);
	if (res != NULL)
	{
		const char *verdict = NULL;
		int			i;

		if (inv->json)
		{
			fputs(PQgetvalue(res, 0, 0), stdout);
			fputc('\n', stdout);
			verdict = PQgetvalue(res, 0, 1);
		}
		else
			for (i = 0; i < PQntuples(res); i++)
			{
				const char *name = PQgetvalue(res, i, 0);
				const char *st = PQgetvalue(res, i, 1);
				const char *detail = PQgetvalue(res, i, 2);

				if (strcmp(name, "system_health") == 0)
				{
					verdict = st;
					printf("system_health: %s (%s)\n", st, detail);
					continue;
				}
				printf("%s[%s]%s %s - %s\n",
					   !colour ? "" : strcmp(st, "pass") == 0 ? COLOUR_GREEN :
					   strcmp(st, "warn") == 0 ? COLOUR_YELLOW : COLOUR_RED,
					   strcmp(st, "pass") == 0 ? "PASS" : strcmp(st, "warn") == 0 ? "WARN" : "FAIL",
					   colour ? COLOUR_RESET : "", name, detail);
			}
		if (verdict == NULL)
			print_error("taskdb.doctor() returned no verdict");
		else
			status = finish_output(strcmp(verdict, "excellent") == 0 ? EXIT_PASS :
								   strcmp(verdict, "degraded") == 0 ? EXIT_DEGRADED : EXIT_FAILING);
		PQclear(res);
	}
	close_session(&s);
	return status;
}


/* ------------------------------------------------------------------------
 * load, export-hash
 * ------------------------------------------------------------------------
 */

/* What the progress NOTICEs of generate_synthetic() are drawn on. */
typedef struct LoadProgress
{
	bool		terminal;		/* draw a bar on stderr */
	bool		drawn;			/* a bar is on the screen (end it with a newline) */
} LoadProgress;

/*
 * Progress NOTICEs ("generate_synthetic: H of N tasks (P %), ...") become a
 * bar on a terminal and are dropped otherwise; any other message is printed
 * as libpq would.
 */
static void
load_notice(void *arg, const PGresult *res)
{
	LoadProgress *p = (LoadProgress *) arg;
	const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	long		done,
				total,
				percent;
	char		rest[200];

	if (msg != NULL &&
		sscanf(msg, "generate_synthetic: %ld of %ld tasks (%ld %%), %199[^\n]",
			   &done, &total, &percent, rest) == 4)
	{
		if (p->terminal)
		{
			int			width = 30;
			int			filled = (int) (percent * width / 100);

			fprintf(stderr, "\r[%.*s%*s] %3ld%%  %ld/%ld tasks, %s",
					filled, "##############################", width - filled, "",
					percent, done, total, rest);
			fputs("\033[K", stderr);	/* clear what a longer line left */
			fflush(stderr);
			p->drawn = true;
		}
		return;
	}
	if (p->drawn)
		fputc('\n', stderr);
	p->drawn = false;
	fputs(PQresultErrorMessage(res), stderr);
}

static int
cmd_load(const Invocation *inv)
{
	static const char *const names[] = {"TASKS", "RUNS_PER_TASK", "GATES_PER_RUN", "ARTIFACTS", "SEED"};
	const char *params[5] = {"100000", "10", "3", NULL, "42"};
	LoadProgress progress;
	Session		s;
	PGresult   *res;
	int			status = EXIT_TROUBLE;
	int			i;

	for (i = 0; i < inv->nargs; i++)
	{
		const char *p = inv->args[i];

		if (*p == '\0' || strspn(p, "0123456789") != strlen(p) || strlen(p) > 9)
			return usage_error(inv->cmd, "%s must be a whole number, not \"%s\"", names[i], p);
		params[i] = p;
	}
	if (!open_session(inv, &s))
		return EXIT_TROUBLE;
	progress.terminal = isatty(fileno(stderr));
	progress.drawn = false;
	PQsetNoticeReceiver(s.conn, load_notice, &progress);

	res = session_exec(&s,
					   "SELECT g.tasks_created, g.runs_created, g.gates_created, g.artifacts_created,"
					   " g.events_written,"
					   " pg_catalog.round(pg_catalog.date_part('epoch', pg_catalog.clock_timestamp()"
					   "   OPERATOR(pg_catalog.-) pg_catalog.statement_timestamp())::pg_catalog.numeric, 1)"
					   " FROM taskdb.generate_synthetic($1::pg_catalog.int4, $2::pg_catalog.int4,"
					   " $3::pg_catalog.int4, $4::pg_catalog.int4, $5::pg_catalog.int4) AS g",
					   5, params);
	if (progress.drawn)
		fputc('\n', stderr);
	if (res != NULL)
	{
		printf("loaded %s tasks, %s runs, %s gates, %s artifacts and %s events in %s s\n",
			   PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2),
			   PQgetvalue(res, 0, 3), PQgetvalue(res, 0, 4), PQgetvalue(res, 0, 5));
		status = finish_output(EXIT_PASS);
		PQclear(res);
	}
	close_session(&s);
	return status;
}

static int
cmd_export_hash(const Invocation *inv)
{
	Session		s;
	PGresult   *res;
	int			status = EXIT_TROUBLE;

	if (!open_session(inv, &s))
		return EXIT_TROUBLE;
	res = session_exec(&s, "SELECT taskdb.export_hash()", 0, NULL);
	if (res != NULL)
	{
		puts(PQgetvalue(res, 0, 0));
		status = finish_output(EXIT_PASS);
		PQclear(res);
	}
	close_session(&s);
	return status;
}


/* ------------------------------------------------------------------------
 * Command line
 * ------------------------------------------------------------------------
 */

/*
 * Options may come before or after the subcommand; "--" ends them and "-"
 * is an argument (standard input).  Options a subcommand does not take are
 * refused once the subcommand is known.
 */
static int
run_command_line(int argc, char **argv, Invocation *inv)
{
	const char *name = NULL;
	const Subcommand *cmd;
	bool		want_help = false;
	bool		options_done = false;
	const char *migrate_opt = NULL;	/* an option only migrate takes */
	int			i;

	for (i = 1; i < argc; i++)
	{
		const char *arg = argv[i];

		if (options_done || arg[0] != '-' || strcmp(arg, "-") == 0)
		{
			if (name == NULL)
				name = arg;
			else
				inv->args[inv->nargs++] = argv[i];
		}
		else if (strcmp(arg, "--") == 0)
			options_done = true;
		else if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0)
			want_help = true;
		else if (strcmp(arg, "--version") == 0)
		{
			puts("taskdb (taskdb CLI) " TASKDB_CLI_VERSION);
			return finish_output(EXIT_PASS);
		}
		else if (strcmp(arg, "--verbose") == 0)
			inv->verbose = true;
		else if (strcmp(arg, "--json") == 0)
			inv->json = true;
		else if (strcmp(arg, "--append") == 0)
			inv->append = true, migrate_opt = arg;
		else if (strcmp(arg, "--force") == 0)
			inv->force = true, migrate_opt = arg;
		else if (strcmp(arg, "--from") == 0 || strcmp(arg, "--to") == 0 ||
				 strcmp(arg, "--init-sqlite") == 0)
		{
			if (i + 1 >= argc)
				return usage_error(NULL, "option \"%s\" requires a value", arg);
			*(arg[2] == 'f' ? &inv->from : arg[2] == 't' ? &inv->to : &inv->init_sqlite) = argv[++i];
			migrate_opt = arg;
		}
		else if (strncmp(arg, "--from=", 7) == 0)
			inv->from = arg + 7, migrate_opt = "--from";
		else if (strncmp(arg, "--to=", 5) == 0)
			inv->to = arg + 5, migrate_opt = "--to";
		else if (strncmp(arg, "--init-sqlite=", 14) == 0)
			inv->init_sqlite = arg + 14, migrate_opt = "--init-sqlite";
		else if (strcmp(arg, "-d") == 0 || strcmp(arg, "--dbname") == 0)
		{
			if (i + 1 >= argc)
				return usage_error(NULL, "option \"%s\" requires a value", arg);
			inv->conninfo = argv[++i];
		}
		else if (strncmp(arg, "--dbname=", 9) == 0)
			inv->conninfo = arg + 9;
		else if (strncmp(arg, "-d", 2) == 0)
			inv->conninfo = arg + 2;
		else
			return usage_error(NULL, "unrecognized option \"%s\"", arg);
	}

	if (name == NULL)
	{
		if (want_help)
		{
			print_usage(stdout);
			return finish_output(EXIT_PASS);
		}
		return usage_error(NULL, "no subcommand given");
	}
	cmd = find_subcommand(name);
	if (cmd == NULL)
		return usage_error(NULL, "unknown subcommand \"%s\"", name);
	if (want_help)
	{
		print_subcommand_help(cmd, stdout);
		return finish_output(EXIT_PASS);
	}

	if (inv->verbose && !(cmd->options & OPT_VERBOSE))
		return usage_error(cmd, "option \"--verbose\" is not valid for \"%s\"",
						   cmd->name);
	if (migrate_opt != NULL && !(cmd->options & OPT_MIGRATE))
		return usage_error(cmd, "option \"%s\" is not valid for \"%s\"",
						   migrate_opt, cmd->name);
	if (inv->json && !(cmd->options & OPT_JSON))
		return usage_error(cmd, "option \"--json\" is not valid for \"%s\"",
						   cmd->name);
	if (inv->nargs < cmd->min_args)
		return usage_error(cmd, "missing argument; usage: taskdb %s [OPTION]... %s",
						   cmd->name, cmd->args);
	if (inv->nargs > cmd->max_args)
		return usage_error(cmd, "too many arguments (first extra: \"%s\"); usage: taskdb %s [OPTION]... %s",
						   inv->args[cmd->max_args], cmd->name, cmd->args);

	inv->cmd = cmd;
	return cmd->run(inv);
}

/*
 * Fills closed standard descriptors with /dev/null opened read-only.  Else
 * the connection's socket, the next descriptor opened, could become
 * "standard output" and receive the output; this way a write to a closed
 * stdout fails and is reported like any other write error.
 */
static void
guard_standard_fds(void)
{
	int			fd;

	for (fd = 0; fd <= 2; fd++)
	{
		if (fcntl(fd, F_GETFD) == -1 && errno == EBADF)
		{
			int			nfd = open("/dev/null", O_RDONLY);

			if (nfd >= 0 && nfd != fd)
				close(nfd);
		}
	}
}

int
main(int argc, char **argv)
{
	Invocation	inv;
	int			status;

	guard_standard_fds();
	memset(&inv, 0, sizeof(inv));
	inv.args = calloc(argc > 0 ? argc : 1, sizeof(char *));
	if (inv.args == NULL)
	{
		print_error("out of memory");
		return EXIT_TROUBLE;
	}
	status = run_command_line(argc, argv, &inv);
	free(inv.args);
	return status;
}
