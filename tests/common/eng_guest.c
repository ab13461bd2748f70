// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* A guest whose SQs a test writes, for the engine through a test peer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/common/backend.h"
#include "tests/common/check.h"
#include "tests/common/eng_guest.h"

static uint32_t map(struct eg_guest *g, struct hv_shm *m, uint32_t flags)
{
	uint32_t h = 0;

	CHECK(!tb_region_map(g->ctx, m->fd, 0, m->len / XENIB_PAGE_SIZE,
			     flags, &h), "map region");
	return h;
}

static void guest_init(struct eg_guest *g, const char *name,
		       uint32_t buf_bytes)
{
	struct xenib_create_cq_req cr = { 0 };
	struct {
		struct xenib_reg_mr_req r;
		struct xenib_mr_seg seg;
	} mr = { 0 };
	struct hv_shm page;
	uint32_t h;
	int gfd, bfd;

	memset(g, 0, sizeof(*g));
	g->ctx = tb_ctx_new(NULL);
	g->ctx->guest = xd_guest_get(name);
	hv_shm_alloc(&page, XENIB_PAGE_SIZE, "xenib-test");
	map(g, &page, XENIB_REGION_CTX_PAGE);
	hv_notify_pair(&gfd, &bfd);
	CHECK(!tb_notify_bind(g->ctx, bfd, XENIB_NOTIFY_DOORBELL, &h),
	      "doorbell");
	CHECK(!xd_pd_alloc(g->ctx, &g->pd), "pd");
	hv_shm_alloc(&g->cqmem, xr_ring_bytes(EG_CQ_ENTRIES, 64),
		     "xenib-test");
	cr.ring = (struct xenib_ring_desc){ map(g, &g->cqmem, 0),
					    EG_CQ_ENTRIES, 0, 64, 0 };
	cr.notify = XENIB_INVALID_HANDLE;
	CHECK(!xd_cq_create(g->ctx, &cr, &g->cq), "cq");
	g->cqh = g->cqmem.va;
	hv_shm_alloc(&g->buf, buf_bytes, "xenib-test");
	mr.r.pd = g->pd;
	mr.r.access = IBV_ACCESS_LOCAL_WRITE;
	mr.r.iova = EG_IOVA;
	mr.r.length = buf_bytes;
	mr.r.nsegs = 1;
	mr.seg = (struct xenib_mr_seg){ map(g, &g->buf, 0), 0, 0, buf_bytes };
	CHECK(!xd_mr_reg(g->ctx, &mr.r, sizeof(mr), &g->lkey), "mr");
}

void eg_start(struct eg_guest *g, const char *name, uint32_t buf_bytes)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	xd_config_defaults(&xd.cfg);
	xd.cfg.max_guests = 4;
	if (xd_state_init())
		exit(1);
	xd.now_ns = 1000000000ull;
	guest_init(g, name, buf_bytes);
}

int eg_end(struct eg_guest *g)
{
	xd_peer_ops = &xd_local_peer;
	xd_ctx_destroy(g->ctx);
	g->ctx = NULL;
	CHECK(!xd.stats.qps && !xd.stats.mrs && !xd.stats.regions,
	      "everything reclaimed");
	return check_summary();
}

/* ------------------------------------------------------------------ */
/* The test peer                                                       */

static struct xd_peer test_peer_obj;
static eg_ready_fn *peer_ready;
static struct xd_peer_ops test_peer = { .name = "test" };

static bool t_resolve(struct xd_qp *qp, const struct xd_req *req,
		      struct xd_peer *out)
{
	out->ops = &test_peer;
	out->priv = &test_peer_obj;
	return true;
}

static enum xd_ack t_ready(struct xd_peer *p, struct xd_qp *qp,
			   const struct xd_req *req)
{
	return peer_ready ? peer_ready(p, qp, req) : XD_ACK;
}

void eg_peer_install(eg_ready_fn *ready, eg_op_fn *op,
		     eg_rx_ready_fn *rx_ready)
{
	peer_ready = ready;
	test_peer.resolve = t_resolve;
	test_peer.ready = t_ready;
	test_peer.send = test_peer.write = test_peer.read = op;
	test_peer.atomic = op;
	test_peer.rx_ready = rx_ready;
	xd_peer_ops = &test_peer;
}

/* ------------------------------------------------------------------ */
/* QPs and their SQs                                                   */

/* UD: INIT (with a Q_Key), RTR, RTS; nothing towards a remote. */
static void ud_up(struct eg_qp *q, struct xenib_modify_qp_req *m)
{
	m->attr_mask = IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT |
		       IBV_QP_QKEY;
	m->attr.qkey = EG_RKEY;
	CHECK(!xd_qp_modify(q->g->ctx, m), "UD INIT");
	m->attr_mask = IBV_QP_STATE;
	m->attr.qp_state = IBV_QPS_RTR;
	CHECK(!xd_qp_modify(q->g->ctx, m), "UD RTR");
	m->attr_mask = IBV_QP_STATE | IBV_QP_SQ_PSN;
	m->attr.qp_state = IBV_QPS_RTS;
	m->attr.sq_psn = EG_SQ_PSN;
	CHECK(!xd_qp_modify(q->g->ctx, m), "UD RTS");
}

