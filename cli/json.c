/*-------------------------------------------------------------------------
 *
 * json.c
 *	  A strict JSON (RFC 8259) reader for the taskdb client.
 *
 * The client reads report and claims files before it sends them, to refuse
 * what the server's jsonb would silently repair: an object that names a key
 * twice (jsonb keeps the last value, a person reading the file sees the
 * first).  Keys are compared after their escapes are decoded, so
 * "expect\u0065d" and "expected" are the same key.  The reader builds a
 * tree, which the offline checks read too.
 *
 * Limits: nesting deeper than JSON_MAX_DEPTH is refused (no recursion
 * without a bound); strings must be valid UTF-8 and may not hold unescaped
 * control characters; numbers are kept as their source text.
 *
 *-------------------------------------------------------------------------
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

#define JSON_MAX_DEPTH 512

typedef struct Reader
{
	const char *p;
	const char *start;
	const char *end;
	int			depth;
	char	   *err;
	size_t		errlen;
	char	   *path;			/* "$.claims[3]" of the value being read */
	size_t		pathlen;
	size_t		pathcap;
	bool		failed;
	bool		duplicate;		/* failed on a duplicate key */
} Reader;

static void *
xmalloc(size_t n)
{
	void	   *p = malloc(n ? n : 1);

	if (p == NULL)
	{
		fputs("taskdb: out of memory\n", stderr);
		exit(2);
	}
	return p;
}

static void *
xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (p == NULL)
	{
		fputs("taskdb: out of memory\n", stderr);
		exit(2);
	}
	return p;
}

static void fail(Reader *r, const char *fmt,...) __attribute__((format(printf, 2, 3)));
static void path_push(Reader *r, const char *fmt,...) __attribute__((format(printf, 2, 3)));

static void
fail(Reader *r, const char *fmt,...)
{
	va_list		ap;
	size_t		used;

	if (r->failed)
		return;
	r->failed = true;
	va_start(ap, fmt);
	vsnprintf(r->err, r->errlen, fmt, ap);
	va_end(ap);
	used = strlen(r->err);
	if (used < r->errlen)
		snprintf(r->err + used, r->errlen - used, " (at byte %zu, in %s)",
				 (size_t) (r->p - r->start), r->path);
}

static void
path_push(Reader *r, const char *fmt,...)
{
	va_list		ap;
	int			n;

	for (;;)
	{
		va_start(ap, fmt);
		n = vsnprintf(r->path + r->pathlen, r->pathcap - r->pathlen, fmt, ap);
		va_end(ap);
		if ((size_t) n < r->pathcap - r->pathlen)
			break;
		r->pathcap = 2 * r->pathcap + n;
		r->path = xrealloc(r->path, r->pathcap);
	}
	r->pathlen += n;
}

static void
skip_ws(Reader *r)
{
	while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
		r->p++;
}

static JsonValue *
new_value(JsonKind kind)
{
	JsonValue  *v = xmalloc(sizeof(JsonValue));

	memset(v, 0, sizeof(JsonValue));
	v->kind = kind;
	return v;
}

static int
hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool
read_hex4(Reader *r, unsigned *out)
{
	unsigned	v = 0;
	int			i;

	if (r->end - r->p < 4)
		return false;
	for (i = 0; i < 4; i++)
	{
		int			d = hex_digit(r->p[i]);

		if (d < 0)
			return false;
		v = v * 16 + d;
	}
	r->p += 4;
	*out = v;
	return true;
}

static void
put_utf8(char **buf, size_t *len, size_t *cap, unsigned cp)
{
	if (*len + 4 >= *cap)
	{
		*cap = 2 * *cap + 8;
		*buf = xrealloc(*buf, *cap);
	}
	if (cp < 0x80)
		(*buf)[(*len)++] = (char) cp;
	else if (cp < 0x800)
	{
		(*buf)[(*len)++] = (char) (0xc0 | (cp >> 6));
		(*buf)[(*len)++] = (char) (0x80 | (cp & 0x3f));
	}
	else if (cp < 0x10000)
	{
		(*buf)[(*len)++] = (char) (0xe0 | (cp >> 12));
		(*buf)[(*len)++] = (char) (0x80 | ((cp >> 6) & 0x3f));
		(*buf)[(*len)++] = (char) (0x80 | (cp & 0x3f));
	}
	else
	{
		(*buf)[(*len)++] = (char) (0xf0 | (cp >> 18));
		(*buf)[(*len)++] = (char) (0x80 | ((cp >> 12) & 0x3f));
		(*buf)[(*len)++] = (char) (0x80 | ((cp >> 6) & 0x3f));
		(*buf)[(*len)++] = (char) (0x80 | (cp & 0x3f));
	}
}

