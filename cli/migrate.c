/*-------------------------------------------------------------------------
 *
 * migrate.c
 *	  taskdb migrate: TaskDB's SQLite files to taskdb and back, verified.
 *
 * Both directions go through the same two steps on the PostgreSQL side:
 *
 *   1. The SQLite file is streamed, table by table in rowid order, into
 *      temporary staging tables (every column as text, content as bytea)
 *      with COPY.  Checks in SQL then find the first bad row of each kind
 *      -- malformed id, timestamp or JSON, status or priority outside the
 *      allowed values, a duplicate id, a reference to a missing row -- and
 *      name its table, rowid and value.
 *   2. A canonical hash of the staged rows, cast to taskdb's column types,
 *      is compared with the same hash over the taskdb rows with those ids:
 *      per table, md5 of each row's record text in id order, then SHA-256
 *      of the tables' digests, with TimeZone, DateStyle, bytea_output and
 *      extra_float_digits pinned for the session.
 *
 * SQLite to PostgreSQL: staged and checked, then INSERT ... SELECT into
 * taskdb's tables in one transaction, through taskdb's triggers (status
 * summary, event history), and committed only if the row counts and the
 * hash of the staged rows equal those of the inserted rows.  The SQLite
 * file's events are counted but not imported: taskdb's history is written
 * by taskdb, and records the migration itself.
 *
 * PostgreSQL to SQLite: in one REPEATABLE READ snapshot, every table (and
 * the event history) is written into a new file next to the target, which
 * is then read back through step 1 and hashed against the snapshot; only
 * if counts and hashes match is the new file renamed over the target.
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "libpq-fe.h"

#include "cli.h"

#define EXIT_NOT_VERIFIED 1
#define COPY_CHUNK (64 * 1024)

/*
 * The TaskDB SQLite schema.  Ids are canonical lower-case uuids, times
 * ISO-8601 in UTC with microseconds ("2026-01-01T00:00:00.000000Z"), JSON as
 * text; content is a BLOB.
 */
static const char sqlite_schema[] =
"CREATE TABLE tasks (\n"
"    id             TEXT PRIMARY KEY,\n"
"    title          TEXT NOT NULL,\n"
"    description    TEXT,\n"
"    status         TEXT NOT NULL DEFAULT 'pending',\n"
"    priority       TEXT NOT NULL DEFAULT 'medium',\n"
"    policy_version TEXT NOT NULL,\n"
"    feature        TEXT,\n"
"    owner          TEXT,\n"
"    created_at     TEXT NOT NULL,\n"
"    updated_at     TEXT NOT NULL,\n"
"    completed_at   TEXT,\n"
"    summary        TEXT,\n"
"    dependencies   TEXT,\n"
"    metadata       TEXT\n"
");\n"
"CREATE TABLE runs (\n"
"    id           TEXT PRIMARY KEY,\n"
"    task_id      TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,\n"
"    status       TEXT NOT NULL DEFAULT 'queued',\n"
"    tool_calls   TEXT,\n"
"    metrics      TEXT,\n"
"    started_at   TEXT,\n"
"    finished_at  TEXT,\n"
"    created_at   TEXT NOT NULL,\n"
"    updated_at   TEXT NOT NULL\n"
");\n"
"CREATE INDEX runs_task_id_idx ON runs (task_id);\n"
"CREATE TABLE gates (\n"
"    id          TEXT PRIMARY KEY,\n"
"    run_id      TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,\n"
"    task_id     TEXT NOT NULL,\n"
"    name        TEXT NOT NULL,\n"
"    type        TEXT NOT NULL,\n"
"    status      TEXT NOT NULL DEFAULT 'pending',\n"
"    checks      TEXT,\n"
"    created_at  TEXT NOT NULL\n"
");\n"
"CREATE INDEX gates_run_id_idx ON gates (run_id);\n"
"CREATE TABLE artifacts (\n"
"    id          TEXT PRIMARY KEY,\n"
"    task_id     TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,\n"
"    run_id      TEXT REFERENCES runs (id) ON DELETE CASCADE,\n"
"    path        TEXT NOT NULL,\n"
"    sha256      TEXT NOT NULL,\n"
"    size_bytes  INTEGER,\n"
"    media_type  TEXT,\n"
"    content     BLOB,\n"
"    created_at  TEXT NOT NULL\n"
");\n"
"CREATE TABLE events (\n"
"    id           INTEGER PRIMARY KEY,\n"
"    xact_id      TEXT,\n"
"    occurred_at  TEXT NOT NULL,\n"
"    task_id      TEXT,\n"
"    entity       TEXT NOT NULL,\n"
"    entity_id    TEXT,\n"
"    operation    TEXT NOT NULL,\n"
"    old_status   TEXT,\n"
"    new_status   TEXT,\n"
"    changes      TEXT\n"
");\n";

/* A migrated table: its columns in both schemas, their taskdb types. */
typedef struct Table
{
	const char *name;
	int			ncols;
	const char *cols[14];
	const char *types[14];		/* taskdb type of each column */
} Table;

static const Table tables[] = {
	{"tasks", 14,
		{"id", "title", "description", "status", "priority", "policy_version", "feature",
		 "owner", "created_at", "updated_at", "completed_at", "summary", "dependencies", "metadata"},
		{"uuid", "text", "text", "text", "text", "text", "text",
		 "text", "timestamptz", "timestamptz", "timestamptz", "text", "jsonb", "jsonb"}},
	{"runs", 9,
		{"id", "task_id", "status", "tool_calls", "metrics", "started_at", "finished_at",
		 "created_at", "updated_at"},
		{"uuid", "uuid", "text", "jsonb", "jsonb", "timestamptz", "timestamptz",
		 "timestamptz", "timestamptz"}},
	{"gates", 8,
		{"id", "run_id", "task_id", "name", "type", "status", "checks", "created_at"},
		{"uuid", "uuid", "uuid", "text", "text", "text", "jsonb", "timestamptz"}},
	{"artifacts", 9,
		{"id", "task_id", "run_id", "path", "sha256", "size_bytes", "media_type", "content",
		 "created_at"},
		{"uuid", "uuid", "uuid", "text", "text", "int8", "text", "bytea", "timestamptz"}},
};
#define NTABLES 4

static const Table events_table = {"events", 10,
	{"id", "xact_id", "occurred_at", "task_id", "entity", "entity_id", "operation",
	 "old_status", "new_status", "changes"},
	{"int8", "text", "timestamptz", "uuid", "text", "uuid", "text", "text", "text", "jsonb"}};

/*
 * Row checks on the staging tables: each query returns the rowid and the
 * offending value of the first bad row, and the message says what is wrong
 * with it.  %1$s is the staging table, %2$s the column.
 */
typedef struct Check
{
	const char *table;
	const char *column;			/* NULL: the query names its own column */
	const char *where;			/* condition on s (the staging row) */
	const char *problem;		/* "... \"value\" <problem>" */
} Check;

