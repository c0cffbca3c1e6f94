/*-------------------------------------------------------------------------
 *
 * integrity.c
 *	  Rules the schema alone cannot state: task_id taken from the run,
 *	  immutable keys, and CHECK errors that name the allowed values.
 *
 * Every row is reachable from one task_id, and status maintenance trusts
 * gates.task_id to say which task a failed gate counts against, so the
 * value must come from the run, never from the caller.  fill_task_id looks
 * the run up through runs' primary key with SnapshotSelf: it sees runs
 * committed by anyone and those inserted earlier in this very command (a
 * data-modifying CTE that inserts a run and its gates), exactly the rows the
 * foreign key check that follows will accept.  runs.task_id is immutable, so
 * any visible version of the run carries the right task.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/skey.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/snapmgr.h"
#include "utils/uuid.h"

#include "compat.h"
#include "taskdb.h"

PG_FUNCTION_INFO_V1(fill_task_id);
PG_FUNCTION_INFO_V1(refuse_key_change);
PG_FUNCTION_INFO_V1(check_allowed);
PG_FUNCTION_INFO_V1(check_sha256);

/* What fill_task_id looks up once per statement (kept in fn_extra). */
typedef struct RunLookup
{
	Oid			runs;
	Oid			pkey;
	int			id_att;
	int			task_att;
} RunLookup;

static RunLookup *
run_lookup(FunctionCallInfo fcinfo)
{
	RunLookup  *lookup = (RunLookup *) fcinfo->flinfo->fn_extra;

	if (lookup == NULL)
	{
		Relation	runs = table_open(taskdb_relation_oid("runs", false), AccessShareLock);

		lookup = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, sizeof(RunLookup));
		lookup->runs = RelationGetRelid(runs);
		lookup->pkey = taskdb_primary_key_index(runs);
		lookup->id_att = taskdb_attnum(RelationGetDescr(runs), "id");
		lookup->task_att = taskdb_attnum(RelationGetDescr(runs), "task_id");
		table_close(runs, NoLock);
		if (!OidIsValid(lookup->pkey))
			elog(ERROR, "taskdb: taskdb.runs has no primary key");
		fcinfo->flinfo->fn_extra = lookup;
	}
	return lookup;
}

/* The task of a run, or false if no run with that id is visible. */
static bool
run_task_id(RunLookup *lookup, Datum run_id, pg_uuid_t *task_id)
{
	Relation	runs = table_open(lookup->runs, AccessShareLock);
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	bool		found = false;

	ScanKeyInit(&key, lookup->id_att, BTEqualStrategyNumber, F_UUID_EQ, run_id);
	scan = systable_beginscan(runs, lookup->pkey, true, SnapshotSelf, 1, &key);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
	{
		bool		isnull;
		Datum		d = heap_getattr(tup, lookup->task_att, RelationGetDescr(runs), &isnull);

		if (!isnull)
		{
			memcpy(task_id, DatumGetUUIDP(d), sizeof(pg_uuid_t));
			found = true;
		}
	}
	systable_endscan(scan);
	table_close(runs, NoLock);
	return found;
}

/*
 * BEFORE INSERT ... FOR EACH ROW on gates and artifacts.
 */
