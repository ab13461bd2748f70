// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The victim of test_malicious.sh: a well-behaved guest (libibverbs) with a
 * registered buffer open to remote read/write, an unregistered buffer, both
 * filled with a pattern, and an RC QP in RTS (connected to itself).  It
 * publishes what an attacker could at best learn (QPN, LID, rkey, address)
 * in INFO_FILE, waits until DONE_FILE exists, then checks both buffers byte
 * for byte, its QP state and that no async event arrived.
 *
 * Usage: victim INFO_FILE DONE_FILE TIMEOUT_S
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <infiniband/verbs.h>
#include "tests/common/rc_connect.h"

#define BUF_SIZE (64 * 1024)

static unsigned char pattern(size_t i, unsigned int seed)
{
	return (unsigned char)((i * 131 + seed) ^ (i >> 8));
}

static int to_rts(struct ibv_qp *qp, uint16_t lid)
{
	static const struct test_rc_opts o = {
		.access = IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ |
			  IBV_ACCESS_REMOTE_ATOMIC,
		.mtu = IBV_MTU_1024, .rd_atomic = 1, .min_rnr_timer = 12,
		.timeout = 14, .retry_cnt = 7, .rnr_retry = 7,
	};

	/* Connected to itself: the attacker only ever reaches its keys. */
	return test_rc_connect(qp, qp->qp_num, lid, &o);
}

int main(int argc, char **argv)
{
	struct ibv_qp_init_attr qia = {
		.qp_type = IBV_QPT_RC,
		.cap = { .max_send_wr = 8, .max_recv_wr = 8,
			 .max_send_sge = 1, .max_recv_sge = 1 },
	};
	struct ibv_device **list;
	struct ibv_context *ctx;
	struct ibv_port_attr port;
	struct ibv_async_event ev;
	struct ibv_qp_attr qa;
	struct ibv_qp_init_attr qi;
	struct ibv_pd *pd;
	struct ibv_mr *mr;
	struct ibv_cq *cq;
	struct ibv_qp *qp;
	unsigned char *reg, *unreg;
	size_t i, bad_reg = 0, bad_unreg = 0;
	int waited, fails = 0;
	FILE *f;

	if (argc != 4) {
		fprintf(stderr, "usage: %s INFO_FILE DONE_FILE TIMEOUT_S\n",
			argv[0]);
		return 2;
	}
	list = ibv_get_device_list(NULL);
	ctx = list && list[0] ? ibv_open_device(list[0]) : NULL;
	if (!ctx || ibv_query_port(ctx, 1, &port)) {
		printf("victim: cannot open the device: %s\n", strerror(errno));
		return 1;
	}
	reg = aligned_alloc(4096, BUF_SIZE);
	unreg = aligned_alloc(4096, BUF_SIZE);
	for (i = 0; i < BUF_SIZE; i++) {
		reg[i] = pattern(i, 1);
		unreg[i] = pattern(i, 2);
	}
	pd = ibv_alloc_pd(ctx);
	mr = pd ? ibv_reg_mr(pd, reg, BUF_SIZE, IBV_ACCESS_LOCAL_WRITE |
			     IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ |
			     IBV_ACCESS_REMOTE_ATOMIC) : NULL;
	cq = ibv_create_cq(ctx, 16, NULL, NULL, 0);
	qia.send_cq = qia.recv_cq = cq;
	qp = mr && cq ? ibv_create_qp(pd, &qia) : NULL;
	if (!qp || to_rts(qp, port.lid)) {
		printf("victim: setup failed: %s\n", strerror(errno));
		return 1;
	}
	f = fopen(argv[1], "w");
	if (!f)
		return 1;
	/* What leaked to the attacker: everything but a connection. */
	fprintf(f, "%u %u %u %llu %u\n", qp->qp_num, port.lid, mr->rkey,
		(unsigned long long)(uintptr_t)reg, mr->lkey);
	fclose(f);
	printf("victim: qpn 0x%x lid %u rkey 0x%x addr %p\n", qp->qp_num,
	       port.lid, mr->rkey, (void *)reg);
	fflush(stdout);

	for (waited = 0; access(argv[2], F_OK); waited++) {
		if (waited > atoi(argv[3]) * 10) {
			printf("victim: FAIL: no %s after %s s\n", argv[2],
			       argv[3]);
			return 1;
		}
		usleep(100000);
	}
	for (i = 0; i < BUF_SIZE; i++) {
		bad_reg += reg[i] != pattern(i, 1);
		bad_unreg += unreg[i] != pattern(i, 2);
	}
	if (bad_reg || bad_unreg) {
		printf("victim: FAIL: %zu registered and %zu unregistered bytes changed\n",
		       bad_reg, bad_unreg);
		fails++;
	}
	if (ibv_query_qp(qp, &qa, IBV_QP_STATE, &qi) ||
	    qa.qp_state != IBV_QPS_RTS) {
		printf("victim: FAIL: QP no longer in RTS (state %d)\n",
		       qa.qp_state);
		fails++;
	}
	fcntl(ctx->async_fd, F_SETFL,
	      fcntl(ctx->async_fd, F_GETFL) | O_NONBLOCK);
	while (!ibv_get_async_event(ctx, &ev)) {
		printf("victim: FAIL: async event %s\n",
		       ibv_event_type_str(ev.event_type));
		ibv_ack_async_event(&ev);
		fails++;
	}
	if (!fails)
		printf("victim: canaries intact (%d bytes x 2), QP in RTS, no async event\n",
		       BUF_SIZE);
	ibv_destroy_qp(qp);
	ibv_destroy_cq(cq);
	ibv_dereg_mr(mr);
	ibv_dealloc_pd(pd);
	ibv_close_device(ctx);
	ibv_free_device_list(list);
	return fails ? 1 : 0;
}
