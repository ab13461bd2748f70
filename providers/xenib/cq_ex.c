// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * ibv_create_cq_ex and the ibv_start_poll / ibv_next_poll / ibv_end_poll
 * family (man ibv_create_cq_ex).
 *
 * The CQ is the one create_cq makes (cq.c), embedded in a struct
 * ibv_cq_ex.  start_poll takes the consumer lock and points at the oldest
 * unpolled CQE; the read_* accessors read that entry in place (the slots in
 * [cons, prod) belong to the consumer until it publishes cons); next_poll
 * moves on; end_poll publishes the consumer index once and unlocks.
 */
#include <errno.h>
#include <sched.h>
#include <string.h>

#include "xenib.h"

/*
 * wc_flags the virtual HCA can report.  The completion timestamp is the
 * backend's CLOCK_MONOTONIC (ns) when it produced the CQE.  No wallclock
 * variant: that clock is not CLOCK_REALTIME.
 */
#define XENIB_WC_EX_FLAGS (IBV_WC_STANDARD_FLAGS | \
			   IBV_WC_EX_WITH_COMPLETION_TIMESTAMP)

static inline struct xenib_cq *cqx_to_xcq(struct ibv_cq_ex *cqx)
{
	return container_of(cqx, struct xenib_cq, cqx);
}

/* Point at entry cq->cons if there is one; 0, ENOENT or EIO (overrun). */
static int load_cur(struct xenib_cq *cq)
{
	struct xenib_ring_hdr *hdr = cq->ring.hdr;
	uint32_t avail;

	/* CQ ring: backend produces (prod), guest consumes (cons). */
	avail = xr_load_acquire(&hdr->prod) - cq->cons;
	if (avail > cq->ring.entries) {
		if (!cq->overrun_logged) {
			cq->overrun_logged = true;
			xenib_err("CQ %u overrun or corrupted (cons %u entries %u)",
				  cq->ibv_cq.handle, cq->cons,
				  cq->ring.entries);
		}
		cq->cur_valid = false;
		return EIO;
	}
	if (!avail) {
		cq->cur_valid = false;
		return ENOENT;
	}
	cq->cur = xr_entry(hdr, cq->cons, cq->ring.entries, cq->ring.stride);
	cq->cur_valid = true;
	cq->cqx.wr_id = cq->cur->wr_id;
	cq->cqx.status = cq->cur->status;
	return 0;
}

/* Publish what was consumed; called with cq->lock held. */
static void publish_cons(struct xenib_cq *cq)
{
	/* Release: we are done reading the entries the backend may reuse. */
	xr_store_release(&cq->ring.hdr->cons, cq->cons);
}

static int x_start_poll(struct ibv_cq_ex *cqx, struct ibv_poll_cq_attr *attr)
{
	struct xenib_cq *cq = cqx_to_xcq(cqx);
	struct xenib_context *ctx;
	int err;

	if (attr->comp_mask)
		return EINVAL;
	pthread_spin_lock(&cq->lock);
	err = load_cur(cq);
	if (!err) {
		cq->empty_polls = 0;
		return 0;	/* lock held until end_poll */
	}
	pthread_spin_unlock(&cq->lock);
	/* Same courtesy as poll_cq (cq.c) when polling an empty CQ. */
	if (err == ENOENT && xenib_poll_yield &&
	    ++cq->empty_polls >= xenib_poll_yield) {
		ctx = to_xctx(cqx->context);
		cq->empty_polls = 0;
		/* backend_sleeping: written by the backend. */
		if (!xr_load_relaxed(&ctx->page->backend_sleeping))
			sched_yield();
	}
	return err;
}

static int x_next_poll(struct ibv_cq_ex *cqx)
{
	struct xenib_cq *cq = cqx_to_xcq(cqx);

	if (cq->cur_valid)
		cq->cons++;
	return load_cur(cq);
}

static void x_end_poll(struct ibv_cq_ex *cqx)
{
	struct xenib_cq *cq = cqx_to_xcq(cqx);

	if (cq->cur_valid)
		cq->cons++;
	cq->cur_valid = false;
	publish_cons(cq);
	pthread_spin_unlock(&cq->lock);
}

static enum ibv_wc_opcode x_read_opcode(struct ibv_cq_ex *cqx)
{
	return cqx_to_xcq(cqx)->cur->opcode;
}

