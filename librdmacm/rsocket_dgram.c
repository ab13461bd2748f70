// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * rsockets, a datagram socket (rsocket_dgram.h): its UD QP, CQ and
 * buffers, made on the first call that needs them (rbind, rconnect, a
 * send or a receive), its completions, and the calls.  Finding a
 * destination is rsocket_dgram_sidr.c.
 */
#include <endian.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "rsocket_dgram.h"

static void sockaddr_of(const struct rs_dg_hdr *h,
			struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (le16toh(h->family) == AF_INET6) {
		struct sockaddr_in6 *s = (void *)ss;

		s->sin6_family = AF_INET6;
		s->sin6_port = h->port;
		memcpy(&s->sin6_addr, h->addr, 16);
	} else {
		struct sockaddr_in *s = (void *)ss;

		s->sin_family = AF_INET;
		s->sin_port = h->port;
		memcpy(&s->sin_addr, h->addr, 4);
	}
}

/* ------------------------------------------------------------------ */
/* Resources                                                           */

static int to_rts(struct ibv_qp *qp)
{
	struct ibv_qp_attr a;

	memset(&a, 0, sizeof(a));
	a.qp_state = IBV_QPS_INIT;
	a.port_num = 1;
	a.qkey = RDMA_UDP_QKEY;
	if (ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_PKEY_INDEX |
			  IBV_QP_PORT | IBV_QP_QKEY))
		return -1;
	a.qp_state = IBV_QPS_RTR;
	if (ibv_modify_qp(qp, &a, IBV_QP_STATE))
		return -1;
	a.qp_state = IBV_QPS_RTS;
	a.sq_psn = 0;
	return ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_SQ_PSN);
}

static int post_recv(struct rsock *rs, uint32_t idx)
{
	struct rs_dgram *d = rs->dg;
	struct ibv_sge sge = {
		(uintptr_t)(d->rbuf + (size_t)idx * RS_DG_RBUF), RS_DG_RBUF,
		d->rmr->lkey
	};
	struct ibv_recv_wr wr = { .wr_id = idx, .sg_list = &sge,
				  .num_sge = 1 }, *bad;

	return ibv_post_recv(d->qp, &wr, &bad);
}

static uint32_t count_of(int bytes, uint32_t lo, uint32_t hi)
{
	uint32_t n = bytes > 0 ? (uint32_t)bytes / RS_DG_MTU : 0;

	return n < lo ? lo : n > hi ? hi : n;
}

/* Bind (a wildcard, ephemeral port if need be), listen for SIDR, and
 * make the QP, its CQ and buffers. */
static int dg_setup(struct rsock *rs, const struct sockaddr *bind_to)
{
	struct rs_dgram *d = rs->dg;
	struct sockaddr_storage any;
	struct ibv_qp_init_attr qa;
	struct ibv_context **devs;
	uint32_t i;
	int err;

	if (d->ready)
		return 0;
	if (!bind_to) {
		memset(&any, 0, sizeof(any));
		any.ss_family = (sa_family_t)rs->domain;
		bind_to = (struct sockaddr *)&any;
	}
	if (rdma_bind_addr(rs->id, (struct sockaddr *)bind_to) ||
	    rdma_listen(rs->id, 1024))
		return errno ? errno : EINVAL;
	rs->state = RS_BOUND;
	d->verbs = rs->id->verbs;
	if (!d->verbs) {
		devs = rdma_get_devices(NULL);
		if (!devs || !devs[0]) {
			rdma_free_devices(devs);
			return ENODEV;
		}
		d->verbs = devs[0];
		rdma_free_devices(devs);
	}
	d->nr = count_of(rs->rcvbuf, 16, 1024);
	d->ns = count_of(rs->sndbuf, 16, 256);
	d->pd = ibv_alloc_pd(d->verbs);
	if (!d->pd)
		return errno ? errno : ENOMEM;
	err = rs_cq_open(rs, d->verbs, d->nr + d->ns);
	if (err)
		return err;
	rs_qp_attr(&qa, rs->cq, IBV_QPT_UD, d->ns, d->nr);
	d->qp = ibv_create_qp(d->pd, &qa);
	if (!d->qp || to_rts(d->qp))
		return errno ? errno : EIO;
	d->rbuf = rs_page_alloc((size_t)d->nr * RS_DG_RBUF);
	d->sbuf = rs_page_alloc((size_t)d->ns * RS_DG_MTU);
	d->rxq = calloc(d->nr, sizeof(*d->rxq));
	if (!d->rbuf || !d->sbuf || !d->rxq)
		return ENOMEM;
	d->rmr = ibv_reg_mr(d->pd, d->rbuf, (size_t)d->nr * RS_DG_RBUF,
			    IBV_ACCESS_LOCAL_WRITE);
	d->smr = ibv_reg_mr(d->pd, d->sbuf, (size_t)d->ns * RS_DG_MTU,
			    IBV_ACCESS_LOCAL_WRITE);
	if (!d->rmr || !d->smr)
		return errno ? errno : ENOMEM;
	for (i = 0; i < d->nr; i++)
		if (post_recv(rs, i))
			return EIO;
	err = rs_cq_notify(rs);
	if (err)
		return err;
	d->ready = true;
	return rs_dg_svc_add(rs);
}

