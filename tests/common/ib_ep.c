// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* RC endpoints on xenib0 and the checks of their completions (ib_ep.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tests/common/ib_ep.h"

const struct qp_opts dflt = {
	.access = IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ |
		  IBV_ACCESS_REMOTE_ATOMIC,
	.min_rnr_timer = 1,
	.timeout = 10,
	.retry_cnt = 2,
	.rnr_retry = 2,
};

double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

const char *st(enum ibv_wc_status s)
{
	return ibv_wc_status_str(s);
}

const char *qps_name(int s)
{
	static const char *const n[] = { "RESET", "INIT", "RTR", "RTS",
					  "SQD", "SQE", "ERR" };

	return s >= 0 && s <= IBV_QPS_ERR ? n[s] : "?";
}

struct ibv_device *find_xenib0(struct ibv_device **list, int n)
{
	int i;

	for (i = 0; list && i < n; i++)
		if (!strcmp(ibv_get_device_name(list[i]), "xenib0"))
			return list[i];
	return NULL;
}

bool side_open(struct side *s, struct ibv_device *dev, size_t len)
{
	struct ibv_port_attr pa;
	int fl;

	s->ctx = ibv_open_device(dev);
	if (!s->ctx)
		return false;
	if (ibv_query_port(s->ctx, 1, &pa))
		return false;
	s->lid = pa.lid;
	/* get_async_event must never block: readiness comes from poll(). */
	fl = fcntl(s->ctx->async_fd, F_GETFL);
	if (fl < 0 || fcntl(s->ctx->async_fd, F_SETFL, fl | O_NONBLOCK))
		return false;
	s->pd = ibv_alloc_pd(s->ctx);
	if (!s->pd)
		return false;
	s->buf = aligned_alloc(4096, len);
	if (!s->buf)
		return false;
	s->len = len;
	memset(s->buf, 0, len);
	s->mr = ibv_reg_mr(s->pd, s->buf, len,
			   IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |
			   IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_ATOMIC);
	return s->mr;
}

void side_close(struct side *s)
{
	if (s->mr)
		ibv_dereg_mr(s->mr);
	if (s->pd)
		ibv_dealloc_pd(s->pd);
	if (s->ctx)
		ibv_close_device(s->ctx);
	free(s->buf);
	s->mr = NULL;
	s->pd = NULL;
	s->ctx = NULL;
	s->buf = NULL;
}

uint64_t va(const struct side *s, size_t off)
{
	return (uintptr_t)s->buf + off;
}

bool ep_create(struct ep *e, struct side *s, int scq_entries)
{
	struct ibv_qp_init_attr ia = {
		.qp_type = IBV_QPT_RC,
		.cap = {
			.max_send_wr = QP_DEPTH,
			.max_recv_wr = QP_DEPTH,
			.max_send_sge = 2,
			.max_recv_sge = 2,
			.max_inline_data = 64,
		},
	};

	memset(e, 0, sizeof(*e));
	e->s = s;
	e->scq = ibv_create_cq(s->ctx, scq_entries, NULL, NULL, 0);
	e->rcq = ibv_create_cq(s->ctx, 32, NULL, NULL, 0);
	if (!e->scq || !e->rcq)
		return false;
	ia.send_cq = e->scq;
	ia.recv_cq = e->rcq;
	e->qp = ibv_create_qp(s->pd, &ia);
	return e->qp;
}

void ep_destroy(struct ep *e)
{
	if (e->qp && ibv_destroy_qp(e->qp))
		result(false, "destroy QP of %s: %s", e->s->name,
		       strerror(errno));
	if (e->scq)
		ibv_destroy_cq(e->scq);
	if (e->rcq)
		ibv_destroy_cq(e->rcq);
	memset(e, 0, sizeof(*e));
}

void unpair(struct ep *a, struct ep *b)
{
	ep_destroy(a);
	ep_destroy(b);
}

int qp_init(struct ibv_qp *qp, unsigned int access)
{
	struct ibv_qp_attr a = {
		.qp_state = IBV_QPS_INIT,
		.port_num = 1,
		.qp_access_flags = access,
	};

	return ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_PKEY_INDEX |
			     IBV_QP_PORT | IBV_QP_ACCESS_FLAGS);
}

const int rtr_mask = IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU |
		      IBV_QP_DEST_QPN | IBV_QP_RQ_PSN |
		      IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER;

