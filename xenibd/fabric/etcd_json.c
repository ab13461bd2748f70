// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The JSON side of the etcd client: base64, proto3-JSON int64 strings, and
 * strict, bounded parsing of what etcd sends.  Nothing here trusts a length,
 * a type or a count it did not check.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "xenibd/fabric/etcd_int.h"

struct etcd_chunk {
	struct etcd_chunk *next;
	max_align_t data[];
};

void *etcd_arena_alloc(struct etcd_arena *a, size_t n)
{
	struct etcd_chunk *c;

	if (n > ETCD_MAX_REPLY)
		return NULL;
	c = malloc(sizeof(*c) + n + 1);
	if (!c)
		return NULL;
	c->next = a->chunks;
	a->chunks = c;
	return c->data;
}

void etcd_arena_free(struct etcd_arena *a)
{
	while (a->chunks) {
		struct etcd_chunk *c = a->chunks;

		a->chunks = c->next;
		free(c);
	}
}

int etcd_buf_add(struct etcd_buf *b, const void *p, size_t n)
{
	if (n > ETCD_MAX_REPLY || b->len + n > ETCD_MAX_REPLY)
		return -EMSGSIZE;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 1024;
		char *q;

		while (cap < b->len + n + 1)
			cap *= 2;
		q = realloc(b->p, cap);
		if (!q)
			return -ENOMEM;
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = 0;
	return 0;
}

