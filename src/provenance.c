/*-------------------------------------------------------------------------
 *
 * provenance.c
 *	  Publishing signed provenance reports and verifying them claim by claim.
 *
 * A report freezes claims ("task X has status completed", "artifact Y has
 * hash H") at ONE MVCC snapshot.  publish_report:
 *
 *	1. validates the caller's claims (any defect is an ERROR naming the claim);
 *	2. as the owner of taskdb.reports, advances the single row of
 *	   taskdb.report_clock to GREATEST(clock_timestamp(), previous + 1 us).
 *	   The row lock serializes publishers until each commits, which makes
 *	   verification_snapshot_ts unique and strictly increasing, and (at READ
 *	   COMMITTED) makes each later report's snapshot see every earlier one;
 *	3. takes a fresh snapshot and, as the CALLER (so it reveals nothing the
 *	   caller cannot read), reads pg_current_snapshot() and every claim's
 *	   value in one read-only query under that snapshot;
 *	4. signs the canonical text of the report (the jsonb text form without
 *	   the "signature" key) with HMAC-SHA-256 under the key in
 *	   taskdb.signing_key, readable only by its owner, and stores the report.
 *
 * Signing happens only here, on values taskdb itself read: there is no SQL
 * function that signs a caller-supplied document, and verification says
 * only valid / invalid, so the key cannot be used as a signing oracle.
 *
 * verify_provenance compares each claim with the current data and, when
 * they differ, explains why from taskdb.events: an event is "after the
 * snapshot" when its transaction is not visible in the recorded snapshot
 * (pg_visible_in_snapshot), never by comparing times, because commit order
 * is not timestamp order.  Structural defects of the document (not an
 * object, missing snapshot, ...) are ERRORs; a defective claim inside an
 * otherwise sound report is a FAIL row saying why, so one bad claim does not
 * hide the verdict on the others.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <openssl/crypto.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "commands/sequence.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "mb/pg_wchar.h"
#include "storage/lmgr.h"
#include "tcop/utility.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/hsearch.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
#include "utils/uuid.h"

#include "compat.h"
#include "taskdb.h"

PG_FUNCTION_INFO_V1(publish_report);
PG_FUNCTION_INFO_V1(verify_provenance);
PG_FUNCTION_INFO_V1(debug_provenance);
PG_FUNCTION_INFO_V1(report_signature_valid);

#define REPORT_FORMAT "taskdb-provenance/1"
#define SIGNATURE_PREFIX "hmac-sha256:"
#define MAX_CLAIMS 100000

typedef enum ClaimKind
{
	CLAIM_TASK,
	CLAIM_RUN,
	CLAIM_GATE,
	CLAIM_ARTIFACT,
	CLAIM_STATUS_DERIVED,
	NUM_CLAIM_KINDS
} ClaimKind;

static const struct
{
	const char *name;			/* claim kind as written in documents */
	const char *noun;			/* for human messages */
	const char *lower;			/* the same in lower case */
	const char *allowed;		/* allowed values of "expected", NULL = a hash */
}			kinds[NUM_CLAIM_KINDS] =
{
	[CLAIM_TASK] = {"task_id", "Task", "task", "pending, in_progress, completed, failed, cancelled, retracted"},
	[CLAIM_RUN] = {"run_id", "Run", "run", "queued, running, completed, failed, cancelled"},
	[CLAIM_GATE] = {"gate_id", "Gate", "gate", "pending, pass, fail, skipped"},
	[CLAIM_ARTIFACT] = {"artifact_hash", "Artifact", "artifact", NULL},
	[CLAIM_STATUS_DERIVED] = {"status_derived", "Task", "task", "failed, pending, in_progress, completed, blocked"},
};

typedef struct Claim
{
	int			ord;			/* 1-based position in the document */
	ClaimKind	kind;
	bool		kind_known;		/* kind parsed (a malformed claim may lack one) */
	bool		has_id;
	pg_uuid_t	id;
	char	   *hash;			/* artifact_hash given by hash, else NULL */
	char	   *expected;		/* value the report asserts; NULL = existence only */
	char	   *at_snapshot;	/* value at the snapshot; NULL = absent */
	char	   *label;			/* "kind:id-or-hash" */
	char	   *malformed;		/* verify: why the claim is unusable, else NULL */

	/* what verification found */
	bool		found;
	char	   *current;
	char	   *content_hash;	/* sha256 of stored artifact content, if any */
	bool		ever;			/* any event or row ever named this entity */
	bool		has_after;		/* some event after the snapshot */
	TimestampTz first_after_at;
	TimestampTz last_after_at;
	bool		has_insert_after;
	TimestampTz insert_after_at;
	bool		has_content_after;	/* an artifact's content changed after the snapshot */
	TimestampTz content_after_at;
} Claim;

typedef struct ClaimResult
{
	const char *claim;
	const char *kind;
	bool		pass;
	char	   *expected;
	char	   *actual;
	char	   *mismatch;
	bool		has_changed_at;
	TimestampTz changed_at;
	/* debug_provenance's wording */
	char	   *summary;
	char	   *why;
	char	   *verbose_expected;
	char	   *verbose_actual;
} ClaimResult;

/* ------------------------------------------------------------------------
 * Small helpers
 * ------------------------------------------------------------------------ */

#define quote_value(s, len) taskdb_quote_value((s), (len))

static const char *
jsonb_type_name(JsonbValue *v)
{
	switch (v->type)
	{
		case jbvNull:
			return "null";
		case jbvString:
			return "a string";
		case jbvNumeric:
			return "a number";
		case jbvBool:
			return "a boolean";
		case jbvBinary:
			return JsonContainerIsArray(v->val.binary.data) ? "an array" : "an object";
		default:
			return "a container";
	}
}

/* JSON text of a scalar or container, for quoting a bad value. */
static char *
jsonb_value_text(JsonbValue *v)
{
	if (v->type == jbvString)
		return quote_value(v->val.string.val, v->val.string.len);
	if (v->type == jbvBinary)
	{
		char	   *s = JsonbToCString(NULL, v->val.binary.data, v->val.binary.len);

		return quote_value(s, strlen(s));
	}
	{
		Jsonb	   *j = JsonbValueToJsonb(v);
		char	   *s = JsonbToCString(NULL, &j->root, VARSIZE(j));

		return quote_value(s, strlen(s));
	}
}

static JsonbValue *
object_get(JsonbContainer *obj, const char *key)
{
	JsonbValue	k;

	k.type = jbvString;
	k.val.string.val = (char *) key;
	k.val.string.len = strlen(key);
	return findJsonbValueFromContainer(obj, JB_FOBJECT, &k);
}

static bool
is_object(JsonbValue *v)
{
	return v != NULL && v->type == jbvBinary && JsonContainerIsObject(v->val.binary.data);
}

static bool
is_array(JsonbValue *v)
{
	return v != NULL && v->type == jbvBinary && JsonContainerIsArray(v->val.binary.data);
}

/* Parse a uuid in its canonical 36-character form (any case); false if malformed. */
static bool
parse_uuid(const char *s, int len, pg_uuid_t *out)
{
	int			i,
				j = 0;

	if (len != 36)
		return false;
	for (i = 0; i < 36; i++)
	{
		char		c = s[i];
		int			nib;

		if (i == 8 || i == 13 || i == 18 || i == 23)
		{
			if (c != '-')
				return false;
			continue;
		}
		if (c >= '0' && c <= '9')
			nib = c - '0';
		else if (c >= 'a' && c <= 'f')
			nib = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			nib = c - 'A' + 10;
		else
			return false;
		if (j % 2 == 0)
			out->data[j / 2] = nib << 4;
		else
			out->data[j / 2] |= nib;
		j++;
	}
	return true;
}

/* Is value one of the comma-separated words of list? */
static bool
value_allowed(const char *list, const char *value)
{
	size_t		vlen = strlen(value);
	const char *p = list;

	while (*p)
	{
		const char *end = strchr(p, ',');
		size_t		wlen = end ? (size_t) (end - p) : strlen(p);

		if (wlen == vlen && memcmp(p, value, vlen) == 0)
			return true;
		if (!end)
			break;
		p = end + 1;
		while (*p == ' ')
			p++;
	}
	return false;
}

static char *
format_ts(TimestampTz ts)
{
	struct pg_tm tm;
	fsec_t		fsec;

	if (TIMESTAMP_NOT_FINITE(ts) || timestamp2tm(ts, NULL, &tm, &fsec, NULL, NULL) != 0)
		return pstrdup("(invalid time)");
	return psprintf("%04d-%02d-%02dT%02d:%02d:%02d.%06dZ",
					tm.tm_year, tm.tm_mon, tm.tm_mday,
					tm.tm_hour, tm.tm_min, tm.tm_sec, (int) fsec);
}

