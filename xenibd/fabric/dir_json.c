// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The directory's keys and values.  A value read from etcd may have been
 * written by anyone: each is parsed strictly and checked (types, ranges,
 * the GUID against the LID, host ids and addresses) before it is used.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xenibd/fabric/dir_int.h"
#include "xenibd/fabric/etcd_int.h"

#define JSON_INT_MAX	(1ll << 53)	/* exact in any JSON reader */

void dir_key(const struct xdir *d, char *out, const char *fmt, ...)
{
	size_t n = strlen(d->prefix);
	va_list ap;

	memcpy(out, d->prefix, n);
	va_start(ap, fmt);
	vsnprintf(out + n, DIR_KEY_MAX - n, fmt, ap);
	va_end(ap);
}

bool dir_host_id_ok(const char *id, size_t len)
{
	size_t i;

	if (!len || len > XDIR_HOST_ID_MAX)
		return false;
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)id[i]) && !strchr("._-", id[i]))
			return false;
	return id[0] != '.';
}

bool dir_addr_ok(const char *addr, size_t len)
{
	char host[XDIR_ADDR_MAX + 1], *colon, *end;
	unsigned char buf[16];
	unsigned long port;

	if (!len || len > XDIR_ADDR_MAX || memchr(addr, 0, len))
		return false;
	memcpy(host, addr, len);
	host[len] = 0;
	colon = strrchr(host, ':');
	if (!colon || !colon[1])
		return false;
	*colon = 0;
	port = strtoul(colon + 1, &end, 10);
	if (*end || !port || port > 65535 || colon[1] == '0')
		return false;
	if (host[0] == '[') {
		size_t n = strlen(host);

		if (n < 3 || host[n - 1] != ']')
			return false;
		host[n - 1] = 0;
		return inet_pton(AF_INET6, host + 1, buf) == 1;
	}
	return inet_pton(AF_INET, host, buf) == 1;
}

bool dir_uuid_norm(const char *uuid, char out[XDIR_UUID_LEN + 1])
{
	int i;

	if (!uuid || strlen(uuid) != XDIR_UUID_LEN)
		return false;
	for (i = 0; i < XDIR_UUID_LEN; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? uuid[i] != '-' : !isxdigit((unsigned char)uuid[i]))
			return false;
		out[i] = (char)tolower((unsigned char)uuid[i]);
	}
	out[XDIR_UUID_LEN] = 0;
	return true;
}

uint16_t dir_lid_of_key(const char *key, size_t len, const char *prefix)
{
	size_t n = strlen(prefix), i;
	unsigned int lid = 0;

	if (len != n + 4 || memcmp(key, prefix, n))
		return 0;
	for (i = n; i < len; i++) {
		char c = key[i];

		/* exactly what dir_key writes: lowercase, 4 digits */
		if (c >= '0' && c <= '9')
			lid = lid << 4 | (unsigned int)(c - '0');
		else if (c >= 'a' && c <= 'f')
			lid = lid << 4 | (unsigned int)(c - 'a' + 10);
		else
			return 0;
	}
	return lid >= XDIR_LID_MIN && lid <= XDIR_LID_MAX ? (uint16_t)lid : 0;
}

/* Parse a value: one JSON object, strict. */
static int parse(const char *v, size_t len, json_object **o)
{
	const char *why;

	if (len > DIR_VALUE_MAX)
		return EMSGSIZE;
	return etcd_json_parse(v, len, o, &why);
}

static int get_int(json_object *o, const char *field, int64_t min,
		   int64_t max, int64_t *out)
{
	json_object *f;

	if (!json_object_object_get_ex(o, field, &f) ||
	    !json_object_is_type(f, json_type_int))
		return EBADMSG;
	errno = 0;
	*out = json_object_get_int64(f);
	if (errno || *out < min || *out > max)
		return EBADMSG;
	return 0;
}

