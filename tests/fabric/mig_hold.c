// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * mig_hold: a guest holding state a migration does not carry, so that
 * tests/fabric/test_migrate.sh can check that its migration is refused
 * before anything is frozen and that the guest keeps working at its
 * source afterwards.
 *
 *   mig_hold -w -f FILE     a memory window (type 1), bound to an MR
 *   mig_hold -i -f FILE     its own context imported (ibv_import_device
 *                           of a dup of cmd_fd) and a PD imported in it
 *
 * Prints "ready" once the state is in place, waits (at most 60 s) for
 * FILE to exist, then checks that both the context and the state still
 * work: a new PD, a WRITE through the window's rkey (-w) or the imported
 * PD used for an MR (-i).  Exit 0 only if every step worked.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <infiniband/verbs.h>

#define LEN	4096

static int fail(const char *what)
{
	fprintf(stderr, "mig_hold: %s: %s\n", what, strerror(errno));
	return 1;
}

static bool wait_file(const char *path)
{
	int i;

	for (i = 0; i < 600; i++) {
		if (!access(path, F_OK))
			return true;
		poll(NULL, 0, 100);
	}
	return false;
}

static struct ibv_context *open_dev(void)
{
	struct ibv_device **l = ibv_get_device_list(NULL);
	struct ibv_context *c = NULL;

	if (l && l[0])
		c = ibv_open_device(l[0]);
	ibv_free_device_list(l);
	return c;
}

/* An RC QP to itself, RTS, on port 1 with its own LID. */
static struct ibv_qp *self_qp(struct ibv_context *c, struct ibv_pd *pd,
			      struct ibv_cq *cq)
{
	struct ibv_qp_init_attr ia = {
		.send_cq = cq, .recv_cq = cq, .qp_type = IBV_QPT_RC,
		.cap = { .max_send_wr = 4, .max_recv_wr = 4,
			 .max_send_sge = 1, .max_recv_sge = 1 },
	};
	struct ibv_port_attr pa;
	struct ibv_qp_attr a;
	struct ibv_qp *qp;

	if (ibv_query_port(c, 1, &pa))
		return NULL;
	qp = ibv_create_qp(pd, &ia);
	if (!qp)
		return NULL;
	memset(&a, 0, sizeof(a));
	a.qp_state = IBV_QPS_INIT;
	a.port_num = 1;
	a.qp_access_flags = IBV_ACCESS_REMOTE_WRITE;
	if (ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_PKEY_INDEX |
			  IBV_QP_PORT | IBV_QP_ACCESS_FLAGS))
		goto bad;
	memset(&a, 0, sizeof(a));
	a.qp_state = IBV_QPS_RTR;
	a.path_mtu = IBV_MTU_1024;
	a.dest_qp_num = qp->qp_num;
	a.max_dest_rd_atomic = 1;
	a.min_rnr_timer = 12;
	a.ah_attr.dlid = pa.lid;
	a.ah_attr.port_num = 1;
	if (ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU |
			  IBV_QP_DEST_QPN | IBV_QP_RQ_PSN |
			  IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER))
		goto bad;
	memset(&a, 0, sizeof(a));
	a.qp_state = IBV_QPS_RTS;
	a.timeout = 14;
	a.retry_cnt = 7;
	a.rnr_retry = 7;
	a.max_rd_atomic = 1;
	if (ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_TIMEOUT |
			  IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY | IBV_QP_SQ_PSN |
			  IBV_QP_MAX_QP_RD_ATOMIC))
		goto bad;
	return qp;
bad:
	ibv_destroy_qp(qp);
	return NULL;
}

static int one_completion(struct ibv_cq *cq, struct ibv_wc *wc)
{
	int i, n;

	for (i = 0; i < 50000; i++) {
		n = ibv_poll_cq(cq, 1, wc);
		if (n)
			return n;
		usleep(100);
	}
	return 0;
}