/* "YYYY-MM-DDTHH:MM:SS[.ffffff]Z", digits where digits belong, fields in range; sets *out. */
static bool
parse_ts(const char *s, int len, TimestampTz *out)
{
	static const char pattern[] = "dddd-dd-ddTdd:dd:dd";
	int			y, mo, d, h, mi, sec;
	int			i;
	char	   *cs;

	if (len < 20 || len > 27 || s[len - 1] != 'Z')
		return false;
	for (i = 0; i < 19; i++)
		if (pattern[i] == 'd' ? !(s[i] >= '0' && s[i] <= '9') : s[i] != pattern[i])
			return false;
	if (len > 20)
	{
		/* a fraction of 1 to 6 digits */
		if (s[19] != '.' || len < 22)
			return false;
		for (i = 20; i < len - 1; i++)
			if (!(s[i] >= '0' && s[i] <= '9'))
				return false;
	}
	cs = pnstrdup(s, len);
	if (sscanf(cs, "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &d, &h, &mi, &sec) != 6)
		return false;
	if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > day_tab[isleap(y)][mo - 1] ||
		h > 23 || mi > 59 || sec > 59)
		return false;
	*out = DatumGetTimestampTz(DirectFunctionCall3(timestamptz_in, CStringGetDatum(cs),
												   ObjectIdGetDatum(InvalidOid),
												   Int32GetDatum(-1)));
	return true;
}

/*
 * "xmin:xmax:xip,xip,..." as pg_current_snapshot() prints it: decimal
 * numbers, xmin <= xip < xmax, xips ascending.  Checked here so that
 * pg_snapshot_in never has to reject it (its error has no hint).
 */
static bool
snapshot_syntax_ok(const char *s, int len)
{
	const char *p = s;
	const char *end = s + len;
	uint64		xmin,
				xmax,
				prev = 0;
	int			field = 0;
	bool		first_xip = true;

	if (len < 4 || len > 64 * 1024 * 1024)
		return false;
	while (p < end)
	{
		uint64		v = 0;
		const char *start = p;

		while (p < end && *p >= '0' && *p <= '9')
		{
			if (v > (PG_UINT64_MAX - 9) / 10)
				return false;
			v = v * 10 + (*p - '0');
			p++;
		}
		if (p == start)
			return field == 2 && p == end && first_xip;	/* empty xip list */
		if (field == 0)
		{
			if (v == 0)
				return false;	/* xid 0 is never a transaction */
			xmin = v;
		}
		else if (field == 1)
		{
			xmax = v;
			if (xmin > xmax)
				return false;
		}
		else
		{
			if (v < xmin || v >= xmax || (!first_xip && v <= prev))
				return false;
			prev = v;
			first_xip = false;
		}
		if (p == end)
			return field == 2;
		if (*p == ':' && field < 2)
			field++;
		else if (!(*p == ',' && field == 2))
			return false;
		p++;
		if (field == 2 && p == end)
			return first_xip;	/* "xmin:xmax:" */
		if (p == end)
			return false;
	}
	return false;
}

static char *
claim_label(Claim *c)
{
	if (c->kind == CLAIM_ARTIFACT && c->hash != NULL)
		return psprintf("%s:%s", kinds[c->kind].name, c->hash);
	return psprintf("%s:%s", kinds[c->kind].name, taskdb_uuid_string(&c->id));
}

/* ------------------------------------------------------------------------
 * Reading claims
 * ------------------------------------------------------------------------ */

/*
 * Reports a defect of claim c.  In a claims document (publish) that is an
 * ERROR; in a report (verify) the claim becomes a FAIL row saying why.
 */
#define CLAIM_DEFECT(strict, c, detail_fmt, ...) \
	do { \
		char *why_ = psprintf(detail_fmt, __VA_ARGS__); \
		if (strict) \
			ereport(ERROR, \
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE), \
					 errmsg("invalid claim %d: %s", (c)->ord, why_), \
					 errhint("A claim is an object such as {\"kind\": \"task_id\", \"id\": \"<uuid>\"}; kinds are task_id, run_id, gate_id, status_derived (optional \"expected\" status) and artifact_hash (\"id\" and/or \"hash\": \"sha256:<64 hex>\")."))); \
		(c)->malformed = why_; \
	} while (0)

static bool
claim_string(bool strict, Claim *c, JsonbContainer *obj, const char *key,
			 bool required, bool nullable, char **out)
{
	JsonbValue *v = object_get(obj, key);

	*out = NULL;
	if (v == NULL)
	{
		if (required)
		{
			CLAIM_DEFECT(strict, c, "field \"%s\" is missing", key);
			return false;
		}
		return true;
	}
	if (v->type == jbvNull && nullable)
		return true;
	if (v->type != jbvString)
	{
		CLAIM_DEFECT(strict, c, "field \"%s\" must be a string, not %s (%s)",
					 key, jsonb_type_name(v), jsonb_value_text(v));
		return false;
	}
	*out = pnstrdup(v->val.string.val, v->val.string.len);
	return true;
}

/*
 * Fill c from the claim object v.  report = true for a published report's
 * claims (which also carry "claim" and "at_snapshot").
 */
static void
read_claim(Claim *c, JsonbValue *v, bool report)
{
	bool		strict = !report;
	JsonbContainer *obj;
	JsonbIterator *it;
	JsonbValue	tok;
	JsonbIteratorToken r;
	char	   *kind;
	char	   *id;
	char	   *hash;
	char	   *expected;
	int			k;

	if (!is_object(v))
	{
		CLAIM_DEFECT(strict, c, "a claim must be an object, not %s (%s)",
					 jsonb_type_name(v), jsonb_value_text(v));
		return;
	}
	obj = v->val.binary.data;

	/* A report's claim names itself; keep the name for the FAIL row. */
	if (report)
	{
		JsonbValue *lv = object_get(obj, "claim");

		if (lv != NULL && lv->type == jbvString)
			c->label = quote_value(lv->val.string.val, lv->val.string.len);
	}

	/* Unknown fields are refused: a misspelt "expected" must not pass silently. */
	it = JsonbIteratorInit(obj);
	while ((r = JsonbIteratorNext(&it, &tok, true)) != WJB_DONE)
	{
		if (r == WJB_KEY)
		{
			char	   *key = pnstrdup(tok.val.string.val, tok.val.string.len);

			if (strcmp(key, "kind") != 0 && strcmp(key, "id") != 0 &&
				strcmp(key, "hash") != 0 && strcmp(key, "expected") != 0 &&
				!(report && (strcmp(key, "claim") == 0 || strcmp(key, "at_snapshot") == 0)))
			{
				CLAIM_DEFECT(strict, c, "unknown field \"%s\"", quote_value(key, strlen(key)));
				return;
			}
		}
	}

	if (!claim_string(strict, c, obj, "kind", true, false, &kind))
		return;
	for (k = 0; k < NUM_CLAIM_KINDS; k++)
		if (strcmp(kind, kinds[k].name) == 0)
			break;
	if (k == NUM_CLAIM_KINDS)
	{
		CLAIM_DEFECT(strict, c, "unknown claim kind \"%s\" (kinds are task_id, run_id, gate_id, artifact_hash, status_derived)",
					 quote_value(kind, strlen(kind)));
		return;
	}
	c->kind = (ClaimKind) k;
	c->kind_known = true;

	if (!claim_string(strict, c, obj, "id", c->kind != CLAIM_ARTIFACT, report, &id) ||
		!claim_string(strict, c, obj, "hash", false, report, &hash) ||
		!claim_string(strict, c, obj, "expected", false, true, &expected))
		return;

	if (id != NULL)
	{
		if (!parse_uuid(id, strlen(id), &c->id))
		{
			CLAIM_DEFECT(strict, c, "\"%s\" is not a uuid", quote_value(id, strlen(id)));
			return;
		}
		c->has_id = true;
	}
	if (hash != NULL && c->kind != CLAIM_ARTIFACT)
	{
		CLAIM_DEFECT(strict, c, "field \"hash\" belongs to artifact_hash claims, not %s", kinds[c->kind].name);
		return;
	}
	if (hash != NULL && !taskdb_sha256_text_valid(hash, strlen(hash)))
	{
		CLAIM_DEFECT(strict, c, "\"%s\" is not a sha256 hash (\"sha256:\" followed by 64 lower-case hex digits)",
					 quote_value(hash, strlen(hash)));
		return;
	}
	if (c->kind == CLAIM_ARTIFACT && !c->has_id && hash == NULL)
	{
		if (!report)
		{
			CLAIM_DEFECT(strict, c, "%s", "an artifact_hash claim needs \"id\" or \"hash\"");
			return;
		}
	}
	if (expected != NULL)
	{
		bool		ok = kinds[c->kind].allowed
			? value_allowed(kinds[c->kind].allowed, expected)
			: taskdb_sha256_text_valid(expected, strlen(expected));

		if (!ok)
		{
			CLAIM_DEFECT(strict, c, "\"%s\" is not a possible value of a %s claim (allowed: %s)",
						 quote_value(expected, strlen(expected)), kinds[c->kind].name,
						 kinds[c->kind].allowed ? kinds[c->kind].allowed : "a sha256 hash");
			return;
		}
	}
	if (!report && c->kind == CLAIM_ARTIFACT && expected != NULL)
	{
		CLAIM_DEFECT(strict, c, "%s", "an artifact_hash claim states its hash in \"hash\", not \"expected\"");
		return;
	}
	c->hash = hash;
	c->expected = expected;

	if (report)
	{
		char	   *label;
		char	   *at;
		JsonbValue *atv = object_get(obj, "at_snapshot");

		if (atv == NULL)
		{
			c->malformed = pstrdup("field \"at_snapshot\" is missing");
			return;
		}
		if (!claim_string(false, c, obj, "at_snapshot", true, true, &at) ||
			!claim_string(false, c, obj, "claim", true, false, &label))
			return;
		if (strcmp(label, claim_label(c)) != 0)
		{
			c->malformed = psprintf("its name \"%s\" does not match its kind and id (%s)",
									quote_value(label, strlen(label)), claim_label(c));
			return;
		}
		if (at != NULL && (kinds[c->kind].allowed
						   ? !value_allowed(kinds[c->kind].allowed, at)
						   : !taskdb_sha256_text_valid(at, strlen(at))))
		{
			c->malformed = psprintf("\"%s\" is not a possible value of a %s claim",
									quote_value(at, strlen(at)), kinds[c->kind].name);
			return;
		}
		c->at_snapshot = at;
		if (at != NULL && !c->has_id)
		{
			c->malformed = pstrdup("a claim that held at the snapshot must name the entity's \"id\"");
			return;
		}
		c->label = label;
	}
	else
		c->label = claim_label(c);
}

