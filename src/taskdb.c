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
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "compat.h"
#include "taskdb.h"

PG_MODULE_MAGIC;

void
_PG_init(void)
{
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

	status_register_callbacks();
	metrics_init();
	metrics_http_register();
}

/*
 * OID of a relation in the taskdb schema.  Syscache lookups only, cheap
 * enough to do per statement; never cached across transactions so a
 * DROP/CREATE EXTENSION in the same backend cannot leave us a stale OID.
 */
Oid
taskdb_relation_oid(const char *relname, bool missing_ok)
{
	Oid			nspid = get_namespace_oid(TASKDB_SCHEMA, missing_ok);
	Oid			relid = InvalidOid;

	if (OidIsValid(nspid))
		relid = get_relname_relid(relname, nspid);
	if (!OidIsValid(relid) && !missing_ok)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation \"%s.%s\" does not exist", TASKDB_SCHEMA, relname),
				 errhint("Is the taskdb extension installed in this database? Run CREATE EXTENSION taskdb.")));
	return relid;
}

/*
 * Become the owner of taskdb.<relname> and, when read_committed is true (the
 * commit-time flush), run at READ COMMITTED: see status.c.  taskdb_restore_user
 * must run on every path, errors included (PG_FINALLY), because XactIsoLevel
 * is not restored by subtransaction abort.
 */
void
taskdb_become_owner(const char *relname, OwnerSwitch *st, bool read_committed)
{
	Oid			relid = taskdb_relation_oid(relname, false);
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	Oid			owner;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", relid);
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);

	GetUserIdAndSecContext(&st->save_userid, &st->save_sec_context);
	st->save_iso_level = XactIsoLevel;
	SetUserIdAndSecContext(owner, st->save_sec_context |
						   SECURITY_LOCAL_USERID_CHANGE | SECURITY_NOFORCE_RLS);
	if (read_committed)
		XactIsoLevel = XACT_READ_COMMITTED;
}

void
taskdb_restore_user(OwnerSwitch *st)
{
	XactIsoLevel = st->save_iso_level;
	SetUserIdAndSecContext(st->save_userid, st->save_sec_context);
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
