// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * rsockets, a socket's completion queue, the same for a stream socket
 * (rsocket_ring.c) and a datagram one (rsocket_dgram.c): the CQ, its
 * completion channel, the QP attributes that put a QP on it, polling and
 * arming.
 *
 * The completion channel is non-blocking: a wait sleeps in poll on its
 * fd (rsocket_poll.c), never in the verbs.  The CQ is armed only when a
 * caller is about to sleep, and looked at once more after arming, so
 * that a completion that came before the arm is not slept through.
 */
#include <string.h>

#include "rsocket.h"

int rs_cq_open(struct rsock *rs, struct ibv_context *verbs, uint32_t cqe)
{
	int err;

	rs->cc = ibv_create_comp_channel(verbs);
	if (!rs->cc)
		return errno ? errno : ENOMEM;
	err = rs_set_nonblock(rs->cc->fd);
	if (err)
		return err;
	rs->cq = ibv_create_cq(verbs, (int)cqe, rs, rs->cc, 0);
	if (!rs->cq)
		return errno ? errno : ENOMEM;
	return 0;
}

void rs_cq_close(struct rsock *rs)
{
	if (rs->cq)
		ibv_destroy_cq(rs->cq);
	if (rs->cc)
		ibv_destroy_comp_channel(rs->cc);
	rs->cq = NULL;
	rs->cc = NULL;
}

void rs_qp_attr(struct ibv_qp_init_attr *a, struct ibv_cq *cq,
		enum ibv_qp_type type, uint32_t nsend, uint32_t nrecv)
{
	memset(a, 0, sizeof(*a));
	a->send_cq = cq;
	a->recv_cq = cq;
	a->qp_type = type;
	a->sq_sig_all = 1;	/* every send's completion frees its slot */
	a->cap.max_send_wr = nsend;
	a->cap.max_recv_wr = nrecv;
	a->cap.max_send_sge = 1;
	a->cap.max_recv_sge = 1;
}

int rs_cq_notify(struct rsock *rs)
{
	if (ibv_req_notify_cq(rs->cq, 0))
		return EIO;
	rs->cq_armed = true;
	return 0;
}

int rs_cq_poll(struct rsock *rs,
	       void (*one)(struct rsock *rs, const struct ibv_wc *wc))
{
	struct ibv_wc wc[32];
	int n, i, total = 0;

	if (!rs->cq)
		return 0;
	while ((n = ibv_poll_cq(rs->cq, 32, wc)) > 0) {
		total += n;
		for (i = 0; i < n; i++)
			one(rs, &wc[i]);
	}
	return total;
}

bool rs_arm(struct rsock *rs)
{
	struct ibv_cq *cq;
	void *ctx;

	if (!rs->cq)
		return false;
	/* An event taken means the CQ fired and is no longer armed; what
	 * fired it is in the CQ, looked at below. */
	while (rs->cc && !ibv_get_cq_event(rs->cc, &cq, &ctx)) {
		ibv_ack_cq_events(cq, 1);
		rs->cq_armed = false;
	}
	if (!rs->cq_armed && rs_cq_notify(rs))
		return false;
	if (rs->dg)
		return rs_dg_poll_cq(rs) > 0;
	if (rs_poll_cq(rs) <= 0)
		return false;
	rs_flush_ctrl(rs);	/* what came may have brought credits */
	return true;
}