void rtr_attr_to(struct ibv_qp_attr *a, const struct ep_addr *to,
		 uint8_t min_rnr_timer)
{
	memset(a, 0, sizeof(*a));
	a->qp_state = IBV_QPS_RTR;
	a->path_mtu = IBV_MTU_1024;
	a->dest_qp_num = to->qpn;
	a->rq_psn = to->psn;
	a->max_dest_rd_atomic = 1;
	a->min_rnr_timer = min_rnr_timer;
	a->ah_attr.dlid = to->lid;
	a->ah_attr.port_num = 1;
}

void rtr_attr(struct ibv_qp_attr *a, const struct ep *peer,
	      uint8_t min_rnr_timer)
{
	struct ep_addr to = { peer->s->lid, peer->qp->qp_num, 0 };

	rtr_attr_to(a, &to, min_rnr_timer);
}

int qp_rtr(struct ep *e, const struct ep *peer, uint8_t min_rnr_timer)
{
	struct ibv_qp_attr a;

	rtr_attr(&a, peer, min_rnr_timer);
	return ibv_modify_qp(e->qp, &a, rtr_mask);
}

const int rts_mask = IBV_QP_STATE | IBV_QP_SQ_PSN | IBV_QP_TIMEOUT |
		      IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY |
		      IBV_QP_MAX_QP_RD_ATOMIC;

int qp_rts(struct ep *e, const struct qp_opts *o)
{
	struct ibv_qp_attr a = {
		.qp_state = IBV_QPS_RTS,
		.timeout = o->timeout,
		.retry_cnt = o->retry_cnt,
		.rnr_retry = o->rnr_retry,
		.max_rd_atomic = 1,
		.sq_psn = o->sq_psn,
	};

	return ibv_modify_qp(e->qp, &a, rts_mask);
}

int qp_to(struct ibv_qp *qp, enum ibv_qp_state s)
{
	struct ibv_qp_attr a = { .qp_state = s };

	return ibv_modify_qp(qp, &a, IBV_QP_STATE);
}

void ep_addr_of(const struct ep *e, const struct qp_opts *o,
		struct ep_addr *out)
{
	out->lid = e->s->lid;
	out->qpn = e->qp->qp_num;
	out->psn = o->sq_psn;
}

bool ep_connect(struct ep *e, const struct ep *peer, const struct qp_opts *o)
{
	return !qp_init(e->qp, o->access) &&
	       !qp_rtr(e, peer, o->min_rnr_timer) && !qp_rts(e, o);
}

bool ep_connect_to(struct ep *e, const struct ep_addr *to,
		   const struct qp_opts *o)
{
	struct ibv_qp_attr a;

	if (qp_init(e->qp, o->access))
		return false;
	rtr_attr_to(&a, to, o->min_rnr_timer);
	return !ibv_modify_qp(e->qp, &a, rtr_mask) && !qp_rts(e, o);
}

int qp_state(struct ibv_qp *qp)
{
	struct ibv_qp_attr a;
	struct ibv_qp_init_attr ia;

	if (ibv_query_qp(qp, &a, IBV_QP_STATE, &ia))
		return -1;
	return a.qp_state;
}

int post_send(struct ep *e, uint64_t wr_id, enum ibv_wr_opcode op,
	      uint64_t addr, uint32_t len, uint32_t lkey, uint64_t raddr,
	      uint32_t rkey)
{
	struct ibv_sge sge = { .addr = addr, .length = len, .lkey = lkey };
	struct ibv_send_wr wr = {
		.wr_id = wr_id,
		.sg_list = &sge,
		.num_sge = 1,
		.opcode = op,
		.send_flags = IBV_SEND_SIGNALED,
	}, *bad = NULL;

	if (op == IBV_WR_ATOMIC_CMP_AND_SWP || op == IBV_WR_ATOMIC_FETCH_AND_ADD) {
		wr.wr.atomic.remote_addr = raddr;
		wr.wr.atomic.rkey = rkey;
		wr.wr.atomic.compare_add = 0;
		wr.wr.atomic.swap = 1;
	} else {
		wr.wr.rdma.remote_addr = raddr;
		wr.wr.rdma.rkey = rkey;
	}
	return ibv_post_send(e->qp, &wr, &bad);
}

int post_atomic(struct ep *e, uint64_t wr_id, enum ibv_wr_opcode op,
		uint64_t laddr, uint32_t lkey, uint64_t raddr, uint32_t rkey,
		uint64_t compare_add, uint64_t swap)
{
	struct ibv_sge sge = { .addr = laddr, .length = 8, .lkey = lkey };
	struct ibv_send_wr wr = {
		.wr_id = wr_id,
		.sg_list = &sge,
		.num_sge = 1,
		.opcode = op,
		.send_flags = IBV_SEND_SIGNALED,
		.wr.atomic = { .remote_addr = raddr, .rkey = rkey,
			       .compare_add = compare_add, .swap = swap },
	}, *bad = NULL;

	return ibv_post_send(e->qp, &wr, &bad);
}

