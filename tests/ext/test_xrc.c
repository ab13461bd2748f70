// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * XRC through the whole stack (libibverbs, provider, xenibd), in one
 * process: XRC domains (private and file-keyed), XRC SRQs, an XRC_SEND QP
 * connected to an XRC_RECV QP, data checked byte for byte through
 * ibv_post_send and through the ibv_wr_* API, a send naming an SRQ of
 * another domain (IBV_WC_REM_INV_REQ_ERR), EBUSY on a domain in use, and
 * clean teardown.  Prints one line per check; exit 0 if all pass.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <infiniband/verbs.h>

static int passed, failed;

#define CHECK(cond, ...)                                                   \
	do {                                                               \
		bool _ok = (cond);                                         \
		printf("%s: ", _ok ? "ok" : "FAIL");                       \
		printf(__VA_ARGS__);                                       \
		printf("\n");                                              \
		if (_ok)                                                   \
			passed++;                                          \
		else                                                       \
			failed++;                                          \
	} while (0)

#define BUF 8192
#define MSG 1000

static struct ibv_context *ctx;
static struct ibv_pd *pd;
static struct ibv_mr *mr;
static struct ibv_cq *scq, *rcq;
static char *buf;
static uint16_t lid;

/* Poll one completion within 5 s; false on timeout. */
static bool poll1(struct ibv_cq *cq, struct ibv_wc *wc)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		int n = ibv_poll_cq(cq, 1, wc);

		if (n)
			return n == 1;
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec > 5)
			return false;
		usleep(100);
	}
}

static struct ibv_srq *xrc_srq(struct ibv_xrcd *xrcd)
{
	struct ibv_srq_init_attr_ex a = { 0 };

	a.attr.max_wr = 16;
	a.attr.max_sge = 1;
	a.comp_mask = IBV_SRQ_INIT_ATTR_TYPE | IBV_SRQ_INIT_ATTR_PD |
		      IBV_SRQ_INIT_ATTR_XRCD | IBV_SRQ_INIT_ATTR_CQ;
	a.srq_type = IBV_SRQT_XRC;
	a.pd = pd;
	a.xrcd = xrcd;
	a.cq = rcq;
	return ibv_create_srq_ex(ctx, &a);
}

static int srq_recv(struct ibv_srq *srq, uint64_t wr_id, size_t off)
{
	struct ibv_sge sge = { (uintptr_t)buf + off, MSG, mr->lkey };
	struct ibv_recv_wr wr = { .wr_id = wr_id, .sg_list = &sge,
				  .num_sge = 1 };
	struct ibv_recv_wr *bad;

	return ibv_post_srq_recv(srq, &wr, &bad);
}

static int to_rts(struct ibv_qp *qp, uint32_t dest, bool send)
{
	struct ibv_qp_attr a = { 0 };
	int err;

	a.qp_state = IBV_QPS_INIT;
	a.port_num = 1;
	err = ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_PKEY_INDEX |
			    IBV_QP_PORT | IBV_QP_ACCESS_FLAGS);
	if (err)
		return err;
	a.qp_state = IBV_QPS_RTR;
	a.path_mtu = IBV_MTU_1024;
	a.dest_qp_num = dest;
	a.ah_attr.dlid = lid;
	a.ah_attr.port_num = 1;
	a.max_dest_rd_atomic = 1;
	a.min_rnr_timer = 1;
	err = ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_AV |
			    IBV_QP_PATH_MTU | IBV_QP_DEST_QPN |
			    IBV_QP_RQ_PSN |
			    (send ? 0 : IBV_QP_MAX_DEST_RD_ATOMIC |
					IBV_QP_MIN_RNR_TIMER));
	if (err)
		return err;
	a.qp_state = IBV_QPS_RTS;
	a.timeout = 10;
	a.retry_cnt = 3;
	a.rnr_retry = 7;
	a.max_rd_atomic = 1;
	return ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_SQ_PSN |
			     IBV_QP_TIMEOUT |
			     (send ? IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY |
				     IBV_QP_MAX_QP_RD_ATOMIC : 0));
}

static void fill(size_t off, int seed)
{
	int i;

	for (i = 0; i < MSG; i++)
		buf[off + i] = (char)(seed * 31 + i * 7);
}

