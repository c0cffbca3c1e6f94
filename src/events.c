/*-------------------------------------------------------------------------
 *
 * events.c
 *	  The append-only event history, taskdb.events.
 *
 * Protocol
 * --------
 * One statement-level AFTER trigger per table and operation
 * (record_events) turns the statement's transition tables into events: one
 * event per row inserted, updated (only rows that actually changed) or
 * deleted, and one event per TRUNCATE.  Every event carries the top-level
 * transaction id (xid8), which is what provenance verification compares
 * with a recorded snapshot: "after the snapshot" means "not visible in it",
 * never "a later timestamp".
 *
 * Events are written without the executor, the way COPY writes rows: the
 * tuples formed from a statement's transition table go to the heap 1000 at
 * a time (table_multi_insert), then into every index of events.  One
 * statement costs one pass over its transition table, whatever its size;
 * there is no SQL to plan or run, so a single-row INSERT pays little more
 * than the heap and index insertions of its one event, and a 100k-row bulk
 * load pays for 100k tuples written as COPY would write them.  For an
 * UPDATE the old and new transition tables are read in step (the i-th old
 * row is the i-th new row's old version), every new row is compared column
 * by column with its old row without reading a large value that did not
 * change, and "changes" lists the columns other than status and updated_at
 * that differ, as {"column": {"old": ..., "new": ...}} with values as
 * to_jsonb() writes them.  A value above HISTORY_VALUE_LIMIT bytes, and
 * artifact content of any size, is never copied: that side is given as
 * "old_sha256"/"old_bytes" (or "new_...") instead.  Memory is bounded by one
 * row pair and one batch of events, whatever the statement's size.
 *
 * Writing events directly means: no permission check (taskdb writes its
 * own table, as the RI triggers write theirs), no trigger on events fires
 * for these inserts, and the column defaults are not evaluated -- the
 * values they would give (nextval of events_id_seq, the top-level xid8, the
 * statement's start time) are computed here.
 *
 * Written only by taskdb, append-only: a BEFORE INSERT OR UPDATE OR DELETE
 * OR TRUNCATE statement trigger on events (refuse_event_change, ENABLE
 * ALWAYS so session_replication_role cannot bypass it) refuses every write
 * through SQL, for the owner and superusers too.  The one exception is
 * archival (archive_event_blocks, with events_archiving set for exactly its
 * two statements): it may DELETE from events and INSERT into
 * events_archive, which is append-only in the same way.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/detoast.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/sequence.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "storage/block.h"
#include "lib/stringinfo.h"
#include "nodes/makefuncs.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/datum.h"
#include "utils/hsearch.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/tuplestore.h"
#include "utils/xid8.h"

#include "compat.h"
#include "taskdb.h"

PG_FUNCTION_INFO_V1(record_events);
PG_FUNCTION_INFO_V1(refuse_event_change);
PG_FUNCTION_INFO_V1(archive_event_blocks);

/* Set only while taskdb's archival function moves events out. */
bool		events_archiving = false;

/*
 * Whether the current transaction has written taskdb's data (tasks, runs,
 * gates, artifacts), for publish_report, which must not sign a state that
 * includes the transaction's own uncommitted writes.  written_subid is the
 * outermost open subtransaction holding such a write: a write at a deeper
 * level leaves it as is, a committed subtransaction hands it to its parent,
 * an aborted one takes it away (no write outside it is left, since it was
 * the outermost).  InvalidSubTransactionId: nothing written.
 */
static SubTransactionId written_subid = InvalidSubTransactionId;

/* Rows of events formed per table_multi_insert call. */
#define EVENT_BATCH 1000

typedef enum EventEntity
{
	ENTITY_TASK,
	ENTITY_RUN,
	ENTITY_GATE,
	ENTITY_ARTIFACT,
	ENTITY_REPORT,
	NUM_ENTITIES
} EventEntity;

typedef enum EventOp
{
	OP_INSERT,
	OP_UPDATE,
	OP_DELETE,
	OP_TRUNCATE,
	NUM_OPS
} EventOp;

/* Table name and the entity name events use for it. */
static const struct
{
	const char *table;
	const char *entity;
	bool		has_status;		/* a status column old/new_status report */
	bool		has_task_id;	/* a task_id column (tasks use their id) */
}			entities[NUM_ENTITIES] =
{
	[ENTITY_TASK] = {"tasks", "task", true, false},
	[ENTITY_RUN] = {"runs", "run", true, true},
	[ENTITY_GATE] = {"gates", "gate", true, true},
	[ENTITY_ARTIFACT] = {"artifacts", "artifact", false, true},
	[ENTITY_REPORT] = {"reports", "report", false, false},
};

