/*-------------------------------------------------------------------------
 *
 * status.c
 *	  Incremental maintenance of taskdb.task_status (status_derived).
 *
 * Protocol
 * --------
 * Statement-level AFTER triggers on runs and gates (one per event, since a
 * trigger with transition tables may have only one) read the statement's
 * transition tables and fold every row into per-task counter deltas held in
 * transaction-local memory.  Nothing touches task_status while the
 * transaction runs, so writers that do not conflict on base rows never wait
 * for each other on the summary.
 *
 * At commit (XACT_EVENT_PRE_COMMIT, or PRE_PREPARE for two-phase commit) the
 * deltas are applied once: one UPDATE per touched task, in ascending task_id
 * order, through plans prepared once per backend.  Because every transaction
 * locks summary rows in the same order and only during its commit, two
 * writers can wait for each other on the summary but never deadlock on it.
 * The flush runs as the owner of task_status (applications cannot write it)
 * and at READ COMMITTED whatever the transaction's level: counter deltas
 * commute, so a concurrent flush to the same row is not a serialization
 * conflict, and EvalPlanQual re-applies our increment to the newest version.
 *
 * Subtransactions.  Deltas live in a stack of levels, one per subtransaction
 * that recorded any; a level is created lazily, merged into its parent when
 * the subtransaction commits and thrown away when it aborts, so ROLLBACK TO
 * and exceptions caught in PL/pgSQL take their deltas with them.
 *
 * TRUNCATE of runs (or gates) zeroes the counters it feeds in task_status at
 * once (the table is exclusively locked, no concurrent writer can hold a
 * delta for it) and marks the level "reset": deltas recorded at outer levels
 * before the TRUNCATE no longer count.  Rolling back the subtransaction
 * discards the mark together with the UPDATE that zeroed the rows.
 *
 * Rows of tasks inserted by the transaction get their summary row at once
 * (tasks_after_insert), so a task and its summary appear together; deleting
 * a task deletes its summary row through the foreign key's cascade, and the
 * flush then finds nothing to update for it.
 *
 * All memory lives under TopTransactionContext and goes away with the
 * transaction; the pointers below are reset by the end-of-transaction
 * callback.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/relscan.h"
#include "executor/executor.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/tuplestore.h"
#include "utils/uuid.h"

#include "compat.h"
#include "taskdb.h"

typedef struct DeltaEntry
{
	pg_uuid_t	task_id;		/* hash key */
	StatusCounters d;
	bool		deleted;		/* the task was deleted at this level (after any birth) */
	bool		born;			/* re-inserted here after a delete: outer deltas void */
} DeltaEntry;

struct DeltaLevel
{
	SubTransactionId subid;		/* subtransaction that owns these deltas */
	MemoryContext cxt;			/* holds this struct and its hash table */
	HTAB	   *deltas;			/* task_id -> DeltaEntry */
	Oid			status_relid;	/* task_status these deltas are for */
	bool		reset_runs;		/* runs truncated here: outer run deltas void */
	bool		reset_gates;	/* gates truncated here: outer gate deltas void */
	struct DeltaLevel *parent;	/* enclosing subtransaction's level, or NULL */
};

/* Innermost level of the current transaction, NULL when it recorded nothing. */
static DeltaLevel *delta_top = NULL;
static MemoryContext delta_cxt = NULL;

/* Plans prepared once per backend and kept (SPI_keepplan). */
static SPIPlanPtr plan_insert_tasks = NULL;
static SPIPlanPtr plan_recompute_one = NULL;
static SPIPlanPtr plan_recount_one = NULL;

PG_FUNCTION_INFO_V1(fold_status_delta);
PG_FUNCTION_INFO_V1(tasks_after_insert);
PG_FUNCTION_INFO_V1(truncate_status);
PG_FUNCTION_INFO_V1(status_derived);
PG_FUNCTION_INFO_V1(derive_status);
PG_FUNCTION_INFO_V1(pending_deltas);
PG_FUNCTION_INFO_V1(void_pending_deltas);

/* ------------------------------------------------------------------------
 * The rule
 * ------------------------------------------------------------------------ */

const char *
status_rule(const StatusCounters *c)
{
	if (c->runs_failed > 0)
		return "failed";
	if (c->runs_total == 0)
		return "pending";
	if (c->runs_running > 0)
		return "in_progress";
	if (c->runs_completed > 0 && c->gates_failed == 0)
		return "completed";
	return "blocked";
}

Datum
derive_status(PG_FUNCTION_ARGS)
{
	StatusCounters c;

	c.runs_total = PG_GETARG_INT64(0);
	c.runs_running = PG_GETARG_INT64(1);
	c.runs_completed = PG_GETARG_INT64(2);
	c.runs_failed = PG_GETARG_INT64(3);
	c.gates_failed = PG_GETARG_INT64(4);
	PG_RETURN_TEXT_P(cstring_to_text(status_rule(&c)));
}

/* ------------------------------------------------------------------------
 * Delta levels
 * ------------------------------------------------------------------------ */

/*
 * Deltas belong to one incarnation of the extension: DROP EXTENSION and
 * CREATE EXTENSION in the same transaction give task_status a new OID, and
 * deltas recorded against the old tables must never reach the new ones
 * (task ids can repeat).  Each level remembers the task_status OID it was
 * recorded against.  A level holds one incarnation's deltas only: recording
 * into a level whose OID is stale voids it first (the DROP happened within
 * this level, so rolling the level back brings the old tables and their
 * deltas back together); lookups stop at the first level of another
 * incarnation; a merge into a parent of another incarnation voids the
 * parent; the flush applies nothing if the OID is not the current one.
 */
