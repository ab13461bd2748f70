// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Snapshot byte buffers (buf.h). */
#include <stdlib.h>
#include <string.h>

#include "xenibd/migrate/buf.h"

void *xm_reserve(struct xm_buf *b, size_t n)
{
	size_t cap;
	void *at;

	if (b->err)
		return NULL;
	if (n > b->max - b->len) {
		b->err = true;
		return NULL;
	}
	if (b->len + n > b->cap) {
		cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n)
			cap *= 2;
		if (cap > b->max)
			cap = b->max;
		at = realloc(b->p, cap);
		if (!at) {
			b->err = true;
			return NULL;
		}
		b->p = at;
		b->cap = cap;
	}
	at = b->p + b->len;
	b->len += n;
	return at;
}

bool xm_put(struct xm_buf *b, const void *src, size_t n)
{
	void *at = xm_reserve(b, n);

	if (!at)
		return false;
	if (src)
		memcpy(at, src, n);
	else
		memset(at, 0, n);
	return true;
}

void xm_buf_free(struct xm_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

const void *xm_get(struct xm_rd *r, size_t n)
{
	const void *at;

	if (r->err || n > r->len - r->off) {
		r->err = true;
		return NULL;
	}
	at = r->p + r->off;
	r->off += n;
	return at;
}

bool xm_take(struct xm_rd *r, void *dst, size_t n)
{
	const void *at = xm_get(r, n);

	if (!at) {
		memset(dst, 0, n);
		return false;
	}
	memcpy(dst, at, n);
	return true;
}