static const char *const op_names[NUM_OPS] = {"insert", "update", "delete", "truncate"};

/* Attribute numbers (1-based) of taskdb.events' columns, looked up by name. */
typedef struct EventColumns
{
	int			id,
				xact_id,
				occurred_at,
				task_id,
				entity,
				entity_id,
				operation,
				old_status,
				new_status,
				changes;
} EventColumns;

/* Everything one statement's events are written with. */
typedef struct EventWriter
{
	Relation	events;
	Oid			seq;
	EventColumns col;
	EState	   *estate;
	ResultRelInfo *rri;
	BulkInsertState bistate;
	MemoryContext batchcxt;		/* what writing one batch allocates */
	TupleTableSlot *slots[EVENT_BATCH];
	int			nslots;			/* slots made so far */
	int			n;				/* slots filled, not yet written */
	Datum		xact_id;
	Datum		occurred_at;
	Datum		entity;
	Datum		operation;
} EventWriter;

static EventEntity
event_entity(Relation rel)
{
	const char *name = RelationGetRelationName(rel);
	int			i;

	if (RelationGetNamespace(rel) == get_namespace_oid(TASKDB_SCHEMA, true))
		for (i = 0; i < NUM_ENTITIES; i++)
			if (strcmp(name, entities[i].table) == 0)
				return (EventEntity) i;
	ereport(ERROR,
			(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
			 errmsg("function taskdb.record_events() fired on table \"%s\"", name),
			 errdetail("It records the history of taskdb.tasks, runs, gates, artifacts and reports only.")));
	pg_unreachable();
}

static int
event_column(TupleDesc desc, const char *name)
{
	int			i;

	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (!att->attisdropped && strcmp(NameStr(att->attname), name) == 0)
			return i + 1;
	}
	elog(ERROR, "taskdb: column \"%s\" of %s.events not found", name, TASKDB_SCHEMA);
	pg_unreachable();
}

static void
writer_open(EventWriter *w, EventEntity e, EventOp op, int64 rows)
{
	TupleDesc	desc;

	memset(w, 0, sizeof(EventWriter));
	w->events = table_open(taskdb_relation_oid("events", false), RowExclusiveLock);
	w->seq = taskdb_relation_oid("events_id_seq", false);
	desc = RelationGetDescr(w->events);
	w->col.id = event_column(desc, "id");
	w->col.xact_id = event_column(desc, "xact_id");
	w->col.occurred_at = event_column(desc, "occurred_at");
	w->col.task_id = event_column(desc, "task_id");
	w->col.entity = event_column(desc, "entity");
	w->col.entity_id = event_column(desc, "entity_id");
	w->col.operation = event_column(desc, "operation");
	w->col.old_status = event_column(desc, "old_status");
	w->col.new_status = event_column(desc, "new_status");
	w->col.changes = event_column(desc, "changes");

	w->estate = CreateExecutorState();
	w->rri = makeNode(ResultRelInfo);
	InitResultRelInfo(w->rri, w->events, 1, NULL, 0);
	ExecOpenIndices(w->rri, false);
	/* a ring of buffers for a bulk load, as COPY uses; the shared buffers for a few rows */
	w->bistate = rows >= EVENT_BATCH ? GetBulkInsertState() : NULL;
	w->batchcxt = AllocSetContextCreate(CurrentMemoryContext, "taskdb events batch",
										ALLOCSET_DEFAULT_SIZES);

	w->xact_id = FullTransactionIdGetDatum(GetTopFullTransactionId());
	w->occurred_at = TimestampTzGetDatum(GetCurrentStatementStartTimestamp());
	w->entity = CStringGetTextDatum(entities[e].entity);
	w->operation = CStringGetTextDatum(op_names[op]);
}

/*
 * Write the filled slots: heap first, then each row into every index.  What
 * that allocates (toasted copies of large events, index insertion state)
 * goes to batchcxt, reset after each batch, as COPY does: a statement of a
 * million rows holds one batch's worth at a time.
 */
