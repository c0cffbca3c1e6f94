/*-------------------------------------------------------------------------
 *
 * history.c
 *	  The event history as stored in 1.1: taskdb.history.
 *
 * Layout
 * ------
 * One row of taskdb.history holds up to HISTORY_ROW_EVENTS events of one
 * statement, one table and one operation that belong to one task (or to no
 * task: reports, TRUNCATE): their entity ids in a uuid[], their old and new
 * statuses as two one-byte codes each in a bytea, and what each UPDATE
 * changed as one jsonb array (NULL when no event has changes).  The row's
 * id is taken from history_id_seq, which advances by HISTORY_ROW_EVENTS, and
 * the i-th event's id is id + i.  Storing events this way costs a tuple
 * header and an index entry per row instead of per event; the views
 * taskdb.events and taskdb.event_history show one row per event
 * (history_events() below decodes a row).
 *
 * Writing
 * -------
 * A HistoryWriter collects one statement's events into groups by task (a
 * hash table holding at most work_mem of groups, events and changes
 * before they are written), and
 * writes each group as soon as it is full, the rest when the statement's
 * events are all in.  Rows go straight to the heap HISTORY_ROW_BATCH at a
 * time (table_multi_insert, as COPY does) and then into the partition's
 * indexes; no SQL is planned or run.
 *
 * Partitions
 * ----------
 * taskdb.history is partitioned by occurred_at (the statement's start
 * time).  A statement's rows all go to the partition covering its start
 * time, or to the default partition when none does.  The writer finds that
 * partition in a per-backend copy of the partition bounds read from the
 * catalogs (pg_inherits, pg_class.relpartbound) and locks only that
 * partition, never the partitioned table: taskdb.archive_events() detaches
 * old partitions with an ACCESS EXCLUSIVE lock on taskdb.history, which
 * writers therefore never wait for.  The copy is thrown away by a relcache
 * callback whenever taskdb.history or one of its partitions changes (ATTACH
 * and DETACH send such invalidations), and the writer checks after locking
 * its partition that the copy it used is still valid.
 *
 * Eras
 * ----
 * xact_id is only comparable with a snapshot taken on the same server
 * (transaction id space).  Each row records the era it was written in:
 * 1 plus the rows of taskdb.eras, kept per backend until taskdb.eras
 * changes.  taskdb.post_restore() adds an era after a dump is restored.
 *
 * Written only by taskdb, append-only: refuse_history_change() refuses
 * every INSERT, UPDATE, DELETE and TRUNCATE through SQL, but the INSERTs of
 * a restore (taskdb.restoring on, which only a superuser can set) and the
 * moves of maintain_history() (history_move_default, with
 * history_maintaining set for exactly its statement).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_type.h"
#include "commands/sequence.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/parsenodes.h"
#include "storage/lmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/xid8.h"

#include "compat.h"
#include "taskdb.h"
#include "history.h"

PG_FUNCTION_INFO_V1(history_events);
PG_FUNCTION_INFO_V1(history_partitions);
PG_FUNCTION_INFO_V1(history_move_default);
PG_FUNCTION_INFO_V1(refuse_history_change);
PG_FUNCTION_INFO_V1(count_archived);
PG_FUNCTION_INFO_V1(eras_changed);

/* Settings (taskdb.c defines them). */
bool		taskdb_restoring = false;
char	   *taskdb_history_partition_interval = NULL;

/* Set only while history_move_default moves rows out of the default partition. */
static bool history_maintaining = false;

/* ------------------------------------------------------------------------
 * Status codes
 * ------------------------------------------------------------------------ */

/* Code 0 is "no status"; the others index this table. */
static const char *const status_names[] = {
	NULL, "pending", "in_progress", "completed", "failed", "cancelled", "retracted",
	"queued", "running", "pass", "fail", "skipped"
};
#define NUM_STATUS_CODES lengthof(status_names)

