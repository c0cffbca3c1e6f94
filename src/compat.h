/*-------------------------------------------------------------------------
 *
 * compat.h
 *	  The one place that knows which PostgreSQL major version we build for
 *	  (13 through 18).  Source files use these names, never #if blocks.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TASKDB_COMPAT_H
#define TASKDB_COMPAT_H

#include "postgres.h"

#if PG_VERSION_NUM < 130000
#error "taskdb requires PostgreSQL 13 or later"
#endif

/* varatt.h was split out of postgres.h in 16. */
#if PG_VERSION_NUM >= 160000
#include "varatt.h"
#endif

/* PG 16 renamed the pg_class ownership check. */
#if PG_VERSION_NUM >= 160000
#define taskdb_class_ownercheck(relid, roleid) \
	object_ownercheck(RelationRelationId, (relid), (roleid))
#else
#define taskdb_class_ownercheck(relid, roleid) pg_class_ownercheck((relid), (roleid))
#endif

/*
 * A set-returning function that materializes its result into a tuplestore:
 * InitMaterializedSRF() from 15 on, spelled out for 13 and 14.
 */
#if PG_VERSION_NUM >= 150000
#include "funcapi.h"
#define taskdb_init_materialized_srf(fcinfo) InitMaterializedSRF((fcinfo), 0)
#define taskdb_init_materialized_srf_scalar(fcinfo) \
	InitMaterializedSRF((fcinfo), MAT_SRF_USE_EXPECTED_DESC)
#else
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/tuplestore.h"
static inline void
taskdb_init_materialized_srf_common(FunctionCallInfo fcinfo, bool scalar)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext oldcontext;
	TupleDesc	tupdesc;

	if (rsinfo == NULL || !IsA(rsinfo, ReturnSetInfo) ||
		!(rsinfo->allowedModes & SFRM_Materialize))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("set-valued function called in context that cannot accept a set")));
	oldcontext = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
	if (scalar)
		tupdesc = rsinfo->expectedDesc;
	else if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	rsinfo->returnMode = SFRM_Materialize;
	rsinfo->setResult = tuplestore_begin_heap(true, false, work_mem);
	rsinfo->setDesc = CreateTupleDescCopy(tupdesc);
	MemoryContextSwitchTo(oldcontext);
}
#define taskdb_init_materialized_srf(fcinfo) taskdb_init_materialized_srf_common((fcinfo), false)
#define taskdb_init_materialized_srf_scalar(fcinfo) taskdb_init_materialized_srf_common((fcinfo), true)
#endif

/*
 * Index entries for a tuple inserted outside the executor's ModifyTable:
 * PG 13 reads the result relation from the EState, 14 takes it as an
 * argument (with "update"), 16 adds "onlySummarizing".
 */
#include "executor/executor.h"
#if PG_VERSION_NUM >= 160000
#define taskdb_insert_index_tuples(rri, slot, estate) \
	ExecInsertIndexTuples((rri), (slot), (estate), false, false, NULL, NIL, false)
#elif PG_VERSION_NUM >= 140000
#define taskdb_insert_index_tuples(rri, slot, estate) \
	ExecInsertIndexTuples((rri), (slot), (estate), false, false, NULL, NIL)
#else
#define taskdb_insert_index_tuples(rri, slot, estate) \
	((estate)->es_result_relation_info = (rri), \
	 ExecInsertIndexTuples((slot), (estate), false, NULL, NIL))
#endif

/*
 * A WaitEventSet that belongs to no resource owner: 17 takes the owner,
 * earlier versions a memory context.  Callers free it with FreeWaitEventSet.
 */
#include "storage/latch.h"
#if PG_VERSION_NUM >= 170000
#define taskdb_create_wait_event_set(nevents) CreateWaitEventSet(NULL, (nevents))
#else
#define taskdb_create_wait_event_set(nevents) CreateWaitEventSet(CurrentMemoryContext, (nevents))
#endif

/* PG 15 renamed EmitWarningsOnPlaceholders. */
#include "utils/guc.h"
#if PG_VERSION_NUM < 150000
#define MarkGUCPrefixReserved(prefix) EmitWarningsOnPlaceholders(prefix)
#endif

/* PG 18 asks whether a deferrable primary key will do; ours is not deferrable. */
#include "utils/relcache.h"
#if PG_VERSION_NUM >= 180000
#define taskdb_primary_key_index(rel) RelationGetPrimaryKeyIndex((rel), false)
#else
#define taskdb_primary_key_index(rel) RelationGetPrimaryKeyIndex(rel)
#endif

/*
 * Shared memory of a preloaded library: from 15 on it is requested in
 * shmem_request_hook (RequestAddinShmemSpace() elsewhere is an error),
 * before 15 straight from _PG_init.  taskdb_request_shmem(fn), called from
 * _PG_init while preloading, makes fn request it at the right moment;
 * from 15 on it chains to the hook that was installed before.  Only one
 * caller (metrics.c) uses it, so one saved hook is enough.
 */
#include "storage/ipc.h"
#include "storage/shmem.h"
#if PG_VERSION_NUM >= 150000
#include "miscadmin.h"
static shmem_request_hook_type taskdb_prev_shmem_request_hook pg_attribute_unused() = NULL;
static void (*taskdb_shmem_request_fn) (void) pg_attribute_unused() = NULL;