int post_recv(struct ep *e, uint64_t wr_id, uint64_t addr, uint32_t len,
	      uint32_t lkey)
{
	struct ibv_sge sge = { .addr = addr, .length = len, .lkey = lkey };
	struct ibv_recv_wr wr = { .wr_id = wr_id, .sg_list = &sge,
				  .num_sge = 1 }, *bad = NULL;

	return ibv_post_recv(e->qp, &wr, &bad);
}

/* Poll cq until n completions arrived or ms passed; returns the count. */
int wait_wc(struct ibv_cq *cq, struct ibv_wc *wc, int n, int ms)
{
	double end = now_ms() + ms;
	int got = 0;

	while (got < n) {
		int r = ibv_poll_cq(cq, n - got, wc + got);

		if (r < 0)
			return got;
		got += r;
		if (got < n) {
			if (now_ms() > end)
				break;
			usleep(200);
		}
	}
	return got;
}

/* Nothing completes on cq within ms. */
bool no_wc(struct ibv_cq *cq, int ms)
{
	struct ibv_wc wc;

	return wait_wc(cq, &wc, 1, ms) == 0;
}

/* One completion on cq within WAIT_MS with the given wr_id and status. */
bool expect_wc(struct ibv_cq *cq, const char *what, uint64_t wr_id,
	       enum ibv_wc_status status, struct ibv_wc *out)
{
	struct ibv_wc wc;
	bool ok;

	memset(&wc, 0, sizeof(wc));
	if (wait_wc(cq, &wc, 1, WAIT_MS) != 1) {
		result(false, "%s: %s (wr_id %llu): no completion", what,
		       st(status), (unsigned long long)wr_id);
		return false;
	}
	ok = wc.wr_id == wr_id && wc.status == status;
	result(ok, "%s: %s (wr_id %llu; got %s, wr_id %llu)", what, st(status),
	       (unsigned long long)wr_id, st(wc.status),
	       (unsigned long long)wc.wr_id);
	if (out)
		*out = wc;
	return ok;
}

bool async_readable(struct side *s, int ms)
{
	struct pollfd p = { .fd = s->ctx->async_fd, .events = POLLIN };

	return poll(&p, 1, ms) == 1 && (p.revents & POLLIN);
}

/* Next async event of s within ms (acknowledged); false if none. */
bool async_next(struct side *s, int ms, struct ibv_async_event *out)
{
	struct ibv_async_event ev;
	double end = now_ms() + ms;

	for (;;) {
		double left = end - now_ms();

		if (!async_readable(s, left > 0 ? (int)left : 0))
			return false;
		if (!ibv_get_async_event(s->ctx, &ev)) {
			*out = ev;
			ibv_ack_async_event(&ev);
			return true;
		}
		if (errno != EAGAIN || now_ms() > end)
			return false;
	}
}

void async_drain(struct side *s)
{
	struct ibv_async_event ev;

	while (async_next(s, 0, &ev))
		;
}

/* The next async event of s is type, about qp (or cq). */
void expect_async(struct side *s, const char *what, enum ibv_event_type type,
		  struct ibv_qp *qp, struct ibv_cq *cq)
{
	struct ibv_async_event ev;

	if (!async_next(s, WAIT_MS, &ev)) {
		result(false, "%s: async event %s on %s: none", what,
		       ibv_event_type_str(type), s->name);
		return;
	}
	result(ev.event_type == type &&
	       (qp ? ev.element.qp == qp : ev.element.cq == cq),
	       "%s: async event %s on %s's context (got %s)", what,
	       ibv_event_type_str(type), s->name,
	       ibv_event_type_str(ev.event_type));
}

void expect_state(struct ibv_qp *qp, const char *who, int want)
{
	int s = qp_state(qp);

	result(s == want, "%s QP state %s (got %s)", who, qps_name(want),
	       qps_name(s));
}

void expect_no_async(struct side *s, const char *what)
{
	struct ibv_async_event ev;
	bool got = async_next(s, 0, &ev);

	result(!got, "%s: no async event on %s%s%s", what, s->name,
	       got ? "; got " : "", got ? ibv_event_type_str(ev.event_type) : "");
}
