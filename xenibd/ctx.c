// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Device contexts: one per guest control channel. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include "util/hv.h"
#include "util/xenib_ring.h"
#include "xenibd/xenibd.h"
#include "xenibd/loop.h"
#include "xenibd/xen.h"

void xd_ctx_accept(void)
{
	struct xd_ctx *ctx;
	int fd;

	fd = accept4(xd.listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx || xd_loop_watch(fd, XD_EV_CTX, ctx)) {
		xd_log("cannot accept a context: %s", strerror(errno));
		free(ctx);
		close(fd);
		return;
	}
	ctx->sock = fd;
	hv_emu_peer_pid(fd, &ctx->pid);
	list_add_tail(&xd.ctxs, &ctx->link);
	xd.stats.contexts++;
	xd_dbg("context from pid %d", (int)ctx->pid);
}

void xd_ctx_readable(struct xd_ctx *ctx)
{
	union {
		struct xenib_ctrl_hdr hdr;
		char buf[XENIB_CTRL_MAX_MSG];
	} msg;
	ssize_t n;
	int fd;

	n = hv_msg_recv(ctx->sock, msg.buf, sizeof(msg.buf), &fd);
	if (n == -EAGAIN)
		return;
	if (n == 0 || (n < 0 && n != -EMSGSIZE)) {
		xd_dbg("context of pid %d closed", (int)ctx->pid);
		xd_ctx_destroy(ctx);
		return;
	}
	xd_ctrl_handle(ctx, msg.buf, n, fd);
}

/* Free every object of table t that belongs to ctx. */
#define FREE_OWNED(t, type, freefn)                                        \
	do {                                                               \
		uint32_t _i;                                               \
		for (_i = 1; _i < (t)->size; _i++) {                       \
			type *_o = (type *)(t)->slot[_i];                  \
			if (_o && _o->ctx == ctx)                          \
				freefn(_o);                                \
		}                                                          \
	} while (0)

void xd_ctx_destroy(struct xd_ctx *ctx)
{
	/* Dependents first: QPs hold CQs, PDs and regions; MRs hold regions. */
	FREE_OWNED(&xd.qpt, struct xd_qp, xd_qp_free);
	FREE_OWNED(&xd.srqs, struct xd_srq, xd_srq_free);	/* after QPs */
	FREE_OWNED(&xd.xrcds, struct xd_xrcd, xd_xrcd_free);	/* after both */
	FREE_OWNED(&xd.ahs, struct xd_ah, xd_ah_free);		/* hold PDs */
	FREE_OWNED(&xd.cqs, struct xd_cq, xd_cq_free);
	FREE_OWNED(&xd.mrs, struct xd_mr, xd_mr_free);
	FREE_OWNED(&xd.pds, struct xd_pd, xd_pd_free);
	FREE_OWNED(&xd.notifies, struct xd_notify, xd_notify_free);
	FREE_OWNED(&xd.regions, struct xd_region, xd_region_free);
	if (ctx->nobj)
		xd_log("BUG: context of pid %d leaks %u objects",
		       (int)ctx->pid, ctx->nobj);
	if (ctx->log_dropped)
		xd_log("context of pid %d closed; %u more messages suppressed",
		       (int)ctx->pid, ctx->log_dropped);
	if (ctx->xen)
		xd_xen_ctx_release(ctx);
	if (ctx->sock >= 0) {
		xd_loop_unwatch(ctx->sock);
		close(ctx->sock);
	}
	list_del(&ctx->link);
	xd_guest_put(ctx->guest);
	xd.stats.contexts--;
	free(ctx);
}

int xd_ctx_reply(struct xd_ctx *ctx, const void *resp, size_t len)
{
	if (ctx->xen)
		return xd_xen_reply(ctx, resp, len);
	return hv_msg_send(ctx->sock, resp, len, -1);
}

void xd_ctx_post_async(struct xd_ctx *ctx, uint32_t type, uint32_t handle)
{
	struct xenib_ctx_page *p = ctx->page;
	struct xenib_async_event *ev;
	uint32_t cons;

	if (!p || ctx->frozen)	/* frozen: the page is not mapped */
		return;
	cons = xr_load_acquire(&p->async_cons);	/* guest consumes */
	if (ctx->async_prod - cons >= XENIB_ASYNC_RING) {
		xd_ctx_log(ctx, "async event ring full, event %u dropped", type);
		return;
	}
	ev = &p->async_ev[ctx->async_prod & (XENIB_ASYNC_RING - 1)];
	ev->event_type = type;
	ev->handle = handle;
	/* We produce async events: publish the entry. */
	xr_store_release(&p->async_prod, ++ctx->async_prod);
	if (ctx->async)
		xd_notify_signal(ctx->async);
}