static void delta_level_reset(DeltaLevel *level, bool runs, bool gates);

DeltaLevel *
status_level(void)
{
	SubTransactionId subid = GetCurrentSubTransactionId();
	Oid			status_relid = taskdb_relation_oid("task_status", false);
	MemoryContext cxt;
	DeltaLevel *level;
	HASHCTL		ctl;

	/* every write to runs, gates or tasks passes here: count the writer */
	metrics_writer_begin();
	if (delta_top != NULL && delta_top->subid == subid)
	{
		if (delta_top->status_relid != status_relid)
		{
			delta_level_reset(delta_top, true, true);
			delta_top->status_relid = status_relid;
		}
		return delta_top;
	}

	Assert(delta_top == NULL || delta_top->subid < subid);

	if (delta_cxt == NULL)
		delta_cxt = AllocSetContextCreate(TopTransactionContext,
										  "taskdb status deltas",
										  ALLOCSET_DEFAULT_SIZES);
	cxt = AllocSetContextCreate(delta_cxt, "taskdb delta level",
								ALLOCSET_DEFAULT_SIZES);
	level = MemoryContextAllocZero(cxt, sizeof(DeltaLevel));
	level->subid = subid;
	level->cxt = cxt;
	level->status_relid = status_relid;

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(pg_uuid_t);
	ctl.entrysize = sizeof(DeltaEntry);
	ctl.hcxt = cxt;
	level->deltas = hash_create("taskdb status deltas", 64, &ctl,
								HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);

	level->parent = delta_top;
	delta_top = level;
	return level;
}

static inline DeltaEntry *
delta_entry(DeltaLevel *level, const pg_uuid_t *task_id)
{
	bool		found;
	DeltaEntry *e = hash_search(level->deltas, task_id, HASH_ENTER, &found);

	if (!found)
	{
		memset(&e->d, 0, sizeof(e->d));
		e->deleted = false;
		e->born = false;
	}
	return e;
}

/* Void the counters a truncated source feeds, at this level and all outer ones. */
static void
delta_level_reset(DeltaLevel *level, bool runs, bool gates)
{
	HASH_SEQ_STATUS seq;
	DeltaEntry *e;

	hash_seq_init(&seq, level->deltas);
	while ((e = hash_seq_search(&seq)) != NULL)
	{
		if (runs)
		{
			e->d.runs_total = e->d.runs_running = 0;
			e->d.runs_completed = e->d.runs_failed = 0;
		}
		if (gates)
			e->d.gates_failed = 0;
	}
	level->reset_runs |= runs;
	level->reset_gates |= gates;
}

/*
 * Deleting a task and inserting one with the same id in the same
 * transaction: the deltas recorded for the deleted task (its runs, and the
 * cascade that deleted them, which the foreign key queues to fire after the
 * tasks trigger) must not reach the new summary row.  A delete only marks
 * the entry; the insert that follows finds the mark and starts the task
 * afresh at its level ("born"), hiding everything recorded outside it.
 * Rolling back the insert's subtransaction removes the birth again.
 */
void
status_task_deleted(DeltaLevel *level, const pg_uuid_t *task_id)
{
	delta_entry(level, task_id)->deleted = true;
}

static bool
delta_task_was_deleted(Oid status_relid, const pg_uuid_t *task_id)
{
	DeltaLevel *level;

	for (level = delta_top; level != NULL && level->status_relid == status_relid; level = level->parent)
	{
		DeltaEntry *e = hash_search(level->deltas, task_id, HASH_FIND, NULL);

		if (e != NULL && e->deleted)
			return true;
		if (e != NULL && e->born)
			return false;
	}
	return false;
}

static void
delta_task_born(DeltaLevel *level, const pg_uuid_t *task_id)
{
	DeltaEntry *e = delta_entry(level, task_id);

	memset(&e->d, 0, sizeof(e->d));
	e->deleted = false;
	e->born = true;
}

/*
 * The effective pending delta of one task for the task_status relation
 * status_relid: the sum over levels from the innermost outwards, where a
 * level's reset mark hides the outer levels' contributions to the counters
 * it covers, a re-inserted task hides everything outside, and a level of
 * another incarnation ends the walk.  Returns false if there is none.
 */
static void delta_recount(const pg_uuid_t *task_id, StatusCounters *out);

static bool
delta_lookup(Oid status_relid, const pg_uuid_t *task_id, StatusCounters *out)
{
	bool		want_runs = true;
	bool		want_gates = true;
	bool		any = false;
	DeltaLevel *level;

	memset(out, 0, sizeof(*out));
	for (level = delta_top;
		 level != NULL && level->status_relid == status_relid && (want_runs || want_gates);
		 level = level->parent)
	{
		DeltaEntry *e = hash_search(level->deltas, task_id, HASH_FIND, NULL);

		if (e != NULL)
		{
			any = true;
			if (want_runs)
			{
				out->runs_total += e->d.runs_total;
				out->runs_running += e->d.runs_running;
				out->runs_completed += e->d.runs_completed;
				out->runs_failed += e->d.runs_failed;
			}
			if (want_gates)
				out->gates_failed += e->d.gates_failed;
			if (e->born)
			{
				/* Re-created here: its deltas may include the old task's (see status_flush). */
				delta_recount(task_id, out);
				return true;
			}
		}
		if (level->reset_runs)
			want_runs = false;
		if (level->reset_gates)
			want_gates = false;
	}
	return any;
}

