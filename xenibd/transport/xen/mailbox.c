// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * A Xen context's control channel: a mailbox in three pages the guest
 * granted (header, request, response) and an event channel each way
 * (xenib-abi.h, "Real Xen transport").  One request at a time; the last
 * answer is kept, so that a request the guest repeats after a resume is
 * answered again, never executed twice.  Everything in the mailbox is
 * guest-controlled: a request is copied out before it is looked at.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "util/xenib_ring.h"
#include "xenibd/transport/xen/xen.h"

struct list_node xd_xen_ctxs = LIST_INIT(xd_xen_ctxs);
bool xd_xen_live;		/* connected contexts: scan frontend_alive */
static uint32_t next_ctx_id;

static struct xenib_xen_mbox *mbox_hdr(struct xd_xen_ctx *xc)
{
	return xc->mbox.va;
}

void xd_xen_new_token(struct xd_xen_ctx *xc)
{
	xc->id = ++next_ctx_id;
	if (getrandom(&xc->secret, sizeof(xc->secret), 0) !=
	    sizeof(xc->secret))
		xc->secret = xd_now_ns() ^ ((uint64_t)xc->id << 32);
}

void xd_xen_token(const struct xd_ctx *ctx, char *buf, size_t len)
{
	const struct xd_xen_ctx *xc = container_of(ctx, struct xd_xen_ctx,
						   ctx);

	snprintf(buf, len, "%08x%016llx", xc->id,
		 (unsigned long long)xc->secret);
}

int xd_xen_ctx_new(struct xd_xdom *dom, uint32_t domid, uint32_t k,
		   const uint32_t refs[3], uint32_t port, struct xd_ctx **out)
{
	struct xd_xen_ctx *xc;
	int lp, err;

	if (!port || port >= XD_XEN_MAX_PORT)
		return EINVAL;
	/* The mailbox is charged backend-wide for the context's life. */
	err = xd_map_check(1, XENIB_MBOX_PAGES);
	if (err)
		return err;
	xc = calloc(1, sizeof(*xc));
	if (!xc)
		return ENOMEM;
	err = xd_hv->map(domid, refs, XENIB_MBOX_PAGES, NULL, true, &xc->mbox);
	if (err)
		goto fail;
	lp = xd_hv->bind(domid, port);
	if (lp <= 0) {
		err = lp < 0 ? -lp : EINVAL;
		goto fail_unmap;
	}
	xc->ctrl_port = lp;
	err = xd_xen_port_ctrl(lp, &xc->ctx);
	if (err)
		goto fail_unbind;
	/* If we die, the guest's kernel learns it: byte cleared, port kicked. */
	err = xd_hv->unmap_notify(&xc->mbox, XENIB_MBOX_BACK_ALIVE_OFF, lp);
	if (err)
		goto fail_port;
	__atomic_store_n(&mbox_hdr(xc)->backend_alive, 1, __ATOMIC_RELEASE);
	xd_xen_live = true;
	xc->dom = dom;
	xc->domid = domid;
	xc->k = k;
	xd_xen_new_token(xc);
	xd_ctx_init(&xc->ctx, &xd_xen_transport);
	list_add_tail(&xd_xen_ctxs, &xc->xlink);
	if (dom)
		dom->nctx++;
	xd_map_account(1, XENIB_MBOX_PAGES);
	*out = &xc->ctx;
	return 0;
fail_port:
	xd_xen_port_clear(lp);
fail_unbind:
	xd_hv->unbind(lp);
fail_unmap:
	xd_hv->unmap(&xc->mbox, false);
fail:
	free(xc);
	return err;
}

static void xen_release(struct xd_ctx *ctx)
{
	struct xd_xen_ctx *xc = xd_xen_of(ctx);

	xd_xen_ctx_unfreeze_count(ctx);
	/* Unmapping fires the unmap notification: the guest sees us go. */
	if (xc->mbox.va)
		xd_hv->unmap(&xc->mbox, false);
	if (xc->ctrl_port) {
		xd_xen_port_clear(xc->ctrl_port);
		xd_hv->unbind(xc->ctrl_port);
	}
	if (xc->dom) {
		/* An orphan's ctx/K nodes went with its old domain. */
		if (!xc->orphan) {
			xd_xen_be_ctx_write(xc->dom, xc->k, "state", "6");
			xd_xen_ctx_nodes_rm(xc->dom, xc->k);
		}
		xc->dom->nctx--;
	}
	list_del(&xc->xlink);
	xd_map_account(-1, -(int64_t)XENIB_MBOX_PAGES);
	free(xc);
}

/* Write the stored response into the mailbox and tell the guest. */
static void mbox_put_resp(struct xd_xen_ctx *xc)
{
	struct xenib_xen_mbox *mb = mbox_hdr(xc);

	if (!mb)
		return;
	memcpy((char *)mb + 2 * XENIB_PAGE_SIZE, xc->last, xc->last_len);
	xr_store_relaxed(&mb->resp_len, xc->last_len);
	xr_store_release(&mb->resp_seq, xc->last_seq);
	xd_hv->notify(xc->ctrl_port);
}