uint8
history_status_code(Datum status, bool isnull)
{
	text	   *t;
	int			len;
	int			i;

	if (isnull)
		return 0;
	t = DatumGetTextPP(status);
	len = VARSIZE_ANY_EXHDR(t);
	for (i = 1; i < NUM_STATUS_CODES; i++)
		if (strlen(status_names[i]) == len && memcmp(VARDATA_ANY(t), status_names[i], len) == 0)
			return (uint8) i;
	ereport(ERROR,
			(errcode(ERRCODE_CHECK_VIOLATION),
			 errmsg("status \"%s\" is not one taskdb knows", taskdb_quote_value(VARDATA_ANY(t), len)),
			 errdetail("The history records the statuses of tasks, runs and gates by the values their CHECK constraints allow."),
			 errhint("Restore the CHECK constraints of taskdb's tables; their values are listed in the README.")));
	pg_unreachable();
}

/* ------------------------------------------------------------------------
 * Partition routing
 * ------------------------------------------------------------------------ */

typedef struct HistoryRange
{
	TimestampTz lo;
	TimestampTz hi;
	Oid			relid;
} HistoryRange;

static struct
{
	bool		valid;
	Oid			parent;			/* taskdb.history */
	Oid			deflt;			/* its default partition, or InvalidOid */
	int			n;
	HistoryRange *ranges;		/* sorted by lo, disjoint */
	MemoryContext cxt;
}			route;

static void
route_invalidate(Datum arg, Oid relid)
{
	int			i;

	if (!route.valid)
		return;
	if (relid == InvalidOid || relid == route.parent || relid == route.deflt)
	{
		route.valid = false;
		return;
	}
	for (i = 0; i < route.n; i++)
		if (route.ranges[i].relid == relid)
		{
			route.valid = false;
			return;
		}
}

/* A range bound: the Const's value, or -infinity / infinity. */
static TimestampTz
bound_value(List *datums, bool upper)
{
	PartitionRangeDatum *prd = linitial_node(PartitionRangeDatum, datums);

	if (prd->kind == PARTITION_RANGE_DATUM_MINVALUE)
		return DT_NOBEGIN;
	if (prd->kind == PARTITION_RANGE_DATUM_MAXVALUE)
		return DT_NOEND;
	return DatumGetTimestampTz(castNode(Const, prd->value)->constvalue);
}

static int
history_range_cmp(const void *a, const void *b)
{
	TimestampTz x = ((const HistoryRange *) a)->lo;
	TimestampTz y = ((const HistoryRange *) b)->lo;

	return x < y ? -1 : x > y ? 1 : 0;
}

/*
 * The partitions of parent and their bounds, from the catalogs, without
 * locking parent.  *deflt gets the default partition.
 */
static HistoryRange *
read_partitions(Oid parent, int *n, Oid *deflt, MemoryContext cxt)
{
	List	   *children = find_inheritance_children(parent, NoLock);
	HistoryRange *ranges = MemoryContextAlloc(cxt, sizeof(HistoryRange) * (list_length(children) + 1));
	ListCell   *lc;

	*n = 0;
	*deflt = InvalidOid;
	foreach(lc, children)
	{
		Oid			child = lfirst_oid(lc);
		HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(child));
		bool		isnull;
		Datum		d;
		PartitionBoundSpec *spec;

		if (!HeapTupleIsValid(tup))
			continue;			/* dropped meanwhile */
		d = SysCacheGetAttr(RELOID, tup, Anum_pg_class_relpartbound, &isnull);
		if (!isnull)
		{
			spec = castNode(PartitionBoundSpec, stringToNode(TextDatumGetCString(d)));
			if (spec->is_default)
				*deflt = child;
			else if (spec->strategy == PARTITION_STRATEGY_RANGE)
			{
				ranges[*n].lo = bound_value(spec->lowerdatums, false);
				ranges[*n].hi = bound_value(spec->upperdatums, true);
				ranges[*n].relid = child;
				(*n)++;
			}
		}
		ReleaseSysCache(tup);
	}
	list_free(children);
	qsort(ranges, *n, sizeof(HistoryRange), history_range_cmp);
	return ranges;
}

static void
route_build(void)
{
	static bool callback_registered = false;

	if (!callback_registered)
	{
		CacheRegisterRelcacheCallback(route_invalidate, (Datum) 0);
		callback_registered = true;
	}
	if (route.cxt == NULL)
		route.cxt = AllocSetContextCreate(TopMemoryContext, "taskdb history partitions",
										  ALLOCSET_SMALL_SIZES);
	MemoryContextReset(route.cxt);
	route.parent = taskdb_relation_oid("history", false);
	/* valid from here: an invalidation arriving while we read clears it */
	route.valid = true;
	route.ranges = read_partitions(route.parent, &route.n, &route.deflt, route.cxt);
}

