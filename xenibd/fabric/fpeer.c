// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The requester's side of the fabric: the peer seam (engine/peer.h)
 * towards QPs of other hosts, and their answers.
 *
 * The router resolves a request's destination LID: a guest of this host
 * goes to the local peer, any other to the host the directory's cache says
 * serves it.  A request leaves as one REQ message (proto.h); the answer
 * (ACK, NAK, READ_RESP) comes back as a message of its own and is given to
 * the requester QP with xd_req_answer(), found again by its LID, QPN and
 * incarnation (tx_epoch): a QP reset or destroyed since never sees an
 * answer meant for an earlier one.  UC and UD have no answers: a request
 * is done when the wire has sent it.
 *
 * Payloads are copied once out of the guest's memory, here, in the event
 * loop where its translation was just checked, into a buffer the wire owns
 * until it has sent it: the guest may deregister or unmap its pages, or be
 * suspended, at any time, and the wire must never read them then.
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xenibd/fabric/fint.h"

static const struct xd_peer_ops fabric_peer;

/* The LID a request goes to (UD by GID only: the directory's GUID form). */
static uint16_t dest_lid(const struct xd_qp *qp, const struct xd_req *req)
{
	uint64_t guid;

	if (qp->qp_type != IBV_QPT_UD)
		return qp->attr.ah.dlid;
	if (req->ah->dlid)
		return req->ah->dlid;
	memcpy(&guid, req->ah->dgid + 8, 8);
	guid = be64toh(guid);
	return (guid & ~0xffffull) == XDIR_GUID_PREFIX ? guid & 0xffff : 0;
}

/*
 * LIDs the directory's cache does not know (yet): a location claimed a
 * moment ago may not have reached our watch, so the directory is asked,
 * and requests to it wait (BUSY, no retry spent) for at most
 * XF_LOOKUP_NS; after that the LID counts as unreachable.
 */
#define XF_LOOKUPS	64
#define XF_LOOKUP_NS	(2000 * 1000 * 1000ull)

static struct lookup {
	uint16_t lid;
	bool inflight, have;
	uint64_t since_ns;
	struct xdir_route r;
} lookups[XF_LOOKUPS];

static void looked_up(struct xdir *d, int err, const char *msg,
		      const struct xdir_route *r, void *arg)
{
	struct lookup *l = &lookups[(uintptr_t)arg];

	l->inflight = false;
	if (!err && r) {
		l->r = *r;
		l->have = true;
	}
}

static struct lookup *lookup_of(uint16_t lid)
{
	struct lookup *l, *old = &lookups[0];
	uint32_t i;

	for (i = 0; i < XF_LOOKUPS; i++) {
		l = &lookups[i];
		if (l->lid == lid && (l->inflight || l->have ||
				      xd.now_ns - l->since_ns <
					      5 * XF_LOOKUP_NS))
			return l;
		if (l->lid == lid) {	/* not found a while ago: ask again */
			old = l;
			break;
		}
		if (!l->inflight && l->since_ns < old->since_ns)
			old = l;
	}
	if (old->inflight)
		return NULL;	/* all busy: unknown for now */
	memset(old, 0, sizeof(*old));
	old->lid = lid;
	old->since_ns = xd.now_ns;
	if (xdir_resolve(xf.dir, lid, looked_up,
			 (void *)(uintptr_t)(old - lookups)))
		return NULL;
	old->inflight = true;
	return old;
}

/* Where the directory says lid is served; 1: wait, 0: here, -1: nowhere. */
static int route_of(uint16_t lid, struct xdir_route *r)
{
	struct lookup *l;

	if (!xdir_resolve_cached(xf.dir, lid, r))
		return 0;
	l = lookup_of(lid);
	if (!l)
		return -1;
	if (l->have) {
		*r = l->r;
		return 0;
	}
	return l->inflight || xd.now_ns - l->since_ns < XF_LOOKUP_NS ? 1 : -1;
}

static bool router_resolve(struct xd_qp *qp, const struct xd_req *req,
			   struct xd_peer *out)
{
	uint16_t lid = dest_lid(qp, req);
	struct xdir_route route;
	struct xf_host *h;
	int where;

