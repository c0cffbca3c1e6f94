/*-------------------------------------------------------------------------
 *
 * hash.c
 *	  SHA-256 and HMAC-SHA-256 through OpenSSL, and taskdb.sha256(bytea).
 *
 * Artifact hashes are written 'sha256:' followed by 64 lower-case hex
 * digits everywhere in taskdb (column, claims, reports); this file is the
 * one place that produces that form.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "fmgr.h"
#include "utils/builtins.h"

#include "compat.h"
#include "taskdb.h"

PG_FUNCTION_INFO_V1(taskdb_sha256);

static const char hexdigits[] = "0123456789abcdef";

static void
hex_encode_lower(const unsigned char *bytes, int n, char *out)
{
	int			i;

	for (i = 0; i < n; i++)
	{
		out[2 * i] = hexdigits[bytes[i] >> 4];
		out[2 * i + 1] = hexdigits[bytes[i] & 0x0f];
	}
	out[2 * n] = '\0';
}

/* SHA-256 of data as 64 hex digits plus a terminating NUL in out[65]. */
void
taskdb_sha256_hex(const void *data, size_t len, char *out)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not compute SHA-256 digest with OpenSSL")));
	hex_encode_lower(md, mdlen, out);
}

/* HMAC-SHA-256 of data under key, as 64 hex digits plus NUL in out[65]. */
void
taskdb_hmac_sha256_hex(const void *key, size_t keylen,
					   const void *data, size_t len, char *out)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (HMAC(EVP_sha256(), key, (int) keylen, data, len, md, &mdlen) == NULL ||
		mdlen != 32)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not compute HMAC-SHA-256 with OpenSSL")));
	hex_encode_lower(md, mdlen, out);
	OPENSSL_cleanse(md, sizeof(md));
}

/* Is s[0..len) of the form 'sha256:' + 64 lower-case hex digits? */
bool
taskdb_sha256_text_valid(const char *s, int len)
{
	int			i;

	if (len != 7 + SHA256_HEX_LEN || memcmp(s, "sha256:", 7) != 0)
		return false;
	for (i = 7; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/*
 * taskdb.sha256(bytea) -> text: 'sha256:<hex>', the form artifacts.sha256
 * stores.  Hashes the detoasted value in one call; bytea is at most 1 GB.
 */
Datum
taskdb_sha256(PG_FUNCTION_ARGS)
{
	bytea	   *data = PG_GETARG_BYTEA_PP(0);
	char		buf[7 + SHA256_HEX_LEN + 1];

	memcpy(buf, "sha256:", 7);
	taskdb_sha256_hex(VARDATA_ANY(data), VARSIZE_ANY_EXHDR(data), buf + 7);
	PG_FREE_IF_COPY(data, 0);
	PG_RETURN_TEXT_P(cstring_to_text(buf));
}