Datum
fill_task_id(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata;
	Relation	rel;
	TupleDesc	tupdesc;
	HeapTuple	tuple;
	int			run_att;
	int			task_att;
	bool		run_null;
	bool		task_null;
	Datum		run_id;
	Datum		given;
	pg_uuid_t  *task_id;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function taskdb.fill_task_id() was not called by the trigger manager"),
				 errhint("It is a trigger function installed by the taskdb extension; do not call it directly.")));
	trigdata = (TriggerData *) fcinfo->context;
	if (!TRIGGER_FIRED_BEFORE(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) ||
		!TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function taskdb.fill_task_id() must be fired BEFORE INSERT ... FOR EACH ROW")));

	rel = trigdata->tg_relation;
	tupdesc = RelationGetDescr(rel);
	tuple = trigdata->tg_trigtuple;
	run_att = taskdb_attnum(tupdesc, "run_id");
	task_att = taskdb_attnum(tupdesc, "task_id");

	run_id = heap_getattr(tuple, run_att, tupdesc, &run_null);
	if (run_null)
		return PointerGetDatum(tuple);	/* an artifact of the task itself */

	task_id = palloc(sizeof(pg_uuid_t));
	if (!run_task_id(run_lookup(fcinfo), run_id, task_id))
		ereport(ERROR,
				(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
				 errmsg("run %s does not exist", taskdb_uuid_string(DatumGetUUIDP(run_id))),
				 errdetail("%s.run_id must name an existing run.", RelationGetRelationName(rel)),
				 errhint("Create the run first (taskdb.create_run) and use the id it returns.")));

	given = heap_getattr(tuple, task_att, tupdesc, &task_null);
	if (!task_null)
	{
		if (memcmp(DatumGetUUIDP(given), task_id, sizeof(pg_uuid_t)) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
					 errmsg("%s.task_id %s does not match task %s of run %s",
							RelationGetRelationName(rel), taskdb_uuid_string(DatumGetUUIDP(given)),
							taskdb_uuid_string(task_id), taskdb_uuid_string(DatumGetUUIDP(run_id))),
					 errhint("Leave task_id out; taskdb fills it from the run.")));
		return PointerGetDatum(tuple);
	}
	else
	{
		Datum		value = UUIDPGetDatum(task_id);
		bool		isnull = false;

		return PointerGetDatum(heap_modify_tuple_by_cols(tuple, tupdesc, 1, &task_att,
														 &value, &isnull));
	}
}

/*
 * BEFORE UPDATE ... FOR EACH ROW WHEN (a key changed): always refuses, naming
 * the first key column that changed.
 */
Datum
refuse_key_change(PG_FUNCTION_ARGS)
{
	static const char *const keys[] = {"id", "task_id", "run_id"};
	TriggerData *trigdata;
	TupleDesc	tupdesc;
	int			i;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function taskdb.refuse_key_change() was not called by the trigger manager"),
				 errhint("It is a trigger function installed by the taskdb extension; do not call it directly.")));
	trigdata = (TriggerData *) fcinfo->context;
	if (!TRIGGER_FIRED_BEFORE(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) ||
		!TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function taskdb.refuse_key_change() must be fired BEFORE UPDATE ... FOR EACH ROW")));

	tupdesc = RelationGetDescr(trigdata->tg_relation);
	for (i = 0; i < lengthof(keys); i++)
	{
		int			att = SPI_fnumber(tupdesc, keys[i]);
		bool		old_null;
		bool		new_null;
		Datum		old_value;
		Datum		new_value;

		if (att <= 0)
			continue;
		old_value = heap_getattr(trigdata->tg_trigtuple, att, tupdesc, &old_null);
		new_value = heap_getattr(trigdata->tg_newtuple, att, tupdesc, &new_null);
		if (old_null == new_null &&
			(old_null || memcmp(DatumGetUUIDP(old_value), DatumGetUUIDP(new_value), UUID_LEN) == 0))
			continue;

		ereport(ERROR,
				(errcode(ERRCODE_INTEGRITY_CONSTRAINT_VIOLATION),
				 errmsg("cannot change %s.%s from %s to %s",
						RelationGetRelationName(trigdata->tg_relation), keys[i],
						old_null ? "NULL" : taskdb_uuid_string(DatumGetUUIDP(old_value)),
						new_null ? "NULL" : taskdb_uuid_string(DatumGetUUIDP(new_value))),
				 errdetail("Ids and references to a parent task or run are immutable in taskdb."),
				 errhint("Delete the row and insert a new one instead.")));
	}
	return PointerGetDatum(trigdata->tg_newtuple);
}