	if (!lid || xd_guest_by_lid(lid))
		return xd_local_peer.resolve(qp, req, out);
	/* A UD WQE's QPN past IB's 24 bits names no QP anywhere (and the
	 * receiver would drop the request as malformed). */
	if (qp->qp_type == IBV_QPT_UD && req->remote_qpn > XF_MAX_QPN)
		return false;
	if (!xf.dir)
		return false;	/* nowhere known: no answer */
	where = route_of(lid, &route);
	if (where < 0)
		return false;
	out->ops = &fabric_peer;
	out->priv = NULL;	/* the route is being looked up */
	if (where)
		return true;
	h = xf_host_by_hid(xf_hid(route.host));
	if (!h && xm_lid_paused(lid)) {
		/* Left here moments ago; the route will say where to. */
		out->ops = &xd_paused_peer;
		return true;
	}
	if (!h)
		return false;
	out->priv = h;
	return true;
}

/*
 * Not connected to the host (yet): requests wait (BUSY: no retry spent)
 * while the wire connects, XF_CONNECT_WAIT_NS at most, as long as the
 * host stays in the directory: setting up a path is not the path failing,
 * and UC or UD would otherwise lose what a guest sends right after it
 * learnt its peer.  RC and XRC wait only on a first connection to the
 * host's epoch (since it joined or restarted): once a connection to it
 * went down, the host is unreachable and their transport retries count,
 * so that they end within the QP's budget (docs/ib-semantics.md).
 */
#define XF_CONNECT_WAIT_NS	(1000ull * 1000 * 1000)

static enum xd_ack fabric_ready(struct xd_peer *p, struct xd_qp *qp,
				const struct xd_req *req)
{
	struct xf_host *h = p->priv;

	if (!h)
		return XD_BUSY;		/* its route is being looked up */
	if (xf_host_peer(h))
		return XD_ACK;
	if (!h->in_dir ||
	    (xd_type_of(qp->qp_type)->reliable && h->conn_failed))
		return XD_NO_ANSWER;
	return xd.now_ns - h->unreachable_ns < XF_CONNECT_WAIT_NS ?
		       XD_BUSY : XD_NO_ANSWER;
}

/* What a send's completion needs: the payload's buffer to free. */
struct send_ctx {
	uint64_t bytes;
	uint32_t hid;		/* the host it went to (XF_HOST_TX_BYTES) */
	char data[];
};

/* The requester QP an answer is for, if it is still the same one. */
static struct xd_qp *requester(uint16_t lid, uint32_t qpn, uint32_t epoch)
{
	struct xd_qp *qp = xd_qp_find(lid, qpn);

	return qp && qp->eng && qp->eng->tx_epoch == epoch ? qp : NULL;
}

void xf_answer_apply(struct xd_qp *qp, uint32_t seq,
		     const struct xd_answer *ans, const char *data,
		     uint32_t len, bool read)
{
	struct xd_sgl dst;

	if (read) {	/* the bytes into its buffers, then the ACK */
		if (!xd_req_read_dest(qp, seq, len, &dst) || dst.total != len)
			return;	/* not waited for (any more): dropped */
		xd_sgl_from_buf(&dst, data);
	}
	xd_req_answer(qp, seq, ans);
}

/*
 * An answer for request seq of the requester (lid, qpn, epoch): now, or
 * held (fhold.c: behind a READ response still landing, or while its guest
 * is frozen).
 */
static void answer(uint16_t lid, uint32_t qpn, uint32_t epoch, uint32_t seq,
		   const struct xd_answer *ans, const char *data, uint32_t len,
		   bool read)
{
	struct xd_qp *qp = requester(lid, qpn, epoch);

	if (!qp)
		return;
	xd.now_ns = xd_now_ns();
	if (xf_hold_wanted(qp))
		xf_hold(qp, seq, ans, data, len, read);
	else
		xf_answer_apply(qp, seq, ans, data, len, read);
}

/*
 * The wire is done with a request's payload.  Every request is answered,
 * UC and UD ones too: the target says "taken" (or dropped, as UC and UD
 * may be) or "paused" (its guest is moving: the sender holds the
 * datagram instead of losing it); the requester treats any other answer,
 * or none within its answer timeout, as "sent".
 */
static void sent(void *arg, int status)
{
	struct send_ctx *sc = arg;
	struct xf_host *h = xf_host_by_hid(sc->hid);

	if (h)
		h->tx_queued -= sc->bytes < h->tx_queued ? sc->bytes :
							   h->tx_queued;
	xf_bounce_put(sc->bytes);
	free(sc);
}

