// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * fuzz_fabric's messages from the fake remote hosts (fabric_msgs.h): REQ,
 * ANSWER and READ_RESP built from the connection's state (or from the
 * requests this backend sent, found in the fake wire's log) with fuzzed
 * fields, and raw headers.
 */
#include <string.h>

#include "fuzz/fabric_msgs.h"
#include "tests/common/fake_wire.h"
#include "xenibd/fabric/fint.h"

static char pay[XD_SLICE_BYTES + 4096];	/* payloads of messages */

/* Payload bytes: a pattern (its byte from the input). */
static const char *payload(struct fz_in *in, size_t len)
{
	memset(pay, fz_u8(in), len < sizeof(pay) ? len : sizeof(pay));
	return pay;
}

static void hdr_init(struct xf_hdr *h, uint8_t kind, uint32_t len)
{
	h->magic = XF_MAGIC;
	h->version = XF_VERSION;
	h->kind = kind;
	h->len = len;
}

/* A byte of the struct changed (a malformed variant of a good one). */
static void corrupt(struct fz_in *in, void *p, size_t len)
{
	uint8_t off = fz_u8(in);

	((uint8_t *)p)[off % len] = fz_u8(in);
}

static uint16_t pick_lid(struct fz_in *in)
{
	static const uint16_t lids[] = { FF_RLID_A, FF_RLID_B, FF_RLID_NONE,
					 FF_RLID_GONE, 2, 3, 0, 0xc000 };
	uint8_t k = fz_u8(in);

	return k & 0x80 ? fz_u16(in) : lids[k % 8];
}

static uint32_t pick_qpn(struct fz_in *in, const struct ff_side *s,
			 const struct ff_side *o)
{
	uint8_t k = fz_u8(in);

	switch (k & 3) {
	case 0:
		return o->g.qpn;
	case 1:
		return ffw.type == FF_XRC ? s->g.qpn : s->g.xrecv;
	case 2:
		return s->g.qpn + (k >> 2);
	}
	return fz_u32(in);
}

uint64_t ff_pick_addr(struct fz_in *in)
{
	uint8_t k = fz_u8(in);

	if (k & 1)
		return fz_u64(in);
	return FZG_IOVA + fz_u16(in) - (k >> 1);
}

/*
 * A message length: mostly small (a request of 1 MiB costs), of several
 * requests, whole slices, anything.
 */
static uint64_t pick_msg_len(struct fz_in *in)
{
	uint8_t k = fz_u8(in);

	if (k < 0xc0)
		return fz_u16(in) & 0x1fff;
	if (k >= 0xe0)
		return fz_u64(in);
	return (1 + (k & 1)) * (uint64_t)XD_SLICE_BYTES +
	       (k & 2 ? 0 : fz_u16(in));
}

bool ff_is_atomic(uint32_t op)
{
	return op == IBV_WR_ATOMIC_CMP_AND_SWP ||
	       op == IBV_WR_ATOMIC_FETCH_AND_ADD;
}

bool ff_carries(uint32_t op)
{
	return op != IBV_WR_RDMA_READ && !ff_is_atomic(op);
}

/* ------------------------------------------------------------------ */
/* Messages from the remote hosts                                      */

