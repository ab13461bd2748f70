// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Shared receive queues.
 *
 * An SRQ owns one shared region holding a ring of receive WQEs, laid out
 * like a QP's RQ: the guest produces (post_srq_recv), the backend consumes
 * on behalf of every QP created with the SRQ, or, for an XRC SRQ, of every
 * XRC_RECV QP of its XRC domain that an XRC send naming its number reaches.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "xenib.h"

#define RECV_WQE_HDR	sizeof(struct xenib_recv_wqe)
#define SGE_SIZE	sizeof(struct xenib_sge)

struct xenib_srq *xenib_find_srq(struct xenib_context *ctx, uint32_t handle)
{
	struct list_node *pos;
	struct xenib_srq *srq;

	/* Caller holds ctx->obj_lock. */
	list_for_each(pos, &ctx->srqs) {
		srq = container_of(pos, struct xenib_srq, ctx_link);
		if (srq->ibv_srq.handle == handle)
			return srq;
	}
	return NULL;
}

/* type IBV_SRQT_BASIC (xrcd, cq: XENIB_INVALID_HANDLE) or IBV_SRQT_XRC. */
static struct ibv_srq *srq_create(struct ibv_pd *pd,
				  struct ibv_srq_init_attr *attr,
				  uint32_t type, uint32_t xrcd, uint32_t cq)
{
	struct xenib_context *ctx = to_xctx(pd->context);
	struct xenib_create_srq_req req;
	struct xenib_handle_resp resp;
	struct xenib_srq *srq;
	struct xenib_wq *wq;
	size_t bytes;
	int err;

	/* srq_limit is ignored at creation (ibv_create_srq(3)). */
	if (attr->attr.max_wr > XENIB_MAX_QP_WR ||
	    attr->attr.max_sge > XENIB_MAX_SGE) {
		errno = EINVAL;
		return NULL;
	}
	srq = calloc(1, sizeof(*srq));
	if (!srq) {
		errno = ENOMEM;
		return NULL;
	}
	wq = &srq->wq;
	wq->ring.entries = xr_roundup_pow2(attr->attr.max_wr ?
					   attr->attr.max_wr : 1);
	wq->ring.stride = xr_roundup_pow2(RECV_WQE_HDR +
					  attr->attr.max_sge * SGE_SIZE);
	if (wq->ring.stride < 64)
		wq->ring.stride = 64;
	wq->max_sge = (wq->ring.stride - RECV_WQE_HDR) / SGE_SIZE;
	if (wq->max_sge > XENIB_MAX_SGE)
		wq->max_sge = XENIB_MAX_SGE;
	pthread_spin_init(&wq->lock, PTHREAD_PROCESS_PRIVATE);
	list_init(&srq->ctx_link);

	bytes = xr_ring_bytes(wq->ring.entries, wq->ring.stride);
	err = xenib_qmem_alloc(ctx, pd, &srq->shm, bytes, "ring-xenib-srq",
			       XENIB_RES_SRQ, &srq->qmem);
	if (err)
		goto err_free;
	wq->ring.hdr = srq->shm.va;
	wq->ring.offset = 0;
	err = xenib_map_region(ctx, &srq->shm, bytes / XENIB_PAGE_SIZE, 0,
			       &srq->region);
	if (err)
		goto err_shm;

	memset(&req, 0, sizeof(req));
	req.pd = pd->handle;
	req.srq_type = type;
	req.max_sge = wq->max_sge;
	req.srq_limit = 0;
	req.xrcd = xrcd;
	req.cq = cq;
	req.ring.region = srq->region;
	req.ring.entries = wq->ring.entries;
	req.ring.offset = 0;
	req.ring.stride = wq->ring.stride;
	err = xenib_cmd(ctx, XENIB_CMD_CREATE_SRQ, &req, sizeof(req), -1,
			&resp, sizeof(resp));
	if (err)
		goto err_region;

	/* context, pd, srq_context, mutex, cond: the library's (driver.h). */
	srq->ibv_srq.handle = resp.handle;
	attr->attr.max_wr = wq->ring.entries;
	attr->attr.max_sge = wq->max_sge;

	pthread_mutex_lock(&ctx->obj_lock);
	list_add_tail(&ctx->srqs, &srq->ctx_link);
	pthread_mutex_unlock(&ctx->obj_lock);
	xenib_dbg("create_srq handle %u entries %u sge %u", resp.handle,
		  wq->ring.entries, wq->max_sge);
	return &srq->ibv_srq;

err_region:
	xenib_cmd_handle(ctx, XENIB_CMD_UNMAP_REGION, srq->region);
err_shm:
	xenib_qmem_free(ctx, &srq->shm, &srq->qmem);
err_free:
	pthread_spin_destroy(&wq->lock);
	free(srq);
	errno = err;
	return NULL;
}