static void
writer_flush(EventWriter *w)
{
	MemoryContext oldcxt;
	int			i;

	if (w->n == 0)
		return;
	oldcxt = MemoryContextSwitchTo(w->batchcxt);
	table_multi_insert(w->events, w->slots, w->n, GetCurrentCommandId(true), 0, w->bistate);
	for (i = 0; i < w->n; i++)
	{
		List	   *recheck = taskdb_insert_index_tuples(w->rri, w->slots[i], w->estate);

		list_free(recheck);
		ResetPerTupleExprContext(w->estate);
	}
	MemoryContextSwitchTo(oldcxt);
	MemoryContextReset(w->batchcxt);
	w->n = 0;
}

static void
writer_close(EventWriter *w)
{
	int			i;

	writer_flush(w);
	for (i = 0; i < w->nslots; i++)
		ExecDropSingleTupleTableSlot(w->slots[i]);
	if (w->bistate)
		FreeBulkInsertState(w->bistate);
	ExecCloseIndices(w->rri);
	FreeExecutorState(w->estate);
	MemoryContextDelete(w->batchcxt);
	table_close(w->events, NoLock);
}

/*
 * Append one event.  entity_id, task_id, the statuses and changes may be
 * NULL (nulls given as (Datum) 0 with the matching flag).
 */
static void
writer_add(EventWriter *w, Datum entity_id, bool entity_id_null,
		   Datum task_id, bool task_id_null,
		   Datum old_status, bool old_null, Datum new_status, bool new_null,
		   Datum changes, bool changes_null)
{
	TupleTableSlot *slot;
	Datum	   *v;
	bool	   *isnull;
	int			natts = RelationGetDescr(w->events)->natts;
	int			i;

	if (w->n == w->nslots)
		w->slots[w->nslots++] = MakeSingleTupleTableSlot(RelationGetDescr(w->events),
														 table_slot_callbacks(w->events));
	slot = w->slots[w->n];
	ExecClearTuple(slot);
	v = slot->tts_values;
	isnull = slot->tts_isnull;
	for (i = 0; i < natts; i++)
		isnull[i] = true;

#define SET(col, value, null) (v[(col) - 1] = (value), isnull[(col) - 1] = (null))
	SET(w->col.id, Int64GetDatum(nextval_internal(w->seq, false)), false);
	SET(w->col.xact_id, w->xact_id, false);
	SET(w->col.occurred_at, w->occurred_at, false);
	SET(w->col.entity, w->entity, false);
	SET(w->col.operation, w->operation, false);
	SET(w->col.entity_id, entity_id, entity_id_null);
	SET(w->col.task_id, task_id, task_id_null);
	SET(w->col.old_status, old_status, old_null);
	SET(w->col.new_status, new_status, new_null);
	SET(w->col.changes, changes, changes_null);
#undef SET

	ExecStoreVirtualTuple(slot);
	/* Own the values: the source slot they point into is about to move on. */
	ExecMaterializeSlot(slot);
	if (++w->n == EVENT_BATCH)
		writer_flush(w);
}

/*
 * Compare an updated row with its old version (changes.c).  Returns false
 * when no column differs (no event).  Otherwise sets *changes to the jsonb
 * of the columns other than status / updated_at that differ, or (Datum) 0
 * when there are none.
 */
static bool
row_changes(TupleTableSlot *oldslot, TupleTableSlot *newslot, EventEntity e, Datum *changes)
{
	StringInfoData buf;
	bool		any;

	initStringInfo(&buf);
	any = history_row_changes(oldslot, newslot, e == ENTITY_ARTIFACT, &buf);
	*changes = buf.len > 0 ? DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data)) : (Datum) 0;
	pfree(buf.data);
	return any;
}

/* The columns of a source table events read: id, task_id (0: none), status (0: none). */
typedef struct SourceColumns
{
	int			id;
	int			task_id;
	int			status;
} SourceColumns;

static SourceColumns
source_columns(TupleDesc desc, EventEntity e)
{
	SourceColumns c;

	c.id = taskdb_attnum(desc, "id");
	/* a task's events carry its own id as task_id */
	c.task_id = e == ENTITY_TASK ? c.id
		: entities[e].has_task_id ? taskdb_attnum(desc, "task_id") : 0;
	c.status = entities[e].has_status ? taskdb_attnum(desc, "status") : 0;
	return c;
}