/* Two claims about the same thing: the later one is a defect. */
static void
check_duplicates(Claim *claims, int n, bool strict)
{
	HASHCTL		ctl;
	HTAB	   *seen;
	int			i;

	typedef struct SeenClaim
	{
		char		key[7 + SHA256_HEX_LEN + 32];
		int			ord;
	} SeenClaim;

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(((SeenClaim *) 0)->key);
	ctl.entrysize = sizeof(SeenClaim);
	ctl.hcxt = CurrentMemoryContext;
	seen = hash_create("taskdb claims", Max(n, 16), &ctl, HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);

	for (i = 0; i < n; i++)
	{
		Claim	   *c = &claims[i];
		char		key[sizeof(((SeenClaim *) 0)->key)];
		SeenClaim  *s;
		bool		found;

		if (c->malformed)
			continue;
		if (c->has_id)
			snprintf(key, sizeof(key), "%d:%s", (int) c->kind, taskdb_uuid_string(&c->id));
		else if (c->hash)
			snprintf(key, sizeof(key), "%d:%s", (int) c->kind, c->hash);
		else
			continue;
		s = hash_search(seen, key, HASH_ENTER, &found);
		if (found)
			CLAIM_DEFECT(strict, c, "duplicate of claim %d (%s)", s->ord, c->label ? c->label : key);
		else
			s->ord = c->ord;
	}
	hash_destroy(seen);
}

/* The claims array of a document; *n set to its length (ERROR if too long). */
static JsonbContainer *
claims_array(JsonbValue *v, const char *what, int *n)
{
	JsonbContainer *arr = v->val.binary.data;

	*n = JsonContainerSize(arr);
	if (*n > MAX_CLAIMS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("%s has %d claims, more than the limit of %d", what, *n, MAX_CLAIMS),
				 errhint("Split the claims over several reports.")));
	return arr;
}

/* ------------------------------------------------------------------------
 * Reading current values (one query for all claims)
 * ------------------------------------------------------------------------ */

/*
 * Current value of each claim's entity under the active snapshot, read with
 * the caller's privileges.  $1 kinds text[], $2 ids uuid[], $3 hashes text[]
 * (artifact claims given by hash alone are resolved to the oldest artifact
 * with that hash).  Rows come back in claim order.
 */
#define VALUES_SQL \
	"SELECT c.ord, x.rid, x.value, x.content_hash" \
	"  FROM ROWS FROM (pg_catalog.unnest($1::pg_catalog.text[]), pg_catalog.unnest($2::pg_catalog.uuid[])," \
	"                  pg_catalog.unnest($3::pg_catalog.text[]))" \
	"       WITH ORDINALITY AS c(kind, id, hash, ord)" \
	"  LEFT JOIN LATERAL (" \
	"    SELECT t.id AS rid, t.status::pg_catalog.text AS value, NULL::pg_catalog.text AS content_hash" \
	"      FROM taskdb.tasks t WHERE c.kind OPERATOR(pg_catalog.=) 'task_id' AND t.id OPERATOR(pg_catalog.=) c.id" \
	"    UNION ALL" \
	"    SELECT r.id, r.status::pg_catalog.text, NULL FROM taskdb.runs r" \
	"     WHERE c.kind OPERATOR(pg_catalog.=) 'run_id' AND r.id OPERATOR(pg_catalog.=) c.id" \
	"    UNION ALL" \
	"    SELECT g.id, g.status::pg_catalog.text, NULL FROM taskdb.gates g" \
	"     WHERE c.kind OPERATOR(pg_catalog.=) 'gate_id' AND g.id OPERATOR(pg_catalog.=) c.id" \
	"    UNION ALL" \
	"    SELECT s.task_id, taskdb.status_derived(s.task_id), NULL FROM taskdb.task_status s" \
	"     WHERE c.kind OPERATOR(pg_catalog.=) 'status_derived' AND s.task_id OPERATOR(pg_catalog.=) c.id" \
	"    UNION ALL" \
	"    (SELECT a.id, a.sha256, CASE WHEN a.content IS NOT NULL THEN taskdb.sha256(a.content) END" \
	"       FROM taskdb.artifacts a" \
	"      WHERE c.kind OPERATOR(pg_catalog.=) 'artifact_hash'" \
	"        AND (a.id OPERATOR(pg_catalog.=) c.id" \
	"             OR (c.id IS NULL AND a.sha256 OPERATOR(pg_catalog.=) c.hash))" \
	"      ORDER BY a.created_at, a.id LIMIT 1)" \
	"  ) x ON true" \
	" ORDER BY c.ord"

/*
 * What the event history says about each claim relative to snapshot $4:
 * whether the entity ever existed, and its events NOT visible in the
 * snapshot (the first, the last, the first insert, the first that changed an
 * artifact's content).  A status_derived claim
 * follows the events of the task's runs and gates and the creation and
 * deletion of the task itself (not updates of its stored status, which do
 * not change status_derived).
 */
#define HISTORY_SQL \
	"SELECT c.ord, h.ever, a.first_at, a.last_at, a.insert_at, a.content_at" \
	"  FROM ROWS FROM (pg_catalog.unnest($1::pg_catalog.text[]), pg_catalog.unnest($2::pg_catalog.uuid[]))" \
	"       WITH ORDINALITY AS c(kind, id, ord)" \
	"  CROSS JOIN LATERAL (SELECT CASE WHEN c.kind OPERATOR(pg_catalog.=) 'task_id' THEN 'task'" \
	"                      WHEN c.kind OPERATOR(pg_catalog.=) 'run_id' THEN 'run'" \
	"                      WHEN c.kind OPERATOR(pg_catalog.=) 'gate_id' THEN 'gate'" \
	"                      WHEN c.kind OPERATOR(pg_catalog.=) 'artifact_hash' THEN 'artifact' END AS entity) k" \
	"  CROSS JOIN LATERAL (SELECT EXISTS (SELECT 1 FROM taskdb.event_history e" \
	"                                     WHERE e.entity_id OPERATOR(pg_catalog.=) c.id) AS ever) h" \
	"  CROSS JOIN LATERAL (" \
	"    SELECT (pg_catalog.array_agg(x.occurred_at ORDER BY x.id))[1] AS first_at," \
	"           (pg_catalog.array_agg(x.occurred_at ORDER BY x.id DESC))[1] AS last_at," \
	"           pg_catalog.min(x.occurred_at) FILTER (WHERE x.operation OPERATOR(pg_catalog.=) 'insert'" \
	"                                                AND x.mine) AS insert_at," \
	"           pg_catalog.min(x.occurred_at) FILTER (WHERE x.mine AND x.content) AS content_at" \
	"      FROM (SELECT e.id, e.occurred_at, e.operation, true AS mine," \
	"                   e.changes OPERATOR(pg_catalog.?) 'content' AS content" \
	"              FROM taskdb.event_history e" \
	"             WHERE k.entity IS NOT NULL AND e.entity_id OPERATOR(pg_catalog.=) c.id" \
	"               AND e.entity OPERATOR(pg_catalog.=) k.entity" \
	"               AND NOT pg_catalog.pg_visible_in_snapshot(e.xact_id, (SELECT $3::pg_catalog.pg_snapshot))" \
	"            UNION ALL" \
	"            SELECT e.id, e.occurred_at, e.operation, e.entity OPERATOR(pg_catalog.=) 'task', false" \
	"              FROM taskdb.event_history e" \
	"             WHERE c.kind OPERATOR(pg_catalog.=) 'status_derived'" \
	"               AND e.task_id OPERATOR(pg_catalog.=) c.id" \
	"               AND (e.entity OPERATOR(pg_catalog.=) ANY ('{run,gate}'::pg_catalog.text[])" \
	"                    OR (e.entity OPERATOR(pg_catalog.=) 'task'" \
	"                        AND e.operation OPERATOR(pg_catalog.<>) 'update'))" \
	"               AND NOT pg_catalog.pg_visible_in_snapshot(e.xact_id, (SELECT $3::pg_catalog.pg_snapshot))" \
	"            UNION ALL" \
	"            SELECT e.id, e.occurred_at, e.operation, false, false FROM taskdb.event_history e" \
	"             WHERE e.entity_id IS NULL AND e.operation OPERATOR(pg_catalog.=) 'truncate'" \
	"               AND e.entity OPERATOR(pg_catalog.=) ANY (CASE WHEN c.kind OPERATOR(pg_catalog.=) 'status_derived'" \
	"                                     THEN '{task,run,gate}'::pg_catalog.text[] ELSE ARRAY[k.entity] END)" \
	"               AND NOT pg_catalog.pg_visible_in_snapshot(e.xact_id, (SELECT $3::pg_catalog.pg_snapshot))) x" \
	"  ) a" \
	" ORDER BY c.ord"

/*
 * The same for the 1.1 history (taskdb.history, taskdb.history_archive):
 * rows found through their indexes (GIN on entity_ids, btree on task_id;
 * TRUNCATE rows are the ones without a task), their events decoded by
 * taskdb.history_events().  "After the snapshot" is decided per era: an
 * event of a later era than the report's ($4) is after it, of an earlier
 * one before it, and within the report's own era by pg_visible_in_snapshot.
 * One index probe per claim and branch: the rows naming the entity give
 * both "ever" (any event, of any kind) and the events after the snapshot.
 */
#define H11_ROWS(WHERE) \
	"(SELECT z.* FROM taskdb.history z WHERE " WHERE \
	" UNION ALL SELECT z.* FROM taskdb.history_archive z WHERE " WHERE ")"
