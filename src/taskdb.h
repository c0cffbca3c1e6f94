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
#include "lib/stringinfo.h"
#include "portability/instr_time.h"
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

/* events.c */
extern bool events_archiving;
extern void events_register_callbacks(void);
extern bool events_xact_wrote_data(void);

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
extern void status_register_callbacks(void);
extern const char *status_rule(const StatusCounters *c);

#endif							/* TASKDB_H */
