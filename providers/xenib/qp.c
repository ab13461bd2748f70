// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Queue pairs: creation, state changes, queries, destruction.
 *
 * Each QP owns one shared region holding its send ring and, at the next
 * page-aligned offset, its receive ring.  The guest produces WQEs into both
 * (post.c); the backend consumes them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "xenib.h"

#define SEND_WQE_HDR	sizeof(struct xenib_send_wqe)	/* 64 */
#define RECV_WQE_HDR	sizeof(struct xenib_recv_wqe)	/* 16 */
#define SGE_SIZE	sizeof(struct xenib_sge)	/* 16 */

static uint32_t min_u32(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

static uint32_t max_u32(uint32_t a, uint32_t b)
{
	return a > b ? a : b;
}

static const char *qp_type_str(enum ibv_qp_type t)
{
	switch (t) {
	case IBV_QPT_RC: return "RC";
	case IBV_QPT_UC: return "UC";
	case IBV_QPT_UD: return "UD";
	case IBV_QPT_RAW_PACKET: return "RAW_PACKET";
	case IBV_QPT_XRC_SEND: return "XRC_SEND";
	case IBV_QPT_XRC_RECV: return "XRC_RECV";
	case IBV_QPT_DRIVER: return "DRIVER";
	default: return "unknown";
	}
}

struct xenib_qp *xenib_find_qp(struct xenib_context *ctx, uint32_t qpn)
{
	struct list_node *pos;
	struct xenib_qp *qp;

	/* Caller holds ctx->obj_lock. */
	list_for_each(pos, &ctx->qps) {
		qp = container_of(pos, struct xenib_qp, ctx_link);
		if (qp->ibv_qp.qp_num == qpn)
			return qp;
	}
	return NULL;
}

/*
 * Ring geometry from the requested capabilities; actual caps written back.
 * A QP on an SRQ has no receive ring (rq.ring.entries stays 0).
 */
static int qp_geometry(struct xenib_qp *qp, struct ibv_qp_cap *cap, bool srq)
{
	uint32_t sq_payload, rq_payload;

	if (cap->max_send_wr > XENIB_MAX_QP_WR ||
	    cap->max_recv_wr > XENIB_MAX_QP_WR ||
	    cap->max_send_sge > XENIB_MAX_SGE ||
	    cap->max_recv_sge > XENIB_MAX_SGE ||
	    cap->max_inline_data > XENIB_MAX_INLINE)
		return EINVAL;

	sq_payload = max_u32(cap->max_send_sge * SGE_SIZE,
			     cap->max_inline_data);
	qp->sq.ring.entries = xr_roundup_pow2(max_u32(cap->max_send_wr, 1));
	qp->sq.ring.stride = max_u32(64, xr_roundup_pow2(SEND_WQE_HDR +
							 sq_payload));
	/* What the rounded-up stride actually holds. */
	qp->sq.max_sge = min_u32((qp->sq.ring.stride - SEND_WQE_HDR) / SGE_SIZE,
				 XENIB_MAX_SGE);
	qp->sq.max_inline = min_u32(qp->sq.ring.stride - SEND_WQE_HDR,
				    XENIB_MAX_INLINE);

	rq_payload = cap->max_recv_sge * SGE_SIZE;
	qp->rq.ring.entries = xr_roundup_pow2(max_u32(cap->max_recv_wr, 1));
	qp->rq.ring.stride = max_u32(64, xr_roundup_pow2(RECV_WQE_HDR +
							 rq_payload));
	qp->rq.max_sge = min_u32((qp->rq.ring.stride - RECV_WQE_HDR) / SGE_SIZE,
				 XENIB_MAX_SGE);
	qp->rq.max_inline = 0;
	if (srq) {
		memset(&qp->rq.ring, 0, sizeof(qp->rq.ring));
		qp->rq.max_sge = 0;
	}

	qp->cap.max_send_wr = qp->sq.ring.entries;
	qp->cap.max_recv_wr = qp->rq.ring.entries;
	qp->cap.max_send_sge = qp->sq.max_sge;
	qp->cap.max_recv_sge = qp->rq.max_sge;
	qp->cap.max_inline_data = qp->sq.max_inline;
	return 0;
}

static void fill_ring_desc(struct xenib_ring_desc *d, uint32_t region,
			   const struct xenib_ring *r)
{
	d->region = region;
	d->entries = r->entries;
	d->offset = r->offset;
	d->stride = r->stride;
	d->reserved = 0;
}

/*
 * Drop a QP's completions from its CQs (XRC_SEND has no receive CQ,
 * XRC_RECV none at all: its receives complete on XRC SRQ CQs, where they
 * stay valid like a basic SRQ's).
 */
static void qp_clean_cqs(struct ibv_qp *ibqp)
{
	if (ibqp->recv_cq)
		xenib_cq_clean(to_xcq(ibqp->recv_cq), ibqp->qp_num);
	if (ibqp->send_cq && ibqp->send_cq != ibqp->recv_cq)
		xenib_cq_clean(to_xcq(ibqp->send_cq), ibqp->qp_num);
}

/*
 * XRC_RECV: a QP number in an XRC domain, nothing else (no rings, CQs or
 * PD); incoming XRC sends name the XRC SRQ their receive comes from.
 */
struct ibv_qp *xenib_create_xrc_recv_qp(struct ibv_context *ibctx,
					struct ibv_qp_init_attr_ex *attr)
{
	struct xenib_context *ctx = to_xctx(ibctx);
	struct xenib_create_qp_req req;
	struct xenib_handle_resp resp;
	struct xenib_qp *qp;
	int err;

	if (!attr->xrcd || attr->xrcd->context != ibctx) {
		errno = EINVAL;
		return NULL;
	}
	qp = calloc(1, sizeof(*qp));
	if (!qp) {
		errno = ENOMEM;
		return NULL;
	}
	pthread_spin_init(&qp->sq.lock, PTHREAD_PROCESS_PRIVATE);
	pthread_spin_init(&qp->rq.lock, PTHREAD_PROCESS_PRIVATE);
	list_init(&qp->ctx_link);

	memset(&req, 0, sizeof(req));
	req.pd = XENIB_INVALID_HANDLE;
	req.qp_type = IBV_QPT_XRC_RECV;
	req.send_cq = XENIB_INVALID_HANDLE;
	req.recv_cq = XENIB_INVALID_HANDLE;
	req.srq = XENIB_INVALID_HANDLE;
	req.xrcd = to_xxrcd(attr->xrcd)->handle;
	err = xenib_cmd(ctx, XENIB_CMD_CREATE_QP, &req, sizeof(req), -1, &resp,
			sizeof(resp));
	if (err) {
		pthread_spin_destroy(&qp->sq.lock);
		pthread_spin_destroy(&qp->rq.lock);
		free(qp);
		errno = err;
		return NULL;
	}
	qp->ibv_qp.context = ibctx;
	qp->ibv_qp.qp_context = attr->qp_context;
	qp->ibv_qp.handle = resp.handle;
	qp->ibv_qp.qp_num = resp.handle;
	qp->ibv_qp.state = IBV_QPS_RESET;
	qp->ibv_qp.qp_type = IBV_QPT_XRC_RECV;
	pthread_mutex_init(&qp->ibv_qp.mutex, NULL);
	pthread_cond_init(&qp->ibv_qp.cond, NULL);

	pthread_mutex_lock(&ctx->obj_lock);
	list_add_tail(&ctx->qps, &qp->ctx_link);
	pthread_mutex_unlock(&ctx->obj_lock);

	memset(&attr->cap, 0, sizeof(attr->cap));
	xenib_dbg("create_qp XRC_RECV qpn %u xrcd %u", resp.handle, req.xrcd);
	return &qp->ibv_qp;
}

struct ibv_qp *xenib_create_qp(struct ibv_pd *pd,
			       struct ibv_qp_init_attr *attr)
{
	struct xenib_context *ctx = to_xctx(pd->context);
	struct xenib_create_qp_req req;
	struct xenib_handle_resp resp;
	struct xenib_qp *qp;
	size_t sq_bytes, rq_bytes;
	int err;

	bool xrc_send = attr->qp_type == IBV_QPT_XRC_SEND;
	bool no_rq = attr->srq || xrc_send;

	if (attr->qp_type == IBV_QPT_XRC_RECV) {
		xenib_err("an XRC_RECV QP needs its XRC domain: create it with ibv_create_qp_ex and IBV_QP_INIT_ATTR_XRCD");
		errno = EINVAL;
		return NULL;
	}
	if (attr->qp_type != IBV_QPT_RC && attr->qp_type != IBV_QPT_UC &&
	    attr->qp_type != IBV_QPT_UD && !xrc_send) {
		xenib_err("QP type %s not supported (xenib supports RC, UC, UD, XRC_SEND and XRC_RECV)",
			  qp_type_str(attr->qp_type));
		errno = EOPNOTSUPP;
		return NULL;
	}
	/* XRC_SEND is send-only: no receive CQ, RQ or SRQ is used. */
	if (!attr->send_cq || (!attr->recv_cq && !xrc_send) ||
	    (xrc_send && attr->srq)) {
		errno = EINVAL;
		return NULL;
	}
	if (xrc_send) {
		attr->cap.max_recv_wr = 0;
		attr->cap.max_recv_sge = 0;
	}

	qp = calloc(1, sizeof(*qp));
	if (!qp) {
		errno = ENOMEM;
		return NULL;
	}
	err = qp_geometry(qp, &attr->cap, no_rq);
	if (err)
		goto err_free;
	pthread_spin_init(&qp->sq.lock, PTHREAD_PROCESS_PRIVATE);
	pthread_spin_init(&qp->rq.lock, PTHREAD_PROCESS_PRIVATE);
	list_init(&qp->ctx_link);

	sq_bytes = xr_ring_bytes(qp->sq.ring.entries, qp->sq.ring.stride);
	rq_bytes = no_rq ? 0 :
		   xr_ring_bytes(qp->rq.ring.entries, qp->rq.ring.stride);
	err = xenib_qmem_alloc(ctx, pd, &qp->shm, sq_bytes + rq_bytes,
			       "ring-xenib-qp", XENIB_RES_QP, &qp->qmem);
	if (err)
		goto err_locks;
	qp->sq.ring.offset = 0;
	qp->sq.ring.hdr = qp->shm.va;
	if (!no_rq) {
		qp->rq.ring.offset = sq_bytes;
		qp->rq.ring.hdr = (void *)((char *)qp->shm.va + sq_bytes);
	}

	err = xenib_map_region(ctx, &qp->shm,
			       (sq_bytes + rq_bytes) / XENIB_PAGE_SIZE, 0,
			       &qp->region);
	if (err)
		goto err_shm;

	memset(&req, 0, sizeof(req));
	req.pd = pd->handle;
	req.qp_type = attr->qp_type;
	req.send_cq = attr->send_cq->handle;
	req.recv_cq = xrc_send ? XENIB_INVALID_HANDLE : attr->recv_cq->handle;
	req.srq = attr->srq ? attr->srq->handle : XENIB_INVALID_HANDLE;
	req.sq_sig_all = !!attr->sq_sig_all;
	req.max_send_sge = qp->sq.max_sge;
	req.max_recv_sge = qp->rq.max_sge;
	req.max_inline = qp->sq.max_inline;
	fill_ring_desc(&req.sq, qp->region, &qp->sq.ring);
	if (!no_rq)	/* else all zero: no RQ of its own */
		fill_ring_desc(&req.rq, qp->region, &qp->rq.ring);
	err = xenib_cmd(ctx, XENIB_CMD_CREATE_QP, &req, sizeof(req), -1, &resp,
			sizeof(resp));
	if (err)
		goto err_region;

	qp->sq_sig_all = !!attr->sq_sig_all;
	qp->ibv_qp.context = pd->context;
	qp->ibv_qp.qp_context = attr->qp_context;
	qp->ibv_qp.pd = pd;
	qp->ibv_qp.send_cq = attr->send_cq;
	qp->ibv_qp.recv_cq = xrc_send ? NULL : attr->recv_cq;
	qp->ibv_qp.srq = attr->srq;
	qp->ibv_qp.handle = resp.handle;
	qp->ibv_qp.qp_num = resp.handle;	/* virtual QPN from the backend */
	qp->ibv_qp.state = IBV_QPS_RESET;
	qp->ibv_qp.qp_type = attr->qp_type;
	pthread_mutex_init(&qp->ibv_qp.mutex, NULL);
	pthread_cond_init(&qp->ibv_qp.cond, NULL);

	pthread_mutex_lock(&ctx->obj_lock);
	list_add_tail(&ctx->qps, &qp->ctx_link);
	pthread_mutex_unlock(&ctx->obj_lock);

	attr->cap = qp->cap;
	xenib_dbg("create_qp qpn %u sq %ux%u rq %ux%u sge %u/%u inline %u",
		  resp.handle, qp->sq.ring.entries, qp->sq.ring.stride,
		  qp->rq.ring.entries, qp->rq.ring.stride, qp->sq.max_sge,
		  qp->rq.max_sge, qp->sq.max_inline);
	return &qp->ibv_qp;

err_region:
	xenib_cmd_handle(ctx, XENIB_CMD_UNMAP_REGION, qp->region);
err_shm:
	xenib_qmem_free(ctx, &qp->shm, &qp->qmem);
err_locks:
	pthread_spin_destroy(&qp->sq.lock);
	pthread_spin_destroy(&qp->rq.lock);
err_free:
	free(qp);
	errno = err;
	return NULL;
}

static void ah_to_wire(const struct ibv_ah_attr *a, struct xenib_ah_attr *w)
{
	memcpy(w->dgid, a->grh.dgid.raw, sizeof(w->dgid));
	w->flow_label = a->grh.flow_label;
	w->sgid_index = a->grh.sgid_index;
	w->hop_limit = a->grh.hop_limit;
	w->traffic_class = a->grh.traffic_class;
	w->is_global = a->is_global;
	w->dlid = a->dlid;
	w->sl = a->sl;
	w->src_path_bits = a->src_path_bits;
	w->static_rate = a->static_rate;
	w->port_num = a->port_num;
}

static void ah_from_wire(const struct xenib_ah_attr *w, struct ibv_ah_attr *a)
{
	memset(a, 0, sizeof(*a));
	memcpy(a->grh.dgid.raw, w->dgid, sizeof(w->dgid));
	a->grh.flow_label = w->flow_label;
	a->grh.sgid_index = w->sgid_index;
	a->grh.hop_limit = w->hop_limit;
	a->grh.traffic_class = w->traffic_class;
	a->is_global = w->is_global;
	a->dlid = w->dlid;
	a->sl = w->sl;
	a->src_path_bits = w->src_path_bits;
	a->static_rate = w->static_rate;
	a->port_num = w->port_num;
}

int xenib_modify_qp(struct ibv_qp *ibqp, struct ibv_qp_attr *attr,
		    int attr_mask)
{
	struct xenib_context *ctx = to_xctx(ibqp->context);
	struct xenib_modify_qp_req req;
	struct xenib_qp_attr *w = &req.attr;
	struct xenib_ctrl_hdr resp;
	int err;

	memset(&req, 0, sizeof(req));
	req.qpn = ibqp->qp_num;
	req.attr_mask = attr_mask;
	/* All fields travel; the backend reads the ones attr_mask names. */
	w->qp_state = attr->qp_state;
	w->cur_qp_state = attr->cur_qp_state;
	w->path_mtu = attr->path_mtu;
	w->qkey = attr->qkey;
	w->rq_psn = attr->rq_psn;
	w->sq_psn = attr->sq_psn;
	w->dest_qp_num = attr->dest_qp_num;
	w->qp_access_flags = attr->qp_access_flags;
	w->pkey_index = attr->pkey_index;
	w->port_num = attr->port_num;
	w->min_rnr_timer = attr->min_rnr_timer;
	w->timeout = attr->timeout;
	w->retry_cnt = attr->retry_cnt;
	w->rnr_retry = attr->rnr_retry;
	w->max_rd_atomic = attr->max_rd_atomic;
	w->max_dest_rd_atomic = attr->max_dest_rd_atomic;
	w->sq_draining = attr->sq_draining;
	w->en_sqd_async_notify = attr->en_sqd_async_notify;
	ah_to_wire(&attr->ah_attr, &w->ah);

	err = xenib_cmd(ctx, XENIB_CMD_MODIFY_QP, &req, sizeof(req), -1, &resp,
			sizeof(resp));
	if (err)
		return err;
	if (attr_mask & IBV_QP_STATE) {
		ibqp->state = attr->qp_state;
		if (attr->qp_state == IBV_QPS_RESET) {
			/* Completions of the old incarnation must not show
			 * up after the reset. */
			qp_clean_cqs(ibqp);
		}
	}
	return 0;
}

int xenib_query_qp(struct ibv_qp *ibqp, struct ibv_qp_attr *attr,
		   int attr_mask, struct ibv_qp_init_attr *init_attr)
{
	struct xenib_context *ctx = to_xctx(ibqp->context);
	struct xenib_qp *qp = to_xqp(ibqp);
	struct xenib_handle_req req;
	struct xenib_query_qp_resp resp;
	const struct xenib_qp_attr *w = &resp.attr;
	int err;

	memset(&req, 0, sizeof(req));
	req.handle = ibqp->qp_num;
	err = xenib_cmd(ctx, XENIB_CMD_QUERY_QP, &req, sizeof(req), -1, &resp,
			sizeof(resp));
	if (err)
		return err;

	memset(attr, 0, sizeof(*attr));
	attr->qp_state = w->qp_state;
	attr->cur_qp_state = w->cur_qp_state;
	attr->path_mtu = w->path_mtu;
	attr->path_mig_state = IBV_MIG_MIGRATED;
	attr->qkey = w->qkey;
	attr->rq_psn = w->rq_psn;
	attr->sq_psn = w->sq_psn;
	attr->dest_qp_num = w->dest_qp_num;
	attr->qp_access_flags = w->qp_access_flags;
	attr->cap = qp->cap;
	ah_from_wire(&w->ah, &attr->ah_attr);
	attr->pkey_index = w->pkey_index;
	attr->en_sqd_async_notify = w->en_sqd_async_notify;
	attr->sq_draining = w->sq_draining;
	attr->max_rd_atomic = w->max_rd_atomic;
	attr->max_dest_rd_atomic = w->max_dest_rd_atomic;
	attr->min_rnr_timer = w->min_rnr_timer;
	attr->port_num = w->port_num;
	attr->timeout = w->timeout;
	attr->retry_cnt = w->retry_cnt;
	attr->rnr_retry = w->rnr_retry;

	/* The backend may have moved the QP (e.g. to ERROR) on its own. */
	ibqp->state = attr->qp_state;

	if (init_attr) {
		memset(init_attr, 0, sizeof(*init_attr));
		init_attr->qp_context = ibqp->qp_context;
		init_attr->send_cq = ibqp->send_cq;
		init_attr->recv_cq = ibqp->recv_cq;
		init_attr->srq = ibqp->srq;
		init_attr->cap = qp->cap;
		init_attr->qp_type = ibqp->qp_type;
		init_attr->sq_sig_all = qp->sq_sig_all;
	}
	return 0;
}

int xenib_destroy_qp(struct ibv_qp *ibqp)
{
	struct xenib_context *ctx = to_xctx(ibqp->context);
	struct xenib_qp *qp = to_xqp(ibqp);
	int err;

	err = xenib_cmd_handle(ctx, XENIB_CMD_DESTROY_QP, ibqp->qp_num);
	if (err)
		return err;

	pthread_mutex_lock(&ctx->obj_lock);
	list_del(&qp->ctx_link);
	pthread_mutex_unlock(&ctx->obj_lock);

	/* No completion may name a QP number that no longer exists. */
	qp_clean_cqs(ibqp);

	if (qp->shm.va) {	/* XRC_RECV QPs have no rings */
		xenib_cmd_handle(ctx, XENIB_CMD_UNMAP_REGION, qp->region);
		xenib_qmem_free(ctx, &qp->shm, &qp->qmem);
	}
	pthread_spin_destroy(&qp->sq.lock);
	pthread_spin_destroy(&qp->rq.lock);
	free(qp);
	return 0;
}