#define H11_AFTER(X) \
	"(CASE WHEN " X ".era OPERATOR(pg_catalog.>) $4 THEN true" \
	" WHEN " X ".era OPERATOR(pg_catalog.<) $4 THEN false" \
	" ELSE NOT pg_catalog.pg_visible_in_snapshot(" X ".xact_id, $3::pg_catalog.pg_snapshot) END)"
#define HISTORY_SQL_11 \
	"SELECT c.ord, COALESCE(a.ever, false), a.first_at, a.last_at, a.insert_at, a.content_at" \
	"  FROM ROWS FROM (pg_catalog.unnest($1::pg_catalog.text[]), pg_catalog.unnest($2::pg_catalog.uuid[]))" \
	"       WITH ORDINALITY AS c(kind, id, ord)" \
	"  CROSS JOIN LATERAL (SELECT (CASE WHEN c.kind OPERATOR(pg_catalog.=) 'task_id' THEN 't'" \
	"                      WHEN c.kind OPERATOR(pg_catalog.=) 'run_id' THEN 'r'" \
	"                      WHEN c.kind OPERATOR(pg_catalog.=) 'gate_id' THEN 'g'" \
	"                      WHEN c.kind OPERATOR(pg_catalog.=) 'artifact_hash' THEN 'a' END)::pg_catalog.\"char\" AS entity) k" \
	"  CROSS JOIN LATERAL (" \
	"    SELECT pg_catalog.bool_or(x.own) AS ever," \
	"           (pg_catalog.array_agg(x.occurred_at ORDER BY x.id) FILTER (WHERE x.counts))[1] AS first_at," \
	"           (pg_catalog.array_agg(x.occurred_at ORDER BY x.id DESC) FILTER (WHERE x.counts))[1] AS last_at," \
	"           pg_catalog.min(x.occurred_at) FILTER (WHERE x.counts AND x.mine" \
	"                                                AND x.operation OPERATOR(pg_catalog.=) 'i') AS insert_at," \
	"           pg_catalog.min(x.occurred_at) FILTER (WHERE x.counts AND x.mine AND x.content) AS content_at" \
	"      FROM (SELECT y.id OPERATOR(pg_catalog.+) e.ord AS id, y.occurred_at, y.operation, true AS own," \
	"                   y.entity OPERATOR(pg_catalog.=) k.entity AS mine," \
	"                   y.entity OPERATOR(pg_catalog.=) k.entity AND " H11_AFTER("y") " AS counts," \
	"                   COALESCE(e.changes OPERATOR(pg_catalog.?) 'content', false) AS content" \
	"              FROM " H11_ROWS("c.id IS NOT NULL AND z.entity_ids OPERATOR(pg_catalog.@>) ARRAY[c.id]") " y" \
	"              CROSS JOIN LATERAL taskdb.history_events(y.entity_ids, y.statuses, y.changes) e" \
	"             WHERE e.entity_id OPERATOR(pg_catalog.=) c.id" \
	"            UNION ALL" \
	"            SELECT y.id OPERATOR(pg_catalog.+) e.ord, y.occurred_at, y.operation, false," \
	"                   y.entity OPERATOR(pg_catalog.=) 't', true, false" \
	"              FROM " H11_ROWS("c.kind OPERATOR(pg_catalog.=) 'status_derived'" \
								   " AND z.task_id OPERATOR(pg_catalog.=) c.id" \
								   " AND (z.entity OPERATOR(pg_catalog.=) ANY ('{r,g}'::pg_catalog.\"char\"[])" \
								   "      OR (z.entity OPERATOR(pg_catalog.=) 't' AND z.operation OPERATOR(pg_catalog.<>) 'u'))") " y" \
	"              CROSS JOIN LATERAL taskdb.history_events(y.entity_ids, y.statuses, y.changes) e" \
	"             WHERE " H11_AFTER("y") \
	"            UNION ALL" \
	"            SELECT y.id, y.occurred_at, y.operation, false, false, true, false" \
	"              FROM " H11_ROWS("z.task_id IS NULL AND z.operation OPERATOR(pg_catalog.=) 't'" \
								   " AND z.entity OPERATOR(pg_catalog.=) ANY (CASE WHEN c.kind OPERATOR(pg_catalog.=) 'status_derived'" \
								   "     THEN '{t,r,g}'::pg_catalog.\"char\"[] ELSE ARRAY[k.entity] END)") " y" \
	"             WHERE " H11_AFTER("y") ") x" \
	"  ) a" \
	" ORDER BY c.ord"

/*
 * The era a report was published in: the era of its own publication event
 * in the history ($1: report id); 1 if the history has none.
 */
#define REPORT_ERA_SQL \
	"SELECT COALESCE((SELECT q.era FROM " \
	H11_ROWS("z.entity_ids OPERATOR(pg_catalog.@>) ARRAY[$1]" \
			 " AND z.entity OPERATOR(pg_catalog.=) 'p' AND z.operation OPERATOR(pg_catalog.=) 'i'") \
	" q LIMIT 1), 1)"

static SPIPlanPtr plan_report_era = NULL;
static SPIPlanPtr plan_history_11 = NULL;
static SPIPlanPtr plan_values = NULL;
static SPIPlanPtr plan_history = NULL;

static char *
spi_text(HeapTuple tup, TupleDesc desc, int att, MemoryContext cxt)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tup, desc, att, &isnull);

	if (isnull)
		return NULL;
	return MemoryContextStrdup(cxt, TextDatumGetCString(d));
}

/* Arrays of kinds, ids and hashes for the claims that can be looked up. */
static void
claim_arrays(Claim *claims, int n, Datum *values, char *nulls)
{
	Datum	   *kd = palloc0(sizeof(Datum) * Max(n, 1));
	Datum	   *idd = palloc0(sizeof(Datum) * Max(n, 1));
	Datum	   *hd = palloc0(sizeof(Datum) * Max(n, 1));
	bool	   *kn = palloc(sizeof(bool) * Max(n, 1));
	bool	   *idn = palloc(sizeof(bool) * Max(n, 1));
	bool	   *hn = palloc(sizeof(bool) * Max(n, 1));
	int			dims[1] = {n};
	int			lbs[1] = {1};
	int			i;

	for (i = 0; i < n; i++)
	{
		Claim	   *c = &claims[i];

		kn[i] = (c->malformed != NULL);
		if (!kn[i])
			kd[i] = CStringGetTextDatum(kinds[c->kind].name);
		idn[i] = kn[i] || !c->has_id;
		if (!idn[i])
			idd[i] = UUIDPGetDatum(&c->id);
		hn[i] = kn[i] || c->hash == NULL;
		if (!hn[i])
			hd[i] = CStringGetTextDatum(c->hash);
	}
	values[0] = PointerGetDatum(construct_md_array(kd, kn, 1, dims, lbs, TEXTOID, -1, false, TYPALIGN_INT));
	values[1] = PointerGetDatum(construct_md_array(idd, idn, 1, dims, lbs, UUIDOID, UUID_LEN, false, TYPALIGN_CHAR));
	values[2] = PointerGetDatum(construct_md_array(hd, hn, 1, dims, lbs, TEXTOID, -1, false, TYPALIGN_INT));
	nulls[0] = nulls[1] = nulls[2] = ' ';
}

/* Read every claim's current value (and resolved id) under the active snapshot. */
static void
read_current_values(Claim *claims, int n, MemoryContext cxt)
{
	Oid			argtypes[3] = {TEXTARRAYOID, UUIDARRAYOID, TEXTARRAYOID};
	Datum		values[3];
	char		nulls[3];
	uint64		i;
	int			rc;

	claim_arrays(claims, n, values, nulls);
	rc = SPI_execute_plan(taskdb_keep_plan(&plan_values, VALUES_SQL, 3, argtypes),
						  values, nulls, true, 0);
	if (rc != SPI_OK_SELECT || SPI_processed != (uint64) n)
		elog(ERROR, "taskdb: reading claim values failed: %s", SPI_result_code_string(rc));
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		Claim	   *c = &claims[i];
		bool		isnull;
		Datum		rid = SPI_getbinval(tup, desc, 2, &isnull);

		if (c->malformed)
			continue;
		c->found = !isnull;
		if (!isnull && !c->has_id)
		{
			/* artifact claimed by hash: the claim now names the artifact found */
			memcpy(&c->id, DatumGetUUIDP(rid), sizeof(pg_uuid_t));
			c->has_id = true;
		}
		c->current = spi_text(tup, desc, 3, cxt);
		c->content_hash = spi_text(tup, desc, 4, cxt);
		if (c->current == NULL)
			c->found = false;	/* status_derived of a task without a summary row */
	}
}

