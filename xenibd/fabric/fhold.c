// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Answers that cannot be given to their requester QP yet, in the order
 * their headers arrived.
 *
 * A READ response whose payload comes by rendezvous lands later, and the
 * wire does not order that landing with the messages after it (wire.h):
 * the ACK of a later request may be received before the READ's data is
 * here.  Answers are cumulative, so that ACK given at once would complete
 * the READ without its data.  So a landing READ response holds its place
 * here, and the answers after it for the same QP wait behind it; once it
 * has landed it is given (data, then ACK) and so are they.  If it fails,
 * it is lost, and so are the answers behind it (the requester's transport
 * timer sends the READ and what followed it again; the responder answers
 * duplicates again).
 *
 * A suspended Xen guest's memory is out of reach (its grants are
 * unmapped; the placeholders fault), but other hosts' answers to its
 * requests keep coming: taking one completes WQEs (the SQ's consumer
 * index, the CQ), writes READ data and atomic results into its buffers.
 * So every answer for a frozen guest's QP waits here too, with its data,
 * until the guest thaws; it is then given before any later answer for the
 * QP (xf_hold_wanted), or by the loop's xd_fabric_poll (xf_hold_run).
 *
 * A reset or destroyed QP's answers go (a landing one when it has landed:
 * the wire writes into it until then).  Bounded: another host may send
 * any number of answers, so beyond XF_HELD_MAX of them, or XF_HELD_BYTES
 * of copied READ data (landing ones count in the fabric's bounce bytes),
 * one is dropped and the requester's timer sends its request again (a UC
 * or UD request's answer timeout completes it as sent).
 */
#include <stdlib.h>
#include <string.h>

#include "xenibd/fabric/fint.h"

#define XF_HELD_MAX	4096
#define XF_HELD_BYTES	(64ull << 20)

struct xf_held {
	struct list_node link;	/* on helds; off it once orphaned */
	uint16_t lid;		/* the requester QP, as requester() finds it */
	uint32_t qpn, epoch, seq;
	struct xd_answer ans;
	bool read;		/* READ data: len bytes */
	bool landing;		/* the data is still coming: later ones wait */
	bool orphan;		/* its QP went while it was landing */
	uint32_t len;
	char data[];
};

static struct list_node helds = LIST_INIT(helds);
static unsigned int nheld, norphans;
static uint64_t held_bytes;	/* copied READ data (not landing ones) */

/* Incarnations are unique (engine.c), and the only name left when the
 * gone hook runs (the QP's handle is released by then). */
static bool is_of(const struct xf_held *h, const struct xd_qp *qp)
{
	return h->epoch == qp->eng->tx_epoch;
}

static void held_free(struct xf_held *h)
{
	if (h->orphan) {
		norphans--;
	} else {
		list_del(&h->link);
		nheld--;
	}
	if (h->landing || h->orphan)
		xf_bounce_put(h->len);
	else
		held_bytes -= h->len;
	free(h);
}

/* Gone with its QP (a landing one once it has landed). */
static void held_drop(struct xf_held *h)
{
	if (!h->landing) {
		held_free(h);
		return;
	}
	list_del(&h->link);
	nheld--;
	h->orphan = true;
	norphans++;
}

static struct xf_held *held_new(struct xd_qp *qp, uint32_t seq,
				const struct xd_answer *ans, uint32_t len,
				bool read)
{
	struct xf_held *h = malloc(sizeof(*h) + len);

	if (!h)
		return NULL;
	memset(h, 0, sizeof(*h));
	h->lid = qp->ctx->guest->lid;
	h->qpn = qp->h.id;
	h->epoch = qp->eng->tx_epoch;
	h->seq = seq;
	h->ans = *ans;
	h->read = read;
	h->len = len;
	list_add_tail(&helds, &h->link);
	nheld++;
	return h;
}

/* Give what waits for qp (not frozen), in order, up to a landing one;
 * whether anything was given. */
static bool replay(struct xd_qp *qp)
{
	struct list_node *pos, *tmp;
	bool any = false;

	list_for_each_safe(pos, tmp, &helds) {
		struct xf_held *h = list_entry(pos, struct xf_held, link);

		if (!is_of(h, qp))
			continue;
		if (h->landing)
			break;
		/* Giving one frees no other: nothing here is re-entered. */
		xf_answer_apply(qp, h->seq, &h->ans, h->data, h->len, h->read);
		held_free(h);
		any = true;
	}
	return any;
}

static bool waits(const struct xd_qp *qp)
{
	struct list_node *pos, *tmp;

	list_for_each_safe(pos, tmp, &helds)
		if (is_of(list_entry(pos, struct xf_held, link), qp))
			return true;
	return false;
}

bool xf_hold_wanted(struct xd_qp *qp)
{
	if (qp->ctx->frozen)
		return true;
	replay(qp);
	return waits(qp);
}

static bool read_waited(struct xd_qp *qp, uint32_t seq, uint32_t len)
{
	struct xd_sgl dst;

	return xd_req_read_dest(qp, seq, len, &dst) && dst.total == len;
}

void xf_hold(struct xd_qp *qp, uint32_t seq, const struct xd_answer *ans,
	     const char *data, uint32_t len, bool read)
{
	struct xf_held *h;

	if (nheld >= XF_HELD_MAX || held_bytes + len > XF_HELD_BYTES)
		return;		/* sent again after the thaw */
	/* READ data no request waits for is not worth keeping. */
	if (read && !read_waited(qp, seq, len))
		return;
	h = held_new(qp, seq, ans, len, read);
	if (!h)
		return;
	if (len)
		memcpy(h->data, data, len);
	held_bytes += len;
}

struct xf_held *xf_hold_landing(struct xd_qp *qp, uint32_t seq, uint32_t len)
{
	static const struct xd_answer ack = { .ack = XD_ACK };
	struct xf_held *h;

	if (nheld >= XF_HELD_MAX || !read_waited(qp, seq, len) ||
	    !xf_bounce_get(len))
		return NULL;	/* the READ times out and is sent again */
	h = held_new(qp, seq, &ack, len, true);
	if (!h) {
		xf_bounce_put(len);
		return NULL;
	}
	h->landing = true;
	return h;
}

void *xf_held_data(struct xf_held *h)
{
	return h->data;
}

void xf_hold_landed(struct xf_held *h, bool ok)
{
	uint32_t epoch = h->epoch;
	struct list_node *pos, *tmp;
	struct xd_qp *qp;
	bool after = false;

	if (h->orphan) {
		held_free(h);
		return;
	}
	if (ok) {
		/* Its bytes now count as a held copy's would. */
		h->landing = false;
		xf_bounce_put(h->len);
		held_bytes += h->len;
		qp = xd_qp_find(h->lid, h->qpn);
		if (qp && qp->eng && is_of(h, qp) && !qp->ctx->frozen)
			replay(qp);
		return;
	}
	/* Lost: and so is every answer behind it for its QP. */
	list_for_each_safe(pos, tmp, &helds) {
		struct xf_held *o = list_entry(pos, struct xf_held, link);

		if (o == h)
			after = true;
		if (!after || o->epoch != epoch)
			continue;
		if (o == h || !o->landing)
			held_free(o);
		else
			held_drop(o);	/* landing still: freed when done */
	}
}

void xf_hold_run(void)
{
	struct list_node *pos, *tmp;

again:
	list_for_each_safe(pos, tmp, &helds) {
		struct xf_held *h = list_entry(pos, struct xf_held, link);
		struct xd_qp *qp = xd_qp_find(h->lid, h->qpn);

		if (!qp || !qp->eng || !is_of(h, qp)) {
			held_drop(h);	/* its QP is gone or was reset */
			continue;
		}
		if (h->landing || qp->ctx->frozen)
			continue;	/* its later ones wait behind it */
		if (replay(qp))
			goto again;	/* it may have freed the next one */
	}
}

void xf_hold_drop(struct xd_qp *qp)
{
	struct list_node *pos, *tmp;

	if (!qp->eng)
		return;
	list_for_each_safe(pos, tmp, &helds) {
		struct xf_held *h = list_entry(pos, struct xf_held, link);

		if (is_of(h, qp))
			held_drop(h);
	}
}

unsigned int xf_held(void)
{
	return nheld + norphans;
}
