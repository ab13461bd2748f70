/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Guests of an in-process xenibd for the unit tests of tests/unit: each
 * "side" is one guest's context with the objects a provider would make
 * (context page, doorbell and async notifiers, a PD, a CQ, an RC QP and a
 * registered buffer), its rings in real shared memory, and the guest's
 * half of the ring protocol.  Requests go through the functions the
 * control channel calls; the engine runs when a test says so.  Setup
 * steps are checks (check.h) of the program that uses them.
 */
#ifndef XENIB_TESTS_SIDES_H
#define XENIB_TESTS_SIDES_H

#include <stdbool.h>
#include <stdint.h>

#include "util/hv.h"
#include "util/xenib_ring.h"
#include "xenibd/dev/dev.h"
#include "tests/common/check.h"
#include "tests/common/backend.h"

#define ENTRIES 8		/* of every ring */
#define BUF_SIZE 8192		/* registered at iova 0x10000000 */

struct side {
	struct xd_ctx *ctx;
	struct hv_shm page, cqmem, qpmem, buf;
	uint32_t pd, cq, qpn, lkey, region_buf;
	struct xenib_ring_hdr *cqh, *sqh, *rqh;
	uint32_t sq_prod, rq_prod, cq_cons;
	int notify_guest_fd;
};

/* Fresh xenibd state (16 guests at most); exits if it cannot be had. */
void sides_start(void);
/*
 * Tear the n sides down, last first (each a check that its QPs and MRs
 * went with it), check that nothing is left, print the summary: the
 * program's exit status.
 */
int sides_end(struct side *const *s, unsigned int n);

/*
 * sides_start() and the usual cast: alice and bob, and (if c) carol, who
 * holds handle values the other two do not (make_distinct).
 */
void sides_cast(struct side *a, struct side *b, struct side *c);
/* A side for guest name, with everything listed above. */
void side_init(struct side *s, const char *name);
/* Map m (whole pages) as a region of s's context: the handle. */
uint32_t side_map(struct side *s, struct hv_shm *m, uint32_t flags);
/*
 * More objects for s than the other sides have, so that s holds handle
 * values the others do not (foreign()); freed with its context.
 */
void make_distinct(struct side *s);
/*
 * A handle of other's guest that names nothing in self's guest.  Handles
 * live in per-guest namespaces: another guest's handle value is just a
 * number to us, naming our own object if we have one by that value; one
 * we do not have must not be found.  0 if there is none.
 */
uint32_t foreign(const struct side *self, const struct side *other,
		 enum xd_kind k);
/* The context teardown check of sides_end(), for one side. */
void side_teardown(struct side *s);

/* s's RC QP RESET -> INIT -> RTR -> RTS towards peer's (checks). */
void connect_qp(struct side *s, struct side *peer, uint8_t rnr_retry,
		uint32_t access);
/* One signaled WQE with one SGE on s's SQ / RQ, published. */
void post_send(struct side *s, uint64_t wr_id, uint32_t opcode,
	       uint64_t addr, uint32_t len, uint32_t lkey, uint64_t raddr,
	       uint32_t rkey);
void post_recv(struct side *s, uint64_t wr_id, uint64_t addr, uint32_t len,
	       uint32_t lkey);
/* Pop one CQE of s's CQ; false if none. */
bool poll_one(struct side *s, struct xenib_cqe *cqe);
/* Pop every CQE of s's CQ. */
void drain(struct side *s);
/* One pass of the engine over every QP, at the current time. */
void run_engine(void);
/* Pop the next async event of s: its type (0 if none), *handle its object. */
uint32_t async_event(struct side *s, uint32_t *handle);
/* Our SQ/RQ consumer index equals the guest's producer index. */
bool rings_drained(const struct side *s);

/* An extra QP of any type on a side's context, PD and CQ. */
struct tqp {
	struct side *s;
	struct hv_shm mem;
	uint32_t qpn;
	struct xenib_ring_hdr *sqh, *rqh;
	uint32_t sq_prod, rq_prod;
};

/* Create it (on srq, or with its own RQ if XENIB_INVALID_HANDLE). */
int tqp_create(struct tqp *q, struct side *s, uint32_t type, uint32_t srq);
void tqp_destroy(struct tqp *q);
int tqp_modify(struct tqp *q, uint32_t mask, struct xenib_qp_attr *a);
/* A zeroed send WQE with one SGE at the SQ head; tqp_send_go posts it. */
struct xenib_send_wqe *tqp_wqe(struct tqp *q, uint64_t wr_id,
			       uint32_t opcode, uint64_t addr, uint32_t len);
void tqp_send_go(struct tqp *q);
/* The attributes of INIT -> RTR towards peer that every type shares. */
void tqp_rtr_attr(struct xenib_qp_attr *a, const struct tqp *peer);
/* RESET -> INIT -> RTR -> RTS towards peer, RC or UC (checks). */
void conn_up(struct tqp *q, struct tqp *peer, uint32_t type);
/* Post one receive WQE with one SGE on a ring of ENTRIES entries. */
void ring_recv(struct xenib_ring_hdr *h, uint32_t *prod, uint32_t stride,
	       uint64_t wr_id, uint64_t addr, uint32_t len, uint32_t lkey);

#endif /* XENIB_TESTS_SIDES_H */
