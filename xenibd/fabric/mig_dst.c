// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * A migration's destination (docs/migration.md, steps 4-6): take the
 * snapshot in, check it, check the guest's identity against the
 * directory (a source may lie about whose snapshot it sends), adopt it
 * (migrate/adopt.c), commit loc/<lid> with a compare on the revision the
 * source named, and answer.  What was committed is remembered for a while
 * so that a source whose answer was lost can ask again (MIG_QUERY).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xenibd/fabric/fint.h"
#include "xenibd/migrate/snap.h"
#include "xenibd/transport/transport.h"

#define XF_MIG_INCOMING		8	/* handovers in progress at once */
#define XF_MIG_REMEMBER		64	/* committed ones kept for QUERY */

struct xm_in {
	struct xf_host *h;	/* the source */
	struct xf_mig_offer o;
	uint8_t *buf;		/* the snapshot, landing */
	struct xm_snap *snap;
	const struct xd_transport *tp;
	struct xd_guest *g;
	struct list_node link;
};

static struct list_node ins = LIST_INIT(ins);
static unsigned int nins;

static struct {
	uint32_t hid, xid;
	uint16_t lid;
	bool resuming;		/* the source waits for MIG_RESUMED */
	char addr[108];
} committed[XF_MIG_REMEMBER];
static unsigned int next_committed;

int xf_mig_send_answer(struct xf_host *h, uint8_t kind, uint16_t lid,
		       uint32_t xid, int status, const char *addr)
{
	struct xw_peer *peer = xf_host_peer(h);
	struct xf_mig_answer a = {
		.h = { XF_MAGIC, XF_VERSION, kind, sizeof(a) },
		.lid = lid, .xid = xid, .status = status,
	};
	int err;

	if (!peer)
		return ENOTCONN;
	snprintf(a.addr, sizeof(a.addr), "%s", addr ? addr : "");
	err = xw_send(peer, &a, sizeof(a), NULL, 0, 0, NULL, NULL);
	return err < 0 ? -err : 0;
}

static void in_free(struct xm_in *in)
{
	list_del(&in->link);
	nins--;
	free(in->buf);
	xm_snap_free(in->snap);
	free(in);
}

static void refuse(struct xm_in *in, int err, const char *why)
{
	xd_log("migration: guest %s from %s refused: %s", in->o.name,
	       in->h->id, why);
	xf_mig_send_answer(in->h, XF_MIG_ANSWER, in->o.lid, in->o.xid, err,
			   NULL);
	if (in->g)
		xm_adopt_cancel(in->g);
	in_free(in);
}

static void committed_cb(struct xdir *d, int err, const char *msg,
			 const struct xdir_loc *l, void *arg)
{
	struct xm_in *in = arg;
	const char *addr = in->tp->addr ? in->tp->addr() : "";
	unsigned int i;

	if (err) {
		refuse(in, err == ESTALE ? ESTALE : err, msg);
		return;
	}
	i = next_committed++ % XF_MIG_REMEMBER;
	committed[i].hid = in->h->hid;
	committed[i].xid = in->o.xid;
	committed[i].lid = in->o.lid;
	committed[i].resuming = true;
	snprintf(committed[i].addr, sizeof(committed[i].addr), "%s", addr);
	xm_tombstone_clear(in->o.lid);
	xd_log("migration: guest %s (LID %u) from %s committed here",
	       in->o.name, in->o.lid, in->h->id);
	xf_mig_send_answer(in->h, XF_MIG_ANSWER, in->o.lid, in->o.xid, 0,
			   addr);
	in->g = NULL;		/* adopted: its contexts wait for it */
	in_free(in);
}

static void identified(struct xdir *d, int err, const char *msg,
		       const struct xdir_ident *id, void *arg)
{
	struct xm_in *in = arg;
	struct xm_snap *s = in->snap;

	if (err) {
		refuse(in, err, msg);
		return;
	}
	if (id->lid != in->o.lid || id->guid != s->hdr->guid) {
		refuse(in, EPERM, "its identity is not the directory's");
		return;
	}
	in->snap = NULL;	/* the adoption owns it from here */
	err = xm_adopt_guest(s, in->tp,
			     (uint64_t)xd.cfg.resume_timeout * 1000000000ull,
			     &in->g);
	if (err) {
		in->g = NULL;
		refuse(in, err, strerror(err));
		return;
	}
	err = xdir_loc_claim(xf.dir, in->o.lid, in->o.loc_rev, in->o.loc_gen,
			     committed_cb, in);
	if (err)
		refuse(in, err, "cannot commit its location");
}