static int get_str(json_object *o, const char *field, char *out, size_t max)
{
	json_object *f;
	size_t n;

	if (!json_object_object_get_ex(o, field, &f) ||
	    !json_object_is_type(f, json_type_string))
		return EBADMSG;
	n = (size_t)json_object_get_string_len(f);
	if (n > max)
		return EMSGSIZE;
	memcpy(out, json_object_get_string(f), n);
	out[n] = 0;
	if (strlen(out) != n)
		return EBADMSG;
	return 0;
}

static int fit(int n, size_t size)
{
	return n < 0 || (size_t)n >= size ? EMSGSIZE : 0;
}

int dir_host_encode(char *out, size_t n, const char *addr, uint64_t epoch)
{
	return fit(snprintf(out, n, "{\"addr\":\"%s\",\"epoch\":%" PRIu64 "}",
			    addr, epoch), n);
}

int dir_host_decode(const char *v, size_t len, char *addr, uint64_t *epoch)
{
	json_object *o;
	int64_t ep = 0;
	int err = parse(v, len, &o);

	if (err)
		return err;
	err = get_str(o, "addr", addr, XDIR_ADDR_MAX);
	if (!err && !dir_addr_ok(addr, strlen(addr)))
		err = EBADMSG;
	if (!err)
		err = get_int(o, "epoch", 1, JSON_INT_MAX, &ep);
	json_object_put(o);
	*epoch = (uint64_t)ep;
	return err;
}

int dir_epoch_encode(char *out, size_t n, uint64_t epoch, const char *nonce)
{
	return fit(snprintf(out, n, "{\"epoch\":%" PRIu64 ",\"nonce\":\"%s\"}",
			    epoch, nonce), n);
}

int dir_epoch_decode(const char *v, size_t len, uint64_t *epoch,
		     char nonce[17])
{
	json_object *o;
	int64_t ep = 0;
	int err = parse(v, len, &o);

	if (err)
		return err;
	err = get_int(o, "epoch", 1, JSON_INT_MAX, &ep);
	if (!err)
		err = get_str(o, "nonce", nonce, 16);
	json_object_put(o);
	*epoch = (uint64_t)ep;
	return err;
}

int dir_guest_encode(char *out, size_t n, uint16_t lid)
{
	return fit(snprintf(out, n, "{\"lid\":%u,\"guid\":\"0x%016" PRIx64
			    "\"}", lid, xdir_guid_of_lid(lid)), n);
}

int dir_guest_decode(const char *v, size_t len, struct xdir_ident *id)
{
	char guid[24], *end;
	json_object *o;
	int64_t lid = 0;
	int err = parse(v, len, &o);

	memset(id, 0, sizeof(*id));
	if (err)
		return err;
	err = get_int(o, "lid", XDIR_LID_MIN, XDIR_LID_MAX, &lid);
	if (!err)
		err = get_str(o, "guid", guid, 18);
	json_object_put(o);
	if (err)
		return err;
	if (strlen(guid) != 18 || strncmp(guid, "0x", 2))
		return EBADMSG;
	errno = 0;
	id->guid = strtoull(guid + 2, &end, 16);
	/* the GUID is derived from the LID: anything else is not ours */
	if (errno || *end || id->guid != xdir_guid_of_lid((uint16_t)lid))
		return EBADMSG;
	id->lid = (uint16_t)lid;
	xdir_gid_of_guid(id->guid, id->gid);
	return 0;
}

int dir_loc_encode(char *out, size_t n, const char *host, uint64_t gen)
{
	return fit(snprintf(out, n, "{\"host\":\"%s\",\"gen\":%" PRIu64 "}",
			    host, gen), n);
}

int dir_loc_decode(const char *v, size_t len, char *host, uint64_t *gen)
{
	json_object *o;
	int64_t g = 0;
	int err = parse(v, len, &o);

	if (err)
		return err;
	err = get_str(o, "host", host, XDIR_HOST_ID_MAX);
	if (!err && !dir_host_id_ok(host, strlen(host)))
		err = EBADMSG;
	if (!err)
		err = get_int(o, "gen", 1, JSON_INT_MAX, &g);
	json_object_put(o);
	*gen = (uint64_t)g;
	return err;
}