static void
status_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						SubTransactionId parentSubid, void *arg)
{
	DeltaLevel *child = delta_top;
	DeltaLevel *parent;
	HASH_SEQ_STATUS seq;
	DeltaEntry *e;

	if (child == NULL || child->subid != mySubid)
		return;

	if (event == SUBXACT_EVENT_ABORT_SUB)
	{
		delta_top = child->parent;
		MemoryContextDelete(child->cxt);
		return;
	}
	if (event != SUBXACT_EVENT_COMMIT_SUB)
		return;

	parent = child->parent;
	if (parent == NULL || parent->subid != parentSubid)
	{
		/* The parent recorded nothing: the child's level becomes the parent's. */
		child->subid = parentSubid;
		return;
	}

	if (parent->status_relid != child->status_relid)
	{
		delta_level_reset(parent, true, true);
		parent->status_relid = child->status_relid;
	}
	if (child->reset_runs || child->reset_gates)
		delta_level_reset(parent, child->reset_runs, child->reset_gates);

	hash_seq_init(&seq, child->deltas);
	while ((e = hash_seq_search(&seq)) != NULL)
	{
		DeltaEntry *p;

		if (e->born)
			delta_task_born(parent, &e->task_id);
		p = delta_entry(parent, &e->task_id);
		p->deleted |= e->deleted;
		p->d.runs_total += e->d.runs_total;
		p->d.runs_running += e->d.runs_running;
		p->d.runs_completed += e->d.runs_completed;
		p->d.runs_failed += e->d.runs_failed;
		p->d.gates_failed += e->d.gates_failed;
	}
	delta_top = parent;
	MemoryContextDelete(child->cxt);
}

static void
status_execute(SPIPlanPtr plan, Datum *values, bool read_only, int expected)
{
	int			rc = SPI_execute_plan(plan, values, NULL, read_only, 0);

	if (rc != expected)
		elog(ERROR, "taskdb: status maintenance query failed: %s",
			 SPI_result_code_string(rc));
}

/* ------------------------------------------------------------------------
 * Commit-time flush
 * ------------------------------------------------------------------------ */

static int
delta_entry_cmp(const void *a, const void *b)
{
	return memcmp((*(DeltaEntry *const *) a)->task_id.data,
				  (*(DeltaEntry *const *) b)->task_id.data, UUID_LEN);
}

/*
 * The SET items that recompute status_derived, health_score and
 * calculated_at from the row's old counters (prefix P, e.g. "s.") plus the
 * deltas (SQL expressions DT..DG).  SET expressions see the old row, hence
 * the sums; calculated_at moves only when status_derived changes.
 */
#define STATUS_NEW(P, DT, DR, DC, DF, DG) \
	"taskdb.derive_status(" P "runs_total OPERATOR(pg_catalog.+) " DT ", " \
	P "runs_running OPERATOR(pg_catalog.+) " DR ", " \
	P "runs_completed OPERATOR(pg_catalog.+) " DC ", " \
	P "runs_failed OPERATOR(pg_catalog.+) " DF ", " \
	P "gates_failed OPERATOR(pg_catalog.+) " DG ")"
#define STATUS_SET_DERIVED(P, DT, DR, DC, DF, DG) \
	" status_derived = " STATUS_NEW(P, DT, DR, DC, DF, DG) "," \
	" health_score = CASE WHEN " P "runs_total OPERATOR(pg_catalog.+) " DT " OPERATOR(pg_catalog.>) 0" \
	"   THEN (" P "runs_completed OPERATOR(pg_catalog.+) " DC ")::pg_catalog.float8" \
	"        OPERATOR(pg_catalog./) (" P "runs_total OPERATOR(pg_catalog.+) " DT ")" \
	"   ELSE 0 END," \
	" calculated_at = CASE WHEN " STATUS_NEW(P, DT, DR, DC, DF, DG) \
	"   OPERATOR(pg_catalog.=) " P "status_derived THEN " P "calculated_at" \
	"   ELSE pg_catalog.now() END"

/*
 * Apply the deltas to their summary rows, in the order given (ascending
 * task_id), without the executor: for each task, find its row through the
 * primary key, lock its newest version (table_tuple_lock with
 * TUPLE_LOCK_FLAG_FIND_LAST_VERSION: a concurrent flush to the same row has
 * committed or we wait for it, as EvalPlanQual would), add the deltas to
 * that version's counters, derive the status and update the row in place
 * (heap HOT update when status_derived, and so the index on it, did not
 * change; the indexes' entries otherwise).  1.0 ran one SPI UPDATE per task;
 * its executor start-up was the largest part of a small transaction's cost.
 *
 * Locks are taken row by row in the order given, so two flushes never
 * deadlock; a row that no longer exists (the task was deleted) is skipped.
 */
