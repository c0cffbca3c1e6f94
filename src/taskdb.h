/*-------------------------------------------------------------------------
 *
 * taskdb.h
 *	  Declarations shared by taskdb's source files.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TASKDB_H
#define TASKDB_H

#include "postgres.h"

#include "executor/spi.h"
#include "executor/tuptable.h"
#include "lib/stringinfo.h"
#include "portability/instr_time.h"
#include "utils/jsonb.h"
#include "utils/uuid.h"

/* Name of the schema the extension lives in (taskdb.control: relocatable = false). */
#define TASKDB_SCHEMA "taskdb"

/* The extension version this library implements (taskdb.control). */
#define TASKDB_VERSION "1.1"

/* The counters a task_status row holds; every status_derived case is a function of them. */
typedef struct StatusCounters
{
	int64		runs_total;
	int64		runs_running;
	int64		runs_completed;
	int64		runs_failed;
	int64		gates_failed;
} StatusCounters;

/*
 * Work done by taskdb_run_as_owner() inside its SPI connection, with
 * search_path pinned to pg_catalog, pg_temp.
 */
typedef void (*TaskdbWork) (void *arg);

/* taskdb_run_as_owner flags */
#define RUN_READ_COMMITTED	0x01	/* run at READ COMMITTED (the commit-time flush) */

/* Offending values are quoted in messages up to this many bytes. */
#define TASKDB_QUOTE_MAX 100

/* taskdb.c */
extern void _PG_init(void);
extern Oid	taskdb_relation_oid(const char *relname, bool missing_ok);
extern void taskdb_run_as_owner(const char *relname, int flags, TaskdbWork work, void *arg);
extern char *taskdb_quote_value(const char *s, int len);
extern SPIPlanPtr taskdb_keep_plan(SPIPlanPtr *cache, const char *sql,
								   int nargs, Oid *argtypes);
extern char *taskdb_uuid_string(const pg_uuid_t *uuid);
extern int	taskdb_attnum(TupleDesc tupdesc, const char *column);

/* changes.c */
extern bool history_row_changes(TupleTableSlot *oldslot, TupleTableSlot *newslot,
								bool content_digest, StringInfo out);

/* events.c */
extern bool events_archiving;
extern void events_register_callbacks(void);
extern bool events_xact_wrote_data(void);
extern void events_note_write(void);

/* json_keys.c */
extern Jsonb *taskdb_jsonb_unique_keys(text *t, const char *what);

/* metrics.c */
typedef enum TaskdbTimer
{
	TIMER_STATUS_READ,
	TIMER_VERIFICATION,
	TIMER_SUMMARY_FLUSH
} TaskdbTimer;
extern void metrics_init(void);
extern void metrics_timer_start(instr_time *start);
extern void metrics_observe(TaskdbTimer which, instr_time start);
extern void metrics_count_verification(bool passed);
extern void metrics_count_archived(int64 n);
extern void metrics_count_doctor(const int64 *checks, int64 orphans);
extern void metrics_writer_begin(void);
extern void metrics_build_exposition(StringInfo buf);

/* metrics_http.c */
extern int	taskdb_metrics_port;
extern char *taskdb_metrics_listen_address;
extern void metrics_http_register(void);
extern PGDLLEXPORT void taskdb_metrics_http_main(Datum main_arg);

/* hash.c */
#define SHA256_HEX_LEN 64
extern void taskdb_sha256_hex(const void *data, size_t len, char *out);
extern void taskdb_hmac_sha256_hex(const void *key, size_t keylen,
								   const void *data, size_t len, char *out);
extern bool taskdb_sha256_text_valid(const char *s, int len);

/* version.c */
extern void version_register_callbacks(void);
extern void taskdb_check_sql_version(void);

/* status.c */

/* Which counters a source table feeds. */
typedef enum DeltaSource
{
	SOURCE_TASKS,
	SOURCE_RUNS,
	SOURCE_GATES,
	SOURCE_NONE					/* artifacts, reports: no counter */
} DeltaSource;

/* The current (sub)transaction's pending summary deltas (status.c). */
typedef struct DeltaLevel DeltaLevel;

extern void status_register_callbacks(void);
extern const char *status_rule(const StatusCounters *c);
extern DeltaLevel *status_level(void);
extern void status_fold(DeltaLevel *level, DeltaSource source, const pg_uuid_t *task,
						Datum status, int sign);
extern void status_task_deleted(DeltaLevel *level, const pg_uuid_t *task_id);
extern void status_task_inserted(const pg_uuid_t *task_id);
extern void status_insert_summary_rows(Datum *ids, int n);
extern void status_truncated(DeltaSource source);

/* notify.c */
extern bool taskdb_notify_status_changes;
extern void notify_define_setting(void);
extern void notify_status_changes(const pg_uuid_t *const *task_ids,
								  const StatusCounters *const *deltas,
								  int n, bool old_known);

#endif							/* TASKDB_H */