/*
 * The partition of taskdb.history that rows written at ts go to, opened
 * with ROW EXCLUSIVE lock.  Locking processes invalidation messages; if the
 * partition map changed meanwhile, look again.
 */
static Relation
route_open(TimestampTz ts)
{
	for (;;)
	{
		Oid			relid = InvalidOid;
		Relation	rel;
		int			lo = 0;
		int			hi;

		if (!route.valid || route.parent != taskdb_relation_oid("history", false))
			route_build();
		hi = route.n - 1;
		while (lo <= hi)
		{
			int			mid = (lo + hi) / 2;

			if (ts < route.ranges[mid].lo)
				hi = mid - 1;
			else if (ts >= route.ranges[mid].hi)
				lo = mid + 1;
			else
			{
				relid = route.ranges[mid].relid;
				break;
			}
		}
		if (!OidIsValid(relid))
			relid = route.deflt;
		if (!OidIsValid(relid))
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("no partition of taskdb.history covers %s", timestamptz_to_str(ts)),
					 errhint("Its default partition, taskdb.history_default, is missing; run ALTER EXTENSION taskdb UPDATE or recreate the extension.")));
		rel = try_table_open(relid, RowExclusiveLock);
		if (rel != NULL && route.valid)
			return rel;
		if (rel != NULL)
			table_close(rel, RowExclusiveLock);
		route.valid = false;
	}
}

/* ------------------------------------------------------------------------
 * Eras
 * ------------------------------------------------------------------------ */

static struct
{
	bool		valid;
	Oid			relid;			/* taskdb.eras */
	int32		era;
}			era_cache;

static void
era_invalidate(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == era_cache.relid)
		era_cache.valid = false;
}

/*
 * The current era: 1 plus the rows of taskdb.eras.  Read once and kept:
 * every change to taskdb.eras fires eras_changed(), which invalidates its
 * relcache entry, and with it this copy in every backend (the writer reads
 * it after its statement has taken its locks, which processes invalidations).
 */
int32
history_current_era(void)
{
	static bool callback_registered = false;
	Relation	rel;
	TableScanDesc scan;
	TupleTableSlot *slot;
	Oid			relid;
	int32		era = 1;
	int			att;

	/* dropping taskdb.eras (DROP EXTENSION) invalidates it as well */
	if (era_cache.valid)
		return era_cache.era;
	relid = taskdb_relation_oid("eras", false);
	if (!callback_registered)
	{
		CacheRegisterRelcacheCallback(era_invalidate, (Datum) 0);
		callback_registered = true;
	}
	rel = table_open(relid, AccessShareLock);
	era_cache.relid = relid;
	era_cache.valid = true;		/* an invalidation arriving while we read clears it */
	att = taskdb_attnum(RelationGetDescr(rel), "era");
	slot = table_slot_create(rel, NULL);
	scan = table_beginscan(rel, GetActiveSnapshot(), 0, NULL);
	while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		bool		isnull;
		int32		e = DatumGetInt32(slot_getattr(slot, att, &isnull));

		if (!isnull && e > era)
			era = e;
	}
	table_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	table_close(rel, AccessShareLock);
	era_cache.era = era;
	return era;
}

/* eras_changed(): AFTER ... FOR EACH STATEMENT on taskdb.eras. */
Datum
eras_changed(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function taskdb.eras_changed() was not called by the trigger manager")));
	trigdata = (TriggerData *) fcinfo->context;
	CacheInvalidateRelcache(trigdata->tg_relation);
	return PointerGetDatum(NULL);
}

/* ------------------------------------------------------------------------
 * The writer
 * ------------------------------------------------------------------------ */

typedef struct GroupKey
{
	pg_uuid_t	task;
	bool		has_task;
} GroupKey;

typedef struct HistoryGroup
{
	GroupKey	key;			/* hash key; padding zeroed */
	int			n;
	int			cap;
	pg_uuid_t  *ids;
	bool	   *id_null;
	uint8	   *statuses;		/* 2 per event */
	char	  **changes;		/* JSON text per event, or NULL */
	bool		any_changes;
} HistoryGroup;

