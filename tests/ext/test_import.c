// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Sharing a context (ibv_import_device(3), ibv_import_pd(3),
 * ibv_import_mr(3)) through our libibverbs and a real xenibd:
 *
 *  - in one process: import through dup(cmd_fd); the imported PD and MR
 *    work in the importer's QPs (data checked); unimport; import of a
 *    closed fd (EBADF) and of an fd that is no channel (EINVAL);
 *  - across processes: a child imports the parent's context through its
 *    cmd_fd, the parent closes its context, and the child's imported MR
 *    still takes RDMA (the backend kept it for its importer); the child
 *    unimports it and it is gone (ENOENT on a second import); the parent
 *    also sees a child that exits without cleaning up leave its own
 *    objects working.
 *
 * Teardown is judged by the runner: xenibctl stats all zero afterwards.
 * Needs the environment of scripts/xenib-env.sh (tests/test_ib_errors.sh).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include <infiniband/verbs.h>
#include "tests/common/check.h"
#include "tests/common/rc_connect.h"

#define BUF	8192
#define WAIT_MS	3000

static const struct test_rc_opts opts = {
	.access = IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ,
	.mtu = IBV_MTU_1024, .rd_atomic = 1, .min_rnr_timer = 1,
	.timeout = 14, .retry_cnt = 7, .rnr_retry = 7,
};

static struct ibv_device **devs;

/*
 * MR memory from mmap, never the malloc heap: registered pages are
 * re-backed with shared memory that stays shared after deregistration,
 * and heap pages shared with a forked child would be written by both
 * (see the report of issue 16).
 */
