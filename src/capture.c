/*-------------------------------------------------------------------------
 *
 * capture.c
 *	  taskdb.capture(): one statement trigger for the summary and the history.
 *
 * Protocol
 * --------
 * In 1.1 every table taskdb watches has one AFTER ... FOR EACH STATEMENT
 * trigger per event, all calling capture().  It reads the statement's
 * transition tables once and, for each row,
 *
 *	- folds runs and gates into the transaction's pending summary deltas
 *	  (status.c: applied at commit), marks deleted tasks and gives inserted
 *	  ones their summary rows;
 *	- hands the row's event to the history writer (history.c): one event
 *	  per row inserted or deleted, one per row an UPDATE really changed, one
 *	  per TRUNCATE.
 *
 * An UPDATE's old and new transition tables are read in step: the trigger
 * manager appends each updated row's two versions together
 * (AfterTriggerSaveEvent), so the i-th old row is the i-th new row's old
 * version; a pair whose ids differ is an ERROR, never a wrong history.
 * Memory is bounded by one row pair, the writer's buffer and, for inserted
 * tasks, CAPTURE_TASK_CHUNK ids, whatever the statement's size.
 *
 * What each table is (its entity, the counters it feeds, its columns' attribute
 * numbers) is looked up once per backend and forgotten by a relcache
 * callback when the table changes.  With taskdb.restoring on (a restore,
 * see post_restore()) the summary is kept but no history is written: the
 * restore loads the history as it was.
 *
 * 1.0's triggers (fold_status_delta, tasks_after_insert, truncate_status,
 * record_events) keep serving a database whose SQL is still 1.0.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "commands/trigger.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/tuplestore.h"

#include "compat.h"
#include "taskdb.h"
#include "history.h"

PG_FUNCTION_INFO_V1(capture);

/* New tasks' summary rows are inserted this many at a time. */
#define CAPTURE_TASK_CHUNK 10000

/* What capture() needs to know about a table it fires on. */
typedef struct CaptureTable
{
	Oid			relid;			/* InvalidOid: free slot */
	char		entity;			/* HISTORY_TASK, ... */
	DeltaSource source;			/* the counters it feeds */
	bool		has_status;
	int			id_att;
	int			task_att;		/* 0: none (reports); tasks use their id */
	int			status_att;		/* 0: none */
} CaptureTable;

static CaptureTable capture_tables[8];

static void
capture_invalidate(Datum arg, Oid relid)
{
	int			i;

	for (i = 0; i < lengthof(capture_tables); i++)
		if (relid == InvalidOid || capture_tables[i].relid == relid)
			capture_tables[i].relid = InvalidOid;
}

static const CaptureTable *
capture_table(Relation rel)
{
	static bool callback_registered = false;
	static const struct
	{
		const char *name;
		char		entity;
		DeltaSource source;
		bool		has_status;
		bool		has_task;
	}			known[] =
	{
		{"tasks", HISTORY_TASK, SOURCE_TASKS, true, false},
		{"runs", HISTORY_RUN, SOURCE_RUNS, true, true},
		{"gates", HISTORY_GATE, SOURCE_GATES, true, true},
		{"artifacts", HISTORY_ARTIFACT, SOURCE_NONE, false, true},
		{"reports", HISTORY_REPORT, SOURCE_NONE, false, false},
	};
	Oid			relid = RelationGetRelid(rel);
	const char *name = RelationGetRelationName(rel);
	TupleDesc	desc = RelationGetDescr(rel);
	CaptureTable *t = NULL;
	int			i;

	for (i = 0; i < lengthof(capture_tables); i++)
		if (capture_tables[i].relid == relid)
			return &capture_tables[i];
	if (!callback_registered)
	{
		CacheRegisterRelcacheCallback(capture_invalidate, (Datum) 0);
		callback_registered = true;
	}
	for (i = 0; i < lengthof(capture_tables); i++)
		if (capture_tables[i].relid == InvalidOid)
			t = &capture_tables[i];
	if (t == NULL)
		t = &capture_tables[0];

	if (RelationGetNamespace(rel) == get_namespace_oid(TASKDB_SCHEMA, true))
		for (i = 0; i < lengthof(known); i++)
			if (strcmp(name, known[i].name) == 0)
			{
				t->entity = known[i].entity;
				t->source = known[i].source;
				t->has_status = known[i].has_status;
				t->id_att = taskdb_attnum(desc, "id");
				t->task_att = known[i].entity == HISTORY_TASK ? t->id_att
					: known[i].has_task ? taskdb_attnum(desc, "task_id") : 0;
				t->status_att = known[i].has_status ? taskdb_attnum(desc, "status") : 0;
				t->relid = relid;
				return t;
			}
	ereport(ERROR,
			(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
			 errmsg("function taskdb.capture() fired on table \"%s\"", name),
			 errdetail("It watches taskdb.tasks, runs, gates, artifacts and reports only.")));
	pg_unreachable();
}

