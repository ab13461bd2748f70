/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A guest of the in-process xenibd as the harnesses that drive the engine
 * make it (fuzz_wqe, fuzz_fabric): a context with its page and three
 * notifiers (doorbell, async, completion), a PD, a CQ, one QP of the
 * input's type with the provider's real ring layout for its default
 * stride of 512 bytes (max_inline 448, XENIB_MAX_SGE SGEs each way), and
 * a buffer registered at FZG_IOVA with every access.  Rings and buffer
 * live in sealed memfds mapped by the backend, as a guest shares them.
 * Objects are made in one fixed order, so an input's handles mean the
 * same thing every run.  Set-up failures abort.
 */
#ifndef XENIB_FUZZ_GUEST_H
#define XENIB_FUZZ_GUEST_H

#include <stdbool.h>
#include <stdint.h>

#include "util/hv.h"
#include "util/xenib_ring.h"
#include "fuzz/fuzz_common.h"

#define FZG_ENTRIES	16		/* SQ and receive ring (RQ or SRQ) */
#define FZG_STRIDE	512
#define FZG_MAX_INLINE	448
#define FZG_IOVA	0x10000000ull	/* the buffer's first byte */

/*
 * The QP: RC, UC, UD, XRC (an XRC_SEND, with an XRC domain, an XRC SRQ
 * and an XRC_RECV), or RC on a basic SRQ.  The order of the inputs' byte.
 */
enum fzg_type { FZG_RC, FZG_UC, FZG_UD, FZG_XRC, FZG_RC_SRQ, FZG_TYPES };

struct fz_guest {
	struct fz_ctx c;
	struct hv_shm page, cqmem, qpmem, buf;
	uint32_t pd, cq, qpn, lkey, comp, region_buf, region_qp;
	uint32_t srq, xrcd, xrecv;	/* as the type has them */
	uint32_t ah;		/* UD: the harness's AH (none until it makes one) */
	struct xenib_ring_hdr *cqh, *sqh, *rqh;	/* rqh: RQ or SRQ ring */
	int guest_fds[3];	/* the guest's ends of the notifiers */
	bool qp_gone;		/* the harness destroyed the QP */
};

/*
 * Guest name with a QP of type on a CQ of cq_entries and an MR of
 * buf_bytes; sig_all: the QP signals every WQE.
 */
void fz_guest_open(struct fz_guest *g, const char *name, enum fzg_type type,
		   bool sig_all, uint32_t cq_entries, uint32_t buf_bytes);
/* The context destroyed (everything in it), the guest's memory and fds. */
void fz_guest_close(struct fz_guest *g);
/* MODIFY_QP of g's QP qpn (its QP or its XRC_RECV): 0 or errno. */
int fz_guest_modify(struct fz_guest *g, uint32_t qpn, uint32_t mask,
		    const struct xenib_qp_attr *a);

#endif /* XENIB_FUZZ_GUEST_H */