#define UUID_RE "'^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'"
#define TS_BAD(c) "(" c " IS NOT NULL AND NOT pg_temp.taskdb_ts_ok(" c "))"
#define JSON_BAD(c) "(" c " IS NOT NULL AND NOT pg_temp.taskdb_json_ok(" c "))"

static const Check checks[] = {
	/* tasks */
	{"tasks", "id", "s.id IS NULL OR s.id !~ " UUID_RE, "is not a lower-case uuid"},
	{"tasks", "id", "s.id IN (SELECT d.id FROM pg_temp.s_tasks d GROUP BY d.id HAVING count(*) > 1)", "is a duplicate id"},
	{"tasks", "id", "EXISTS (SELECT 1 FROM taskdb.tasks t WHERE t.id = s.id::uuid)", "is already in the target database"},
	{"tasks", "title", "s.title IS NULL OR length(s.title) > 255", "is missing or longer than 255 characters"},
	{"tasks", "status", "s.status IS NULL OR s.status NOT IN ('pending','in_progress','completed','failed','cancelled','retracted')",
	 "is not a task status (pending, in_progress, completed, failed, cancelled, retracted)"},
	{"tasks", "priority", "s.priority IS NULL OR s.priority NOT IN ('critical','high','medium','low')",
	 "is not a priority (critical, high, medium, low)"},
	{"tasks", "policy_version", "s.policy_version IS NULL OR length(s.policy_version) > 20", "is missing or longer than 20 characters"},
	{"tasks", "feature", "length(s.feature) > 100", "is longer than 100 characters"},
	{"tasks", "owner", "length(s.owner) > 100", "is longer than 100 characters"},
	{"tasks", "created_at", "s.created_at IS NULL OR " TS_BAD("s.created_at"), "is not an ISO-8601 timestamp"},
	{"tasks", "updated_at", "s.updated_at IS NULL OR " TS_BAD("s.updated_at"), "is not an ISO-8601 timestamp"},
	{"tasks", "completed_at", TS_BAD("s.completed_at"), "is not an ISO-8601 timestamp"},
	{"tasks", "dependencies", JSON_BAD("s.dependencies"), "is not valid JSON"},
	{"tasks", "metadata", JSON_BAD("s.metadata"), "is not valid JSON"},
	/* runs */
	{"runs", "id", "s.id IS NULL OR s.id !~ " UUID_RE, "is not a lower-case uuid"},
	{"runs", "id", "s.id IN (SELECT d.id FROM pg_temp.s_runs d GROUP BY d.id HAVING count(*) > 1)", "is a duplicate id"},
	{"runs", "id", "EXISTS (SELECT 1 FROM taskdb.runs t WHERE t.id = s.id::uuid)", "is already in the target database"},
	{"runs", "task_id", "s.task_id IS NULL OR s.task_id !~ " UUID_RE, "is not a lower-case uuid"},
	{"runs", "task_id", "NOT EXISTS (SELECT 1 FROM pg_temp.s_tasks t WHERE t.id = s.task_id) "
	 "AND NOT EXISTS (SELECT 1 FROM taskdb.tasks t WHERE t.id = s.task_id::uuid)", "names no task"},
	{"runs", "status", "s.status IS NULL OR s.status NOT IN ('queued','running','completed','failed','cancelled')",
	 "is not a run status (queued, running, completed, failed, cancelled)"},
	{"runs", "tool_calls", JSON_BAD("s.tool_calls"), "is not valid JSON"},
	{"runs", "metrics", JSON_BAD("s.metrics"), "is not valid JSON"},
	{"runs", "started_at", TS_BAD("s.started_at"), "is not an ISO-8601 timestamp"},
	{"runs", "finished_at", TS_BAD("s.finished_at"), "is not an ISO-8601 timestamp"},
	{"runs", "created_at", "s.created_at IS NULL OR " TS_BAD("s.created_at"), "is not an ISO-8601 timestamp"},
	{"runs", "updated_at", "s.updated_at IS NULL OR " TS_BAD("s.updated_at"), "is not an ISO-8601 timestamp"},
	/* gates */
	{"gates", "id", "s.id IS NULL OR s.id !~ " UUID_RE, "is not a lower-case uuid"},
	{"gates", "id", "s.id IN (SELECT d.id FROM pg_temp.s_gates d GROUP BY d.id HAVING count(*) > 1)", "is a duplicate id"},
	{"gates", "id", "EXISTS (SELECT 1 FROM taskdb.gates t WHERE t.id = s.id::uuid)", "is already in the target database"},
	{"gates", "run_id", "s.run_id IS NULL OR s.run_id !~ " UUID_RE, "is not a lower-case uuid"},
	{"gates", "run_id", "NOT EXISTS (SELECT 1 FROM pg_temp.s_runs r WHERE r.id = s.run_id) "
	 "AND NOT EXISTS (SELECT 1 FROM taskdb.runs r WHERE r.id = s.run_id::uuid)", "names no run"},
	{"gates", "task_id", "s.task_id IS NULL OR s.task_id IS DISTINCT FROM COALESCE("
	 "(SELECT r.task_id FROM pg_temp.s_runs r WHERE r.id = s.run_id),"
	 "(SELECT r.task_id::text FROM taskdb.runs r WHERE r.id = s.run_id::uuid))", "is not the task of the gate's run"},
	{"gates", "name", "s.name IS NULL OR length(s.name) > 255", "is missing or longer than 255 characters"},
	{"gates", "type", "s.type IS NULL OR s.type NOT IN ('lint','policy','security','quality','truth')",
	 "is not a gate type (lint, policy, security, quality, truth)"},
	{"gates", "status", "s.status IS NULL OR s.status NOT IN ('pending','pass','fail','skipped')",
	 "is not a gate status (pending, pass, fail, skipped)"},
	{"gates", "checks", JSON_BAD("s.checks"), "is not valid JSON"},
	{"gates", "created_at", "s.created_at IS NULL OR " TS_BAD("s.created_at"), "is not an ISO-8601 timestamp"},
	/* artifacts */
	{"artifacts", "id", "s.id IS NULL OR s.id !~ " UUID_RE, "is not a lower-case uuid"},
	{"artifacts", "id", "s.id IN (SELECT d.id FROM pg_temp.s_artifacts d GROUP BY d.id HAVING count(*) > 1)", "is a duplicate id"},
	{"artifacts", "id", "EXISTS (SELECT 1 FROM taskdb.artifacts t WHERE t.id = s.id::uuid)", "is already in the target database"},
	{"artifacts", "task_id", "s.task_id IS NULL OR s.task_id !~ " UUID_RE, "is not a lower-case uuid"},
	{"artifacts", "task_id", "NOT EXISTS (SELECT 1 FROM pg_temp.s_tasks t WHERE t.id = s.task_id) "
	 "AND NOT EXISTS (SELECT 1 FROM taskdb.tasks t WHERE t.id = s.task_id::uuid)", "names no task"},
	{"artifacts", "run_id", "s.run_id IS NOT NULL AND s.run_id !~ " UUID_RE, "is not a lower-case uuid"},
	{"artifacts", "run_id", "s.run_id IS NOT NULL AND s.task_id IS DISTINCT FROM COALESCE("
	 "(SELECT r.task_id FROM pg_temp.s_runs r WHERE r.id = s.run_id),"
	 "(SELECT r.task_id::text FROM taskdb.runs r WHERE r.id = s.run_id::uuid))", "names no run of the artifact's task"},
	{"artifacts", "path", "s.path IS NULL", "is missing"},
	{"artifacts", "sha256", "s.sha256 IS NULL OR s.sha256 !~ '^sha256:[0-9a-f]{64}$'",
	 "is not \"sha256:\" and 64 lower-case hex digits"},
	{"artifacts", "sha256", "s.content IS NOT NULL AND s.sha256 <> 'sha256:' || encode(sha256(s.content), 'hex')",
	 "is not the hash of the artifact's content"},
	{"artifacts", "size_bytes", "s.size_bytes IS NOT NULL AND s.size_bytes !~ '^[0-9]{1,18}$'", "is not a byte count"},
	{"artifacts", "created_at", "s.created_at IS NULL OR " TS_BAD("s.created_at"), "is not an ISO-8601 timestamp"},
};

