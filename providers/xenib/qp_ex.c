// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * ibv_create_qp_ex and the ibv_wr_* work-request API (man ibv_wr_post).
 *
 * A QP created with IBV_QP_INIT_ATTR_SEND_OPS_FLAGS is the same QP as
 * create_qp makes (qp.c), embedded in a struct ibv_qp_ex.  Between
 * wr_start and wr_complete/wr_abort the send queue lock is held and WQEs
 * are written straight into the shared ring at a staged producer index;
 * wr_complete publishes that index once and rings the doorbell like
 * ibv_post_send, wr_abort simply forgets it (the backend never saw the
 * slots).  Builders cannot return errors: the first error of a batch is
 * remembered and returned by wr_complete, which then discards the batch.
 */
#include <errno.h>
#include <string.h>

#include "xenib.h"

#define XENIB_WR_FLAGS (IBV_SEND_SIGNALED | IBV_SEND_SOLICITED | \
			IBV_SEND_FENCE)

#define OPS_SEND	(IBV_QP_EX_WITH_SEND | IBV_QP_EX_WITH_SEND_WITH_IMM)
#define OPS_WRITE	(IBV_QP_EX_WITH_RDMA_WRITE | \
			 IBV_QP_EX_WITH_RDMA_WRITE_WITH_IMM)
#define OPS_READ_ATOMIC	(IBV_QP_EX_WITH_RDMA_READ | \
			 IBV_QP_EX_WITH_ATOMIC_CMP_AND_SWP | \
			 IBV_QP_EX_WITH_ATOMIC_FETCH_AND_ADD)
/* Memory windows and invalidation (mw.c, engine/mw.c in xenibd). */
#define OPS_MW		(IBV_QP_EX_WITH_BIND_MW | IBV_QP_EX_WITH_LOCAL_INV | \
			 IBV_QP_EX_WITH_SEND_WITH_INV)

static inline struct xenib_qp *qpx_to_xqp(struct ibv_qp_ex *qpx)
{
	return container_of(qpx, struct xenib_qp, qpx);
}

/* What the transport of a QP type can do (IB spec, per service type). */
static uint64_t ops_of_type(enum ibv_qp_type t)
{
	switch (t) {
	case IBV_QPT_RC:
	case IBV_QPT_XRC_SEND:
		return OPS_SEND | OPS_WRITE | OPS_READ_ATOMIC | OPS_MW;
	case IBV_QPT_UC:
		return OPS_SEND | OPS_WRITE | OPS_MW;
	case IBV_QPT_UD:
		return OPS_SEND;
	default:
		return 0;
	}
}

static void wr_fail(struct xenib_qp *qp, int err)
{
	if (!qp->wr_err)
		qp->wr_err = err;
	qp->wr_cur = NULL;
}

/* Start a new WQE of opcode op; NULL (error recorded) if it cannot be. */
static struct xenib_send_wqe *new_wqe(struct ibv_qp_ex *qpx, uint32_t op,
				      uint64_t need)
{
	struct xenib_qp *qp = qpx_to_xqp(qpx);
	struct xenib_wq *sq = &qp->sq;
	struct xenib_ring_hdr *hdr = sq->ring.hdr;
	struct xenib_send_wqe *wqe;

	if (qp->wr_err)
		return NULL;
	if (!(qp->send_ops & need)) {
		xenib_dbg("qp %u: ibv_wr opcode %u not enabled in send_ops_flags",
			  qp->ibv_qp.qp_num, op);
		wr_fail(qp, EINVAL);
		return NULL;
	}
	/*
	 * SQ ring: guest produces (prod), backend consumes (cons); cons is
	 * read only when the ring looks full (post.c).  sq->lock is held
	 * from wr_start to wr_complete.
	 */
	if (qp->wr_prod - sq->cons >= sq->ring.entries &&
	    qp->wr_prod - (sq->cons = xr_load_acquire(&hdr->cons)) >=
		    sq->ring.entries) {
		wr_fail(qp, ENOMEM);
		return NULL;
	}
	wqe = xr_entry(hdr, qp->wr_prod, sq->ring.entries, sq->ring.stride);
	memset(wqe, 0, sizeof(*wqe));
	wqe->wr_id = qpx->wr_id;
	wqe->opcode = op;
	wqe->send_flags = qpx->wr_flags & XENIB_WR_FLAGS;
	qp->wr_prod++;
	qp->wr_cur = wqe;
	return wqe;
}