int main(void)
{
	struct ibv_device **list = ibv_get_device_list(NULL);
	struct ibv_xrcd_init_attr xa = { 0 };
	struct ibv_qp_init_attr_ex qa;
	struct ibv_xrcd *xrcd, *xrcd2, *xk1, *xk2, *xk3;
	struct ibv_srq *srq, *srq2;
	struct ibv_qp *sqp, *rqp;
	struct ibv_qp_ex *qpx;
	struct ibv_port_attr port;
	struct ibv_send_wr wr, *bad;
	struct ibv_sge sge;
	struct ibv_wc wc;
	char path[] = "/tmp/xenib-xrc-XXXXXX";
	uint32_t srqn = 0, srqn2 = 0;
	int fd;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!list || !list[0]) {
		printf("FAIL: no device\n");
		return 1;
	}
	ctx = ibv_open_device(list[0]);
	if (!ctx || ibv_query_port(ctx, 1, &port)) {
		printf("FAIL: open device\n");
		return 1;
	}
	lid = port.lid;
	buf = aligned_alloc(4096, BUF);
	memset(buf, 0, BUF);
	pd = ibv_alloc_pd(ctx);
	mr = ibv_reg_mr(pd, buf, BUF, IBV_ACCESS_LOCAL_WRITE);
	scq = ibv_create_cq(ctx, 16, NULL, NULL, 0);
	rcq = ibv_create_cq(ctx, 16, NULL, NULL, 0);
	CHECK(pd && mr && scq && rcq, "PD, MR, CQs");

	/* Domains: private (fd -1) and keyed by a file. */
	xa.comp_mask = IBV_XRCD_INIT_ATTR_FD | IBV_XRCD_INIT_ATTR_OFLAGS;
	xa.fd = -1;
	xa.oflags = 0;
	errno = 0;
	CHECK(!ibv_open_xrcd(ctx, &xa) && errno == EINVAL,
	      "fd -1 without O_CREAT: EINVAL (errno %d)", errno);
	xa.oflags = O_CREAT;
	xrcd = ibv_open_xrcd(ctx, &xa);
	xrcd2 = ibv_open_xrcd(ctx, &xa);
	CHECK(xrcd && xrcd2, "open two private XRC domains");
	fd = mkstemp(path);
	xa.fd = fd;
	xa.oflags = 0;
	errno = 0;
	CHECK(!ibv_open_xrcd(ctx, &xa) && errno == ENOENT,
	      "file with no domain, no O_CREAT: ENOENT (errno %d)", errno);
	xa.oflags = O_CREAT;
	xk1 = ibv_open_xrcd(ctx, &xa);
	xa.oflags = 0;
	xk2 = ibv_open_xrcd(ctx, &xa);
	xa.oflags = O_CREAT | O_EXCL;
	errno = 0;
	xk3 = ibv_open_xrcd(ctx, &xa);
	CHECK(xk1 && xk2 && !xk3 && errno == EEXIST,
	      "file-keyed domain opens twice, O_EXCL: EEXIST (errno %d)",
	      errno);

	srq = xrc_srq(xrcd);
	srq2 = xrc_srq(xrcd2);
	CHECK(srq && srq2 && !ibv_get_srq_num(srq, &srqn) &&
	      !ibv_get_srq_num(srq2, &srqn2) && srqn != srqn2,
	      "XRC SRQs and their numbers (0x%x, 0x%x)", srqn, srqn2);

	memset(&qa, 0, sizeof(qa));
	qa.qp_type = IBV_QPT_XRC_RECV;
	qa.comp_mask = IBV_QP_INIT_ATTR_XRCD;
	qa.xrcd = xrcd;
	rqp = ibv_create_qp_ex(ctx, &qa);
	memset(&qa, 0, sizeof(qa));
	qa.qp_type = IBV_QPT_XRC_SEND;
	qa.comp_mask = IBV_QP_INIT_ATTR_PD | IBV_QP_INIT_ATTR_SEND_OPS_FLAGS;
	qa.pd = pd;
	qa.send_cq = scq;
	qa.cap.max_send_wr = 16;
	qa.cap.max_send_sge = 1;
	qa.send_ops_flags = IBV_QP_EX_WITH_SEND;
	sqp = ibv_create_qp_ex(ctx, &qa);
	CHECK(rqp && sqp, "XRC_RECV and XRC_SEND QPs (0x%x, 0x%x)",
	      rqp ? rqp->qp_num : 0, sqp ? sqp->qp_num : 0);
	if (!rqp || !sqp || !srq || !srq2)
		return 1;
	CHECK(!to_rts(rqp, sqp->qp_num, false) &&
	      !to_rts(sqp, rqp->qp_num, true), "both QPs to RTS");
	CHECK(ibv_close_xrcd(xrcd) == EBUSY, "domain in use: EBUSY");

	/* ibv_post_send with wr.qp_type.xrc.remote_srqn */
	CHECK(!srq_recv(srq, 7, 4096), "post SRQ receive");
	fill(0, 1);
	sge = (struct ibv_sge){ (uintptr_t)buf, MSG, mr->lkey };
	memset(&wr, 0, sizeof(wr));
	wr.wr_id = 70;
	wr.sg_list = &sge;
	wr.num_sge = 1;
	wr.opcode = IBV_WR_SEND;
	wr.send_flags = IBV_SEND_SIGNALED;
	wr.qp_type.xrc.remote_srqn = srqn;
	CHECK(!ibv_post_send(sqp, &wr, &bad), "post XRC send");
	CHECK(poll1(rcq, &wc) && wc.status == IBV_WC_SUCCESS &&
	      wc.wr_id == 7 && wc.byte_len == MSG &&
	      wc.qp_num == rqp->qp_num && wc.opcode == IBV_WC_RECV &&
	      !memcmp(buf, buf + 4096, MSG),
	      "received on the SRQ's CQ, data intact, qp_num = XRC_RECV");
	CHECK(poll1(scq, &wc) && wc.status == IBV_WC_SUCCESS &&
	      wc.wr_id == 70, "send completion");

	/* ibv_wr_* with ibv_wr_set_xrc_srqn */
	qpx = ibv_qp_to_qp_ex(sqp);
	CHECK(!srq_recv(srq, 8, 4096 + 2048), "post SRQ receive");
	fill(0, 2);
	ibv_wr_start(qpx);
	qpx->wr_id = 80;
	qpx->wr_flags = IBV_SEND_SIGNALED;
	ibv_wr_send(qpx);
	ibv_wr_set_xrc_srqn(qpx, srqn);
	ibv_wr_set_sge(qpx, mr->lkey, (uintptr_t)buf, MSG);
	CHECK(!ibv_wr_complete(qpx), "ibv_wr_* XRC send");
	CHECK(poll1(rcq, &wc) && wc.status == IBV_WC_SUCCESS &&
	      wc.wr_id == 8 && !memcmp(buf, buf + 4096 + 2048, MSG),
	      "ibv_wr_* send received, data intact");
	CHECK(poll1(scq, &wc) && wc.status == IBV_WC_SUCCESS &&
	      wc.wr_id == 80, "ibv_wr_* send completion");

	/* An SRQ of another domain: invalid request, nothing received. */
	CHECK(!srq_recv(srq2, 9, 4096), "post receive on the other SRQ");
	wr.wr_id = 90;
	wr.qp_type.xrc.remote_srqn = srqn2;
	CHECK(!ibv_post_send(sqp, &wr, &bad), "post send to the wrong SRQ");
	CHECK(poll1(scq, &wc) && wc.wr_id == 90 &&
	      wc.status == IBV_WC_REM_INV_REQ_ERR,
	      "SRQ outside the domain: IBV_WC_REM_INV_REQ_ERR (status %d)",
	      wc.status);
	CHECK(!ibv_poll_cq(rcq, 1, &wc), "nothing received");

	CHECK(!ibv_destroy_qp(sqp) && !ibv_destroy_qp(rqp), "destroy QPs");
	CHECK(!ibv_destroy_srq(srq) && !ibv_destroy_srq(srq2),
	      "destroy XRC SRQs");
	CHECK(!ibv_close_xrcd(xrcd) && !ibv_close_xrcd(xrcd2) &&
	      !ibv_close_xrcd(xk1) && !ibv_close_xrcd(xk2),
	      "close XRC domains");
	CHECK(!ibv_destroy_cq(scq) && !ibv_destroy_cq(rcq) &&
	      !ibv_dereg_mr(mr) && !ibv_dealloc_pd(pd) &&
	      !ibv_close_device(ctx), "teardown");
	close(fd);
	unlink(path);
	ibv_free_device_list(list);
	free(buf);
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