void etcd_buf_free(struct etcd_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

static const char b64chars[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int etcd_b64_encode(const void *in, size_t len, char *out, size_t outsz)
{
	const unsigned char *s = in;
	size_t i, o = 0;

	if (outsz < (len + 2) / 3 * 4 + 1)
		return -EMSGSIZE;
	for (i = 0; i + 2 < len; i += 3) {
		uint32_t v = s[i] << 16 | s[i + 1] << 8 | s[i + 2];

		out[o++] = b64chars[v >> 18 & 63];
		out[o++] = b64chars[v >> 12 & 63];
		out[o++] = b64chars[v >> 6 & 63];
		out[o++] = b64chars[v & 63];
	}
	if (i < len) {
		uint32_t v = s[i] << 16 | (i + 1 < len ? s[i + 1] << 8 : 0);

		out[o++] = b64chars[v >> 18 & 63];
		out[o++] = b64chars[v >> 12 & 63];
		out[o++] = i + 1 < len ? b64chars[v >> 6 & 63] : '=';
		out[o++] = '=';
	}
	out[o] = 0;
	return (int)o;
}

static int b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

long etcd_b64_decode(const char *in, size_t len, void *out, size_t outsz)
{
	unsigned char *d = out;
	size_t i, o = 0, pad = 0;

	/* Go's encoding/base64 StdEncoding, as etcd's gateway sends it. */
	if (len % 4)
		return -1;
	if (len && in[len - 1] == '=')
		pad = len >= 2 && in[len - 2] == '=' ? 2 : 1;
	if (len / 4 * 3 - pad > outsz)
		return -1;
	for (i = 0; i < len; i += 4) {
		int v[4], k, n = 4;
		uint32_t w = 0;

		if (i + 4 == len)
			n = 4 - (int)pad;
		for (k = 0; k < 4; k++) {
			v[k] = k < n ? b64val(in[i + k]) : 0;
			if (v[k] < 0)
				return -1;
			w = w << 6 | (uint32_t)v[k];
		}
		/* Padding can only ever stand for whole bytes. */
		if (n < 2)
			return -1;
		d[o++] = w >> 16;
		if (n > 2)
			d[o++] = w >> 8 & 0xff;
		if (n > 3)
			d[o++] = w & 0xff;
	}
	return (long)o;
}

int etcd_json_put_bytes(json_object *o, const char *field, const void *p,
			size_t n, bool nul)
{
	char raw[ETCD_MAX_KEY + 1];
	char *enc;
	size_t encsz;
	int r;

	if (nul) {
		/* only keys get a NUL appended */
		if (n + 1 > sizeof(raw))
			return -EINVAL;
		memcpy(raw, p, n);
		raw[n++] = 0;
		p = raw;
	}
	if (n > ETCD_MAX_VALUE)
		return -EINVAL;
	encsz = (n + 2) / 3 * 4 + 1;
	enc = malloc(encsz);
	if (!enc)
		return -ENOMEM;
	r = etcd_b64_encode(p, n, enc, encsz);
	if (r >= 0)
		r = json_object_object_add(o, field,
					   json_object_new_string_len(enc, r));
	free(enc);
	return r < 0 ? -ENOMEM : 0;
}

int etcd_json_put_prefix_end(json_object *o, const char *field,
			     const char *prefix)
{
	char end[ETCD_MAX_KEY];
	size_t n = strlen(prefix);

	if (n > sizeof(end))
		return -EINVAL;
	memcpy(end, prefix, n);
	/* Drop trailing 0xff bytes and add one to the last byte left. */
	while (n && (unsigned char)end[n - 1] == 0xff)
		n--;
	if (!n) {
		/* "\0": every key (etcd's convention) */
		end[0] = 0;
		return etcd_json_put_bytes(o, field, end, 1, false);
	}
	end[n - 1]++;
	return etcd_json_put_bytes(o, field, end, n, false);
}

int etcd_json_put_i64(json_object *o, const char *field, int64_t v)
{
	char s[24];

	snprintf(s, sizeof(s), "%" PRId64, v);
	return json_object_object_add(o, field, json_object_new_string(s)) ?
	       -ENOMEM : 0;
}

char *etcd_json_finish(json_object *o)
{
	const char *s;
	char *out = NULL;

	if (!o)
		return NULL;
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
					   JSON_C_TO_STRING_NOSLASHESCAPE);
	if (s)
		out = strdup(s);
	json_object_put(o);
	return out;
}

int etcd_json_parse(const char *buf, size_t len, json_object **out,
		    const char **why)
{
	struct json_tokener *tok;
	json_object *o;
	size_t end;

	*out = NULL;
	if (len > ETCD_MAX_REPLY) {
		*why = "reply too large";
		return EMSGSIZE;
	}
	if (!len) {
		*why = "empty reply";
		return EBADMSG;
	}
	/* JSON text has no NUL; json-c would stop at one. */
	if (memchr(buf, 0, len)) {
		*why = "NUL byte in reply";
		return EBADMSG;
	}
	tok = json_tokener_new_ex(ETCD_JSON_DEPTH);
	if (!tok) {
		*why = "out of memory";
		return ENOMEM;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
			       JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, buf, (int)len);
	if (!o) {
		enum json_tokener_error je = json_tokener_get_error(tok);

		*why = je == json_tokener_continue ? "truncated JSON" :
		       json_tokener_error_desc(je);
		json_tokener_free(tok);
		return EBADMSG;
	}
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	while (end < len && strchr(" \t\r\n", buf[end]))
		end++;
	if (end != len) {
		json_object_put(o);
		*why = "trailing bytes after the JSON object";
		return EBADMSG;
	}
	if (!json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		*why = "reply is not a JSON object";
		return EBADMSG;
	}
	*out = o;
	return 0;
}

int etcd_json_i64(json_object *o, const char *field, int64_t *v)
{
	json_object *f;
	const char *s;
	char *end;
	long long x;

	*v = 0;
	/* proto3 JSON leaves zero fields out */
	if (!json_object_object_get_ex(o, field, &f))
		return 0;
	if (!json_object_is_type(f, json_type_string))
		return -EBADMSG;
	s = json_object_get_string(f);
	if (json_object_get_string_len(f) > 20 || !*s ||
	    !(*s == '-' || (*s >= '0' && *s <= '9')))
		return -EBADMSG;
	errno = 0;
	x = strtoll(s, &end, 10);
	if (errno || *end)
		return -EBADMSG;
	*v = x;
	return 0;
}

int etcd_json_bool(json_object *o, const char *field, bool *v)
{
	json_object *f;

	*v = false;
	if (!json_object_object_get_ex(o, field, &f))
		return 0;
	if (!json_object_is_type(f, json_type_boolean))
		return -EBADMSG;
	*v = json_object_get_boolean(f);
	return 0;
}

/* A base64 field decoded into the arena, NUL-terminated. */
static int json_bytes(json_object *o, const char *field, size_t max,
		      struct etcd_arena *a, const char **p, size_t *n,
		      const char **why)
{
	json_object *f;
	const char *s;
	size_t slen;
	char *d;
	long r;

	*p = "";
	*n = 0;
	if (!json_object_object_get_ex(o, field, &f))
		return 0;
	if (!json_object_is_type(f, json_type_string)) {
		*why = "bytes field is not a string";
		return EBADMSG;
	}
	s = json_object_get_string(f);
	slen = json_object_get_string_len(f);
	if (slen > (max + 2) / 3 * 4) {
		*why = "key or value over the size limit";
		return EMSGSIZE;
	}
	d = etcd_arena_alloc(a, slen / 4 * 3 + 1);
	if (!d) {
		*why = "out of memory";
		return ENOMEM;
	}
	r = etcd_b64_decode(s, slen, d, max);
	if (r < 0) {
		*why = "bad base64";
		return EBADMSG;
	}
	d[r] = 0;
	*p = d;
	*n = (size_t)r;
	return 0;
}

int etcd_json_kv(json_object *o, struct etcd_kv *kv, struct etcd_arena *a,
		 bool need_key, const char **why)
{
	int r;

	memset(kv, 0, sizeof(*kv));
	if (!json_object_is_type(o, json_type_object)) {
		*why = "kv is not an object";
		return EBADMSG;
	}
	r = json_bytes(o, "key", ETCD_MAX_KEY, a, &kv->key, &kv->key_len, why);
	if (r)
		return r;
	if (need_key && !kv->key_len) {
		*why = "kv without a key";
		return EBADMSG;
	}
	r = json_bytes(o, "value", ETCD_MAX_VALUE, a, &kv->value,
		       &kv->value_len, why);
	if (r)
		return r;
	if (etcd_json_i64(o, "create_revision", &kv->create_rev) ||
	    etcd_json_i64(o, "mod_revision", &kv->mod_rev) ||
	    etcd_json_i64(o, "version", &kv->version) ||
	    etcd_json_i64(o, "lease", &kv->lease) ||
	    kv->create_rev < 0 || kv->mod_rev < 0 || kv->version < 0 ||
	    kv->lease < 0 || kv->create_rev > kv->mod_rev) {
		*why = "bad revision, version or lease in a kv";
		return EBADMSG;
	}
	return 0;
}

int etcd_json_range(json_object *o, uint32_t limit, struct etcd_range *rg,
		    struct etcd_arena *a, const char **why)
{
	json_object *kvs;
	size_t i, n = 0;
	int r;

	memset(rg, 0, sizeof(*rg));
	if (etcd_json_i64(o, "count", &rg->count) ||
	    etcd_json_bool(o, "more", &rg->more) || rg->count < 0) {
		*why = "bad count or more in a range reply";
		return EBADMSG;
	}
	if (json_object_object_get_ex(o, "kvs", &kvs)) {
		if (!json_object_is_type(kvs, json_type_array)) {
			*why = "kvs is not an array";
			return EBADMSG;
		}
		n = json_object_array_length(kvs);
	}
	if (n > limit || n > ETCD_MAX_KVS) {
		*why = "more kvs than asked for";
		return EMSGSIZE;
	}
	if ((int64_t)n > rg->count) {
		*why = "more kvs than the count";
		return EBADMSG;
	}
	if (!n)
		return 0;
	rg->kvs = etcd_arena_alloc(a, n * sizeof(*rg->kvs));
	if (!rg->kvs) {
		*why = "out of memory";
		return ENOMEM;
	}
	for (i = 0; i < n; i++) {
		r = etcd_json_kv(json_object_array_get_idx(kvs, i),
				 &rg->kvs[i], a, true, why);
		if (r)
			return r;
	}
	rg->nkvs = (uint32_t)n;
	return 0;
}

int etcd_grpc_errno(int64_t code)
{
	switch (code) {
	case 1:		/* CANCELED */
		return ECANCELED;
	case 3:		/* INVALID_ARGUMENT */
		return EINVAL;
	case 4:		/* DEADLINE_EXCEEDED */
		return ETIMEDOUT;
	case 5:		/* NOT_FOUND */
		return ENOENT;
	case 6:		/* ALREADY_EXISTS */
		return EEXIST;
	case 7:		/* PERMISSION_DENIED */
	case 16:	/* UNAUTHENTICATED */
		return EACCES;
	case 8:		/* RESOURCE_EXHAUSTED */
		return ENOSPC;
	case 9:		/* FAILED_PRECONDITION */
		return EPERM;
	case 11:	/* OUT_OF_RANGE: compacted, future revision */
		return ERANGE;
	case 14:	/* UNAVAILABLE: no leader, shutting down */
		return EAGAIN;
	default:
		return EIO;
	}
}