static void
read_history(Claim *claims, int n, const char *snapshot, pg_uuid_t *report_id)
{
	Oid			argtypes[4] = {TEXTARRAYOID, UUIDARRAYOID, TEXTOID, INT4OID};
	Datum		values[4];
	char		nulls[4];
	Datum		ignored[3];
	uint64		i;
	int			rc;

	claim_arrays(claims, n, ignored, nulls);
	values[0] = ignored[0];
	values[1] = ignored[1];
	values[2] = CStringGetTextDatum(snapshot);
	nulls[3] = ' ';
	/* a database whose SQL is still 1.0 keeps its history in taskdb.events */
	if (OidIsValid(taskdb_relation_oid("history", true)))
	{
		Oid			era_argtypes[1] = {UUIDOID};
		Datum		era_values[1];
		bool		isnull;

		era_values[0] = UUIDPGetDatum(report_id);
		rc = SPI_execute_plan(taskdb_keep_plan(&plan_report_era, REPORT_ERA_SQL, 1, era_argtypes),
							  era_values, NULL, true, 1);
		if (rc != SPI_OK_SELECT || SPI_processed != 1)
			elog(ERROR, "taskdb: reading the report's era failed: %s", SPI_result_code_string(rc));
		values[3] = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
		rc = SPI_execute_plan(taskdb_keep_plan(&plan_history_11, HISTORY_SQL_11, 4, argtypes),
							  values, nulls, true, 0);
	}
	else
		rc = SPI_execute_plan(taskdb_keep_plan(&plan_history, HISTORY_SQL, 3, argtypes),
							  values, nulls, true, 0);
	if (rc != SPI_OK_SELECT || SPI_processed != (uint64) n)
		elog(ERROR, "taskdb: reading event history failed: %s", SPI_result_code_string(rc));
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		Claim	   *c = &claims[i];
		bool		isnull;
		Datum		d;

		d = SPI_getbinval(tup, desc, 2, &isnull);
		c->ever = !isnull && DatumGetBool(d);
		d = SPI_getbinval(tup, desc, 3, &isnull);
		c->has_after = !isnull;
		if (!isnull)
			c->first_after_at = DatumGetTimestampTz(d);
		d = SPI_getbinval(tup, desc, 4, &isnull);
		if (!isnull)
			c->last_after_at = DatumGetTimestampTz(d);
		d = SPI_getbinval(tup, desc, 5, &isnull);
		c->has_insert_after = !isnull;
		if (!isnull)
			c->insert_after_at = DatumGetTimestampTz(d);
		d = SPI_getbinval(tup, desc, 6, &isnull);
		c->has_content_after = !isnull;
		if (!isnull)
			c->content_after_at = DatumGetTimestampTz(d);
	}
}

/* ------------------------------------------------------------------------
 * Signing
 * ------------------------------------------------------------------------ */

/* signing_keys: the caller's memory context in, the keys out. */
typedef struct KeysWork
{
	MemoryContext cxt;
	List	   *keys;
} KeysWork;

static void
signing_keys_work(void *arg)
{
	KeysWork   *work = (KeysWork *) arg;
	uint64		i;

	if (SPI_execute("SELECT k.key FROM taskdb.signing_key k ORDER BY k.created_at, k.key",
					true, 0) != SPI_OK_SELECT)
		elog(ERROR, "taskdb: reading the signing key failed");
	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull);
		MemoryContext old = MemoryContextSwitchTo(work->cxt);

		work->keys = lappend(work->keys, DatumGetByteaPCopy(d));
		MemoryContextSwitchTo(old);
	}
}

/*
 * The signing keys, oldest first, read as the owner of taskdb.signing_key
 * (nobody else can read it).  Copied into the caller's memory context.
 */
static List *
signing_keys(void)
{
	KeysWork	work = {CurrentMemoryContext, NIL};

	taskdb_run_as_owner("signing_key", 0, signing_keys_work, &work);
	if (work.keys == NIL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("taskdb has no report signing key"),
				 errhint("A superuser can set one with SELECT taskdb.set_signing_key(<32 or more random bytes>).")));
	return work.keys;
}

/* "hmac-sha256:<hex>" of the report's canonical text (jsonb text form) under key. */
static char *
report_signature(Jsonb *unsigned_report, bytea *key)
{
	char		hex[SHA256_HEX_LEN + 1];
	char	   *canonical = JsonbToCString(NULL, &unsigned_report->root, VARSIZE(unsigned_report));

	taskdb_hmac_sha256_hex(VARDATA(key), VARSIZE(key) - VARHDRSZ,
						   canonical, strlen(canonical), hex);
	pfree(canonical);
	return psprintf(SIGNATURE_PREFIX "%s", hex);
}

/*
 * Does "given" sign the report (everything but its "signature" member)
 * under one of the signing keys?  Compared in constant time.
 */
static bool
signature_matches(Jsonb *report, const char *given)
{
	Jsonb	   *unsigned_report = DatumGetJsonbP(DirectFunctionCall2(jsonb_delete, JsonbPGetDatum(report),
																	 CStringGetTextDatum("signature")));
	ListCell   *lc;
	bool		match = false;

	foreach(lc, signing_keys())
	{
		char	   *computed = report_signature(unsigned_report, lfirst(lc));

		if (strlen(given) == strlen(computed) &&
			CRYPTO_memcmp(given, computed, strlen(computed)) == 0)
			match = true;
	}
	return match;
}

/*
 * report_signature_valid(report): true when the report carries a signature
 * made with one of this database's keys over the rest of it; false for a
 * missing, malformed or wrong signature.  Says only yes or no, so it cannot
 * be used to make a signature.
 */
Datum
report_signature_valid(PG_FUNCTION_ARGS)
{
	Jsonb	   *report = PG_GETARG_JSONB_P(0);
	JsonbValue *sigv;

	if (!JB_ROOT_IS_OBJECT(report))
		PG_RETURN_BOOL(false);
	sigv = object_get(&report->root, "signature");
	if (sigv == NULL || sigv->type != jbvString)
		PG_RETURN_BOOL(false);
	PG_RETURN_BOOL(signature_matches(report, pnstrdup(sigv->val.string.val, sigv->val.string.len)));
}

/* ------------------------------------------------------------------------
 * publish_report
 * ------------------------------------------------------------------------ */

static void
append_json_or_null(StringInfo buf, const char *s)
{
	if (s == NULL)
		appendStringInfoString(buf, "null");
	else
		escape_json(buf, s);
}

/*
 * The report stamp (verification_snapshot_ts)
 * ------------------------------------------
 * Unique and strictly increasing across concurrent publishers, and no
 * publisher waits for another's transaction.  1.1 keeps the last stamp in the
 * sequence taskdb.report_stamp_seq (microseconds, as timestamptz counts
 * them): sequences are not transactional, so a publisher that stays idle in
 * its transaction, or a prepared one, holds nothing.  The stamp is
 * GREATEST(now, last stamp + 1 us, newest stored report + 1 us); the
 * read-and-advance is made atomic by a session-level lock on the sequence,
 * held for those few microseconds only and released before returning, on
 * errors too.  The sequence is WAL-logged ahead of the values it hands out,
 * so a crash never makes a stamp repeat; a restored database starts above
 * its newest report.
 *
 * A database whose SQL is still 1.0 has no sequence: there the stamp comes
 * from the row of taskdb.report_clock as in 1.0, whose lock is held until
 * the publisher's transaction ends (ALTER EXTENSION taskdb UPDATE removes
 * that wait).
 */
typedef struct StampWork
{
	Oid			seq;			/* report_stamp_seq, or InvalidOid on 1.0 SQL */
	TimestampTz ts;
} StampWork;

static void
report_stamp_work(void *arg)
{
	StampWork  *work = (StampWork *) arg;
	LockRelId	lockid;
	volatile TimestampTz floor_ts = 0;
	bool		isnull;
	Datum		d;

	if (!OidIsValid(work->seq))
	{
		if (SPI_execute("UPDATE taskdb.report_clock"
						"   SET last_ts = pg_catalog.date_trunc('microseconds', GREATEST(pg_catalog.clock_timestamp(),"
						"        last_ts OPERATOR(pg_catalog.+) '1 microsecond'::pg_catalog.interval,"
						"        (SELECT pg_catalog.max(r.verification_snapshot_ts)"
						"                OPERATOR(pg_catalog.+) '1 microsecond'::pg_catalog.interval"
						"           FROM taskdb.reports r)))"
						" RETURNING last_ts", false, 0) != SPI_OK_UPDATE_RETURNING ||
			SPI_processed != 1)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("taskdb.report_clock must hold exactly one row")));
		work->ts = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		return;
	}

	if (SPI_execute("SELECT pg_catalog.max(r.verification_snapshot_ts) FROM taskdb.reports r",
					true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "taskdb: reading the newest report stamp failed");
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (!isnull)
		floor_ts = DatumGetTimestampTz(d) + 1;

	lockid.relId = work->seq;
	lockid.dbId = MyDatabaseId;
	LockRelationIdForSession(&lockid, ShareUpdateExclusiveLock);
	PG_TRY();
	{
		int64		last = nextval_internal(work->seq, false);

		work->ts = Max(GetCurrentTimestamp(), floor_ts);
		if (last >= work->ts)
			work->ts = last;
		else
			DirectFunctionCall2(setval_oid, ObjectIdGetDatum(work->seq), Int64GetDatum(work->ts));
	}
	PG_FINALLY();
	{
		UnlockRelationIdForSession(&lockid, ShareUpdateExclusiveLock);
	}
	PG_END_TRY();
}

static TimestampTz
take_report_stamp(void)
{
	StampWork	work = {taskdb_relation_oid("report_stamp_seq", true), 0};

	taskdb_run_as_owner("reports", 0, report_stamp_work, &work);
	return work.ts;
}

/*
 * The snapshot as a report records it.  pg_current_snapshot() leaves out the
 * publishing transaction itself, which would make its own later writes (the
 * report's, and any it makes after publishing) look "visible in the
 * snapshot".  It is written in as in progress -- rightly: the claims were
 * read without any write of its own (publish_report refuses otherwise) --
 * so verification counts whatever it writes as after the snapshot.  An xid
 * at or above xmax is not visible in the snapshot anyway.
 */
