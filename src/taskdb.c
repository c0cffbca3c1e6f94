/*-------------------------------------------------------------------------
 *
 * taskdb.c
 *	  Module entry point and lookups shared by the other files.
 *
 * taskdb works with or without shared_preload_libraries: everything it needs
 * per backend (transaction callbacks for status maintenance) is set up the
 * first time the library is loaded in that backend.  Only the metrics need
 * preloading: their shared memory is requested at server start (metrics.c),
 * and so does the /metrics endpoint's background worker (metrics_http.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "compat.h"
#include "taskdb.h"
#include "history.h"

PG_MODULE_MAGIC;

void
_PG_init(void)
{
	/* Settings every backend has, preloaded or not (before the prefix is reserved). */
	notify_define_setting();

	/*
	 * The endpoint's settings are read at server start, so they exist only
	 * when taskdb is preloaded: a PGC_POSTMASTER variable cannot be created
	 * by a backend loading the library later (it would be a FATAL error).
	 */
	if (process_shared_preload_libraries_in_progress)
	{
		DefineCustomIntVariable("taskdb.metrics_port",
								"TCP port of taskdb's /metrics endpoint; 0 turns it off.",
								"Needs taskdb in shared_preload_libraries; read at server start.",
								&taskdb_metrics_port,
								0, 0, 65535,
								PGC_POSTMASTER, 0,
								NULL, NULL, NULL);
		DefineCustomStringVariable("taskdb.metrics_listen_address",
								   "Address the /metrics endpoint listens on.",
								   "A host name or IP address; \"*\" means every address.  Read at server start.",
								   &taskdb_metrics_listen_address,
								   "127.0.0.1",
								   PGC_POSTMASTER, 0,
								   NULL, NULL, NULL);
		MarkGUCPrefixReserved("taskdb");
	}

	/*
	 * History settings exist in every backend that loads taskdb: a database
	 * being restored has taskdb.restoring set (ALTER DATABASE) before taskdb
	 * is loaded there, and the value is picked up here.
	 */
	DefineCustomBoolVariable("taskdb.restoring",
							 "The database is being restored: the history is loaded as it was, not recorded anew.",
							 "Set it for the database before restoring a dump into it; SELECT taskdb.post_restore() turns it off.",
							 &taskdb_restoring,
							 false,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);
	DefineCustomStringVariable("taskdb.history_partition_interval",
							   "Length of the time partitions taskdb.maintain_history() makes for taskdb.history.",
							   "A number of months dividing a year, or a fixed length between a second and 366 days.",
							   &taskdb_history_partition_interval,
							   "1 month",
							   PGC_SUSET, 0,
							   NULL, NULL, NULL);

	version_register_callbacks();
	status_register_callbacks();
	events_register_callbacks();
	metrics_init();
	metrics_http_register();
}

/*
 * OID of a relation in the taskdb schema.  Looked up in the syscaches once
 * and kept until a relcache invalidation names the relation (DROP, RENAME,
 * DROP EXTENSION all send one; a backend's own are processed at the next
 * command, another backend's before it takes its next lock), so a
 * DROP/CREATE EXTENSION cannot leave a stale OID here.  Every path to
 * taskdb's tables comes here first, so this is where the installed SQL's
 * version is checked (version.c).
 */
#define RELID_CACHE_SIZE 16

static struct
{
	char		name[NAMEDATALEN];
	Oid			relid;
}			relid_cache[RELID_CACHE_SIZE];
static int	relid_cache_n = 0;

static void
relid_cache_invalidate(Datum arg, Oid relid)
{
	int			i;

	if (!OidIsValid(relid))
	{
		relid_cache_n = 0;
		return;
	}
	for (i = 0; i < relid_cache_n; i++)
	{
		if (relid_cache[i].relid == relid)
		{
			relid_cache[i] = relid_cache[--relid_cache_n];
			i--;
		}
	}
}

Oid
taskdb_relation_oid(const char *relname, bool missing_ok)
{
	static bool callback_registered = false;
	Oid			nspid;
	Oid			relid = InvalidOid;
	int			i;

	taskdb_check_sql_version();
	for (i = 0; i < relid_cache_n; i++)
	{
		if (strcmp(relid_cache[i].name, relname) == 0)
			return relid_cache[i].relid;
	}

	nspid = get_namespace_oid(TASKDB_SCHEMA, missing_ok);
	if (OidIsValid(nspid))
		relid = get_relname_relid(relname, nspid);
	if (!OidIsValid(relid))
	{
		if (!missing_ok)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_TABLE),
					 errmsg("relation \"%s.%s\" does not exist", TASKDB_SCHEMA, relname),
					 errhint("Is the taskdb extension installed in this database? Run CREATE EXTENSION taskdb.")));
		return InvalidOid;		/* a missing relation is not kept */
	}

	if (!callback_registered)
	{
		CacheRegisterRelcacheCallback(relid_cache_invalidate, (Datum) 0);
		callback_registered = true;
	}
	if (relid_cache_n < RELID_CACHE_SIZE && strlen(relname) < NAMEDATALEN)
	{
		strlcpy(relid_cache[relid_cache_n].name, relname, NAMEDATALEN);
		relid_cache[relid_cache_n].relid = relid;
		relid_cache_n++;
	}
	return relid;
}

