// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * fuzz_fabric: what this backend reads from other hosts' backends (it may
 * be compromised).  The backend runs on a fabric in-process: its real
 * fabric code (fabric.c, fpeer.c, target.c, proto.c) over the fake wire
 * and directory of tests/common, with the world of fabric_world.h: two
 * local guests whose QPs (of the input's type) are connected to QPs on
 * two fake remote hosts.  The input is a program:
 *
 *   byte 0    QP type (RC, UC, UD, XRC, RC on SRQ)
 *   byte 1    rnr_retry (bits 0-2), timeout 0 (bit 3) or 1-4 (bits 4-5),
 *             retry_cnt (bits 6-7)
 *   bytes 2-4 PSN base (24 bits)
 *   byte 5    end mode (bits 0-1), both hosts say HELLO first (bit 2),
 *             sends in flight per peer 1, 4 or 16 (bits 3-4; 0: default)
 *   then steps, each an opcode byte (bit 7: which side) and its fields
 *   (reads past the end are zeros):
 *     0 REQ        a remote request towards the side: slices of one
 *                  message with fuzzed fields, eager or rendezvous,
 *                  sequence in order, duplicate or ahead, corrupted
 *     1 ANSWER     an ACK / NAK of a request this backend sent
 *     2 READ_RESP  the bytes of a READ this backend sent
 *     3 RAW        any header bytes and payload
 *     4 POST_SEND  a send WQE on the side's SQ (requests leave)
 *     5 POST_RECV  a receive WQE on its RQ or SRQ
 *     6, 12 RUN    time moves on, the engine and the fabric run
 *     7 COMPLETE   the wire completes sends this backend made
 *     8 LAND       rendezvous payloads land (or fail)
 *     9 TEARDOWN   QP destroyed / to ERR / SQD / reset / reconnected,
 *                  MR deregistered, the whole context destroyed
 *    10 PEER       HELLO (good, wrong epoch, wrong address, unknown host),
 *                  peer failure, the directory's hosts and locations
 *    11 CQ         the guest consumes its CQ, arms it, scribbles on
 *                  its producer indices
 *    13 FREEZE     the side's guest suspends (Xen: its memory out of
 *                  reach, any access faults), or resumes
 *    14 FLOOD      a REQ step whose requests come many times each
 * (RAW also carries IB CM messages, XF_CM: the CM runs with the fabric
 * and answers them, a REJ to a REQ nobody listens for.)
 *
 * Every step reads its fields whatever the state, so that a mutation
 * changes one thing (fuzz/mkcorpus.py writes them).
 * Invariants, at every message this backend sends: it passes the checks
 * the receiving backend makes (proto.c).  At the end of every input, when
 * everything was torn down and the peers dropped: nothing leaked (objects,
 * quotas, the fabric's payload accounting back to 0, no send or landing
 * of the wire left, no host holding a peer), and no sanitizer report.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/fabric_msgs.h"
#include "fuzz/fabric_world.h"
#include "tests/common/fake_dir.h"
#include "tests/common/fake_wire.h"
#include "xenibd/cm/cm_hook.h"
#include "xenibd/fabric/fint.h"

/*
 * Messages of 1 MiB come and go: a smaller quarantine keeps the RSS of a
 * run (CI, a shared machine) well under its limit.
 */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "quarantine_size_mb=32";
}

/* Virtual time: the fabric's clock is xd.now_ns (-Wl,--wrap=xd_now_ns). */
uint64_t __wrap_xd_now_ns(void);
uint64_t __wrap_xd_now_ns(void)
{
	return xd.now_ns;
}

static unsigned int scanned;		/* sends of the log checked */
static bool trace;			/* FUZZ_TRACE: say what is sent */

static void fabric_run(void)
{
	uint64_t next = UINT64_MAX;

	xd_engine_poll(&next);
	xd_fabric_poll();
	xd_cm_tick(&next);	/* CM messages from other hosts (fcm.c) */
}

