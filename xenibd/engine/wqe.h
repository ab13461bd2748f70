/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * WQEs as the engine sees them: copied out of guest memory and checked
 * (wqe_check.c) before anything uses a field.  Every array here is sized by
 * the ABI's limits, and nothing fills one with a count it has not checked
 * against that size.
 */
#ifndef XENIBD_WQE_H
#define XENIBD_WQE_H

#include <stdbool.h>
#include <stdint.h>
#include <rdma/xenib-abi.h>

struct xd_qp;
struct xd_ring;

/* A send WQE copied out of the guest ring. */
struct xd_swqe {
	struct xenib_send_wqe w;
	union {
		struct xenib_sge sge[XENIB_MAX_SGE];
		char inl[XENIB_MAX_INLINE];
	};
	uint64_t len;		/* message length: SGE sum or inline_len */
};

/* A receive WQE copied out of an RQ or SRQ ring. */
struct xd_rwqe {
	struct xenib_recv_wqe w;
	struct xenib_sge sge[XENIB_MAX_SGE];
	uint64_t len;		/* buffer space: SGE sum */
	uint32_t status;	/* IBV_WC_SUCCESS, or why it is malformed */
};

/*
 * Copy the send WQE at index idx of qp's SQ and decide, as an HCA does
 * before executing it, whether it is well formed for the QP (type, opcode,
 * send_flags, num_sge, inline_len, lengths).  Returns IBV_WC_SUCCESS or
 * the error status its completion carries (docs/ib-semantics.md, "Malformed
 * work requests").  Reads at most one ring stride.
 */
uint32_t xd_wqe_fetch_send(const struct xd_qp *qp, struct xd_swqe *s,
			   uint32_t idx);

/* Does a QP of qp_type offer the work request opcode op? */
bool xd_wqe_op_allowed(uint32_t qp_type, uint32_t op);

/*
 * Copy the receive WQE at index idx of ring into r and check it against
 * max_sge; r->status says whether it is well formed.
 */
void xd_wqe_fetch_recv(const struct xd_ring *ring, uint32_t max_sge,
		       struct xd_rwqe *r);

#endif /* XENIBD_WQE_H */