static void fill_req(struct xf_req *r, struct xd_qp *qp,
		     const struct xd_req *req)
{
	memset(r, 0, sizeof(*r));
	r->h.magic = XF_MAGIC;
	r->h.version = XF_VERSION;
	r->h.kind = XF_REQ;
	r->h.len = sizeof(*r);
	r->src_lid = req->slid;
	r->src_qpn = req->src_qpn;
	r->dst_lid = dest_lid(qp, req);
	r->dst_qpn = qp->qp_type == IBV_QPT_UD ? req->remote_qpn :
						 qp->attr.dest_qp_num;
	r->seq = req->seq;
	r->tx_epoch = qp->eng->tx_epoch;
	r->qp_type = qp->qp_type;
	r->opcode = req->opcode;
	r->flags = ((req->flags & XD_REQ_FIRST) ? XF_FIRST : 0) |
		   ((req->flags & XD_REQ_LAST) ? XF_LAST : 0) |
		   (req->solicited ? XF_SOLICITED : 0);
	r->imm_data = req->imm_data;
	r->msg_len = req->msg_len;
	r->offset = req->offset;
	r->len = req->len;
	r->rkey = req->rkey;
	r->remote_addr = req->remote_addr;
	r->compare_add = req->compare_add;
	r->swap = req->swap;
	r->remote_srqn = req->remote_srqn;
	r->src_guid = req->src_guid;
	r->sl = req->sl;
	if (qp->qp_type == IBV_QPT_UD) {
		r->qkey = req->qkey;
		r->sl = req->ah->sl;
		if (req->ah->is_global) {
			r->flags |= XF_GRH;
			r->hop_limit = req->ah->hop_limit;
			r->traffic_class = req->ah->traffic_class;
			r->flow_label = req->ah->flow_label;
			memcpy(r->dgid, req->ah->dgid, 16);
		}
	}
}

static void fabric_send(struct xd_peer *p, struct xd_qp *qp,
			const struct xd_req *req, struct xd_answer *ans)
{
	bool carries = req->opcode == IBV_WR_SEND ||
		       req->opcode == IBV_WR_SEND_WITH_IMM ||
		       req->opcode == IBV_WR_SEND_WITH_INV ||
		       req->opcode == IBV_WR_RDMA_WRITE ||
		       req->opcode == IBV_WR_RDMA_WRITE_WITH_IMM;
	uint32_t bytes = carries ? req->len : 0;
	struct xf_host *h = p->priv;
	struct xw_peer *peer = xf_host_peer(h);
	struct send_ctx *sc;
	struct xf_req r;
	struct iovec iov;

	if (!peer) {
		ans->ack = XD_NO_ANSWER;
		return;
	}
	/* The first one always goes: a payload over the bound is not stuck. */
	if ((h->tx_queued && h->tx_queued + bytes > XF_HOST_TX_BYTES) ||
	    !xf_bounce_get(bytes)) {
		ans->ack = XD_BUSY;
		return;
	}
	sc = malloc(sizeof(*sc) + bytes);
	if (!sc) {
		xf_bounce_put(bytes);
		ans->ack = XD_BUSY;
		return;
	}
	sc->bytes = bytes;
	sc->hid = h->hid;
	if (bytes)
		xd_sgl_to_buf(sc->data, req->data);
	fill_req(&r, qp, req);
	iov.iov_base = sc->data;
	iov.iov_len = bytes;
	if (xw_send(peer, &r, sizeof(r), &iov, bytes ? 1 : 0, 0, sent, sc)) {
		xf_bounce_put(bytes);
		free(sc);
		ans->ack = XD_BUSY;	/* too much in flight: shortly */
		return;
	}
	h->reqs_out++;
	h->tx_queued += bytes;
	ans->ack = XD_PENDING;
}

static const struct xd_peer_ops fabric_peer = {
	.name = "fabric",
	.resolve = router_resolve,
	.ready = fabric_ready,
	.send = fabric_send,
	.write = fabric_send,
	.read = fabric_send,
	.atomic = fabric_send,
};

const struct xd_peer_ops xf_router = {
	.name = "router",
	.resolve = router_resolve,
};

/* ------------------------------------------------------------------ */
/* Answers                                                             */

/* READ data arrived: into the requester's buffers, then its ACK. */
static void read_land(uint16_t lid, uint32_t qpn, uint32_t epoch,
		      uint32_t seq, const char *data, uint32_t len)
{
	static const struct xd_answer ack = { .ack = XD_ACK };

	answer(lid, qpn, epoch, seq, &ack, data, len, true);
}

static void read_landed(void *arg, int status, size_t len)
{
	xd.now_ns = xd_now_ns();
	xf_hold_landed(arg, !status);
}