static void progress(void)
{
	xw_progress(fw_ctx());
}

/* ------------------------------------------------------------------ */
/* The local guests                                                    */

static void write_sge(struct fz_in *in, struct xenib_sge *g, struct ff_side *s,
		      uint32_t len)
{
	uint8_t k = fz_u8(in);

	g->addr = FZG_IOVA + (fz_u16(in) & 0xfff8);
	g->length = len;
	g->lkey = k & 0x80 ? fz_u32(in) : s->g.lkey;
}

/* A length of a WQE's buffer: mostly small, past a slice, anything. */
static uint32_t pick_len(struct fz_in *in)
{
	uint8_t k = fz_u8(in);

	if (k < 0xc0)
		return fz_u16(in) & 0x1fff;
	if (k >= 0xe0)
		return fz_u32(in);
	return (k & 1) * XD_SLICE_BYTES + fz_u16(in);
}

/* UD: an AH of ours by LID, by GID, to the other local guest, or any. */
static uint32_t pick_ah(struct fz_in *in, const struct ff_side *s)
{
	uint8_t k = fz_u8(in);

	switch (k & 3) {
	case 0:
		return s->ah_gid;
	case 1:
		return s->ah_local;
	case 2:
		return s->g.ah + (k >> 2);
	}
	return fz_u32(in);
}

/* The guest posts entry e on ring h (if it has room), producer *prod. */
static void post(struct ff_side *s, struct xenib_ring_hdr *h, uint32_t *prod,
		 const char *e)
{
	if (s->gone || s->frozen ||
	    *prod - xr_load_acquire(&h->cons) >= FZG_ENTRIES)
		return;
	memcpy(xr_entry(h, *prod, FZG_ENTRIES, FZG_STRIDE), e, FZG_STRIDE);
	xr_store_release(&h->prod, ++*prod);
}

static void step_post_send(struct fz_in *in, struct ff_side *s)
{
	static const uint32_t ops[] = {
		IBV_WR_SEND, IBV_WR_SEND_WITH_IMM, IBV_WR_RDMA_WRITE,
		IBV_WR_RDMA_WRITE_WITH_IMM, IBV_WR_RDMA_READ,
		IBV_WR_ATOMIC_CMP_AND_SWP, IBV_WR_ATOMIC_FETCH_AND_ADD,
		IBV_WR_SEND_WITH_INV,	/* its payload crossed hosts unsized */
	};
	uint8_t m = fz_u8(in), o = fz_u8(in);
	char e[FZG_STRIDE] = { 0 };
	struct xenib_send_wqe *w = (void *)e;
	struct xenib_sge *sge = (void *)(e + sizeof(*w));
	unsigned int i, n;
	uint32_t len;

	if (m & 1) {	/* the guest writes anything */
		fz_bytes(in, e, FZG_STRIDE);
		goto post;
	}
	w->wr_id = s->sq_prod;
	w->opcode = o & 0x80 ? fz_u32(in) :
		    ffw.type == FF_UD ? ops[o & 1] :
		    ffw.type == FF_UC ? ops[o % 4] : ops[o % 8];
	w->send_flags = (m & 2 ? IBV_SEND_SIGNALED : 0) |
			(m & 4 ? IBV_SEND_SOLICITED : 0);
	w->imm_data = 0x0a0b0c0d;
	w->remote_addr = ff_pick_addr(in);
	w->rkey = 0x1234;
	if (ff_is_atomic(w->opcode)) {
		w->compare_add = fz_u64(in);
		w->swap = fz_u64(in);
	}
	if (ffw.type == FF_UD) {
		w->remote_qkey = m & 16 ? 0x80000000u : FF_QKEY;
		w->ah = m & 32 ? pick_ah(in, s) : s->g.ah;
		w->remote_qpn = m & 64 ? fz_u32(in) : s->rqpn;
	} else if (ffw.type == FF_XRC) {
		w->remote_srqn = m & 64 ? fz_u32(in) : s->rsrqn;
	}
	if (m & 8 && ff_carries(w->opcode)) {
		w->send_flags |= IBV_SEND_INLINE;
		w->inline_len = fz_u8(in);
		memset(e + sizeof(*w), 0x5c, w->inline_len);
		goto post;
	}
	n = ff_is_atomic(w->opcode) ? 1 : 1 + (fz_u8(in) & 1);
	w->num_sge = n;
	for (i = 0; i < n; i++) {
		len = ff_is_atomic(w->opcode) ? 8 : pick_len(in);
		write_sge(in, &sge[i], s, len);
	}
post:
	post(s, s->g.sqh, &s->sq_prod, e);
	fabric_run();
}

