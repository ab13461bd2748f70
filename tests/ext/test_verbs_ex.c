// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Extended verbs on xenib0 through our libibverbs and a real xenibd:
 * ibv_create_qp_ex + the ibv_wr_* API (every RC operation, inline data,
 * SGE lists, abort, unsupported operations, a full ring), ibv_create_cq_ex
 * + ibv_start_poll & co. (fields, timestamps, ENOENT), ibv_resize_cq with
 * unpolled completions, and one completion channel shared by many CQs and
 * QPs.  Data is checked byte for byte.  Prints one PASS/FAIL line per check.
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>

#include <infiniband/verbs.h>
#include "tests/common/check.h"
#include "tests/common/rc_connect.h"

#define BUF_SIZE	65536
#define DEPTH		16
#define WAIT_MS		3000
#define NPAIRS		4	/* QP pairs sharing one completion channel */

static struct ibv_context *ctx;
static struct ibv_pd *pd;
static struct ibv_mr *mr;
static char *buf;
static uint16_t lid;

static uint64_t va(size_t off)
{
	return (uintptr_t)buf + off;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* ------------------------------------------------------------ QP set-up */

static int connect_qp(struct ibv_qp *qp, uint32_t dest)
{
	static const struct test_rc_opts o = {
		.access = IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ |
			  IBV_ACCESS_REMOTE_ATOMIC,
		.mtu = IBV_MTU_1024, .rd_atomic = 4, .min_rnr_timer = 1,
		.timeout = 14, .retry_cnt = 7, .rnr_retry = 7,
	};

	return test_rc_connect(qp, dest, lid, &o);
}

static const uint64_t all_rc_ops = IBV_QP_EX_WITH_SEND |
	IBV_QP_EX_WITH_SEND_WITH_IMM | IBV_QP_EX_WITH_RDMA_WRITE |
	IBV_QP_EX_WITH_RDMA_WRITE_WITH_IMM | IBV_QP_EX_WITH_RDMA_READ |
	IBV_QP_EX_WITH_ATOMIC_CMP_AND_SWP | IBV_QP_EX_WITH_ATOMIC_FETCH_AND_ADD;

static struct ibv_qp *qp_ex(struct ibv_cq *scq, struct ibv_cq *rcq,
			    uint32_t mask, uint64_t ops)
{
	struct ibv_qp_init_attr_ex ia = {
		.send_cq = scq,
		.recv_cq = rcq,
		.qp_type = IBV_QPT_RC,
		.cap = { .max_send_wr = DEPTH, .max_recv_wr = DEPTH,
			 .max_send_sge = 2, .max_recv_sge = 2,
			 .max_inline_data = 64 },
		.comp_mask = IBV_QP_INIT_ATTR_PD | mask,
		.pd = pd,
		.send_ops_flags = ops,
	};

	return ibv_create_qp_ex(ctx, &ia);
}

static int post_recv(struct ibv_qp *qp, uint64_t wr_id, size_t off,
		     uint32_t len)
{
	struct ibv_sge sge = { .addr = va(off), .length = len,
			       .lkey = mr->lkey };
	struct ibv_recv_wr wr = { .wr_id = wr_id, .sg_list = &sge,
				  .num_sge = 1 }, *bad;

	return ibv_post_recv(qp, &wr, &bad);
}

/* ------------------------------------------------------------ CQ helpers */

struct cqe {
	uint64_t wr_id;
	int status, opcode;
	uint32_t byte_len, qp_num, wc_flags;
	uint32_t imm;
	uint64_t ts;
};

/* Poll cq (extended) until n completions or WAIT_MS; returns how many. */
static int poll_ex(struct ibv_cq_ex *cq, struct cqe *out, int n, bool ts)
{
	struct ibv_poll_cq_attr pa = { 0 };
	double end = now_ms() + WAIT_MS;
	int got = 0, ret;

	while (got < n && now_ms() < end) {
		ret = ibv_start_poll(cq, &pa);
		if (ret == ENOENT)
			continue;
		if (ret)
			return -ret;
		do {
			struct cqe *c = &out[got++];

			c->wr_id = cq->wr_id;
			c->status = cq->status;
			c->opcode = ibv_wc_read_opcode(cq);
			c->byte_len = ibv_wc_read_byte_len(cq);
			c->qp_num = ibv_wc_read_qp_num(cq);
			c->wc_flags = ibv_wc_read_wc_flags(cq);
			c->imm = ntohl(ibv_wc_read_imm_data(cq));
			c->ts = ts ? ibv_wc_read_completion_ts(cq) : 0;
			ret = got < n ? ibv_next_poll(cq) : ENOENT;
		} while (!ret);
		ibv_end_poll(cq);
		if (ret != ENOENT)
			return -ret;
	}
	return got;
}

static bool cq_empty_for(struct ibv_cq_ex *cq, int ms)
{
	struct ibv_poll_cq_attr pa = { 0 };
	double end = now_ms() + ms;

	while (now_ms() < end) {
		if (ibv_start_poll(cq, &pa) != ENOENT) {
			ibv_end_poll(cq);
			return false;
		}
	}
	return true;
}

/* ------------------------------------------------------------ cases */

static struct ibv_cq_ex *scqx, *rcqx;
static struct ibv_qp *qa, *qb;
static struct ibv_qp_ex *xa;

static void case_negative_create(void)
{
	struct ibv_cq_init_attr_ex ca = {
		.cqe = 8,
		.wc_flags = IBV_WC_EX_WITH_FLOW_TAG,
	};
	struct ibv_cq_ex *cqx;
	struct ibv_qp *qp;
	struct ibv_cq *cq;
	int e;

	errno = 0;
	cqx = ibv_create_cq_ex(ctx, &ca);
	e = errno;
	result(!cqx && e == EOPNOTSUPP,
	       "create_cq_ex with WC_EX_WITH_FLOW_TAG fails with EOPNOTSUPP (%s)",
	       strerror(e));
	cq = ibv_create_cq(ctx, 8, NULL, NULL, 0);
	errno = 0;
	qp = qp_ex(cq, cq, IBV_QP_INIT_ATTR_SEND_OPS_FLAGS,
		   IBV_QP_EX_WITH_SEND | IBV_QP_EX_WITH_LOCAL_INV |
		   IBV_QP_EX_WITH_BIND_MW | IBV_QP_EX_WITH_SEND_WITH_INV);
	result(qp != NULL,
	       "create_qp_ex with send_ops LOCAL_INV, BIND_MW, SEND_WITH_INV (RC) works");
	if (qp)
		ibv_destroy_qp(qp);
	errno = 0;
	qp = qp_ex(cq, cq, IBV_QP_INIT_ATTR_SEND_OPS_FLAGS,
		   IBV_QP_EX_WITH_SEND | IBV_QP_EX_WITH_TSO);
	result(!qp && errno == EOPNOTSUPP,
	       "create_qp_ex with send_ops TSO fails with EOPNOTSUPP (%s)",
	       strerror(errno));
	errno = 0;
	qp = qp_ex(cq, cq, IBV_QP_INIT_ATTR_MAX_TSO_HEADER, 0);
	result(!qp && errno == EOPNOTSUPP,
	       "create_qp_ex with MAX_TSO_HEADER fails with EOPNOTSUPP (%s)",
	       strerror(errno));
	/* A QP without SEND_OPS_FLAGS has no ibv_qp_ex. */
	qp = qp_ex(cq, cq, IBV_QP_INIT_ATTR_CREATE_FLAGS, 0);
	result(qp != NULL, "create_qp_ex with create_flags 0 works");
	if (qp) {
		errno = 0;
		result(!ibv_qp_to_qp_ex(qp) && errno == EOPNOTSUPP,
		       "ibv_qp_to_qp_ex of a QP without SEND_OPS_FLAGS: NULL, EOPNOTSUPP");
		ibv_destroy_qp(qp);
	}
	ibv_destroy_cq(cq);
}

/* send + send_imm(inline) + write(2 SGEs) + write_imm in one batch. */
static void case_batch(void)
{
	struct ibv_sge two[2] = {
		{ .addr = va(0x100), .length = 100, .lkey = mr->lkey },
		{ .addr = va(0x200), .length = 28, .lkey = mr->lkey },
	};
	struct cqe s[4], r[3];
	char msg[] = "inline hello";
	int i, n, err;

	memset(buf, 0, BUF_SIZE);
	for (i = 0; i < 0x400; i++)
		buf[i] = (char)(i * 7 + 1);
	for (i = 0; i < 3; i++)
		post_recv(qb, 100 + i, 0x8000 + i * 0x1000, 0x1000);

	ibv_wr_start(xa);
	xa->wr_id = 1;
	xa->wr_flags = IBV_SEND_SIGNALED;
	ibv_wr_send(xa);
	ibv_wr_set_sge(xa, mr->lkey, va(0), 64);
	xa->wr_id = 2;
	ibv_wr_send_imm(xa, htonl(0x11223344));
	ibv_wr_set_inline_data(xa, msg, sizeof(msg));
	xa->wr_id = 3;
	ibv_wr_rdma_write(xa, mr->rkey, va(0x4000));
	ibv_wr_set_sge_list(xa, 2, two);
	xa->wr_id = 4;
	ibv_wr_rdma_write_imm(xa, mr->rkey, va(0x5000), htonl(0xcafe));
	ibv_wr_set_sge(xa, mr->lkey, va(0x300), 16);
	err = ibv_wr_complete(xa);
	result(!err, "wr_complete of a 4-WQE batch: %s", strerror(err));

	n = poll_ex(scqx, s, 4, true);
	result(n == 4, "4 send completions via start_poll/next_poll (%d)", n);
	for (i = 0; i < n; i++)
		result(s[i].wr_id == (uint64_t)i + 1 && !s[i].status &&
		       s[i].qp_num == qa->qp_num && s[i].ts,
		       "send CQE %d: wr_id %llu status %d qpn ok %d ts %llu",
		       i, (unsigned long long)s[i].wr_id, s[i].status,
		       s[i].qp_num == qa->qp_num, (unsigned long long)s[i].ts);
	if (n == 4)
		result(s[0].opcode == IBV_WC_SEND && s[1].opcode == IBV_WC_SEND &&
		       s[2].opcode == IBV_WC_RDMA_WRITE &&
		       s[3].opcode == IBV_WC_RDMA_WRITE &&
		       s[0].ts <= s[3].ts,
		       "send CQE opcodes and timestamp order");

	n = poll_ex(rcqx, r, 3, true);
	result(n == 3, "3 receive completions (%d)", n);
	if (n == 3) {
		result(r[0].wr_id == 100 && r[0].byte_len == 64 &&
		       r[0].opcode == IBV_WC_RECV &&
		       !(r[0].wc_flags & IBV_WC_WITH_IMM),
		       "recv 1: plain send, 64 bytes");
		result(r[1].wr_id == 101 && r[1].byte_len == sizeof(msg) &&
		       (r[1].wc_flags & IBV_WC_WITH_IMM) &&
		       r[1].imm == 0x11223344,
		       "recv 2: send with imm 0x%x (inline), %u bytes",
		       r[1].imm, r[1].byte_len);
		result(r[2].wr_id == 102 &&
		       r[2].opcode == IBV_WC_RECV_RDMA_WITH_IMM &&
		       (r[2].wc_flags & IBV_WC_WITH_IMM) && r[2].imm == 0xcafe,
		       "recv 3: RDMA write with imm 0x%x", r[2].imm);
	}
	result(!memcmp(buf + 0x8000, buf, 64), "send payload arrived intact");
	result(!memcmp(buf + 0x9000, msg, sizeof(msg)),
	       "inline payload arrived intact");
	result(!memcmp(buf + 0x4000, buf + 0x100, 100) &&
	       !memcmp(buf + 0x4000 + 100, buf + 0x200, 28),
	       "RDMA write with a 2-entry SGE list gathered correctly");
	result(!memcmp(buf + 0x5000, buf + 0x300, 16),
	       "RDMA write with imm payload intact");
}

static void case_read_atomics(void)
{
	uint64_t *remote = (uint64_t *)(buf + 0x6000);
	uint64_t *local = (uint64_t *)(buf + 0x6100);
	struct cqe s[3];
	int n, err;

	memset(buf + 0x7000, 0x5a, 256);
	*remote = 40;
	ibv_wr_start(xa);
	xa->wr_flags = IBV_SEND_SIGNALED;
	xa->wr_id = 20;
	ibv_wr_rdma_read(xa, mr->rkey, va(0x7000));
	ibv_wr_set_sge(xa, mr->lkey, va(0x7400), 256);
	xa->wr_id = 21;
	ibv_wr_atomic_fetch_add(xa, mr->rkey, va(0x6000), 2);
	ibv_wr_set_sge(xa, mr->lkey, va(0x6100), 8);
	xa->wr_id = 22;
	ibv_wr_atomic_cmp_swp(xa, mr->rkey, va(0x6000), 42, 1000);
	ibv_wr_set_sge(xa, mr->lkey, va(0x6108), 8);
	err = ibv_wr_complete(xa);
	result(!err, "wr_complete of read + fetch_add + cmp_swp: %s",
	       strerror(err));
	n = poll_ex(scqx, s, 3, false);
	result(n == 3 && !s[0].status && !s[1].status && !s[2].status &&
	       s[0].opcode == IBV_WC_RDMA_READ &&
	       s[1].opcode == IBV_WC_FETCH_ADD &&
	       s[2].opcode == IBV_WC_COMP_SWAP,
	       "read/atomic completions (%d)", n);
	result(!memcmp(buf + 0x7400, buf + 0x7000, 256), "RDMA read data");
	result(local[0] == 40 && local[1] == 42 && *remote == 1000,
	       "fetch_add returned 40, cmp_swp saw 42, remote now %llu",
	       (unsigned long long)*remote);
}

static void case_abort_and_errors(void)
{
	struct cqe s[1];
	int err, i, n;

	ibv_wr_start(xa);
	xa->wr_id = 30;
	xa->wr_flags = IBV_SEND_SIGNALED;
	ibv_wr_rdma_write(xa, mr->rkey, va(0x4000));
	ibv_wr_set_sge(xa, mr->lkey, va(0), 8);
	ibv_wr_abort(xa);
	result(cq_empty_for(scqx, 200), "wr_abort: nothing executed");

	ibv_wr_start(xa);
	xa->wr_id = 31;
	ibv_wr_rdma_write(xa, mr->rkey, va(0x4000));
	ibv_wr_set_sge(xa, mr->lkey, va(0), 8);
	n = ibv_wr_complete(xa);
	n = n ? -1 : poll_ex(scqx, s, 1, false);
	result(n == 1 && s[0].wr_id == 31,
	       "batch after an abort executes (wr_id %llu)",
	       n == 1 ? (unsigned long long)s[0].wr_id : 0ull);

	ibv_wr_start(xa);
	xa->wr_id = 32;
	ibv_wr_send_inv(xa, 0x1234);
	err = ibv_wr_complete(xa);
	result(err == EINVAL,
	       "wr_send_inv on a QP without IBV_QP_EX_WITH_SEND_WITH_INV: EINVAL (%s)",
	       strerror(err));
	ibv_wr_start(xa);
	ibv_wr_local_inv(xa, 0x1234);
	err = ibv_wr_complete(xa);
	result(err == EINVAL,
	       "wr_local_inv on a QP without IBV_QP_EX_WITH_LOCAL_INV: EINVAL");
	ibv_wr_start(xa);
	ibv_wr_rdma_write(xa, mr->rkey, va(0x4000));
	ibv_wr_set_inline_data(xa, buf, 4096);	/* > max_inline */
	err = ibv_wr_complete(xa);
	result(err == EINVAL, "inline data above max_inline: EINVAL (%s)",
	       strerror(err));
	ibv_wr_start(xa);
	for (i = 0; i < DEPTH + 1; i++) {
		xa->wr_id = 40 + i;
		ibv_wr_rdma_write(xa, mr->rkey, va(0x4000));
		ibv_wr_set_sge(xa, mr->lkey, va(0), 8);
	}
	err = ibv_wr_complete(xa);
	result(err == ENOMEM, "batch larger than the SQ: ENOMEM (%s)",
	       strerror(err));
	result(cq_empty_for(scqx, 200), "failed batches executed nothing");
}

static void case_resize(void)
{
	struct ibv_cq *scq = ibv_cq_ex_to_cq(scqx);
	struct cqe s[8];
	int i, n, err, ok = 1;

	ibv_wr_start(xa);
	xa->wr_flags = IBV_SEND_SIGNALED;
	for (i = 0; i < 5; i++) {
		xa->wr_id = 50 + i;
		ibv_wr_rdma_write(xa, mr->rkey, va(0x4000));
		ibv_wr_set_sge(xa, mr->lkey, va(0), 8);
	}
	err = ibv_wr_complete(xa);
	/* Let the 5 completions land unpolled. */
	for (i = 0; i < 100; i++) {
		struct timespec ts = { 0, 2000000 };

		nanosleep(&ts, NULL);
	}
	err = err ? err : ibv_resize_cq(scq, 2);
	result(err == EINVAL, "resize_cq below the 5 outstanding CQEs: EINVAL (%s)",
	       strerror(err));
	err = ibv_resize_cq(scq, 200);
	result(!err && scq->cqe >= 200, "resize_cq to 200 with 5 unpolled CQEs: %s (cqe %d)",
	       strerror(err), scq->cqe);
	n = poll_ex(scqx, s, 5, true);
	for (i = 0; i < n; i++)
		ok &= s[i].wr_id == 50u + i && !s[i].status;
	result(n == 5 && ok, "the 5 CQEs survived the resize, in order (%d)", n);
	err = ibv_resize_cq(scq, 8);
	result(!err, "resize_cq down to 8 when empty: %s", strerror(err));
	ibv_wr_start(xa);
	xa->wr_id = 60;
	ibv_wr_rdma_write(xa, mr->rkey, va(0x4000));
	ibv_wr_set_sge(xa, mr->lkey, va(0), 8);
	err = ibv_wr_complete(xa);
	n = err ? -1 : poll_ex(scqx, s, 1, true);
	result(n == 1 && s[0].wr_id == 60, "traffic after two resizes");
}

/* One channel, NPAIRS QP pairs each with its own CQs, events from all. */
static void case_channel_many(void)
{
	struct ibv_comp_channel *ch = ibv_create_comp_channel(ctx);
	struct ibv_cq *cq[2 * NPAIRS];
	struct ibv_qp *qp[2 * NPAIRS];
	bool seen[2 * NPAIRS] = { false };
	int i, nev = 0, distinct = 0, ok = 1;
	double end;

	if (!ch) {
		result(false, "create completion channel");
		return;
	}
	for (i = 0; i < 2 * NPAIRS; i++) {
		cq[i] = ibv_create_cq(ctx, 16, &cq[i], ch, 0);
		if (!cq[i] || ibv_req_notify_cq(cq[i], 0))
			ok = 0;
	}
	for (i = 0; ok && i < 2 * NPAIRS; i++) {
		struct ibv_qp_init_attr ia = {
			.send_cq = cq[i], .recv_cq = cq[i ^ 1],
			.qp_type = IBV_QPT_RC,
			.cap = { .max_send_wr = 4, .max_recv_wr = 4,
				 .max_send_sge = 1, .max_recv_sge = 1 },
		};

		qp[i] = ibv_create_qp(pd, &ia);
		ok &= qp[i] != NULL;
	}
	for (i = 0; ok && i < 2 * NPAIRS; i++)
		ok &= !connect_qp(qp[i], qp[i ^ 1]->qp_num);
	result(ok, "%d CQs and %d QPs on one channel", 2 * NPAIRS, 2 * NPAIRS);
	if (!ok)
		return;
	for (i = 0; i < 2 * NPAIRS; i++)
		post_recv(qp[i], i, 0x8000 + i * 64, 64);
	/* qp[i] completes its send on cq[i], its receive on cq[i ^ 1]. */
	for (i = 0; i < 2 * NPAIRS; i++) {
		struct ibv_sge sge = { .addr = va(0), .length = 32,
				       .lkey = mr->lkey };
		struct ibv_send_wr wr = { .wr_id = i, .sg_list = &sge,
					  .num_sge = 1, .opcode = IBV_WR_SEND,
					  .send_flags = IBV_SEND_SIGNALED },
				   *bad;

		ok &= !ibv_post_send(qp[i], &wr, &bad);
	}
	end = now_ms() + WAIT_MS;
	while (distinct < 2 * NPAIRS && now_ms() < end) {
		struct pollfd pfd = { .fd = ch->fd, .events = POLLIN };
		struct ibv_cq *ev;
		void *cq_ctx;

		if (poll(&pfd, 1, 100) <= 0)
			continue;
		if (ibv_get_cq_event(ch, &ev, &cq_ctx))
			break;
		nev++;
		ibv_ack_cq_events(ev, 1);
		i = (struct ibv_cq **)cq_ctx - cq;
		if (i >= 0 && i < 2 * NPAIRS && !seen[i]) {
			seen[i] = true;
			distinct++;
		}
	}
	result(ok && distinct == 2 * NPAIRS,
	       "events from all %d CQs through one channel (%d events)",
	       2 * NPAIRS, nev);
	for (i = 0; i < 2 * NPAIRS; i++)
		ibv_destroy_qp(qp[i]);
	for (i = 0; i < 2 * NPAIRS; i++)
		ibv_destroy_cq(cq[i]);
	result(!ibv_destroy_comp_channel(ch), "destroy the channel");
}

int main(void)
{
	struct ibv_cq_init_attr_ex ca = {
		.cqe = 32,
		.wc_flags = IBV_WC_STANDARD_FLAGS |
			    IBV_WC_EX_WITH_COMPLETION_TIMESTAMP,
	};
	struct ibv_device **list;
	struct ibv_port_attr pa;
	int i, n;

	list = ibv_get_device_list(&n);
	for (i = 0; list && i < n; i++)
		if (!strcmp(ibv_get_device_name(list[i]), "xenib0"))
			ctx = ibv_open_device(list[i]);
	if (list)
		ibv_free_device_list(list);
	if (!ctx || ibv_query_port(ctx, 1, &pa)) {
		printf("FAIL: open xenib0\n");
		return 1;
	}
	lid = pa.lid;
	pd = ibv_alloc_pd(ctx);
	buf = aligned_alloc(4096, BUF_SIZE);
	mr = pd && buf ? ibv_reg_mr(pd, buf, BUF_SIZE,
				    IBV_ACCESS_LOCAL_WRITE |
				    IBV_ACCESS_REMOTE_WRITE |
				    IBV_ACCESS_REMOTE_READ |
				    IBV_ACCESS_REMOTE_ATOMIC) : NULL;
	scqx = mr ? ibv_create_cq_ex(ctx, &ca) : NULL;
	rcqx = scqx ? ibv_create_cq_ex(ctx, &ca) : NULL;
	if (!rcqx) {
		printf("FAIL: set-up (pd/mr/cq_ex): %s\n", strerror(errno));
		return 1;
	}
	result(cq_empty_for(scqx, 10), "start_poll on an empty CQ: ENOENT");
	qa = qp_ex(ibv_cq_ex_to_cq(scqx), ibv_cq_ex_to_cq(rcqx),
		   IBV_QP_INIT_ATTR_SEND_OPS_FLAGS, all_rc_ops);
	qb = qp_ex(ibv_cq_ex_to_cq(scqx), ibv_cq_ex_to_cq(rcqx),
		   IBV_QP_INIT_ATTR_SEND_OPS_FLAGS, all_rc_ops);
	xa = qa ? ibv_qp_to_qp_ex(qa) : NULL;
	result(qa && qb && xa, "create_qp_ex with all RC send ops, qp_to_qp_ex");
	if (!xa)
		return 1;
	result(!connect_qp(qa, qb->qp_num) && !connect_qp(qb, qa->qp_num),
	       "connect the two QPs");

	case_negative_create();
	case_batch();
	case_read_atomics();
	case_abort_and_errors();
	case_resize();
	case_channel_many();

	ibv_destroy_qp(qa);
	ibv_destroy_qp(qb);
	ibv_destroy_cq(ibv_cq_ex_to_cq(scqx));
	ibv_destroy_cq(ibv_cq_ex_to_cq(rcqx));
	ibv_dereg_mr(mr);
	ibv_dealloc_pd(pd);
	ibv_close_device(ctx);
	free(buf);
	printf("test_verbs_ex: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