static char *
snapshot_with_own_xact(const char *snapshot, uint64 own)
{
	StringInfoData buf;
	const char *p;
	char	   *end;
	uint64		xmin;
	uint64		xmax;
	bool		placed = false;
	bool		first = true;

	xmin = strtou64(snapshot, &end, 10);
	if (*end != ':')
		elog(ERROR, "taskdb: unexpected snapshot \"%s\"", snapshot);
	xmax = strtou64(end + 1, &end, 10);
	if (*end != ':')
		elog(ERROR, "taskdb: unexpected snapshot \"%s\"", snapshot);
	if (own >= xmax)
		return pstrdup(snapshot);	/* not visible in it already */
	p = end + 1;

	initStringInfo(&buf);
	appendStringInfo(&buf, UINT64_FORMAT ":" UINT64_FORMAT ":", Min(xmin, own), xmax);
	while (*p != '\0')
	{
		uint64		xip = strtou64(p, &end, 10);

		if (end == p || (*end != ',' && *end != '\0'))
			elog(ERROR, "taskdb: unexpected snapshot \"%s\"", snapshot);
		if (!placed && own <= xip)
		{
			if (own < xip)
			{
				appendStringInfo(&buf, "%s" UINT64_FORMAT, first ? "" : ",", own);
				first = false;
			}
			placed = true;
		}
		appendStringInfo(&buf, "%s" UINT64_FORMAT, first ? "" : ",", xip);
		first = false;
		p = (*end == ',') ? end + 1 : end;
	}
	if (!placed)
		appendStringInfo(&buf, "%s" UINT64_FORMAT, first ? "" : ",", own);
	return buf.data;
}

/* read_claims_at_new_snapshot's claims in, the snapshot's text out. */
typedef struct ClaimsWork
{
	Claim	   *claims;
	int			n;
	MemoryContext cxt;
	char	   *snapshot;
} ClaimsWork;

static void
claims_at_new_snapshot_work(void *arg)
{
	ClaimsWork *work = (ClaimsWork *) arg;

	PushActiveSnapshot(GetTransactionSnapshot());
	if (SPI_execute("SELECT pg_catalog.pg_current_snapshot()::pg_catalog.text", true, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "taskdb: reading the snapshot failed");
	work->snapshot = spi_text(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, work->cxt);
	read_current_values(work->claims, work->n, work->cxt);
	PopActiveSnapshot();
}

/*
 * Take a new snapshot (at READ COMMITTED: one that sees every transaction
 * committed before the stamp was taken) and read pg_current_snapshot() and
 * every claim's value in it, as the caller (so it reveals nothing the caller
 * cannot read).  Returns the snapshot's text.
 */
static char *
read_claims_at_new_snapshot(Claim *claims, int n)
{
	ClaimsWork	work = {claims, n, CurrentMemoryContext, NULL};

	taskdb_run_as_owner(NULL, 0, claims_at_new_snapshot_work, &work);
	return work.snapshot;
}

static void
store_report_work(void *arg)
{
	Oid			argtypes[6] = {UUIDOID, TIMESTAMPTZOID, TEXTOID, TEXTOID, INT4OID, JSONBOID};

	if (SPI_execute_with_args("INSERT INTO taskdb.reports"
							  " (id, verification_snapshot_ts, snapshot, published_by, claims_count, report)"
							  " VALUES ($1, $2, $3::pg_catalog.pg_snapshot, $4, $5, $6)",
							  6, argtypes, (Datum *) arg, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "taskdb: storing the report failed");
}

static void
store_report(const char *report_id, TimestampTz ts, const char *snapshot, int n, Jsonb *report)
{
	Datum		values[6];

	values[0] = DirectFunctionCall1(uuid_in, CStringGetDatum(report_id));
	values[1] = TimestampTzGetDatum(ts);
	values[2] = CStringGetTextDatum(snapshot);
	values[3] = CStringGetTextDatum(GetUserNameFromId(GetUserId(), false));
	values[4] = Int32GetDatum(n);
	values[5] = JsonbPGetDatum(report);
	taskdb_run_as_owner("reports", 0, store_report_work, values);
}

Datum
publish_report(PG_FUNCTION_ARGS)
{
	Jsonb	   *input = PG_GETARG_JSONB_P(0);
	JsonbValue	top;
	JsonbValue *claimsv;
	JsonbContainer *arr;
	Claim	   *claims;
	int			n;
	int			i;
	TimestampTz ts = 0;
	char	   *snapshot = NULL;
	char	   *report_id;
	StringInfoData buf;
	Jsonb	   *unsigned_report;
	char	   *signature;
	Jsonb	   *report;
	int			not_holding = 0;

	/* A report is stored: refuse early, with the function's name, rather than inside its SQL. */
	PreventCommandIfReadOnly("taskdb.publish_report()");

	/*
	 * A report states committed data only.  Claims are read in a snapshot
	 * that would include this transaction's own writes, which may still roll
	 * back (the signed report would then state what never was), so a
	 * transaction that has written taskdb's data cannot publish.
	 */
	if (events_xact_wrote_data())
		ereport(ERROR,
				(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
				 errmsg("cannot publish a report in a transaction that has written taskdb data"),
				 errdetail("A report states committed data only; this transaction's own changes to tasks, runs, gates or artifacts could still roll back."),
				 errhint("COMMIT the changes first, then publish in a new transaction (or publish before writing).")));

	/* 1. The claims: an array, or an object {"claims": [...]}. */
	top.type = jbvBinary;
	top.val.binary.data = &input->root;
	top.val.binary.len = VARSIZE(input);
	if (JB_ROOT_IS_ARRAY(input) && !JB_ROOT_IS_SCALAR(input))
		claimsv = &top;
	else if (JB_ROOT_IS_OBJECT(input))
	{
		JsonbIterator *it = JsonbIteratorInit(&input->root);
		JsonbValue	tok;
		JsonbIteratorToken r;

		/* {"claims": [...]} and nothing else: a stray member is a mistake, not a comment */
		while ((r = JsonbIteratorNext(&it, &tok, true)) != WJB_DONE)
			if (r == WJB_KEY &&
				!(tok.val.string.len == 6 && memcmp(tok.val.string.val, "claims", 6) == 0))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("unknown field \"%s\" in the claims document",
								quote_value(tok.val.string.val, tok.val.string.len)),
						 errhint("Pass [{\"kind\": \"task_id\", \"id\": \"<uuid>\"}, ...] or {\"claims\": [...]}.")));
		claimsv = object_get(&input->root, "claims");
	}
	else
		claimsv = getIthJsonbValueFromContainer(&input->root, 0);	/* a scalar */
	if (!is_array(claimsv))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 claimsv == NULL
				 ? errmsg("claims document has no \"claims\"")
				 : errmsg("claims must be a JSON array of claim objects, not %s (%s)",
						  jsonb_type_name(claimsv), jsonb_value_text(claimsv)),
				 errhint("Pass [{\"kind\": \"task_id\", \"id\": \"<uuid>\"}, ...] or {\"claims\": [...]}.")));
	arr = claims_array(claimsv, "the claims document", &n);
	if (n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a report needs at least one claim"),
				 errhint("Pass [{\"kind\": \"task_id\", \"id\": \"<uuid>\"}, ...].")));
	claims = palloc0(sizeof(Claim) * n);
	for (i = 0; i < n; i++)
	{
		claims[i].ord = i + 1;
		read_claim(&claims[i], getIthJsonbValueFromContainer(arr, i), false);
	}
	check_duplicates(claims, n, true);

	/*
	 * 2. The stamp: unique and increasing, without waiting for other
	 * publishers.  The transaction gets its id first (it is about to write
	 * the report anyway), so the snapshot taken next can record it.
	 */
	(void) GetTopTransactionId();
	ts = take_report_stamp();

	/* 3. One snapshot, taken after the stamp: every claim read in it, as the caller. */
	snapshot = read_claims_at_new_snapshot(claims, n);
	snapshot = snapshot_with_own_xact(snapshot, U64FromFullTransactionId(GetTopFullTransactionId()));
	/* an artifact claimed by hash may turn out to be one also claimed by id */
	check_duplicates(claims, n, true);

	/* 4. The report. */
	report_id = DatumGetCString(DirectFunctionCall1(uuid_out, DirectFunctionCall1(gen_random_uuid, (Datum) 0)));
	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"format\": \"%s\", \"report_id\": \"%s\", \"verification_snapshot_ts\": \"%s\", \"snapshot\": ",
					 REPORT_FORMAT, report_id, format_ts(ts));
	escape_json(&buf, snapshot);
	appendStringInfoString(&buf, ", \"database\": ");
	escape_json(&buf, get_database_name(MyDatabaseId));
	appendStringInfoString(&buf, ", \"published_by\": ");
	escape_json(&buf, GetUserNameFromId(GetUserId(), false));
	appendStringInfoString(&buf, ", \"claims_validated\": [");
	for (i = 0; i < n; i++)
	{
		Claim	   *c = &claims[i];
		char	   *at = c->found ? c->current : NULL;
		char	   *expected;

		if (c->kind == CLAIM_ARTIFACT)
		{
			/* claimed by id alone: the claim is "this artifact has the hash it had" */
			if (c->hash == NULL && at != NULL)
			{
				c->hash = at;
				c->label = claim_label(c);
			}
			expected = c->hash;
		}
		else
			expected = c->expected ? c->expected : at;
		if (at == NULL || strcmp(expected ? expected : "", at) != 0)
		{
			not_holding++;
			if (not_holding <= 10)
				ereport(WARNING,
						(errmsg("claim %d (%s) does not hold at the snapshot", c->ord, c->label),
						 at == NULL
						 ? errdetail("No such %s is visible at the snapshot.", kinds[c->kind].lower)
						 : errdetail("Claimed \"%s\", but the value at the snapshot is \"%s\".", expected, at),
						 errhint("The report is stored as published; verify_provenance() will show this claim as FAIL.")));
		}
		appendStringInfo(&buf, "%s{\"claim\": ", i ? ", " : "");
		escape_json(&buf, c->label);
		appendStringInfo(&buf, ", \"kind\": \"%s\", \"id\": ", kinds[c->kind].name);
		append_json_or_null(&buf, c->has_id ? taskdb_uuid_string(&c->id) : NULL);
		if (c->kind == CLAIM_ARTIFACT)
		{
			appendStringInfoString(&buf, ", \"hash\": ");
			append_json_or_null(&buf, c->hash);
		}
		appendStringInfoString(&buf, ", \"expected\": ");
		append_json_or_null(&buf, expected);
		appendStringInfoString(&buf, ", \"at_snapshot\": ");
		append_json_or_null(&buf, at);
		appendStringInfoChar(&buf, '}');
	}
	appendStringInfoString(&buf, "]}");
	unsigned_report = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data)));
	signature = report_signature(unsigned_report, linitial(signing_keys()));

	resetStringInfo(&buf);
	JsonbToCString(&buf, &unsigned_report->root, VARSIZE(unsigned_report));
	buf.len--;					/* drop the closing brace */
	buf.data[buf.len] = '\0';
	appendStringInfo(&buf, ", \"signature\": \"%s\"}", signature);
	report = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data)));

	/* 5. Store it (as the owner: applications cannot write reports). */
	store_report(report_id, ts, snapshot, n, report);

	PG_RETURN_JSONB_P(report);
}