static uint32_t x_read_vendor_err(struct ibv_cq_ex *cqx)
{
	return cqx_to_xcq(cqx)->cur->vendor_err;
}

static uint32_t x_read_byte_len(struct ibv_cq_ex *cqx)
{
	return cqx_to_xcq(cqx)->cur->byte_len;
}

static __be32 x_read_imm_data(struct ibv_cq_ex *cqx)
{
	return (__be32)cqx_to_xcq(cqx)->cur->imm_data;	/* network order */
}

static uint32_t x_read_qp_num(struct ibv_cq_ex *cqx)
{
	return cqx_to_xcq(cqx)->cur->qp_num;
}

static uint32_t x_read_src_qp(struct ibv_cq_ex *cqx)
{
	return cqx_to_xcq(cqx)->cur->src_qp;
}

static unsigned int x_read_wc_flags(struct ibv_cq_ex *cqx)
{
	return cqx_to_xcq(cqx)->cur->wc_flags;
}

static uint32_t x_read_slid(struct ibv_cq_ex *cqx)
{
	return cqx_to_xcq(cqx)->cur->slid;
}

static uint8_t x_read_sl(struct ibv_cq_ex *cqx)
{
	return cqx_to_xcq(cqx)->cur->sl;
}

static uint8_t x_read_dlid_path_bits(struct ibv_cq_ex *cqx)
{
	return cqx_to_xcq(cqx)->cur->dlid_path_bits;
}

static uint64_t x_read_completion_ts(struct ibv_cq_ex *cqx)
{
	return cqx_to_xcq(cqx)->cur->timestamp;
}

static void init_cqx_ops(struct ibv_cq_ex *x)
{
	x->start_poll = x_start_poll;
	x->next_poll = x_next_poll;
	x->end_poll = x_end_poll;
	x->read_opcode = x_read_opcode;
	x->read_vendor_err = x_read_vendor_err;
	x->read_byte_len = x_read_byte_len;
	x->read_imm_data = x_read_imm_data;
	x->read_qp_num = x_read_qp_num;
	x->read_src_qp = x_read_src_qp;
	x->read_wc_flags = x_read_wc_flags;
	x->read_slid = x_read_slid;
	x->read_sl = x_read_sl;
	x->read_dlid_path_bits = x_read_dlid_path_bits;
	x->read_completion_ts = x_read_completion_ts;
	/* Not offered (create fails if asked for): left NULL. */
	x->read_completion_wallclock_ns = NULL;
	x->read_cvlan = NULL;
	x->read_flow_tag = NULL;
	x->read_tm_info = NULL;
}

struct ibv_cq_ex *xenib_create_cq_ex(struct ibv_context *ctx,
				     struct ibv_cq_init_attr_ex *attr)
{
	struct ibv_cq *ibcq;
	struct xenib_cq *cq;

	if (attr->wc_flags & ~(uint64_t)XENIB_WC_EX_FLAGS) {
		xenib_err("create_cq_ex: wc_flags 0x%llx not supported (wallclock timestamps, cvlan, flow tag and TM info are not provided by xenib)",
			  (unsigned long long)(attr->wc_flags &
					       ~(uint64_t)XENIB_WC_EX_FLAGS));
		errno = EOPNOTSUPP;
		return NULL;
	}
	if (attr->comp_mask & ~(uint32_t)(IBV_CQ_INIT_ATTR_MASK_FLAGS |
					  IBV_CQ_INIT_ATTR_MASK_PD)) {
		xenib_err("create_cq_ex: comp_mask 0x%x not supported",
			  attr->comp_mask);
		errno = EOPNOTSUPP;
		return NULL;
	}
	/* IBV_CQ_INIT_ATTR_MASK_PD names a parent domain (and only that). */
	if ((attr->comp_mask & IBV_CQ_INIT_ATTR_MASK_PD) &&
	    !xenib_is_parent_domain(ctx, attr->parent_domain)) {
		errno = EINVAL;
		return NULL;
	}
	if ((attr->comp_mask & IBV_CQ_INIT_ATTR_MASK_FLAGS) &&
	    (attr->flags & ~(uint32_t)IBV_CREATE_CQ_ATTR_SINGLE_THREADED)) {
		/* SINGLE_THREADED is a hint; we lock anyway. */
		xenib_err("create_cq_ex: flags 0x%x not supported",
			  attr->flags);
		errno = EOPNOTSUPP;
		return NULL;
	}