/* ---------------------------------------------------------------- builders */

static void x_send(struct ibv_qp_ex *qpx)
{
	new_wqe(qpx, IBV_WR_SEND, IBV_QP_EX_WITH_SEND);
}

static void x_send_imm(struct ibv_qp_ex *qpx, __be32 imm)
{
	struct xenib_send_wqe *w = new_wqe(qpx, IBV_WR_SEND_WITH_IMM,
					   IBV_QP_EX_WITH_SEND_WITH_IMM);

	if (w)
		w->imm_data = (__u32)imm;	/* network order as given */
}

static void x_rdma(struct ibv_qp_ex *qpx, uint32_t op, uint64_t need,
		   uint32_t rkey, uint64_t raddr, __be32 imm)
{
	struct xenib_send_wqe *w = new_wqe(qpx, op, need);

	if (!w)
		return;
	w->rkey = rkey;
	w->remote_addr = raddr;
	w->imm_data = (__u32)imm;
}

static void x_rdma_write(struct ibv_qp_ex *qpx, uint32_t rkey, uint64_t raddr)
{
	x_rdma(qpx, IBV_WR_RDMA_WRITE, IBV_QP_EX_WITH_RDMA_WRITE, rkey, raddr,
	       0);
}

static void x_rdma_write_imm(struct ibv_qp_ex *qpx, uint32_t rkey,
			     uint64_t raddr, __be32 imm)
{
	x_rdma(qpx, IBV_WR_RDMA_WRITE_WITH_IMM,
	       IBV_QP_EX_WITH_RDMA_WRITE_WITH_IMM, rkey, raddr, imm);
}

static void x_rdma_read(struct ibv_qp_ex *qpx, uint32_t rkey, uint64_t raddr)
{
	x_rdma(qpx, IBV_WR_RDMA_READ, IBV_QP_EX_WITH_RDMA_READ, rkey, raddr, 0);
}

static void x_atomic_cmp_swp(struct ibv_qp_ex *qpx, uint32_t rkey,
			     uint64_t raddr, uint64_t compare, uint64_t swap)
{
	struct xenib_send_wqe *w = new_wqe(qpx, IBV_WR_ATOMIC_CMP_AND_SWP,
					   IBV_QP_EX_WITH_ATOMIC_CMP_AND_SWP);

	if (!w)
		return;
	w->rkey = rkey;
	w->remote_addr = raddr;
	w->compare_add = compare;
	w->swap = swap;
}

static void x_atomic_fetch_add(struct ibv_qp_ex *qpx, uint32_t rkey,
			       uint64_t raddr, uint64_t add)
{
	struct xenib_send_wqe *w = new_wqe(qpx, IBV_WR_ATOMIC_FETCH_AND_ADD,
					   IBV_QP_EX_WITH_ATOMIC_FETCH_AND_ADD);

	if (!w)
		return;
	w->rkey = rkey;
	w->remote_addr = raddr;
	w->compare_add = add;
}

/* Operations the virtual HCA does not implement: wr_complete fails. */
static void x_unsupported(struct ibv_qp_ex *qpx, const char *what)
{
	struct xenib_qp *qp = qpx_to_xqp(qpx);

	if (!qp->wr_err)
		xenib_err("qp %u: %s is not supported by xenib",
			  qp->ibv_qp.qp_num, what);
	wr_fail(qp, EOPNOTSUPP);
}

static void x_send_inv(struct ibv_qp_ex *qpx, uint32_t rkey)
{
	struct xenib_send_wqe *w = new_wqe(qpx, IBV_WR_SEND_WITH_INV,
					   IBV_QP_EX_WITH_SEND_WITH_INV);

	if (w)
		w->invalidate_rkey = rkey;
}

static void x_send_tso(struct ibv_qp_ex *qpx, void *hdr, uint16_t hdr_sz,
		       uint16_t mss)
{
	x_unsupported(qpx, "TSO");
}

#define XENIB_MW_ACCESS (IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ | \
			 IBV_ACCESS_REMOTE_ATOMIC | IBV_ACCESS_ZERO_BASED)

