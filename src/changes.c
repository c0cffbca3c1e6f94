/*-------------------------------------------------------------------------
 *
 * changes.c
 *	  What an UPDATE changed in a row, as the history's "changes" records it.
 *
 * Both history writers (history.c for 1.1, events.c for a database still on
 * 1.0) compare each updated row with its old version here.  Columns an
 * UPDATE leaves alone are compared without reading large values (an
 * unchanged TOAST pointer is an unchanged value), and a changed value above
 * HISTORY_VALUE_LIMIT bytes is recorded by its SHA-256 and length, never
 * copied: the history holds at most one large value at a time and can never
 * overflow jsonb because of what the data allows.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/detoast.h"
#include "catalog/pg_type.h"
#include "executor/tuptable.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/datum.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"

#include "compat.h"
#include "taskdb.h"

/*
 * Values whose stored (uncompressed) size is above this many bytes are not
 * copied into "changes": the event keeps their SHA-256 and length instead
 * (see value_digest), so the history never holds, parses or detoasts more
 * than one large value at a time, and a change the data allows can never
 * make the history's jsonb overflow.
 */
#define HISTORY_VALUE_LIMIT 1024

/* A column value as to_jsonb() would write it, appended to buf. */
static void
append_json_value(StringInfo buf, Datum value, bool isnull, Form_pg_attribute att)
{
	Oid			typoutput;
	bool		varlena;
	char		dt[MAXDATELEN + 1];

	if (isnull)
	{
		appendStringInfoString(buf, "null");
		return;
	}
	switch (att->atttypid)
	{
		case JSONBOID:
			{
				Jsonb	   *j = DatumGetJsonbP(value);

				(void) JsonbToCString(buf, &j->root, VARSIZE(j));
				return;
			}
		case JSONOID:
			appendStringInfoString(buf, TextDatumGetCString(value));
			return;
		case BOOLOID:
			appendStringInfoString(buf, DatumGetBool(value) ? "true" : "false");
			return;
		case INT2OID:
		case INT4OID:
		case INT8OID:
			getTypeOutputInfo(att->atttypid, &typoutput, &varlena);
			appendStringInfoString(buf, OidOutputFunctionCall(typoutput, value));
			return;
		case DATEOID:
		case TIMESTAMPOID:
		case TIMESTAMPTZOID:
			escape_json(buf, JsonEncodeDateTime(dt, value, att->atttypid, NULL));
			return;
		default:
			getTypeOutputInfo(att->atttypid, &typoutput, &varlena);
			escape_json(buf, OidOutputFunctionCall(typoutput, value));
			return;
	}
}

/*
 * Whether an old and a new column value are the same, without reading a
 * large value that did not change.  An UPDATE that leaves a toasted column
 * alone hands the new row the same TOAST pointer, so equal pointers are
 * equal values with nothing read; values of different stored sizes differ,
 * read as little (the sizes are in the headers); only values of equal size
 * behind different pointers are read and compared, one at a time.
 */
static bool
values_equal(Datum o, Datum n, Form_pg_attribute att)
{
	struct varlena *ov;
	struct varlena *nv;

	if (att->attlen != -1)
		return datum_image_eq(o, n, att->attbyval, att->attlen);
	ov = (struct varlena *) DatumGetPointer(o);
	nv = (struct varlena *) DatumGetPointer(n);
	if (VARATT_IS_EXTERNAL_ONDISK(ov) && VARATT_IS_EXTERNAL_ONDISK(nv))
	{
		struct varatt_external oe;
		struct varatt_external ne;

		VARATT_EXTERNAL_GET_POINTER(oe, ov);
		VARATT_EXTERNAL_GET_POINTER(ne, nv);
		if (oe.va_valueid == ne.va_valueid && oe.va_toastrelid == ne.va_toastrelid)
			return true;
	}
	if (toast_raw_datum_size(o) != toast_raw_datum_size(n))
		return false;
	return datum_image_eq(o, n, false, -1);
}