	ibcq = xenib_create_cq_pd(ctx, attr->cqe, attr->channel,
				  attr->comp_vector,
				  (attr->comp_mask & IBV_CQ_INIT_ATTR_MASK_PD) ?
				  attr->parent_domain : NULL);
	if (!ibcq)
		return NULL;
	cq = to_xcq(ibcq);
	cq->cqx.comp_mask = 0;
	init_cqx_ops(&cq->cqx);
	return &cq->cqx;
}

/*
 * ibv_resize_cq: a new ring in a new region; the backend moves the
 * unpolled CQEs over (RESIZE_CQ in xenib-abi.h), then we switch and unmap
 * the old ring.  The consumer lock is held throughout so no poll sees a
 * half-moved CQ; the channel lock guards the switch against
 * ibv_get_cq_event, which reads the event counter in the ring header.
 * Arming the CQ from another thread while it is resized is not supported.
 */
int xenib_resize_cq(struct ibv_cq *ibcq, int cqe)
{
	struct xenib_context *ctx = to_xctx(ibcq->context);
	struct xenib_cq *cq = to_xcq(ibcq);
	struct xenib_resize_cq_req req;
	struct xenib_ctrl_hdr resp;
	struct hv_shm shm, old_shm;
	struct xenib_qmem qm, old_qm;
	uint32_t entries, region, old_region;
	size_t bytes;
	int err;

	if (cqe < 1 || (uint32_t)cqe >= XENIB_MAX_CQE)
		return EINVAL;
	entries = xr_roundup_pow2(cqe + 1);
	if (entries > XENIB_MAX_CQE)
		return EINVAL;
	bytes = xr_ring_bytes(entries, sizeof(struct xenib_cqe));
	err = xenib_qmem_alloc(ctx, cq->qmem.pd, &shm, bytes, "ring-xenib-cq",
			       XENIB_RES_CQ, &qm);
	if (err)
		return err;
	err = xenib_map_region(ctx, &shm, bytes / XENIB_PAGE_SIZE, 0,
			       &region);
	if (err)
		goto err_shm;

	memset(&req, 0, sizeof(req));
	req.handle = ibcq->handle;
	req.ring.region = region;
	req.ring.entries = entries;
	req.ring.offset = 0;
	req.ring.stride = sizeof(struct xenib_cqe);

	pthread_spin_lock(&cq->lock);
	if (cq->cur_valid) {
		err = EBUSY;		/* inside ibv_start_poll .. end_poll */
		goto err_unlock;
	}
	/* CQ ring: backend produces (prod), guest consumes (cons). */
	if (xr_load_acquire(&cq->ring.hdr->prod) - cq->cons > entries) {
		err = EINVAL;		/* fewer entries than outstanding */
		goto err_unlock;
	}
	req.cons = cq->cons;
	err = xenib_cmd(ctx, XENIB_CMD_RESIZE_CQ, &req, sizeof(req), -1,
			&resp, sizeof(resp));
	if (err)
		goto err_unlock;

	old_shm = cq->shm;
	old_qm = cq->qmem;
	old_region = cq->region;
	if (cq->channel)
		pthread_mutex_lock(&cq->channel->lock);
	cq->ring.hdr = shm.va;
	cq->ring.entries = entries;
	cq->ring.offset = 0;
	cq->shm = shm;
	cq->qmem = qm;
	cq->region = region;
	cq->cons = 0;			/* the backend moved [cons, prod) to 0.. */
	cq->overrun_logged = false;
	if (cq->channel)
		pthread_mutex_unlock(&cq->channel->lock);
	ibcq->cqe = entries - 1;
	pthread_spin_unlock(&cq->lock);

	xenib_cmd_handle(ctx, XENIB_CMD_UNMAP_REGION, old_region);
	xenib_qmem_free(ctx, &old_shm, &old_qm);
	xenib_dbg("resize_cq handle %u entries %u", ibcq->handle, entries);
	return 0;

err_unlock:
	pthread_spin_unlock(&cq->lock);
	xenib_cmd_handle(ctx, XENIB_CMD_UNMAP_REGION, region);
err_shm:
	xenib_qmem_free(ctx, &shm, &qm);
	return err;
}