/* A window bind (either type); the backend checks IB's rules. */
static void x_bind_mw(struct ibv_qp_ex *qpx, struct ibv_mw *mw, uint32_t rkey,
		      const struct ibv_mw_bind_info *info)
{
	struct xenib_qp *qp = qpx_to_xqp(qpx);
	struct xenib_send_wqe *w;

	if (!mw || mw->context != qp->ibv_qp.context ||
	    (info->mr && info->mr->context != qp->ibv_qp.context) ||
	    (!info->mr && info->length) ||
	    (info->mw_access_flags & ~XENIB_MW_ACCESS)) {
		wr_fail(qp, EINVAL);
		return;
	}
	w = new_wqe(qpx, IBV_WR_BIND_MW, IBV_QP_EX_WITH_BIND_MW);
	if (!w)
		return;
	w->bind_mw = mw->handle;
	w->rkey = rkey;
	w->remote_addr = info->addr;
	w->bind_length = info->length;
	w->bind_access = info->mw_access_flags;
	w->bind_lkey = info->mr ? info->mr->lkey : 0;
	qp->wr_cur = NULL;	/* no SGEs or inline data may follow */
}

static void x_local_inv(struct ibv_qp_ex *qpx, uint32_t rkey)
{
	struct xenib_send_wqe *w = new_wqe(qpx, IBV_WR_LOCAL_INV,
					   IBV_QP_EX_WITH_LOCAL_INV);

	if (w) {
		w->invalidate_rkey = rkey;
		qpx_to_xqp(qpx)->wr_cur = NULL;
	}
}

static void x_atomic_write(struct ibv_qp_ex *qpx, uint32_t rkey,
			   uint64_t raddr, const void *data)
{
	x_unsupported(qpx, "atomic write");
}

/* ---------------------------------------------------------------- setters */

/* The WQE a setter applies to: the last one built, if it is still good. */
static struct xenib_send_wqe *cur_wqe(struct ibv_qp_ex *qpx)
{
	struct xenib_qp *qp = qpx_to_xqp(qpx);

	if (qp->wr_err)
		return NULL;
	if (!qp->wr_cur)
		wr_fail(qp, EINVAL);	/* setter without a builder */
	return qp->wr_cur;
}

static void x_set_ud_addr(struct ibv_qp_ex *qpx, struct ibv_ah *ah,
			  uint32_t remote_qpn, uint32_t remote_qkey)
{
	struct xenib_send_wqe *w = cur_wqe(qpx);

	if (!w)
		return;
	if (qpx->qp_base.qp_type != IBV_QPT_UD || !ah) {
		wr_fail(qpx_to_xqp(qpx), EINVAL);
		return;
	}
	w->ah = ah->handle;		/* backend AH handle (CREATE_AH) */
	w->remote_qpn = remote_qpn;
	w->remote_qkey = remote_qkey;	/* high bit: the QP's own qkey */
}

static void x_set_xrc_srqn(struct ibv_qp_ex *qpx, uint32_t srqn)
{
	struct xenib_send_wqe *w = cur_wqe(qpx);

	if (!w)
		return;
	if (qpx->qp_base.qp_type != IBV_QPT_XRC_SEND) {
		wr_fail(qpx_to_xqp(qpx), EINVAL);
		return;
	}
	w->remote_srqn = srqn;
}

static void x_set_sge_list(struct ibv_qp_ex *qpx, size_t num,
			   const struct ibv_sge *sg)
{
	struct xenib_qp *qp = qpx_to_xqp(qpx);
	struct xenib_send_wqe *w = cur_wqe(qpx);
	struct xenib_sge *sge;
	size_t i;

	if (!w)
		return;
	if (num > qp->sq.max_sge) {
		wr_fail(qp, EINVAL);
		return;
	}
	sge = (struct xenib_sge *)(w + 1);
	for (i = 0; i < num; i++) {
		sge[i].addr = sg[i].addr;
		sge[i].length = sg[i].length;
		sge[i].lkey = sg[i].lkey;
	}
	w->num_sge = num;
	w->inline_len = 0;
	w->send_flags &= ~IBV_SEND_INLINE;
}

static void x_set_sge(struct ibv_qp_ex *qpx, uint32_t lkey, uint64_t addr,
		      uint32_t length)
{
	struct ibv_sge sge = { .addr = addr, .length = length, .lkey = lkey };

	x_set_sge_list(qpx, 1, &sge);
}