/* Memory a group takes (its hash entry and allocation overheads), and each event in it. */
#define GROUP_BYTES		(sizeof(HistoryGroup) + 96)
#define EVENT_BYTES		(sizeof(pg_uuid_t) + sizeof(bool) + 2 + sizeof(char *))

static void writer_emit(HistoryWriter *w, HistoryGroup *g);

/* A partition written must have taskdb.history's columns in its order. */
static void
check_columns(Relation rel)
{
	static const char *const names[HISTORY_NATTS] = {
		"occurred_at", "xact_id", "id", "era", "entity", "operation",
		"task_id", "entity_ids", "statuses", "changes", "archived_at"
	};
	TupleDesc	desc = RelationGetDescr(rel);
	int			i;

	for (i = 0; i < HISTORY_NATTS; i++)
		if (i >= desc->natts || TupleDescAttr(desc, i)->attisdropped ||
			strcmp(NameStr(TupleDescAttr(desc, i)->attname), names[i]) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("partition \"%s\" of taskdb.history does not have the history's columns in order",
							RelationGetRelationName(rel)),
					 errhint("Partitions must be made by taskdb.maintain_history().")));
}

void
history_writer_begin(HistoryWriter *w, char entity, char operation, bool has_status)
{
	HASHCTL		ctl;

	memset(w, 0, sizeof(HistoryWriter));
	w->cxt = CurrentMemoryContext;
	w->entity = entity;
	w->operation = operation;
	w->has_status = has_status;
	w->occurred_at = GetCurrentStatementStartTimestamp();
	w->xact_id = FullTransactionIdGetDatum(GetTopFullTransactionId());
	w->era = history_current_era();
	w->seq = taskdb_relation_oid("history_id_seq", false);

	w->rel = route_open(w->occurred_at);
	check_columns(w->rel);
	w->estate = CreateExecutorState();
	w->rri = makeNode(ResultRelInfo);
	InitResultRelInfo(w->rri, w->rel, 1, NULL, 0);
	ExecOpenIndices(w->rri, false);
	w->batchcxt = AllocSetContextCreate(CurrentMemoryContext, "taskdb history batch",
										ALLOCSET_DEFAULT_SIZES);
	w->groupcxt = AllocSetContextCreate(CurrentMemoryContext, "taskdb history groups",
										ALLOCSET_DEFAULT_SIZES);
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(GroupKey);
	ctl.entrysize = sizeof(HistoryGroup);
	ctl.hcxt = w->groupcxt;
	w->groups = hash_create("taskdb history groups", 64, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	w->buffered_bytes = 0;
	w->buffer_limit = Max((Size) work_mem * 1024, HISTORY_BUFFER_MIN_BYTES);
}

/* Write the rows formed so far: heap, then every index of the partition. */
static void
writer_flush_rows(HistoryWriter *w)
{
	MemoryContext oldcxt;
	int			i;

	if (w->nrows == 0)
		return;
	/* a full batch: a bulk load, which gets a ring of buffers as COPY does */
	if (w->bistate == NULL && w->nrows == HISTORY_ROW_BATCH)
		w->bistate = GetBulkInsertState();
	oldcxt = MemoryContextSwitchTo(w->batchcxt);
	table_multi_insert(w->rel, w->slots, w->nrows, GetCurrentCommandId(true), 0, w->bistate);
	for (i = 0; i < w->nrows; i++)
	{
		List	   *recheck = taskdb_insert_index_tuples(w->rri, w->slots[i], w->estate);

		list_free(recheck);
		ResetPerTupleExprContext(w->estate);
	}
	MemoryContextSwitchTo(oldcxt);
	MemoryContextReset(w->batchcxt);
	w->nrows = 0;
	w->batch_bytes = 0;
}

/* Every buffered group becomes rows; the buffer starts empty again. */
static void
writer_flush_groups(HistoryWriter *w)
{
	HASH_SEQ_STATUS seq;
	HistoryGroup	   *g;

	hash_seq_init(&seq, w->groups);
	while ((g = hash_seq_search(&seq)) != NULL)
		if (g->n > 0)
			writer_emit(w, g);
	hash_destroy(w->groups);
	MemoryContextReset(w->groupcxt);
	{
		HASHCTL		ctl;

		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = sizeof(GroupKey);
		ctl.entrysize = sizeof(HistoryGroup);
		ctl.hcxt = w->groupcxt;
		w->groups = hash_create("taskdb history groups", 64, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	w->buffered_bytes = 0;
}

/*
 * Append one event.  entity_id NULL: a TRUNCATE.  task NULL: no task (a
 * report, a TRUNCATE, an artifact without one).  changes: JSON text of
 * what an UPDATE changed, or NULL; copied.
 */
void
history_writer_add(HistoryWriter *w, const pg_uuid_t *entity_id, const pg_uuid_t *task,
				   uint8 old_status, uint8 new_status, const char *changes)
{
	GroupKey	key;
	HistoryGroup	   *g;
	bool		found;

	memset(&key, 0, sizeof(key));
	if (task != NULL)
	{
		key.task = *task;
		key.has_task = true;
	}
	g = hash_search(w->groups, &key, HASH_ENTER, &found);
	if (!found)
	{
		MemoryContext oldcxt = MemoryContextSwitchTo(w->groupcxt);

		g->n = 0;
		g->cap = 4;
		g->ids = palloc(sizeof(pg_uuid_t) * g->cap);
		g->id_null = palloc(sizeof(bool) * g->cap);
		g->statuses = palloc(2 * g->cap);
		g->changes = palloc(sizeof(char *) * g->cap);
		g->any_changes = false;
		MemoryContextSwitchTo(oldcxt);
		w->buffered_bytes += GROUP_BYTES + g->cap * EVENT_BYTES;
	}
	if (g->n == g->cap)
	{
		w->buffered_bytes += g->cap * EVENT_BYTES;
		g->cap = Min(g->cap * 2, HISTORY_ROW_EVENTS);
		g->ids = repalloc(g->ids, sizeof(pg_uuid_t) * g->cap);
		g->id_null = repalloc(g->id_null, sizeof(bool) * g->cap);
		g->statuses = repalloc(g->statuses, 2 * g->cap);
		g->changes = repalloc(g->changes, sizeof(char *) * g->cap);
	}
	if (entity_id != NULL)
	{
		g->ids[g->n] = *entity_id;
		g->id_null[g->n] = false;
	}
	else
		g->id_null[g->n] = true;
	g->statuses[2 * g->n] = old_status;
	g->statuses[2 * g->n + 1] = new_status;
	g->changes[g->n] = changes ? MemoryContextStrdup(w->groupcxt, changes) : NULL;
	if (changes)
	{
		g->any_changes = true;
		w->buffered_bytes += strlen(changes) + 1;
	}
	g->n++;
	w->events++;

	if (g->n == HISTORY_ROW_EVENTS)
	{
		writer_emit(w, g);
		g->n = 0;
		g->any_changes = false;
	}
	if (w->buffered_bytes >= w->buffer_limit)
		writer_flush_groups(w);
}

/* One group's events as a row of taskdb.history. */
static void
writer_emit(HistoryWriter *w, HistoryGroup *g)
{
	TupleDesc	desc = RelationGetDescr(w->rel);
	TupleTableSlot *slot;
	Datum	   *v;
	bool	   *isnull;
	Datum	   *ids;
	int			dims[1];
	int			lbs[1] = {1};
	int			i;
	MemoryContext oldcxt = MemoryContextSwitchTo(w->cxt);

	/* slots live as long as the writer, whatever context the caller is in */
	if (w->nrows == w->nslots)
		w->slots[w->nslots++] = MakeSingleTupleTableSlot(desc, table_slot_callbacks(w->rel));
	slot = w->slots[w->nrows];
	MemoryContextSwitchTo(w->batchcxt);
	ExecClearTuple(slot);
	v = slot->tts_values;
	isnull = slot->tts_isnull;
	for (i = 0; i < desc->natts; i++)
		isnull[i] = true;

	ids = palloc(sizeof(Datum) * g->n);
	for (i = 0; i < g->n; i++)
		ids[i] = UUIDPGetDatum(&g->ids[i]);
	dims[0] = g->n;

#define SET(col, value) (v[(col) - 1] = (value), isnull[(col) - 1] = false)
	SET(HISTORY_COL_OCCURRED_AT, TimestampTzGetDatum(w->occurred_at));
	SET(HISTORY_COL_XACT_ID, w->xact_id);
	SET(HISTORY_COL_ID, Int64GetDatum(nextval_internal(w->seq, false)));
	SET(HISTORY_COL_ERA, Int32GetDatum(w->era));
	SET(HISTORY_COL_ENTITY, CharGetDatum(w->entity));
	SET(HISTORY_COL_OPERATION, CharGetDatum(w->operation));
	if (g->key.has_task)
		SET(HISTORY_COL_TASK_ID, UUIDPGetDatum(&g->key.task));
	SET(HISTORY_COL_ENTITY_IDS,
		PointerGetDatum(construct_md_array(ids, g->id_null, 1, dims, lbs,
										   UUIDOID, UUID_LEN, false, TYPALIGN_CHAR)));
	if (w->has_status)
	{
		bytea	   *b = palloc(VARHDRSZ + 2 * g->n);

		SET_VARSIZE(b, VARHDRSZ + 2 * g->n);
		memcpy(VARDATA(b), g->statuses, 2 * g->n);
		SET(HISTORY_COL_STATUSES, PointerGetDatum(b));
	}
	w->batch_bytes += g->n * (UUID_LEN + 2) + 64;
	if (g->any_changes)
	{
		StringInfoData buf;

		initStringInfo(&buf);
		appendStringInfoChar(&buf, '[');
		for (i = 0; i < g->n; i++)
		{
			if (i > 0)
				appendStringInfoString(&buf, ", ");
			appendStringInfoString(&buf, g->changes[i] ? g->changes[i] : "null");
		}
		appendStringInfoChar(&buf, ']');
		w->batch_bytes += buf.len;
		/* parse in a context of its own: the parser's garbage is several times the text */
		{
			MemoryContext parsecxt = AllocSetContextCreate(w->batchcxt, "taskdb history changes",
															ALLOCSET_DEFAULT_SIZES);
			Jsonb	   *parsed;
			Jsonb	   *copy;

			MemoryContextSwitchTo(parsecxt);
			parsed = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data)));
			MemoryContextSwitchTo(w->batchcxt);
			copy = palloc(VARSIZE(parsed));
			memcpy(copy, parsed, VARSIZE(parsed));
			SET(HISTORY_COL_CHANGES, JsonbPGetDatum(copy));
			/*
			 * Stored compressed in the row (lz4 where the server has it):
			 * TOAST would only compress rows of more than 2 kB, and the
			 * changes of a few updates are mostly repeated keys.
			 */
			if (VARSIZE(copy) >= HISTORY_COMPRESS_BYTES)
			{
				Datum		compressed = taskdb_compress_datum(PointerGetDatum(copy));

				if (DatumGetPointer(compressed) != NULL)
					SET(HISTORY_COL_CHANGES, compressed);
			}
			MemoryContextDelete(parsecxt);
			pfree(buf.data);
		}
	}
#undef SET
	ExecStoreVirtualTuple(slot);
	/* own the values: the arrays above live in batchcxt, reset after the flush */
	MemoryContextSwitchTo(w->cxt);
	ExecMaterializeSlot(slot);
	if (++w->nrows == HISTORY_ROW_BATCH || w->batch_bytes >= HISTORY_BATCH_BYTES)
		writer_flush_rows(w);
	MemoryContextSwitchTo(oldcxt);
}

