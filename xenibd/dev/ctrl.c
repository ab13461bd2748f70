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
#include "xenibd/dev/dev.h"
#include "xenibd/transport/transport.h"
#include "xenibd/cm/cm_hook.h"

union xd_resp {
	struct xenib_ctrl_hdr hdr;
	struct xenib_hello_resp hello;
	struct xenib_handle_resp handle;
	struct xenib_reg_mr_resp mr;
	struct xenib_query_qp_resp qp;
	struct xenib_query_device_resp dev;
	struct xenib_query_port_resp port;
	struct xenib_query_srq_resp srq;
	struct xenib_alloc_mw_resp mw;
	struct xenib_import_resp import;
};

struct xd_cmd {
	const char *name;
	size_t req_len;		/* exact size; 0: variable (checked by handler) */
	bool takes_fd;
	/* Returns 0 or a positive errno; sets *resp_len for a body. */
	int (*fn)(struct xd_ctx *ctx, const void *req, size_t len, int *fd,
		  union xd_resp *resp, size_t *resp_len);
};

static void hello_resp(struct xd_ctx *ctx, union xd_resp *resp,
		       size_t *resp_len)
{
	resp->hello.abi_version = XENIB_ABI_VERSION;
	resp->hello.guest_id = ctx->guest->id;
	xd_guest_device(ctx->guest, &resp->hello.dev);
	xd_guest_port(ctx->guest, &resp->hello.port);
	*resp_len = sizeof(resp->hello);
}

/*
 * Every context holds the backend's resources (a control channel; in the
 * emulation an fd, whatever its objects): bound them per guest, verbs
 * contexts and rdma_cm event channels apart (a program opens one channel
 * per rsocket).  The context is already counted in the guest's nctx.
 */
static int count_ctx(struct xd_ctx *ctx, bool cm_channel)
{
	struct xd_guest *g = ctx->guest;

	if (cm_channel) {
		if (xd.cfg.max_cm_chans && g->ncm >= xd.cfg.max_cm_chans) {
			xd_ctx_log(ctx, "limit.cm_channels reached (%u open)",
				   g->ncm);
			return EDQUOT;
		}
		g->ncm++;
		ctx->cm_only = true;
		return 0;
	}
	if (xd.cfg.max_ctx && xd_guest_verbs_ctx(g) > xd.cfg.max_ctx) {
		xd_ctx_log(ctx, "limit.contexts reached (%u open)",
			   xd_guest_verbs_ctx(g) - 1);
		return EDQUOT;
	}
	return 0;
}

static int cmd_hello(struct xd_ctx *ctx, const void *req, size_t len, int *fd,
		     union xd_resp *resp, size_t *resp_len)
{
	const struct xenib_hello_req *h = req;
	char claimed[sizeof(h->guest_name)], name[sizeof(h->guest_name)];
	int err;

	if (h->abi_version != XENIB_ABI_VERSION)
		return EPROTONOSUPPORT;
	if (h->flags & ~XENIB_HELLO_CM_CHANNEL)
		return EINVAL;
	memcpy(claimed, h->guest_name, sizeof(claimed));
	claimed[sizeof(claimed) - 1] = 0;
	/* The transport says who the guest is (Xen: the domain). */
	err = ctx->tp->guest_name(ctx, claimed, name, sizeof(name));
	if (err)
		return err;
	if (!name[0])
		return EINVAL;
	err = xd_guest_attach(name, &ctx->guest);
	if (err)
		return err;
	/* Moving to another host: its contexts there, not here. */
	if (ctx->guest->outgoing) {
		xd_guest_put(ctx->guest);
		ctx->guest = NULL;
		return EBUSY;
	}
	/* On Xen the domain's are also bounded before HELLO (domains.c). */
	err = count_ctx(ctx, h->flags & XENIB_HELLO_CM_CHANNEL);
	if (err) {
		xd_guest_put(ctx->guest);
		ctx->guest = NULL;
		return err;
	}
	if (ctx->guest->ident_pending) {
		ctx->hello_pending = true;	/* answered by hello_done */
		return EINPROGRESS;
	}
	ctx->hello = true;
	hello_resp(ctx, resp, resp_len);
	return 0;
}