static void x_set_inline_data_list(struct ibv_qp_ex *qpx, size_t num,
				   const struct ibv_data_buf *buf)
{
	struct xenib_qp *qp = qpx_to_xqp(qpx);
	struct xenib_send_wqe *w = cur_wqe(qpx);
	size_t i, total = 0;
	char *dst;

	if (!w)
		return;
	/* Inline data only for operations that carry a payload. */
	if (w->opcode != IBV_WR_SEND && w->opcode != IBV_WR_SEND_WITH_IMM &&
	    w->opcode != IBV_WR_SEND_WITH_INV &&
	    w->opcode != IBV_WR_RDMA_WRITE &&
	    w->opcode != IBV_WR_RDMA_WRITE_WITH_IMM) {
		wr_fail(qp, EINVAL);
		return;
	}
	for (i = 0; i < num; i++) {
		total += buf[i].length;
		if (total > qp->sq.max_inline || total < buf[i].length) {
			wr_fail(qp, EINVAL);
			return;
		}
	}
	dst = (char *)(w + 1);
	for (i = 0; i < num; i++) {
		memcpy(dst, buf[i].addr, buf[i].length);
		dst += buf[i].length;
	}
	w->num_sge = 0;
	w->inline_len = total;
	w->send_flags |= IBV_SEND_INLINE;
}

static void x_set_inline_data(struct ibv_qp_ex *qpx, void *addr, size_t len)
{
	struct ibv_data_buf buf = { .addr = addr, .length = len };

	x_set_inline_data_list(qpx, 1, &buf);
}

/* ---------------------------------------------------------------- batch */

static void x_start(struct ibv_qp_ex *qpx)
{
	struct xenib_qp *qp = qpx_to_xqp(qpx);

	/* Held until wr_complete / wr_abort, as for one ibv_post_send. */
	pthread_spin_lock(&qp->sq.lock);
	qp->wr_prod = qp->sq.prod;
	qp->wr_err = 0;
	qp->wr_cur = NULL;
}

static void x_abort(struct ibv_qp_ex *qpx)
{
	struct xenib_qp *qp = qpx_to_xqp(qpx);

	/* Nothing was published: the staged slots are simply reused. */
	qp->wr_prod = qp->sq.prod;
	qp->wr_cur = NULL;
	pthread_spin_unlock(&qp->sq.lock);
}

static int x_complete(struct ibv_qp_ex *qpx)
{
	struct xenib_qp *qp = qpx_to_xqp(qpx);
	struct xenib_wq *sq = &qp->sq;
	int err = qp->wr_err;

	switch (qpx->qp_base.state) {
	case IBV_QPS_RESET:
	case IBV_QPS_INIT:
	case IBV_QPS_RTR:
		if (!err)
			err = EINVAL;	/* same rule as ibv_post_send */
		break;
	default:
		break;
	}
	if (err || qp->wr_prod == sq->prod) {
		x_abort(qpx);
		return err;
	}
	sq->prod = qp->wr_prod;
	qp->wr_cur = NULL;
	/* SQ ring, producer side. Release: the WQEs before the index. */
	xr_store_release(&sq->ring.hdr->prod, sq->prod);
	pthread_spin_unlock(&sq->lock);
	xenib_ring_doorbell(to_xctx(qpx->qp_base.context), NULL);
	return 0;
}

static void init_qpx_ops(struct ibv_qp_ex *x)
{
	x->wr_atomic_cmp_swp = x_atomic_cmp_swp;
	x->wr_atomic_fetch_add = x_atomic_fetch_add;
	x->wr_bind_mw = x_bind_mw;
	x->wr_local_inv = x_local_inv;
	x->wr_rdma_read = x_rdma_read;
	x->wr_rdma_write = x_rdma_write;
	x->wr_rdma_write_imm = x_rdma_write_imm;
	x->wr_send = x_send;
	x->wr_send_imm = x_send_imm;
	x->wr_send_inv = x_send_inv;
	x->wr_send_tso = x_send_tso;
	x->wr_set_ud_addr = x_set_ud_addr;
	x->wr_set_xrc_srqn = x_set_xrc_srqn;
	x->wr_set_inline_data = x_set_inline_data;
	x->wr_set_inline_data_list = x_set_inline_data_list;
	x->wr_set_sge = x_set_sge;
	x->wr_set_sge_list = x_set_sge_list;
	x->wr_start = x_start;
	x->wr_complete = x_complete;
	x->wr_abort = x_abort;
	x->wr_atomic_write = x_atomic_write;
}

