// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * rsockets, a stream connection's ring (protocol: rsocket.h): its verbs
 * resources, sized from the socket's options; posting sends into the
 * peer's receive buffers against the credits it gave; control messages
 * (credit returns, FIN, and the io mappings of rsocket_iomap.c); and the
 * completions, which hand received buffers to rsocket_stream.c and give
 * credits back.
 *
 * Sends copy into registered send buffers (or go inline), so rsend returns
 * as soon as the bytes are queued, as a socket's does; receives copy out
 * of the receive buffers, which go back to the peer once emptied.
 */
#include <endian.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "rsocket.h"

#define WR_RECV		(1ull << 32)
#define WR_SLOT		(2ull << 32)
#define WR_NOSLOT	(3ull << 32)
#define WR_KIND(id)	((id) & ~0xffffffffull)
#define WR_IDX(id)	((uint32_t)(id))

#define RS_DEF_SQ	128u
#define RS_MAX_SQ	4096u
#define RS_CTL_INLINE	64u		/* control payloads go inline */
#define RS_MAX_INLINE	512u

static uint32_t clamp_u32(uint64_t v, uint32_t lo, uint32_t hi)
{
	return v < lo ? lo : v > hi ? hi : (uint32_t)v;
}

/* ------------------------------------------------------------------ */
/* Resources                                                           */

static void geometry(struct rsock *rs)
{
	uint32_t r = clamp_u32((uint32_t)rs->rcvbuf, 16384, 64u << 20);

	rs->bufsz = r >= 8 * 65536 ? 65536 : ((r / 8) & ~4095u);
	if (rs->bufsz < 4096)
		rs->bufsz = 4096;
	rs->nbuf = clamp_u32(r / rs->bufsz, 4, 256);
	if (rs->rqsize > 0)
		rs->nbuf = clamp_u32((uint32_t)rs->rqsize > RS_RESERVE ?
				     (uint32_t)rs->rqsize - RS_RESERVE : 0,
				     4, RS_MAX_NBUF);
	rs->nrwqe = rs->nbuf + RS_RESERVE;
	rs->sq_depth = rs->sqsize > 0 ?
		       clamp_u32((uint32_t)rs->sqsize, 8, RS_MAX_SQ) :
		       RS_DEF_SQ;
}

static int post_recvs(struct rsock *rs, const uint32_t *idx, uint32_t n)
{
	struct ibv_recv_wr wr[32], *bad;
	struct ibv_sge sge[32];
	uint32_t i, k;

	while (n) {
		k = n < 32 ? n : 32;
		for (i = 0; i < k; i++) {
			sge[i].addr = (uintptr_t)(rs->rbuf +
						  (size_t)idx[i] * rs->bufsz);
			sge[i].length = rs->bufsz;
			sge[i].lkey = rs->rmr->lkey;
			wr[i].wr_id = WR_RECV | idx[i];
			wr[i].sg_list = &sge[i];
			wr[i].num_sge = 1;
			wr[i].next = i + 1 < k ? &wr[i + 1] : NULL;
		}
		if (ibv_post_recv(rs->id->qp, wr, &bad))
			return EIO;
		idx += k;
		n -= k;
	}
	return 0;
}