/* Events of an INSERT (new rows) or a DELETE (old rows). */
static void
events_of_rows(EventWriter *w, Relation source, Tuplestorestate *rows,
			   EventEntity e, EventOp op)
{
	TupleDesc	desc = RelationGetDescr(source);
	SourceColumns src_col = source_columns(desc, e);
	int			id_att = src_col.id;
	int			task_att = src_col.task_id;
	int			status_att = src_col.status;
	TupleTableSlot *src = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);

	tuplestore_rescan(rows);
	while (tuplestore_gettupleslot(rows, true, false, src))
	{
		bool		id_null,
					task_null = true,
					status_null = true;
		Datum		id = slot_getattr(src, id_att, &id_null);
		Datum		task = task_att ? slot_getattr(src, task_att, &task_null) : (Datum) 0;
		/* varchar and text share their representation */
		Datum		status = status_att ? slot_getattr(src, status_att, &status_null) : (Datum) 0;

		if (op == OP_INSERT)
			writer_add(w, id, id_null, task, task_null,
					   (Datum) 0, true, status, status_null, (Datum) 0, true);
		else
			writer_add(w, id, id_null, task, task_null,
					   status, status_null, (Datum) 0, true, (Datum) 0, true);
	}
	ExecDropSingleTupleTableSlot(src);
}

/*
 * Events of an UPDATE.  The trigger manager appends each updated row's old
 * and new versions to the two transition tables together
 * (AfterTriggerSaveEvent), so the i-th old row is the i-th new row's old
 * version: one pass over both, in step, compares each pair, with memory for
 * one pair at a time whatever the statement's size.  Ids are immutable, so
 * a pair whose ids differ means that order was broken: an ERROR, never a
 * wrong history.
 */
static void
events_of_update(EventWriter *w, Relation source, Tuplestorestate *oldrows,
				 Tuplestorestate *newrows, EventEntity e)
{
	TupleDesc	desc = RelationGetDescr(source);
	SourceColumns src_col = source_columns(desc, e);
	int			id_att = src_col.id;
	int			task_att = src_col.task_id;
	int			status_att = src_col.status;
	TupleTableSlot *oldslot = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
	TupleTableSlot *newslot = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
	MemoryContext rowcxt = AllocSetContextCreate(CurrentMemoryContext, "taskdb events row",
												 ALLOCSET_DEFAULT_SIZES);

	if (tuplestore_tuple_count(oldrows) != tuplestore_tuple_count(newrows))
		elog(ERROR, "taskdb: an UPDATE's transition tables hold " INT64_FORMAT " old and " INT64_FORMAT " new rows",
			 tuplestore_tuple_count(oldrows), tuplestore_tuple_count(newrows));
	tuplestore_rescan(oldrows);
	tuplestore_rescan(newrows);
	while (tuplestore_gettupleslot(newrows, true, false, newslot))
	{
		bool		id_null,
					old_id_null,
					task_null = true,
					old_null = true,
					new_null = true;
		Datum		id,
					old_id,
					task,
					new_status,
					old_status = (Datum) 0;
		Datum		changes;
		bool		changed;
		MemoryContext oldcxt;

		if (!tuplestore_gettupleslot(oldrows, true, false, oldslot))
			elog(ERROR, "taskdb: an UPDATE's old transition table ended early");
		id = slot_getattr(newslot, id_att, &id_null);
		old_id = slot_getattr(oldslot, id_att, &old_id_null);
		if (id_null || old_id_null ||
			memcmp(DatumGetUUIDP(id), DatumGetUUIDP(old_id), UUID_LEN) != 0)
			elog(ERROR, "taskdb: an UPDATE's old and new transition tables are not in the same order");
		task = task_att ? slot_getattr(newslot, task_att, &task_null) : (Datum) 0;
		new_status = status_att ? slot_getattr(newslot, status_att, &new_null) : (Datum) 0;
		if (status_att)
			old_status = slot_getattr(oldslot, status_att, &old_null);

		/* the comparison's garbage goes to rowcxt; the slots must not */
		oldcxt = MemoryContextSwitchTo(rowcxt);
		changed = row_changes(oldslot, newslot, e, &changes);
		MemoryContextSwitchTo(oldcxt);
		if (changed)
			writer_add(w, id, false, task, task_null, old_status, old_null,
					   new_status, new_null, changes, changes == (Datum) 0);
		MemoryContextReset(rowcxt);
	}
	ExecDropSingleTupleTableSlot(oldslot);
	ExecDropSingleTupleTableSlot(newslot);
	MemoryContextDelete(rowcxt);
}

/*
 * record_events(): AFTER ... FOR EACH STATEMENT trigger on tasks, runs,
 * gates, artifacts and reports.  INSERT needs REFERENCING NEW TABLE, DELETE
 * OLD TABLE, UPDATE both; TRUNCATE none.
 */