/* REQ: the slices [k0, k0 + n) of one message from the remote QP. */
void ff_step_req(struct fz_in *in, struct ff_side *s, struct ff_side *o,
		     unsigned int repeat)
{
	uint8_t m = fz_u8(in), sl = fz_u8(in), sq = fz_u8(in);
	unsigned int k, k0 = sl & 3, n = 1 + ((sl >> 2) & 3);
	struct xf_req r;
	uint64_t msg_len;

	memset(&r, 0, sizeof(r));
	hdr_init(&r.h, XF_REQ, sizeof(r));
	r.src_lid = m & 1 ? pick_lid(in) : s->rlid;
	r.dst_lid = m & 2 ? pick_lid(in) : s->lid;
	r.src_qpn = m & 4 ? fz_u32(in) : s->rsend;
	r.dst_qpn = m & 8 ? pick_qpn(in, s, o) :
		    ffw.type == FF_XRC ? s->g.xrecv : s->g.qpn;
	r.qp_type = m & 16 ? fz_u32(in) : ff_remote_type();
	r.opcode = fz_u8(in);
	r.opcode = r.opcode & 0x80 ? fz_u32(in) : r.opcode % 7;
	r.imm_data = 0x01020304;
	r.tx_epoch = 0xe0 + s->host;
	msg_len = ff_is_atomic(r.opcode) && !(m & 32) ? 8 : pick_msg_len(in);
	r.msg_len = msg_len;
	r.rkey = m & 32 ? fz_u32(in) : s->g.lkey;
	r.remote_addr = ff_pick_addr(in);
	if (ff_is_atomic(r.opcode)) {
		r.compare_add = fz_u64(in);
		r.swap = fz_u64(in);
	}
	if (ffw.type == FF_XRC)
		r.remote_srqn = m & 64 ? fz_u32(in) : s->g.srq;
	r.qkey = m & 64 ? fz_u32(in) : FF_QKEY;
	r.src_guid = XDIR_GUID_PREFIX | s->rlid;
	if (m & 128) {	/* SOLICITED, GRH and the fields that go with it */
		r.flags = fz_u8(in) & (XF_SOLICITED | XF_GRH);
		r.sl = fz_u8(in);
		r.hop_limit = fz_u8(in);
		r.traffic_class = fz_u8(in);
		r.flow_label = fz_u32(in);
		if (fz_u8(in) & 1)
			r.flow_label &= 0xfffff;
		fz_bytes(in, r.dgid, 4);
	}
	for (k = k0; k < k0 + n; k++) {
		struct xf_req q = r;
		uint64_t off = (uint64_t)k * XD_SLICE_BYTES;
		size_t plen;
		bool rndv = sl & 0x10;
		unsigned int i, times;

		if (off > msg_len && !(sl & 0x20))
			break;
		q.offset = off;
		q.len = msg_len - off < XD_SLICE_BYTES ?
			(uint32_t)(msg_len - off) : XD_SLICE_BYTES;
		if (ff_is_atomic(q.opcode))
			q.len = 8;
		q.flags |= (k == 0 ? XF_FIRST : 0) |
			   (off + q.len == msg_len ? XF_LAST : 0);
		/* in order, a duplicate (earlier), ahead (a gap), anything */
		switch (sq >> 6) {
		case 0:
			q.seq = s->rseq;
			break;
		case 1:
			q.seq = s->rseq - 1 - (sq & 0x3f);
			break;
		case 2:
			q.seq = s->rseq + 1 + (sq & 0x3f);
			break;
		default:
			q.seq = fz_u32(in);
		}
		plen = ff_carries(q.opcode) ? q.len : 0;
		if (sl & 0x20) {	/* what the wire says differs */
			plen = fz_u16(in);
			rndv = fz_u8(in) & 1;
		}
		if (sl & 0x40)
			corrupt(in, &q, sizeof(q));
		/*
		 * A flood: enough of them to fill a QP's FIFO (its 64 MiB),
		 * or, READs, the fabric's bounce bytes (512 MiB).
		 */
		times = repeat;
		if (plen > 65536 && times > 72)
			times = 72;
		else if (q.len > 65536 && times > 600)
			times = 600;
		payload(in, plen);
		for (i = 0; i < times; i++)
			if (fw_deliver(ff_hosts[s->host ^ (sl >> 7)].hid, &q,
				       sizeof(q), pay, plen, rndv) &&
			    q.seq == s->rseq)
				s->rseq++;
	}
}

/* The i-th request (from the newest) of the log, of opcode op (or any). */
static const struct xf_req *logged_req(uint8_t i, uint32_t op,
				       uint32_t *hid)
{
	unsigned int n = fw_nsent(), k, found = 0, want;
	const struct fw_send *e;

	for (k = n; k--;) {
		e = fw_sent(k);
		if (xf_kind(e->hdr, e->hdr_len) == XF_REQ &&
		    (op == ~0u ||
		     ((const struct xf_req *)e->hdr)->opcode == op))
			found++;
	}
	if (!found)
		return NULL;
	want = i % found;
	for (k = n; k--;) {
		e = fw_sent(k);
		if (xf_kind(e->hdr, e->hdr_len) != XF_REQ ||
		    (op != ~0u &&
		     ((const struct xf_req *)e->hdr)->opcode != op))
			continue;
		if (!want--) {
			*hid = e->host_id;
			return (const void *)e->hdr;
		}
	}
	return NULL;
}

