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

#include "utils/uuid.h"

/* Name of the schema the extension lives in (taskdb.control: relocatable = false). */
#define TASKDB_SCHEMA "taskdb"

/* The counters a task_status row holds; every status_derived case is a function of them. */
typedef struct StatusCounters
{
	int64		runs_total;
	int64		runs_running;
	int64		runs_completed;
	int64		runs_failed;
	int64		gates_failed;
} StatusCounters;

/* taskdb.c */
extern void _PG_init(void);
extern Oid	taskdb_relation_oid(const char *relname, bool missing_ok);

/* status.c */
extern void status_register_callbacks(void);
extern const char *status_rule(const StatusCounters *c);

#endif							/* TASKDB_H */