int rs_resources(struct rsock *rs)
{
	struct ibv_context *verbs = rs->id->verbs;
	struct ibv_qp_init_attr attr;
	uint32_t i;
	int err;

	if (!verbs)
		return ENODEV;
	geometry(rs);
	err = rs_cq_open(rs, verbs, rs->sq_depth + rs->nrwqe);
	if (err)
		return err;
	rs_qp_attr(&attr, rs->cq, IBV_QPT_RC, rs->sq_depth, rs->nrwqe);
	attr.qp_context = rs;
	attr.cap.max_inline_data = clamp_u32((uint32_t)rs->inline_req,
					     RS_CTL_INLINE, RS_MAX_INLINE);
	if (rdma_create_qp(rs->id, NULL, &attr))
		return errno ? errno : ENOMEM;
	rs->inline_sz = (uint32_t)rs->inline_req < attr.cap.max_inline_data ?
			(uint32_t)rs->inline_req : attr.cap.max_inline_data;
	if (attr.cap.max_inline_data < RS_CTL_INLINE)
		return ENOTSUP;		/* control messages need inline */

	rs->rbuf = rs_page_alloc((size_t)rs->nrwqe * rs->bufsz);
	rs->rxq = calloc(rs->nrwqe, sizeof(*rs->rxq));
	rs->repost = calloc(rs->nrwqe, sizeof(*rs->repost));
	if (rs->iomap_size > 0)
		rs->lmaps = calloc((size_t)rs->iomap_size, sizeof(*rs->lmaps));
	if (!rs->rbuf || !rs->rxq || !rs->repost ||
	    (rs->iomap_size > 0 && !rs->lmaps))
		return ENOMEM;
	rs->nlmaps = (uint32_t)rs->iomap_size;
	rs->rmr = ibv_reg_mr(rs->id->qp->pd, rs->rbuf,
			     (size_t)rs->nrwqe * rs->bufsz,
			     IBV_ACCESS_LOCAL_WRITE);
	if (!rs->rmr)
		return errno ? errno : ENOMEM;
	for (i = 0; i < rs->nrwqe; i++)
		rs->repost[i] = i;
	if (post_recvs(rs, rs->repost, rs->nrwqe))
		return EIO;
	return rs_cq_notify(rs);
}

int rs_peer(struct rsock *rs, const struct rs_hello *peer)
{
	uint32_t max_slots = rs->sq_depth - RS_RESERVE - 2;

	rs->peer_nbuf = peer->nbuf;
	rs->peer_bufsz = peer->bufsz;
	rs->peer_iomap = peer->iomap_size;
	rs->credits = peer->nbuf + RS_RESERVE;
	rs->sbufsz = peer->bufsz;
	rs->nsbuf = clamp_u32((uint32_t)rs->sndbuf / rs->sbufsz, 2,
			      max_slots < 256 ? max_slots : 256);
	rs->sbuf = rs_page_alloc((size_t)rs->nsbuf * rs->sbufsz);
	if (!rs->sbuf)
		return ENOMEM;
	rs->smr = ibv_reg_mr(rs->id->qp->pd, rs->sbuf,
			     (size_t)rs->nsbuf * rs->sbufsz,
			     IBV_ACCESS_LOCAL_WRITE);
	if (!rs->smr)
		return errno ? errno : ENOMEM;
	if (rs->peer_iomap) {
		rs->rmaps = calloc(rs->peer_iomap, sizeof(*rs->rmaps));
		if (!rs->rmaps)
			return ENOMEM;
		rs->nrmaps = rs->peer_iomap;
	}
	return 0;
}

void rs_free_resources(struct rsock *rs)
{
	uint32_t i;

	if (rs->id && rs->id->qp)
		rdma_destroy_qp(rs->id);
	for (i = 0; i < rs->nlmaps; i++)
		if (rs->lmaps[i].mr)
			ibv_dereg_mr(rs->lmaps[i].mr);
	if (rs->smr)
		ibv_dereg_mr(rs->smr);
	if (rs->rmr)
		ibv_dereg_mr(rs->rmr);
	rs_cq_close(rs);
	free(rs->lmaps);
	free(rs->rmaps);
	free(rs->sbuf);
	free(rs->rbuf);
	free(rs->rxq);
	free(rs->repost);
	rs->lmaps = NULL;
	rs->rmaps = NULL;
	rs->sbuf = rs->rbuf = NULL;
	rs->rxq = NULL;
	rs->repost = NULL;
	rs->smr = rs->rmr = NULL;
	rs->nlmaps = rs->nrmaps = 0;
}

/* ------------------------------------------------------------------ */
/* Sending                                                             */

/* Connected, and neither side has hung up. */
static bool rs_live(const struct rsock *rs)
{
	return rs->state == RS_CONNECTED && !rs->disconnected &&
	       !rs->peer_gone;
}

bool rs_wr_room(const struct rsock *rs, uint32_t len)
{
	return rs->wr_busy < rs->sq_depth &&
	       (len <= rs->inline_sz || rs->s_busy < rs->nsbuf);
}