/* An answer about request r (or, without one, about the side's QP). */
static void answer_of(struct xf_answer *a, const struct xf_req *r,
		      struct ff_side *s, uint8_t kind)
{
	struct xd_qp *qp = ff_qp(s);

	memset(a, 0, sizeof(*a));
	hdr_init(&a->h, kind, sizeof(*a));
	if (r) {
		a->req_lid = r->src_lid;
		a->req_qpn = r->src_qpn;
		a->tx_epoch = r->tx_epoch;
		a->seq = r->seq;
	} else {
		a->req_lid = s->lid;
		a->req_qpn = s->g.qpn;
		a->tx_epoch = qp && qp->eng ? qp->eng->tx_epoch : 0;
		a->seq = s->sq_psn;
	}
}

static uint32_t answer_host(uint32_t hid, struct ff_side *s, bool other)
{
	if (!hid)
		hid = ff_hosts[s->host].hid;
	if (other)
		hid = hid == ff_hosts[0].hid ? ff_hosts[1].hid :
					       ff_hosts[0].hid;
	return hid;
}

void ff_step_answer(struct fz_in *in, struct ff_side *s)
{
	static const uint8_t acks[] = {
		XD_ACK, XD_NAK_RNR, XD_NAK_ACCESS, XD_NAK_INV_REQ, XD_NAK_OP,
		XD_NO_ANSWER, XD_PAUSED, XD_BUSY, XF_NAK_SEQ, XD_ACK,
	};
	uint8_t m = fz_u8(in), k = fz_u8(in);
	uint32_t hid = 0;
	const struct xf_req *r = logged_req(fz_u8(in), ~0u, &hid);
	struct xf_answer a;

	answer_of(&a, r, s, XF_ANSWER);
	a.ack = k < 0xf0 ? acks[k % 10] : fz_u8(in);
	a.rnr_timer = fz_u8(in) & (m & 16 ? 0xff : 31);
	a.expected = a.seq - (fz_u8(in) & 7);
	if (m & 32)
		a.atomic_orig = fz_u64(in);
	if (m & 1)
		a.seq += (int8_t)fz_u8(in);
	if (m & 2)
		a.tx_epoch ^= fz_u32(in);
	if (m & 4)
		corrupt(in, &a, sizeof(a));
	fw_deliver(answer_host(hid, s, m & 8), &a, sizeof(a), NULL, 0,
		   false);
}

void ff_step_read_resp(struct fz_in *in, struct ff_side *s)
{
	uint8_t m = fz_u8(in);
	uint32_t hid = 0;
	const struct xf_req *r = logged_req(fz_u8(in), m & 0x80 ? ~0u :
					    IBV_WR_RDMA_READ, &hid);
	struct xf_answer a;
	size_t plen;

	answer_of(&a, r, s, XF_READ_RESP);
	a.ack = XD_ACK;
	a.len = r ? r->len : 512;
	if (m & 1)
		a.len = fz_u8(in) & 1 ? fz_u32(in) : a.len - fz_u8(in);
	plen = a.len;
	if (m & 2)
		plen = fz_u16(in);
	if (m & 4)
		a.seq += (int8_t)fz_u8(in);
	if (m & 8)
		corrupt(in, &a, sizeof(a));
	if (plen > XD_SLICE_BYTES)
		plen = XD_SLICE_BYTES;
	fw_deliver(answer_host(hid, s, m & 16), &a, sizeof(a),
		   payload(in, plen), plen, m & 32);
}

void ff_step_raw(struct fz_in *in, struct ff_side *s)
{
	uint8_t m = fz_u8(in), hl = fz_u8(in);
	uint8_t h[XW_HDR_MAX];
	size_t plen = m & 2 ? fz_u16(in) : 0;

	fz_bytes(in, h, hl);
	if ((m & 1) && hl >= sizeof(struct xf_hdr)) {	/* past xf_kind */
		struct xf_hdr *x = (void *)h;

		x->magic = XF_MAGIC;
		x->version = XF_VERSION;
		x->len = hl;
	}
	fw_deliver(ff_hosts[(m >> 3) & 1].hid, h, hl, payload(in, plen),
		   plen, m & 4);
}
