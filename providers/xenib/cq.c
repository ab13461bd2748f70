// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Completion queues.
 *
 * A CQ is a ring in its own shared region: the backend produces CQEs
 * (hdr->prod), the guest consumes them (hdr->cons).  Polling and arming
 * are pure shared-memory operations; the backend raises completion events
 * by bumping hdr->events and signalling the channel's notifier.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "xenib.h"

struct xenib_cq *xenib_find_cq(struct xenib_context *ctx, uint32_t handle)
{
	struct list_node *pos;
	struct xenib_cq *cq;

	/* Caller holds ctx->obj_lock. */
	list_for_each(pos, &ctx->cqs) {
		cq = container_of(pos, struct xenib_cq, ctx_link);
		if (cq->ibv_cq.handle == handle)
			return cq;
	}
	return NULL;
}

struct ibv_cq *xenib_create_cq(struct ibv_context *ibctx, int cqe,
			       struct ibv_comp_channel *channel,
			       int comp_vector)
{
	return xenib_create_cq_pd(ibctx, cqe, channel, comp_vector, NULL);
}

struct ibv_cq *xenib_create_cq_pd(struct ibv_context *ibctx, int cqe,
				  struct ibv_comp_channel *channel,
				  int comp_vector, struct ibv_pd *pd)
{
	struct xenib_context *ctx = to_xctx(ibctx);
	struct xenib_create_cq_req req;
	struct xenib_handle_resp resp;
	struct xenib_channel *xch = NULL;
	struct xenib_cq *cq;
	uint32_t entries;
	size_t bytes;
	int err;

	/*
	 * As an HCA: at most max_cqe entries, and a completion vector the
	 * context has (num_comp_vectors, one here).
	 */
	if (cqe < 1 || (uint32_t)cqe > ctx->dev_info.max_cqe ||
	    (uint32_t)cqe >= XENIB_MAX_CQE) {
		errno = EINVAL;
		return NULL;
	}
	if (comp_vector < 0 || comp_vector >= ibctx->num_comp_vectors) {
		xenib_dbg("create_cq: comp_vector %d, the context has %d",
			  comp_vector, ibctx->num_comp_vectors);
		errno = EINVAL;
		return NULL;
	}
	entries = xr_roundup_pow2(cqe + 1);
	if (entries > XENIB_MAX_CQE) {
		errno = EINVAL;
		return NULL;
	}
	if (channel) {
		xch = xenib_find_channel(ctx, channel);
		if (!xch) {
			errno = EINVAL;
			return NULL;
		}
	}

	cq = calloc(1, sizeof(*cq));
	if (!cq) {
		errno = ENOMEM;
		return NULL;
	}
	pthread_spin_init(&cq->lock, PTHREAD_PROCESS_PRIVATE);
	list_init(&cq->chan_link);
	list_init(&cq->ctx_link);

	bytes = xr_ring_bytes(entries, sizeof(struct xenib_cqe));
	err = xenib_qmem_alloc(ctx, pd, &cq->shm, bytes, "ring-xenib-cq",
			       XENIB_RES_CQ, &cq->qmem);
	if (err)
		goto err_free;
	cq->ring.hdr = cq->shm.va;
	cq->ring.entries = entries;
	cq->ring.stride = sizeof(struct xenib_cqe);
	cq->ring.offset = 0;

	err = xenib_map_region(ctx, &cq->shm, bytes / XENIB_PAGE_SIZE, 0,
			       &cq->region);
	if (err)
		goto err_shm;

	memset(&req, 0, sizeof(req));
	req.ring.region = cq->region;
	req.ring.entries = entries;
	req.ring.offset = 0;
	req.ring.stride = sizeof(struct xenib_cqe);
	req.notify = xch ? xch->notify : XENIB_INVALID_HANDLE;
	err = xenib_cmd(ctx, XENIB_CMD_CREATE_CQ, &req, sizeof(req), -1, &resp,
			sizeof(resp));
	if (err)
		goto err_region;

	/*
	 * context, channel (and its reference), cq_context, event counters,
	 * mutex and cond are the library's: it runs verbs_init_cq() on the
	 * CQ we return (libibverbs/driver.h).
	 */
	cq->ibv_cq.cqe = entries - 1;
	cq->ibv_cq.handle = resp.handle;
	cq->channel = xch;

	pthread_mutex_lock(&ctx->obj_lock);
	list_add_tail(&ctx->cqs, &cq->ctx_link);
	pthread_mutex_unlock(&ctx->obj_lock);
	if (xch) {
		pthread_mutex_lock(&xch->lock);
		/* Events raised before now are not ours to report. */
		cq->events_consumed = xr_load_acquire(&cq->ring.hdr->events);
		list_add_tail(&xch->cqs, &cq->chan_link);
		pthread_mutex_unlock(&xch->lock);
	}
	xenib_dbg("create_cq handle %u entries %u%s", resp.handle, entries,
		  xch ? " (with channel)" : "");
	return &cq->ibv_cq;

err_region:
	xenib_cmd_handle(ctx, XENIB_CMD_UNMAP_REGION, cq->region);
err_shm:
	xenib_qmem_free(ctx, &cq->shm, &cq->qmem);
err_free:
	pthread_spin_destroy(&cq->lock);
	free(cq);
	errno = err;
	return NULL;
}