static void step_post_recv(struct fz_in *in, struct ff_side *s)
{
	uint8_t m = fz_u8(in);
	char e[FZG_STRIDE] = { 0 };
	struct xenib_recv_wqe *w = (void *)e;
	struct xenib_sge *sge = (void *)(e + sizeof(*w));
	unsigned int i;
	uint32_t len;

	w->wr_id = 0x1000 + s->rq_prod;
	w->num_sge = m & 0x80 ? fz_u32(in) : 1 + (m & 1);
	for (i = 0; i < 2; i++) {
		len = m & 2 ? pick_len(in) : 8192;
		write_sge(in, &sge[i], s, len);
	}
	post(s, s->g.rqh, &s->rq_prod, e);
}

static void step_run(struct fz_in *in)
{
	uint8_t k = fz_u8(in);

	/* Time only moves forward; far enough to expire every timer. */
	if (k < 64)
		xd.now_ns += k * 1000ull;
	else if (k < 128)
		xd.now_ns += (k - 64) * 1000000ull;
	else
		xd.now_ns += (uint64_t)fz_u32(in) << 8;
	fabric_run();
}

static int pick_status(uint8_t k)
{
	static const int st[4] = { 0, 0, -ECONNRESET, -ECANCELED };

	return st[k & 3];
}

static void step_complete(struct fz_in *in)
{
	uint8_t m = fz_u8(in), i = fz_u8(in);
	unsigned int n = 0;

	if (m & 0x80) {		/* all of them (callbacks send more) */
		while (n++ < 256 && fw_complete_send(0, pick_status(m)))
			;
	} else if (fw_pending_sends()) {
		fw_complete_send(i % fw_pending_sends(), pick_status(m));
	}
	progress();
}

static void step_land(struct fz_in *in)
{
	uint8_t m = fz_u8(in), i = fz_u8(in);
	unsigned int n = 0;

	if (m & 0x80) {
		while (n++ < 256 && fw_land(0, pick_status(m)))
			;
	} else if (fw_pending_rx()) {
		fw_land(i % fw_pending_rx(), pick_status(m));
	}
	progress();
}