/* Helpers the checks use, in pg_temp, dropped with the session. */
static const char staging_helpers[] =
"CREATE FUNCTION pg_temp.taskdb_ts_ok(v text) RETURNS boolean LANGUAGE plpgsql AS $$\n"
"BEGIN\n"
"  IF v !~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,6})?(Z|[+-][0-9]{2}(:?[0-9]{2})?)$' THEN\n"
"    RETURN false;\n"
"  END IF;\n"
"  PERFORM v::timestamptz;\n"
"  RETURN true;\n"
"EXCEPTION WHEN others THEN RETURN false;\n"
"END $$;\n"
"CREATE FUNCTION pg_temp.taskdb_json_ok(v text) RETURNS boolean LANGUAGE plpgsql AS $$\n"
"BEGIN\n"
"  PERFORM v::jsonb;\n"
"  RETURN true;\n"
"EXCEPTION WHEN others THEN RETURN false;\n"
"END $$;\n";

/* ------------------------------------------------------------------------
 * Progress
 * ------------------------------------------------------------------------
 */

typedef struct Progress
{
	bool		terminal;
	long long	total;			/* rows to move, over all tables */
	long long	done;
	int			shown;			/* percent last drawn */
	struct timeval start;
} Progress;

static void
progress_draw(Progress *p, const char *table, bool force)
{
	int			percent;
	int			filled;

	if (!p->terminal)
		return;
	percent = p->total > 0 ? (int) (p->done * 100 / p->total) : 100;
	if (percent > 100)
		percent = 100;
	if (!force && percent == p->shown)
		return;
	p->shown = percent;
	filled = percent * 30 / 100;
	fprintf(stderr, "\r[%.*s%*s] %3d%%  %lld/%lld rows  %s\033[K",
			filled, "##############################", 30 - filled, "",
			percent, p->done, p->total, table);
	fflush(stderr);
}

static void
progress_end(Progress *p)
{
	if (p->terminal)
		fputc('\n', stderr);
}

static double
seconds_since(const struct timeval *t0)
{
	struct timeval now;

	gettimeofday(&now, NULL);
	return (now.tv_sec - t0->tv_sec) + (now.tv_usec - t0->tv_usec) / 1e6;
}

/* ------------------------------------------------------------------------
 * PostgreSQL side
 * ------------------------------------------------------------------------
 */

/* Runs a statement; on error reports it (with what was being done) and returns false. */
static bool
pg_ok(PGconn *conn, const char *sql, const char *doing)
{
	PGresult   *res = PQexec(conn, sql);
	ExecStatusType st = PQresultStatus(res);
	bool		ok = (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK);

	if (!ok)
	{
		if (doing != NULL)
			print_error("%s failed", doing);
		report_result_error(res, conn);
	}
	PQclear(res);
	return ok;
}

/* One text value from a single-row query, malloc'd; NULL on error (reported). */
static char *
pg_value(PGconn *conn, const char *sql)
{
	PGresult   *res = PQexec(conn, sql);
	char	   *v = NULL;

	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		v = strdup(PQgetisnull(res, 0, 0) ? "" : PQgetvalue(res, 0, 0));
	else
		report_result_error(res, conn);
	PQclear(res);
	return v;
}

static PGconn *
pg_connect(const char *conninfo)
{
	const char *keywords[] = {"fallback_application_name", "client_encoding", "dbname", NULL};
	const char *values[] = {"taskdb migrate", "UTF8", conninfo, NULL};
	PGconn	   *conn;

	if (conninfo == NULL)
		keywords[2] = NULL;
	conn = PQconnectdbParams(keywords, values, 1);
	if (conn == NULL || PQstatus(conn) != CONNECTION_OK)
	{
		const char *msg = conn ? PQerrorMessage(conn) : "out of memory";

		print_error("connection failed: %.*s", trimmed_length(msg), msg);
		PQfinish(conn);
		return NULL;
	}
	/* The settings that shape the record text the hash is taken of. */
	/*
	 * client_encoding too: a CONNINFO may set another, and text converted on
	 * the way in would hash the same on both sides of the server.
	 */
	if (!pg_ok(conn, "SET client_encoding = 'UTF8'; SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'postgres';"
			   " SET bytea_output = 'hex'; SET extra_float_digits = 1;"
			   " SET search_path = pg_catalog, pg_temp; SET temp_buffers = '256MB'",
			   "setting up the session") ||
		!pg_ok(conn, "SELECT 'taskdb.tasks'::regclass", NULL))
	{
		fputs("HINT:  Run CREATE EXTENSION taskdb; in the target database first.\n", stderr);
		PQfinish(conn);
		return NULL;
	}
	return conn;
}

/* Staging tables: every column text, content bytea, plus the SQLite rowid. */
static bool
create_staging(PGconn *conn, const Table *t)
{
	char		sql[2048];
	int			len;
	int			i;

	len = snprintf(sql, sizeof(sql), "CREATE TEMP TABLE s_%s (rownum int8", t->name);
	for (i = 0; i < t->ncols; i++)
		len += snprintf(sql + len, sizeof(sql) - len, ", %s %s", t->cols[i],
						strcmp(t->types[i], "bytea") == 0 ? "bytea" : "text");
	snprintf(sql + len, sizeof(sql) - len, ")");
	return pg_ok(conn, sql, "creating a staging table");
}

/*
 * The columns of t as an SQL list, "a.c1, a.c2::uuid, ...": with alias a
 * (bare names when alias is NULL), cast from staging's text to taskdb's
 * types when cast is true (bytea is staged as bytea).
 */
static void
column_list(const Table *t, const char *alias, bool cast, char *out, size_t size)
{
	int			len = 0;
	int			i;

	out[0] = '\0';
	for (i = 0; i < t->ncols; i++)
	{
		bool		c = cast && strcmp(t->types[i], "text") != 0 && strcmp(t->types[i], "bytea") != 0;

		len += snprintf(out + len, size - len, "%s%s%s%s%s%s", i ? ", " : "",
						alias ? alias : "", alias ? "." : "", t->cols[i],
						c ? "::" : "", c ? t->types[i] : "");
	}
}

