/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Byte buffers for snapshots (snap.h): a writer that grows, a reader that
 * never reads past its end.  Errors are sticky: check once at the end.
 */
#ifndef XENIBD_MIGRATE_BUF_H
#define XENIBD_MIGRATE_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct xm_buf {
	uint8_t *p;
	size_t len, cap;
	size_t max;		/* refuse to grow past this */
	bool err;
};

/* Append n bytes (zeros if src is NULL); false once out of room. */
bool xm_put(struct xm_buf *b, const void *src, size_t n);
/* Reserve n bytes, return where they start (NULL: no room). */
void *xm_reserve(struct xm_buf *b, size_t n);
void xm_buf_free(struct xm_buf *b);

struct xm_rd {
	const uint8_t *p;
	size_t len, off;
	bool err;
};

/* The next n bytes, or NULL (and err) if fewer are left. */
const void *xm_get(struct xm_rd *r, size_t n);
/* Copy the next n bytes into dst; false (dst zeroed) if fewer are left. */
bool xm_take(struct xm_rd *r, void *dst, size_t n);

#endif /* XENIBD_MIGRATE_BUF_H */
