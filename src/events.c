/*-------------------------------------------------------------------------
 *
 * events.c
 *	  The append-only event history, taskdb.events.
 *
 * Protocol
 * --------
 * One statement-level AFTER trigger per table and operation
 * (record_events) turns the statement's transition table into events with
 * ONE INSERT ... SELECT, whatever the number of rows: one event per row
 * inserted, updated (only rows that actually changed) or deleted, and one
 * event per TRUNCATE.  Every event carries the top-level transaction id
 * (xid8), which is what provenance verification compares with a recorded
 * snapshot: "after the snapshot" means "not visible in it", never "a later
 * timestamp".
 *
 * Inserts and deletes -- nearly all events, and all of a bulk load's --
 * are written without the executor, the way COPY writes rows: tuples formed
 * from the transition table go to the heap 1000 at a time
 * (table_multi_insert) and then into every index of events.  That is what
 * keeps a 100k-row INSERT ... SELECT close to the cost of the same INSERT
 * without history.  Updates need the per-column comparison that produces
 * "changes" and go through SQL: one INSERT ... SELECT per statement, as the
 * owner of taskdb.events (applications may read the history, not write it),
 * through a plan prepared once per backend for each table and kept; the
 * transition tables are bound to it at each call with
 * SPI_register_trigger_data, as PL/pgSQL does.  TRUNCATE is one row.
 *
 * Writing events directly means: no permission check (taskdb writes its
 * own table, as the RI triggers write theirs), no triggers on events fire
 * for inserts (it has none; the append-only guard is for UPDATE, DELETE and
 * TRUNCATE), and the column defaults are not evaluated -- the values they
 * would give (nextval of events_id_seq, the top-level xid8, the statement's
 * start time) are computed here.
 *
 * Written only by taskdb, append-only: a BEFORE INSERT OR UPDATE OR DELETE
 * OR TRUNCATE statement trigger on events (refuse_event_change, ENABLE
 * ALWAYS so session_replication_role cannot bypass it) refuses every write,
 * for the owner and superusers too, except record_events' own INSERT
 * (events_writing; the direct path fires no trigger) and the statements of
 * taskdb's archival function (events_archiving).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "commands/sequence.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "nodes/makefuncs.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/xid8.h"
#include "utils/tuplestore.h"

#include "compat.h"
#include "taskdb.h"

PG_FUNCTION_INFO_V1(record_events);
PG_FUNCTION_INFO_V1(refuse_event_change);

/* Set only while taskdb's archival function moves events out. */
bool		events_archiving = false;

/* Set only while record_events runs its own INSERT through SQL. */
static bool events_writing = false;

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

/* Kept plans, one per (entity, operation), and the table each was made for. */
static SPIPlanPtr event_plans[NUM_ENTITIES][NUM_OPS];
static Oid	event_plan_relids[NUM_ENTITIES][NUM_OPS];

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

/*
 * The INSERT ... SELECT for one entity and operation.  For UPDATE the old
 * and new transition rows are joined on the (immutable) id; rows that did
 * not change are skipped, and "changes" holds the columns other than status
 * and updated_at that did, as {"column": {"old": ..., "new": ...}}.  Artifact
 * content is never copied into the history: a changed content shows as
 * {"content": "changed"}.
 */