/*
 * The staged row cast to taskdb's types, as a record: the same expression
 * over s (staging) and t (taskdb) hashes the same when the data is.
 */
static void
row_expr(const Table *t, const char *alias, bool staged, char *out, size_t size)
{
	char		cols[1024];

	column_list(t, alias, staged, cols, sizeof(cols));
	snprintf(out, size, "ROW(%s)::text", cols);
}

/* Starts a COPY; false (reported) unless the server is now in state want. */
static bool
begin_copy(PGconn *conn, const char *sql, ExecStatusType want)
{
	PGresult   *res = PQexec(conn, sql);
	bool		ok = PQresultStatus(res) == want;

	if (!ok)
		report_result_error(res, conn);
	PQclear(res);
	return ok;
}

/*
 * The canonical hash of the staged rows, or of the taskdb rows with the
 * staged ids, and the row count: "sha256:<hex> <count>" per table joined,
 * then one SHA-256 over all.  Returns "sha256:<hex>" (malloc'd) and the
 * counts, or NULL on error.
 */
static char *
canonical_hash(PGconn *conn, bool staged, long long counts[NTABLES])
{
	char		sql[16384];
	char		row[2048];
	int			len;
	int			i;
	PGresult   *res;
	char	   *result = NULL;

	len = snprintf(sql, sizeof(sql), "SELECT 'sha256:' || encode(sha256(convert_to(string_agg(d, E'\\n' ORDER BY n), 'UTF8')), 'hex')");
	for (i = 0; i < NTABLES; i++)
		len += snprintf(sql + len, sizeof(sql) - len, ", max(c) FILTER (WHERE n = %d)", i);
	len += snprintf(sql + len, sizeof(sql) - len, " FROM (");
	for (i = 0; i < NTABLES; i++)
	{
		const Table *t = &tables[i];

		row_expr(t, "x", staged, row, sizeof(row));
		if (staged)
			len += snprintf(sql + len, sizeof(sql) - len,
							"%s SELECT %d AS n, '%s ' || count(*) || ' ' || COALESCE(encode(sha256(convert_to(string_agg(md5(%s), '' ORDER BY x.id::uuid), 'UTF8')), 'hex'), '') AS d, count(*) AS c"
							" FROM pg_temp.s_%s x",
							i ? " UNION ALL" : "", i, t->name, row, t->name);
		else
			len += snprintf(sql + len, sizeof(sql) - len,
							"%s SELECT %d AS n, '%s ' || count(*) || ' ' || COALESCE(encode(sha256(convert_to(string_agg(md5(%s), '' ORDER BY x.id), 'UTF8')), 'hex'), '') AS d, count(*) AS c"
							" FROM taskdb.%s x WHERE x.id IN (SELECT s.id::uuid FROM pg_temp.s_%s s)",
							i ? " UNION ALL" : "", i, t->name, row, t->name, t->name);
	}
	snprintf(sql + len, sizeof(sql) - len, ") h");

	res = PQexec(conn, sql);
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
	{
		result = strdup(PQgetvalue(res, 0, 0));
		for (i = 0; i < NTABLES; i++)
			counts[i] = atoll(PQgetvalue(res, 0, i + 1));
	}
	else
	{
		print_error("computing the canonical hash failed");
		report_result_error(res, conn);
	}
	PQclear(res);
	return result;
}

/* Runs the row checks; reports the first failure.  True when all pass. */
static bool
run_checks(PGconn *conn, const char *file)
{
	size_t		i;

	for (i = 0; i < sizeof(checks) / sizeof(checks[0]); i++)
	{
		const Check *c = &checks[i];
		char		sql[2048];
		PGresult   *res;
		bool		bad;

		snprintf(sql, sizeof(sql),
				 "SELECT s.rownum, s.%s FROM pg_temp.s_%s s WHERE %s ORDER BY s.rownum LIMIT 1",
				 c->column, c->table, c->where);
		res = PQexec(conn, sql);
		if (PQresultStatus(res) != PGRES_TUPLES_OK)
		{
			print_error("checking %s.%s failed", c->table, c->column);
			report_result_error(res, conn);
			PQclear(res);
			return false;
		}
		bad = PQntuples(res) > 0;
		if (bad)
		{
			if (PQgetisnull(res, 0, 1))
				print_error("%s: table %s, row %s: %s is missing (NULL): it %s",
							file, c->table, PQgetvalue(res, 0, 0), c->column, c->problem);
			else
				print_error("%s: table %s, row %s: %s \"%.200s\" %s",
							file, c->table, PQgetvalue(res, 0, 0), c->column,
							PQgetvalue(res, 0, 1), c->problem);
			fputs("HINT:  Fix that row (the row is SQLite's rowid) and run the migration again; nothing was written.\n",
				  stderr);
		}
		PQclear(res);
		if (bad)
			return false;
	}
	return true;
}

/* ------------------------------------------------------------------------
 * SQLite side
 * ------------------------------------------------------------------------
 */

typedef struct Buf
{
	char	   *data;
	size_t		len;
	size_t		cap;
} Buf;

static void
buf_need(Buf *b, size_t more)
{
	if (b->len + more + 1 > b->cap)
	{
		size_t		cap = b->cap ? b->cap : 4096;

		while (b->len + more + 1 > cap)
			cap *= 2;
		b->data = realloc(b->data, cap);
		if (b->data == NULL)
		{
			print_error("out of memory");
			exit(EXIT_TROUBLE);
		}
		b->cap = cap;
	}
}

static void
buf_put(Buf *b, const char *s, size_t n)
{
	buf_need(b, n);
	memcpy(b->data + b->len, s, n);
	b->len += n;
}

/* A value escaped for COPY's text format. */
static void
buf_copy_text(Buf *b, const unsigned char *s, int n)
{
	int			i;

	buf_need(b, (size_t) n * 2);
	for (i = 0; i < n; i++)
	{
		unsigned char ch = s[i];

		switch (ch)
		{
			case '\\':
				b->data[b->len++] = '\\';
				b->data[b->len++] = '\\';
				break;
			case '\t':
				b->data[b->len++] = '\\';
				b->data[b->len++] = 't';
				break;
			case '\n':
				b->data[b->len++] = '\\';
				b->data[b->len++] = 'n';
				break;
			case '\r':
				b->data[b->len++] = '\\';
				b->data[b->len++] = 'r';
				break;
			default:
				b->data[b->len++] = (char) ch;
		}
	}
}

static void
buf_copy_bytea(Buf *b, const unsigned char *s, int n)
{
	static const char hex[] = "0123456789abcdef";
	int			i;

	buf_need(b, 3 + (size_t) n * 2);
	b->data[b->len++] = '\\';
	b->data[b->len++] = '\\';
	b->data[b->len++] = 'x';
	for (i = 0; i < n; i++)
	{
		b->data[b->len++] = hex[s[i] >> 4];
		b->data[b->len++] = hex[s[i] & 15];
	}
}

