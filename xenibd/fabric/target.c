// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The responder's side of the fabric: requests from other hosts' QPs to
 * QPs of this one.
 *
 * A request is checked (proto.c), its QP found by (LID, QPN) and asked,
 * as the local peer asks it, whether it takes requests from the sender
 * (connected back, receiving, same type / Q_Key).  Requests of one QP are
 * executed in the order they arrived, each once its payload is here (a
 * rendezvous payload lands after later messages' headers): a QP's FIFO.
 * RC and XRC requests carry sequence numbers from the sender's sq_psn,
 * checked against the QP's expected one from its rq_psn: the expected one
 * executes and is answered; an earlier one is a duplicate (a retransmission
 * after a lost answer): WRITE and SEND are acknowledged again, READ read
 * again, atomics answered from a cache of their results; a later one gets
 * a NAK saying which is expected.  The execution itself is the responder's
 * (engine/responder.c): the same checks and completions as local traffic.
 *
 * UC and UD requests are answered too (taken, dropped, or paused: a
 * datagram for a guest that is moving is held by its sender, not lost).
 *
 * Payloads land in a buffer of ours, then are copied into the guest's
 * pages in the event loop, where the pages' translation is checked at that
 * moment: the guest may deregister or unmap them, or be suspended, while a
 * payload is on its way.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "xenibd/fabric/fint.h"

#define XF_RXQ_MAX	1024		/* requests waiting per QP */
#define XF_RXQ_BYTES	(64ull << 20)	/* their payloads */

struct xf_rxq;

struct xf_rx_ent {
	struct xf_req r;
	uint32_t hid;		/* the host it came from */
	bool landed;		/* its payload is here (or it has none) */
	bool lost;		/* its payload did not come */
	struct xf_rxq *q;
	struct list_node link;
	char data[];		/* payload(&r) bytes: SEND / WRITE */
};

struct xf_rxq {
	struct xd_qp *qp;	/* NULL: the QP went away, entries drain */
	struct list_node ents;
	unsigned int n, landing;
	uint64_t bytes;
};

/* What a request carries (a READ's len is what it asks for). */
static uint32_t payload(const struct xf_req *r)
{
	switch (r->opcode) {
	case IBV_WR_SEND:
	case IBV_WR_SEND_WITH_IMM:
	case IBV_WR_SEND_WITH_INV:
	case IBV_WR_RDMA_WRITE:
	case IBV_WR_RDMA_WRITE_WITH_IMM:
		return r->len;
	}
	return 0;
}

static void rxq_free_if_done(struct xf_rxq *q)
{
	if (!q->qp && !q->landing && list_empty(&q->ents))
		free(q);
}

static void ent_free(struct xf_rx_ent *e)
{
	struct xf_rxq *q = e->q;

	list_del(&e->link);
	q->n--;
	q->bytes -= payload(&e->r);
	xf_bounce_put(payload(&e->r));
	free(e);
}

void xf_target_qp_gone(struct xd_qp *qp)
{
	struct xf_rxq *q = qp->eng ? qp->eng->frx : NULL;
	struct list_node *pos, *tmp;

	if (!q)
		return;
	qp->eng->frx = NULL;
	q->qp = NULL;
	list_for_each_safe(pos, tmp, &q->ents) {
		struct xf_rx_ent *e = list_entry(pos, struct xf_rx_ent, link);

		if (e->landed || e->lost)
			ent_free(e);	/* the landing ones free themselves */
	}
	rxq_free_if_done(q);
}

/* ------------------------------------------------------------------ */
/* Answers                                                             */

static void answer_sent(void *arg, int status)
{
}

/*
 * The bytes of a READ response: ours until the wire has sent them (which
 * the other host decides: a rendezvous is sent when it fetches), so they
 * count in the fabric's bounce bytes, or another host's READs (duplicates
 * cost nothing to send) would pin any amount of memory here.
 */
struct read_buf {
	uint32_t len;
	char data[];
};

static struct read_buf *read_buf_new(uint32_t len)
{
	struct read_buf *b;

	if (!xf_bounce_get(len))
		return NULL;
	b = malloc(sizeof(*b) + len);
	if (!b) {
		xf_bounce_put(len);
		return NULL;
	}
	b->len = len;
	return b;
}

static void read_buf_free(struct read_buf *b)
{
	if (!b)
		return;
	xf_bounce_put(b->len);
	free(b);
}

static void read_sent(void *arg, int status)
{
	read_buf_free(arg);
}

static void fill_answer(struct xf_answer *a, const struct xf_req *r,
			uint8_t kind, uint8_t ack)
{
	memset(a, 0, sizeof(*a));
	a->h.magic = XF_MAGIC;
	a->h.version = XF_VERSION;
	a->h.kind = kind;
	a->h.len = sizeof(*a);
	a->req_lid = r->src_lid;
	a->req_qpn = r->src_qpn;
	a->tx_epoch = r->tx_epoch;
	a->seq = r->seq;
	a->ack = ack;
}

void xf_send_answer(uint32_t hid, const struct xf_req *r, uint8_t ack,
		    uint8_t rnr_timer, uint32_t expected, uint64_t orig)
{
	struct xf_host *h = xf_host_by_hid(hid);
	struct xw_peer *peer = h ? xf_host_peer(h) : NULL;
	struct xf_answer a;

	if (!peer)
		return;		/* the requester times out and sends again */
	fill_answer(&a, r, XF_ANSWER, ack);
	a.rnr_timer = rnr_timer & 31;
	a.expected = expected;
	a.atomic_orig = orig;
	if (!xw_send(peer, &a, sizeof(a), NULL, 0, 0, answer_sent, NULL))
		h->answers_out++;
}

/* The bytes a READ asked for, with its ACK. */
static void send_read_resp(uint32_t hid, const struct xf_req *r,
			   struct read_buf *b)
{
	struct xf_host *h = xf_host_by_hid(hid);
	struct xw_peer *peer = h ? xf_host_peer(h) : NULL;
	struct iovec iov = { .iov_base = b->data, .iov_len = r->len };
	struct xf_answer a;

	if (!peer) {
		read_buf_free(b);
		return;
	}
	fill_answer(&a, r, XF_READ_RESP, XD_ACK);
	a.len = r->len;
	if (xw_send(peer, &a, sizeof(a), &iov, r->len ? 1 : 0, 0, read_sent,
		    b))
		read_buf_free(b);
	else
		h->answers_out++;
}

/* ------------------------------------------------------------------ */
/* Execution                                                           */

/* The engine's view of a request from the wire. */
static void to_req(const struct xf_req *r, struct xenib_ah_attr *ah,
		   struct xd_req *req)
{
	memset(req, 0, sizeof(*req));
	req->seq = r->seq;
	req->src_qpn = r->src_qpn;
	req->slid = r->src_lid;
	req->sl = r->sl;
	req->src_guid = r->src_guid;
	req->opcode = r->opcode;
	req->flags = ((r->flags & XF_FIRST) ? XD_REQ_FIRST : 0) |
		     ((r->flags & XF_LAST) ? XD_REQ_LAST : 0);
	req->solicited = r->flags & XF_SOLICITED;
	req->imm_data = r->imm_data;
	req->msg_len = r->msg_len;
	req->offset = r->offset;
	req->len = r->len;
	req->remote_addr = r->remote_addr;
	req->rkey = r->rkey;
	req->compare_add = r->compare_add;
	req->swap = r->swap;
	req->remote_srqn = r->remote_srqn;
	req->remote_qpn = r->dst_qpn;
	req->qkey = r->qkey;
	if (r->qp_type == IBV_QPT_UD) {
		memset(ah, 0, sizeof(*ah));
		ah->dlid = r->dst_lid;
		ah->sl = r->sl;
		ah->is_global = !!(r->flags & XF_GRH);
		ah->hop_limit = r->hop_limit;
		ah->traffic_class = r->traffic_class;
		ah->flow_label = r->flow_label;
		memcpy(ah->dgid, r->dgid, 16);
		ah->port_num = 1;
		req->ah = ah;
	}
}

static bool is_atomic(uint32_t op)
{
	return op == IBV_WR_ATOMIC_CMP_AND_SWP ||
	       op == IBV_WR_ATOMIC_FETCH_AND_ADD;
}

/* Run one request at qp; the answer in *ans (READ data into *read_data). */
static void run(struct xd_qp *qp, struct xf_rx_ent *e, struct xd_answer *ans,
		struct read_buf **read_data)
{
	const struct xd_type_ops *t = xd_type_of(e->r.qp_type);
	struct xenib_ah_attr ah;
	struct xd_sgl data;
	struct xd_req req;
	struct xd_rx rx;

	to_req(&e->r, &ah, &req);
	ans->ack = t->accept(qp, &req);
	if (ans->ack != XD_ACK)
		return;
	ans->ack = t->rx(qp, &req, &rx);
	if (ans->ack != XD_ACK)
		return;
	switch (e->r.opcode) {
	case IBV_WR_SEND:
	case IBV_WR_SEND_WITH_IMM:
	case IBV_WR_SEND_WITH_INV:
		xd_sgl_one(&data, e->data, e->r.len);
		req.data = &data;
		if (e->r.qp_type == IBV_QPT_UD)
			xd_resp_datagram(&rx, &req, ans);
		else
			xd_resp_send(&rx, &req, ans);
		break;
	case IBV_WR_RDMA_WRITE:
	case IBV_WR_RDMA_WRITE_WITH_IMM:
		xd_sgl_one(&data, e->data, e->r.len);
		req.data = &data;
		xd_resp_write(&rx, &req, ans);
		break;
	case IBV_WR_RDMA_READ:
		*read_data = read_buf_new(e->r.len);
		if (!*read_data) {
			ans->ack = XD_BUSY;
			return;
		}
		xd_sgl_one(&data, (*read_data)->data, e->r.len);
		req.data = &data;
		xd_resp_read(&rx, &req, ans);
		break;
	default:
		xd_resp_atomic(&rx, &req, ans);
		break;
	}
}

/* An earlier request again: its answer again, never a second execution. */
static void duplicate(struct xf_rxq *q, struct xf_rx_ent *e)
{
	struct xd_answer ans = { .ack = XD_ACK };
	struct read_buf *read_data = NULL;

	if (e->r.opcode == IBV_WR_RDMA_READ) {
		/* Reading again changes nothing: answer with the bytes now. */
		run(q->qp, e, &ans, &read_data);
		if (ans.ack == XD_ACK) {
			send_read_resp(e->hid, &e->r, read_data);
			return;
		}
		read_buf_free(read_data);
		/* BUSY (no room now): the requester sends it again shortly. */
		xf_send_answer(e->hid, &e->r, ans.ack, ans.rnr_timer, 0, 0);
		return;
	}
	if (is_atomic(e->r.opcode) &&
	    !xd_rx_atomic_again(q->qp, e->r.seq, &ans.atomic_orig))
		ans.ack = XD_NAK_INV_REQ;	/* too old to answer */
	xf_send_answer(e->hid, &e->r, ans.ack, 0, 0, ans.atomic_orig);
}

static void execute(struct xf_rxq *q, struct xf_rx_ent *e)
{
	bool reliable = xd_type_of(e->r.qp_type)->reliable;
	struct xd_answer ans = { .ack = XD_ACK };
	struct xd_qp *qp = q->qp;
	struct read_buf *read_data = NULL;
	struct xd_req req;

	if (e->lost)
		return;	/* the sender times out and sends it again */
	/*
	 * Its memory is not ours to touch (suspended, or moving): not even
	 * a duplicate READ may run.  The sender holds the request, UC and
	 * UD datagrams too.
	 */
	if (qp->ctx->frozen) {
		xf_send_answer(e->hid, &e->r, XD_PAUSED, 0, 0, 0);
		return;
	}
	if (!reliable) {	/* UC, UD: in order, taken or dropped */
		run(qp, e, &ans, &read_data);
		read_buf_free(read_data);
		xf_send_answer(e->hid, &e->r, ans.ack == XD_ACK ? XD_ACK :
			       XD_DROPPED, 0, 0, 0);
		return;
	}
	switch (xd_rx_order(qp, e->r.seq)) {
	case XD_RX_DUP:
		duplicate(q, e);
		return;
	case XD_RX_AHEAD:
		xf_log_rl("QP 0x%x of LID %u: request %u from host %08x, "
			  "%u expected", qp->h.id, e->r.dst_lid, e->r.seq,
			  e->hid, qp->eng->rx_expected);
		xf_send_answer(e->hid, &e->r, XF_NAK_SEQ, 0,
			       qp->eng->rx_expected, 0);
		return;
	case XD_RX_NEXT:
		break;
	}
	run(qp, e, &ans, &read_data);
	req.seq = e->r.seq;
	req.opcode = e->r.opcode;
	xd_rx_answered(qp, &req, &ans);
	if (ans.ack == XD_ACK) {
		qp->eng->cnt.rx_reqs++;
		qp->eng->cnt.rx_bytes += e->r.len;
		if (e->r.opcode == IBV_WR_RDMA_READ) {
			send_read_resp(e->hid, &e->r, read_data);
			return;
		}
	}
	read_buf_free(read_data);
	xf_send_answer(e->hid, &e->r, ans.ack, ans.rnr_timer, 0,
		       ans.atomic_orig);
}

/* Execute what waits at the head of the FIFO, in order. */
static void process(struct xf_rxq *q)
{
	while (q->qp && !list_empty(&q->ents)) {
		struct xf_rx_ent *e = list_entry(q->ents.next,
						 struct xf_rx_ent, link);

		if (!e->landed && !e->lost)
			break;
		execute(q, e);
		ent_free(e);
	}
}

/* ------------------------------------------------------------------ */
/* Arrival                                                             */

static void landed(void *arg, int status, size_t len)
{
	struct xf_rx_ent *e = arg;
	struct xf_rxq *q = e->q;

	q->landing--;
	if (status || len != e->r.len)
		e->lost = true;
	else
		e->landed = true;
	if (!q->qp) {
		ent_free(e);
		rxq_free_if_done(q);
		return;
	}
	xd.now_ns = xd_now_ns();
	process(q);
}

static struct xf_rxq *rxq_of(struct xd_qp *qp)
{
	struct xf_rxq *q = qp->eng->frx;

	if (q)
		return q;
	q = calloc(1, sizeof(*q));
	if (!q)
		return NULL;
	q->qp = qp;
	list_init(&q->ents);
	qp->eng->frx = q;
	return q;
}

/* Not taken (no QP, no room): say so, or drop it for UC and UD. */
static void refuse(uint32_t hid, const struct xf_req *r, uint8_t ack)
{
	xf_send_answer(hid, r, ack, 0, 0, 0);
}

void xf_target_recv(struct xf_host *h, const struct xf_req *r,
		    size_t hdr_len, struct xw_rx *rx)
{
	struct xd_guest *g;
	struct xf_rx_ent *e;
	struct xf_rxq *q;
	struct xd_qp *qp;
	struct iovec iov;

	if (xf_check_req(r, hdr_len, xw_rx_len(rx))) {
		xf.wire_errors++;
		h->drops++;
		xf_log_rl("host %s: malformed request dropped", h->id);
		xw_rx_drop(rx);
		return;
	}
	if (!xf_host_serves(h, r->src_lid)) {
		/* Spoofed, or a route that moved since (it tries again). */
		h->drops++;
		xf_log_rl("host %s: request from LID %u, which it does not "
			  "serve, dropped", h->id, r->src_lid);
		xw_rx_drop(rx);
		return;
	}
	g = xd_guest_by_lid(r->dst_lid);
	qp = g ? (struct xd_qp *)xd_table_get(&g->qps, r->dst_qpn) : NULL;
	/*
	 * Not receiving (RESET, INIT; ERR): as no QP, and no state made for
	 * it: the FIFO's expected sequence number is the QP's rq_psn, which
	 * only RTR sets (a request before it would fix it at 0 or at the last
	 * connection's, and the real requester's would then be NAKed or taken
	 * for duplicates).
	 */
	if (!qp || !qp->eng || !xd_qp_receiving(qp)) {
		xw_rx_drop(rx);
		/* Its guest between two hosts: paused; else as no QP answers. */
		refuse(h->hid, r, xm_lid_paused(r->dst_lid) ? XD_PAUSED :
							       XD_NO_ANSWER);
		return;
	}
	q = rxq_of(qp);
	if (!q || q->n >= XF_RXQ_MAX || q->bytes + payload(r) > XF_RXQ_BYTES ||
	    !xf_bounce_get(payload(r))) {
		xw_rx_drop(rx);
		h->drops++;
		refuse(h->hid, r, XD_BUSY);
		return;
	}
	e = malloc(sizeof(*e) + payload(r));
	if (!e) {
		xf_bounce_put(payload(r));
		xw_rx_drop(rx);
		refuse(h->hid, r, XD_BUSY);
		return;
	}
	memset(e, 0, sizeof(*e));
	e->r = *r;
	e->hid = h->hid;
	e->q = q;
	list_add_tail(&q->ents, &e->link);
	q->n++;
	q->bytes += payload(r);
	xd.now_ns = xd_now_ns();
	if (!xw_rx_len(rx)) {
		e->landed = true;
		xw_rx_drop(rx);
	} else if (!xw_rx_is_rndv(rx)) {
		memcpy(e->data, xw_rx_data(rx), r->len);
		e->landed = true;
		xw_rx_drop(rx);
	} else {
		iov.iov_base = e->data;
		iov.iov_len = r->len;
		if (xw_rx_into(rx, &iov, 1, landed, e)) {
			e->lost = true;
			xw_rx_drop(rx);
		} else {
			q->landing++;
		}
	}
	process(q);
}