static void step_teardown(struct fz_in *in, struct ff_side *s)
{
	struct xenib_modify_qp_req req = { 0 };
	uint8_t k = fz_u8(in);

	/* A suspended guest asks nothing (Xen: no control channel then). */
	if (s->gone || (s->frozen && k % 11 != 7))
		return;
	switch (k % 11) {
	case 0:
		if (!s->g.qp_gone && !xd_qp_destroy(s->g.c.ctx, s->g.qpn))
			s->g.qp_gone = true;
		break;
	case 1:	/* XRC_RECV (the remote's requests then find none), SRQ */
		if (ffw.type == FF_XRC && !s->xrecv_gone &&
		    !xd_qp_destroy(s->g.c.ctx, s->g.xrecv))
			s->xrecv_gone = true;
		else if (s->g.srq != XENIB_INVALID_HANDLE)
			xd_srq_destroy(s->g.c.ctx, s->g.srq);	/* EBUSY */
		break;
	case 2:
		req.qpn = k & 0x80 && ffw.type == FF_XRC ? s->g.xrecv : s->g.qpn;
		req.attr_mask = IBV_QP_STATE;
		req.attr.qp_state = IBV_QPS_ERR;
		xd_qp_modify(s->g.c.ctx, &req);
		break;
	case 3:
		ff_qp_reset(s);
		break;
	case 4:
		ff_qp_init(s);
		break;
	case 5:
		ff_qp_rtr_rts(s);
		break;
	case 6:	/* a new connection: the remote starts at rq_psn again */
		ff_qp_reset(s);
		ff_qp_init(s);
		ff_qp_rtr_rts(s);
		s->rseq = s->rq_psn;
		break;
	case 7:
		ff_side_fini(s);
		break;
	case 8:
		xd_mr_dereg(s->g.c.ctx, s->g.lkey);
		break;
	case 9:	/* drain the SQ (and say so) */
	case 10:	/* and back */
		req.qpn = s->g.qpn;
		req.attr_mask = IBV_QP_STATE | (k & 0x80 ?
				IBV_QP_EN_SQD_ASYNC_NOTIFY : 0);
		req.attr.qp_state = k % 11 == 9 ? IBV_QPS_SQD : IBV_QPS_RTS;
		req.attr.en_sqd_async_notify = 1;
		xd_qp_modify(s->g.c.ctx, &req);
		break;
	}
}

static void step_peer(struct fz_in *in, struct ff_side *s)
{
	uint8_t k = fz_u8(in);
	struct ff_host *h = &ff_hosts[s->host], *o = &ff_hosts[!s->host];

	switch (k % 9) {
	case 0:
		fw_hello(h->hid, h->epoch, h->ip);
		break;
	case 1:	/* an earlier or later incarnation */
		fw_hello(h->hid, h->epoch + (k & 0x80 ? 1 : -1), h->ip);
		break;
	case 2:	/* another host's address */
		fw_hello(h->hid, h->epoch, k & 0x80 ? o->ip : "10.99.0.9");
		break;
	case 3:	/* a host the directory does not know */
		fw_hello(k & 0x80 ? fz_u32(in) : xf_hid("ffz-gone"), 1,
			 h->ip);
		break;
	case 4:
		fw_fail(h->hid, k & 0x80 ? -ETIMEDOUT : -ECONNRESET);
		break;
	case 5:	/* it leaves the directory */
		fd_host(h->id, NULL, 0);
		break;
	case 6:	/* back, or restarted (a new epoch) */
		if (k & 0x80)
			h->epoch++;
		fd_host(h->id, h->addr, h->epoch);
		break;
	case 7:	/* the remote guest moves to the other host, or nowhere */
		fd_loc(s->rlid, k & 0x80 ? NULL : k & 0x40 ? o->id : h->id);
		break;
	case 8:
		fw_set_max_inflight(k >> 4);
		break;
	}
	progress();
}

static void step_cq(struct fz_in *in, struct ff_side *s)
{
	uint8_t k = fz_u8(in);
	uint32_t v = 0, w = 0;

	if (k & 0x10)
		v = fz_u32(in);
	if (k & 0x20)
		w = fz_u32(in);
	if (s->gone || s->frozen)
		return;
	if (k & 1)
		xr_store_release(&s->g.cqh->cons,
				 xr_load_acquire(&s->g.cqh->prod));
	if (k & 2)
		xr_store_release(&s->g.cqh->armed, (k >> 2) & 3);
	if (k & 0x10)	/* the guest scribbles on its producer indices */
		xr_store_release(&s->g.sqh->prod, s->sq_prod + v);
	if (k & 0x20)
		xr_store_release(&s->g.rqh->prod, s->rq_prod + w);
}

/* ------------------------------------------------------------------ */
/* What this backend sent                                              */

static void bad_message(const struct fw_send *e, const char *what)
{
	unsigned int i;

	fprintf(stdout, "BAD MESSAGE SENT: %s (to host %08x, %zu header "
		"bytes, %zu payload):", what, e->host_id, e->hdr_len, e->len);
	for (i = 0; i < e->hdr_len; i++)
		fprintf(stdout, " %02x", e->hdr[i]);
	fprintf(stdout, "\n");
	fflush(stdout);
	abort();
}