/*
 * taskdb_run_as_owner: the one way taskdb runs SQL on its own behalf.
 * Like taskdb_relation_oid, it first checks the installed SQL's version.
 *
 * Protocol.  Becomes the owner of taskdb.<relname> (the way the RI triggers
 * act as the owner of the tables they check), or stays the current user when
 * relname is NULL; pins search_path to "pg_catalog, pg_temp" in a GUC nest
 * level of its own, so no schema of the caller's can supply an operator,
 * function or type to the SQL that runs (all of which is schema-qualified as
 * well); optionally runs at READ COMMITTED (RUN_READ_COMMITTED, the
 * commit-time flush: see status.c); connects to SPI and calls work(arg).
 *
 * On success the GUC level is popped, SPI finished, the user and isolation
 * level restored.  On error the user and isolation level are restored here
 * (PG_FINALLY: XactIsoLevel is not restored by subtransaction abort), and
 * the GUC level and the SPI connection are undone by the (sub)transaction
 * abort that follows, as fmgr_security_definer relies on too.  work must
 * copy anything it returns out of SPI memory into a context it was given.
 */
void
taskdb_run_as_owner(const char *relname, int flags, TaskdbWork work, void *arg)
{
	Oid			save_userid;
	int			save_sec_context;
	int			save_iso_level = XactIsoLevel;
	Oid			owner = InvalidOid;

	taskdb_check_sql_version();
	if (relname != NULL)
	{
		Oid			relid = taskdb_relation_oid(relname, false);
		HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));

		if (!HeapTupleIsValid(tup))
			elog(ERROR, "cache lookup failed for relation %u", relid);
		owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
		ReleaseSysCache(tup);
	}

	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	if (OidIsValid(owner))
		SetUserIdAndSecContext(owner, save_sec_context |
							   SECURITY_LOCAL_USERID_CHANGE | SECURITY_NOFORCE_RLS);
	if (flags & RUN_READ_COMMITTED)
		XactIsoLevel = XACT_READ_COMMITTED;
	PG_TRY();
	{
		int			nestlevel = NewGUCNestLevel();

		(void) set_config_option("search_path", "pg_catalog, pg_temp",
								 PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "taskdb: SPI_connect failed");
		work(arg);
		if (SPI_finish() != SPI_OK_FINISH)
			elog(ERROR, "taskdb: SPI_finish failed");
		AtEOXact_GUC(true, nestlevel);
	}
	PG_FINALLY();
	{
		XactIsoLevel = save_iso_level;
		SetUserIdAndSecContext(save_userid, save_sec_context);
	}
	PG_END_TRY();
}

/* A value quoted for a message: at most TASKDB_QUOTE_MAX bytes, cut on a character boundary. */
char *
taskdb_quote_value(const char *s, int len)
{
	StringInfoData buf;

	if (len > TASKDB_QUOTE_MAX)
	{
		int			cut = pg_mbcliplen(s, len, TASKDB_QUOTE_MAX);

		initStringInfo(&buf);
		appendBinaryStringInfo(&buf, s, cut);
		appendStringInfoString(&buf, "...");
		return buf.data;
	}
	return pnstrdup(s, len);
}

/*
 * Prepare a plan once per backend and keep it; prepare it again if it was
 * invalidated (DROP EXTENSION, ALTER TABLE).  Call inside SPI_connect.
 */
SPIPlanPtr
taskdb_keep_plan(SPIPlanPtr *cache, const char *sql, int nargs, Oid *argtypes)
{
	if (*cache != NULL && !SPI_plan_is_valid(*cache))
	{
		SPI_freeplan(*cache);
		*cache = NULL;
	}
	if (*cache == NULL)
	{
		SPIPlanPtr	plan = SPI_prepare(sql, nargs, argtypes);

		if (plan == NULL)
			elog(ERROR, "taskdb: SPI_prepare failed for \"%s\": %s",
				 sql, SPI_result_code_string(SPI_result));
		if (SPI_keepplan(plan) != 0)
			elog(ERROR, "taskdb: SPI_keepplan failed");
		*cache = plan;
	}
	return *cache;
}

/* The canonical text form of a uuid, palloc'd. */
char *
taskdb_uuid_string(const pg_uuid_t *uuid)
{
	return DatumGetCString(DirectFunctionCall1(uuid_out, UUIDPGetDatum(uuid)));
}

/* Attribute number of a column of one of taskdb's tables; an ERROR if missing. */
int
taskdb_attnum(TupleDesc tupdesc, const char *column)
{
	int			attnum = SPI_fnumber(tupdesc, column);

	if (attnum <= 0)
		elog(ERROR, "taskdb: column \"%s\" not found", column);
	return attnum;
}