/* The uuid in column att of slot, or NULL. */
static inline const pg_uuid_t *
slot_uuid(TupleTableSlot *slot, int att)
{
	bool		isnull;
	Datum		d;

	if (att == 0)
		return NULL;
	d = slot_getattr(slot, att, &isnull);
	return isnull ? NULL : DatumGetUUIDP(d);
}

/* New tasks waiting for their summary rows. */
typedef struct NewTasks
{
	MemoryContext cxt;
	Datum	   *ids;
	int			n;
} NewTasks;

static void
new_tasks_flush(NewTasks *nt)
{
	status_insert_summary_rows(nt->ids, nt->n);
	nt->n = 0;
	MemoryContextReset(nt->cxt);
	nt->ids = MemoryContextAlloc(nt->cxt, sizeof(Datum) * CAPTURE_TASK_CHUNK);
}

/* Rows of an INSERT (sign +1, new rows) or a DELETE (sign -1, old rows). */
static void
capture_rows(const CaptureTable *t, TupleDesc desc, Tuplestorestate *rows, int sign,
			 HistoryWriter *w)
{
	TupleTableSlot *slot = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
	DeltaLevel *level = t->source != SOURCE_NONE ? status_level() : NULL;
	NewTasks	nt = {NULL, NULL, 0};

	if (t->source == SOURCE_TASKS && sign > 0)
	{
		nt.cxt = AllocSetContextCreate(CurrentMemoryContext, "taskdb new tasks", ALLOCSET_DEFAULT_SIZES);
		nt.ids = MemoryContextAlloc(nt.cxt, sizeof(Datum) * CAPTURE_TASK_CHUNK);
	}
	tuplestore_rescan(rows);
	while (tuplestore_gettupleslot(rows, true, false, slot))
	{
		const pg_uuid_t *id = slot_uuid(slot, t->id_att);
		const pg_uuid_t *task = slot_uuid(slot, t->task_att);
		bool		status_null = true;
		Datum		status = t->status_att ? slot_getattr(slot, t->status_att, &status_null) : (Datum) 0;

		if (id == NULL)
			continue;			/* ids are NOT NULL */
		if (t->source == SOURCE_TASKS)
		{
			if (sign > 0)
			{
				pg_uuid_t  *copy = MemoryContextAlloc(nt.cxt, sizeof(pg_uuid_t));

				*copy = *id;
				status_task_inserted(copy);
				nt.ids[nt.n++] = UUIDPGetDatum(copy);
				if (nt.n == CAPTURE_TASK_CHUNK)
					new_tasks_flush(&nt);
			}
			else
				status_task_deleted(level, id);
		}
		else if (level != NULL && task != NULL && !status_null)
			status_fold(level, t->source, task, status, sign);

		if (w != NULL)
		{
			uint8		code = t->has_status ? history_status_code(status, status_null) : 0;

			history_writer_add(w, id, task, sign < 0 ? code : 0, sign > 0 ? code : 0, NULL);
		}
	}
	ExecDropSingleTupleTableSlot(slot);
	if (nt.cxt != NULL)
	{
		status_insert_summary_rows(nt.ids, nt.n);
		MemoryContextDelete(nt.cxt);
	}
}