struct ibv_srq *xenib_create_srq(struct ibv_pd *pd,
				 struct ibv_srq_init_attr *attr)
{
	return srq_create(pd, attr, IBV_SRQT_BASIC, XENIB_INVALID_HANDLE,
			  XENIB_INVALID_HANDLE);
}

int xenib_modify_srq(struct ibv_srq *ibsrq, struct ibv_srq_attr *attr,
		     int attr_mask)
{
	struct xenib_modify_srq_req req;
	struct xenib_ctrl_hdr resp;

	if (attr_mask & IBV_SRQ_MAX_WR) {
		xenib_err("resizing a shared receive queue (IBV_SRQ_MAX_WR) is not supported");
		return EOPNOTSUPP;
	}
	memset(&req, 0, sizeof(req));
	req.handle = ibsrq->handle;
	req.attr_mask = attr_mask;
	req.max_wr = attr->max_wr;
	req.srq_limit = attr->srq_limit;
	return xenib_cmd(to_xctx(ibsrq->context), XENIB_CMD_MODIFY_SRQ, &req,
			 sizeof(req), -1, &resp, sizeof(resp));
}

int xenib_query_srq(struct ibv_srq *ibsrq, struct ibv_srq_attr *attr)
{
	struct xenib_handle_req req;
	struct xenib_query_srq_resp resp;
	int err;

	memset(&req, 0, sizeof(req));
	req.handle = ibsrq->handle;
	err = xenib_cmd(to_xctx(ibsrq->context), XENIB_CMD_QUERY_SRQ, &req,
			sizeof(req), -1, &resp, sizeof(resp));
	if (err)
		return err;
	attr->max_wr = resp.max_wr;
	attr->max_sge = resp.max_sge;
	attr->srq_limit = resp.srq_limit;
	return 0;
}

int xenib_destroy_srq(struct ibv_srq *ibsrq)
{
	struct xenib_context *ctx = to_xctx(ibsrq->context);
	struct xenib_srq *srq = to_xsrq(ibsrq);
	int err;

	err = xenib_cmd_handle(ctx, XENIB_CMD_DESTROY_SRQ, ibsrq->handle);
	if (err)
		return err;	/* EBUSY while a QP uses it */
	pthread_mutex_lock(&ctx->obj_lock);
	list_del(&srq->ctx_link);
	pthread_mutex_unlock(&ctx->obj_lock);
	xenib_cmd_handle(ctx, XENIB_CMD_UNMAP_REGION, srq->region);
	xenib_qmem_free(ctx, &srq->shm, &srq->qmem);
	pthread_spin_destroy(&srq->wq.lock);
	free(srq);
	return 0;
}

int xenib_post_srq_recv(struct ibv_srq *ibsrq, struct ibv_recv_wr *wr,
			struct ibv_recv_wr **bad_wr)
{
	return xenib_wq_post_recv(ibsrq->context, &to_xsrq(ibsrq)->wq, wr,
				  bad_wr);
}

/* ------------------------------------------------------------------ */
/* XRC                                                                 */

/*
 * XRC domains live in the backend.  With a file (attr->fd != -1) the
 * domain is keyed by the file's device and inode: every process of this
 * guest opening the same file shares it (ibv_open_xrcd(3)); with fd -1 it
 * is a new private domain (O_CREAT required).
 */
struct ibv_xrcd *xenib_open_xrcd(struct ibv_context *ibctx,
				 struct ibv_xrcd_init_attr *attr)
{
	struct xenib_context *ctx = to_xctx(ibctx);
	struct xenib_open_xrcd_req req;
	struct xenib_handle_resp resp;
	int fd = -1, oflags = 0;
	struct xenib_xrcd *x;
	struct stat st;
	int err;