static void
status_apply(DeltaEntry **entries, int n)
{
	Relation	rel = table_open(taskdb_relation_oid("task_status", false), RowExclusiveLock);
	Relation	pkey = index_open(taskdb_primary_key_index(rel), RowExclusiveLock);
	TupleDesc	desc = RelationGetDescr(rel);
	Snapshot	snapshot = GetActiveSnapshot();
	CommandId	cid = GetCurrentCommandId(true);
	EState	   *estate = CreateExecutorState();
	ResultRelInfo *rri = makeNode(ResultRelInfo);
	TupleTableSlot *oldslot = table_slot_create(rel, NULL);
	TupleTableSlot *newslot = table_slot_create(rel, NULL);
	IndexScanDesc scan;
	ScanKeyData key;
	int			att_task = taskdb_attnum(desc, "task_id");
	int			att_total = taskdb_attnum(desc, "runs_total");
	int			att_running = taskdb_attnum(desc, "runs_running");
	int			att_completed = taskdb_attnum(desc, "runs_completed");
	int			att_failed = taskdb_attnum(desc, "runs_failed");
	int			att_gates = taskdb_attnum(desc, "gates_failed");
	int			att_status = taskdb_attnum(desc, "status_derived");
	int			att_health = taskdb_attnum(desc, "health_score");
	int			att_calculated = taskdb_attnum(desc, "calculated_at");
	int			i;

	InitResultRelInfo(rri, rel, 1, NULL, 0);
	ExecOpenIndices(rri, false);
	ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_UUID_EQ, (Datum) 0);
	scan = taskdb_index_beginscan(rel, pkey, snapshot, 1, 0);

	for (i = 0; i < n; i++)
	{
		DeltaEntry *e = entries[i];
		TM_FailureData tmfd;
		TM_Result	res;
		LockTupleMode lockmode;
		bool		all_indexes;
		StatusCounters c;
		const char *new_status;
		text	   *old_status;
		bool		isnull;
		Datum	   *v;
		bool	   *nulls;
		MemoryContext oldcxt;

		CHECK_FOR_INTERRUPTS();
		key.sk_argument = UUIDPGetDatum(&e->task_id);
		index_rescan(scan, &key, 1, NULL, 0);
		if (!index_getnext_slot(scan, ForwardScanDirection, oldslot))
			continue;			/* the task was deleted */

		res = table_tuple_lock(rel, &oldslot->tts_tid, snapshot, oldslot, cid,
							   LockTupleNoKeyExclusive, LockWaitBlock,
							   TUPLE_LOCK_FLAG_FIND_LAST_VERSION, &tmfd);
		if (res == TM_Deleted)
			continue;			/* deleted by a transaction that committed meanwhile */
		if (res != TM_Ok && res != TM_SelfModified)
			elog(ERROR, "taskdb: locking the summary row of a task failed (%d)", (int) res);

		/* what this row allocates is freed before the next one */
		oldcxt = MemoryContextSwitchTo(GetPerTupleMemoryContext(estate));
		slot_getallattrs(oldslot);
		c.runs_total = DatumGetInt64(oldslot->tts_values[att_total - 1]) + e->d.runs_total;
		c.runs_running = DatumGetInt64(oldslot->tts_values[att_running - 1]) + e->d.runs_running;
		c.runs_completed = DatumGetInt64(oldslot->tts_values[att_completed - 1]) + e->d.runs_completed;
		c.runs_failed = DatumGetInt64(oldslot->tts_values[att_failed - 1]) + e->d.runs_failed;
		c.gates_failed = DatumGetInt64(oldslot->tts_values[att_gates - 1]) + e->d.gates_failed;
		old_status = DatumGetTextPP(slot_getattr(oldslot, att_status, &isnull));
		new_status = status_rule(&c);

		ExecClearTuple(newslot);
		v = newslot->tts_values;
		nulls = newslot->tts_isnull;
		memcpy(v, oldslot->tts_values, sizeof(Datum) * desc->natts);
		memcpy(nulls, oldslot->tts_isnull, sizeof(bool) * desc->natts);
		v[att_task - 1] = oldslot->tts_values[att_task - 1];
		v[att_total - 1] = Int64GetDatum(c.runs_total);
		v[att_running - 1] = Int64GetDatum(c.runs_running);
		v[att_completed - 1] = Int64GetDatum(c.runs_completed);
		v[att_failed - 1] = Int64GetDatum(c.runs_failed);
		v[att_gates - 1] = Int64GetDatum(c.gates_failed);
		v[att_health - 1] = Float8GetDatum(c.runs_total > 0
										   ? (double) c.runs_completed / (double) c.runs_total : 0.0);
		if (VARSIZE_ANY_EXHDR(old_status) != strlen(new_status) ||
			memcmp(VARDATA_ANY(old_status), new_status, strlen(new_status)) != 0)
		{
			/* calculated_at: when status_derived last changed (now(), as 1.0 set it) */
			v[att_status - 1] = CStringGetTextDatum(new_status);
			v[att_calculated - 1] = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
			nulls[att_calculated - 1] = false;
		}
		ExecStoreVirtualTuple(newslot);

		res = taskdb_tuple_update(rel, &oldslot->tts_tid, newslot, cid, snapshot,
								  &tmfd, &lockmode, &all_indexes);
		if (res != TM_Ok)
			elog(ERROR, "taskdb: updating the summary row of a task failed (%d)", (int) res);
		if (all_indexes)
			list_free(taskdb_update_index_tuples(rri, newslot, estate));
		MemoryContextSwitchTo(oldcxt);
		ResetPerTupleExprContext(estate);
	}

	index_endscan(scan);
	ExecDropSingleTupleTableSlot(oldslot);
	ExecDropSingleTupleTableSlot(newslot);
	ExecCloseIndices(rri);
	FreeExecutorState(estate);
	index_close(pkey, NoLock);
	table_close(rel, NoLock);
}

/* The counters of task $1 counted from the base tables. */
#define STATUS_COUNT_SQL \
	"SELECT pg_catalog.count(*) AS t," \
	"   pg_catalog.count(*) FILTER (WHERE x.status OPERATOR(pg_catalog.=) 'running') AS r," \
	"   pg_catalog.count(*) FILTER (WHERE x.status OPERATOR(pg_catalog.=) 'completed') AS c," \
	"   pg_catalog.count(*) FILTER (WHERE x.status OPERATOR(pg_catalog.=) 'failed') AS f," \
	"   (SELECT pg_catalog.count(*) FROM taskdb.gates y" \
	"     WHERE y.task_id OPERATOR(pg_catalog.=) $1" \
	"       AND y.status OPERATOR(pg_catalog.=) 'fail') AS g" \
	"   FROM taskdb.runs x WHERE x.task_id OPERATOR(pg_catalog.=) $1"