int rs_dg_init(struct rsock *rs)
{
	rs->dg = calloc(1, sizeof(*rs->dg));
	if (!rs->dg)
		return ENOMEM;
	return rdma_create_id(rs->ch, &rs->id, rs, RDMA_PS_UDP) ? errno : 0;
}

void rs_dg_free(struct rsock *rs)
{
	struct rs_dgram *d = rs->dg;
	struct rs_dest *x;

	if (!d)
		return;
	while ((x = d->dests)) {
		d->dests = x->next;
		if (x->ah)
			ibv_destroy_ah(x->ah);
		free(x);
	}
	if (d->qp)
		ibv_destroy_qp(d->qp);
	if (d->rmr)
		ibv_dereg_mr(d->rmr);
	if (d->smr)
		ibv_dereg_mr(d->smr);
	rs_cq_close(rs);
	if (d->pd)
		ibv_dealloc_pd(d->pd);
	free(d->rbuf);
	free(d->sbuf);
	free(d->rxq);
	free(d);
	rs->dg = NULL;
}

static void dg_on_wc(struct rsock *rs, const struct ibv_wc *wc)
{
	struct rs_dgram *d = rs->dg;
	uint32_t idx = (uint32_t)wc->wr_id;
	const struct rs_dg_hdr *h;

	if (wc->wr_id & DG_SEND) {
		if (d->s_busy)
			d->s_busy--;
		return;
	}
	if (idx >= d->nr)
		return;
	h = (const void *)(d->rbuf + (size_t)idx * RS_DG_RBUF + RS_DG_GRH);
	if (wc->status != IBV_WC_SUCCESS ||
	    wc->byte_len < RS_DG_GRH + RS_DG_HDR ||
	    wc->byte_len > RS_DG_RBUF ||
	    le32toh(h->magic) != RS_DG_MAGIC ||
	    d->rx_cnt >= d->nr) {
		if (wc->status != IBV_WC_WR_FLUSH_ERR)
			post_recv(rs, idx);
		return;		/* not a datagram of ours */
	}
	d->rxq[(d->rx_head + d->rx_cnt) % d->nr] =
		(struct rs_rx){ idx, wc->byte_len - RS_DG_GRH - RS_DG_HDR, 0 };
	d->rx_cnt++;
}

int rs_dg_poll_cq(struct rsock *rs)
{
	return rs_cq_poll(rs, dg_on_wc);
}

void rs_dg_progress(struct rsock *rs)
{
	rs_dg_poll_cq(rs);
	rs_dg_cm(rs);
}

short rs_dg_revents(struct rsock *rs)
{
	struct rs_dgram *d = rs->dg;
	short ev = 0;

	if (d->rx_cnt)
		ev |= POLLIN;
	if (!d->ready || d->s_busy < d->ns)
		ev |= POLLOUT;
	return ev;
}

/* ------------------------------------------------------------------ */
/* The calls                                                           */

int rs_dg_bind(struct rsock *rs, const struct sockaddr *addr)
{
	if (rs->dg->ready)
		return EINVAL;
	return dg_setup(rs, addr);
}

int rs_dg_connect(struct rsock *rs, const struct sockaddr *addr,
		  socklen_t len)
{
	struct rs_dest *x;
	int err;

	if (rs_check_addr(addr, len))
		return EINVAL;
	err = dg_setup(rs, NULL);
	if (err)
		return err;
	/* As with UDP, connecting only names the default destination: a
	 * peer that is not there yet may come later. */
	memcpy(&rs->dg->conn, addr, rs_addr_len(addr));
	rs->dg->connected = true;
	x = rs_dg_resolve(rs, addr, &err);
	(void)x;
	return 0;
}

