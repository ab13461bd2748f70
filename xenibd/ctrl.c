// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The control channel: validate one request, run it, answer it.
 *
 * Every request gets exactly one response carrying its seq and a status.
 * Anything malformed (size, flags, opcode, order, handles) gets an errno and
 * a log line; the guest can never make this code read past its message.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "util/hv.h"
#include "util/xenib_ring.h"
#include "xenibd/xenibd.h"
#include "xenibd/xen.h"

union xd_resp {
	struct xenib_ctrl_hdr hdr;
	struct xenib_hello_resp hello;
	struct xenib_handle_resp handle;
	struct xenib_reg_mr_resp mr;
	struct xenib_query_qp_resp qp;
	struct xenib_query_device_resp dev;
	struct xenib_query_port_resp port;
	struct xenib_query_srq_resp srq;
};

struct xd_cmd {
	const char *name;
	size_t req_len;		/* exact size; 0: variable (checked by handler) */
	bool takes_fd;
	/* Returns 0 or a positive errno; sets *resp_len for a body. */
	int (*fn)(struct xd_ctx *ctx, const void *req, size_t len, int *fd,
		  union xd_resp *resp, size_t *resp_len);
};

static int cmd_hello(struct xd_ctx *ctx, const void *req, size_t len, int *fd,
		     union xd_resp *resp, size_t *resp_len)
{
	const struct xenib_hello_req *h = req;
	char name[sizeof(h->guest_name)];

	if (h->abi_version != XENIB_ABI_VERSION)
		return EPROTONOSUPPORT;
	/* Xen: the guest is the domain, whatever the message says. */
	if (ctx->xen && ctx->xen->dom)
		strcpy(name, ctx->xen->dom->name);
	else if (ctx->xen)
		strcpy(name, "xen-test");
	else
		memcpy(name, h->guest_name, sizeof(name));
	name[sizeof(name) - 1] = 0;
	if (!name[0])
		return EINVAL;
	ctx->guest = xd_guest_get(name);
	if (!ctx->guest)
		return EUSERS;
	ctx->hello = true;
	resp->hello.abi_version = XENIB_ABI_VERSION;
	resp->hello.guest_id = ctx->guest->id;
	xd_guest_device(ctx->guest, &resp->hello.dev);
	xd_guest_port(ctx->guest, &resp->hello.port);
	*resp_len = sizeof(resp->hello);
	return 0;
}

static int cmd_map_region(struct xd_ctx *ctx, const void *req, size_t len,
			  int *fd, union xd_resp *resp, size_t *resp_len)
{
	const struct xenib_map_region_req *r = req;
	int err;

	if (ctx->xen)
		err = xd_region_map_grants(ctx, r->ref, r->offset, r->npages,
					   r->flags, &resp->handle.handle);
	else
		err = xd_region_map(ctx, *fd, r->offset, r->npages, r->flags,
				    &resp->handle.handle);
	if (!err)
		*fd = -1;	/* the region owns it now */
	*resp_len = sizeof(resp->handle);
	return err;
}

static int cmd_bind_notify(struct xd_ctx *ctx, const void *req, size_t len,
			   int *fd, union xd_resp *resp, size_t *resp_len)
{
	const struct xenib_bind_notify_req *r = req;
	int err;

	if (ctx->xen)
		err = xd_notify_bind_port(ctx, r->port, r->kind,
					  &resp->handle.handle);
	else
		err = xd_notify_bind(ctx, *fd, r->kind, &resp->handle.handle);
	if (!err)
		*fd = -1;
	*resp_len = sizeof(resp->handle);
	return err;
}

static int cmd_query_device(struct xd_ctx *ctx, const void *req, size_t len,
			    int *fd, union xd_resp *resp, size_t *resp_len)
{
	xd_guest_device(ctx->guest, &resp->dev.dev);
	*resp_len = sizeof(resp->dev);
	return 0;
}

static int cmd_query_port(struct xd_ctx *ctx, const void *req, size_t len,
			  int *fd, union xd_resp *resp, size_t *resp_len)
{
	const struct xenib_handle_req *r = req;

	if (r->handle != 1)
		return EINVAL;	/* port number */
	xd_guest_port(ctx->guest, &resp->port.port);
	*resp_len = sizeof(resp->port);
	return 0;
}