static void read_resp(const struct xf_answer *a, struct xw_rx *rx)
{
	struct xd_qp *qp = requester(a->req_lid, a->req_qpn, a->tx_epoch);
	struct xf_held *h;
	struct iovec iov;

	if (qp && !xw_rx_is_rndv(rx)) {	/* here now: no copy to keep */
		read_land(a->req_lid, a->req_qpn, a->tx_epoch, a->seq,
			  xw_rx_data(rx), a->len);
	} else if (qp) {
		/* It keeps its place: the answers after it wait (fhold.c). */
		h = xf_hold_landing(qp, a->seq, a->len);
		iov.iov_base = h ? xf_held_data(h) : NULL;
		iov.iov_len = a->len;
		if (h && xw_rx_into(rx, &iov, 1, read_landed, h))
			xf_hold_landed(h, false);
	}
	xw_rx_drop(rx);		/* (nothing, if it was claimed) */
}

void xf_answer_recv(struct xf_host *h, const struct xf_answer *a,
		    size_t hdr_len, struct xw_rx *rx)
{
	struct xd_answer ans = { 0 };
	struct xd_qp *qp;
	uint32_t seq;

	if (xf_check_answer(a, hdr_len, xw_rx_len(rx))) {
		xf.wire_errors++;
		h->drops++;
		xf_log_rl("host %s: malformed answer dropped", h->id);
		xw_rx_drop(rx);
		return;
	}
	/*
	 * An RC or XRC QP's answers come from the host serving its
	 * destination; a UD QP's from whichever its datagrams went to (a
	 * forged one can only complete a datagram early, never with data).
	 */
	qp = requester(a->req_lid, a->req_qpn, a->tx_epoch);
	if (qp && xd_type_of(qp->qp_type)->reliable &&
	    !xf_host_serves(h, qp->attr.ah.dlid)) {
		h->drops++;
		xf_log_rl("host %s: answer for QP 0x%x, which it does not "
			  "serve, dropped", h->id, a->req_qpn);
		qp = NULL;
	}
	if (!qp) {
		xw_rx_drop(rx);
		return;
	}
	if (a->h.kind == XF_READ_RESP) {
		read_resp(a, rx);
		return;
	}
	xw_rx_drop(rx);
	seq = a->seq;
	if (a->ack == XF_NAK_SEQ) {
		/* It expects an earlier request: everything from there again. */
		ans.ack = XD_BUSY;
		ans.resend = true;
		ans.resend_from = a->expected;
	} else {
		ans.ack = a->ack;
	}
	ans.rnr_timer = a->rnr_timer;
	ans.atomic_orig = a->atomic_orig;
	answer(a->req_lid, a->req_qpn, a->tx_epoch, seq, &ans, NULL, 0, false);
}

void xd_fabric_where(uint16_t lid, char *buf, size_t len)
{
	struct xdir_route r;

	if (xd_guest_by_lid(lid))
		snprintf(buf, len, "local");
	else if (xf.dir && !xdir_resolve_cached(xf.dir, lid, &r))
		snprintf(buf, len, "host:%s(%s)", r.host, r.addr);
	else
		snprintf(buf, len, "unknown");
}

/*
 * xenibctl routes: the destinations of this host's connected QPs that
 * another host serves, and where the directory says they are.
 */
int xd_fabric_fmt_routes(char *buf, size_t len)
{
	struct list_node *cpos, *ctmp, *pos, *tmp;
	int n = 0;

	if (!xf.dir)
		return snprintf(buf, len, "error not in a fabric\n");
	list_for_each_safe(cpos, ctmp, &xd.ctxs) {
		struct xd_ctx *ctx = list_entry(cpos, struct xd_ctx, link);

		list_for_each_safe(pos, tmp, &ctx->qps) {
			struct xd_qp *qp = list_entry(pos, struct xd_qp, link);
			struct xdir_route r;
			uint16_t lid = qp->attr.ah.dlid;

			if (n >= (int)len)
				return len;
			if (qp->qp_type == IBV_QPT_UD || !lid ||
			    xd_guest_by_lid(lid))
				continue;
			if (xdir_resolve_cached(xf.dir, lid, &r))
				n += snprintf(buf + n, len - n,
					      "lid %u qp 0x%06x unknown\n", lid,
					      qp->h.id);
			else
				n += snprintf(buf + n, len - n,
					      "lid %u qp 0x%06x host %s addr %s "
					      "epoch %llu gen %llu\n", lid,
					      qp->h.id, r.host, r.addr,
					      (unsigned long long)r.epoch,
					      (unsigned long long)r.gen);
		}
	}
	return n < (int)len ? n : (int)len;
}
