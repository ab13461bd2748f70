// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Per-guest limits through libibverbs: with xenibd started on a tiny
 * configuration (test_limits.sh), allocate PDs, MRs, CQs and QPs past the
 * limit over two contexts of the same guest, check the errno (EDQUOT for a
 * count, ENOMEM for limit.mr_bytes), free one and check there is room again.
 *
 * Usage: test_limits PDS MRS MR_BYTES CQS QPS
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <infiniband/verbs.h>

#include "tests/common/check.h"

#define MAXOBJ 64

static struct ibv_context *ctx[2];

static void test_pds(unsigned int limit)
{
	struct ibv_pd *pd[MAXOBJ], *extra;
	unsigned int i, n = 0;

	for (i = 0; i < limit; i++) {
		pd[i] = ibv_alloc_pd(ctx[i & 1]);
		n += !!pd[i];
	}
	CHECK(n == limit, "%u of %u PDs under the limit", n, limit);
	errno = 0;
	extra = ibv_alloc_pd(ctx[0]);
	CHECK(!extra && errno == EDQUOT,
	      "PD past limit.pds fails with EDQUOT (got %s)", strerror(errno));
	errno = 0;
	CHECK(!ibv_alloc_pd(ctx[1]) && errno == EDQUOT,
	      "the limit is per guest, not per context (got %s)",
	      strerror(errno));
	CHECK(!ibv_dealloc_pd(pd[0]), "dealloc one PD");
	pd[0] = ibv_alloc_pd(ctx[1]);
	CHECK(pd[0], "freeing made room for a PD (%s)", strerror(errno));
	for (i = 0; i < limit; i++)
		if (pd[i])
			ibv_dealloc_pd(pd[i]);
}

static void test_mrs(unsigned int limit, uint64_t bytes)
{
	static char buf[MAXOBJ][4096] __attribute__((aligned(4096)));
	struct ibv_mr *mr[MAXOBJ], *big;
	struct ibv_pd *pd = ibv_alloc_pd(ctx[0]);
	size_t big_len = bytes;
	unsigned int i, n = 0;
	char *bigbuf;

	CHECK(pd, "PD for MRs");
	if (!pd)
		return;
	for (i = 0; i < limit; i++) {
		mr[i] = ibv_reg_mr(pd, buf[i], 4096, IBV_ACCESS_LOCAL_WRITE);
		n += !!mr[i];
	}
	CHECK(n == limit, "%u of %u MRs under the limit (%s)", n, limit,
	      strerror(errno));
	errno = 0;
	CHECK(!ibv_reg_mr(pd, buf[limit], 4096, 0) && errno == EDQUOT,
	      "MR past limit.mrs fails with EDQUOT (got %s)", strerror(errno));
	CHECK(!ibv_dereg_mr(mr[0]), "dereg one MR");
	bigbuf = aligned_alloc(4096, big_len);
	memset(bigbuf, 1, big_len);
	errno = 0;
	big = ibv_reg_mr(pd, bigbuf, big_len, IBV_ACCESS_LOCAL_WRITE);
	CHECK(!big && errno == ENOMEM,
	      "MR past limit.mr_bytes fails with ENOMEM (got %s)",
	      strerror(errno));
	if (big)
		ibv_dereg_mr(big);
	mr[0] = ibv_reg_mr(pd, buf[0], 4096, IBV_ACCESS_LOCAL_WRITE);
	CHECK(mr[0], "freeing made room for an MR (%s)", strerror(errno));
	for (i = 0; i < limit; i++)
		if (mr[i])
			ibv_dereg_mr(mr[i]);
	/* With everything released the whole byte budget is there again. */
	big = ibv_reg_mr(pd, bigbuf, big_len, IBV_ACCESS_LOCAL_WRITE);
	CHECK(big, "limit.mr_bytes bytes fit once the others are gone (%s)",
	      strerror(errno));
	if (big)
		ibv_dereg_mr(big);
	free(bigbuf);
	ibv_dealloc_pd(pd);
}