static sqlite3 *
sqlite_open(const char *path, int flags)
{
	sqlite3    *db = NULL;
	int			rc = sqlite3_open_v2(path, &db, flags, NULL);

	if (rc != SQLITE_OK)
	{
		print_error("%s: cannot open the SQLite file: %s", path, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_busy_timeout(db, 5000);
	return db;
}

/* Does the SQLite file have table t with every column?  Reports what is missing. */
static bool
sqlite_has_table(sqlite3 *db, const char *file, const Table *t, bool required)
{
	sqlite3_stmt *st;
	bool		found[14] = {false};
	bool		any = false;
	int			i;
	int			rc;

	rc = sqlite3_prepare_v2(db, "SELECT name FROM pragma_table_info(?1)", -1, &st, NULL);
	if (rc != SQLITE_OK)
	{
		print_error("%s: not a readable SQLite database: %s", file, sqlite3_errmsg(db));
		return false;
	}
	sqlite3_bind_text(st, 1, t->name, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
	{
		const char *name = (const char *) sqlite3_column_text(st, 0);

		any = true;
		for (i = 0; i < t->ncols; i++)
			if (name && strcmp(name, t->cols[i]) == 0)
				found[i] = true;
	}
	if (rc != SQLITE_DONE)
	{
		print_error("%s: not a readable SQLite database: %s", file, sqlite3_errmsg(db));
		sqlite3_finalize(st);
		return false;
	}
	sqlite3_finalize(st);
	if (!any)
	{
		if (required)
		{
			print_error("%s: the SQLite file has no table \"%s\"", file, t->name);
			fputs("HINT:  A TaskDB SQLite file has the tables tasks, runs, gates, artifacts and events; \"taskdb migrate --init-sqlite FILE\" creates one.\n", stderr);
		}
		return false;
	}
	for (i = 0; i < t->ncols; i++)
		if (!found[i])
		{
			if (!required)
				return false;	/* an optional table that is not ours: ignored */
			print_error("%s: table \"%s\" has no column \"%s\"", file, t->name, t->cols[i]);
			fputs("HINT:  The README's section on migration lists the columns of every table.\n", stderr);
			return false;
		}
	return true;
}

static long long
sqlite_count(sqlite3 *db, const char *table)
{
	char		sql[128];
	sqlite3_stmt *st;
	long long	n = -1;

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM \"%s\"", table);
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

/*
 * Streams one SQLite table into its staging table with COPY, rowid order.
 * Errors name the file, table and row.
 */
static bool
stage_table(sqlite3 *db, PGconn *conn, const char *file, const Table *t, Progress *p)
{
	char		sql[1024];
	char		cols[512];
	int			len;
	int			i;
	int			rc;
	sqlite3_stmt *st;
	Buf			b = {NULL, 0, 0};
	PGresult   *res;
	bool		ok = true;
	bool		reported = false;
	long long	rownum = 0;

	len = snprintf(sql, sizeof(sql), "SELECT rowid");
	for (i = 0; i < t->ncols; i++)
		len += snprintf(sql + len, sizeof(sql) - len, ", \"%s\"", t->cols[i]);
	snprintf(sql + len, sizeof(sql) - len, " FROM \"%s\" ORDER BY rowid", t->name);
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
	{
		print_error("%s: cannot read table %s: %s", file, t->name, sqlite3_errmsg(db));
		return false;
	}

	column_list(t, NULL, false, cols, sizeof(cols));
	snprintf(sql, sizeof(sql), "COPY pg_temp.s_%s (rownum, %s) FROM STDIN", t->name, cols);
	if (!begin_copy(conn, sql, PGRES_COPY_IN))
	{
		sqlite3_finalize(st);
		return false;
	}

	while (ok && (rc = sqlite3_step(st)) == SQLITE_ROW)
	{
		char		num[32];

		rownum = sqlite3_column_int64(st, 0);
		snprintf(num, sizeof(num), "%lld", rownum);
		buf_put(&b, num, strlen(num));
		for (i = 0; i < t->ncols; i++)
		{
			int			type = sqlite3_column_type(st, i + 1);
			bool		is_bytea = strcmp(t->types[i], "bytea") == 0;

			buf_put(&b, "\t", 1);
			if (type == SQLITE_NULL)
				buf_put(&b, "\\N", 2);
			else if (is_bytea)
			{
				const unsigned char *v = sqlite3_column_blob(st, i + 1);

				buf_copy_bytea(&b, v, sqlite3_column_bytes(st, i + 1));
			}
			else if (type == SQLITE_BLOB)
			{
				print_error("%s: table %s, row %lld: %s holds a BLOB, not text", file, t->name, rownum, t->cols[i]);
				ok = false;
				break;
			}
			else
			{
				const unsigned char *v = sqlite3_column_text(st, i + 1);
				int			n = sqlite3_column_bytes(st, i + 1);

				if (memchr(v, '\0', n) != NULL)
				{
					print_error("%s: table %s, row %lld: %s contains a NUL byte", file, t->name, rownum, t->cols[i]);
					ok = false;
					break;
				}
				buf_copy_text(&b, v, n);
			}
		}
		buf_put(&b, "\n", 1);
		p->done++;
		if (b.len >= COPY_CHUNK)
		{
			if (PQputCopyData(conn, b.data, (int) b.len) != 1)
			{
				report_result_error(NULL, conn);
				reported = ok = false;
			}
			b.len = 0;
			progress_draw(p, t->name, false);
		}
	}
	if (ok && rc != SQLITE_DONE)
	{
		if (rownum > 0)
			print_error("%s: table %s, after row %lld: SQLite: %s", file, t->name, rownum, sqlite3_errmsg(db));
		else
			print_error("%s: table %s: SQLite: %s", file, t->name, sqlite3_errmsg(db));
		ok = false;
	}
	sqlite3_finalize(st);
	if (ok && b.len > 0 && PQputCopyData(conn, b.data, (int) b.len) != 1)
	{
		report_result_error(NULL, conn);
		ok = false;
	}
	free(b.data);
	PQputCopyEnd(conn, ok ? NULL : "taskdb migrate: bad input");
	reported = !ok;				/* every failure so far has printed its reason */
	while ((res = PQgetResult(conn)) != NULL)
	{
		if (!reported && PQresultStatus(res) != PGRES_COMMAND_OK)
		{
			const char *ctx = PQresultErrorField(res, PG_DIAG_CONTEXT);
			const char *line = ctx ? strstr(ctx, ", line ") : NULL;

			/* COPY's line N is the Nth row read, in rowid order. */
			if (line != NULL)
				print_error("%s: table %s, row number %lld in rowid order: %s", file, t->name, atoll(line + 7),
							PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY));
			else
				report_result_error(res, conn);
			reported = true;
			ok = false;
		}
		PQclear(res);
	}
	progress_draw(p, t->name, true);
	return ok;
}

/* Reads a SQLite file into the staging tables; counts per table. */
static bool
stage_file(sqlite3 *db, PGconn *conn, const char *file, long long counts[NTABLES],
		   long long *nevents, Progress *p)
{
	int			i;
	long long	n;

	/* One read transaction: the counts and every table from one state of the file. */
	if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
	{
		print_error("%s: not a readable SQLite database: %s", file, sqlite3_errmsg(db));
		return false;
	}
	for (i = 0; i < NTABLES; i++)
		if (!sqlite_has_table(db, file, &tables[i], true))
			return false;
	*nevents = sqlite_has_table(db, file, &events_table, false) ? sqlite_count(db, "events") : 0;
	p->total = 0;
	for (i = 0; i < NTABLES; i++)
	{
		n = sqlite_count(db, tables[i].name);
		if (n < 0)
		{
			print_error("%s: cannot count table %s: %s", file, tables[i].name, sqlite3_errmsg(db));
			return false;
		}
		counts[i] = n;
		p->total += n;
	}
	if (!pg_ok(conn, staging_helpers, "preparing the checks"))
		return false;
	for (i = 0; i < NTABLES; i++)
		if (!create_staging(conn, &tables[i]) || !stage_table(db, conn, file, &tables[i], p))
			return false;
	/* The checks look rows up by id: index them, or each lookup is a scan. */
	return pg_ok(conn, "CREATE INDEX ON pg_temp.s_tasks (id); CREATE INDEX ON pg_temp.s_runs (id);"
				 " CREATE INDEX ON pg_temp.s_gates (id); CREATE INDEX ON pg_temp.s_artifacts (id);"
				 " ANALYZE pg_temp.s_tasks, pg_temp.s_runs, pg_temp.s_gates, pg_temp.s_artifacts", NULL);
}

/* ------------------------------------------------------------------------
 * Directions
 * ------------------------------------------------------------------------
 */

static int
sqlite_to_postgres(const Invocation *inv, const char *file, const char *conninfo)
{
	sqlite3    *db;
	PGconn	   *conn;
	Progress	p = {isatty(fileno(stderr)), 0, 0, -1, {0, 0}};
	long long	file_counts[NTABLES];
	long long	staged[NTABLES];
	long long	loaded[NTABLES];
	long long	nevents = 0;
	char	   *h_src = NULL;
	char	   *h_dst = NULL;
	char	   *ev0 = NULL;
	char	   *ev1 = NULL;
	int			status = EXIT_TROUBLE;
	int			i;
	struct stat sb;

	gettimeofday(&p.start, NULL);
	if (stat(file, &sb) != 0)
	{
		print_error("%s: %s", file, strerror(errno));
		return EXIT_TROUBLE;
	}
	db = sqlite_open(file, SQLITE_OPEN_READONLY);
	if (db == NULL)
		return EXIT_TROUBLE;
	conn = pg_connect(conninfo);
	if (conn == NULL)
	{
		sqlite3_close(db);
		return EXIT_TROUBLE;
	}
	if (!pg_ok(conn, "BEGIN", NULL))
		goto done;
	if (!inv->append)
	{
		char	   *n = pg_value(conn, "SELECT count(*) FROM taskdb.tasks");

		if (n == NULL)
			goto done;
		if (strcmp(n, "0") != 0)
		{
			print_error("the target database already holds %s tasks", n);
			fputs("HINT:  Migrate into an empty taskdb database, or add --append to add the file's rows to these.\n", stderr);
			free(n);
			goto done;
		}
		free(n);
	}
	if (!stage_file(db, conn, file, file_counts, &nevents, &p))
		goto done;
	progress_end(&p);
	if (!run_checks(conn, file))
		goto done;
	h_src = canonical_hash(conn, true, staged);
	if (h_src == NULL)
		goto done;
	ev0 = pg_value(conn, "SELECT count(*) FROM taskdb.event_history");
	/* In dependency order, through taskdb's triggers. */
	for (i = 0; i < NTABLES; i++)
	{
		const Table *t = &tables[i];
		char		sql[2048];
		char		cols[512];
		char		vals[1024];

		column_list(t, NULL, false, cols, sizeof(cols));
		column_list(t, "s", true, vals, sizeof(vals));
		snprintf(sql, sizeof(sql), "INSERT INTO taskdb.%s (%s) SELECT %s FROM pg_temp.s_%s s ORDER BY s.rownum",
				 t->name, cols, vals, t->name);
		if (!pg_ok(conn, sql, t->name))
			goto done;
	}
	h_dst = canonical_hash(conn, false, loaded);
	if (h_dst == NULL)
		goto done;
	ev1 = pg_value(conn, "SELECT count(*) FROM taskdb.event_history");
	for (i = 0; i < NTABLES; i++)
		if (file_counts[i] != staged[i] || staged[i] != loaded[i])
		{
			print_error("table %s: %lld rows in the file, %lld read, %lld in taskdb: not committed",
						tables[i].name, file_counts[i], staged[i], loaded[i]);
			status = EXIT_NOT_VERIFIED;
			goto done;
		}
	if (strcmp(h_src, h_dst) != 0)
	{
		print_error("the loaded rows hash %s, the file's %s: not committed", h_dst, h_src);
		status = EXIT_NOT_VERIFIED;
		goto done;
	}
	if (!pg_ok(conn, "COMMIT", "COMMIT"))
		goto done;
	printf("migrated sqlite:%s to postgres: %lld tasks, %lld runs, %lld gates, %lld artifacts in %.1f s\n"
		   "verified: row counts equal, canonical hash %s on both sides\n"
		   "history: %lld events in the file not imported; taskdb recorded %lld events of its own\n",
		   file, loaded[0], loaded[1], loaded[2], loaded[3], seconds_since(&p.start), h_dst,
		   nevents, (ev1 && ev0) ? atoll(ev1) - atoll(ev0) : 0);
	status = finish_output(EXIT_PASS);

done:
	if (status != EXIT_PASS && PQtransactionStatus(conn) != PQTRANS_IDLE)
		PQclear(PQexec(conn, "ROLLBACK"));
	free(h_src);
	free(h_dst);
	free(ev0);
	free(ev1);
	PQfinish(conn);
	sqlite3_close(db);
	return status;
}

/* Splits one COPY text-format line in place, unescaping; NULL for \N. */
static int
copy_split(char *line, char **fields, int max)
{
	int			n = 0;
	char	   *p = line;

	while (n < max)
	{
		char	   *start = p;
		char	   *w = p;
		char		end;

		if (p[0] == '\\' && p[1] == 'N' && (p[2] == '\t' || p[2] == '\0'))
		{
			fields[n++] = NULL;
			p += 2;
			if (*p == '\0')
				break;
			p++;
			continue;
		}
		while (*p && *p != '\t')
		{
			if (*p == '\\' && p[1])
			{
				p++;
				switch (*p)
				{
					case 't': *w++ = '\t'; break;
					case 'n': *w++ = '\n'; break;
					case 'r': *w++ = '\r'; break;
					case 'b': *w++ = '\b'; break;
					case 'f': *w++ = '\f'; break;
					case 'v': *w++ = '\v'; break;
					default: *w++ = *p;
				}
				p++;
			}
			else
				*w++ = *p++;
		}
		end = *p;
		*w = '\0';
		fields[n++] = start;
		if (end == '\0')
			break;
		p++;
	}
	return n;
}

static int
hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c - 'A' + 10;
}

/* Copies one taskdb table (or the history) into the open SQLite file. */
static bool
export_table(PGconn *conn, sqlite3 *db, const Table *t, const char *from, Progress *p)
{
	char		sql[2048];
	char		ins[1024];
	int			len;
	int			il;
	int			i;
	sqlite3_stmt *st;
	PGresult   *res;
	char	   *line;
	int			n;
	bool		ok = true;

	len = snprintf(sql, sizeof(sql), "COPY (SELECT ");
	il = snprintf(ins, sizeof(ins), "INSERT INTO \"%s\" VALUES (", t->name);
	for (i = 0; i < t->ncols; i++)
	{
		const char *c = t->cols[i];

		if (strcmp(t->types[i], "timestamptz") == 0)
			len += snprintf(sql + len, sizeof(sql) - len,
							"%sto_char(x.%s AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')", i ? ", " : "", c);
		else
			len += snprintf(sql + len, sizeof(sql) - len, "%sx.%s", i ? ", " : "", c);
		il += snprintf(ins + il, sizeof(ins) - il, "%s?%d", i ? ", " : "", i + 1);
	}
	snprintf(sql + len, sizeof(sql) - len, " FROM %s x ORDER BY x.id) TO STDOUT", from);
	snprintf(ins + il, sizeof(ins) - il, ")");

	if (sqlite3_prepare_v2(db, ins, -1, &st, NULL) != SQLITE_OK)
	{
		print_error("preparing the SQLite insert into %s: %s", t->name, sqlite3_errmsg(db));
		return false;
	}
	if (!begin_copy(conn, sql, PGRES_COPY_OUT))
	{
		sqlite3_finalize(st);
		return false;
	}
	while ((n = PQgetCopyData(conn, &line, 0)) > 0)
	{
		char	   *f[14];

		if (ok)
		{
			if (n > 0 && line[n - 1] == '\n')
				line[n - 1] = '\0';
			if (copy_split(line, f, t->ncols) != t->ncols)
			{
				print_error("unexpected row from COPY of %s", t->name);
				ok = false;
			}
			for (i = 0; ok && i < t->ncols; i++)
			{
				if (f[i] == NULL)
					sqlite3_bind_null(st, i + 1);
				else if (strcmp(t->types[i], "bytea") == 0)
				{
					/* bytea in hex: \x.... */
					size_t		hl = strlen(f[i]);
					size_t		bl = hl > 2 ? (hl - 2) / 2 : 0;
					unsigned char *bytes = malloc(bl + 1);
					size_t		k;

					for (k = 0; bytes && k < bl; k++)
						bytes[k] = (unsigned char) (hexval(f[i][2 + 2 * k]) * 16 + hexval(f[i][3 + 2 * k]));
					sqlite3_bind_blob(st, i + 1, bytes, (int) bl, free);
				}
				else if (strcmp(t->types[i], "int8") == 0)
					sqlite3_bind_int64(st, i + 1, atoll(f[i]));
				else
					sqlite3_bind_text(st, i + 1, f[i], -1, SQLITE_TRANSIENT);
			}
			if (ok && sqlite3_step(st) != SQLITE_DONE)
			{
				print_error("writing table %s to SQLite: %s", t->name, sqlite3_errmsg(db));
				ok = false;
			}
			sqlite3_reset(st);
			p->done++;
			if ((p->done & 4095) == 0)
				progress_draw(p, t->name, false);
		}
		PQfreemem(line);
	}
	sqlite3_finalize(st);
	while ((res = PQgetResult(conn)) != NULL)
	{
		if (ok && PQresultStatus(res) != PGRES_COMMAND_OK)
		{
			report_result_error(res, conn);
			ok = false;
		}
		PQclear(res);
	}
	progress_draw(p, t->name, true);
	return ok;
}

/* fsync a file or a directory; false (reported) on error. */
static bool
fsync_path(const char *path, bool dir)
{
	int			fd = open(path, dir ? O_RDONLY | O_DIRECTORY : O_RDWR);

	if (fd < 0 || fsync(fd) != 0)
	{
		print_error("could not fsync %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return false;
	}
	close(fd);
	return true;
}

static int
postgres_to_sqlite(const Invocation *inv, const char *conninfo, const char *file)
{
	PGconn	   *conn;
	sqlite3    *db = NULL;
	Progress	p = {isatty(fileno(stderr)), 0, 0, -1, {0, 0}};
	char		tmp[4096];
	char	   *h_src = NULL;
	char	   *h_back = NULL;
	char	   *total = NULL;
	long long	src_counts[NTABLES];
	long long	back_counts[NTABLES];
	long long	nevents = 0;
	long long	file_events = 0;
	int			status = EXIT_TROUBLE;
	int			i;
	struct stat sb;
	bool		made = false;

	gettimeofday(&p.start, NULL);
	if (stat(file, &sb) == 0 && !inv->force)
	{
		print_error("%s already exists", file);
		fputs("HINT:  Choose a new file, or add --force to replace it (only once the new one is verified).\n", stderr);
		return EXIT_TROUBLE;
	}
	if (snprintf(tmp, sizeof(tmp), "%s.taskdb-migrate-%d", file, (int) getpid()) >= (int) sizeof(tmp))
	{
		print_error("%s: the file name is too long", file);
		return EXIT_TROUBLE;
	}
	{
		/* An old file's journal would be replayed into the new one. */
		static const char *const suffixes[] = {"-journal", "-wal"};
		char		side[4200];
		size_t		k;

		for (k = 0; k < 2; k++)
		{
			snprintf(side, sizeof(side), "%s%s", file, suffixes[k]);
			if (stat(side, &sb) == 0)
			{
				print_error("%s exists: SQLite may be using %s, or a crash left it", side, file);
				fputs("HINT:  Open the file with sqlite3 once to recover it, or remove the journal if the file is not wanted.\n", stderr);
				return EXIT_TROUBLE;
			}
		}
	}
	conn = pg_connect(conninfo);
	if (conn == NULL)
		return EXIT_TROUBLE;
	/* One snapshot for the copy and its check; temp tables need a writable transaction. */
	if (!pg_ok(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ", NULL))
		goto done;
	total = pg_value(conn, "SELECT (SELECT count(*) FROM taskdb.tasks) + (SELECT count(*) FROM taskdb.runs)"
					 " + (SELECT count(*) FROM taskdb.gates) + (SELECT count(*) FROM taskdb.artifacts)"
					 " + (SELECT count(*) FROM taskdb.event_history)");
	if (total == NULL)
		goto done;
	p.total = atoll(total);

	unlink(tmp);
	db = sqlite_open(tmp, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
	if (db == NULL)
		goto done;
	made = true;
	if (sqlite3_exec(db, "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
		sqlite3_exec(db, sqlite_schema, NULL, NULL, NULL) != SQLITE_OK)
	{
		print_error("%s: cannot create the SQLite schema: %s", tmp, sqlite3_errmsg(db));
		goto done;
	}
	for (i = 0; i < NTABLES; i++)
	{
		char		from[64];

		snprintf(from, sizeof(from), "taskdb.%s", tables[i].name);
		if (!export_table(conn, db, &tables[i], from, &p))
			goto done;
	}
	if (!export_table(conn, db, &events_table, "taskdb.event_history", &p))
		goto done;
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
	{
		print_error("%s: %s", tmp, sqlite3_errmsg(db));
		goto done;
	}
	sqlite3_close(db);
	db = NULL;
	progress_end(&p);

	/* Read the new file back, as a migration from it would, and compare. */
	db = sqlite_open(tmp, SQLITE_OPEN_READONLY);
	if (db == NULL)
		goto done;
	p.done = 0;
	if (!stage_file(db, conn, tmp, back_counts, &file_events, &p))
		goto done;
	progress_end(&p);
	h_back = canonical_hash(conn, true, back_counts);
	h_src = canonical_hash(conn, false, src_counts);
	if (h_back == NULL || h_src == NULL)
		goto done;
	{
		char	   *n = pg_value(conn, "SELECT count(*) FROM taskdb.event_history");

		nevents = n ? atoll(n) : -1;
		free(n);
	}
	sqlite3_close(db);
	db = NULL;
	for (i = 0; i < NTABLES; i++)
	{
		char		sql[128];
		char	   *n;

		snprintf(sql, sizeof(sql), "SELECT count(*) FROM taskdb.%s", tables[i].name);
		n = pg_value(conn, sql);
		if (n == NULL)
			goto done;
		if (atoll(n) != back_counts[i] || src_counts[i] != back_counts[i])
		{
			print_error("table %s: %s rows in taskdb, %lld read back from the new file: %s not written",
						tables[i].name, n, back_counts[i], file);
			free(n);
			status = EXIT_NOT_VERIFIED;
			goto done;
		}
		free(n);
	}
	if (nevents != file_events)
	{
		print_error("%lld events in taskdb, %lld in the new file: %s not written", nevents, file_events, file);
		status = EXIT_NOT_VERIFIED;
		goto done;
	}
	if (strcmp(h_src, h_back) != 0)
	{
		print_error("the new file hashes %s, taskdb %s: %s not written", h_back, h_src, file);
		status = EXIT_NOT_VERIFIED;
		goto done;
	}
	/* Durable before it replaces anything: the file, then its directory. */
	if (!fsync_path(tmp, false))
		goto done;
	if (rename(tmp, file) != 0)
	{
		print_error("cannot rename %s to %s: %s", tmp, file, strerror(errno));
		goto done;
	}
	made = false;
	{
		char		dir[4096];
		char	   *slash;

		snprintf(dir, sizeof(dir), "%s", file);
		slash = strrchr(dir, '/');
		if (slash == NULL)
			snprintf(dir, sizeof(dir), ".");
		else if (slash == dir)
			dir[1] = '\0';
		else
			*slash = '\0';
		if (!fsync_path(dir, true))
			goto done;
	}
	printf("migrated postgres to sqlite:%s: %lld tasks, %lld runs, %lld gates, %lld artifacts, %lld events in %.1f s\n"
		   "verified: row counts equal, canonical hash %s on both sides\n",
		   file, src_counts[0], src_counts[1], src_counts[2], src_counts[3], nevents,
		   seconds_since(&p.start), h_src);
	status = finish_output(EXIT_PASS);

done:
	if (db != NULL)
		sqlite3_close(db);
	if (made)
		unlink(tmp);
	if (PQtransactionStatus(conn) != PQTRANS_IDLE)
		PQclear(PQexec(conn, "ROLLBACK"));
	free(total);
	free(h_src);
	free(h_back);
	PQfinish(conn);
	return status;
}

static int
init_sqlite(const Invocation *inv, const char *file)
{
	sqlite3    *db;
	struct stat sb;

	if (stat(file, &sb) == 0 && !inv->force)
	{
		print_error("%s already exists", file);
		fputs("HINT:  Choose a new file, or add --force to replace it.\n", stderr);
		return EXIT_TROUBLE;
	}
	unlink(file);
	db = sqlite_open(file, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
	if (db == NULL)
		return EXIT_TROUBLE;
	if (sqlite3_exec(db, sqlite_schema, NULL, NULL, NULL) != SQLITE_OK)
	{
		print_error("%s: cannot create the schema: %s", file, sqlite3_errmsg(db));
		sqlite3_close(db);
		unlink(file);
		return EXIT_TROUBLE;
	}
	sqlite3_close(db);
	printf("created %s: an empty TaskDB SQLite file (tables tasks, runs, gates, artifacts, events)\n", file);
	return finish_output(EXIT_PASS);
}

/* "sqlite:FILE" or "postgres[:CONNINFO]" */
static bool
parse_end(const char *spec, bool *is_sqlite, const char **rest)
{
	if (strncmp(spec, "sqlite:", 7) == 0 && spec[7] != '\0')
	{
		*is_sqlite = true;
		*rest = spec + 7;
		return true;
	}
	if (strcmp(spec, "postgres") == 0 || strcmp(spec, "postgresql") == 0)
	{
		*is_sqlite = false;
		*rest = NULL;
		return true;
	}
	if (strncmp(spec, "postgres:", 9) == 0 || strncmp(spec, "postgresql:", 11) == 0)
	{
		*is_sqlite = false;
		*rest = strchr(spec, ':') + 1;
		/* a URI keeps its scheme */
		if (strncmp(*rest, "//", 2) == 0)
			*rest = spec;
		return true;
	}
	return false;
}

int
cmd_migrate(const Invocation *inv)
{
	bool		from_sqlite;
	bool		to_sqlite;
	const char *from;
	const char *to;

	if (inv->init_sqlite != NULL)
	{
		if (inv->from || inv->to || inv->append)
			return usage_error(inv->cmd, "--init-sqlite does not go with --from, --to or --append");
		return init_sqlite(inv, inv->init_sqlite);
	}
	if (inv->from == NULL || inv->to == NULL)
		return usage_error(inv->cmd, "give --from and --to (or --init-sqlite FILE)");
	if (!parse_end(inv->from, &from_sqlite, &from))
		return usage_error(inv->cmd, "--from must be sqlite:FILE or postgres[:CONNINFO], not \"%s\"", inv->from);
	if (!parse_end(inv->to, &to_sqlite, &to))
		return usage_error(inv->cmd, "--to must be sqlite:FILE or postgres[:CONNINFO], not \"%s\"", inv->to);
	if (from_sqlite == to_sqlite)
		return usage_error(inv->cmd, "one side must be sqlite:FILE and the other postgres");
	if (from_sqlite)
	{
		if (inv->force)
			return usage_error(inv->cmd, "--force is for a SQLite target; into PostgreSQL, --append");
		return sqlite_to_postgres(inv, from, to ? to : inv->conninfo);
	}
	if (inv->append)
		return usage_error(inv->cmd, "--append is for a PostgreSQL target; into SQLite, --force");
	return postgres_to_sqlite(inv, from ? from : inv->conninfo, to);
}