int xenib_destroy_cq(struct ibv_cq *ibcq)
{
	struct xenib_context *ctx = to_xctx(ibcq->context);
	struct xenib_cq *cq = to_xcq(ibcq);
	int err;

	err = xenib_cmd_handle(ctx, XENIB_CMD_DESTROY_CQ, ibcq->handle);
	if (err)
		return err;

	if (cq->channel) {
		pthread_mutex_lock(&cq->channel->lock);
		list_del(&cq->chan_link);
		pthread_mutex_unlock(&cq->channel->lock);
	}
	pthread_mutex_lock(&ctx->obj_lock);
	list_del(&cq->ctx_link);
	pthread_mutex_unlock(&ctx->obj_lock);

	xenib_cmd_handle(ctx, XENIB_CMD_UNMAP_REGION, cq->region);
	xenib_qmem_free(ctx, &cq->shm, &cq->qmem);
	pthread_spin_destroy(&cq->lock);
	free(cq);
	return 0;
}

static void cqe_to_wc(const struct xenib_cqe *e, struct ibv_wc *wc)
{
	wc->wr_id = e->wr_id;
	wc->status = e->status;
	wc->opcode = e->opcode;
	wc->vendor_err = e->vendor_err;
	wc->byte_len = e->byte_len;
	wc->imm_data = e->imm_data;	/* network order on both sides */
	wc->qp_num = e->qp_num;
	wc->src_qp = e->src_qp;
	wc->wc_flags = e->wc_flags;
	wc->pkey_index = e->pkey_index;
	wc->slid = e->slid;
	wc->sl = e->sl;
	wc->dlid_path_bits = e->dlid_path_bits;
}

int xenib_poll_cq(struct ibv_cq *ibcq, int num_entries, struct ibv_wc *wc)
{
	struct xenib_cq *cq = to_xcq(ibcq);
	struct xenib_ring_hdr *hdr = cq->ring.hdr;
	uint32_t prod, avail;
	int n = 0;

	pthread_spin_lock(&cq->lock);
	/* CQ ring: backend produces (prod), guest consumes (cons). */
	prod = xr_load_acquire(&hdr->prod);
	avail = prod - cq->cons;
	if (avail > cq->ring.entries) {
		if (!cq->overrun_logged) {
			cq->overrun_logged = true;
			xenib_err("CQ %u overrun or corrupted (prod %u cons %u entries %u)",
				  ibcq->handle, prod, cq->cons,
				  cq->ring.entries);
		}
		pthread_spin_unlock(&cq->lock);
		return -1;
	}
	while (n < num_entries && avail) {
		const struct xenib_cqe *e = xr_entry(hdr, cq->cons,
						     cq->ring.entries,
						     cq->ring.stride);

		cqe_to_wc(e, &wc[n]);
		n++;
		cq->cons++;
		avail--;
	}
	/* Release: we are done reading the entries the backend may reuse. */
	if (n) {
		xr_store_release(&hdr->cons, cq->cons);
		cq->empty_polls = 0;
	} else if (!(++cq->idle_polls % XENIB_GONE_CHECK_POLLS) &&
		   xenib_backend_gone(to_xctx(ibcq->context))) {
		pthread_spin_unlock(&cq->lock);
		errno = EIO;	/* nothing will ever complete */
		return -1;
	} else if (xenib_poll_yield && ++cq->empty_polls >= xenib_poll_yield) {
		struct xenib_context *ctx = to_xctx(ibcq->context);

		cq->empty_polls = 0;
		/*
		 * Nothing to do and the backend is busy polling (not asleep):
		 * when cores are oversubscribed, a guest spinning here would
		 * keep the backend that completes its work off the CPU for a
		 * whole time slice.  backend_sleeping: written by the backend.
		 */
		if (!xr_load_relaxed(&ctx->page->backend_sleeping)) {
			pthread_spin_unlock(&cq->lock);
			sched_yield();
			return 0;
		}
	}
	pthread_spin_unlock(&cq->lock);
	return n;
}

int xenib_req_notify_cq(struct ibv_cq *ibcq, int solicited_only)
{
	struct xenib_cq *cq = to_xcq(ibcq);

	cq->arm_mode = solicited_only ? XENIB_CQ_ARM_SOLICITED :
					XENIB_CQ_ARM_NEXT;
	/* armed: written by the guest, cleared by the backend (xchg). */
	xr_store_release(&cq->ring.hdr->armed, cq->arm_mode);
	/*
	 * The backend reads armed right after publishing a CQE; order our
	 * store before anything the caller does next (typically a poll that
	 * closes the race with a CQE written just before arming).
	 */
	xr_full_fence();
	return 0;
}

/*
 * Remove the not yet polled CQEs of QP qpn (destroyed or reset), keeping
 * the order of the others.  The slots in [cons, prod) belong to the
 * consumer until it publishes cons, so the survivors are moved towards the
 * producer end and cons skips the freed slots.  The backend produces no
 * more CQEs for qpn once DESTROY_QP / MODIFY_QP(RESET) has answered.
 */
void xenib_cq_clean(struct xenib_cq *cq, uint32_t qpn)
{
	struct xenib_ring_hdr *hdr = cq->ring.hdr;
	uint32_t prod, idx, nfreed = 0;

	pthread_spin_lock(&cq->lock);
	/* CQ ring: backend produces (prod), guest consumes (cons). */
	prod = xr_load_acquire(&hdr->prod);
	if (prod - cq->cons > cq->ring.entries) {
		pthread_spin_unlock(&cq->lock);
		return;		/* overrun: poll reports it */
	}
	for (idx = prod; idx != cq->cons;) {
		struct xenib_cqe *e;

		idx--;
		e = xr_entry(hdr, idx, cq->ring.entries, cq->ring.stride);
		if (e->qp_num == qpn)
			nfreed++;
		else if (nfreed)
			memcpy(xr_entry(hdr, idx + nfreed, cq->ring.entries,
					cq->ring.stride),
			       e, sizeof(*e));
	}
	if (nfreed) {
		cq->cons += nfreed;
		xr_store_release(&hdr->cons, cq->cons);
	}
	pthread_spin_unlock(&cq->lock);
}