static void test_cqs_qps(unsigned int ncq, unsigned int nqp)
{
	struct ibv_cq *cq[MAXOBJ];
	struct ibv_qp *qp[MAXOBJ];
	struct ibv_qp_init_attr attr = {
		.qp_type = IBV_QPT_RC,
		.cap = { .max_send_wr = 4, .max_recv_wr = 4,
			 .max_send_sge = 1, .max_recv_sge = 1 },
	};
	struct ibv_pd *pd = ibv_alloc_pd(ctx[0]);
	unsigned int i, n = 0;

	for (i = 0; i < ncq; i++) {
		cq[i] = ibv_create_cq(ctx[i & 1], 4, NULL, NULL, 0);
		n += !!cq[i];
	}
	CHECK(n == ncq, "%u of %u CQs under the limit (%s)", n, ncq,
	      strerror(errno));
	errno = 0;
	CHECK(!ibv_create_cq(ctx[1], 4, NULL, NULL, 0) && errno == EDQUOT,
	      "CQ past limit.cqs fails with EDQUOT (got %s)", strerror(errno));
	CHECK(!ibv_destroy_cq(cq[1]), "destroy one CQ");
	cq[1] = ibv_create_cq(ctx[1], 4, NULL, NULL, 0);
	CHECK(cq[1], "freeing made room for a CQ (%s)", strerror(errno));

	attr.send_cq = attr.recv_cq = cq[0];
	n = 0;
	for (i = 0; i < nqp; i++) {
		qp[i] = pd && cq[0] ? ibv_create_qp(pd, &attr) : NULL;
		n += !!qp[i];
	}
	CHECK(n == nqp, "%u of %u QPs under the limit (%s)", n, nqp,
	      strerror(errno));
	errno = 0;
	CHECK(!ibv_create_qp(pd, &attr) && errno == EDQUOT,
	      "QP past limit.qps fails with EDQUOT (got %s)", strerror(errno));
	CHECK(qp[0] && !ibv_destroy_qp(qp[0]), "destroy one QP");
	qp[0] = ibv_create_qp(pd, &attr);
	CHECK(qp[0], "freeing made room for a QP (%s)", strerror(errno));
	for (i = 0; i < nqp; i++)
		if (qp[i])
			ibv_destroy_qp(qp[i]);
	for (i = 0; i < ncq; i++)
		if (cq[i])
			ibv_destroy_cq(cq[i]);
	if (pd)
		ibv_dealloc_pd(pd);
}

int main(int argc, char **argv)
{
	struct ibv_device **list;
	int i, n;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc != 6) {
		fprintf(stderr, "usage: %s PDS MRS MR_BYTES CQS QPS\n", argv[0]);
		return 2;
	}
	list = ibv_get_device_list(&n);
	for (i = 0; list && i < n; i++)
		if (!strcmp(ibv_get_device_name(list[i]), "xenib0"))
			break;
	if (!list || i == n) {
		printf("FAIL: no xenib0 device\n");
		return 1;
	}
	ctx[0] = ibv_open_device(list[i]);
	ctx[1] = ibv_open_device(list[i]);
	if (!ctx[0] || !ctx[1]) {
		printf("FAIL: cannot open xenib0: %s\n", strerror(errno));
		return 1;
	}
	if (atoi(argv[1]) >= MAXOBJ || atoi(argv[2]) >= MAXOBJ ||
	    atoi(argv[4]) >= MAXOBJ || atoi(argv[5]) >= MAXOBJ)
		return 2;
	test_pds(atoi(argv[1]));
	test_mrs(atoi(argv[2]), strtoull(argv[3], NULL, 0));
	test_cqs_qps(atoi(argv[4]), atoi(argv[5]));
	ibv_close_device(ctx[1]);
	ibv_close_device(ctx[0]);
	ibv_free_device_list(list);
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