/* ------------------------------------------------------------------------
 * Verification
 * ------------------------------------------------------------------------ */

typedef struct Verification
{
	char	   *snapshot_ts;	/* as written in the report */
	int			n;				/* claim results, then the signature's */
	ClaimResult *results;
	int			failures;
} Verification;

static char *
abbrev(const char *label)
{
	/* "task_id:a1b2c3d4-..." -> "a1b2c3d4..."; "sha256:abc123..." -> "sha256:abc123..." */
	const char *v = strchr(label, ':');

	if (v == NULL)
		return pstrdup(label);
	v++;
	if (strncmp(v, "sha256:", 7) == 0 || strncmp(v, SIGNATURE_PREFIX, strlen(SIGNATURE_PREFIX)) == 0)
	{
		const char *colon = strchr(v, ':') + 1;

		return psprintf("%.*s%.*s...", (int) (colon - v), v,
						pg_mbcliplen(colon, strlen(colon), 6), colon);
	}
	return psprintf("%.*s...", pg_mbcliplen(v, strlen(v), 8), v);
}

static void
judge_claim(Claim *c, ClaimResult *r, const char *snapshot_ts)
{
	const char *noun = kinds[c->kind].noun;
	const char *what = c->kind == CLAIM_ARTIFACT ? "hash" :
		c->kind == CLAIM_STATUS_DERIVED ? "status_derived" : "status";
	const char *What = c->kind == CLAIM_ARTIFACT ? "Hash" :
		c->kind == CLAIM_STATUS_DERIVED ? "Derived status" : "Status";

	r->claim = c->label ? c->label : psprintf("claim %d", c->ord);
	r->kind = c->kind_known ? kinds[c->kind].name : "unknown";
	r->pass = false;
	r->expected = c->expected ? c->expected : pstrdup("exists");
	r->actual = c->found ? (c->current ? c->current : pstrdup("exists")) : pstrdup("not found");
	r->verbose_expected = psprintf("%s (from snapshot %s)",
								   c->expected ? c->expected : psprintf("%s exists", noun), snapshot_ts);
	r->verbose_actual = c->found ? psprintf("%s (current)", c->current) : pstrdup("Not found");

	if (c->malformed)
	{
		r->expected = NULL;
		r->actual = NULL;
		r->mismatch = psprintf("malformed claim: %s", c->malformed);
		r->summary = psprintf("Malformed claim: %s", c->malformed);
		r->why = pstrdup("Malformed claim");
		r->verbose_expected = pstrdup("a well-formed claim");
		r->verbose_actual = pstrdup(c->malformed);
		return;
	}

	/* The report asserted something that was not so when it was published. */
	if (c->at_snapshot == NULL)
	{
		if (c->found && c->has_insert_after)
		{
			r->mismatch = pstrdup("created after snapshot");
			r->has_changed_at = true;
			r->changed_at = c->insert_after_at;
			r->summary = psprintf("%s did not exist at the snapshot", noun);
			r->why = psprintf("%s created after snapshot", noun);
		}
		else if (!c->found && !c->ever)
		{
			r->mismatch = pstrdup("never existed");
			r->summary = psprintf("%s not found in database", noun);
			r->why = psprintf("%s never existed", noun);
		}
		else
		{
			r->mismatch = pstrdup("already different at snapshot: not found at snapshot");
			r->summary = psprintf("%s did not exist at the snapshot", noun);
			r->why = pstrdup("Already different at snapshot (the report was wrong when published)");
		}
		return;
	}
	if (c->expected == NULL || strcmp(c->expected, c->at_snapshot) != 0)
	{
		r->mismatch = psprintf("already different at snapshot: %s was %s", what, c->at_snapshot);
		r->summary = psprintf("Expected %s '%s', but it was '%s' at the snapshot",
							  what, r->expected, c->at_snapshot);
		r->why = pstrdup("Already different at snapshot (the report was wrong when published)");
		return;
	}

	/* It held at the snapshot; does it still? */
	if (!c->found)
	{
		r->mismatch = pstrdup("deleted after snapshot");
		r->has_changed_at = c->has_after;
		r->changed_at = c->last_after_at;
		r->summary = psprintf("%s not found in database", noun);
		r->why = psprintf("%s deleted after snapshot", noun);
		r->verbose_expected = psprintf("%s exists (from snapshot %s)", noun, snapshot_ts);
		r->verbose_actual = pstrdup("Not found");
		return;
	}
	if (strcmp(c->current, c->expected) != 0)
	{
		r->mismatch = psprintf("changed after snapshot: %s -> %s", c->at_snapshot, c->current);
		r->has_changed_at = c->has_after;
		r->changed_at = c->first_after_at;
		r->summary = psprintf("Expected %s '%s', got '%s'", what, c->expected, c->current);
		r->why = psprintf("%s changed after snapshot", What);
		return;
	}
	/*
	 * The content was there at the snapshot (something removed it since):
	 * a claim about a file is not upheld by its hash alone once the file is
	 * gone.  Content that was never stored leaves the claim about the hash.
	 */
	if (c->kind == CLAIM_ARTIFACT && c->content_hash == NULL && c->has_content_after)
	{
		r->mismatch = pstrdup("content removed after snapshot");
		r->has_changed_at = true;
		r->changed_at = c->content_after_at;
		r->actual = pstrdup("no content");
		r->summary = pstrdup("File record exists but its content was removed after the snapshot");
		r->why = pstrdup("Content removed after snapshot");
		r->verbose_actual = pstrdup("No stored content (removed after the snapshot)");
		return;
	}
	if (c->kind == CLAIM_ARTIFACT && c->content_hash && strcmp(c->content_hash, c->expected) != 0)
	{
		r->mismatch = psprintf("content hash differs: stored content hashes to %s", c->content_hash);
		r->summary = pstrdup("File exists but its content does not match the hash");
		r->why = pstrdup("Content hash differs");
		r->verbose_actual = psprintf("%s (hash of the stored content)", c->content_hash);
		return;
	}

	r->pass = true;
	r->mismatch = NULL;
	switch (c->kind)
	{
		case CLAIM_ARTIFACT:
			r->summary = pstrdup("File exists and hash matches");
			break;
		case CLAIM_STATUS_DERIVED:
			r->summary = pstrdup("Derived status matches");
			break;
		default:
			r->summary = psprintf("%s exists and status matches", noun);
	}
}

static char *
required_string(JsonbContainer *obj, const char *key, const char *hint)
{
	JsonbValue *v = object_get(obj, key);

	if (v == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("report has no \"%s\"", key),
				 errhint("%s", hint)));
	if (v->type != jbvString)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("report field \"%s\" must be a string, not %s (%s)",
						key, jsonb_type_name(v), jsonb_value_text(v)),
				 errhint("%s", hint)));
	return pnstrdup(v->val.string.val, v->val.string.len);
}

#define REPORT_HINT "Pass a report returned by taskdb.publish_report(), unchanged."

/* What verification reads, as the caller: the claims' values and history. */
typedef struct VerifyWork
{
	Claim	   *claims;
	int			n;
	MemoryContext cxt;
	const char *snapshot;
	pg_uuid_t  *report_id;
} VerifyWork;

static void
verify_read_work(void *arg)
{
	VerifyWork *work = (VerifyWork *) arg;

	read_current_values(work->claims, work->n, work->cxt);
	read_history(work->claims, work->n, work->snapshot, work->report_id);
}

/* Is this report, with this signature, the one stored in taskdb.reports? */
typedef struct RecordedWork
{
	Datum		values[2];		/* report id (uuid), signature (text) */
	bool		recorded;
} RecordedWork;