/*
 * What "changes" records of one side of a large value: "<side>_sha256"
 * (sha256:<hex> of the bytes of bytea, of text as stored, of jsonb's text
 * form, of other types' text output) and "<side>_bytes" (how many bytes were
 * hashed).  Reads the value once; the caller's memory context is reset per
 * row, so no more than one large value is held at a time.
 */
static void
append_value_digest(StringInfo buf, const char *side, Datum value, Form_pg_attribute att)
{
	char		hex[SHA256_HEX_LEN + 1];
	const char *data;
	Size		len;

	switch (att->atttypid)
	{
		case BYTEAOID:
		case TEXTOID:
		case VARCHAROID:
			{
				struct varlena *v = PG_DETOAST_DATUM_PACKED(value);

				data = VARDATA_ANY(v);
				len = VARSIZE_ANY_EXHDR(v);
				break;
			}
		case JSONBOID:
			{
				Jsonb	   *j = DatumGetJsonbP(value);
				StringInfoData text;

				initStringInfo(&text);
				(void) JsonbToCString(&text, &j->root, VARSIZE(j));
				data = text.data;
				len = text.len;
				break;
			}
		default:
			{
				Oid			typoutput;
				bool		varlena;

				getTypeOutputInfo(att->atttypid, &typoutput, &varlena);
				data = OidOutputFunctionCall(typoutput, value);
				len = strlen(data);
				break;
			}
	}
	taskdb_sha256_hex(data, len, hex);
	appendStringInfo(buf, "\"%s_sha256\": \"sha256:%s\", \"%s_bytes\": %zu", side, hex, side, (size_t) len);
}

/* One side ("old" or "new") of a changed column in "changes". */
static void
append_change_side(StringInfo buf, const char *side, Datum value, bool isnull,
				   Form_pg_attribute att, bool digest_only)
{
	if (!isnull &&
		(digest_only || (att->attlen == -1 && toast_raw_datum_size(value) > HISTORY_VALUE_LIMIT)))
		append_value_digest(buf, side, value, att);
	else
	{
		appendStringInfo(buf, "\"%s\": ", side);
		append_json_value(buf, value, isnull, att);
	}
}

/*
 * Compare an updated row with its old version.  Returns false when no
 * column differs (no event).  Otherwise appends to out the JSON object of
 * the columns other than status and updated_at that differ, or nothing when
 * there are none: {"column": {"old": ..., "new": ...}}, a side above
 * HISTORY_VALUE_LIMIT bytes (and, with content_digest, a column named
 * "content" whatever its size) given as "<side>_sha256" and "<side>_bytes"
 * instead of its value.  Call it in a memory context reset per row.
 */
bool
history_row_changes(TupleTableSlot *oldslot, TupleTableSlot *newslot, bool content_digest,
					StringInfo out)
{
	TupleDesc	desc = newslot->tts_tupleDescriptor;
	bool		any = false;
	int			nchanged = 0;
	int			start = out->len;
	int			i;

	slot_getallattrs(oldslot);
	slot_getallattrs(newslot);
	appendStringInfoChar(out, '{');
	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		const char *name = NameStr(att->attname);
		bool		onull = oldslot->tts_isnull[i];
		bool		nnull = newslot->tts_isnull[i];
		Datum		o = oldslot->tts_values[i];
		Datum		n = newslot->tts_values[i];
		bool		digest_only;

		if (att->attisdropped)
			continue;
		if (onull && nnull)
			continue;
		if (onull == nnull && values_equal(o, n, att))
			continue;
		any = true;
		if (strcmp(name, "status") == 0 || strcmp(name, "updated_at") == 0)
			continue;
		if (nchanged++ > 0)
			appendStringInfoString(out, ", ");
		escape_json(out, name);
		digest_only = content_digest && strcmp(name, "content") == 0;
		appendStringInfoString(out, ": {");
		append_change_side(out, "old", o, onull, att, digest_only);
		appendStringInfoString(out, ", ");
		append_change_side(out, "new", n, nnull, att, digest_only);
		appendStringInfoChar(out, '}');
	}
	appendStringInfoChar(out, '}');
	if (nchanged == 0)
	{
		/* nothing but status / updated_at: no "changes" */
		out->len = start;
		out->data[start] = '\0';
	}
	return any;
}