void
history_writer_finish(HistoryWriter *w)
{
	int			i;

	writer_flush_groups(w);
	writer_flush_rows(w);
	for (i = 0; i < w->nslots; i++)
		ExecDropSingleTupleTableSlot(w->slots[i]);
	if (w->bistate)
		FreeBulkInsertState(w->bistate);
	ExecCloseIndices(w->rri);
	FreeExecutorState(w->estate);
	hash_destroy(w->groups);
	MemoryContextDelete(w->groupcxt);
	MemoryContextDelete(w->batchcxt);
	table_close(w->rel, NoLock);
}

/* ------------------------------------------------------------------------
 * Reading: one row's events
 * ------------------------------------------------------------------------ */

/*
 * history_events(entity_ids uuid[], statuses bytea, changes jsonb):
 * (ord, entity_id, old_status, new_status, changes) for each event of a
 * taskdb.history row, ord from 0.
 */
Datum
history_events(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ArrayType  *arr;
	Datum	   *ids;
	bool	   *nulls;
	int			n;
	bytea	   *statuses = PG_ARGISNULL(1) ? NULL : PG_GETARG_BYTEA_PP(1);
	Jsonb	   *changes = PG_ARGISNULL(2) ? NULL : PG_GETARG_JSONB_P(2);
	int			nstatus = statuses ? VARSIZE_ANY_EXHDR(statuses) / 2 : 0;
	const uint8 *codes = statuses ? (const uint8 *) VARDATA_ANY(statuses) : NULL;
	int			i;

	taskdb_init_materialized_srf(fcinfo);
	if (PG_ARGISNULL(0))
		return (Datum) 0;
	arr = PG_GETARG_ARRAYTYPE_P(0);
	if (ARR_ELEMTYPE(arr) != UUIDOID)
		elog(ERROR, "taskdb: history_events() takes a uuid[]");
	deconstruct_array(arr, UUIDOID, UUID_LEN, false, TYPALIGN_CHAR, &ids, &nulls, &n);
	for (i = 0; i < n; i++)
	{
		Datum		values[5];
		bool		isnull[5] = {false};

		values[0] = Int32GetDatum(i);
		values[1] = ids[i];
		isnull[1] = nulls[i];
		isnull[2] = isnull[3] = true;
		if (i < nstatus)
		{
			uint8		o = codes[2 * i];
			uint8		nw = codes[2 * i + 1];

			if (o > 0 && o < NUM_STATUS_CODES)
			{
				values[2] = CStringGetTextDatum(status_names[o]);
				isnull[2] = false;
			}
			if (nw > 0 && nw < NUM_STATUS_CODES)
			{
				values[3] = CStringGetTextDatum(status_names[nw]);
				isnull[3] = false;
			}
		}
		isnull[4] = true;
		if (changes != NULL && JB_ROOT_IS_ARRAY(changes))
		{
			JsonbValue *elem = getIthJsonbValueFromContainer(&changes->root, i);

			if (elem != NULL && elem->type != jbvNull)
			{
				values[4] = JsonbPGetDatum(JsonbValueToJsonb(elem));
				isnull[4] = false;
			}
		}
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, isnull);
	}
	return (Datum) 0;
}

