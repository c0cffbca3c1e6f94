/*-------------------------------------------------------------------------
 *
 * history.h
 *	  The history writer (history.c), used by the capture trigger (capture.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef TASKDB_HISTORY_H
#define TASKDB_HISTORY_H

#include "access/heapam.h"
#include "access/tableam.h"
#include "executor/execdesc.h"
#include "nodes/execnodes.h"
#include "utils/hsearch.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

/* Events per row of taskdb.history; history_id_seq advances by this much. */
#define HISTORY_ROW_EVENTS		64
/* Rows written per table_multi_insert call: at most this many, and this many bytes. */
#define HISTORY_ROW_BATCH		256
#define HISTORY_BATCH_BYTES		(1024 * 1024)
/*
 * What one statement buffers before writing its groups: work_mem, counting
 * the groups, their events and their changes, but at least this much.
 */
#define HISTORY_BUFFER_MIN_BYTES	(1024 * 1024)
/* A row's changes of at least this many bytes are stored compressed. */
#define HISTORY_COMPRESS_BYTES	128

/* Columns of taskdb.history and of every partition, in this order. */
#define HISTORY_COL_OCCURRED_AT	1
#define HISTORY_COL_XACT_ID		2
#define HISTORY_COL_ID			3
#define HISTORY_COL_ERA			4
#define HISTORY_COL_ENTITY		5
#define HISTORY_COL_OPERATION	6
#define HISTORY_COL_TASK_ID		7
#define HISTORY_COL_ENTITY_IDS	8
#define HISTORY_COL_STATUSES	9
#define HISTORY_COL_CHANGES		10
#define HISTORY_COL_ARCHIVED_AT	11
#define HISTORY_NATTS			11

/* Codes of taskdb.history.entity and .operation. */
#define HISTORY_TASK		't'
#define HISTORY_RUN			'r'
#define HISTORY_GATE		'g'
#define HISTORY_ARTIFACT	'a'
#define HISTORY_REPORT		'p'
#define HISTORY_INSERT		'i'
#define HISTORY_UPDATE		'u'
#define HISTORY_DELETE		'd'
#define HISTORY_TRUNCATE	't'

/* One statement's events on their way into taskdb.history. */
typedef struct HistoryWriter
{
	char		entity;
	char		operation;
	bool		has_status;
	TimestampTz occurred_at;
	Datum		xact_id;
	int32		era;
	Oid			seq;
	MemoryContext cxt;			/* the writer's own: its slots and state */
	Relation	rel;			/* the partition written */
	EState	   *estate;
	ResultRelInfo *rri;
	BulkInsertState bistate;
	MemoryContext batchcxt;		/* one batch of rows: arrays, index insertion */
	MemoryContext groupcxt;		/* the buffered events */
	HTAB	   *groups;
	Size		buffered_bytes;	/* groups, events and changes held */
	Size		buffer_limit;
	int64		events;
	TupleTableSlot *slots[HISTORY_ROW_BATCH];
	int			nslots;
	int			nrows;
	Size		batch_bytes;	/* the rows formed so far, roughly */
} HistoryWriter;

extern bool taskdb_restoring;
extern char *taskdb_history_partition_interval;

extern uint8 history_status_code(Datum status, bool isnull);
extern int32 history_current_era(void);
extern void history_writer_begin(HistoryWriter *w, char entity, char operation, bool has_status);
extern void history_writer_add(HistoryWriter *w, const pg_uuid_t *entity_id, const pg_uuid_t *task,
							   uint8 old_status, uint8 new_status, const char *changes);
extern void history_writer_finish(HistoryWriter *w);

#endif							/* TASKDB_HISTORY_H */