Datum
record_events(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata;
	EventEntity e;
	EventOp		op;
	EventWriter w;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function taskdb.record_events() was not called by the trigger manager"),
				 errhint("It is a trigger function installed by the taskdb extension; do not call it directly.")));
	trigdata = (TriggerData *) fcinfo->context;
	if (!TRIGGER_FIRED_AFTER(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_STATEMENT(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function taskdb.record_events() must be fired AFTER ... FOR EACH STATEMENT")));

	e = event_entity(trigdata->tg_relation);
	if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
		op = OP_INSERT;
	else if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
		op = OP_UPDATE;
	else if (TRIGGER_FIRED_BY_DELETE(trigdata->tg_event))
		op = OP_DELETE;
	else
		op = OP_TRUNCATE;

	if ((op == OP_INSERT && trigdata->tg_newtable == NULL) ||
		(op == OP_DELETE && trigdata->tg_oldtable == NULL) ||
		(op == OP_UPDATE && (trigdata->tg_oldtable == NULL || trigdata->tg_newtable == NULL)))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function taskdb.record_events() needs the statement's transition tables"),
				 errhint("Create the trigger with REFERENCING NEW TABLE AS new_rows (INSERT), OLD TABLE AS old_rows (DELETE), or both (UPDATE).")));

	/* Nothing happened: no event (an UPDATE/DELETE that matched no row). */
	if ((op == OP_INSERT && tuplestore_tuple_count(trigdata->tg_newtable) == 0) ||
		((op == OP_UPDATE || op == OP_DELETE) &&
		 tuplestore_tuple_count(trigdata->tg_oldtable) == 0))
		return PointerGetDatum(NULL);

	metrics_writer_begin();
	if (e != ENTITY_REPORT)
		events_note_write();
	writer_open(&w, e, op,
				op == OP_INSERT ? tuplestore_tuple_count(trigdata->tg_newtable) :
				op == OP_TRUNCATE ? 1 : tuplestore_tuple_count(trigdata->tg_oldtable));
	switch (op)
	{
		case OP_INSERT:
			events_of_rows(&w, trigdata->tg_relation, trigdata->tg_newtable, e, op);
			break;
		case OP_DELETE:
			events_of_rows(&w, trigdata->tg_relation, trigdata->tg_oldtable, e, op);
			break;
		case OP_UPDATE:
			events_of_update(&w, trigdata->tg_relation, trigdata->tg_oldtable,
							 trigdata->tg_newtable, e);
			break;
		case OP_TRUNCATE:
			writer_add(&w, (Datum) 0, true, (Datum) 0, true,
					   (Datum) 0, true, (Datum) 0, true, (Datum) 0, true);
			break;
		default:
			elog(ERROR, "taskdb: unknown event operation %d", (int) op);
	}
	writer_close(&w);

	return PointerGetDatum(NULL);
}

/* The current (sub)transaction wrote tasks, runs, gates or artifacts. */
void
events_note_write(void)
{
	if (written_subid == InvalidSubTransactionId)
		written_subid = GetCurrentSubTransactionId();
}

bool
events_xact_wrote_data(void)
{
	return written_subid != InvalidSubTransactionId;
}

static void
events_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PREPARE:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PARALLEL_ABORT:
			written_subid = InvalidSubTransactionId;
			break;
		default:
			break;
	}
}

static void
events_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						SubTransactionId parentSubid, void *arg)
{
	if (written_subid != mySubid)
		return;
	if (event == SUBXACT_EVENT_COMMIT_SUB)
		written_subid = parentSubid;
	else if (event == SUBXACT_EVENT_ABORT_SUB)
		written_subid = InvalidSubTransactionId;
}

void
events_register_callbacks(void)
{
	RegisterXactCallback(events_xact_callback, NULL);
	RegisterSubXactCallback(events_subxact_callback, NULL);
}

/*
 * refuse_event_change(): BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ...
 * FOR EACH STATEMENT on taskdb.events.  Only taskdb writes the history (and
 * not through SQL), and nobody changes it.
 */