/*
 * For a task re-created by this transaction, what its pending delta really
 * is: its rows counted with the current snapshot (its summary row, created
 * by this transaction, is all zeros until the flush).
 */
static void
delta_recount(const pg_uuid_t *task_id, StatusCounters *out)
{
	Oid			argtypes[1] = {UUIDOID};
	Datum		values[1];
	bool		isnull;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "taskdb: SPI_connect failed");
	values[0] = UUIDPGetDatum(task_id);
	status_execute(taskdb_keep_plan(&plan_recount_one, STATUS_COUNT_SQL, 1, argtypes),
				   values, true, SPI_OK_SELECT);
	if (SPI_processed != 1)
		elog(ERROR, "taskdb: recounting a task returned %d rows", (int) SPI_processed);
	out->runs_total = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	out->runs_running = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	out->runs_completed = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));
	out->runs_failed = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4, &isnull));
	out->gates_failed = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 5, &isnull));
	SPI_finish();
}

/*
 * Summary rows recounted from the base tables, for tasks this transaction
 * re-created (nobody else can see or lock their rows yet).
 */
static void
status_recompute(DeltaEntry **entries, int n)
{
	Oid			argtypes[1] = {UUIDOID};
	Datum		values[1];
	SPIPlanPtr	plan = taskdb_keep_plan(&plan_recompute_one,
								   "UPDATE taskdb.task_status s SET"
								   " runs_total = c.t, runs_running = c.r, runs_completed = c.c,"
								   " runs_failed = c.f, gates_failed = c.g,"
								   " status_derived = taskdb.derive_status(c.t, c.r, c.c, c.f, c.g),"
								   " health_score = CASE WHEN c.t OPERATOR(pg_catalog.>) 0"
								   "   THEN c.c::pg_catalog.float8 OPERATOR(pg_catalog./) c.t ELSE 0 END,"
								   " calculated_at = pg_catalog.now()"
								   " FROM (" STATUS_COUNT_SQL ") c"
								   " WHERE s.task_id OPERATOR(pg_catalog.=) $1",
								   1, argtypes);
	int			i;

	for (i = 0; i < n; i++)
	{
		values[0] = UUIDPGetDatum(&entries[i]->task_id);
		status_execute(plan, values, false, SPI_OK_UPDATE);
	}
}

/* What status_flush hands to status_flush_work. */
typedef struct FlushWork
{
	DeltaEntry **entries;		/* tasks with deltas, in task_id order */
	int			n;
	DeltaEntry **reborn;		/* tasks re-created by this transaction */
	int			nreborn;
	bool		notify;			/* send status-change notifications (notify.c) */
	bool		old_known;		/* no TRUNCATE or rebuild rewrote rows before the flush */
} FlushWork;

/* Status-change notifications for the rows the flush just wrote (notify.c). */
static void
status_notify(FlushWork *work)
{
	int			n = work->n + work->nreborn;
	const pg_uuid_t **ids = palloc(sizeof(pg_uuid_t *) * n);
	const StatusCounters **deltas = palloc(sizeof(StatusCounters *) * n);
	int			i;

	for (i = 0; i < work->n; i++)
	{
		ids[i] = &work->entries[i]->task_id;
		deltas[i] = &work->entries[i]->d;
	}
	for (i = 0; i < work->nreborn; i++)
	{
		ids[work->n + i] = &work->reborn[i]->task_id;
		deltas[work->n + i] = NULL; /* recounted: its row began at zero */
	}
	notify_status_changes(ids, deltas, n, work->old_known);
}

static void
status_flush_work(void *arg)
{
	FlushWork  *work = (FlushWork *) arg;

	/*
	 * Commit processing has no active snapshot; take one now that the
	 * isolation level reads as READ COMMITTED (SPI takes a fresh one per
	 * statement as well).
	 */
	PushActiveSnapshot(GetTransactionSnapshot());
	if (work->n > 0)
		status_apply(work->entries, work->n);
	if (work->nreborn > 0)
		status_recompute(work->reborn, work->nreborn);
	if (work->notify)
		status_notify(work);
	PopActiveSnapshot();
}

/*
 * Apply the transaction's deltas.  preparing: PREPARE TRANSACTION, which
 * refuses a queued NOTIFY, so no notifications (see notify.c).
 */
static void
status_flush(bool preparing)
{
	DeltaLevel *level = delta_top;
	DeltaEntry **entries;
	DeltaEntry **reborn;
	DeltaEntry *e;
	HASH_SEQ_STATUS seq;
	long		n = 0;
	long		nreborn = 0;
	instr_time	start;

	if (level == NULL)
		return;

	/* Every subtransaction has committed (merging) or aborted by now. */
	Assert(level->parent == NULL);

	/* The extension was dropped (or dropped and re-created) after these deltas. */
	if (level->status_relid != taskdb_relation_oid("task_status", true))
	{
		delta_top = NULL;
		return;
	}

	entries = MemoryContextAlloc(level->cxt,
								 sizeof(DeltaEntry *) * (hash_get_num_entries(level->deltas) + 1));
	reborn = MemoryContextAlloc(level->cxt,
								sizeof(DeltaEntry *) * (hash_get_num_entries(level->deltas) + 1));
	hash_seq_init(&seq, level->deltas);
	while ((e = hash_seq_search(&seq)) != NULL)
	{
		/*
		 * A task deleted and inserted again in this transaction: when both
		 * happen in one statement, the cascade's run deltas of the old task
		 * fire after the re-insert, so the deltas cannot be trusted; the new
		 * task's rows are all ours and final, so count them instead.
		 */
		if (e->born)
			reborn[nreborn++] = e;
		else if (e->d.runs_total != 0 || e->d.runs_running != 0 || e->d.runs_completed != 0 ||
				 e->d.runs_failed != 0 || e->d.gates_failed != 0)
			entries[n++] = e;
	}
	if (n == 0 && nreborn == 0)
		return;
	metrics_timer_start(&start);
	qsort(entries, n, sizeof(DeltaEntry *), delta_entry_cmp);

	{
		FlushWork	work;

		work.entries = entries;
		work.n = (int) n;
		work.reborn = reborn;
		work.nreborn = (int) nreborn;
		work.notify = taskdb_notify_status_changes && !preparing;
		work.old_known = !(level->reset_runs || level->reset_gates);

		taskdb_run_as_owner("task_status", RUN_READ_COMMITTED, status_flush_work, &work);
	}

	/* Applied: nothing may be applied twice, even if a callback ran again. */
	delta_top = NULL;
	metrics_observe(TIMER_SUMMARY_FLUSH, start);
}