static void
report_recorded_work(void *arg)
{
	RecordedWork *work = (RecordedWork *) arg;
	Oid			argtypes[2] = {UUIDOID, TEXTOID};
	bool		isnull;

	if (SPI_execute_with_args("SELECT EXISTS (SELECT 1 FROM taskdb.reports r"
							  " WHERE r.id OPERATOR(pg_catalog.=) $1"
							  "   AND (r.report OPERATOR(pg_catalog.->>) 'signature') OPERATOR(pg_catalog.=) $2)",
							  2, argtypes, work->values, NULL, false, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "taskdb: looking the report up failed");
	work->recorded = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/*
 * Read as the owner of taskdb.reports, so the answer does not depend on the
 * verifier's privileges on it; says only yes or no.  Not read-only: a fresh
 * snapshot that sees a report published earlier in the same statement.
 */
static bool
report_recorded(pg_uuid_t *report_id, const char *signature)
{
	RecordedWork work;

	work.values[0] = UUIDPGetDatum(report_id);
	work.values[1] = CStringGetTextDatum(signature);
	work.recorded = false;
	taskdb_run_as_owner("reports", 0, report_recorded_work, &work);
	return work.recorded;
}

static Verification *
verify_report(Jsonb *report)
{
	MemoryContext cxt = CurrentMemoryContext;
	Verification *ver = palloc0(sizeof(Verification));
	JsonbContainer *root = &report->root;
	char	   *format;
	char	   *ts_text;
	char	   *snapshot;
	char	   *report_id;
	pg_uuid_t	report_uuid;
	TimestampTz ts;
	JsonbValue *claimsv;
	JsonbValue *sigv;
	JsonbContainer *arr;
	Claim	   *claims;
	int			n;
	int			i;
	ClaimResult *sig;

	if (!JB_ROOT_IS_OBJECT(report))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 JB_ROOT_IS_SCALAR(report)
				 ? errmsg("a provenance report must be a JSON object, not a scalar (%s)",
						  jsonb_value_text(getIthJsonbValueFromContainer(&report->root, 0)))
				 : errmsg("a provenance report must be a JSON object, not an array"),
				 errhint(REPORT_HINT)));

	format = required_string(root, "format", REPORT_HINT);
	if (strcmp(format, REPORT_FORMAT) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unsupported report format \"%s\"", quote_value(format, strlen(format))),
				 errdetail("This version of taskdb reads \"%s\".", REPORT_FORMAT),
				 errhint(REPORT_HINT)));
	report_id = required_string(root, "report_id", REPORT_HINT);
	if (!parse_uuid(report_id, strlen(report_id), &report_uuid))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("report_id \"%s\" is not a uuid", quote_value(report_id, strlen(report_id))),
				 errhint(REPORT_HINT)));
	ts_text = required_string(root, "verification_snapshot_ts", REPORT_HINT);
	if (!parse_ts(ts_text, strlen(ts_text), &ts))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_DATETIME_FORMAT),
				 errmsg("verification_snapshot_ts \"%s\" is not a UTC timestamp",
						quote_value(ts_text, strlen(ts_text))),
				 errdetail("Expected the form 2026-01-31T12:00:00.123456Z."),
				 errhint(REPORT_HINT)));
	snapshot = required_string(root, "snapshot", REPORT_HINT);
	if (!snapshot_syntax_ok(snapshot, strlen(snapshot)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("snapshot \"%s\" is not a pg_snapshot", quote_value(snapshot, strlen(snapshot))),
				 errdetail("Expected xmin:xmax:xip-list as pg_current_snapshot() prints it, with xmin <= xip < xmax in ascending order, e.g. 740:745:741,743."),
				 errhint(REPORT_HINT)));

	claimsv = object_get(root, "claims_validated");
	if (!is_array(claimsv))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 claimsv == NULL
				 ? errmsg("report has no \"claims_validated\"")
				 : errmsg("report field \"claims_validated\" must be an array, not %s (%s)",
						  jsonb_type_name(claimsv), jsonb_value_text(claimsv)),
				 errhint(REPORT_HINT)));
	arr = claims_array(claimsv, "the report", &n);

	claims = palloc0(sizeof(Claim) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		claims[i].ord = i + 1;
		read_claim(&claims[i], getIthJsonbValueFromContainer(arr, i), true);
	}
	check_duplicates(claims, n, false);

	{
		VerifyWork	work = {claims, n, cxt, snapshot, &report_uuid};

		taskdb_run_as_owner(NULL, 0, verify_read_work, &work);
	}

	ver->snapshot_ts = ts_text;
	ver->n = n + 1;
	ver->results = palloc0(sizeof(ClaimResult) * (n + 1));
	for (i = 0; i < n; i++)
	{
		judge_claim(&claims[i], &ver->results[i], ts_text);
		if (!ver->results[i].pass)
			ver->failures++;
	}

	/* The signature over everything else. */
	sig = &ver->results[n];
	sig->claim = "signature";
	sig->kind = "signature";
	sigv = object_get(root, "signature");
	if (sigv == NULL || sigv->type != jbvString)
	{
		sig->expected = NULL;
		sig->actual = pstrdup(sigv == NULL ? "missing" : "not a string");
		sig->mismatch = psprintf("signature invalid: the report %s", sigv == NULL ? "is not signed" : "has a malformed signature");
		sig->summary = pstrdup("Report is not signed");
	}
	else
	{
		char	   *given = pnstrdup(sigv->val.string.val, sigv->val.string.len);

		sig->claim = psprintf("signature:%s", quote_value(given, strlen(given)));
		sig->expected = quote_value(given, strlen(given));
		sig->pass = signature_matches(report, given);
		sig->actual = pstrdup(sig->pass ? "valid" : "invalid");
		if (!sig->pass)
		{
			sig->mismatch = pstrdup("signature invalid");
			sig->summary = pstrdup("Signature does not match (report altered, or signed with another key)");
		}
		else if (!report_recorded(&report_uuid, given))
		{
			/*
			 * Signed here, but not stored: published in a transaction that
			 * rolled back (its claims may state what never committed), or
			 * deleted since.  Either way no record vouches for it.
			 */
			sig->pass = false;
			sig->actual = pstrdup("valid, not recorded");
			sig->mismatch = pstrdup("report not recorded: no report with this id and signature is stored in taskdb.reports (published in a transaction that rolled back, or deleted since)");
			sig->summary = pstrdup("Signature valid, but the report is not recorded in taskdb.reports (its transaction rolled back, or it was deleted)");
			sig->why = pstrdup("Report not recorded in taskdb.reports");
		}
		else
			sig->summary = pstrdup("Signature valid");
	}
	if (!sig->pass)
	{
		if (sig->why == NULL)
			sig->why = pstrdup("Signature invalid");
		sig->verbose_expected = pstrdup("a signature made by this database's key over the report");
		sig->verbose_actual = pstrdup(sig->actual);
		ver->failures++;
	}
	return ver;
}

/*
 * The report argument of verify_provenance and debug_provenance.  Their text
 * overloads (1.1) bind to the same C functions: a report given as text is
 * refused if an object in it names a key twice (json_keys.c).
 */
static Jsonb *
report_argument(FunctionCallInfo fcinfo)
{
	if (get_fn_expr_argtype(fcinfo->flinfo, 0) == TEXTOID)
		return taskdb_jsonb_unique_keys(PG_GETARG_TEXT_PP(0), "report");
	return PG_GETARG_JSONB_P(0);
}

/* verify_report, timed and counted by verdict for taskdb.metrics(). */
static Verification *
timed_verification(Jsonb *report)
{
	instr_time	start;
	Verification *ver;

	metrics_timer_start(&start);
	ver = verify_report(report);
	metrics_observe(TIMER_VERIFICATION, start);
	metrics_count_verification(ver->failures == 0);
	return ver;
}

Datum
verify_provenance(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Verification *ver;
	int			i;

	taskdb_init_materialized_srf(fcinfo);
	ver = timed_verification(report_argument(fcinfo));
	for (i = 0; i < ver->n; i++)
	{
		ClaimResult *r = &ver->results[i];
		Datum		values[7];
		bool		nulls[7] = {false};

		values[0] = CStringGetTextDatum(r->claim);
		values[1] = CStringGetTextDatum(r->kind);
		values[2] = CStringGetTextDatum(r->pass ? "PASS" : "FAIL");
		nulls[3] = r->expected == NULL;
		if (!nulls[3])
			values[3] = CStringGetTextDatum(r->expected);
		nulls[4] = r->actual == NULL;
		if (!nulls[4])
			values[4] = CStringGetTextDatum(r->actual);
		nulls[5] = r->mismatch == NULL;
		if (!nulls[5])
			values[5] = CStringGetTextDatum(r->mismatch);
		nulls[6] = !r->has_changed_at;
		values[6] = TimestampTzGetDatum(r->changed_at);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

Datum
debug_provenance(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	bool		verbose = PG_GETARG_BOOL(1);
	Verification *ver;
	TupleDesc	desc;
	int			i;

	taskdb_init_materialized_srf_scalar(fcinfo);
	desc = rsinfo->setDesc;
	ver = timed_verification(report_argument(fcinfo));

#define EMIT(...) \
	do { \
		Datum v_ = CStringGetTextDatum(psprintf(__VA_ARGS__)); \
		bool n_ = false; \
		tuplestore_putvalues(rsinfo->setResult, desc, &v_, &n_); \
	} while (0)

	EMIT("Debugging provenance for snapshot: %s", ver->snapshot_ts);
	for (i = 0; i < ver->n; i++)
	{
		ClaimResult *r = &ver->results[i];
		const char *name = strcmp(r->kind, "unknown") == 0 ? "claim" : r->kind;

		EMIT("[%s] %s: %s - %s", r->pass ? "PASS" : "FAIL", name,
			 strcmp(r->kind, "unknown") == 0 ? r->claim : abbrev(r->claim), r->summary);
		if (verbose && !r->pass)
		{
			EMIT("        Expected: %s", r->verbose_expected);
			EMIT("        Actual:   %s", r->verbose_actual);
			EMIT("        Mismatch: %s", r->why);
			if (r->has_changed_at)
				EMIT("        Changed:  %s", format_ts(r->changed_at));
		}
	}
	EMIT("%d of %d checks passed", ver->n - ver->failures, ver->n);
	return (Datum) 0;
}
