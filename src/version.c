/*-------------------------------------------------------------------------
 *
 * version.c
 *	  Which SQL this library serves.
 *
 * One library serves every database of a server, and each database has the
 * taskdb SQL of the version it was created with or last updated to
 * (pg_extension.extversion): after "make install" of a new release, a
 * database stays on the old SQL until ALTER EXTENSION taskdb UPDATE.  This
 * library serves the versions in served_versions: it keeps every C entry
 * point their SQL binds to, and where their objects differ it looks at what
 * is there (provenance.c takes report stamps from report_clock when
 * report_stamp_seq does not exist, as in 1.0).
 *
 * Any other version, older or newer, is refused with an error that says
 * which and how to get out of it, before the library touches a table whose
 * shape it could not know (Citus checks its installed version the same
 * way).  The check runs once per transaction, the first time a taskdb
 * relation is looked up (taskdb_relation_oid); a database without the
 * extension is not checked.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/skey.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/indexing.h"
#include "catalog/pg_extension.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/rel.h"

#include "compat.h"
#include "taskdb.h"

/* The extension versions whose SQL this library serves, oldest first. */
static const char *const served_versions[] = {"1.0", "1.1"};

#define SERVED_VERSIONS_TEXT "1.0 and 1.1"

/* The installed version was found served in the current transaction. */
static bool version_checked = false;

/* At transaction end: the next transaction checks again. */
static void
version_xact_callback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT ||
		event == XACT_EVENT_PREPARE ||
		event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_PARALLEL_ABORT)
		version_checked = false;
}

void
version_register_callbacks(void)
{
	RegisterXactCallback(version_xact_callback, NULL);
}

/*
 * The taskdb version installed in the current database, palloc'd, or NULL
 * when the extension is not installed.
 */
static char *
installed_version(void)
{
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	char	   *version = NULL;

	rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_extension_extname, BTEqualStrategyNumber,
				F_NAMEEQ, CStringGetDatum("taskdb"));
	scan = systable_beginscan(rel, ExtensionNameIndexId, true, NULL, 1, &key);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
	{
		bool		isnull;
		Datum		d = heap_getattr(tup, Anum_pg_extension_extversion,
									 RelationGetDescr(rel), &isnull);

		if (!isnull)
			version = text_to_cstring(DatumGetTextPP(d));
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return version;
}

/*
 * An ERROR unless the database's taskdb SQL is a version this library
 * serves.  Cheap after the first call in a transaction.
 */
void
taskdb_check_sql_version(void)
{
	char	   *version;
	int			i;

	if (version_checked || !IsTransactionState())
		return;
	version = installed_version();
	if (version == NULL)
		return;
	for (i = 0; i < lengthof(served_versions); i++)
	{
		if (strcmp(version, served_versions[i]) == 0)
		{
			version_checked = true;
			pfree(version);
			return;
		}
	}
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("the taskdb library (version %s) cannot serve taskdb version \"%s\", installed in this database",
					TASKDB_VERSION, taskdb_quote_value(version, strlen(version))),
			 errdetail("This library serves the SQL of taskdb versions %s.", SERVED_VERSIONS_TEXT),
			 errhint("Run ALTER EXTENSION taskdb UPDATE to move this database to version %s, "
					 "or install the taskdb library of version \"%s\".",
					 TASKDB_VERSION, taskdb_quote_value(version, strlen(version)))));
}