static void
status_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
		case XACT_EVENT_PRE_PREPARE:
			status_flush(event == XACT_EVENT_PRE_PREPARE);
			break;
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PREPARE:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PARALLEL_ABORT:
			/* The memory itself goes with TopTransactionContext. */
			delta_top = NULL;
			delta_cxt = NULL;
			break;
		default:
			break;
	}
}

void
status_register_callbacks(void)
{
	RegisterXactCallback(status_xact_callback, NULL);
	RegisterSubXactCallback(status_subxact_callback, NULL);
}

/* ------------------------------------------------------------------------
 * Triggers
 * ------------------------------------------------------------------------ */

static TriggerData *
status_trigger_data(FunctionCallInfo fcinfo, const char *fname)
{
	TriggerData *trigdata;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function taskdb.%s() was not called by the trigger manager", fname),
				 errhint("It is a trigger function installed by the taskdb extension; do not call it directly.")));
	trigdata = (TriggerData *) fcinfo->context;
	if (!TRIGGER_FIRED_AFTER(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_STATEMENT(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function taskdb.%s() must be fired AFTER ... FOR EACH STATEMENT", fname)));
	return trigdata;
}

static DeltaSource
status_source(Relation rel, const char *fname)
{
	const char *name = RelationGetRelationName(rel);

	if (RelationGetNamespace(rel) == get_namespace_oid(TASKDB_SCHEMA, true))
	{
		if (strcmp(name, "tasks") == 0)
			return SOURCE_TASKS;
		if (strcmp(name, "runs") == 0)
			return SOURCE_RUNS;
		if (strcmp(name, "gates") == 0)
			return SOURCE_GATES;
	}
	ereport(ERROR,
			(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
			 errmsg("function taskdb.%s() fired on table \"%s\"", fname, name),
			 errdetail("It maintains task_status from taskdb.tasks, taskdb.runs and taskdb.gates only.")));
	pg_unreachable();
}

/* Compare a text datum with a literal without copying it. */
static inline bool
text_equals(Datum d, const char *lit, int litlen)
{
	text	   *t = DatumGetTextPP(d);

	return VARSIZE_ANY_EXHDR(t) == litlen && memcmp(VARDATA_ANY(t), lit, litlen) == 0;
}

#define TEXT_EQ(d, lit) text_equals((d), (lit), sizeof(lit) - 1)

/*
 * Fold one row of runs or gates into the level with sign (+1 / -1): a run
 * counts in runs_total and in the counter of its status, a gate only when
 * it failed.
 */
void
status_fold(DeltaLevel *level, DeltaSource source, const pg_uuid_t *task, Datum status, int sign)
{
	DeltaEntry *e;

	if (source == SOURCE_GATES)
	{
		if (TEXT_EQ(status, "fail"))
			delta_entry(level, task)->d.gates_failed += sign;
		return;
	}
	e = delta_entry(level, task);
	e->d.runs_total += sign;
	if (TEXT_EQ(status, "running"))
		e->d.runs_running += sign;
	else if (TEXT_EQ(status, "completed"))
		e->d.runs_completed += sign;
	else if (TEXT_EQ(status, "failed"))
		e->d.runs_failed += sign;
}

/* Fold one transition table into the level, each row counting sign (+1 / -1). */
static void
fold_rows(DeltaLevel *level, Tuplestorestate *rows, TupleDesc tupdesc,
		  DeltaSource source, int sign)
{
	int			task_att = taskdb_attnum(tupdesc, "task_id");
	int			status_att = taskdb_attnum(tupdesc, "status");
	TupleTableSlot *slot = MakeSingleTupleTableSlot(tupdesc, &TTSOpsMinimalTuple);

	tuplestore_rescan(rows);
	while (tuplestore_gettupleslot(rows, true, false, slot))
	{
		bool		status_null,
					task_null;
		Datum		status = slot_getattr(slot, status_att, &status_null);
		Datum		task = slot_getattr(slot, task_att, &task_null);

		if (!status_null && !task_null)		/* NOT NULL makes both hold */
			status_fold(level, source, DatumGetUUIDP(task), status, sign);
	}
	ExecDropSingleTupleTableSlot(slot);
}

/* Deleted tasks: mark them so a re-insert starts afresh (see delta_task_deleted). */
static void
forget_deleted_tasks(DeltaLevel *level, Tuplestorestate *rows, TupleDesc tupdesc)
{
	int			id_att = taskdb_attnum(tupdesc, "id");
	TupleTableSlot *slot = MakeSingleTupleTableSlot(tupdesc, &TTSOpsMinimalTuple);

	tuplestore_rescan(rows);
	while (tuplestore_gettupleslot(rows, true, false, slot))
	{
		bool		isnull;
		Datum		id = slot_getattr(slot, id_att, &isnull);

		if (!isnull)
			status_task_deleted(level, DatumGetUUIDP(id));
	}
	ExecDropSingleTupleTableSlot(slot);
}

Datum
fold_status_delta(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = status_trigger_data(fcinfo, "fold_status_delta");
	DeltaSource source = status_source(trigdata->tg_relation, "fold_status_delta");
	TupleDesc	tupdesc = RelationGetDescr(trigdata->tg_relation);
	DeltaLevel *level;

	if (trigdata->tg_oldtable == NULL && trigdata->tg_newtable == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function taskdb.fold_status_delta() needs transition tables"),
				 errhint("Create the trigger with REFERENCING OLD TABLE / NEW TABLE.")));

	level = status_level();
	if (source == SOURCE_TASKS)
	{
		if (!TRIGGER_FIRED_BY_DELETE(trigdata->tg_event) || trigdata->tg_oldtable == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
					 errmsg("function taskdb.fold_status_delta() on taskdb.tasks must be fired AFTER DELETE with an OLD TABLE")));
		forget_deleted_tasks(level, trigdata->tg_oldtable, tupdesc);
		return PointerGetDatum(NULL);
	}
	if (trigdata->tg_oldtable != NULL)
		fold_rows(level, trigdata->tg_oldtable, tupdesc, source, -1);
	if (trigdata->tg_newtable != NULL)
		fold_rows(level, trigdata->tg_newtable, tupdesc, source, +1);

	return PointerGetDatum(NULL);
}