/*
 * history_partitions(): (partition, parent, lower, upper) for every
 * partition of taskdb.history and taskdb.history_archive; the default
 * partition has NULL bounds.
 */
Datum
history_partitions(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	const char *parents[2] = {"history", "history_archive"};
	int			p;

	taskdb_init_materialized_srf(fcinfo);
	for (p = 0; p < 2; p++)
	{
		Oid			parent = taskdb_relation_oid(parents[p], false);
		int			n;
		Oid			deflt;
		HistoryRange *ranges;
		int			i;

		LockRelationOid(parent, AccessShareLock);
		ranges = read_partitions(parent, &n, &deflt, CurrentMemoryContext);
		for (i = 0; i < n; i++)
		{
			Datum		values[4];
			bool		isnull[4] = {false};

			values[0] = ObjectIdGetDatum(ranges[i].relid);
			values[1] = ObjectIdGetDatum(parent);
			values[2] = TimestampTzGetDatum(ranges[i].lo);
			values[3] = TimestampTzGetDatum(ranges[i].hi);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, isnull);
		}
		if (OidIsValid(deflt))
		{
			Datum		values[4];
			bool		isnull[4] = {false, false, true, true};

			values[0] = ObjectIdGetDatum(deflt);
			values[1] = ObjectIdGetDatum(parent);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, isnull);
		}
	}
	return (Datum) 0;
}

