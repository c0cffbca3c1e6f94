/*-------------------------------------------------------------------------
 *
 * metrics.c
 *	  Counters and latency histograms in shared memory, and their Prometheus
 *	  text exposition (taskdb.metrics()).
 *
 * Protocol
 * --------
 * One TaskdbMetrics struct in shared memory, allocated only when taskdb is
 * in shared_preload_libraries (shmem_request_hook from 15 on,
 * RequestAddinShmemSpace before).  Every field is a pg_atomic_uint64 (the
 * writers gauge a pg_atomic_uint32) updated with pg_atomic_fetch_add: no
 * lock anywhere, on the hot path or when reading.  A reader may see one
 * histogram's buckets and its count a few observations apart; each bucket
 * and counter is exact and never goes backwards, except through
 * metrics_reset(), which zeroes fields one by one (a concurrent observation
 * can survive a reset, never be double-counted).
 *
 * Without preloading, taskdb_metrics is NULL: observations are skipped, and
 * the SQL functions that read metrics raise an error saying how to enable
 * them; everything else in taskdb works the same.
 *
 * Histograms count observations in milliseconds into fixed buckets from
 * 0.01 ms to 10 s (plus +Inf), so sub-millisecond reads are resolved.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "compat.h"
#include "taskdb.h"

PG_FUNCTION_INFO_V1(metrics);
PG_FUNCTION_INFO_V1(metrics_reset);
PG_FUNCTION_INFO_V1(count_doctor_checks);
PG_FUNCTION_INFO_V1(metric_samples);
PG_FUNCTION_INFO_V1(metrics_histogram);

/* Upper bounds of the histogram buckets, in milliseconds; +Inf follows. */
static const double bucket_bounds[] = {
	0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500,
	1000, 2500, 5000, 10000
};
#define NUM_BOUNDS lengthof(bucket_bounds)

typedef struct Histogram
{
	pg_atomic_uint64 buckets[NUM_BOUNDS + 1];	/* not cumulative; last = +Inf */
	pg_atomic_uint64 count;
	pg_atomic_uint64 sum_ns;
} Histogram;

typedef struct TaskdbMetrics
{
	Histogram	read_latency;	/* taskdb.status_derived() */
	Histogram	verify_latency; /* verify_provenance / debug_provenance */
	Histogram	flush_latency;	/* the commit-time summary flush */
	pg_atomic_uint64 verifications_pass;
	pg_atomic_uint64 verifications_fail;
	pg_atomic_uint64 doctor_checks[3];	/* pass, warn, fail */
	pg_atomic_uint64 orphans_detected;
	pg_atomic_uint64 events_archived;
	pg_atomic_uint32 writers;	/* transactions that have written taskdb tables */
	pg_atomic_uint64 reset_at;	/* TimestampTz of the last reset */
} TaskdbMetrics;

static TaskdbMetrics *taskdb_metrics = NULL;

static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/* This backend's transaction counts as a writer in the gauge. */
static bool counted_as_writer = false;

static void
histogram_init(Histogram *h)
{
	int			i;

	for (i = 0; i <= (int) NUM_BOUNDS; i++)
		pg_atomic_init_u64(&h->buckets[i], 0);
	pg_atomic_init_u64(&h->count, 0);
	pg_atomic_init_u64(&h->sum_ns, 0);
}

static void
histogram_zero(Histogram *h)
{
	int			i;

	for (i = 0; i <= (int) NUM_BOUNDS; i++)
		pg_atomic_write_u64(&h->buckets[i], 0);
	pg_atomic_write_u64(&h->count, 0);
	pg_atomic_write_u64(&h->sum_ns, 0);
}

/* Run when shared memory is requested (taskdb_request_shmem says when). */
static void
metrics_shmem_request(void)
{
	RequestAddinShmemSpace(MAXALIGN(sizeof(TaskdbMetrics)));
}

static void
metrics_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	taskdb_metrics = ShmemInitStruct("taskdb metrics", sizeof(TaskdbMetrics), &found);
	if (!found)
	{
		int			i;

		histogram_init(&taskdb_metrics->read_latency);
		histogram_init(&taskdb_metrics->verify_latency);
		histogram_init(&taskdb_metrics->flush_latency);
		pg_atomic_init_u64(&taskdb_metrics->verifications_pass, 0);
		pg_atomic_init_u64(&taskdb_metrics->verifications_fail, 0);
		for (i = 0; i < 3; i++)
			pg_atomic_init_u64(&taskdb_metrics->doctor_checks[i], 0);
		pg_atomic_init_u64(&taskdb_metrics->orphans_detected, 0);
		pg_atomic_init_u64(&taskdb_metrics->events_archived, 0);
		pg_atomic_init_u32(&taskdb_metrics->writers, 0);
		pg_atomic_init_u64(&taskdb_metrics->reset_at, (uint64) GetCurrentTimestamp());
	}
	LWLockRelease(AddinShmemInitLock);
}

