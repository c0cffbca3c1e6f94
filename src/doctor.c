/*-------------------------------------------------------------------------
 *
 * doctor.c
 *	  taskdb.doctor(): the health checks, counted into the metrics.
 *
 * The checks themselves are SQL, taskdb.doctor_checks(sample), run with
 * the caller's privileges: doctor reveals nothing the caller cannot read.
 * This wrapper runs them (search_path pinned) and adds what they found to
 * taskdb_doctor_checks_total{status} and taskdb_orphans_detected_total.
 * Counting lives here, in C, and not in a function of its own, so the only
 * way to move those counters is to run the checks: in 1.0, any role could
 * call count_doctor_checks() with made-up numbers and fire the alerts.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"

#include "compat.h"
#include "taskdb.h"

PG_FUNCTION_INFO_V1(doctor);

typedef struct DoctorWork
{
	ReturnSetInfo *rsinfo;
	Datum		sample;
	bool		sample_null;
	int64		checks[3];		/* pass, warn, fail */
	int64		orphans;
} DoctorWork;

static void
doctor_work(void *arg)
{
	DoctorWork *work = (DoctorWork *) arg;
	Oid			argtypes[1] = {INT4OID};
	char		nulls[1] = {work->sample_null ? 'n' : ' '};
	uint64		i;

	if (SPI_execute_with_args("SELECT d.check_name, d.status, d.detail, d.problems"
							  "  FROM taskdb.doctor_checks($1) d",
							  1, argtypes, &work->sample, nulls, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "taskdb: running the doctor's checks failed");
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		Datum		values[3];
		bool		isnull[3];
		bool		problems_null;
		Datum		problems;
		int			j;

		for (j = 0; j < 3; j++)
			values[j] = SPI_getbinval(tup, desc, j + 1, &isnull[j]);
		problems = SPI_getbinval(tup, desc, 4, &problems_null);
		/* copied into the tuplestore's own memory */
		tuplestore_putvalues(work->rsinfo->setResult, work->rsinfo->setDesc, values, isnull);

		if (isnull[0] || isnull[1])
			continue;
		if (strcmp(TextDatumGetCString(values[0]), "system_health") == 0)
			continue;			/* the verdict, not a check */
		if (strcmp(TextDatumGetCString(values[1]), "pass") == 0)
			work->checks[0]++;
		else if (strcmp(TextDatumGetCString(values[1]), "warn") == 0)
			work->checks[1]++;
		else
			work->checks[2]++;
		if (strcmp(TextDatumGetCString(values[0]), "orphans") == 0 && !problems_null)
			work->orphans += DatumGetInt64(problems);
	}
}

/* doctor(sample integer): the rows of doctor_checks(sample), counted. */
Datum
doctor(PG_FUNCTION_ARGS)
{
	DoctorWork	work;

	taskdb_init_materialized_srf(fcinfo);
	memset(&work, 0, sizeof(work));
	work.rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	work.sample_null = PG_ARGISNULL(0);
	work.sample = work.sample_null ? (Datum) 0 : PG_GETARG_DATUM(0);
	taskdb_run_as_owner(NULL, 0, doctor_work, &work);
	metrics_count_doctor(work.checks, work.orphans);
	return (Datum) 0;
}