/* ------------------------------------------------------------------------
 * Maintenance and the guard
 * ------------------------------------------------------------------------ */

typedef struct MoveWork
{
	Oid			target;
	TimestampTz lo;
	TimestampTz hi;
	int64		moved;
} MoveWork;

static void
move_work(void *arg)
{
	MoveWork   *work = (MoveWork *) arg;
	Oid			argtypes[2] = {TIMESTAMPTZOID, TIMESTAMPTZOID};
	Datum		values[2];
	char	   *sql;
	int			rc;

	values[0] = TimestampTzGetDatum(work->lo);
	values[1] = TimestampTzGetDatum(work->hi);
	sql = psprintf("WITH moved AS ("
				   " DELETE FROM taskdb.history_default"
				   "  WHERE occurred_at OPERATOR(pg_catalog.>=) $1 AND occurred_at OPERATOR(pg_catalog.<) $2"
				   " RETURNING *)"
				   " INSERT INTO %s SELECT * FROM moved",
				   quote_qualified_identifier(get_namespace_name(get_rel_namespace(work->target)),
											  get_rel_name(work->target)));
	rc = SPI_execute_with_args(sql, 2, argtypes, values, NULL, false, 0);
	if (rc != SPI_OK_INSERT)
		elog(ERROR, "taskdb: moving history rows failed: %s", SPI_result_code_string(rc));
	work->moved = (int64) SPI_processed;
}