Datum
refuse_event_change(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata;
	const char *what;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function taskdb.refuse_event_change() was not called by the trigger manager")));
	trigdata = (TriggerData *) fcinfo->context;
	/* archival deletes from events and inserts into events_archive, nothing else */
	if (events_archiving &&
		((TRIGGER_FIRED_BY_DELETE(trigdata->tg_event) &&
		  strcmp(RelationGetRelationName(trigdata->tg_relation), "events") == 0) ||
		 (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event) &&
		  strcmp(RelationGetRelationName(trigdata->tg_relation), "events_archive") == 0)))
		return PointerGetDatum(NULL);
	if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("INSERT on %s.%s is not allowed", TASKDB_SCHEMA,
						RelationGetRelationName(trigdata->tg_relation)),
				 errdetail("Events are written only by taskdb's triggers, as tasks, runs, gates, artifacts and reports change."),
				 errhint("Change those tables instead; their history is recorded automatically.")));
	if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
		what = "UPDATE";
	else if (TRIGGER_FIRED_BY_DELETE(trigdata->tg_event))
		what = "DELETE";
	else
		what = "TRUNCATE";
	if (strcmp(RelationGetRelationName(trigdata->tg_relation), "events_archive") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("%s on %s.events_archive is not allowed", what, TASKDB_SCHEMA),
				 errdetail("Archived events are kept as they were: the archive is append-only."),
				 errhint("Provenance verification reads the archive to explain old changes.")));
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("%s on %s.%s is not allowed", what, TASKDB_SCHEMA,
					RelationGetRelationName(trigdata->tg_relation)),
			 errdetail("The event history is append-only: rows are written by taskdb's triggers and never changed."),
			 errhint("Old events leave the table only through CALL taskdb.archive_events().")));
	PG_RETURN_NULL();
}

/*
 * archive_event_blocks(cutoff, first_block, blocks): one batch of
 * taskdb.archive_events().  Moves the events older than cutoff that are
 * stored in blocks [first_block, first_block + blocks) of taskdb.events to
 * taskdb.events_archive, in one statement (a TID range scan: events are
 * appended, so old events sit in the first blocks and no index is needed).
 * Returns how many it moved.  Runs
 * as the owner of events with events_archiving set for these statements
 * only, so the append-only guard lets exactly them through.
 */
/* One batch of archive_event_blocks: cutoff and the block range, in; how many moved, out. */
typedef struct ArchiveWork
{
	TimestampTz cutoff;
	int64		first;
	int32		blocks;
	int64		moved;
} ArchiveWork;

static void
archive_work(void *arg)
{
	ArchiveWork *work = (ArchiveWork *) arg;
	Oid			argtypes[3] = {TIMESTAMPTZOID, TEXTOID, TEXTOID};
	Datum		values[3];
	int			rc;

	values[0] = TimestampTzGetDatum(work->cutoff);
	values[1] = CStringGetTextDatum(psprintf("(" INT64_FORMAT ",0)", work->first));
	values[2] = CStringGetTextDatum(psprintf("(" INT64_FORMAT ",0)", work->first + work->blocks));
	rc = SPI_execute_with_args("WITH moved AS ("
							   " DELETE FROM taskdb.events"
							   "  WHERE ctid OPERATOR(pg_catalog.>=) $2::pg_catalog.tid"
							   "    AND ctid OPERATOR(pg_catalog.<) $3::pg_catalog.tid"
							   "    AND occurred_at OPERATOR(pg_catalog.<) $1"
							   " RETURNING *)"
							   " INSERT INTO taskdb.events_archive"
							   " SELECT moved.*, pg_catalog.now() FROM moved",
							   3, argtypes, values, NULL, false, 0);
	if (rc != SPI_OK_INSERT)
		elog(ERROR, "taskdb: archiving events failed: %s", SPI_result_code_string(rc));
	work->moved = (int64) SPI_processed;
}

Datum
archive_event_blocks(PG_FUNCTION_ARGS)
{
	ArchiveWork work;

	work.cutoff = PG_GETARG_TIMESTAMPTZ(0);
	work.first = PG_GETARG_INT64(1);
	work.blocks = PG_GETARG_INT32(2);
	work.moved = 0;
	if (work.first < 0 || work.blocks < 1 || work.first + work.blocks > (int64) MaxBlockNumber + 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("block range [" INT64_FORMAT ", " INT64_FORMAT ") is not a range of table blocks",
						work.first, work.first + work.blocks),
				 errhint("Call taskdb.archive_events(), which chooses the ranges.")));

	/* the append-only guard lets exactly these statements through */
	events_archiving = true;
	PG_TRY();
	{
		taskdb_run_as_owner("events", 0, archive_work, &work);
	}
	PG_FINALLY();
	{
		events_archiving = false;
	}
	PG_END_TRY();

	metrics_count_archived(work.moved);
	PG_RETURN_INT64(work.moved);
}