/* Length of the valid UTF-8 sequence at p (RFC 3629), 0 if invalid. */
static int
utf8_len(const unsigned char *p, const unsigned char *end)
{
	int			n,
				i;
	unsigned	cp;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2, cp = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3, cp = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4, cp = p[0] & 0x07;
	else
		return 0;
	if (end - p < n)
		return 0;
	for (i = 1; i < n; i++)
	{
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		(n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

/* A string at r->p (the opening quote), decoded into *out / *outlen. */
static bool
read_string(Reader *r, char **out, size_t *outlen)
{
	size_t		cap = 16,
				len = 0;
	char	   *buf = xmalloc(cap);

	r->p++;						/* the opening quote */
	while (r->p < r->end && *r->p != '"')
	{
		unsigned char c = (unsigned char) *r->p;

		if (c < 0x20)
		{
			fail(r, "unescaped control character 0x%02x in a string", c);
			free(buf);
			return false;
		}
		if (c == '\\')
		{
			unsigned	cp;

			r->p++;
			if (r->p >= r->end)
				break;
			switch (*r->p++)
			{
				case '"':
					cp = '"';
					break;
				case '\\':
					cp = '\\';
					break;
				case '/':
					cp = '/';
					break;
				case 'b':
					cp = '\b';
					break;
				case 'f':
					cp = '\f';
					break;
				case 'n':
					cp = '\n';
					break;
				case 'r':
					cp = '\r';
					break;
				case 't':
					cp = '\t';
					break;
				case 'u':
					if (!read_hex4(r, &cp))
					{
						fail(r, "invalid \\u escape");
						free(buf);
						return false;
					}
					if (cp >= 0xd800 && cp <= 0xdbff)
					{
						unsigned	lo;

						if (r->end - r->p < 2 || r->p[0] != '\\' || r->p[1] != 'u' ||
							(r->p += 2, !read_hex4(r, &lo)) || lo < 0xdc00 || lo > 0xdfff)
						{
							fail(r, "unpaired UTF-16 surrogate in a \\u escape");
							free(buf);
							return false;
						}
						cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
					}
					else if (cp >= 0xdc00 && cp <= 0xdfff)
					{
						fail(r, "unpaired UTF-16 surrogate in a \\u escape");
						free(buf);
						return false;
					}
					break;
				default:
					r->p--;
					fail(r, "invalid escape \"\\%c\"", *r->p);
					free(buf);
					return false;
			}
			put_utf8(&buf, &len, &cap, cp);
			continue;
		}
		{
			int			n = utf8_len((const unsigned char *) r->p, (const unsigned char *) r->end);

			if (n == 0)
			{
				fail(r, "invalid UTF-8 byte 0x%02x in a string", c);
				free(buf);
				return false;
			}
			if (len + n >= cap)
			{
				cap = 2 * cap + n;
				buf = xrealloc(buf, cap);
			}
			memcpy(buf + len, r->p, n);
			len += n;
			r->p += n;
		}
	}
	if (r->p >= r->end)
	{
		fail(r, "unterminated string");
		free(buf);
		return false;
	}
	r->p++;						/* the closing quote */
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	return true;
}

static bool
read_number(Reader *r, JsonValue *v)
{
	const char *s = r->p;

	if (r->p < r->end && *r->p == '-')
		r->p++;
	if (r->p < r->end && *r->p == '0')
		r->p++;
	else if (r->p < r->end && *r->p >= '1' && *r->p <= '9')
		while (r->p < r->end && *r->p >= '0' && *r->p <= '9')
			r->p++;
	else
		return false;
	if (r->p < r->end && *r->p == '.')
	{
		r->p++;
		if (r->p >= r->end || *r->p < '0' || *r->p > '9')
			return false;
		while (r->p < r->end && *r->p >= '0' && *r->p <= '9')
			r->p++;
	}
	if (r->p < r->end && (*r->p == 'e' || *r->p == 'E'))
	{
		r->p++;
		if (r->p < r->end && (*r->p == '+' || *r->p == '-'))
			r->p++;
		if (r->p >= r->end || *r->p < '0' || *r->p > '9')
			return false;
		while (r->p < r->end && *r->p >= '0' && *r->p <= '9')
			r->p++;
	}
	v->len = r->p - s;
	v->str = xmalloc(v->len + 1);
	memcpy(v->str, s, v->len);
	v->str[v->len] = '\0';
	return true;
}

static bool
literal(Reader *r, const char *word)
{
	size_t		n = strlen(word);

	if ((size_t) (r->end - r->p) >= n && memcmp(r->p, word, n) == 0)
	{
		r->p += n;
		return true;
	}
	return false;
}

/* Keys of one object, for the duplicate check: sorted indexes. */
static const JsonValue *sort_obj;

static int
key_cmp(const void *a, const void *b)
{
	size_t		i = *(const size_t *) a,
				j = *(const size_t *) b;
	size_t		li = sort_obj->keylens[i],
				lj = sort_obj->keylens[j];
	int			c = memcmp(sort_obj->keys[i], sort_obj->keys[j], li < lj ? li : lj);

	if (c != 0)
		return c;
	return li < lj ? -1 : li > lj ? 1 : (i < j ? -1 : 1);
}

static void
check_duplicates(Reader *r, const JsonValue *obj)
{
	size_t	   *idx;
	size_t		i;

	if (obj->n < 2)
		return;
	idx = xmalloc(sizeof(size_t) * obj->n);
	for (i = 0; i < obj->n; i++)
		idx[i] = i;
	sort_obj = obj;
	qsort(idx, obj->n, sizeof(size_t), key_cmp);
	for (i = 1; i < obj->n; i++)
	{
		size_t		a = idx[i - 1],
					b = idx[i];

		if (obj->keylens[a] == obj->keylens[b] &&
			memcmp(obj->keys[a], obj->keys[b], obj->keylens[a]) == 0)
		{
			char		shown[104];
			size_t		n = obj->keylens[a] > 100 ? 100 : obj->keylens[a];

			memcpy(shown, obj->keys[a], n);
			strcpy(shown + n, obj->keylens[a] > 100 ? "..." : "");
			/* keep the quoted key printable: a NUL or control byte ends it */
			for (n = 0; shown[n] != '\0'; n++)
				if ((unsigned char) shown[n] < 0x20)
					shown[n] = '?';
			r->failed = true;
			r->duplicate = true;
			snprintf(r->err, r->errlen,
					 "duplicate key \"%s\" in the object at %s: the server's jsonb would keep the last value, while a reader of the file sees the first",
					 shown, r->path);
			break;
		}
	}
	free(idx);
}

static JsonValue *read_value(Reader *r);

static JsonValue *
read_container(Reader *r, bool object)
{
	JsonValue  *v = new_value(object ? JSON_OBJECT : JSON_ARRAY);
	size_t		cap = 0;
	size_t		saved = r->pathlen;

	if (++r->depth > JSON_MAX_DEPTH)
	{
		fail(r, "nesting deeper than %d levels", JSON_MAX_DEPTH);
		return v;
	}
	r->p++;						/* [ or { */
	skip_ws(r);
	if (r->p < r->end && *r->p == (object ? '}' : ']'))
	{
		r->p++;
		r->depth--;
		return v;
	}
	for (;;)
	{
		char	   *key = NULL;
		size_t		keylen = 0;
		JsonValue  *item;

		skip_ws(r);
		if (object)
		{
			if (r->p >= r->end || *r->p != '"')
			{
				fail(r, "expected a string key");
				return v;
			}
			if (!read_string(r, &key, &keylen))
				return v;
			skip_ws(r);
			if (r->p >= r->end || *r->p != ':')
			{
				free(key);
				fail(r, "expected \":\" after a key");
				return v;
			}
			r->p++;
			path_push(r, ".%.*s", (int) (keylen > 100 ? 100 : keylen), key);
		}
		else
			path_push(r, "[%zu]", v->n);
		item = read_value(r);
		r->pathlen = saved;
		r->path[saved] = '\0';
		if (v->n == cap)
		{
			cap = cap ? 2 * cap : 8;
			v->items = xrealloc(v->items, sizeof(JsonValue *) * cap);
			if (object)
			{
				v->keys = xrealloc(v->keys, sizeof(char *) * cap);
				v->keylens = xrealloc(v->keylens, sizeof(size_t) * cap);
			}
		}
		v->items[v->n] = item;
		if (object)
		{
			v->keys[v->n] = key;
			v->keylens[v->n] = keylen;
		}
		v->n++;
		if (r->failed)
			return v;
		skip_ws(r);
		if (r->p < r->end && *r->p == ',')
		{
			r->p++;
			continue;
		}
		if (r->p < r->end && *r->p == (object ? '}' : ']'))
		{
			r->p++;
			break;
		}
		fail(r, object ? "expected \",\" or \"}\"" : "expected \",\" or \"]\"");
		return v;
	}
	r->depth--;
	if (object)
		check_duplicates(r, v);
	return v;
}

static JsonValue *
read_value(Reader *r)
{
	JsonValue  *v;

	skip_ws(r);
	if (r->p >= r->end)
	{
		fail(r, "unexpected end of input");
		return new_value(JSON_NULL);
	}
	switch (*r->p)
	{
		case '{':
			return read_container(r, true);
		case '[':
			return read_container(r, false);
		case '"':
			v = new_value(JSON_STRING);
			if (!read_string(r, &v->str, &v->len))
				v->kind = JSON_NULL;
			return v;
		case 't':
			if (literal(r, "true"))
				return new_value(JSON_TRUE);
			break;
		case 'f':
			if (literal(r, "false"))
				return new_value(JSON_FALSE);
			break;
		case 'n':
			if (literal(r, "null"))
				return new_value(JSON_NULL);
			break;
		default:
			v = new_value(JSON_NUMBER);
			if (read_number(r, v))
				return v;
			v->kind = JSON_NULL;
			fail(r, "invalid JSON value");
			return v;
	}
	fail(r, "invalid JSON value");
	return new_value(JSON_NULL);
}

JsonValue *
json_parse(const char *text, size_t len, char *err, size_t errlen, bool *duplicate_key)
{
	Reader		r;
	JsonValue  *v;

	memset(&r, 0, sizeof(r));
	r.p = r.start = text;
	r.end = text + len;
	r.err = err;
	r.errlen = errlen;
	r.pathcap = 64;
	r.path = xmalloc(r.pathcap);
	strcpy(r.path, "$");
	r.pathlen = 1;
	v = read_value(&r);
	if (!r.failed)
	{
		skip_ws(&r);
		if (r.p != r.end)
			fail(&r, "unexpected text after the JSON value");
	}
	free(r.path);
	if (duplicate_key != NULL)
		*duplicate_key = r.duplicate;
	if (r.failed)
	{
		json_free(v);
		return NULL;
	}
	return v;
}

void
json_free(JsonValue *v)
{
	size_t		i;

	if (v == NULL)
		return;
	for (i = 0; i < v->n; i++)
	{
		json_free(v->items[i]);
		if (v->keys)
			free(v->keys[i]);
	}
	free(v->items);
	free(v->keys);
	free(v->keylens);
	free(v->str);
	free(v);
}

const JsonValue *
json_get(const JsonValue *obj, const char *key)
{
	size_t		i;
	size_t		len = strlen(key);

	if (obj == NULL || obj->kind != JSON_OBJECT)
		return NULL;
	for (i = 0; i < obj->n; i++)
		if (obj->keylens[i] == len && memcmp(obj->keys[i], key, len) == 0)
			return obj->items[i];
	return NULL;
}