ssize_t rs_dg_sendv(struct rsock *rs, const struct iovec *iov, int iovcnt,
		    size_t total, int flags, const struct sockaddr *to,
		    socklen_t tolen)
{
	struct rs_dgram *d = rs->dg;
	struct ibv_send_wr wr, *bad;
	struct ibv_sge sge;
	struct rs_dest *x;
	size_t done = 0;
	char *slot;
	int i, err;

	if (total > RS_DG_MAXMSG) {
		errno = EMSGSIZE;
		return -1;
	}
	err = dg_setup(rs, NULL);
	if (err) {
		errno = err;
		return -1;
	}
	if (to && rs_check_addr(to, tolen)) {
		errno = EINVAL;
		return -1;
	}
	if (!to) {
		if (!d->connected) {
			errno = EDESTADDRREQ;
			return -1;
		}
		to = (const struct sockaddr *)&d->conn;
	}
	x = rs_dg_resolve(rs, to, &err);
	if (!x)
		return (ssize_t)total;	/* like UDP: to nowhere, just lost */
	while (d->s_busy >= d->ns) {
		rs_dg_progress(rs);
		if (d->s_busy < d->ns)
			break;
		if (rs_nonblock(rs, flags)) {
			errno = EAGAIN;
			return -1;
		}
		rs_wait(rs, -1);
	}
	slot = d->sbuf + (size_t)d->s_next * RS_DG_MTU;
	memcpy(slot, &x->src, RS_DG_HDR);
	for (i = 0; i < iovcnt && done < total; i++) {
		memcpy(slot + RS_DG_HDR + done, iov[i].iov_base, iov[i].iov_len);
		done += iov[i].iov_len;
	}
	sge.addr = (uintptr_t)slot;
	sge.length = (uint32_t)(RS_DG_HDR + total);
	sge.lkey = d->smr->lkey;
	memset(&wr, 0, sizeof(wr));
	wr.wr_id = DG_SEND | d->s_next;
	wr.opcode = IBV_WR_SEND;
	wr.sg_list = &sge;
	wr.num_sge = 1;
	wr.wr.ud.ah = x->ah;
	wr.wr.ud.remote_qpn = x->qpn;
	wr.wr.ud.remote_qkey = x->qkey;
	if (ibv_post_send(d->qp, &wr, &bad)) {
		errno = EIO;
		return -1;
	}
	d->s_next = (d->s_next + 1) % d->ns;
	d->s_busy++;
	return (ssize_t)total;
}

ssize_t rs_dg_recvv(struct rsock *rs, const struct iovec *iov, int iovcnt,
		    int flags, struct sockaddr *from, socklen_t *fromlen)
{
	struct rs_dgram *d = rs->dg;
	const struct rs_dg_hdr *h;
	struct sockaddr_storage ss;
	struct rs_rx *e;
	size_t done = 0;
	const char *p;
	int i, err;

	err = dg_setup(rs, NULL);
	if (err) {
		errno = err;
		return -1;
	}
	while (!d->rx_cnt) {
		rs_dg_progress(rs);
		if (d->rx_cnt)
			break;
		if (rs_nonblock(rs, flags)) {
			sched_yield();	/* a spinning caller: let the device run */
			errno = EAGAIN;
			return -1;
		}
		rs_wait(rs, -1);
	}
	e = &d->rxq[d->rx_head];
	h = (const void *)(d->rbuf + (size_t)e->idx * RS_DG_RBUF + RS_DG_GRH);
	p = (const char *)(h + 1);
	for (i = 0; i < iovcnt && done < e->len; i++) {
		size_t n = iov[i].iov_len;

		if (n > e->len - done)
			n = e->len - done;
		memcpy(iov[i].iov_base, p + done, n);
		done += n;
	}
	if (from && fromlen) {
		sockaddr_of(h, &ss);
		rs_copy_addr(from, fromlen, (struct sockaddr *)&ss);
	}
	if (!(flags & MSG_PEEK)) {
		if (flags & MSG_TRUNC)
			done = e->len;
		d->rx_head = (d->rx_head + 1) % d->nr;
		d->rx_cnt--;
		if (post_recv(rs, e->idx))
			cma_dbg("rsocket %d: reposting failed", rs->fd);
	}
	return (ssize_t)done;
}

int rs_dg_peername(struct rsock *rs, struct sockaddr *addr, socklen_t *len)
{
	if (!rs->dg->connected)
		return ENOTCONN;
	rs_copy_addr(addr, len, (const struct sockaddr *)&rs->dg->conn);
	return 0;
}
