/*-------------------------------------------------------------------------
 *
 * notify.c
 *	  Status-change notifications: NOTIFY taskdb_status from the
 *	  commit-time flush.
 *
 * With taskdb.notify_status_changes on, every committing transaction that
 * changed a task's status_derived sends one notification per such task on
 * the channel taskdb_status, payload
 *
 *	  {"task_id": "<uuid>", "old_status": "<status>", "new_status": "<status>"}
 *
 * (compact JSON, keys in that order).  It is what a program waiting for a
 * task to finish LISTENs to instead of polling.
 *
 * Protocol
 * --------
 * The commit-time flush (status.c) calls notify_status_changes() inside its
 * owner connection (taskdb_run_as_owner, search_path pinned, an active
 * snapshot at READ COMMITTED), after it has updated the summary rows of the
 * tasks it was given.  It reads those rows back (by primary key, or in one
 * query over the ids for a big flush): their counters now include this
 * transaction's deltas, so the counters before the flush are the new ones
 * minus the deltas, and the old status is the rule applied to them.  No
 * extra lock is taken: the flush's UPDATE already holds every row it reads.
 *
 * Why listeners see exactly the committed changes, in commit order per task:
 *  - NOTIFY is transactional.  The flush runs in the XACT_EVENT_PRE_COMMIT
 *	  callback, before PreCommit_Notify() moves the transaction's pending
 *	  notifications into the queue; a transaction that rolls back, or fails
 *	  in the flush itself, delivers nothing.
 *  - The summary row of a task stays locked by the flush's UPDATE until its
 *	  transaction ends, so two transactions changing one task flush and
 *	  commit in the same order; PreCommit_Notify() appends to the queue under
 *	  a lock held until commit, so the queue is in commit order as well.  For
 *	  one task, each notification's old_status is the previous one's
 *	  new_status.
 *  - PREPARE TRANSACTION refuses a transaction that has queued a NOTIFY,
 *	  and COMMIT PREPARED runs in another session without our deltas: a
 *	  transaction committed in two phases sends no notification (status.c
 *	  does not call us for it).
 *
 * What sends none: status changes made outside the flush, i.e. TRUNCATE of
 * runs or gates and rebuild_status(), which rewrite the summary at once.  In
 * a transaction that did either, the counters before the flush are not the
 * committed ones: every task the flush touched is sent, with old_status
 * null.  Deleting a task sends nothing (its summary row is gone).  A task
 * created by the committing transaction starts from "pending", as its
 * summary row does.
 *
 * The setting is PGC_SUSET.  LISTEN needs no privilege, so once on, the
 * ids and statuses of changed tasks reach every role that can connect to
 * the database: whether a database broadcasts them is the administrator's
 * decision (postgresql.conf, ALTER DATABASE / ROLE ... SET, or GRANT SET ON
 * PARAMETER), and a writing application can neither turn the broadcast on
 * nor silence its own changes.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "commands/async.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/uuid.h"

#include "compat.h"
#include "taskdb.h"

/* The channel listeners LISTEN on. */
#define NOTIFY_CHANNEL "taskdb_status"

bool		taskdb_notify_status_changes = false;

/*
 * Up to this many tasks, each summary row is read back by its primary key
 * (a plan whose generic form is an index scan, so it is planned once per
 * backend); above it, all rows in one query over the array of ids.
 */
#define NOTIFY_READ_ROW_LIMIT 16

/* The read-backs of the flushed summary rows; prepared once per backend. */
static SPIPlanPtr plan_read_one = NULL;
static SPIPlanPtr plan_read_many = NULL;

void
notify_define_setting(void)
{
	DefineCustomBoolVariable("taskdb.notify_status_changes",
							 "Sends NOTIFY taskdb_status at commit for every task whose status_derived changed.",
							 "Payload {\"task_id\", \"old_status\", \"new_status\"}; committed transactions only, "
							 "in commit order per task.  Superuser-settable: any role that can connect may LISTEN.",
							 &taskdb_notify_status_changes,
							 false,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);
}

/*
 * The notification for one flushed summary row, if its status changed:
 * tup's columns first .. first + 5 are runs_total, runs_running,
 * runs_completed, runs_failed, gates_failed and status_derived.
 */
