/*-------------------------------------------------------------------------
 *
 * taskdb.c
 *	  Module entry point and lookups shared by the other files.
 *
 * taskdb works with or without shared_preload_libraries: everything it needs
 * per backend (transaction callbacks for status maintenance) is set up the
 * first time the library is loaded in that backend.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "fmgr.h"
#include "utils/lsyscache.h"

#include "compat.h"
#include "taskdb.h"

PG_MODULE_MAGIC;

void
_PG_init(void)
{
	status_register_callbacks();
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