/*
 * Every message this backend sends passes the receiver's checks; the
 * remote requester rewinds as a real one would, on the answers.
 */
static void scan_sent(void)
{
	for (; scanned < fw_nsent(); scanned++) {
		const struct fw_send *e = fw_sent(scanned);
		const struct xf_answer *a = (const void *)e->hdr;
		unsigned int i;

		if (trace)
			fprintf(stdout, "sent: kind %u to %08x, %zu bytes: "
				"lid %u qpn %u seq %u %s %u\n", e->hdr[3],
				e->host_id, e->len, *(uint16_t *)(e->hdr + 8),
				*(uint32_t *)(e->hdr + 12),
				*(uint32_t *)(e->hdr + (e->hdr[3] == XF_REQ ?
							20 : 20)),
				e->hdr[3] == XF_REQ ? "op" : "ack",
				e->hdr[3] == XF_REQ ?
				*(uint32_t *)(e->hdr + 32) : e->hdr[24]);
		switch (xf_kind(e->hdr, e->hdr_len)) {
		case XF_REQ:
			if (xf_check_req(e->hdr, e->hdr_len, e->len))
				bad_message(e, "request");
			continue;
		case XF_ANSWER:
		case XF_READ_RESP:
			if (xf_check_answer(e->hdr, e->hdr_len, e->len))
				bad_message(e, "answer");
			break;
		case XF_CM:
			if (xf_check_cm(e->hdr, e->hdr_len, e->len))
				bad_message(e, "CM message");
			continue;
		default:
			bad_message(e, "kind");
		}
		for (i = 0; i < 2; i++) {
			struct ff_side *s = &ffw.s[i];

			if (a->req_lid != s->rlid || a->req_qpn != s->rsend)
				continue;
			if (a->ack == XF_NAK_SEQ)
				s->rseq = a->expected;
			else if (a->ack == XD_NAK_RNR || a->ack == XD_BUSY ||
				 a->ack == XD_NO_ANSWER || a->ack == XD_PAUSED)
				s->rseq = a->seq;
		}
	}
}

static void step(struct fz_in *in)
{
	uint8_t op = fz_u8(in);
	struct ff_side *s = &ffw.s[op >> 7], *o = &ffw.s[!(op >> 7)];

	if (trace)
		fprintf(stdout, "step %u side %u\n", (op & 0x7f) % 15, op >> 7);
	switch ((op & 0x7f) % 15) {
	case 0:
		ff_step_req(in, s, o, 1);
		break;
	case 1:
		ff_step_answer(in, s);
		break;
	case 2:
		ff_step_read_resp(in, s);
		break;
	case 3:
		ff_step_raw(in, s);
		break;
	case 4:
		step_post_send(in, s);
		break;
	case 5:
		step_post_recv(in, s);
		break;
	case 6:
	case 12:
		step_run(in);
		break;
	case 7:
		step_complete(in);
		break;
	case 8:
		step_land(in);
		break;
	case 9:
		step_teardown(in, s);
		break;
	case 10:
		step_peer(in, s);
		break;
	case 11:
		step_cq(in, s);
		break;
	case 13:
		ff_freeze(s, !s->frozen);
		break;
	case 14:
		ff_step_req(in, s, o, 8 * (1 + fz_u8(in)));
		break;
	}
	scan_sent();
	/* What the wire holds of the fabric's is in its bounce accounting. */
	if (fw_pending_bytes() > xf.bounce_bytes) {
		fprintf(stdout, "UNACCOUNTED: the wire holds %llu payload bytes, "
			"the fabric accounts for %llu\n",
			(unsigned long long)fw_pending_bytes(),
			(unsigned long long)xf.bounce_bytes);
		fflush(stdout);
		abort();
	}
	if (trace)
		fprintf(stdout, "  cqes %u %u, held %u\n",
			ffw.s[0].gone ? 0 : ffw.s[0].g.cqh->prod,
			ffw.s[1].gone ? 0 : ffw.s[1].g.cqh->prod, xf_held());
}