/*
 * history_move_default(target, lower, upper): moves the rows of
 * taskdb.history_default in [lower, upper) to target (a table about to
 * become the partition for that range); returns how many.
 */
Datum
history_move_default(PG_FUNCTION_ARGS)
{
	MoveWork	work;

	work.target = PG_GETARG_OID(0);
	work.lo = PG_GETARG_TIMESTAMPTZ(1);
	work.hi = PG_GETARG_TIMESTAMPTZ(2);
	work.moved = 0;
	if (get_rel_namespace(work.target) != get_namespace_oid(TASKDB_SCHEMA, false) ||
		get_rel_relkind(work.target) != RELKIND_RELATION)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("\"%s\" is not a table of schema taskdb", get_rel_name(work.target)),
				 errhint("Call taskdb.maintain_history(), which makes the partitions.")));
	history_maintaining = true;
	PG_TRY();
	{
		taskdb_run_as_owner("history", 0, move_work, &work);
	}
	PG_FINALLY();
	{
		history_maintaining = false;
	}
	PG_END_TRY();
	PG_RETURN_INT64(work.moved);
}

/*
 * refuse_history_change(): BEFORE INSERT OR UPDATE OR DELETE (row, cloned to
 * every partition) and BEFORE ... OR TRUNCATE (statement) on taskdb.history,
 * taskdb.history_archive and each partition.
 */
Datum
refuse_history_change(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata;
	const char *what;
	const char *name;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function taskdb.refuse_history_change() was not called by the trigger manager")));
	trigdata = (TriggerData *) fcinfo->context;
	name = RelationGetRelationName(trigdata->tg_relation);
	if (history_maintaining && !TRIGGER_FIRED_BY_TRUNCATE(trigdata->tg_event) &&
		!TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
		return TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) ? PointerGetDatum(trigdata->tg_trigtuple)
			: PointerGetDatum(NULL);
	if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
	{
		if (taskdb_restoring)
			return TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) ? PointerGetDatum(trigdata->tg_trigtuple)
				: PointerGetDatum(NULL);
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("INSERT on %s.%s is not allowed", TASKDB_SCHEMA, name),
				 errdetail("The history is written only by taskdb's triggers, as tasks, runs, gates, artifacts and reports change."),
				 errhint("To restore a dump, set taskdb.restoring = on for the database first and run SELECT taskdb.post_restore() after (see the README).")));
	}
	if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
		what = "UPDATE";
	else if (TRIGGER_FIRED_BY_DELETE(trigdata->tg_event))
		what = "DELETE";
	else
		what = "TRUNCATE";
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("%s on %s.%s is not allowed", what, TASKDB_SCHEMA, name),
			 errdetail("The event history is append-only: rows are written by taskdb's triggers and never changed."),
			 errhint("Old history leaves taskdb.history only through CALL taskdb.archive_events(), whole partitions at a time.")));
	PG_RETURN_NULL();
}

/* count_archived(events): adds to the archived-events metric. */
Datum
count_archived(PG_FUNCTION_ARGS)
{
	metrics_count_archived(PG_GETARG_INT64(0));
	PG_RETURN_VOID();
}