static inline void
taskdb_shmem_request_chain(void)
{
	if (taskdb_prev_shmem_request_hook)
		taskdb_prev_shmem_request_hook();
	taskdb_shmem_request_fn();
}

static inline void
taskdb_request_shmem(void (*fn) (void))
{
	taskdb_shmem_request_fn = fn;
	taskdb_prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = taskdb_shmem_request_chain;
}
#else
static inline void
taskdb_request_shmem(void (*fn) (void))
{
	fn();
}
#endif

/* strtou64() came with 14 (c.h); unsigned long long is 64 bits wide. */
#if PG_VERSION_NUM < 140000
#define strtou64(str, endptr, base) ((uint64) strtoull((str), (endptr), (base)))
#endif

/* PG 14 made string keys of dynahash tables explicit. */
#ifndef HASH_STRINGS
#define HASH_STRINGS 0
#endif

/*
 * The JSON parser's callbacks return an error code from 16 on (void
 * before); 17 moved the lexer context to the caller.
 */
#include "common/jsonapi.h"
#include "mb/pg_wchar.h"
#if PG_VERSION_NUM >= 160000
#define TASKDB_JSON_ACTION JsonParseErrorType
#define TASKDB_JSON_ACTION_DONE return JSON_SUCCESS
#else
#define TASKDB_JSON_ACTION void
#define TASKDB_JSON_ACTION_DONE return
#endif
#if PG_VERSION_NUM >= 170000
#define taskdb_make_json_lex(s, len) \
	makeJsonLexContextCstringLen(NULL, (s), (len), GetDatabaseEncoding(), true)
#else
#define taskdb_make_json_lex(s, len) \
	makeJsonLexContextCstringLen((s), (len), GetDatabaseEncoding(), true)
#endif

/*
 * Updating a tuple outside ModifyTable: 16 made "which indexes need new
 * entries" an enum (summarizing indexes apart), and ExecInsertIndexTuples
 * took an onlySummarizing argument.  *all_indexes: every index needs an
 * entry (not a HOT update).  The index entries are inserted with
 * update = false: the "unchanged by UPDATE" hint needs the executor's range
 * table, and without it the entries are only not marked for bottom-up
 * deletion.
 */
#include "access/tableam.h"
#if PG_VERSION_NUM >= 160000
static inline TM_Result
taskdb_tuple_update(Relation rel, ItemPointer otid, TupleTableSlot *slot, CommandId cid,
					Snapshot snapshot, TM_FailureData *tmfd, LockTupleMode *lockmode,
					bool *all_indexes)
{
	TU_UpdateIndexes which = TU_None;
	TM_Result	res = table_tuple_update(rel, otid, slot, cid, snapshot, InvalidSnapshot, true,
										 tmfd, lockmode, &which);

	*all_indexes = (which != TU_None);
	return res;
}
#define taskdb_update_index_tuples(rri, slot, estate) \
	ExecInsertIndexTuples((rri), (slot), (estate), false, false, NULL, NIL, false)
#else
static inline TM_Result
taskdb_tuple_update(Relation rel, ItemPointer otid, TupleTableSlot *slot, CommandId cid,
					Snapshot snapshot, TM_FailureData *tmfd, LockTupleMode *lockmode,
					bool *all_indexes)
{
	return table_tuple_update(rel, otid, slot, cid, snapshot, InvalidSnapshot, true,
							  tmfd, lockmode, all_indexes);
}
#if PG_VERSION_NUM >= 140000
#define taskdb_update_index_tuples(rri, slot, estate) \
	ExecInsertIndexTuples((rri), (slot), (estate), false, false, NULL, NIL)
#else
#define taskdb_update_index_tuples(rri, slot, estate) \
	((estate)->es_result_relation_info = (rri), \
	 ExecInsertIndexTuples((slot), (estate), false, NULL, NIL))
#endif
#endif

/*
 * Compressing a value inline, as TOAST does: 14 added the method argument
 * (and lz4, used when the server is built with it); 13 has pglz only.
 * Returns a null pointer when compression does not pay.
 */
#include "access/toast_internals.h"
#if PG_VERSION_NUM >= 140000
#include "access/toast_compression.h"
#ifdef USE_LZ4
#define taskdb_compress_datum(d) toast_compress_datum((d), TOAST_LZ4_COMPRESSION)
#else
#define taskdb_compress_datum(d) toast_compress_datum((d), TOAST_PGLZ_COMPRESSION)
#endif
#else
#define taskdb_compress_datum(d) toast_compress_datum(d)
#endif

/* try_table_open came with 14; in 13 the relation variant does the same for a table. */
#if PG_VERSION_NUM < 140000
#include "access/relation.h"
#define try_table_open(relid, lockmode) try_relation_open((relid), (lockmode))
#endif

/* PG 18 added the scan's instrumentation (EXPLAIN ANALYZE) to index_beginscan. */
#include "access/genam.h"
#if PG_VERSION_NUM >= 180000
#define taskdb_index_beginscan(heap, index, snapshot, nkeys, norderbys) \
	index_beginscan((heap), (index), (snapshot), NULL, (nkeys), (norderbys))
#else
#define taskdb_index_beginscan(heap, index, snapshot, nkeys, norderbys) \
	index_beginscan((heap), (index), (snapshot), (nkeys), (norderbys))
#endif

#endif							/* TASKDB_COMPAT_H */
