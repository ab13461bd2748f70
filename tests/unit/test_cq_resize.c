// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * In-process tests of xenibd's RESIZE_CQ (xenibd/cq_resize.c): unpolled
 * CQEs move in order, event counter and arm state follow, the old ring's
 * region is released, and every lie a guest can tell (handle, consumer
 * index, ring descriptor, size) is refused without touching the CQ.
 * Each check prints one line on failure; the last line is the summary.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/hv.h"
#include "util/xenib_ring.h"
#include "xenibd/dev/dev.h"

#include "tests/common/check.h"
#include "tests/common/backend.h"

#define CQE_SZ	sizeof(struct xenib_cqe)

static struct xd_ctx *ctx;

static uint32_t map(struct hv_shm *m, size_t len, uint32_t flags)
{
	uint32_t h = 0;
	int err;

	if (hv_shm_alloc(m, len, "xenib-test"))
		return XENIB_INVALID_HANDLE;
	err = tb_region_map(ctx, m->fd, 0, m->len / XENIB_PAGE_SIZE, flags,
			    &h);
	CHECK(!err, "map region: %s", strerror(err));
	return h;
}

static struct xd_cq *push(uint32_t handle, uint64_t wr_id)
{
	struct xenib_cqe e = { .wr_id = wr_id, .qp_num = 7 };
	struct xd_cq *cq = xd_cq_lookup(ctx, handle);

	CHECK(cq && xd_cq_push(cq, &e, false), "push CQE %llu",
	      (unsigned long long)wr_id);
	return cq;
}

static const struct xenib_cqe *entry(struct xenib_ring_hdr *h, uint32_t n,
				     uint32_t i)
{
	return xr_entry(h, i, n, CQE_SZ);
}

int main(void)
{
	struct xenib_create_cq_req cr = { 0 };
	struct xenib_resize_cq_req rr;
	struct hv_shm page, old, big, small, tiny;
	struct xenib_ring_hdr *oh, *nh;
	uint32_t cqh, preg, oreg, breg, sreg, treg, i;
	struct xd_cq *cq;

	setvbuf(stdout, NULL, _IOLBF, 0);
	xd.cfg.max_guests = 4;
	if (xd_state_init())
		return 1;
	ctx = tb_ctx_new(NULL);
	ctx->guest = xd_guest_get("resizer");
	preg = map(&page, XENIB_PAGE_SIZE, XENIB_REGION_CTX_PAGE);

	oreg = map(&old, xr_ring_bytes(8, CQE_SZ), 0);
	cr.ring = (struct xenib_ring_desc){ oreg, 8, 0, CQE_SZ, 0 };
	cr.notify = XENIB_INVALID_HANDLE;
	CHECK(!xd_cq_create(ctx, &cr, &cqh), "create an 8-entry CQ");
	oh = old.va;
	for (i = 1; i <= 5; i++)
		cq = push(cqh, i);
	/* The guest polled two (cons 2); three are outstanding. */
	xr_store_release(&oh->cons, 2);
	xr_store_release(&oh->armed, XENIB_CQ_ARM_SOLICITED);
	cq->events = 3;			/* as if three events were raised */

	breg = map(&big, xr_ring_bytes(16, CQE_SZ), 0);
	sreg = map(&small, xr_ring_bytes(2, CQE_SZ), 0);
	treg = map(&tiny, XENIB_PAGE_SIZE, 0);	/* header only */

	memset(&rr, 0, sizeof(rr));
	rr.handle = cqh;
	rr.cons = 2;
	rr.ring = (struct xenib_ring_desc){ breg, 16, 0, CQE_SZ, 0 };

#define REFUSE(field_expr, want, what)					\
	do {								\
		struct xenib_resize_cq_req bad = rr;			\
		int err;						\
									\
		field_expr;						\
		err = xd_cq_resize(ctx, &bad);				\
		CHECK(err == (want), "%s: got %s, want %s", what,	\
		      strerror(err), strerror(want));			\
	} while (0)

	REFUSE(bad.handle = cqh + 1, ENOENT, "unknown CQ handle");
	REFUSE(bad.handle = XENIB_INVALID_HANDLE, ENOENT, "invalid handle");
	REFUSE(bad.cons = 6, EINVAL, "consumer index ahead of prod");
	REFUSE(bad.cons = 5 - 9, EINVAL, "consumer index > a ring behind");
	REFUSE(bad.ring.stride = 128, EINVAL, "wrong stride");
	REFUSE(bad.ring.entries = 12, EINVAL, "entries not a power of two");
	REFUSE(bad.ring.entries = 2 * XENIB_MAX_CQE, EINVAL, "too many entries");
	REFUSE(bad.ring.reserved = 1, EINVAL, "reserved field set");
	REFUSE(bad.ring.region = 9999, ENOENT, "unknown region");
	REFUSE(bad.ring.region = preg, ENOENT, "the context page as a ring");
	REFUSE(bad.ring.offset = 4096, EINVAL, "ring past the region's end");
	REFUSE((bad.ring.region = treg, bad.ring.entries = 4), EINVAL,
	       "region too small for the entries");
	REFUSE((bad.ring.region = sreg, bad.ring.entries = 2), EINVAL,
	       "2 entries for 3 outstanding CQEs");
	CHECK(cq->ring.entries == 8 && cq->ring.idx == 5 &&
	      xr_load_acquire(&oh->prod) == 5,
	      "refused requests left the CQ alone");
	CHECK(xd_region_unmap(ctx, oreg) == EBUSY,
	      "the old ring is still in use before the resize");

	CHECK(!xd_cq_resize(ctx, &rr), "resize to 16 entries");
	nh = big.va;
	/* (The backend maps regions itself: compare contents, not pointers.) */
	CHECK(cq->ring.entries == 16 && cq->ring.idx == 3,
	      "CQ uses the new ring");
	CHECK(xr_load_acquire(&nh->prod) == 3 && xr_load_acquire(&nh->cons) == 0,
	      "new ring: prod 3 cons 0 (got %u %u)", nh->prod, nh->cons);
	for (i = 0; i < 3; i++)
		CHECK(entry(nh, 16, i)->wr_id == 3 + i,
		      "slot %u holds CQE %u (got %llu)", i, 3 + i,
		      (unsigned long long)entry(nh, 16, i)->wr_id);
	CHECK(nh->events == 3, "event counter carried over");
	CHECK(nh->armed == XENIB_CQ_ARM_SOLICITED && oh->armed == 0,
	      "arm state moved to the new ring");
	CHECK(!xd_region_unmap(ctx, oreg), "old ring's region released");
	push(cqh, 6);
	CHECK(nh->prod == 4 && entry(nh, 16, 3)->wr_id == 6,
	      "new CQEs land after the moved ones");

	/* Fill up, then let the guest lie about cons: overrun -> EIO. */
	for (i = 7; i <= 18; i++)
		push(cqh, i);
	{
		struct xenib_cqe e = { .wr_id = 99 };

		CHECK(!xd_cq_push(cq, &e, false), "17th CQE overruns");
	}
	rr.cons = 0;
	rr.ring.region = sreg;
	rr.ring.entries = 2;
	CHECK(xd_cq_resize(ctx, &rr) == EIO, "resize of an overrun CQ: EIO");

	CHECK(!xd_cq_destroy(ctx, cqh), "destroy the CQ");
	CHECK(!xd_region_unmap(ctx, breg), "new ring's region released");
	printf("test_cq_resize: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
