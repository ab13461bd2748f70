// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * One side of an RC connection for the fault tests (test_faults.sh).
 *
 *   fault_peer target    MYINFO PEERINFO TIMEOUT_S   connect, then idle
 *   fault_peer requester MYINFO PEERINFO TIMEOUT_S   connect, then keep RDMA
 *        writes in flight to the target and report the first error
 *
 * The requester prints "running" once traffic flows, then on the first
 * failed completion "status <name> after <ms> ms" (ms since the last
 * success) and exits 0 for IBV_WC_RETRY_EXC_ERR, 1 for another status.
 * If ibv_poll_cq fails it prints "poll_cq failed: <errno>" and exits 3;
 * after TIMEOUT_S without an error it exits 2.  The QP uses timeout 12
 * (16.8 ms) and retry_cnt 3: a vanished peer must be reported within
 * about (retry_cnt + 1) x 16.8 ms.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <infiniband/verbs.h>
#include "tests/common/rc_connect.h"

#define BUF_SIZE (64 * 1024)
#define DEPTH 8

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int connect_qp(struct ibv_qp *qp, unsigned int qpn, unsigned int lid)
{
	static const struct test_rc_opts o = {
		.access = IBV_ACCESS_REMOTE_WRITE, .mtu = IBV_MTU_4096,
		.rd_atomic = 1, .min_rnr_timer = 12,
		.timeout = 12, .retry_cnt = 3, .rnr_retry = 3,
	};

	return test_rc_connect(qp, qpn, lid, &o);
}

int main(int argc, char **argv)
{
	struct ibv_qp_init_attr qia = {
		.qp_type = IBV_QPT_RC,
		.cap = { .max_send_wr = DEPTH, .max_recv_wr = 1,
			 .max_send_sge = 1, .max_recv_sge = 1 },
	};
	unsigned int pqpn, plid, prkey;
	unsigned long long paddr;
	struct ibv_device **list;
	struct ibv_context *ctx;
	struct ibv_port_attr port;
	struct ibv_pd *pd;
	struct ibv_mr *mr;
	struct ibv_cq *cq;
	struct ibv_qp *qp;
	double start, last_ok;
	long done = 0, posted = 0;
	char tmp[4096], *buf;
	int timeout_s, i;
	FILE *f = NULL;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc != 5) {
		fprintf(stderr, "usage: %s target|requester MYINFO PEERINFO TIMEOUT_S\n",
			argv[0]);
		return 4;
	}
	timeout_s = atoi(argv[4]);
	list = ibv_get_device_list(NULL);
	ctx = list && list[0] ? ibv_open_device(list[0]) : NULL;
	buf = aligned_alloc(4096, BUF_SIZE);
	if (!ctx || !buf || ibv_query_port(ctx, 1, &port))
		return 4;
	pd = ibv_alloc_pd(ctx);
	mr = pd ? ibv_reg_mr(pd, buf, BUF_SIZE, IBV_ACCESS_LOCAL_WRITE |
			     IBV_ACCESS_REMOTE_WRITE) : NULL;
	cq = ibv_create_cq(ctx, 2 * DEPTH, NULL, NULL, 0);
	qia.send_cq = qia.recv_cq = cq;
	qp = mr && cq ? ibv_create_qp(pd, &qia) : NULL;
	if (!qp) {
		printf("setup failed: %s\n", strerror(errno));
		return 4;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", argv[2]);
	f = fopen(tmp, "w");
	if (!f)
		return 4;
	fprintf(f, "%u %u %u %llu\n", qp->qp_num, port.lid, mr->rkey,
		(unsigned long long)(uintptr_t)buf);
	fclose(f);
	rename(tmp, argv[2]);
	for (i = 0; !(f = fopen(argv[3], "r")); i++) {
		if (i > timeout_s * 10)
			return 4;
		usleep(100000);
	}
	if (fscanf(f, "%u %u %u %llu", &pqpn, &plid, &prkey, &paddr) != 4)
		return 4;
	fclose(f);
	if (connect_qp(qp, pqpn, plid)) {
		printf("connect failed: %s\n", strerror(errno));
		return 4;
	}
	/* Both sides in RTS before any traffic: MYINFO.up, PEERINFO.up. */
	snprintf(tmp, sizeof(tmp), "%s.up", argv[2]);
	f = fopen(tmp, "w");
	if (f)
		fclose(f);
	snprintf(tmp, sizeof(tmp), "%s.up", argv[3]);
	for (i = 0; access(tmp, F_OK); i++) {
		if (i > timeout_s * 100)
			return 4;
		usleep(10000);
	}
	start = last_ok = now_ms();
	if (strcmp(argv[1], "requester")) {
		printf("ready\n");
		while (now_ms() - start < timeout_s * 1e3)
			usleep(100000);
		return 0;
	}
	while (now_ms() - start < timeout_s * 1e3) {
		struct ibv_sge sge = { (uintptr_t)buf, 4096, mr->lkey };
		struct ibv_send_wr wr = {
			.sg_list = &sge, .num_sge = 1,
			.opcode = IBV_WR_RDMA_WRITE,
			.send_flags = IBV_SEND_SIGNALED,
			.wr.rdma = { paddr, prkey },
		}, *bad;
		struct ibv_wc wc;
		int n;

		while (posted - done < DEPTH) {
			if (ibv_post_send(qp, &wr, &bad))
				break;
			posted++;
		}
		n = ibv_poll_cq(cq, 1, &wc);
		if (n < 0) {
			printf("poll_cq failed: %s\n", strerror(errno));
			return 3;
		}
		if (!n)
			continue;
		done++;
		if (wc.status != IBV_WC_SUCCESS) {
			printf("status %s after %.1f ms\n",
			       ibv_wc_status_str(wc.status),
			       now_ms() - last_ok);
			return wc.status == IBV_WC_RETRY_EXC_ERR ? 0 : 1;
		}
		last_ok = now_ms();
		if (done == 1000)
			printf("running\n");
	}
	printf("no error within %d s (%ld writes)\n", timeout_s, done);
	return 2;
}