	if (attr->comp_mask & ~(uint32_t)(IBV_XRCD_INIT_ATTR_FD |
					  IBV_XRCD_INIT_ATTR_OFLAGS)) {
		xenib_err("ibv_open_xrcd: comp_mask 0x%x not supported",
			  attr->comp_mask);
		errno = EOPNOTSUPP;
		return NULL;
	}
	if (attr->comp_mask & IBV_XRCD_INIT_ATTR_FD)
		fd = attr->fd;
	if (attr->comp_mask & IBV_XRCD_INIT_ATTR_OFLAGS)
		oflags = attr->oflags;
	if (oflags & ~(O_CREAT | O_EXCL)) {
		errno = EINVAL;
		return NULL;
	}
	memset(&req, 0, sizeof(req));
	if (oflags & O_CREAT)
		req.flags |= XENIB_XRCD_CREAT;
	if (oflags & O_EXCL)
		req.flags |= XENIB_XRCD_EXCL;
	if (fd != -1) {
		if (fstat(fd, &st))
			return NULL;	/* errno from fstat */
		req.flags |= XENIB_XRCD_KEYED;
		req.dev = st.st_dev;
		req.ino = st.st_ino;
	}
	x = calloc(1, sizeof(*x));
	if (!x) {
		errno = ENOMEM;
		return NULL;
	}
	err = xenib_cmd(ctx, XENIB_CMD_OPEN_XRCD, &req, sizeof(req), -1,
			&resp, sizeof(resp));
	if (err) {
		free(x);
		errno = err;
		return NULL;
	}
	x->ibv_xrcd.context = ibctx;
	x->handle = resp.handle;
	xenib_dbg("open_xrcd handle %u", resp.handle);
	return &x->ibv_xrcd;
}

int xenib_close_xrcd(struct ibv_xrcd *ibxrcd)
{
	struct xenib_xrcd *x = to_xxrcd(ibxrcd);
	int err;

	err = xenib_cmd_handle(to_xctx(ibxrcd->context), XENIB_CMD_CLOSE_XRCD,
			       x->handle);
	if (err)
		return err;	/* EBUSY while an XRC SRQ or QP uses it */
	free(x);
	return 0;
}

int xenib_get_srq_num(struct ibv_srq *ibsrq, uint32_t *srq_num)
{
	*srq_num = ibsrq->handle;	/* the backend's handle is the number */
	return 0;
}

struct ibv_srq *xenib_create_srq_ex(struct ibv_context *ctx,
				    struct ibv_srq_init_attr_ex *attr)
{
	struct ibv_srq_init_attr basic;
	struct ibv_srq *srq;
	uint32_t type = IBV_SRQT_BASIC;
	uint32_t xrcd = XENIB_INVALID_HANDLE, cq = XENIB_INVALID_HANDLE;
	uint32_t known = IBV_SRQ_INIT_ATTR_TYPE | IBV_SRQ_INIT_ATTR_PD;

	if (attr->comp_mask & IBV_SRQ_INIT_ATTR_TYPE)
		type = attr->srq_type;
	if (type != IBV_SRQT_BASIC && type != IBV_SRQT_XRC) {
		xenib_err("ibv_create_srq_ex: SRQ type %u not supported",
			  type);
		errno = EOPNOTSUPP;
		return NULL;
	}
	if (type == IBV_SRQT_XRC)
		known |= IBV_SRQ_INIT_ATTR_XRCD | IBV_SRQ_INIT_ATTR_CQ;
	if (attr->comp_mask & ~known) {
		xenib_err("ibv_create_srq_ex: comp_mask 0x%x not supported",
			  attr->comp_mask);
		errno = EOPNOTSUPP;
		return NULL;
	}
	if (!(attr->comp_mask & IBV_SRQ_INIT_ATTR_PD) || !attr->pd ||
	    attr->pd->context != ctx) {
		errno = EINVAL;
		return NULL;
	}
	if (type == IBV_SRQT_XRC) {
		/* An XRC SRQ needs its domain and its completion queue. */
		if ((attr->comp_mask & (IBV_SRQ_INIT_ATTR_XRCD |
					IBV_SRQ_INIT_ATTR_CQ)) !=
		    (IBV_SRQ_INIT_ATTR_XRCD | IBV_SRQ_INIT_ATTR_CQ) ||
		    !attr->xrcd || attr->xrcd->context != ctx ||
		    !attr->cq || attr->cq->context != ctx) {
			errno = EINVAL;
			return NULL;
		}
		xrcd = to_xxrcd(attr->xrcd)->handle;
		cq = attr->cq->handle;
	}
	memset(&basic, 0, sizeof(basic));
	basic.srq_context = attr->srq_context;
	basic.attr = attr->attr;
	srq = srq_create(attr->pd, &basic, type, xrcd, cq);
	if (srq)
		attr->attr = basic.attr;
	return srq;
}
