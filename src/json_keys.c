/*-------------------------------------------------------------------------
 *
 * json_keys.c
 *	  Reports given as text: refused when an object names a key twice.
 *
 * jsonb keeps the last of two equal keys, while people reading a report
 * file, and parsers that keep the first, see the other value: a report with
 * "expected": "failed" followed by "expected": "completed" would verify as
 * one thing and read as another.  The text overloads of verify_provenance
 * and debug_provenance therefore parse the document once with PostgreSQL's
 * JSON parser (key names de-escaped, so "expect\u0065d" is "expected") and
 * refuse any object that names a key twice, before it becomes jsonb.
 *
 * Keys are remembered per open object in a hash table created on the
 * object's second key, so an object with n keys costs O(n), and nesting
 * depth is bounded by the JSON parser's own stack check.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/hashfn.h"
#include "common/jsonapi.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "compat.h"
#include "taskdb.h"

/* One open object or array. */
typedef struct KeyLevel
{
	char	   *path;			/* where it is: "$", "$.claims[2]", ... */
	bool		is_array;
	int			nelems;			/* array: elements begun so far */
	char	   *first;			/* object: its first key */
	HTAB	   *keys;			/* object: every key, once it has two */
} KeyLevel;

typedef struct KeyState
{
	KeyLevel   *levels;
	int			depth;
	int			cap;
	const char *what;			/* "report", for the message */
	char	   *pending_key;	/* object: the key whose value comes next */
} KeyState;

/* Keys are hashed and compared as strings; the table holds pointers to them. */
static uint32
key_hash(const void *key, Size keysize)
{
	const char *s = *(const char *const *) key;

	return hash_bytes((const unsigned char *) s, strlen(s));
}

static int
key_match(const void *a, const void *b, Size keysize)
{
	return strcmp(*(const char *const *) a, *(const char *const *) b);
}

static void
push_level(KeyState *st, bool is_array)
{
	KeyLevel   *level;
	char	   *path;

	if (st->depth == 0)
		path = "$";
	else
	{
		KeyLevel   *parent = &st->levels[st->depth - 1];

		if (parent->is_array)
			path = psprintf("%s[%d]", parent->path, parent->nelems - 1);
		else
			path = psprintf("%s.%s", parent->path,
							taskdb_quote_value(st->pending_key, strlen(st->pending_key)));
	}
	if (st->depth == st->cap)
	{
		st->cap *= 2;
		st->levels = repalloc(st->levels, sizeof(KeyLevel) * st->cap);
	}
	level = &st->levels[st->depth++];
	memset(level, 0, sizeof(KeyLevel));
	level->path = path;
	level->is_array = is_array;
}

static TASKDB_JSON_ACTION
keys_object_start(void *state)
{
	push_level((KeyState *) state, false);
	TASKDB_JSON_ACTION_DONE;
}

static TASKDB_JSON_ACTION
keys_array_start(void *state)
{
	push_level((KeyState *) state, true);
	TASKDB_JSON_ACTION_DONE;
}

static TASKDB_JSON_ACTION
keys_end(void *state)
{
	KeyState   *st = (KeyState *) state;
	KeyLevel   *level = &st->levels[--st->depth];

	if (level->keys != NULL)
		hash_destroy(level->keys);
	TASKDB_JSON_ACTION_DONE;
}

static TASKDB_JSON_ACTION
keys_array_element_start(void *state, bool isnull)
{
	KeyState   *st = (KeyState *) state;

	st->levels[st->depth - 1].nelems++;
	TASKDB_JSON_ACTION_DONE;
}

static void
duplicate_key(KeyState *st, const char *path, const char *key)
{
	const char *quoted = taskdb_quote_value(key, strlen(key));

	ereport(ERROR,
			(errcode(ERRCODE_DUPLICATE_JSON_OBJECT_KEY_VALUE),
			 errmsg("duplicate key \"%s\" in %s", quoted, st->what),
			 errdetail("The object at %s names \"%s\" more than once: jsonb would keep the last value, while a reader of the text sees the first.",
					   path, quoted),
			 errhint("Name each key once in every object of the %s.", st->what)));
}

static TASKDB_JSON_ACTION
keys_field_start(void *state, char *fname, bool isnull)
{
	KeyState   *st = (KeyState *) state;
	KeyLevel   *level = &st->levels[st->depth - 1];
	bool		found;

	st->pending_key = fname;
	if (level->first == NULL)
	{
		level->first = fname;
		TASKDB_JSON_ACTION_DONE;
	}
	if (level->keys == NULL)
	{
		HASHCTL		ctl;

		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = sizeof(char *);
		ctl.entrysize = sizeof(char *);
		ctl.hash = key_hash;
		ctl.match = key_match;
		ctl.hcxt = CurrentMemoryContext;
		level->keys = hash_create("taskdb json keys", 16, &ctl,
								  HASH_ELEM | HASH_FUNCTION | HASH_COMPARE | HASH_CONTEXT);
		(void) hash_search(level->keys, &level->first, HASH_ENTER, NULL);
	}
	(void) hash_search(level->keys, &fname, HASH_ENTER, &found);
	if (found)
		duplicate_key(st, level->path, fname);
	TASKDB_JSON_ACTION_DONE;
}

/*
 * The jsonb of a report given as text, after refusing duplicate keys.
 * Invalid JSON gets jsonb's own error.
 */
Jsonb *
taskdb_jsonb_unique_keys(text *t, const char *what)
{
	char	   *s = text_to_cstring(t);
	Datum		jb = DirectFunctionCall1(jsonb_in, CStringGetDatum(s));
	KeyState	st;
	JsonSemAction sem;
	JsonLexContext *lex;
	JsonParseErrorType rc;

	memset(&st, 0, sizeof(st));
	st.cap = 16;
	st.levels = palloc(sizeof(KeyLevel) * st.cap);
	st.what = what;
	memset(&sem, 0, sizeof(sem));
	sem.semstate = &st;
	sem.object_start = keys_object_start;
	sem.object_end = keys_end;
	sem.array_start = keys_array_start;
	sem.array_end = keys_end;
	sem.array_element_start = keys_array_element_start;
	sem.object_field_start = keys_field_start;

	lex = taskdb_make_json_lex(s, strlen(s));
	rc = pg_parse_json(lex, &sem);
	if (rc != JSON_SUCCESS)
		elog(ERROR, "taskdb: a document jsonb accepted failed to parse again (%d)", (int) rc);
	return DatumGetJsonbP(jb);
}