/* At transaction end: this backend's transaction no longer writes. */
static void
metrics_xact_callback(XactEvent event, void *arg)
{
	if ((event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT ||
		 event == XACT_EVENT_PREPARE ||
		 event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_PARALLEL_ABORT) &&
		counted_as_writer)
	{
		counted_as_writer = false;
		if (taskdb_metrics)
			pg_atomic_fetch_sub_u32(&taskdb_metrics->writers, 1);
	}
}

/* From _PG_init: shared memory only when preloaded; the callback always. */
void
metrics_init(void)
{
	RegisterXactCallback(metrics_xact_callback, NULL);
	if (!process_shared_preload_libraries_in_progress)
		return;
	taskdb_request_shmem(metrics_shmem_request);
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = metrics_shmem_startup;
}

/* ------------------------------------------------------------------------
 * Observations (no-ops without preloading)
 * ------------------------------------------------------------------------ */

static void
histogram_observe(Histogram *h, instr_time start)
{
	instr_time	now;
	double		ms;
	int			i;

	INSTR_TIME_SET_CURRENT(now);
	INSTR_TIME_SUBTRACT(now, start);
	ms = INSTR_TIME_GET_MILLISEC(now);
	for (i = 0; i < (int) NUM_BOUNDS && ms > bucket_bounds[i]; i++)
		;
	pg_atomic_fetch_add_u64(&h->buckets[i], 1);
	pg_atomic_fetch_add_u64(&h->count, 1);
	pg_atomic_fetch_add_u64(&h->sum_ns, (uint64) (ms * 1e6));
}

/* Start a timing: reads the clock only when the metrics are collected. */
void
metrics_timer_start(instr_time *start)
{
	if (taskdb_metrics != NULL)
		INSTR_TIME_SET_CURRENT(*start);
	else
		INSTR_TIME_SET_ZERO(*start);
}

void
metrics_observe(TaskdbTimer which, instr_time start)
{
	if (taskdb_metrics == NULL)
		return;
	switch (which)
	{
		case TIMER_STATUS_READ:
			histogram_observe(&taskdb_metrics->read_latency, start);
			break;
		case TIMER_VERIFICATION:
			histogram_observe(&taskdb_metrics->verify_latency, start);
			break;
		case TIMER_SUMMARY_FLUSH:
			histogram_observe(&taskdb_metrics->flush_latency, start);
			break;
	}
}

void
metrics_count_verification(bool passed)
{
	if (taskdb_metrics)
		pg_atomic_fetch_add_u64(passed ? &taskdb_metrics->verifications_pass
								: &taskdb_metrics->verifications_fail, 1);
}

void
metrics_count_archived(int64 n)
{
	if (taskdb_metrics && n > 0)
		pg_atomic_fetch_add_u64(&taskdb_metrics->events_archived, (uint64) n);
}

/* The current transaction writes taskdb tables (counted once per transaction). */
void
metrics_writer_begin(void)
{
	if (taskdb_metrics == NULL || counted_as_writer)
		return;
	counted_as_writer = true;
	pg_atomic_fetch_add_u32(&taskdb_metrics->writers, 1);
}

/* ------------------------------------------------------------------------
 * SQL functions
 * ------------------------------------------------------------------------ */

static void
require_metrics(const char *fname)
{
	if (taskdb_metrics == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("taskdb metrics are not collected: taskdb is not in shared_preload_libraries"),
				 errdetail("%s needs the shared memory taskdb allocates at server start.", fname),
				 errhint("Add taskdb to shared_preload_libraries in postgresql.conf and restart the server.")));
}

/*
 * What one run of taskdb.doctor() found, into taskdb_doctor_checks_total and
 * taskdb_orphans_detected_total.  A no-op without preloading (doctor works
 * either way).
 */
void
metrics_count_doctor(const int64 *checks, int64 orphans)
{
	int			i;

	if (taskdb_metrics == NULL)
		return;
	for (i = 0; i < 3; i++)
		if (checks[i] > 0)
			pg_atomic_fetch_add_u64(&taskdb_metrics->doctor_checks[i], (uint64) checks[i]);
	if (orphans > 0)
		pg_atomic_fetch_add_u64(&taskdb_metrics->orphans_detected, (uint64) orphans);
}

/*
 * count_doctor_checks(pass, warn, fail, orphans): the 1.0 doctor()'s way of
 * counting, kept for databases whose SQL is still 1.0.  In 1.1 the function
 * is gone (anyone could call it to push the counters); doctor() counts what
 * its own checks found, in doctor.c.
 */
