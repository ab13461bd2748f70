// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * A snapshot from another host's backend (snap.h), checked before anything
 * is built from it: the header, the table records, every context's
 * records (tag, body size, count), handles unique per kind and never 0,
 * the context page at most once.  What the records ask for is checked
 * again when they are built, by the same code that checks a guest's
 * requests (build.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "xenibd/dev/dev.h"
#include "xenibd/migrate/snap.h"

/* Fixed body size per tag (MR: the minimum, segments follow). */
static const size_t body_len[XM_R_MAX] = {
	[XM_R_REGION] = sizeof(struct xm_r_region),
	[XM_R_NOTIFY] = sizeof(struct xm_r_notify),
	[XM_R_PD] = sizeof(struct xm_r_pd),
	[XM_R_XRCD] = sizeof(struct xm_r_xrcd),
	[XM_R_MR] = sizeof(struct xm_r_mr),
	[XM_R_CQ] = sizeof(struct xm_r_cq),
	[XM_R_SRQ] = sizeof(struct xm_r_srq),
	[XM_R_AH] = sizeof(struct xm_r_ah),
	[XM_R_QP] = sizeof(struct xm_r_qp),
};

static size_t padded(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

bool xm_snap_next(const struct xm_snap_ctx *c, size_t *off,
		  const struct xm_rec **rec, const void **body)
{
	const struct xm_rec *r;

	if (*off + sizeof(*r) > c->len)
		return false;
	r = (const struct xm_rec *)(c->recs + *off);
	*rec = r;
	*body = r + 1;
	*off += sizeof(*r) + padded(r->len);
	return true;
}

/* The first word of every body is the object's handle. */
static uint32_t rec_handle(const void *body)
{
	uint32_t h;

	memcpy(&h, body, sizeof(h));
	return h;
}

/* Framing of one record; 0 or EBADMSG. */
static int check_rec(const struct xm_rec *r, const void *body, size_t room,
		     const char **why)
{
	const struct xm_r_mr *mr = body;

	if (!r->tag || r->tag >= XM_R_MAX || r->reserved) {
		*why = "unknown record";
		return EBADMSG;
	}
	if (r->len > room || r->len < body_len[r->tag]) {
		*why = "record size";
		return EBADMSG;
	}
	if (r->tag == XM_R_MR) {
		if (mr->req.nsegs > XENIB_MAX_MR_SEGS ||
		    r->len != sizeof(*mr) +
			      mr->req.nsegs * sizeof(struct xenib_mr_seg)) {
			*why = "MR segments";
			return EBADMSG;
		}
	} else if (r->len != body_len[r->tag]) {
		*why = "record size";
		return EBADMSG;
	}
	if (!(rec_handle(body) >> 8)) {
		*why = "handle 0";
		return EBADMSG;
	}
	return 0;
}

static int kind_of_tag(uint16_t tag)
{
	static const int kinds[XM_R_MAX] = {
		[XM_R_REGION] = XD_KIND_REGION, [XM_R_NOTIFY] = XD_KIND_NOTIFY,
		[XM_R_PD] = XD_KIND_PD, [XM_R_XRCD] = XD_KIND_XRCD,
		[XM_R_MR] = XD_KIND_MR, [XM_R_CQ] = XD_KIND_CQ,
		[XM_R_SRQ] = XD_KIND_SRQ, [XM_R_AH] = XD_KIND_AH,
		[XM_R_QP] = XD_KIND_QP,
	};

	return kinds[tag];
}

/*
 * Handles are unique per kind over the whole guest (its tables are
 * shared by its contexts): a sorted list per kind finds repeats.
 */
static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int check_unique(struct xm_snap *s, const char **why)
{
	uint32_t *h[XD_KIND_MAX] = { 0 };
	size_t n[XD_KIND_MAX] = { 0 }, cap[XD_KIND_MAX] = { 0 };
	int err = 0, k;
	unsigned int c, i;

	for (c = 0; c < s->nctx && !err; c++) {
		const struct xm_rec *r;
		const void *body;
		size_t off = 0;

		while (!err && xm_snap_next(&s->ctx[c], &off, &r, &body)) {
			k = kind_of_tag(r->tag);
			if (n[k] == cap[k]) {
				uint32_t *p;

				cap[k] = cap[k] ? cap[k] * 2 : 64;
				p = realloc(h[k], cap[k] * sizeof(*p));
				if (!p) {
					err = ENOMEM;
					break;
				}
				h[k] = p;
			}
			h[k][n[k]++] = rec_handle(body);
		}
	}
	for (k = 0; k < XD_KIND_MAX && !err; k++) {
		if (n[k])
			qsort(h[k], n[k], sizeof(uint32_t), cmp_u32);
		for (i = 1; i < n[k]; i++)
			if (h[k][i] == h[k][i - 1]) {
				*why = "a handle twice";
				err = EBADMSG;
				break;
			}
	}
	for (k = 0; k < XD_KIND_MAX; k++)
		free(h[k]);
	return err;
}

static int parse_ctx(struct xm_rd *rd, struct xm_snap_ctx *c,
		     const char **why)
{
	unsigned int i, ctx_pages = 0;
	size_t start;
	int err;

	c->hdr = xm_get(rd, sizeof(*c->hdr));
	if (!c->hdr || c->hdr->nrec > XM_MAX_RECORDS) {
		*why = "context header";
		return EBADMSG;
	}
	if (memchr(c->hdr->token, 0, sizeof(c->hdr->token)) == NULL) {
		*why = "token";
		return EBADMSG;
	}
	start = rd->off;
	for (i = 0; i < c->hdr->nrec; i++) {
		const struct xm_rec *r = xm_get(rd, sizeof(*r));
		const void *body;

		if (!r) {
			*why = "truncated";
			return EBADMSG;
		}
		body = rd->p + rd->off;
		err = check_rec(r, body, rd->len - rd->off, why);
		if (err)
			return err;
		if (!xm_get(rd, r->len) ||
		    !xm_get(rd, padded(r->len) - r->len)) {
			*why = "truncated";
			return EBADMSG;
		}
		if (r->tag == XM_R_REGION &&
		    (((const struct xm_r_region *)body)->flags &
		     XENIB_REGION_CTX_PAGE))
			ctx_pages++;
	}
	if (ctx_pages > 1) {
		*why = "two context pages";
		return EBADMSG;
	}
	c->recs = rd->p + start;
	c->len = rd->off - start;
	return 0;
}

int xm_snap_parse(uint8_t *buf, size_t len, struct xm_snap **out,
		  const char **why)
{
	struct xm_rd rd = { .p = buf, .len = len };
	struct xm_snap *s = calloc(1, sizeof(*s));
	unsigned int k, c;
	int err = EBADMSG;

	*why = "truncated";
	if (!s) {
		free(buf);
		return ENOMEM;
	}
	s->buf = buf;
	s->len = len;
	s->hdr = xm_get(&rd, sizeof(*s->hdr));
	if (!s->hdr)
		goto fail;
	if (s->hdr->magic != XM_SNAP_MAGIC) {
		*why = "not a snapshot";
		goto fail;
	}
	if (s->hdr->version != XM_SNAP_VERSION ||
	    s->hdr->arch != XM_SNAP_ARCH) {
		*why = "another version or architecture of xenibd";
		err = EPROTONOSUPPORT;
		goto fail;
	}
	if (!s->hdr->nctx || s->hdr->nctx > XM_MAX_CTX ||
	    !memchr(s->hdr->name, 0, sizeof(s->hdr->name)) ||
	    !s->hdr->name[0] || !s->hdr->lid ||
	    s->hdr->lid >= XD_MAX_UNICAST_LID) {
		*why = "guest header";
		goto fail;
	}
	for (k = 0; k < XD_KIND_MAX; k++) {
		s->tables[k] = xm_get(&rd, sizeof(*s->tables[k]));
		if (!s->tables[k] || s->tables[k]->kind != k ||
		    s->tables[k]->ngen > (1u << 20) + 1) {
			*why = "table";
			goto fail;
		}
		s->gens[k] = xm_get(&rd, s->tables[k]->ngen);
		if (!s->gens[k] && s->tables[k]->ngen)
			goto fail;
		if (!xm_get(&rd, padded(s->tables[k]->ngen) -
				 s->tables[k]->ngen))
			goto fail;
	}
	s->ctx = calloc(s->hdr->nctx, sizeof(*s->ctx));
	if (!s->ctx) {
		err = ENOMEM;
		goto fail;
	}
	s->nctx = s->hdr->nctx;
	for (c = 0; c < s->nctx; c++) {
		err = parse_ctx(&rd, &s->ctx[c], why);
		if (err)
			goto fail;
	}
	err = EBADMSG;
	if (rd.off != len) {
		*why = "bytes after the last context";
		goto fail;
	}
	err = check_unique(s, why);
	if (err)
		goto fail;
	*out = s;
	return 0;
fail:
	xm_snap_free(s);
	return err;
}

void xm_snap_free(struct xm_snap *s)
{
	if (!s)
		return;
	free(s->ctx);
	free(s->buf);
	free(s);
}