/* Rows of an UPDATE: the two transition tables in step. */
static void
capture_update(const CaptureTable *t, TupleDesc desc, Tuplestorestate *oldrows,
			   Tuplestorestate *newrows, HistoryWriter *w)
{
	TupleTableSlot *oldslot = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
	TupleTableSlot *newslot = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
	DeltaLevel *level = (t->source == SOURCE_RUNS || t->source == SOURCE_GATES) ? status_level() : NULL;
	MemoryContext rowcxt = AllocSetContextCreate(CurrentMemoryContext, "taskdb capture row",
												 ALLOCSET_DEFAULT_SIZES);

	if (tuplestore_tuple_count(oldrows) != tuplestore_tuple_count(newrows))
		elog(ERROR, "taskdb: an UPDATE's transition tables hold " INT64_FORMAT " old and " INT64_FORMAT " new rows",
			 tuplestore_tuple_count(oldrows), tuplestore_tuple_count(newrows));
	tuplestore_rescan(oldrows);
	tuplestore_rescan(newrows);
	while (tuplestore_gettupleslot(newrows, true, false, newslot))
	{
		const pg_uuid_t *id;
		const pg_uuid_t *old_id;
		const pg_uuid_t *task;
		bool		old_null = true,
					new_null = true;
		Datum		old_status = (Datum) 0,
					new_status = (Datum) 0;

		if (!tuplestore_gettupleslot(oldrows, true, false, oldslot))
			elog(ERROR, "taskdb: an UPDATE's old transition table ended early");
		id = slot_uuid(newslot, t->id_att);
		old_id = slot_uuid(oldslot, t->id_att);
		if (id == NULL || old_id == NULL || memcmp(id, old_id, UUID_LEN) != 0)
			elog(ERROR, "taskdb: an UPDATE's old and new transition tables are not in the same order");
		task = slot_uuid(newslot, t->task_att);
		if (t->status_att)
		{
			old_status = slot_getattr(oldslot, t->status_att, &old_null);
			new_status = slot_getattr(newslot, t->status_att, &new_null);
		}

		/* ids and task_id are immutable: only a status change moves a counter */
		if (level != NULL && task != NULL && !old_null && !new_null &&
			!datum_image_eq(old_status, new_status, false, -1))
		{
			status_fold(level, t->source, task, old_status, -1);
			status_fold(level, t->source, task, new_status, +1);
		}

		if (w != NULL)
		{
			MemoryContext oldcxt = MemoryContextSwitchTo(rowcxt);
			StringInfoData changes;
			bool		changed;

			initStringInfo(&changes);
			changed = history_row_changes(oldslot, newslot, t->entity == HISTORY_ARTIFACT, &changes);
			MemoryContextSwitchTo(oldcxt);
			/* the writer copies what it keeps; the comparison's garbage goes with rowcxt */
			if (changed)
				history_writer_add(w, id, task,
								   t->has_status ? history_status_code(old_status, old_null) : 0,
								   t->has_status ? history_status_code(new_status, new_null) : 0,
								   changes.len > 0 ? changes.data : NULL);
			MemoryContextReset(rowcxt);
		}
	}
	ExecDropSingleTupleTableSlot(oldslot);
	ExecDropSingleTupleTableSlot(newslot);
	MemoryContextDelete(rowcxt);
}

Datum
capture(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata;
	const CaptureTable *t;
	TupleDesc	desc;
	char		op;
	HistoryWriter writer;
	HistoryWriter *w = NULL;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function taskdb.capture() was not called by the trigger manager"),
				 errhint("It is a trigger function installed by the taskdb extension; do not call it directly.")));
	trigdata = (TriggerData *) fcinfo->context;
	if (!TRIGGER_FIRED_AFTER(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_STATEMENT(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function taskdb.capture() must be fired AFTER ... FOR EACH STATEMENT")));
	t = capture_table(trigdata->tg_relation);
	desc = RelationGetDescr(trigdata->tg_relation);

	if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
		op = HISTORY_INSERT;
	else if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
		op = HISTORY_UPDATE;
	else if (TRIGGER_FIRED_BY_DELETE(trigdata->tg_event))
		op = HISTORY_DELETE;
	else
		op = HISTORY_TRUNCATE;

	if ((op == HISTORY_INSERT && trigdata->tg_newtable == NULL) ||
		(op == HISTORY_DELETE && trigdata->tg_oldtable == NULL) ||
		(op == HISTORY_UPDATE && (trigdata->tg_oldtable == NULL || trigdata->tg_newtable == NULL)))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function taskdb.capture() needs the statement's transition tables"),
				 errhint("Create the trigger with REFERENCING NEW TABLE AS new_rows (INSERT), OLD TABLE AS old_rows (DELETE), or both (UPDATE).")));

	/* Nothing happened: nothing to fold or record. */
	if ((op == HISTORY_INSERT && tuplestore_tuple_count(trigdata->tg_newtable) == 0) ||
		((op == HISTORY_UPDATE || op == HISTORY_DELETE) &&
		 tuplestore_tuple_count(trigdata->tg_oldtable) == 0))
		return PointerGetDatum(NULL);

	metrics_writer_begin();
	if (t->entity != HISTORY_REPORT)
		events_note_write();
	if (!taskdb_restoring)
	{
		history_writer_begin(&writer, t->entity, op, t->has_status);
		w = &writer;
	}
	switch (op)
	{
		case HISTORY_INSERT:
			capture_rows(t, desc, trigdata->tg_newtable, +1, w);
			break;
		case HISTORY_DELETE:
			capture_rows(t, desc, trigdata->tg_oldtable, -1, w);
			break;
		case HISTORY_UPDATE:
			capture_update(t, desc, trigdata->tg_oldtable, trigdata->tg_newtable, w);
			break;
		default:
			if (t->source == SOURCE_RUNS || t->source == SOURCE_GATES)
				status_truncated(t->source);
			if (w != NULL)
				history_writer_add(w, NULL, NULL, 0, 0, NULL);
			break;
	}
	if (w != NULL)
		history_writer_finish(w);
	return PointerGetDatum(NULL);
}