static int cmd_alloc_pd(struct xd_ctx *ctx, const void *req, size_t len,
			int *fd, union xd_resp *resp, size_t *resp_len)
{
	*resp_len = sizeof(resp->handle);
	return xd_pd_alloc(ctx, &resp->handle.handle);
}

static int cmd_reg_mr(struct xd_ctx *ctx, const void *req, size_t len,
		      int *fd, union xd_resp *resp, size_t *resp_len)
{
	uint32_t key = 0;
	int err = xd_mr_reg(ctx, req, len, &key);

	resp->mr.lkey = key;
	resp->mr.rkey = key;
	*resp_len = sizeof(resp->mr);
	return err;
}

static int cmd_create_cq(struct xd_ctx *ctx, const void *req, size_t len,
			 int *fd, union xd_resp *resp, size_t *resp_len)
{
	*resp_len = sizeof(resp->handle);
	return xd_cq_create(ctx, req, &resp->handle.handle);
}

static int cmd_resize_cq(struct xd_ctx *ctx, const void *req, size_t len,
			 int *fd, union xd_resp *resp, size_t *resp_len)
{
	return xd_cq_resize(ctx, req);
}

static int cmd_create_qp(struct xd_ctx *ctx, const void *req, size_t len,
			 int *fd, union xd_resp *resp, size_t *resp_len)
{
	*resp_len = sizeof(resp->handle);
	return xd_qp_create(ctx, req, &resp->handle.handle);
}

static int cmd_modify_qp(struct xd_ctx *ctx, const void *req, size_t len,
			 int *fd, union xd_resp *resp, size_t *resp_len)
{
	return xd_qp_modify(ctx, req);
}

static int cmd_query_qp(struct xd_ctx *ctx, const void *req, size_t len,
			int *fd, union xd_resp *resp, size_t *resp_len)
{
	const struct xenib_handle_req *r = req;

	*resp_len = sizeof(resp->qp);
	return xd_qp_query(ctx, r->handle, &resp->qp.attr);
}

static int cmd_create_srq(struct xd_ctx *ctx, const void *req, size_t len,
			  int *fd, union xd_resp *resp, size_t *resp_len)
{
	*resp_len = sizeof(resp->handle);
	return xd_srq_create(ctx, req, &resp->handle.handle);
}

static int cmd_modify_srq(struct xd_ctx *ctx, const void *req, size_t len,
			  int *fd, union xd_resp *resp, size_t *resp_len)
{
	return xd_srq_modify(ctx, req);
}

static int cmd_query_srq(struct xd_ctx *ctx, const void *req, size_t len,
			 int *fd, union xd_resp *resp, size_t *resp_len)
{
	const struct xenib_handle_req *r = req;

	*resp_len = sizeof(resp->srq);
	return xd_srq_query(ctx, r->handle, &resp->srq);
}

static int cmd_create_ah(struct xd_ctx *ctx, const void *req, size_t len,
			 int *fd, union xd_resp *resp, size_t *resp_len)
{
	*resp_len = sizeof(resp->handle);
	return xd_ah_create(ctx, req, &resp->handle.handle);
}

static int cmd_open_xrcd(struct xd_ctx *ctx, const void *req, size_t len,
			 int *fd, union xd_resp *resp, size_t *resp_len)
{
	*resp_len = sizeof(resp->handle);
	return xd_xrcd_open(ctx, req, &resp->handle.handle);
}

/* Requests that only name a handle to release. */
static int cmd_release(struct xd_ctx *ctx, const void *req, size_t len,
		       int *fd, union xd_resp *resp, size_t *resp_len)
{
	const struct xenib_handle_req *r = req;

	switch (r->hdr.opcode) {
	case XENIB_CMD_UNMAP_REGION:
		return xd_region_unmap(ctx, r->handle);
	case XENIB_CMD_UNBIND_NOTIFY:
		return xd_notify_unbind(ctx, r->handle);
	case XENIB_CMD_DEALLOC_PD:
		return xd_pd_dealloc(ctx, r->handle);
	case XENIB_CMD_DEREG_MR:
		return xd_mr_dereg(ctx, r->handle);
	case XENIB_CMD_DESTROY_CQ:
		return xd_cq_destroy(ctx, r->handle);
	case XENIB_CMD_DESTROY_QP:
		return xd_qp_destroy(ctx, r->handle);
	case XENIB_CMD_DESTROY_SRQ:
		return xd_srq_destroy(ctx, r->handle);
	case XENIB_CMD_DESTROY_AH:
		return xd_ah_destroy(ctx, r->handle);
	case XENIB_CMD_CLOSE_XRCD:
		return xd_xrcd_close(ctx, r->handle);
	}
	return EINVAL;
}

