/*-------------------------------------------------------------------------
 *
 * json.h
 *	  The taskdb client's strict JSON reader (json.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef TASKDB_CLI_JSON_H
#define TASKDB_CLI_JSON_H

#include <stdbool.h>
#include <stddef.h>

typedef enum JsonKind
{
	JSON_NULL,
	JSON_FALSE,
	JSON_TRUE,
	JSON_NUMBER,
	JSON_STRING,
	JSON_ARRAY,
	JSON_OBJECT
} JsonKind;

typedef struct JsonValue
{
	JsonKind	kind;
	char	   *str;			/* string: decoded UTF-8; number: its text */
	size_t		len;
	size_t		n;				/* array elements or object members */
	struct JsonValue **items;	/* elements, or members' values */
	char	  **keys;			/* object: members' keys, decoded */
	size_t	   *keylens;
} JsonValue;

/*
 * Parses text (RFC 8259; an object naming a key twice is refused).  NULL on
 * error, with the reason in err and *duplicate_key (if given) saying whether
 * the error is a duplicate key.
 */
extern JsonValue *json_parse(const char *text, size_t len, char *err, size_t errlen,
							 bool *duplicate_key);
extern void json_free(JsonValue *v);
/* The value of key in obj, or NULL. */
extern const JsonValue *json_get(const JsonValue *obj, const char *key);

#endif							/* TASKDB_CLI_JSON_H */
