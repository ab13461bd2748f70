/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Memory-ordering helpers for the rings and flags shared between a guest and
 * xenibd (layouts in rdma/xenib-abi.h).
 *
 * Protocol for every ring: the producer writes the entry, then publishes the
 * new producer index with a release store; the consumer reads the producer
 * index with an acquire load before reading entries, and publishes its
 * consumer index with a release store after it has finished with them.
 *
 * Sleep/kick protocol (Dekker-style, both sides use a full fence):
 *   guest:   publish prod (release); fence; if ctx->backend_sleeping and
 *            exchange(backend_sleeping, 0) returned non-zero: kick
 *   backend: backend_sleeping = 1; fence; re-check every prod; sleep only
 *            if none moved; clear backend_sleeping when woken
 * so at least one side always sees the other's write.  Only the poster that
 * clears the flag kicks; later posts rely on the backend polling every ring
 * once it is awake, so a burst costs one system call, not one per post.
 * Receive rings (xr_guest_claim_kick's recv): receives only wait for the
 * SENDs that consume them, so with XENIB_BACKEND_LAZY_RECV_KICK a receive
 * post kicks only while the backend set the ring's post_kick (a QP in
 * ERR flushes what is posted).  The backend stores post_kick before it
 * stores backend_sleeping, the guest loads them in the other order, so a
 * guest that sees the backend asleep also sees why it must kick.
 * The xr_guest_* and xr_backend_* helpers below are the two halves; both
 * sides and the tests use them, so the fences live in one place.
 */
#ifndef XENIB_RING_H
#define XENIB_RING_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <rdma/xenib-abi.h>

static inline uint32_t xr_load_acquire(const uint32_t *p)
{
	return atomic_load_explicit((const _Atomic uint32_t *)p,
				    memory_order_acquire);
}

static inline uint32_t xr_load_relaxed(const uint32_t *p)
{
	return atomic_load_explicit((const _Atomic uint32_t *)p,
				    memory_order_relaxed);
}

static inline void xr_store_release(uint32_t *p, uint32_t v)
{
	atomic_store_explicit((_Atomic uint32_t *)p, v, memory_order_release);
}

static inline void xr_store_relaxed(uint32_t *p, uint32_t v)
{
	atomic_store_explicit((_Atomic uint32_t *)p, v, memory_order_relaxed);
}

static inline uint32_t xr_xchg(uint32_t *p, uint32_t v)
{
	return atomic_exchange_explicit((_Atomic uint32_t *)p, v,
					memory_order_acq_rel);
}

static inline uint32_t xr_fetch_add(uint32_t *p, uint32_t v)
{
	return atomic_fetch_add_explicit((_Atomic uint32_t *)p, v,
					 memory_order_acq_rel);
}

static inline void xr_full_fence(void)
{
	atomic_thread_fence(memory_order_seq_cst);
}

/* 64-bit fields of the ABI (__u64) */
static inline uint64_t xr_load64_relaxed(const __u64 *p)
{
	return atomic_load_explicit((const _Atomic __u64 *)p,
				    memory_order_relaxed);
}

static inline void xr_store64_relaxed(__u64 *p, uint64_t v)
{
	atomic_store_explicit((_Atomic __u64 *)p, v, memory_order_relaxed);
}

/*
 * Guest, right after publishing a producer index on a ring of the context
 * of page (recv: that ring's header if it holds receives, else NULL):
 * must it kick the doorbell?  True at most once per backend sleep: the
 * caller that gets true kicks, every other post until the backend is
 * awake again relies on that kick.
 */
static inline bool xr_guest_claim_kick(struct xenib_ctx_page *page,
				       const struct xenib_ring_hdr *recv)
{
	/* The backend sees our prod before we look at its flag. */
	xr_full_fence();
	/* backend_sleeping: the backend stores it after post_kick. */
	if (!xr_load_acquire(&page->backend_sleeping))
		return false;
	if (recv && (xr_load_relaxed(&page->backend_features) &
		     XENIB_BACKEND_LAZY_RECV_KICK)) {
		uint32_t pk = xr_load_relaxed(&recv->post_kick);

		if (!(pk & XENIB_POST_KICK_ALWAYS) &&
		    !((pk & XENIB_POST_KICK_AT) &&
		      (int32_t)(xr_load_relaxed(&recv->prod) -
				xr_load_relaxed(&recv->kick_idx)) >= 0))
			return false;	/* nothing waits for these receives */
	}
	return xr_xchg(&page->backend_sleeping, 0) != 0;
}