void xd_ctrl_hello_done(struct xd_ctx *ctx, int err)
{
	union xd_resp resp;
	size_t resp_len = sizeof(resp.hdr);

	memset(&resp, 0, sizeof(resp));
	ctx->hello_pending = false;
	if (err) {
		xd_ctx_log(ctx, "HELLO: no identity for guest %s: %s",
			   ctx->guest->name, strerror(err));
		xd_guest_put(ctx->guest);
		ctx->guest = NULL;
	} else {
		ctx->hello = true;
		hello_resp(ctx, &resp, &resp_len);
	}
	resp.hdr.opcode = XENIB_CMD_HELLO;
	resp.hdr.seq = ctx->hello_seq;
	resp.hdr.status = err;
	resp.hdr.length = resp_len;
	if (xd_ctx_reply(ctx, &resp, resp_len)) {
		xd_ctx_log(ctx, "cannot answer HELLO; closing its context");
		xd_ctx_destroy(ctx);
	}
}

static int cmd_map_region(struct xd_ctx *ctx, const void *req, size_t len,
			  int *fd, union xd_resp *resp, size_t *resp_len)
{
	int err = xd_region_map(ctx, req, fd, &resp->handle.handle);

	*resp_len = sizeof(resp->handle);
	return err;
}

static int cmd_bind_notify(struct xd_ctx *ctx, const void *req, size_t len,
			   int *fd, union xd_resp *resp, size_t *resp_len)
{
	int err = xd_notify_bind(ctx, req, fd, &resp->handle.handle);

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

static int cmd_mcast(struct xd_ctx *ctx, const void *req, size_t len,
		     int *fd, union xd_resp *resp, size_t *resp_len)
{
	const struct xenib_mcast_req *r = req;

	if (r->hdr.opcode == XENIB_CMD_ATTACH_MCAST)
		return xd_mcast_attach(ctx, r);
	return xd_mcast_detach(ctx, r);
}

static int cmd_open_xrcd(struct xd_ctx *ctx, const void *req, size_t len,
			 int *fd, union xd_resp *resp, size_t *resp_len)
{
	*resp_len = sizeof(resp->handle);
	return xd_xrcd_open(ctx, req, &resp->handle.handle);
}

static int cmd_rereg_mr(struct xd_ctx *ctx, const void *req, size_t len,
			int *fd, union xd_resp *resp, size_t *resp_len)
{
	uint32_t key = 0;
	int err = xd_mr_rereg(ctx, req, len, &key);

	resp->mr.lkey = key;
	resp->mr.rkey = key;
	*resp_len = sizeof(resp->mr);
	return err;
}

static int cmd_alloc_mw(struct xd_ctx *ctx, const void *req, size_t len,
			int *fd, union xd_resp *resp, size_t *resp_len)
{
	*resp_len = sizeof(resp->mw);
	return xd_mw_alloc(ctx, req, &resp->mw.handle, &resp->mw.rkey);
}

static int cmd_attach(struct xd_ctx *ctx, const void *req, size_t len,
		      int *fd, union xd_resp *resp, size_t *resp_len)
{
	return xd_share_attach(ctx, req, fd);
}

static int cmd_import(struct xd_ctx *ctx, const void *req, size_t len,
		      int *fd, union xd_resp *resp, size_t *resp_len)
{
	const struct xenib_import_req *r = req;

	if (r->hdr.opcode == XENIB_CMD_UNIMPORT)
		return xd_share_unimport(ctx, req);
	*resp_len = sizeof(resp->import);
	return xd_share_import(ctx, req, &resp->import);
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
	case XENIB_CMD_DEALLOC_MW:
		return xd_mw_dealloc(ctx, r->handle);
	}
	return EINVAL;
}

/*
 * The transport's own requests (RESUME_* of xenib-abi.h): only on a
 * transport that has them, in the phase it takes them (Xen: a context
 * taken over, before DONE).
 */
static int cmd_transport(struct xd_ctx *ctx, const void *req, size_t len,
			 int *fd, union xd_resp *resp, size_t *resp_len)
{
	if (!ctx->tp->request)
		return EINVAL;
	return ctx->tp->request(ctx, req, len, fd);
}