static char *
event_sql(EventEntity e, EventOp op)
{
	StringInfoData sql;
	const char *entity = entities[e].entity;
	const char *opname = op_names[op];
	const char *r = (op == OP_UPDATE) ? "n" : "r";
	char		task_expr[32];
	char		status_expr[32];

	if (e == ENTITY_TASK)
		snprintf(task_expr, sizeof(task_expr), "%s.id", r);
	else if (entities[e].has_task_id)
		snprintf(task_expr, sizeof(task_expr), "%s.task_id", r);
	else
		snprintf(task_expr, sizeof(task_expr), "NULL::pg_catalog.uuid");

	initStringInfo(&sql);
	appendStringInfoString(&sql,
						   "INSERT INTO taskdb.events"
						   " (task_id, entity, entity_id, operation, old_status, new_status, changes) ");
	switch (op)
	{
		case OP_INSERT:
		case OP_DELETE:
			if (entities[e].has_status)
				snprintf(status_expr, sizeof(status_expr), "r.status::pg_catalog.text");
			else
				snprintf(status_expr, sizeof(status_expr), "NULL::pg_catalog.text");
			appendStringInfo(&sql,
							 "SELECT %s, '%s', r.id, '%s', %s, %s, NULL FROM %s r",
							 task_expr, entity, opname,
							 op == OP_DELETE ? status_expr : "NULL",
							 op == OP_INSERT ? status_expr : "NULL",
							 op == OP_INSERT ? "new_rows" : "old_rows");
			break;
		case OP_UPDATE:
			appendStringInfo(&sql,
							 "SELECT %s, '%s', n.id, 'update', %s, %s, c.changes"
							 " FROM old_rows o JOIN new_rows n ON o.id OPERATOR(pg_catalog.=) n.id,"
							 " LATERAL (SELECT NULLIF(COALESCE(pg_catalog.jsonb_object_agg(nj.key,"
							 "   pg_catalog.jsonb_build_object('old', oj.value, 'new', nj.value)),"
							 "   '{}'::pg_catalog.jsonb) %s, '{}'::pg_catalog.jsonb) AS changes"
							 "   FROM pg_catalog.jsonb_each(pg_catalog.to_jsonb(n) %s) nj"
							 "   JOIN pg_catalog.jsonb_each(pg_catalog.to_jsonb(o)) oj"
							 "     ON oj.key OPERATOR(pg_catalog.=) nj.key"
							 "   WHERE nj.value IS DISTINCT FROM oj.value) c"
							 " WHERE o.* IS DISTINCT FROM n.*",
							 task_expr, entity,
							 entities[e].has_status ? "o.status::pg_catalog.text" : "NULL",
							 entities[e].has_status ? "n.status::pg_catalog.text" : "NULL",
							 e == ENTITY_ARTIFACT
							 ? "OPERATOR(pg_catalog.||) CASE WHEN o.content IS DISTINCT FROM n.content"
							 " THEN '{\"content\": \"changed\"}'::pg_catalog.jsonb ELSE '{}' END"
							 : "",
							 e == ENTITY_ARTIFACT
							 ? "OPERATOR(pg_catalog.-) '{status,updated_at,content}'::pg_catalog.text[]"
							 : "OPERATOR(pg_catalog.-) '{status,updated_at}'::pg_catalog.text[]");
			break;
		case OP_TRUNCATE:
			appendStringInfo(&sql, "VALUES (NULL::pg_catalog.uuid, '%s', NULL::pg_catalog.uuid,"
							 " 'truncate', NULL, NULL, NULL::pg_catalog.jsonb)", entity);
			break;
		default:
			elog(ERROR, "taskdb: unknown event operation %d", (int) op);
	}
	return sql.data;
}


/* Rows of events formed per table_multi_insert call. */
#define EVENT_BATCH 1000

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

static int
source_column(TupleDesc desc, const char *name)
{
	int			attnum = SPI_fnumber(desc, name);

	if (attnum <= 0)
		elog(ERROR, "taskdb: column \"%s\" not found", name);
	return attnum;
}

/* Put the batch into the heap, then each row into every index of events. */
static void
events_flush_batch(Relation events, ResultRelInfo *rri, EState *estate,
				   TupleTableSlot **slots, int n, BulkInsertState bistate)
{
	int			i;

	if (n == 0)
		return;
	table_multi_insert(events, slots, n, GetCurrentCommandId(true), 0, bistate);
	for (i = 0; i < n; i++)
	{
		List	   *recheck;

		recheck = taskdb_insert_index_tuples(rri, slots[i], estate);
		list_free(recheck);
		ResetPerTupleExprContext(estate);
	}
}

/*
 * One event per row of rows (INSERT: new_status; DELETE: old_status), or a
 * single TRUNCATE event when rows is NULL, written straight to the table.
 */