void eg_qp_up(struct eg_guest *g, struct eg_qp *q, uint32_t type,
	      uint8_t timeout, uint8_t retry, uint8_t rnr)
{
	struct xenib_create_qp_req r = { 0 };
	struct xenib_modify_qp_req m = { 0 };
	uint32_t reg;

	memset(q, 0, sizeof(*q));
	q->g = g;
	hv_shm_alloc(&q->mem, 2 * xr_ring_bytes(EG_ENTRIES, EG_STRIDE),
		     "xenib-test");
	reg = map(g, &q->mem, 0);
	r.pd = g->pd;
	r.qp_type = type;
	r.send_cq = r.recv_cq = g->cq;
	r.srq = XENIB_INVALID_HANDLE;
	r.max_send_sge = 4;
	r.max_inline = 64;
	r.max_recv_sge = 1;
	r.sq = (struct xenib_ring_desc){ reg, EG_ENTRIES, 0, EG_STRIDE, 0 };
	r.rq = (struct xenib_ring_desc){ reg, EG_ENTRIES,
		xr_ring_bytes(EG_ENTRIES, EG_STRIDE), EG_STRIDE, 0 };
	CHECK(!xd_qp_create(g->ctx, &r, &q->qpn), "qp");
	q->sqh = q->mem.va;
	m.qpn = q->qpn;
	m.attr.qp_state = IBV_QPS_INIT;
	m.attr.port_num = 1;
	if (type == IBV_QPT_UD) {
		ud_up(q, &m);
		return;
	}
	m.attr_mask = IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT |
		      IBV_QP_ACCESS_FLAGS;
	CHECK(!xd_qp_modify(g->ctx, &m), "INIT");
	m.attr_mask = IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU |
		      IBV_QP_DEST_QPN | IBV_QP_RQ_PSN |
		      IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER;
	m.attr.qp_state = IBV_QPS_RTR;
	m.attr.path_mtu = IBV_MTU_4096;
	m.attr.dest_qp_num = EG_DEST_QPN;
	m.attr.ah.dlid = EG_DLID;
	m.attr.ah.port_num = 1;
	CHECK(!xd_qp_modify(g->ctx, &m), "RTR");
	m.attr_mask = IBV_QP_STATE | IBV_QP_SQ_PSN | IBV_QP_TIMEOUT |
		      IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY |
		      IBV_QP_MAX_QP_RD_ATOMIC;
	m.attr.qp_state = IBV_QPS_RTS;
	m.attr.sq_psn = EG_SQ_PSN;
	m.attr.timeout = timeout;
	m.attr.retry_cnt = retry;
	m.attr.rnr_retry = rnr;
	CHECK(!xd_qp_modify(g->ctx, &m), "RTS");
}

struct xd_qp *eg_qp(const struct eg_qp *q)
{
	return tb_qp(q->g->ctx, q->qpn);
}

int eg_qp_destroy(struct eg_qp *q)
{
	return xd_qp_destroy(q->g->ctx, q->qpn);
}

struct xenib_send_wqe *eg_wqe(struct eg_qp *q, uint64_t wr_id,
			      uint32_t opcode, uint64_t off, uint32_t len)
{
	char *e = xr_entry(q->sqh, q->sq_prod, EG_ENTRIES, EG_STRIDE);
	struct xenib_send_wqe *w = (void *)e;
	struct xenib_sge *s = (void *)(e + sizeof(*w));

	memset(e, 0, EG_STRIDE);
	w->wr_id = wr_id;
	w->opcode = opcode;
	w->send_flags = IBV_SEND_SIGNALED;
	w->num_sge = 1;
	w->remote_addr = EG_RADDR;
	w->rkey = EG_RKEY;
	s->addr = EG_IOVA + off;
	s->length = len;
	s->lkey = q->g->lkey;
	return w;
}

void eg_publish(struct eg_qp *q)
{
	xr_store_release(&q->sqh->prod, ++q->sq_prod);
}

void eg_post(struct eg_qp *q, uint64_t wr_id, uint32_t opcode, uint64_t off,
	     uint32_t len)
{
	eg_wqe(q, wr_id, opcode, off, len);
	eg_publish(q);
}

uint64_t eg_run(unsigned int rounds)
{
	uint64_t next = UINT64_MAX;

	while (rounds--) {
		next = UINT64_MAX;
		xd_engine_poll(&next);
	}
	return next;
}

void eg_answer(struct eg_qp *q, uint32_t seq, enum xd_ack ack)
{
	struct xd_answer a = { .ack = ack, .rnr_timer = 1 };

	xd_req_answer(eg_qp(q), seq, &a);
}

bool eg_poll_cqe(struct eg_guest *g, struct xenib_cqe *c)
{
	if (xr_load_acquire(&g->cqh->prod) == g->cq_cons)
		return false;
	memcpy(c, xr_entry(g->cqh, g->cq_cons, EG_CQ_ENTRIES, 64),
	       sizeof(*c));
	xr_store_release(&g->cqh->cons, ++g->cq_cons);
	return true;
}

const char *eg_cqes(struct eg_guest *g)
{
	static char out[64];
	struct xenib_cqe c;
	size_t n = 0;

	while (n < sizeof(out) - 1 && eg_poll_cqe(g, &c))
		out[n++] = c.status == IBV_WC_SUCCESS ? 'S' :
			   c.status == IBV_WC_WR_FLUSH_ERR ? 'F' :
			   c.status == IBV_WC_REM_ACCESS_ERR ? 'A' :
			   c.status == IBV_WC_RETRY_EXC_ERR ? 'R' :
			   c.status == IBV_WC_RNR_RETRY_EXC_ERR ? 'N' : '?';
	out[n] = 0;
	return out;
}