static bool is_transport_req(uint32_t opcode)
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
	[XENIB_CMD_RESUME_REGION] = { "RESUME_REGION", sizeof(struct xenib_resume_region_req), true, cmd_transport },
	[XENIB_CMD_RESUME_NOTIFY] = { "RESUME_NOTIFY", sizeof(struct xenib_resume_notify_req), true, cmd_transport },
	[XENIB_CMD_RESUME_DONE] = { "RESUME_DONE", sizeof(struct xenib_ctrl_hdr), false, cmd_transport },
	[XENIB_CMD_ATTACH_MCAST] = { "ATTACH_MCAST", sizeof(struct xenib_mcast_req), false, cmd_mcast },
	[XENIB_CMD_DETACH_MCAST] = { "DETACH_MCAST", sizeof(struct xenib_mcast_req), false, cmd_mcast },
	[XENIB_CMD_ALLOC_MW] = { "ALLOC_MW", sizeof(struct xenib_alloc_mw_req), false, cmd_alloc_mw },
	[XENIB_CMD_DEALLOC_MW] = { "DEALLOC_MW", HREQ, false, cmd_release },
	[XENIB_CMD_REREG_MR] = { "REREG_MR", 0, false, cmd_rereg_mr },
	[XENIB_CMD_ATTACH] = { "ATTACH", sizeof(struct xenib_attach_req), true, cmd_attach },
	[XENIB_CMD_IMPORT] = { "IMPORT", sizeof(struct xenib_import_req), false, cmd_import },
	[XENIB_CMD_UNIMPORT] = { "UNIMPORT", sizeof(struct xenib_import_req), false, cmd_import },
};

/* Check framing, order and size; 0 or errno. */
static int ctrl_check(struct xd_ctx *ctx, const struct xenib_ctrl_hdr *h,
		      ssize_t len, int fd, const struct xd_cmd **cmd)
{
	bool resumed = ctx->tp->request_phase && ctx->tp->request_phase(ctx);
	const struct xd_cmd *c;

	if (ctx->hello_pending)
		return EBUSY;	/* one request at a time, and HELLO waits */
	if (len == -EMSGSIZE)
		return EMSGSIZE;
	if ((size_t)len < sizeof(*h))
		return EINVAL;
	if (h->length != (size_t)len || h->status)
		return EINVAL;
	/* Bit 0: the guest's relay asks (RESUME_* on a resumed context). */
	if (h->flags && (h->flags != 1 || !is_transport_req(h->opcode) ||
			 !resumed))
		return EINVAL;
	if (h->opcode == 0 || h->opcode >= XENIB_CMD_MAX || !cmds[h->opcode].fn)
		return EINVAL;
	c = &cmds[h->opcode];
	*cmd = c;
	if (is_transport_req(h->opcode) != resumed)
		return resumed ? EBUSY : EPROTO;	/* frozen: RESUME_* only */
	if (!ctx->hello && h->opcode != XENIB_CMD_HELLO)
		return EPROTO;
	if (ctx->hello && h->opcode == XENIB_CMD_HELLO)
		return EPROTO;
	if (ctx->cm_only)
		return EPERM;	/* an event channel: rdma_cm requests only */
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

	if (xd_cm_opcode(h->opcode)) {	/* the connection manager's range */
		xd_cm_ctrl(ctx, msg, len, fd);
		return;
	}
	memset(&resp, 0, sizeof(resp));
	xd.stats.ctrl_msgs++;
	err = ctrl_check(ctx, h, len, fd, &cmd);
	if (!err)
		err = cmd->fn(ctx, msg, len, &fd, &resp, &resp_len);
	if (fd >= 0)
		close(fd);
	if (err == EINPROGRESS && ctx->hello_pending) {
		ctx->hello_seq = h->seq;	/* answered when it is known */
		return;
	}
	if (err == XD_NO_REPLY)
		return;		/* ATTACH: answered on its new channel */
	/* A release may have freed the last use of a zombie's PD or MR. */
	if (!err && ctx->share && cmd->fn == cmd_release)
		xd_share_reclaim(ctx);
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