Datum
count_doctor_checks(PG_FUNCTION_ARGS)
{
	int64		checks[3] = {0, 0, 0};
	int			i;

	for (i = 0; i < 3; i++)
		if (!PG_ARGISNULL(i))
			checks[i] = PG_GETARG_INT32(i);
	metrics_count_doctor(checks, PG_ARGISNULL(3) ? 0 : PG_GETARG_INT64(3));
	PG_RETURN_VOID();
}

static void
expose_histogram(StringInfo buf, const char *name, const char *help, Histogram *h)
{
	uint64		cumulative = 0;
	int			i;

	appendStringInfo(buf, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
	for (i = 0; i <= (int) NUM_BOUNDS; i++)
	{
		cumulative += pg_atomic_read_u64(&h->buckets[i]);
		if (i < (int) NUM_BOUNDS)
			appendStringInfo(buf, "%s_bucket{le=\"%g\"} " UINT64_FORMAT "\n",
							 name, bucket_bounds[i], cumulative);
		else
			appendStringInfo(buf, "%s_bucket{le=\"+Inf\"} " UINT64_FORMAT "\n", name, cumulative);
	}
	appendStringInfo(buf, "%s_sum %.6f\n", name, (double) pg_atomic_read_u64(&h->sum_ns) / 1e6);
	/* count = the +Inf bucket, so the exposition is self-consistent */
	appendStringInfo(buf, "%s_count " UINT64_FORMAT "\n", name, cumulative);
}

static void
expose_counter(StringInfo buf, const char *name, const char *help, const char *type)
{
	appendStringInfo(buf, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/*
 * The exposition text, for metrics(), metric_samples() and the /metrics
 * endpoint (metrics_http.c).  Reads shared memory only: no catalog access,
 * no transaction, so the HTTP worker can call it.  Call only when preloaded.
 */
void
metrics_build_exposition(StringInfo buf)
{
	static const char *const doctor_status[3] = {"pass", "warn", "fail"};
	int			i;

	expose_histogram(buf, "taskdb_status_derived_read_latency_ms",
					 "Latency of status_derived reads through taskdb.status_derived(), in milliseconds.",
					 &taskdb_metrics->read_latency);
	expose_counter(buf, "taskdb_provenance_verifications_total",
				   "Provenance verifications (verify_provenance, debug_provenance) by verdict: pass when every claim and the signature pass.",
				   "counter");
	appendStringInfo(buf, "taskdb_provenance_verifications_total{status=\"pass\"} " UINT64_FORMAT "\n",
					 pg_atomic_read_u64(&taskdb_metrics->verifications_pass));
	appendStringInfo(buf, "taskdb_provenance_verifications_total{status=\"fail\"} " UINT64_FORMAT "\n",
					 pg_atomic_read_u64(&taskdb_metrics->verifications_fail));
	expose_histogram(buf, "taskdb_provenance_verification_latency_ms",
					 "Latency of provenance verifications, in milliseconds.",
					 &taskdb_metrics->verify_latency);
	expose_histogram(buf, "taskdb_status_flush_latency_ms",
					 "Latency of the commit-time flush of status_derived deltas into task_status, in milliseconds.",
					 &taskdb_metrics->flush_latency);
	expose_counter(buf, "taskdb_concurrent_writers_total",
				   "Transactions in progress that have written taskdb tables.", "gauge");
	appendStringInfo(buf, "taskdb_concurrent_writers_total %u\n",
					 pg_atomic_read_u32(&taskdb_metrics->writers));
	expose_counter(buf, "taskdb_doctor_checks_total",
				   "Checks run by taskdb.doctor(), by result.", "counter");
	for (i = 0; i < 3; i++)
		appendStringInfo(buf, "taskdb_doctor_checks_total{status=\"%s\"} " UINT64_FORMAT "\n",
						 doctor_status[i], pg_atomic_read_u64(&taskdb_metrics->doctor_checks[i]));
	expose_counter(buf, "taskdb_orphans_detected_total",
				   "Orphaned or missing rows found by taskdb.doctor().", "counter");
	appendStringInfo(buf, "taskdb_orphans_detected_total " UINT64_FORMAT "\n",
					 pg_atomic_read_u64(&taskdb_metrics->orphans_detected));
	expose_counter(buf, "taskdb_events_archived_total",
				   "Events moved to taskdb.events_archive by taskdb.archive_events().", "counter");
	appendStringInfo(buf, "taskdb_events_archived_total " UINT64_FORMAT "\n",
					 pg_atomic_read_u64(&taskdb_metrics->events_archived));
	expose_counter(buf, "taskdb_build_info",
				   "taskdb build: version and PostgreSQL major version; always 1.", "gauge");
	appendStringInfo(buf, "taskdb_build_info{version=\"%s\",pg_major=\"%d\"} 1\n",
					 TASKDB_VERSION, PG_VERSION_NUM / 10000);
}

/* taskdb.metrics(): every metric in the Prometheus text exposition format. */
Datum
metrics(PG_FUNCTION_ARGS)
{
	StringInfoData buf;

	require_metrics("taskdb.metrics()");
	initStringInfo(&buf);
	metrics_build_exposition(&buf);
	PG_RETURN_TEXT_P(cstring_to_text_with_len(buf.data, buf.len));
}

/*
 * taskdb.metric_samples(): the samples of metrics() as rows (metric, labels,
 * value), read from the same text so the two never disagree; the view
 * taskdb.stat shows them.
 */
Datum
metric_samples(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	StringInfoData buf;
	char	   *line;
	char	   *save = NULL;

	require_metrics("taskdb.stat");
	taskdb_init_materialized_srf(fcinfo);
	initStringInfo(&buf);
	metrics_build_exposition(&buf);
	for (line = strtok_r(buf.data, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
	{
		char	   *space = strrchr(line, ' ');
		char	   *brace = strchr(line, '{');
		Datum		values[3];
		bool		nulls[3] = {false, false, false};

		if (line[0] == '#' || space == NULL)
			continue;
		*space = '\0';
		if (brace && brace < space)
		{
			*brace = '\0';
			brace[strlen(brace + 1)] = '\0';	/* drop the closing brace */
			values[1] = CStringGetTextDatum(brace + 1);
		}
		else
			nulls[1] = true;
		values[0] = CStringGetTextDatum(line);
		values[2] = Float8GetDatum(strtod(space + 1, NULL));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * taskdb.metrics_histogram(name): one histogram in the shape
 * postgres_exporter's HISTOGRAM usage reads: bucket upper bounds, the
 * cumulative count at each, the sum and the count.
 */
Datum
metrics_histogram(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	const char *bare = strncmp(name, "taskdb_", 7) == 0 ? name + 7 : name;
	Histogram  *h;
	TupleDesc	desc;
	Datum		bounds[NUM_BOUNDS + 1];
	Datum		counts[NUM_BOUNDS + 1];
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};
	uint64		cumulative = 0;
	int			i;

	require_metrics("taskdb.metrics_histogram()");
	if (strcmp(bare, "status_derived_read_latency_ms") == 0)
		h = &taskdb_metrics->read_latency;
	else if (strcmp(bare, "provenance_verification_latency_ms") == 0)
		h = &taskdb_metrics->verify_latency;
	else if (strcmp(bare, "status_flush_latency_ms") == 0)
		h = &taskdb_metrics->flush_latency;
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("taskdb has no histogram \"%s\"", name),
				 errhint("The histograms are status_derived_read_latency_ms, provenance_verification_latency_ms and status_flush_latency_ms.")));
	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	for (i = 0; i <= (int) NUM_BOUNDS; i++)
	{
		cumulative += pg_atomic_read_u64(&h->buckets[i]);
		bounds[i] = Float8GetDatum(i < (int) NUM_BOUNDS ? bucket_bounds[i] : get_float8_infinity());
		counts[i] = Int64GetDatum((int64) cumulative);
	}
	values[0] = PointerGetDatum(construct_array(bounds, NUM_BOUNDS + 1, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	values[1] = PointerGetDatum(construct_array(counts, NUM_BOUNDS + 1, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	values[2] = Float8GetDatum((double) pg_atomic_read_u64(&h->sum_ns) / 1e6);
	values[3] = Int64GetDatum((int64) cumulative);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls)));
}

/* taskdb.metrics_reset(): zero every counter and histogram (not the writers gauge). */
Datum
metrics_reset(PG_FUNCTION_ARGS)
{
	int			i;

	require_metrics("taskdb.metrics_reset()");
	histogram_zero(&taskdb_metrics->read_latency);
	histogram_zero(&taskdb_metrics->verify_latency);
	histogram_zero(&taskdb_metrics->flush_latency);
	pg_atomic_write_u64(&taskdb_metrics->verifications_pass, 0);
	pg_atomic_write_u64(&taskdb_metrics->verifications_fail, 0);
	for (i = 0; i < 3; i++)
		pg_atomic_write_u64(&taskdb_metrics->doctor_checks[i], 0);
	pg_atomic_write_u64(&taskdb_metrics->orphans_detected, 0);
	pg_atomic_write_u64(&taskdb_metrics->events_archived, 0);
	pg_atomic_write_u64(&taskdb_metrics->reset_at, (uint64) GetCurrentTimestamp());
	PG_RETURN_VOID();
}