/* ---------------------------------------------------------------- verbs */

#define XENIB_QP_INIT_MASKS (IBV_QP_INIT_ATTR_PD | \
			     IBV_QP_INIT_ATTR_XRCD | \
			     IBV_QP_INIT_ATTR_CREATE_FLAGS | \
			     IBV_QP_INIT_ATTR_SEND_OPS_FLAGS)

struct ibv_qp *xenib_create_qp_ex(struct ibv_context *ctx,
				  struct ibv_qp_init_attr_ex *attr)
{
	struct ibv_qp_init_attr basic;
	uint64_t ops = 0, type_ops;
	struct xenib_qp *qp;
	struct ibv_qp *ibqp;

	if (attr->comp_mask & ~(uint32_t)XENIB_QP_INIT_MASKS) {
		xenib_err("create_qp_ex: comp_mask 0x%x has unsupported bits 0x%x (TSO header, RSS, ... are not supported)",
			  attr->comp_mask,
			  attr->comp_mask & ~(uint32_t)XENIB_QP_INIT_MASKS);
		errno = EOPNOTSUPP;
		return NULL;
	}
	/* The XRC domain is what an XRC_RECV QP has, and all it has. */
	if (attr->qp_type == IBV_QPT_XRC_RECV) {
		if (!(attr->comp_mask & IBV_QP_INIT_ATTR_XRCD) ||
		    (attr->comp_mask & IBV_QP_INIT_ATTR_SEND_OPS_FLAGS &&
		     attr->send_ops_flags) ||
		    (attr->comp_mask & IBV_QP_INIT_ATTR_CREATE_FLAGS &&
		     attr->create_flags)) {
			xenib_err("create_qp_ex: an XRC_RECV QP takes IBV_QP_INIT_ATTR_XRCD and no send operations or create flags");
			errno = EINVAL;
			return NULL;
		}
		return xenib_create_xrc_recv_qp(ctx, attr);
	}
	if (attr->comp_mask & IBV_QP_INIT_ATTR_XRCD) {
		xenib_err("create_qp_ex: IBV_QP_INIT_ATTR_XRCD is for XRC_RECV QPs only");
		errno = EINVAL;
		return NULL;
	}
	if (!(attr->comp_mask & IBV_QP_INIT_ATTR_PD) || !attr->pd ||
	    attr->pd->context != ctx) {
		errno = EINVAL;
		return NULL;
	}
	if ((attr->comp_mask & IBV_QP_INIT_ATTR_CREATE_FLAGS) &&
	    attr->create_flags) {
		xenib_err("create_qp_ex: create_flags 0x%x not supported",
			  attr->create_flags);
		errno = EOPNOTSUPP;
		return NULL;
	}
	if (attr->comp_mask & IBV_QP_INIT_ATTR_SEND_OPS_FLAGS) {
		ops = attr->send_ops_flags;
		type_ops = ops_of_type(attr->qp_type);
		if (ops & ~type_ops) {
			xenib_err("create_qp_ex: send_ops_flags 0x%llx not supported on this QP type (supported 0x%llx)",
				  (unsigned long long)ops,
				  (unsigned long long)type_ops);
			errno = EOPNOTSUPP;
			return NULL;
		}
	}

	/* ibv_qp_init_attr is the leading part of ibv_qp_init_attr_ex. */
	memcpy(&basic, attr, sizeof(basic));
	ibqp = xenib_create_qp(attr->pd, &basic);
	if (!ibqp)
		return NULL;
	attr->cap = basic.cap;

	qp = to_xqp(ibqp);
	if (attr->comp_mask & IBV_QP_INIT_ATTR_SEND_OPS_FLAGS) {
		qp->is_qpx = true;
		qp->send_ops = ops;
		qp->qpx.comp_mask = 0;
		init_qpx_ops(&qp->qpx);
	}
	xenib_dbg("create_qp_ex qpn %u comp_mask 0x%x send_ops 0x%llx",
		  ibqp->qp_num, attr->comp_mask, (unsigned long long)ops);
	return ibqp;
}

struct ibv_qp_ex *xenib_qp_to_qp_ex(struct ibv_qp *ibqp)
{
	struct xenib_qp *qp = to_xqp(ibqp);

	return qp->is_qpx ? &qp->qpx : NULL;
}