/* Summary rows for new tasks: values[0] is their ids, a uuid[]. */
static void
insert_summary_rows_work(void *arg)
{
	Oid			argtypes[1] = {UUIDARRAYOID};

	status_execute(taskdb_keep_plan(&plan_insert_tasks,
							   "INSERT INTO taskdb.task_status (task_id)"
							   " SELECT pg_catalog.unnest($1)",
							   1, argtypes),
				   (Datum *) arg, false, SPI_OK_INSERT);
}

/*
 * A task inserted by the current statement: if this transaction deleted a
 * task with the same id, the new one starts afresh (see delta_task_deleted).
 */
void
status_task_inserted(const pg_uuid_t *task_id)
{
	if (delta_top != NULL &&
		delta_task_was_deleted(taskdb_relation_oid("task_status", false), task_id))
		delta_task_born(status_level(), task_id);
}

/* Summary rows, all zeros, for new tasks: ids are n uuid Datums. */
void
status_insert_summary_rows(Datum *ids, int n)
{
	Datum		values[1];

	if (n == 0)
		return;
	values[0] = PointerGetDatum(construct_array(ids, n, UUIDOID, UUID_LEN, false, TYPALIGN_CHAR));
	taskdb_run_as_owner("task_status", 0, insert_summary_rows_work, values);
}