/*
 * Backend: a receive ring's post_kick (XENIB_POST_KICK_*) and kick_idx.
 * Only the backend writes them; they are stored before the next
 * backend_sleeping, which a guest loads first.
 */
static inline void xr_backend_post_kick(struct xenib_ring_hdr *recv,
					uint32_t mode, uint32_t kick_idx)
{
	xr_store_relaxed(&recv->kick_idx, kick_idx);
	xr_store_release(&recv->post_kick, mode);
}

/*
 * Backend, going to sleep: raise the flag of every context
 * (xr_backend_sleeping(page, 1)), then xr_backend_arm_fence(), then look
 * at every producer index again and sleep only if none moved.  Clearing
 * (0) needs no fence: a guest that still sees 1 kicks once for nothing.
 */
static inline void xr_backend_sleeping(struct xenib_ctx_page *page,
				       uint32_t v)
{
	/* Release: a guest that sees 1 sees post_kick as stored before. */
	xr_store_release(&page->backend_sleeping, v);
}

static inline void xr_backend_arm_fence(void)
{
	/* Every guest sees backend_sleeping before we re-read its prods. */
	xr_full_fence();
}

/* Entry idx of a ring whose entries start XENIB_RING_HDR_SIZE after hdr. */
static inline void *xr_entry(void *hdr, uint32_t idx, uint32_t entries,
			     uint32_t stride)
{
	return (char *)hdr + XENIB_RING_HDR_SIZE +
	       (size_t)(idx & (entries - 1)) * stride;
}

/* Bytes a ring with this geometry occupies, header included. */
static inline size_t xr_ring_bytes(uint32_t entries, uint32_t stride)
{
	size_t sz = XENIB_RING_HDR_SIZE + (size_t)entries * stride;

	return (sz + XENIB_PAGE_SIZE - 1) & ~(size_t)(XENIB_PAGE_SIZE - 1);
}

static inline uint32_t xr_roundup_pow2(uint32_t v)
{
	uint32_t r = 1;

	while (r < v && r < (1u << 31))
		r <<= 1;
	return r;
}

/* The wire ABI is fixed: catch accidental layout changes at compile time. */
_Static_assert(sizeof(struct xenib_ctrl_hdr) == 16, "ctrl hdr");
_Static_assert(sizeof(struct xenib_cqe) == 64, "cqe");
_Static_assert(sizeof(struct xenib_send_wqe) == 64, "send wqe header");
_Static_assert(sizeof(struct xenib_recv_wqe) == 16, "recv wqe header");
_Static_assert(sizeof(struct xenib_sge) == 16, "sge");
_Static_assert(sizeof(struct xenib_mr_seg) == 24, "mr seg");
_Static_assert(sizeof(struct xenib_ring_hdr) == 320, "ring hdr");
_Static_assert(offsetof(struct xenib_ring_hdr, post_kick) == 256,
	       "ring hdr post_kick");
_Static_assert(offsetof(struct xenib_ctx_page, backend_features) == 4 &&
	       offsetof(struct xenib_ctx_page, kick_ns) == 8 &&
	       offsetof(struct xenib_ctx_page, async_prod) == 64,
	       "ctx page layout");
_Static_assert(sizeof(struct xenib_ctx_page) <= XENIB_PAGE_SIZE, "ctx page");
_Static_assert(sizeof(struct xenib_qp_attr) == 76, "qp attr");
_Static_assert(offsetof(struct xenib_send_wqe, remote_qkey) ==
	       offsetof(struct xenib_send_wqe, compare_add), "ud overlay");
_Static_assert(offsetof(struct xenib_send_wqe, ah) == 56, "send wqe ah");
_Static_assert(sizeof(struct xenib_ah_attr) == 32, "ah attr");
_Static_assert(sizeof(struct xenib_create_srq_req) == 64, "create srq");
_Static_assert(sizeof(struct xenib_create_ah_req) == 56, "create ah");

#endif /* XENIB_RING_H */