bool rs_can_send(const struct rsock *rs)
{
	return rs_live(rs) && !rs->wr_shut && !rs->iomap_pending &&
	       rs->credits > RS_RESERVE && rs_wr_room(rs, rs->sbufsz);
}

int rs_send_err(const struct rsock *rs)
{
	if (rs->wr_shut)
		return EPIPE;
	if (!rs_live(rs))
		return ECONNRESET;
	return 0;
}

bool rs_sends_done(const struct rsock *rs)
{
	return rs->wr_busy == 0 && !rs->fin_pending && !rs->iomap_pending;
}

/*
 * Post one send WR.  Payloads up to the inline size (control payloads
 * always) go inline; others are gathered into the next send slot.
 */
int rs_post(struct rsock *rs, enum ibv_wr_opcode op, uint32_t imm,
	    const struct iovec *iov, int iovcnt, size_t skip, uint32_t len,
	    bool force_inline, uint64_t raddr, uint32_t rkey)
{
	struct ibv_send_wr wr, *bad;
	struct ibv_sge sge;
	char tmp[RS_MAX_INLINE];
	char *dst;
	uint32_t done = 0;
	int i, err;

	memset(&wr, 0, sizeof(wr));
	wr.opcode = op;
	wr.imm_data = htobe32(imm);
	wr.wr.rdma.remote_addr = raddr;
	wr.wr.rdma.rkey = rkey;
	wr.wr_id = WR_NOSLOT;
	if (len) {
		bool inl = force_inline || len <= rs->inline_sz;

		if (inl) {
			dst = tmp;
		} else {
			dst = rs->sbuf + (size_t)rs->s_next * rs->sbufsz;
			wr.wr_id = WR_SLOT | rs->s_next;
		}
		for (i = 0; i < iovcnt && done < len; i++) {
			size_t n = iov[i].iov_len;
			const char *src = iov[i].iov_base;

			if (skip >= n) {
				skip -= n;
				continue;
			}
			src += skip;
			n -= skip;
			skip = 0;
			if (n > len - done)
				n = len - done;
			memcpy(dst + done, src, n);
			done += (uint32_t)n;
		}
		sge.addr = (uintptr_t)dst;
		sge.length = len;
		sge.lkey = inl ? 0 : rs->smr->lkey;
		wr.sg_list = &sge;
		wr.num_sge = 1;
		if (inl)
			wr.send_flags = IBV_SEND_INLINE;
	}
	err = ibv_post_send(rs->id->qp, &wr, &bad);
	if (err)
		return rs_ctl_fail(rs, err);
	if (WR_KIND(wr.wr_id) == WR_SLOT) {
		rs->s_next = (rs->s_next + 1) % rs->nsbuf;
		rs->s_busy++;
	}
	rs->wr_busy++;
	return 0;
}

/* A message into the peer's next buffer, returning our credits. */
int rs_send_msg(struct rsock *rs, enum rs_msg type,
		const struct iovec *iov, int iovcnt, size_t skip,
		uint32_t len, bool force_inline)
{
	uint32_t give = rs->unreported > 0xffff ? 0xffff : rs->unreported;
	bool low = rs->credits - 1 <= RS_RESERVE;
	int err;

	err = rs_post(rs, IBV_WR_SEND_WITH_IMM, RS_IMM(type, low, give), iov,
		      iovcnt, skip, len, force_inline, 0, 0);
	if (err)
		return err;
	rs->credits--;
	rs->unreported -= give;
	if (!rs->unreported)
		rs->peer_low = false;
	return 0;
}

bool rs_ctl_ok(const struct rsock *rs)
{
	return rs_live(rs) && rs->credits >= 1 && rs->wr_busy < rs->sq_depth;
}

/*
 * What waited for credit goes out in order: io mappings first (a peer
 * must know a mapping before data that tells it to look there), then the
 * FIN, then a credit return if the peer needs one.
 */
void rs_flush_ctrl(struct rsock *rs)
{
	if (rs_iomap_flush(rs))
		return;
	if (!rs->iomap_pending && rs->fin_pending && rs_ctl_ok(rs)) {
		if (rs_send_msg(rs, RS_MSG_FIN, NULL, 0, 0, 0, false))
			return;
		rs->fin_pending = false;
		rs->fin_sent = true;
	}
	if (rs->unreported &&
	    (rs->unreported >= (rs->nbuf / 2 ? rs->nbuf / 2 : 1) ||
	     rs->peer_low) && rs_ctl_ok(rs))
		rs_send_msg(rs, RS_MSG_CREDIT, NULL, 0, 0, 0, false);
}