Datum
tasks_after_insert(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = status_trigger_data(fcinfo, "tasks_after_insert");
	TupleDesc	tupdesc = RelationGetDescr(trigdata->tg_relation);
	Tuplestorestate *rows = trigdata->tg_newtable;
	int			id_att;
	TupleTableSlot *slot;
	Datum	   *ids;
	int			n = 0;
	int			cap = 64;

	if (rows == NULL || !TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function taskdb.tasks_after_insert() must be fired AFTER INSERT with a NEW TABLE")));

	id_att = taskdb_attnum(tupdesc, "id");
	slot = MakeSingleTupleTableSlot(tupdesc, &TTSOpsMinimalTuple);
	ids = palloc(sizeof(Datum) * cap);
	tuplestore_rescan(rows);
	while (tuplestore_gettupleslot(rows, true, false, slot))
	{
		bool		isnull;
		Datum		id = slot_getattr(slot, id_att, &isnull);
		pg_uuid_t  *copy;

		if (isnull)
			continue;
		if (n == cap)
		{
			cap *= 2;
			ids = repalloc(ids, sizeof(Datum) * cap);
		}
		copy = palloc(sizeof(pg_uuid_t));
		memcpy(copy, DatumGetUUIDP(id), sizeof(pg_uuid_t));
		ids[n++] = UUIDPGetDatum(copy);
		status_task_inserted(copy);
	}
	ExecDropSingleTupleTableSlot(slot);
	status_insert_summary_rows(ids, n);

	return PointerGetDatum(NULL);
}

/*
 * After TRUNCATE of runs or gates: the counters it fed go to zero.  The SET
 * expressions see the old row, so the deltas are the counters negated.
 */
static void
reset_summary_work(void *arg)
{
	DeltaSource source = *(DeltaSource *) arg;

	if (SPI_execute(source == SOURCE_RUNS
					? "UPDATE taskdb.task_status SET runs_total = 0, runs_running = 0,"
					" runs_completed = 0, runs_failed = 0,"
					STATUS_SET_DERIVED("", "(OPERATOR(pg_catalog.-) runs_total)",
									   "(OPERATOR(pg_catalog.-) runs_running)",
									   "(OPERATOR(pg_catalog.-) runs_completed)",
									   "(OPERATOR(pg_catalog.-) runs_failed)", "0::pg_catalog.int8")
					" WHERE runs_total OPERATOR(pg_catalog.<>) 0"
					: "UPDATE taskdb.task_status SET gates_failed = 0,"
					STATUS_SET_DERIVED("", "0::pg_catalog.int8", "0::pg_catalog.int8",
									   "0::pg_catalog.int8", "0::pg_catalog.int8",
									   "(OPERATOR(pg_catalog.-) gates_failed)")
					" WHERE gates_failed OPERATOR(pg_catalog.<>) 0",
					false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "taskdb: resetting task_status after TRUNCATE failed");
}

/* After TRUNCATE of runs or gates (source): the counters it fed go to zero. */
void
status_truncated(DeltaSource source)
{
	delta_level_reset(status_level(), source == SOURCE_RUNS, source == SOURCE_GATES);
	taskdb_run_as_owner("task_status", 0, reset_summary_work, &source);
}

Datum
truncate_status(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = status_trigger_data(fcinfo, "truncate_status");
	DeltaSource source = status_source(trigdata->tg_relation, "truncate_status");

	if (!TRIGGER_FIRED_BY_TRUNCATE(trigdata->tg_event) || source == SOURCE_TASKS)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function taskdb.truncate_status() must be fired AFTER TRUNCATE on taskdb.runs or taskdb.gates")));
	status_truncated(source);
	return PointerGetDatum(NULL);
}

/* ------------------------------------------------------------------------
 * Reading
 * ------------------------------------------------------------------------ */

/*
 * status_derived(task_id): one primary-key probe of task_status with the
 * statement's snapshot (no SPI: this is the read path users time), plus the
 * transaction's own pending deltas when it has any for the task.
 */
Datum
status_derived(PG_FUNCTION_ARGS)
{
	pg_uuid_t  *task_id = PG_GETARG_UUID_P(0);
	Oid			relid = taskdb_relation_oid("task_status", false);
	AclResult	acl = pg_class_aclcheck(relid, GetUserId(), ACL_SELECT);
	Relation	rel;
	TupleDesc	desc;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	text	   *result = NULL;
	instr_time	start;

	metrics_timer_start(&start);
	if (acl != ACLCHECK_OK)
		aclcheck_error(acl, OBJECT_TABLE, "task_status");

	rel = table_open(relid, AccessShareLock);
	desc = RelationGetDescr(rel);
	ScanKeyInit(&key, taskdb_attnum(desc, "task_id"), BTEqualStrategyNumber,
				F_UUID_EQ, UUIDPGetDatum(task_id));
	scan = systable_beginscan(rel, taskdb_primary_key_index(rel), true,
							  ActiveSnapshotSet() ? GetActiveSnapshot() : GetTransactionSnapshot(),
							  1, &key);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
	{
		StatusCounters pending;
		bool		isnull;

		if (delta_top != NULL && delta_lookup(relid, task_id, &pending))
		{
			StatusCounters c;

#define COUNTER(name) \
	(DatumGetInt64(heap_getattr(tup, taskdb_attnum(desc, #name), desc, &isnull)) + pending.name)
			c.runs_total = COUNTER(runs_total);
			c.runs_running = COUNTER(runs_running);
			c.runs_completed = COUNTER(runs_completed);
			c.runs_failed = COUNTER(runs_failed);
			c.gates_failed = COUNTER(gates_failed);
#undef COUNTER
			result = cstring_to_text(status_rule(&c));
		}
		else
		{
			Datum		d = heap_getattr(tup, taskdb_attnum(desc, "status_derived"), desc, &isnull);

			if (!isnull)
				result = DatumGetTextPCopy(d);
		}
	}
	systable_endscan(scan);
	table_close(rel, NoLock);

	metrics_observe(TIMER_STATUS_READ, start);
	if (result == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(result);
}

Datum
pending_deltas(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo;
	HTAB	   *seen;
	HASHCTL		ctl;
	DeltaLevel *level;
	Oid			status_relid;

	taskdb_init_materialized_srf(fcinfo);
	rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	status_relid = taskdb_relation_oid("task_status", true);
	if (delta_top == NULL || delta_top->status_relid != status_relid)
		return (Datum) 0;

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(pg_uuid_t);
	ctl.entrysize = sizeof(pg_uuid_t);
	ctl.hcxt = CurrentMemoryContext;
	seen = hash_create("taskdb pending tasks", 64, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);

	for (level = delta_top; level != NULL && level->status_relid == status_relid; level = level->parent)
	{
		HASH_SEQ_STATUS seq;
		DeltaEntry *e;

		hash_seq_init(&seq, level->deltas);
		while ((e = hash_seq_search(&seq)) != NULL)
		{
			bool		found;
			StatusCounters c;
			Datum		values[6];
			bool		nulls[6] = {false};

			hash_search(seen, &e->task_id, HASH_ENTER, &found);
			if (found || !delta_lookup(status_relid, &e->task_id, &c))
				continue;
			if (c.runs_total == 0 && c.runs_running == 0 && c.runs_completed == 0 &&
				c.runs_failed == 0 && c.gates_failed == 0)
				continue;
			values[0] = UUIDPGetDatum(&e->task_id);
			values[1] = Int64GetDatum(c.runs_total);
			values[2] = Int64GetDatum(c.runs_running);
			values[3] = Int64GetDatum(c.runs_completed);
			values[4] = Int64GetDatum(c.runs_failed);
			values[5] = Int64GetDatum(c.gates_failed);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
	}
	return (Datum) 0;
}

/*
 * Used by rebuild_status(): the summary it writes already includes the
 * transaction's own changes, so the pending deltas must not be applied on
 * top.  Recorded as a reset of the current level, so a rolled-back
 * subtransaction brings them back.
 */
Datum
void_pending_deltas(PG_FUNCTION_ARGS)
{
	delta_level_reset(status_level(), true, true);
	PG_RETURN_VOID();
}