static int xen_reply(struct xd_ctx *ctx, const void *resp, size_t len)
{
	struct xd_xen_ctx *xc = xd_xen_of(ctx);
	struct xenib_xen_mbox *mb = mbox_hdr(xc);

	if (len > sizeof(xc->last))
		return EMSGSIZE;
	if (xc->cur_relay) {
		/*
		 * The guest's relay asked (RESUME_*), not the provider: the
		 * stored answer stays the provider's last one, so that its
		 * request in flight at the suspend, sent again with its seq,
		 * is answered from it (xenib-abi.h, RESUME).
		 */
		if (!mb)
			return 0;
		memcpy((char *)mb + 2 * XENIB_PAGE_SIZE, resp, len);
		xr_store_relaxed(&mb->resp_len, len);
		xr_store_release(&mb->resp_seq, xc->cur_seq);
		xd_hv->notify(xc->ctrl_port);
		return 0;
	}
	memcpy(xc->last, resp, len);
	xc->last_len = len;
	xc->last_seq = xc->cur_seq;
	xc->have_last = true;
	mbox_put_resp(xc);
	return 0;
}

/*
 * The guest's unmap notification only clears frontend_alive: an
 * event-channel port named in it would not survive a save/restore (see
 * util/xen/grant.c), so the mailbox event and the periodic scan of
 * xd_xen_tick() both look here.
 */
bool xd_xen_front_gone(struct xd_ctx *ctx)
{
	struct xd_xen_ctx *xc = xd_xen_of(ctx);

	if (__atomic_load_n(&mbox_hdr(xc)->frontend_alive, __ATOMIC_ACQUIRE)) {
		xc->front_seen = true;
		return false;
	}
	if (!xc->front_seen)
		return false;
	xd_dbg("domain %u: context %u: frontend gone", xc->domid, xc->k);
	xd_ctx_destroy(ctx);
	return true;
}

/*
 * A request is pending when req_seq differs from resp_seq.  The one we
 * answered last (same seq) gets the stored answer again, never a second
 * execution: after a resume the guest repeats what it did not see answered.
 */
void xd_xen_mbox_event(struct xd_ctx *ctx)
{
	struct xd_xen_ctx *xc = xd_xen_of(ctx);
	struct xenib_xen_mbox *mb = mbox_hdr(xc);
	union {
		struct xenib_ctrl_hdr hdr;
		char buf[XENIB_CTRL_MAX_MSG];
	} msg;
	uint32_t seq, len;
	ssize_t n;

	if (!mb)
		return;
	if (xd_xen_front_gone(ctx))
		return;
	seq = xr_load_acquire(&mb->req_seq);
	if (seq == xr_load_relaxed(&mb->resp_seq))
		return;
	if (xc->have_last && seq == xc->last_seq) {
		mbox_put_resp(xc);
		return;
	}
	len = xr_load_relaxed(&mb->req_len);
	if (len > XENIB_CTRL_MAX_MSG) {
		n = -EMSGSIZE;
	} else {
		memcpy(msg.buf, (char *)mb + XENIB_PAGE_SIZE, len);
		n = len;
	}
	xc->cur_seq = seq;
	/*
	 * Judged on our copy; ctrl.c checks that only RESUME_* carry it.
	 * Until RESUME_DONE nothing the provider may repeat is executed, so
	 * no answer then replaces the stored one.
	 */
	xc->cur_relay = xc->resumed ||
			(n >= (ssize_t)sizeof(msg.hdr) && (msg.hdr.flags & 1));
	xd_ctrl_handle(ctx, msg.buf, n, -1);
}

/* The guest is its domain, whatever the message says. */
static int xen_guest_name(struct xd_ctx *ctx, const char *claimed, char *name,
			  size_t len)
{
	struct xd_xen_ctx *xc = xd_xen_of(ctx);

	snprintf(name, len, "%s", xc->dom ? xc->dom->name : "xen-test");
	return 0;
}

static void xen_describe(const struct xd_ctx *ctx, char *buf, size_t len)
{
	const struct xd_xen_ctx *xc = container_of(ctx, struct xd_xen_ctx,
						   ctx);

	snprintf(buf, len, "domain %u ctx %u", xc->domid, xc->k);
}

/* RESUME_* only on a context taken over, before RESUME_DONE. */
static bool xen_request_phase(const struct xd_ctx *ctx)
{
	return container_of(ctx, struct xd_xen_ctx, ctx)->resumed;
}

const struct xd_transport xd_xen_transport = {
	.name = "xen",
	.guest_name = xen_guest_name,
	.reply = xen_reply,
	.describe = xen_describe,
	.release = xen_release,
	.region_map = xd_xen_region_map,
	.region_free = xd_xen_region_free,
	.segment_map = xd_xen_segment_map,
	.segment_unmap = xd_xen_segment_unmap,
	.notify_bind = xd_xen_notify_bind,
	.notify_signal = xd_xen_notify_signal,
	.notify_free = xd_xen_notify_free,
	.request = xd_xen_request,
	.request_phase = xen_request_phase,
};