static char *buf_get(void)
{
	void *p = mmap(NULL, BUF, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static void buf_put(char *p)
{
	if (p)
		munmap(p, BUF);
}

static struct ibv_context *open_dev(void)
{
	int n;

	if (!devs)
		devs = ibv_get_device_list(&n);
	return devs && devs[0] ? ibv_open_device(devs[0]) : NULL;
}

static uint16_t lid_of(struct ibv_context *c)
{
	struct ibv_port_attr pa;

	return ibv_query_port(c, 1, &pa) ? 0 : pa.lid;
}

/* An RC QP with one CQ for both directions. */
struct qpx {
	struct ibv_cq *cq;
	struct ibv_qp *qp;
};

static bool qpx_new(struct qpx *q, struct ibv_context *c, struct ibv_pd *pd)
{
	struct ibv_qp_init_attr ia = {
		.qp_type = IBV_QPT_RC,
		.cap = { .max_send_wr = 8, .max_recv_wr = 8,
			 .max_send_sge = 1, .max_recv_sge = 1 },
	};

	q->cq = ibv_create_cq(c, 16, NULL, NULL, 0);
	ia.send_cq = ia.recv_cq = q->cq;
	q->qp = q->cq ? ibv_create_qp(pd, &ia) : NULL;
	return q->qp;
}

static void qpx_free(struct qpx *q)
{
	if (q->qp)
		ibv_destroy_qp(q->qp);
	if (q->cq)
		ibv_destroy_cq(q->cq);
	memset(q, 0, sizeof(*q));
}

static bool qpx_link(struct qpx *a, struct ibv_context *ca, struct qpx *b,
		     struct ibv_context *cb)
{
	return !test_rc_connect(a->qp, b->qp->qp_num, lid_of(cb), &opts) &&
	       !test_rc_connect(b->qp, a->qp->qp_num, lid_of(ca), &opts);
}

static enum ibv_wc_status rdma(struct qpx *q, enum ibv_wr_opcode op,
			       void *buf, uint32_t lkey, uint64_t raddr,
			       uint32_t rkey, uint32_t len)
{
	struct ibv_sge sge = { .addr = (uintptr_t)buf, .length = len,
			       .lkey = lkey };
	struct ibv_send_wr wr = {
		.wr_id = 1, .sg_list = &sge, .num_sge = 1, .opcode = op,
		.send_flags = IBV_SEND_SIGNALED,
		.wr.rdma = { .remote_addr = raddr, .rkey = rkey },
	}, *bad;
	struct ibv_wc wc;
	struct timespec t0, t;
	int n;

	if (ibv_post_send(q->qp, &wr, &bad))
		return IBV_WC_GENERAL_ERR;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		n = ibv_poll_cq(q->cq, 1, &wc);
		if (n)
			return n > 0 ? wc.status : IBV_WC_GENERAL_ERR;
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while ((t.tv_sec - t0.tv_sec) * 1000 +
		 (t.tv_nsec - t0.tv_nsec) / 1000000 < WAIT_MS);
	return IBV_WC_GENERAL_ERR;
}

/* A context of its own with a PD and an MR over BUF bytes (buf_get()). */
struct owner {
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	struct ibv_mr *mr;	/* local write, remote read and write */
	char *buf;
};

/* False if any of them could not be had (owner_close() frees the rest). */
static bool owner_open(struct owner *o)
{
	o->ctx = open_dev();
	o->buf = buf_get();
	o->pd = o->ctx ? ibv_alloc_pd(o->ctx) : NULL;
	o->mr = o->pd && o->buf ?
		ibv_reg_mr(o->pd, o->buf, BUF, IBV_ACCESS_LOCAL_WRITE |
			   IBV_ACCESS_REMOTE_WRITE |
			   IBV_ACCESS_REMOTE_READ) : NULL;
	return o->mr;
}

/* What is left of it: the MR, the PD, the context (NULL: gone), buf. */
static void owner_close(struct owner *o)
{
	if (o->mr)
		ibv_dereg_mr(o->mr);
	if (o->pd)
		ibv_dealloc_pd(o->pd);
	if (o->ctx)
		ibv_close_device(o->ctx);
	buf_put(o->buf);
	memset(o, 0, sizeof(*o));
}

/* ----------------------------------------------------------- one process */

static void case_same_process(void)
{
	struct owner x;
	bool ok = owner_open(&x);
	struct ibv_context *a = x.ctx, *b = NULL;
	struct ibv_pd *pd = x.pd, *ipd = NULL;
	struct ibv_mr *mr = x.mr, *imr = NULL;
	struct qpx qa = { 0 }, qb = { 0 };
	char *buf = x.buf;
	int fd, p[2];

	result(a && a->cmd_fd >= 0, "cmd_fd is a file descriptor (%d)",
	       a ? a->cmd_fd : -1);
	if (!ok)
		goto out;
	fd = dup(a->cmd_fd);
	b = ibv_import_device(fd);
	result(b && b->cmd_fd >= 0 && b->cmd_fd != a->cmd_fd,
	       "ibv_import_device(dup(cmd_fd)): a context with its own cmd_fd");
	result(fcntl(fd, F_GETFD) < 0 && errno == EBADF,
	       "the imported context took (closed) the fd it was given");
	if (!b)
		goto out;
	ipd = ibv_import_pd(b, pd->handle);
	result(ipd && ipd->handle == pd->handle && ipd->context == b,
	       "ibv_import_pd");
	imr = ipd ? ibv_import_mr(ipd, mr->handle) : NULL;
	result(imr && imr->lkey == mr->lkey && imr->rkey == mr->rkey &&
	       imr->length == BUF && !imr->addr && imr->pd == ipd,
	       "ibv_import_mr: the same keys and length, addr NULL");
	result(!ibv_import_pd(b, 0x7fffff00) && errno == ENOENT,
	       "ibv_import_pd of a handle nobody has: ENOENT");
	if (!imr || !qpx_new(&qa, a, pd) || !qpx_new(&qb, b, ipd) ||
	    !qpx_link(&qa, a, &qb, b)) {
		result(false, "QPs on the exporter's PD and the imported one");
		goto out;
	}
	/* B's QP, on the imported PD, reads and writes with the imported MR. */
	memcpy(buf, "shared!", 8);
	result(rdma(&qb, IBV_WR_RDMA_WRITE, buf, imr->lkey,
		    (uintptr_t)buf + 4096, mr->rkey, 8) == IBV_WC_SUCCESS &&
	       !memcmp(buf + 4096, "shared!", 8),
	       "RDMA_WRITE by the importer's QP with the imported MR");
	ibv_unimport_mr(imr);
	imr = NULL;
	result(rdma(&qa, IBV_WR_RDMA_READ, buf + 100, mr->lkey,
		    (uintptr_t)buf + 4096, mr->rkey, 8) == IBV_WC_SUCCESS &&
	       !memcmp(buf + 100, "shared!", 8),
	       "the exporter's MR works after the importer unimported it");
	qpx_free(&qb);		/* before the PD it was made on */
	ibv_unimport_pd(ipd);
	ipd = NULL;

	/* Bad fds. */
	fd = dup(a->cmd_fd);
	close(fd);
	result(!ibv_import_device(fd) && errno == EBADF,
	       "ibv_import_device of a closed fd: EBADF");
	if (!pipe(p)) {
		result(!ibv_import_device(p[0]) && errno == EINVAL,
		       "ibv_import_device of a pipe: EINVAL");
		close(p[0]);
		close(p[1]);
	}
out:
	qpx_free(&qb);
	qpx_free(&qa);
	if (imr)
		ibv_unimport_mr(imr);
	if (ipd)
		ibv_unimport_pd(ipd);
	if (b)
		result(!ibv_close_device(b), "close the imported context");
	owner_close(&x);
}

/* -------------------------------------------------------- two processes */

/* The child's end of the story: 0 if every check passed. */
static int child_imports(int cmd_fd, uint32_t pd_handle, uint32_t mr_handle,
			 uint64_t raddr, int go_r, int done_w)
{
	struct owner c = { 0 };	/* our own context at the other end */
	struct ibv_context *b;
	struct ibv_pd *ipd = NULL;
	struct ibv_mr *imr = NULL;
	struct qpx qb = { 0 }, qc = { 0 };
	char x;
	int bad = failed;

	b = ibv_import_device(cmd_fd);
	result(b != NULL, "child: ibv_import_device of the parent's cmd_fd");
	ipd = b ? ibv_import_pd(b, pd_handle) : NULL;
	imr = ipd ? ibv_import_mr(ipd, mr_handle) : NULL;
	result(imr != NULL, "child: imports the parent's PD and MR");
	/* Tell the parent, which closes its context; wait until it did. */
	if (write(done_w, "i", 1) != 1 || read(go_r, &x, 1) != 1)
		result(false, "child: handshake with the parent");
	if (!imr)
		goto out;
	/* Our own context and QP at the other end. */
	if (!owner_open(&c) || !qpx_new(&qb, b, ipd) ||
	    !qpx_new(&qc, c.ctx, c.pd) || !qpx_link(&qb, b, &qc, c.ctx)) {
		result(false, "child: QPs on the imported PD after the parent closed");
		goto out;
	}
	memcpy(c.buf, "kept-up", 8);
	result(rdma(&qc, IBV_WR_RDMA_WRITE, c.buf, c.mr->lkey, raddr,
		    imr->rkey, 8) == IBV_WC_SUCCESS,
	       "child: RDMA_WRITE into the parent's MR after the parent closed its context");
	result(rdma(&qc, IBV_WR_RDMA_READ, c.buf + 64, c.mr->lkey, raddr,
		    imr->rkey, 8) == IBV_WC_SUCCESS &&
	       !memcmp(c.buf + 64, "kept-up", 8),
	       "child: and reads it back (the backend kept the MR for us)");
	qpx_free(&qb);
	ibv_unimport_mr(imr);
	imr = NULL;
	result(!ibv_import_mr(ipd, mr_handle) && errno == ENOENT,
	       "child: after the last import, the MR of a closed context is gone (ENOENT)");
out:
	qpx_free(&qb);
	qpx_free(&qc);
	if (imr)
		ibv_unimport_mr(imr);
	if (ipd)
		ibv_unimport_pd(ipd);
	owner_close(&c);
	if (b)
		ibv_close_device(b);
	return failed != bad;
}

static void case_exporter_leaves(void)
{
	struct owner x;
	int go[2], done[2], st;
	pid_t pid;
	char c;

	if (!owner_open(&x) || pipe(go) || pipe(done))
		goto out;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		int fd = dup(x.ctx->cmd_fd);

		/* Only the copy we import through: the parent's stays its. */
		close(x.ctx->cmd_fd);
		close(go[1]);
		close(done[0]);
		_exit(child_imports(fd, x.pd->handle, x.mr->handle,
				    (uintptr_t)x.buf + 512, go[0], done[1]) ?
		      1 : 0);
	}
	close(go[0]);
	close(done[1]);
	if (pid < 0 || read(done[0], &c, 1) != 1) {
		result(false, "parent: child imported");
		goto out;
	}
	/* The exporter goes, without deregistering anything. */
	ibv_close_device(x.ctx);
	x.ctx = NULL;
	if (write(go[1], "g", 1) != 1)
		result(false, "parent: tell the child");
	result(waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
	       WEXITSTATUS(st) == 0, "child's checks (exit %d)",
	       WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	/* The memory was ours all along. */
	result(!memcmp(x.buf + 512, "kept-up", 8),
	       "parent: the child's RDMA landed in the parent's pages");
	x.mr = NULL;	/* went with the context */
	x.pd = NULL;
out:
	owner_close(&x);
}

static void case_importer_dies(void)
{
	struct owner x;
	struct qpx q1 = { 0 }, q2 = { 0 };
	int st;
	pid_t pid;

	if (!owner_open(&x))
		goto out;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		int fd = dup(x.ctx->cmd_fd);
		struct ibv_context *b;
		struct ibv_pd *ipd;

		close(x.ctx->cmd_fd);
		b = ibv_import_device(fd);
		ipd = b ? ibv_import_pd(b, x.pd->handle) : NULL;
		/* Make something on it, then vanish without cleaning up. */
		_exit(ipd && ibv_import_mr(ipd, x.mr->handle) &&
		      ibv_alloc_mw(ipd, IBV_MW_TYPE_2) ? 0 : 1);
	}
	result(pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
	       WEXITSTATUS(st) == 0, "child imported and exited uncleanly");
	/* Ours still work; and our PD can be freed once our own go. */
	if (!qpx_new(&q1, x.ctx, x.pd) || !qpx_new(&q2, x.ctx, x.pd) ||
	    !qpx_link(&q1, x.ctx, &q2, x.ctx)) {
		result(false, "parent: QPs after the importer died");
		goto out;
	}
	memcpy(x.buf, "mine!!!", 8);
	result(rdma(&q1, IBV_WR_RDMA_WRITE, x.buf, x.mr->lkey,
		    (uintptr_t)x.buf + 2048, x.mr->rkey, 8) == IBV_WC_SUCCESS &&
	       !memcmp(x.buf + 2048, "mine!!!", 8),
	       "parent: its MR works after an importer died");
	qpx_free(&q1);
	qpx_free(&q2);
	result(!ibv_dereg_mr(x.mr), "parent: dereg after the importer died");
	x.mr = NULL;
	result(!ibv_dealloc_pd(x.pd),
	       "parent: dealloc_pd (the dead importer's window went with it)");
	x.pd = NULL;
out:
	qpx_free(&q1);
	qpx_free(&q2);
	owner_close(&x);
}

int main(void)
{
	struct ibv_context *c = open_dev();

	if (!c) {
		printf("FAIL: cannot open xenib0: %s\n", strerror(errno));
		return 2;
	}
	ibv_close_device(c);
	case_same_process();
	case_exporter_leaves();
	case_importer_dies();
	return check_summary();
}