static void
notify_row(StringInfo payload, const pg_uuid_t *task_id, const StatusCounters *delta,
		   HeapTuple tup, TupleDesc desc, int first, bool old_known)
{
	bool		isnull;
	StatusCounters now;
	StatusCounters before;
	const char *old_status = NULL;
	char	   *new_status;

	now.runs_total = DatumGetInt64(SPI_getbinval(tup, desc, first, &isnull));
	now.runs_running = DatumGetInt64(SPI_getbinval(tup, desc, first + 1, &isnull));
	now.runs_completed = DatumGetInt64(SPI_getbinval(tup, desc, first + 2, &isnull));
	now.runs_failed = DatumGetInt64(SPI_getbinval(tup, desc, first + 3, &isnull));
	now.gates_failed = DatumGetInt64(SPI_getbinval(tup, desc, first + 4, &isnull));
	new_status = SPI_getvalue(tup, desc, first + 5);
	if (new_status == NULL)
		return;					/* NOT NULL makes this unreachable */

	if (old_known)
	{
		memset(&before, 0, sizeof(before));
		if (delta != NULL)
		{
			before.runs_total = now.runs_total - delta->runs_total;
			before.runs_running = now.runs_running - delta->runs_running;
			before.runs_completed = now.runs_completed - delta->runs_completed;
			before.runs_failed = now.runs_failed - delta->runs_failed;
			before.gates_failed = now.gates_failed - delta->gates_failed;
		}
		old_status = status_rule(&before);
		if (strcmp(old_status, new_status) == 0)
			return;
	}

	resetStringInfo(payload);
	appendStringInfoString(payload, "{\"task_id\":");
	escape_json(payload, taskdb_uuid_string(task_id));
	appendStringInfoString(payload, ",\"old_status\":");
	if (old_status != NULL)
		escape_json(payload, old_status);
	else
		appendStringInfoString(payload, "null");
	appendStringInfoString(payload, ",\"new_status\":");
	escape_json(payload, new_status);
	appendStringInfoChar(payload, '}');
	Async_Notify(NOTIFY_CHANNEL, payload->data);
}

#define NOTIFY_COLUMNS \
	"s.runs_total, s.runs_running, s.runs_completed, s.runs_failed, s.gates_failed, s.status_derived"

/*
 * Queue one notification per task of task_ids[0..n-1] whose status_derived
 * the flush changed.  deltas[i] is what the flush added to task i's
 * counters, or NULL when it recounted the row from scratch (a task deleted
 * and created again by this transaction: its row began at zero).
 * old_known is false when the transaction rewrote summary rows outside the
 * flush (TRUNCATE, rebuild_status()); old_status is null then.  Tasks
 * deleted since have no row and no notification.
 *
 * Call inside the flush's taskdb_run_as_owner() connection, after the
 * summary rows are updated.
 */
void
notify_status_changes(const pg_uuid_t *const *task_ids, const StatusCounters *const *deltas,
					  int n, bool old_known)
{
	StringInfoData payload;
	int			i;

	if (n <= 0)
		return;
	initStringInfo(&payload);

	if (n <= NOTIFY_READ_ROW_LIMIT)
	{
		Oid			argtypes[1] = {UUIDOID};
		SPIPlanPtr	plan = taskdb_keep_plan(&plan_read_one,
											"SELECT " NOTIFY_COLUMNS " FROM taskdb.task_status s"
											" WHERE s.task_id OPERATOR(pg_catalog.=) $1",
											1, argtypes);

		for (i = 0; i < n; i++)
		{
			Datum		values[1] = {UUIDPGetDatum(task_ids[i])};

			if (SPI_execute_plan(plan, values, NULL, false, 1) != SPI_OK_SELECT)
				elog(ERROR, "taskdb: reading a flushed summary row failed");
			if (SPI_processed == 1)
				notify_row(&payload, task_ids[i], deltas[i],
						   SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, old_known);
		}
	}
	else
	{
		Oid			argtypes[1] = {UUIDARRAYOID};
		Datum		values[1];
		Datum	   *ids = palloc(sizeof(Datum) * n);
		uint64		row;

		for (i = 0; i < n; i++)
			ids[i] = UUIDPGetDatum(task_ids[i]);
		values[0] = PointerGetDatum(construct_array(ids, n, UUIDOID, UUID_LEN, false, TYPALIGN_CHAR));

		/* Positions are 1-based (WITH ORDINALITY). */
		if (SPI_execute_plan(taskdb_keep_plan(&plan_read_many,
											  "SELECT d.i, " NOTIFY_COLUMNS
											  " FROM pg_catalog.unnest($1) WITH ORDINALITY AS d(task_id, i)"
											  " JOIN taskdb.task_status s"
											  "   ON s.task_id OPERATOR(pg_catalog.=) d.task_id"
											  " ORDER BY d.i",
											  1, argtypes),
							 values, NULL, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "taskdb: reading the flushed summary rows failed");

		for (row = 0; row < SPI_processed; row++)
		{
			bool		isnull;
			int64		pos = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[row],
														  SPI_tuptable->tupdesc, 1, &isnull));

			if (pos < 1 || pos > n)
				elog(ERROR, "taskdb: flushed summary row at position " INT64_FORMAT " of %d", pos, n);
			notify_row(&payload, task_ids[pos - 1], deltas[pos - 1],
					   SPI_tuptable->vals[row], SPI_tuptable->tupdesc, 2, old_known);
		}
	}
	pfree(payload.data);
}