/* RESUME_* (xenib-abi.h): only on a context taken over, before DONE. */
static int cmd_resume(struct xd_ctx *ctx, const void *req, size_t len,
		      int *fd, union xd_resp *resp, size_t *resp_len)
{
	const struct xenib_ctrl_hdr *h = req;

	switch (h->opcode) {
	case XENIB_CMD_RESUME_REGION:
		return xd_resume_region(ctx, req);
	case XENIB_CMD_RESUME_NOTIFY:
		return xd_resume_notify(ctx, req);
	case XENIB_CMD_RESUME_DONE:
		return xd_resume_done(ctx);
	}
	return EINVAL;
}

static bool is_resume(uint32_t opcode)
{
	return opcode == XENIB_CMD_RESUME_REGION ||
	       opcode == XENIB_CMD_RESUME_NOTIFY ||
	       opcode == XENIB_CMD_RESUME_DONE;
}

#define HREQ sizeof(struct xenib_handle_req)

static const struct xd_cmd cmds[XENIB_CMD_MAX] = {
	[XENIB_CMD_HELLO] = { "HELLO", sizeof(struct xenib_hello_req), false, cmd_hello },
	[XENIB_CMD_MAP_REGION] = { "MAP_REGION", sizeof(struct xenib_map_region_req), true, cmd_map_region },
	[XENIB_CMD_UNMAP_REGION] = { "UNMAP_REGION", HREQ, false, cmd_release },
	[XENIB_CMD_BIND_NOTIFY] = { "BIND_NOTIFY", sizeof(struct xenib_bind_notify_req), true, cmd_bind_notify },
	[XENIB_CMD_UNBIND_NOTIFY] = { "UNBIND_NOTIFY", HREQ, false, cmd_release },
	[XENIB_CMD_QUERY_DEVICE] = { "QUERY_DEVICE", sizeof(struct xenib_ctrl_hdr), false, cmd_query_device },
	[XENIB_CMD_QUERY_PORT] = { "QUERY_PORT", HREQ, false, cmd_query_port },
	[XENIB_CMD_ALLOC_PD] = { "ALLOC_PD", sizeof(struct xenib_alloc_pd_req), false, cmd_alloc_pd },
	[XENIB_CMD_DEALLOC_PD] = { "DEALLOC_PD", HREQ, false, cmd_release },
	[XENIB_CMD_REG_MR] = { "REG_MR", 0, false, cmd_reg_mr },
	[XENIB_CMD_DEREG_MR] = { "DEREG_MR", HREQ, false, cmd_release },
	[XENIB_CMD_CREATE_CQ] = { "CREATE_CQ", sizeof(struct xenib_create_cq_req), false, cmd_create_cq },
	[XENIB_CMD_DESTROY_CQ] = { "DESTROY_CQ", HREQ, false, cmd_release },
	[XENIB_CMD_RESIZE_CQ] = { "RESIZE_CQ", sizeof(struct xenib_resize_cq_req), false, cmd_resize_cq },
	[XENIB_CMD_CREATE_QP] = { "CREATE_QP", sizeof(struct xenib_create_qp_req), false, cmd_create_qp },
	[XENIB_CMD_MODIFY_QP] = { "MODIFY_QP", sizeof(struct xenib_modify_qp_req), false, cmd_modify_qp },
	[XENIB_CMD_QUERY_QP] = { "QUERY_QP", HREQ, false, cmd_query_qp },
	[XENIB_CMD_DESTROY_QP] = { "DESTROY_QP", HREQ, false, cmd_release },
	[XENIB_CMD_CREATE_SRQ] = { "CREATE_SRQ", sizeof(struct xenib_create_srq_req), false, cmd_create_srq },
	[XENIB_CMD_MODIFY_SRQ] = { "MODIFY_SRQ", sizeof(struct xenib_modify_srq_req), false, cmd_modify_srq },
	[XENIB_CMD_QUERY_SRQ] = { "QUERY_SRQ", HREQ, false, cmd_query_srq },
	[XENIB_CMD_DESTROY_SRQ] = { "DESTROY_SRQ", HREQ, false, cmd_release },
	[XENIB_CMD_CREATE_AH] = { "CREATE_AH", sizeof(struct xenib_create_ah_req), false, cmd_create_ah },
	[XENIB_CMD_DESTROY_AH] = { "DESTROY_AH", HREQ, false, cmd_release },
	[XENIB_CMD_OPEN_XRCD] = { "OPEN_XRCD", sizeof(struct xenib_open_xrcd_req), false, cmd_open_xrcd },
	[XENIB_CMD_CLOSE_XRCD] = { "CLOSE_XRCD", HREQ, false, cmd_release },
	[XENIB_CMD_RESUME_REGION] = { "RESUME_REGION", sizeof(struct xenib_resume_region_req), false, cmd_resume },
	[XENIB_CMD_RESUME_NOTIFY] = { "RESUME_NOTIFY", sizeof(struct xenib_resume_notify_req), false, cmd_resume },
	[XENIB_CMD_RESUME_DONE] = { "RESUME_DONE", sizeof(struct xenib_ctrl_hdr), false, cmd_resume },
};