/*
 * check_allowed(column_name, value, allowed): the body of the CHECK
 * constraints on status, priority and type columns.  A plain
 * CHECK (x IN (...)) failure names only the constraint; this names the
 * column, the value and what is allowed.
 */
/* check_allowed's allowed list, deconstructed once per query (fn_extra). */
typedef struct AllowedCache
{
	ArrayType  *array;			/* copy of the list it was built from */
	int			n;
	text	  **elems;
} AllowedCache;

Datum
check_allowed(PG_FUNCTION_ARGS)
{
	text	   *value = PG_GETARG_TEXT_PP(1);
	ArrayType  *arg = PG_GETARG_ARRAYTYPE_P(2);
	AllowedCache *cache = (AllowedCache *) fcinfo->flinfo->fn_extra;
	int			i;
	StringInfoData list;

	/* In a CHECK constraint the list is a constant: compare bytes, rebuild rarely. */
	if (cache == NULL || VARSIZE(cache->array) != VARSIZE(arg) ||
		memcmp(cache->array, arg, VARSIZE(arg)) != 0)
	{
		MemoryContext old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
		ArrayType  *allowed = PG_GETARG_ARRAYTYPE_P_COPY(2);
		Datum	   *elems;
		bool	   *nulls;
		int			n;

		deconstruct_array(allowed, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
		cache = palloc(sizeof(AllowedCache));
		cache->array = allowed;
		cache->elems = palloc(sizeof(text *) * Max(n, 1));
		cache->n = 0;
		for (i = 0; i < n; i++)
			if (!nulls[i])
				cache->elems[cache->n++] = DatumGetTextPP(elems[i]);
		fcinfo->flinfo->fn_extra = cache;
		MemoryContextSwitchTo(old);
	}

	for (i = 0; i < cache->n; i++)
	{
		text	   *a = cache->elems[i];

		if (VARSIZE_ANY_EXHDR(a) == VARSIZE_ANY_EXHDR(value) &&
			memcmp(VARDATA_ANY(a), VARDATA_ANY(value), VARSIZE_ANY_EXHDR(a)) == 0)
			PG_RETURN_BOOL(true);
	}

	initStringInfo(&list);
	for (i = 0; i < cache->n; i++)
		appendStringInfo(&list, "%s%s", i > 0 ? ", " : "", text_to_cstring(cache->elems[i]));
	ereport(ERROR,
			(errcode(ERRCODE_CHECK_VIOLATION),
			 errmsg("invalid value \"%s\" for %s",
					taskdb_quote_value(VARDATA_ANY(value), VARSIZE_ANY_EXHDR(value)),
					text_to_cstring(PG_GETARG_TEXT_PP(0))),
			 errdetail("Allowed values are: %s.", list.data),
			 errhint("Use one of the allowed values; they are case-sensitive.")));
	PG_RETURN_BOOL(false);
}

/*
 * check_sha256(column_name, value): body of the CHECK constraint on
 * artifacts.sha256, with an error that shows the value and the form.
 */
Datum
check_sha256(PG_FUNCTION_ARGS)
{
	text	   *value = PG_GETARG_TEXT_PP(1);

	if (taskdb_sha256_text_valid(VARDATA_ANY(value), VARSIZE_ANY_EXHDR(value)))
		PG_RETURN_BOOL(true);

	ereport(ERROR,
			(errcode(ERRCODE_CHECK_VIOLATION),
			 errmsg("invalid value \"%s\" for %s",
					taskdb_quote_value(VARDATA_ANY(value), VARSIZE_ANY_EXHDR(value)),
					text_to_cstring(PG_GETARG_TEXT_PP(0))),
			 errdetail("A content hash is \"sha256:\" followed by 64 lower-case hexadecimal digits."),
			 errhint("Compute it with taskdb.sha256(content), or let taskdb.create_artifact() do it.")));
	PG_RETURN_BOOL(false);
}