/* ------------------------------------------------------------------ */
/* The end of an input                                                 */

/* Let everything in flight finish (status for all), a bounded while. */
static void drain(int status)
{
	unsigned int i, n;

	for (i = 0; i < 32 && (fw_pending_sends() || fw_pending_rx()); i++) {
		for (n = 0; n < 1024 && fw_land(0, status); n++)
			;
		for (n = 0; n < 1024 && fw_complete_send(0, status); n++)
			;
		xd.now_ns += 1000000;
		fabric_run();
		progress();
		scan_sent();
	}
}

/* Every peer down: what is in flight is cancelled. */
static void drop_peers(void)
{
	unsigned int i, round;

	for (round = 0; fw_npeers(); round++) {
		if (round == 16) {
			fprintf(stdout, "PEERS: %u left after dropping all\n",
				fw_npeers());
			fflush(stdout);
			abort();
		}
		for (i = 0; i < 2; i++)
			fw_fail(ff_hosts[i].hid, -ECONNRESET);
		fw_fail(xf_hid("ffz-gone"), -ECONNRESET);
		progress();
		scan_sent();
	}
}

static void check_fabric_empty(void)
{
	unsigned int i;

	if (fw_pending_sends() || fw_pending_rx() || fw_npeers()) {
		fprintf(stdout, "WIRE: %u sends, %u landings, %u peers left\n",
			fw_pending_sends(), fw_pending_rx(), fw_npeers());
		fflush(stdout);
		abort();
	}
	if (xf_held()) {
		fprintf(stdout, "HELD: %u answers still held\n", xf_held());
		fflush(stdout);
		abort();
	}
	if (xf.bounce_bytes) {
		fprintf(stdout, "BOUNCE: %llu bytes still accounted\n",
			(unsigned long long)xf.bounce_bytes);
		fflush(stdout);
		abort();
	}
	for (i = 0; i < 2; i++) {
		struct xf_host *h = xf_host_by_hid(ff_hosts[i].hid);

		if (!h || h->peer) {
			fprintf(stdout, "HOST %s: %s\n", ff_hosts[i].id,
				h ? "still holds a peer" : "gone");
			fflush(stdout);
			abort();
		}
	}
}

static void finish(uint8_t mode)
{
	switch (mode & 3) {
	case 0:		/* everything completes, then the guests go */
		drain(0);
		break;
	case 1:		/* the guests go first, their traffic in flight */
		ff_side_fini(&ffw.s[0]);
		ff_side_fini(&ffw.s[1]);
		drain(0);
		break;
	case 2:		/* the hosts go first */
		drop_peers();
		break;
	case 3:		/* everything in flight fails */
		drain(-ECONNRESET);
		break;
	}
	ff_side_fini(&ffw.s[0]);
	ff_side_fini(&ffw.s[1]);
	drop_peers();
	check_fabric_empty();
	fz_check_empty();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned int inflight[4] = { 0, 1, 4, 16 };
	struct fz_in in = { data, size };
	uint8_t type = fz_u8(&in), knobs = fz_u8(&in), mode;
	uint32_t psn = fz_u8(&in);
	unsigned int i;

	psn |= (uint32_t)fz_u8(&in) << 8;
	psn |= (uint32_t)fz_u8(&in) << 16;
	mode = fz_u8(&in);
	ff_init();
	trace = getenv("FUZZ_TRACE");
	scanned = 0;
	ff_world_start(type % FF_TYPES, psn, knobs);
	fw_set_max_inflight(inflight[(mode >> 3) & 3]);
	if (mode & 4)
		for (i = 0; i < 2; i++)
			fw_hello(ff_hosts[i].hid, ff_hosts[i].epoch,
				 ff_hosts[i].ip);
	while (in.left)
		step(&in);
	finish(mode);
	return 0;
}