static void
events_write_direct(Relation source, Tuplestorestate *rows, EventEntity e, EventOp op)
{
	Relation	events = table_open(taskdb_relation_oid("events", false), RowExclusiveLock);
	Oid			seq = taskdb_relation_oid("events_id_seq", false);
	TupleDesc	edesc = RelationGetDescr(events);
	TupleDesc	sdesc = RelationGetDescr(source);
	EventColumns col;
	EState	   *estate = CreateExecutorState();
	ResultRelInfo *rri = makeNode(ResultRelInfo);
	BulkInsertState bistate = GetBulkInsertState();
	TupleTableSlot *slots[EVENT_BATCH];
	TupleTableSlot *src = NULL;
	Datum		xact_id = FullTransactionIdGetDatum(GetTopFullTransactionId());
	Datum		occurred_at = TimestampTzGetDatum(GetCurrentStatementStartTimestamp());
	Datum		entity = CStringGetTextDatum(entities[e].entity);
	Datum		operation = CStringGetTextDatum(op_names[op]);
	int			id_att = 0,
				task_att = 0,
				status_att = 0;
	int			nslots = 0;
	int			n = 0;
	int			i;

	col.id = event_column(edesc, "id");
	col.xact_id = event_column(edesc, "xact_id");
	col.occurred_at = event_column(edesc, "occurred_at");
	col.task_id = event_column(edesc, "task_id");
	col.entity = event_column(edesc, "entity");
	col.entity_id = event_column(edesc, "entity_id");
	col.operation = event_column(edesc, "operation");
	col.old_status = event_column(edesc, "old_status");
	col.new_status = event_column(edesc, "new_status");
	col.changes = event_column(edesc, "changes");

	InitResultRelInfo(rri, events, 1, NULL, 0);
	ExecOpenIndices(rri, false);

	if (rows != NULL)
	{
		id_att = source_column(sdesc, "id");
		task_att = e == ENTITY_TASK ? id_att
			: entities[e].has_task_id ? source_column(sdesc, "task_id") : 0;
		status_att = entities[e].has_status ? source_column(sdesc, "status") : 0;
		src = MakeSingleTupleTableSlot(sdesc, &TTSOpsMinimalTuple);
		tuplestore_rescan(rows);
	}

	for (;;)
	{
		TupleTableSlot *slot;
		Datum	   *values;
		bool	   *nulls;
		bool		isnull;

		if (rows != NULL)
		{
			if (!tuplestore_gettupleslot(rows, true, false, src))
				break;
		}
		else if (n == 1)
			break;

		if (n == nslots)
		{
			/* fewer slots than EVENT_BATCH are ever made for small statements */
			slots[nslots++] = MakeSingleTupleTableSlot(edesc, table_slot_callbacks(events));
		}
		slot = slots[n];
		ExecClearTuple(slot);
		values = slot->tts_values;
		nulls = slot->tts_isnull;
		for (i = 0; i < edesc->natts; i++)
			nulls[i] = true;

		values[col.id - 1] = Int64GetDatum(nextval_internal(seq, false));
		nulls[col.id - 1] = false;
		values[col.xact_id - 1] = xact_id;
		nulls[col.xact_id - 1] = false;
		values[col.occurred_at - 1] = occurred_at;
		nulls[col.occurred_at - 1] = false;
		values[col.entity - 1] = entity;
		nulls[col.entity - 1] = false;
		values[col.operation - 1] = operation;
		nulls[col.operation - 1] = false;
		if (rows != NULL)
		{
			values[col.entity_id - 1] = slot_getattr(src, id_att, &nulls[col.entity_id - 1]);
			if (task_att)
				values[col.task_id - 1] = slot_getattr(src, task_att, &nulls[col.task_id - 1]);
			if (status_att)
			{
				int			dst = op == OP_INSERT ? col.new_status : col.old_status;
				Datum		status = slot_getattr(src, status_att, &isnull);

				/* varchar and text share their representation */
				nulls[dst - 1] = isnull;
				values[dst - 1] = status;
			}
		}
		ExecStoreVirtualTuple(slot);
		/* Own the source's values: the next gettupleslot frees them. */
		ExecMaterializeSlot(slot);
		n++;

		if (n == EVENT_BATCH)
		{
			events_flush_batch(events, rri, estate, slots, n, bistate);
			n = 0;
		}
	}
	events_flush_batch(events, rri, estate, slots, n, bistate);

	for (i = 0; i < nslots; i++)
		ExecDropSingleTupleTableSlot(slots[i]);
	if (src)
		ExecDropSingleTupleTableSlot(src);
	FreeBulkInsertState(bistate);
	ExecCloseIndices(rri);
	FreeExecutorState(estate);
	table_close(events, NoLock);
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
	Oid			relid;
	OwnerSwitch st;

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
		(op != OP_INSERT && op != OP_TRUNCATE &&
		 tuplestore_tuple_count(trigdata->tg_oldtable) == 0))
		return PointerGetDatum(NULL);

	if (op != OP_UPDATE)
	{
		events_write_direct(trigdata->tg_relation,
							op == OP_INSERT ? trigdata->tg_newtable :
							op == OP_DELETE ? trigdata->tg_oldtable : NULL,
							e, op);
		return PointerGetDatum(NULL);
	}

	relid = RelationGetRelid(trigdata->tg_relation);
	taskdb_become_owner("events", &st, false);
	PG_TRY();
	{
		int			rc;

		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "taskdb: SPI_connect failed");
		if (op != OP_TRUNCATE && SPI_register_trigger_data(trigdata) != SPI_OK_TD_REGISTER)
			elog(ERROR, "taskdb: SPI_register_trigger_data failed");
		/* Re-prepare after DROP/CREATE EXTENSION in this backend or ALTER TABLE. */
		if (event_plans[e][op] != NULL &&
			(event_plan_relids[e][op] != relid || !SPI_plan_is_valid(event_plans[e][op])))
		{
			SPI_freeplan(event_plans[e][op]);
			event_plans[e][op] = NULL;
		}
		if (event_plans[e][op] == NULL)
		{
			char	   *sql = event_sql(e, op);

			taskdb_keep_plan(&event_plans[e][op], sql, 0, NULL);
			event_plan_relids[e][op] = relid;
			pfree(sql);
		}
		events_writing = true;
		rc = SPI_execute_plan(event_plans[e][op], NULL, NULL, false, 0);
		events_writing = false;
		if (rc != SPI_OK_INSERT)
			elog(ERROR, "taskdb: recording events failed: %s", SPI_result_code_string(rc));
		SPI_finish();
	}
	PG_FINALLY();
	{
		events_writing = false;
		taskdb_restore_user(&st);
	}
	PG_END_TRY();

	return PointerGetDatum(NULL);
}

/*
 * refuse_event_change(): BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ...
 * FOR EACH STATEMENT on taskdb.events.  Only taskdb writes the history, and
 * nobody changes it.
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
	if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
	{
		if (events_writing)
			return PointerGetDatum(NULL);
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("INSERT on %s.%s is not allowed", TASKDB_SCHEMA,
						RelationGetRelationName(trigdata->tg_relation)),
				 errdetail("Events are written only by taskdb's triggers, as tasks, runs, gates, artifacts and reports change."),
				 errhint("Change those tables instead; their history is recorded automatically.")));
	}
	if (events_archiving)
		return PointerGetDatum(NULL);

	if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
		what = "UPDATE";
	else if (TRIGGER_FIRED_BY_DELETE(trigdata->tg_event))
		what = "DELETE";
	else
		what = "TRUNCATE";
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("%s on %s.%s is not allowed", what, TASKDB_SCHEMA,
					RelationGetRelationName(trigdata->tg_relation)),
			 errdetail("The event history is append-only: rows are written by taskdb's triggers and never changed."),
			 errhint("Old events leave the table only through taskdb's archival function.")));
	PG_RETURN_NULL();
}
