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
 */
#ifndef XENIB_RING_H
#define XENIB_RING_H

#include <stdatomic.h>
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
_Static_assert(sizeof(struct xenib_ring_hdr) == 256, "ring hdr");
_Static_assert(sizeof(struct xenib_ctx_page) <= XENIB_PAGE_SIZE, "ctx page");
_Static_assert(sizeof(struct xenib_qp_attr) == 76, "qp attr");
_Static_assert(offsetof(struct xenib_send_wqe, remote_qkey) ==
	       offsetof(struct xenib_send_wqe, compare_add), "ud overlay");
_Static_assert(offsetof(struct xenib_send_wqe, ah) == 56, "send wqe ah");
_Static_assert(sizeof(struct xenib_ah_attr) == 32, "ah attr");
_Static_assert(sizeof(struct xenib_create_srq_req) == 64, "create srq");
_Static_assert(sizeof(struct xenib_create_ah_req) == 56, "create ah");

#endif /* XENIB_RING_H */