void rs_send_fin(struct rsock *rs)
{
	if (rs->fin_sent || rs->fin_pending)
		return;
	rs->fin_pending = true;
	rs_flush_ctrl(rs);
}

/* ------------------------------------------------------------------ */
/* The completion queue                                                */

void rs_repost(struct rsock *rs, uint32_t idx)
{
	if (rs->nrepost < rs->nrwqe)
		rs->repost[rs->nrepost++] = idx;
}

void rs_flush_reposts(struct rsock *rs)
{
	if (!rs->nrepost)
		return;
	if (!rs->disconnected && !rs->peer_gone &&
	    post_recvs(rs, rs->repost, rs->nrepost))
		rs_ctl_fail(rs, EIO);
	else
		rs->unreported += rs->nrepost;
	rs->nrepost = 0;
}

static void on_recv(struct rsock *rs, const struct ibv_wc *wc)
{
	uint32_t idx = WR_IDX(wc->wr_id), imm, type;
	uint64_t credits;

	if (idx >= rs->nrwqe)
		return;
	if (!(wc->wc_flags & IBV_WC_WITH_IMM)) {
		rs_repost(rs, idx);
		rs_ctl_fail(rs, EPROTO);
		return;
	}
	imm = be32toh(wc->imm_data);
	type = RS_IMM_TYPE(imm);
	credits = (uint64_t)rs->credits + RS_IMM_CREDITS(imm);
	rs->credits = credits > rs->peer_nbuf + RS_RESERVE ?
		      rs->peer_nbuf + RS_RESERVE : (uint32_t)credits;
	if (RS_IMM_LOW(imm))
		rs->peer_low = true;
	switch (type) {
	case RS_MSG_DATA:
		if (!wc->byte_len || wc->byte_len > rs->bufsz || rs->rd_shut) {
			rs_repost(rs, idx);
			return;
		}
		rs->rxq[(rs->rx_head + rs->rx_cnt) % rs->nrwqe] =
			(struct rs_rx){ idx, wc->byte_len, 0 };
		rs->rx_cnt++;
		return;
	case RS_MSG_CREDIT:
		break;
	case RS_MSG_FIN:
		rs->fin_rcvd = true;
		break;
	case RS_MSG_IOMAP:
	case RS_MSG_IOUNMAP:
		rs_on_iomap(rs, type, rs->rbuf + (size_t)idx * rs->bufsz,
			    wc->byte_len);
		break;
	default:
		rs_ctl_fail(rs, EPROTO);
		break;
	}
	rs_repost(rs, idx);
}

static void on_wc(struct rsock *rs, const struct ibv_wc *wc)
{
	uint64_t kind = WR_KIND(wc->wr_id);

	if (kind == WR_RECV) {
		if (wc->status == IBV_WC_SUCCESS)
			on_recv(rs, wc);
		else if (wc->status != IBV_WC_WR_FLUSH_ERR)
			rs_ctl_fail(rs, ECONNRESET);
		return;
	}
	if (kind == WR_SLOT && rs->s_busy)
		rs->s_busy--;
	if (rs->wr_busy)
		rs->wr_busy--;
	if (wc->status != IBV_WC_SUCCESS &&
	    !rs->disconnected && !rs->peer_gone) {
		cma_dbg("rsocket %d: send failed: %s", rs->fd,
			ibv_wc_status_str(wc->status));
		rs->peer_gone = true;
		rs_ctl_fail(rs, ECONNRESET);
	}
}

int rs_poll_cq(struct rsock *rs)
{
	int n = rs_cq_poll(rs, on_wc);

	rs_flush_reposts(rs);
	return n;
}

void rs_progress(struct rsock *rs)
{
	if (rs->dg) {
		rs_dg_progress(rs);
		return;
	}
	rs_poll_cq(rs);
	rs_cm_progress(rs);
	if (rs->cq)
		rs_flush_ctrl(rs);
}