/* Check framing, order and size; 0 or errno. */
static int ctrl_check(struct xd_ctx *ctx, const struct xenib_ctrl_hdr *h,
		      ssize_t len, int fd, const struct xd_cmd **cmd)
{
	bool resumed = ctx->xen && ctx->xen->resumed;
	const struct xd_cmd *c;

	if (len == -EMSGSIZE)
		return EMSGSIZE;
	if ((size_t)len < sizeof(*h))
		return EINVAL;
	if (h->length != (size_t)len || h->status)
		return EINVAL;
	/* Bit 0: the guest's relay asks (RESUME_* on a resumed context). */
	if (h->flags && (h->flags != 1 || !is_resume(h->opcode) || !resumed))
		return EINVAL;
	if (h->opcode == 0 || h->opcode >= XENIB_CMD_MAX || !cmds[h->opcode].fn)
		return EINVAL;
	c = &cmds[h->opcode];
	*cmd = c;
	if (is_resume(h->opcode) != resumed)
		return resumed ? EBUSY : EPROTO;	/* frozen: RESUME_* only */
	if (!ctx->hello && h->opcode != XENIB_CMD_HELLO)
		return EPROTO;
	if (ctx->hello && h->opcode == XENIB_CMD_HELLO)
		return EPROTO;
	if (c->req_len && (size_t)len != c->req_len)
		return EINVAL;
	if (fd >= 0 && !c->takes_fd)
		return EINVAL;
	return 0;
}

void xd_ctrl_handle(struct xd_ctx *ctx, void *msg, ssize_t len, int fd)
{
	static const struct xenib_ctrl_hdr none;
	const struct xenib_ctrl_hdr *h = len >= (ssize_t)sizeof(none) ? msg : &none;
	const struct xd_cmd *cmd = NULL;
	union xd_resp resp;
	size_t resp_len = sizeof(resp.hdr);
	int err;

	memset(&resp, 0, sizeof(resp));
	xd.stats.ctrl_msgs++;
	err = ctrl_check(ctx, h, len, fd, &cmd);
	if (!err)
		err = cmd->fn(ctx, msg, len, &fd, &resp, &resp_len);
	if (fd >= 0)
		close(fd);
	if (err) {
		xd.stats.ctrl_errors++;
		xd_ctx_log(ctx, "%s (opcode %u, %zd bytes): %s",
			   cmd ? cmd->name : "bad request", h->opcode, len,
			   strerror(err));
	}
	resp.hdr.opcode = h->opcode;
	resp.hdr.seq = h->seq;
	resp.hdr.status = err;
	resp.hdr.length = resp_len;
	err = xd_ctx_reply(ctx, &resp, resp_len);
	if (err) {
		/* One request, one response: a guest that does not read is broken. */
		xd_ctx_log(ctx, "cannot answer (%s); closing its context",
			   strerror(err));
		xd_ctx_destroy(ctx);
	}
}