/* A window bound to an MR; after FILE, a WRITE through its rkey. */
static int hold_window(struct ibv_context *c, const char *file)
{
	static char src[LEN], dst[LEN];
	struct ibv_pd *pd = ibv_alloc_pd(c);
	struct ibv_cq *cq = pd ? ibv_create_cq(c, 8, NULL, NULL, 0) : NULL;
	struct ibv_qp *qp = cq ? self_qp(c, pd, cq) : NULL;
	struct ibv_mr *smr, *dmr;
	struct ibv_mw_bind bind;
	struct ibv_send_wr wr, *bad;
	struct ibv_sge sge;
	struct ibv_wc wc;
	struct ibv_mw *mw;

	if (!qp)
		return fail("PD, CQ, QP");
	smr = ibv_reg_mr(pd, src, LEN, 0);
	dmr = ibv_reg_mr(pd, dst, LEN, IBV_ACCESS_LOCAL_WRITE |
			 IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_MW_BIND);
	mw = smr && dmr ? ibv_alloc_mw(pd, IBV_MW_TYPE_1) : NULL;
	if (!mw)
		return fail("MRs, memory window");
	memset(&bind, 0, sizeof(bind));
	bind.wr_id = 1;
	bind.send_flags = IBV_SEND_SIGNALED;
	bind.bind_info.mr = dmr;
	bind.bind_info.addr = (uintptr_t)dst;
	bind.bind_info.length = LEN;
	bind.bind_info.mw_access_flags = IBV_ACCESS_REMOTE_WRITE;
	if (ibv_bind_mw(qp, mw, &bind) || one_completion(cq, &wc) != 1 ||
	    wc.status != IBV_WC_SUCCESS)
		return fail("bind the window");
	printf("ready\n");
	fflush(stdout);
	if (!wait_file(file))
		return fail("no go-ahead");
	memset(src, 0x5c, LEN);
	sge = (struct ibv_sge){ .addr = (uintptr_t)src, .length = LEN,
				.lkey = smr->lkey };
	memset(&wr, 0, sizeof(wr));
	wr.wr_id = 2;
	wr.sg_list = &sge;
	wr.num_sge = 1;
	wr.opcode = IBV_WR_RDMA_WRITE;
	wr.send_flags = IBV_SEND_SIGNALED;
	wr.wr.rdma.remote_addr = (uintptr_t)dst;
	wr.wr.rdma.rkey = mw->rkey;
	if (ibv_post_send(qp, &wr, &bad) || one_completion(cq, &wc) != 1 ||
	    wc.status != IBV_WC_SUCCESS || memcmp(src, dst, LEN)) {
		fprintf(stderr, "mig_hold: WRITE through the window failed (status %d)\n",
			(int)wc.status);
		return 1;
	}
	if (ibv_dealloc_mw(mw) || ibv_destroy_qp(qp) || ibv_dereg_mr(dmr) ||
	    ibv_dereg_mr(smr) || ibv_destroy_cq(cq) || ibv_dealloc_pd(pd))
		return fail("teardown");
	return 0;
}

/* The context imported through a dup of cmd_fd, and a PD in it. */
static int hold_import(struct ibv_context *c, const char *file)
{
	static char mem[LEN];
	struct ibv_pd *pd = ibv_alloc_pd(c), *ipd;
	struct ibv_context *ic;
	struct ibv_mr *mr;
	int fd = dup(c->cmd_fd);

	if (!pd || fd < 0)
		return fail("PD, dup(cmd_fd)");
	ic = ibv_import_device(fd);
	ipd = ic ? ibv_import_pd(ic, pd->handle) : NULL;
	if (!ipd)
		return fail("import the context and the PD");
	printf("ready\n");
	fflush(stdout);
	if (!wait_file(file))
		return fail("no go-ahead");
	mr = ibv_reg_mr(ipd, mem, LEN, IBV_ACCESS_LOCAL_WRITE);
	if (!mr)
		return fail("MR on the imported PD");
	if (ibv_dereg_mr(mr))
		return fail("dereg");
	ibv_unimport_pd(ipd);
	if (ibv_close_device(ic) || ibv_dealloc_pd(pd))
		return fail("teardown");
	return 0;
}

int main(int argc, char **argv)
{
	const char *file = NULL;
	struct ibv_context *c;
	int mode = 0, opt, rc;

	while ((opt = getopt(argc, argv, "wif:")) != -1) {
		if (opt == 'f')
			file = optarg;
		else if (opt == 'w' || opt == 'i')
			mode = opt;
		else
			return 2;
	}
	if (!mode || !file) {
		fprintf(stderr, "usage: mig_hold -w|-i -f FILE\n");
		return 2;
	}
	c = open_dev();
	if (!c)
		return fail("open the device");
	rc = mode == 'w' ? hold_window(c, file) : hold_import(c, file);
	{
		/* And the context itself still serves. */
		struct ibv_pd *pd = ibv_alloc_pd(c);

		if (!pd || ibv_dealloc_pd(pd))
			rc = fail("a new PD at the end");
	}
	ibv_close_device(c);
	if (!rc)
		printf("mig_hold: the context and its %s work after the refused migration\n",
		       mode == 'w' ? "window" : "import");
	return rc;
}