static void landed(void *arg, int status, size_t len)
{
	struct xm_in *in = arg;
	char uuid[XDIR_UUID_LEN + 1];
	const char *why;
	int err;

	xd.now_ns = xd_now_ns();
	if (status || len != in->o.snap_len) {
		refuse(in, EIO, "its snapshot did not arrive");
		return;
	}
	err = xm_snap_parse(in->buf, len, &in->snap, &why);
	in->buf = NULL;		/* parse owns it, whatever the outcome */
	if (err) {
		refuse(in, err, why);
		return;
	}
	if (strcmp(in->snap->hdr->name, in->o.name) ||
	    in->snap->hdr->lid != in->o.lid) {
		refuse(in, EBADMSG, "the snapshot is another guest's");
		return;
	}
	xf_uuid_of(in->o.name, uuid);
	err = xdir_guest_identity(xf.dir, uuid, identified, in);
	if (err)
		refuse(in, err, "cannot ask the directory");
}

void xf_mig_dst_offer(struct xf_host *h, const struct xf_mig_offer *o,
		      struct xw_rx *rx)
{
	struct xm_in *in;
	struct iovec iov;

	if (nins >= XF_MIG_INCOMING) {
		xw_rx_drop(rx);
		xf_mig_send_answer(h, XF_MIG_ANSWER, o->lid, o->xid, EBUSY,
				   NULL);
		return;
	}
	in = calloc(1, sizeof(*in));
	if (in)
		in->buf = malloc(o->snap_len);
	if (!in || !in->buf) {
		free(in);
		xw_rx_drop(rx);
		xf_mig_send_answer(h, XF_MIG_ANSWER, o->lid, o->xid, ENOMEM,
				   NULL);
		return;
	}
	in->h = h;
	in->o = *o;
	list_add_tail(&ins, &in->link);
	nins++;
	in->tp = xd_transport_by_name(o->transport);
	if (!in->tp || !in->tp->adopt) {
		xw_rx_drop(rx);
		refuse(in, EOPNOTSUPP, "its transport cannot adopt guests here");
		return;
	}
	if (!xw_rx_is_rndv(rx)) {
		memcpy(in->buf, xw_rx_data(rx), o->snap_len);
		xw_rx_drop(rx);
		landed(in, 0, o->snap_len);
		return;
	}
	iov.iov_base = in->buf;
	iov.iov_len = o->snap_len;
	if (xw_rx_into(rx, &iov, 1, landed, in)) {
		xw_rx_drop(rx);
		refuse(in, EIO, "cannot take its snapshot in");
	}
}

void xf_mig_dst_query(struct xf_host *h, const struct xf_mig_answer *q)
{
	unsigned int i;

	for (i = 0; i < XF_MIG_REMEMBER; i++)
		if (committed[i].hid == h->hid && committed[i].xid == q->xid &&
		    committed[i].lid == q->lid) {
			xf_mig_send_answer(h, XF_MIG_ANSWER, q->lid, q->xid, 0,
					   committed[i].addr);
			return;
		}
	/* Not (yet) committed here: the source keeps asking or fences. */
}

void xf_mig_dst_resumed(struct xd_ctx *ctx)
{
	struct xd_guest *g = ctx->guest;
	struct xf_host *h;
	unsigned int i;

	if (!g || g->incoming)
		return;		/* another of its contexts is still coming */
	for (i = 0; i < XF_MIG_REMEMBER; i++) {
		if (!committed[i].resuming || committed[i].lid != g->lid)
			continue;
		committed[i].resuming = false;
		h = xf_host_by_hid(committed[i].hid);
		if (h)
			xf_mig_send_answer(h, XF_MIG_RESUMED, g->lid,
					   committed[i].xid, 0, NULL);
	}
}

void xf_mig_recv(struct xf_host *h, const void *hdr, size_t hdr_len,
		 struct xw_rx *rx)
{
	int kind = xf_kind(hdr, hdr_len);

	if (kind == XF_MIG_OFFER) {
		if (xf_check_mig_offer(hdr, hdr_len, xw_rx_len(rx)) ||
		    !xf.dir) {
			xf.wire_errors++;
			xf_log_rl("host %s: malformed offer dropped", h->id);
			xw_rx_drop(rx);
			return;
		}
		xf_mig_dst_offer(h, hdr, rx);
		return;
	}
	if (xf_check_mig_answer(hdr, hdr_len, xw_rx_len(rx))) {
		xw_rx_drop(rx);
		xf.wire_errors++;
		xf_log_rl("host %s: malformed migration message dropped",
			  h->id);
		return;
	}
	xw_rx_drop(rx);
	if (kind == XF_MIG_ANSWER)
		xf_mig_src_answer(h, hdr);
	else if (kind == XF_MIG_RESUMED)
		xf_mig_src_resumed(h, hdr);
	else
		xf_mig_dst_query(h, hdr);
}
