/*-------------------------------------------------------------------------
 *
 * export_hash.c
 *	  taskdb.export_hash(): one SHA-256 over all of taskdb's data, in a
 *	  canonical form, to prove that two databases (or one database before
 *	  and after a crash, a dump and restore, a migration) hold the same data.
 *
 * What is hashed, in this order: tasks, runs, gates, artifacts, reports
 * (every column), and task_status without calculated_at (the time of the
 * last status change, which a restore or a recomputation legitimately
 * moves).  Not hashed: the event history (its times and transaction ids
 * record when things were written, which no copy can reproduce, and it is
 * not dumped), the signing key (a secret) and report_clock (not data).
 *
 * Canonical form: each table's rows in primary-key order, each row as its
 * record text (the output of t::text) with the settings that shape that text
 * fixed by the SQL function's SET clauses (TimeZone UTC, DateStyle ISO,
 * bytea_output hex, extra_float_digits 1, ...).  So the hash does not
 * depend on physical row order, VACUUM, the session's settings or the
 * server's locale.  The digest input is, per table, "table <name>\n" and
 * then per row "<length>:<text>\n"; length prefixes make the encoding
 * unambiguous.
 *
 * Rows are read through a cursor, 10,000 at a time, and fed to the digest
 * as they come: memory does not grow with the data.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <openssl/evp.h>

#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"

#include "compat.h"
#include "taskdb.h"

PG_FUNCTION_INFO_V1(export_hash);

#define FETCH_ROWS 10000

typedef struct HashedTable
{
	const char *name;
	const char *query;
} HashedTable;

static const HashedTable hashed_tables[] = {
	{"tasks", "SELECT t::text FROM taskdb.tasks t ORDER BY t.id"},
	{"runs", "SELECT t::text FROM taskdb.runs t ORDER BY t.id"},
	{"gates", "SELECT t::text FROM taskdb.gates t ORDER BY t.id"},
	{"artifacts", "SELECT t::text FROM taskdb.artifacts t ORDER BY t.id"},
	{"reports", "SELECT t::text FROM taskdb.reports t ORDER BY t.id"},
	{"task_status",
		"SELECT ROW(t.task_id, t.runs_total, t.runs_running, t.runs_completed, "
		"t.runs_failed, t.gates_failed, t.status_derived, t.health_score)::text "
		"FROM taskdb.task_status t ORDER BY t.task_id"},
};

static void
digest_update(EVP_MD_CTX *ctx, const void *data, size_t len)
{
	if (EVP_DigestUpdate(ctx, data, len) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("taskdb: SHA-256 digest update failed")));
}

/* Feed one table's rows into the digest, a batch at a time. */
static void
hash_table(EVP_MD_CTX *ctx, const HashedTable *t)
{
	SPIPlanPtr	plan;
	Portal		portal;
	char		header[64];

	snprintf(header, sizeof(header), "table %s\n", t->name);
	digest_update(ctx, header, strlen(header));

	plan = SPI_prepare(t->query, 0, NULL);
	if (plan == NULL)
		elog(ERROR, "taskdb: SPI_prepare failed for \"%s\": %s",
			 t->query, SPI_result_code_string(SPI_result));
	portal = SPI_cursor_open(NULL, plan, NULL, NULL, true);
	for (;;)
	{
		uint64		i;

		CHECK_FOR_INTERRUPTS();
		SPI_cursor_fetch(portal, true, FETCH_ROWS);
		if (SPI_processed == 0)
			break;
		for (i = 0; i < SPI_processed; i++)
		{
			bool		isnull;
			Datum		d = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull);
			text	   *row;
			char		len[24];

			if (isnull)
				elog(ERROR, "taskdb: a row of %s has no text form", t->name);
			row = DatumGetTextPP(d);
			snprintf(len, sizeof(len), "%d:", (int) VARSIZE_ANY_EXHDR(row));
			digest_update(ctx, len, strlen(len));
			digest_update(ctx, VARDATA_ANY(row), VARSIZE_ANY_EXHDR(row));
			digest_update(ctx, "\n", 1);
			if ((Pointer) row != DatumGetPointer(d))
				pfree(row);
		}
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_cursor_close(portal);
	SPI_freeplan(plan);
}

/*
 * taskdb.export_hash() -> text: 'sha256:' and 64 hex digits.  Reads every
 * table in the statement's snapshot with the caller's privileges.
 */
Datum
export_hash(PG_FUNCTION_ARGS)
{
	EVP_MD_CTX *volatile ctx;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char		out[7 + 2 * 32 + 1];
	int			i;

	taskdb_check_sql_version();
	ctx = EVP_MD_CTX_new();
	if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
	{
		EVP_MD_CTX_free(ctx);
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("taskdb: could not start a SHA-256 digest")));
	}

	PG_TRY();
	{
		digest_update(ctx, "taskdb-export/1\n", strlen("taskdb-export/1\n"));
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "taskdb: SPI_connect failed");
		for (i = 0; i < (int) lengthof(hashed_tables); i++)
			hash_table(ctx, &hashed_tables[i]);
		SPI_finish();
		if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != 32)
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg("taskdb: SHA-256 digest failed")));
	}
	PG_FINALLY();
	{
		EVP_MD_CTX_free(ctx);
	}
	PG_END_TRY();

	memcpy(out, "sha256:", 7);
	for (i = 0; i < 32; i++)
	{
		static const char hexdigits[] = "0123456789abcdef";

		out[7 + 2 * i] = hexdigits[md[i] >> 4];
		out[7 + 2 * i + 1] = hexdigits[md[i] & 0xf];
	}
	out[7 + 64] = '\0';
	PG_RETURN_TEXT_P(cstring_to_text(out));
}
