// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * A malicious guest: talks to xenibd with the wire ABI directly (util/hv.h),
 * sets up a context properly, then attacks for the given time:
 *   - connects its QP to the victim's QPN and uses the victim's leaked rkey,
 *     address and lkey, and guessed keys ((index << 8) | generation);
 *   - releases handles (QPN, CQ, MR, PD, region, notifier) it guesses;
 *   - garbage in its own rings, out-of-range indices, huge SGE counts and
 *     lengths past MR bounds, garbage CQ consumer index and armed flag;
 *   - WQEs racing with DESTROY_QP;
 *   - floods of control requests (answered and unread).
 * Nothing it does may reach the victim (test_malicious.sh checks).  Prints
 * counts; fails only if one of its attacks visibly succeeded.
 *
 * Usage: malicious_guest VICTIM_INFO_FILE SECONDS
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <infiniband/verbs.h>
#include <rdma/xenib-abi.h>
#include "util/hv.h"
#include "util/xenib_ring.h"
#include "tests/common/wire_guest.h"

#define CQ_N	64
#define SQ_N	64
#define RQ_N	64
#define SQ_STRIDE 256
#define RQ_STRIDE 128
#define CQ_OFF	0
#define SQ_OFF	(2 * 4096)
#define RQ_OFF	(SQ_OFF + 5 * 4096)
#define QMEM	(RQ_OFF + 3 * 4096)
#define BUF	(64 * 1024)
#define IOVA	0x7f0000000000ull
#define TAG	0xf0f0f0f0f0f0f0f0ull	/* wr_id of WQEs aimed at the victim */

struct victim {
	unsigned int qpn, lid, rkey, lkey;
	unsigned long long addr;
};

static struct guest {
	struct wg w;
	struct hv_shm qmem, buf;
	uint32_t pd, rq_region, buf_region, cq, qpn, lkey;
	struct xenib_ring_hdr *cqh, *sqh, *rqh;
	uint32_t sq_prod, cq_cons;
} g;

static unsigned long foreign_ok, cqes, status_count[32];
static time_t deadline;

static void die(const char *what)
{
	printf("malicious_guest: FAIL: %s\n", what);
	exit(1);
}

static uint32_t create_qp(void)
{
	struct xenib_create_qp_req r = {
		.hdr.opcode = XENIB_CMD_CREATE_QP, .pd = g.pd,
		.qp_type = IBV_QPT_RC, .send_cq = g.cq, .recv_cq = g.cq,
		.srq = XENIB_INVALID_HANDLE, .max_send_sge = 8,
		.max_recv_sge = 4, .max_inline = 128,
		.sq = { g.rq_region, SQ_N, SQ_OFF, SQ_STRIDE, 0 },
		.rq = { g.rq_region, RQ_N, RQ_OFF, RQ_STRIDE, 0 },
	};

	return wg_cmd_handle(&g.w, &r, sizeof(r), -1);
}

static void kick(void)
{
	wg_publish(&g.w, g.sqh, g.sq_prod);
}

/* Post one WQE into our SQ (stride bytes of wqe). */
static void post_raw(const void *wqe, size_t len)
{
	char *e = xr_entry(g.sqh, g.sq_prod, SQ_N, SQ_STRIDE);

	memcpy(e, wqe, len < SQ_STRIDE ? len : SQ_STRIDE);
	wg_publish(&g.w, g.sqh, ++g.sq_prod);
}

static void post(uint32_t opcode, uint64_t raddr, uint32_t rkey,
		 uint64_t laddr, uint32_t len, uint32_t lkey)
{
	struct {
		struct xenib_send_wqe w;
		struct xenib_sge s;
	} e = { .w = { .wr_id = TAG, .opcode = opcode,
		       .send_flags = IBV_SEND_SIGNALED, .num_sge = 1,
		       .remote_addr = raddr, .rkey = rkey },
		.s = { laddr, len, lkey } };

	post_raw(&e, sizeof(e));
}

/* Reap our CQ for up to ms; counts statuses. */
static void reap(int ms)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		/* xenibd produces CQEs; we consume. */
		while (xr_load_acquire(&g.cqh->prod) != g.cq_cons) {
			struct xenib_cqe c;

			memcpy(&c, xr_entry(g.cqh, g.cq_cons, CQ_N, 64),
			       sizeof(c));
			xr_store_release(&g.cqh->cons, ++g.cq_cons);
			cqes++;
			status_count[c.status < 32 ? c.status : 31]++;
			if (c.status == IBV_WC_SUCCESS && c.wr_id == TAG)
				foreign_ok++;
		}
		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((t.tv_sec - t0.tv_sec) * 1000 +
		    (t.tv_nsec - t0.tv_nsec) / 1000000 >= ms)
			return;
		usleep(200);
	}
}

static void setup(void)
{
	if (wg_open(&g.w, "mallory"))
		die("context setup");
	if (hv_shm_alloc(&g.qmem, QMEM, "xenib-ring") ||
	    hv_shm_alloc(&g.buf, BUF, "xenib-mr"))
		die("shm");
	g.pd = wg_alloc_pd(&g.w);
	g.rq_region = wg_map_region(&g.w, &g.qmem, 0);
	g.buf_region = wg_map_region(&g.w, &g.buf, 0);
	g.cq = wg_create_cq(&g.w, g.rq_region, CQ_N, CQ_OFF);
	g.lkey = wg_reg_mr(&g.w, g.pd, g.buf_region, IOVA, BUF,
			   IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |
			   IBV_ACCESS_REMOTE_READ);
	if (g.lkey == XENIB_INVALID_HANDLE)
		die("REG_MR");
	g.cqh = (void *)((char *)g.qmem.va + CQ_OFF);
	g.sqh = (void *)((char *)g.qmem.va + SQ_OFF);
	g.rqh = (void *)((char *)g.qmem.va + RQ_OFF);
	g.qpn = create_qp();
	if (g.qpn == XENIB_INVALID_HANDLE)
		die("CREATE_QP");
}

/* Fresh QP on the same rings (after ERR), starting at the ring's index. */
static void reset_qp(uint32_t dest, uint16_t dlid)
{
	wg_handle_cmd(&g.w, XENIB_CMD_DESTROY_QP, g.qpn);
	g.qpn = create_qp();
	g.sq_prod = xr_load_relaxed(&g.sqh->prod);
	wg_connect_qp(&g.w, g.qpn, IBV_QPT_RC, dest, dlid);
}

static bool time_left(void)
{
	return time(NULL) < deadline;
}

/* 1. The victim's QPN, LID, rkey, address, lkey: all leaked, no connection. */
static void attack_leaked(const struct victim *v)
{
	int i;

	for (i = 0; i < 50 && time_left(); i++) {
		reset_qp(v->qpn, v->lid);
		post(i & 1 ? IBV_WR_RDMA_READ : IBV_WR_RDMA_WRITE,
		     v->addr + (i * 512) % BUF, v->rkey, IOVA, 512, g.lkey);
		/* The victim's lkey as ours: another PD. */
		post(IBV_WR_SEND, 0, 0, v->addr, 64, v->lkey);
		reap(5);
	}
}

/* 2. Guessed keys against the victim's QPN and guessed QPNs. */
static void attack_guess(const struct victim *v)
{
	uint32_t idx, gen;

	for (idx = 1; idx < 48 && time_left(); idx++)
		for (gen = 0; gen < 4; gen++) {
			reset_qp(gen & 1 ? v->qpn : (idx << 8) | gen,
				 gen & 2 ? v->lid : (uint16_t)(idx + 1));
			post(gen & 1 ? IBV_WR_RDMA_READ : IBV_WR_RDMA_WRITE,
			     v->addr, (idx << 8) | gen, IOVA, 4096, g.lkey);
			post(IBV_WR_RDMA_WRITE, v->addr, v->rkey, IOVA, 4096,
			     (idx << 8) | gen);
			reap(2);
		}
}

/* 3. Release handles we never got. */
static void attack_release(void)
{
	static const uint16_t ops[] = {
		XENIB_CMD_DESTROY_QP, XENIB_CMD_DESTROY_CQ, XENIB_CMD_DEREG_MR,
		XENIB_CMD_DEALLOC_PD, XENIB_CMD_UNMAP_REGION,
		XENIB_CMD_UNBIND_NOTIFY,
	};
	uint32_t idx, gen, k, h;

	for (idx = 1; idx < 64; idx++)
		for (gen = 0; gen < 4; gen++)
			for (k = 0; k < sizeof(ops) / sizeof(ops[0]); k++) {
				h = (idx << 8) | gen;
				if (h == g.qpn || h == g.cq || h == g.lkey ||
				    h == g.pd || h == g.rq_region ||
				    h == g.buf_region || h == g.w.db ||
				    h == g.w.async || h == g.w.page_h)
					continue;	/* ours */
				if (!wg_handle_cmd(&g.w, ops[k], h)) {
					printf("malicious_guest: opcode %u on handle 0x%x succeeded\n",
					       ops[k], h);
					foreign_ok++;
				}
			}
}

/* 4. Garbage in our own rings and indices. */
static void attack_rings(void)
{
	unsigned char junk[SQ_STRIDE];
	struct xenib_send_wqe *w = (void *)junk;
	struct xenib_sge *s = (void *)(junk + sizeof(*w));
	int i, k;

	for (i = 0; i < 200 && time_left(); i++) {
		reset_qp(g.qpn, g.w.lid);	/* loopback to ourselves */
		for (k = 0; k < SQ_STRIDE; k++)
			junk[k] = rand();
		switch (i % 6) {
		case 0:
			w->num_sge = 0xffffffffu - (i & 7);
			break;
		case 1:
			w->opcode = IBV_WR_RDMA_WRITE;
			w->num_sge = 1;
			s->addr = IOVA + BUF - 8;
			s->length = 0x80000000u;
			s->lkey = g.lkey;
			break;
		case 2:
			w->send_flags = IBV_SEND_INLINE;
			w->inline_len = 0xfffffff0u;
			break;
		case 3:	/* producer far past the consumer */
			xr_store_release(&g.sqh->prod, g.sq_prod + 100000);
			kick();
			break;
		case 4:
			xr_store_release(&g.rqh->prod, rand());
			xr_store_release(&g.cqh->cons, rand());
			xr_store_release(&g.cqh->armed, rand());
			kick();
			break;
		}
		if (i % 6 != 3 && i % 6 != 4)
			post_raw(junk, sizeof(junk));
		reap(1);
		g.cq_cons = xr_load_acquire(&g.cqh->prod);
		xr_store_release(&g.cqh->cons, g.cq_cons);
	}
}

/* 5. WQEs racing with DESTROY_QP. */
static void attack_destroy_race(const struct victim *v)
{
	int i, k;

	for (i = 0; i < 200 && time_left(); i++) {
		reset_qp(i & 1 ? g.qpn : v->qpn, i & 1 ? g.w.lid : v->lid);
		for (k = 0; k < 16; k++)
			post(k & 1 ? IBV_WR_RDMA_READ : IBV_WR_RDMA_WRITE,
			     v->addr + k * 4096 % BUF, v->rkey, IOVA, 4096,
			     g.lkey);
		wg_handle_cmd(&g.w, XENIB_CMD_DESTROY_QP, g.qpn);
		g.qpn = create_qp();
		g.sq_prod = xr_load_relaxed(&g.sqh->prod);
	}
	reap(10);
}

/* 6. Control floods: answered (ours), then unread on a second channel. */
static void attack_flood(void)
{
	struct xenib_ctrl_hdr q = { .opcode = XENIB_CMD_QUERY_DEVICE };
	struct xenib_hello_req h = { .hdr.opcode = XENIB_CMD_HELLO,
				     .abi_version = XENIB_ABI_VERSION };
	unsigned char junk[512];
	struct wg w2 = { 0 };
	int i, s, k;

	for (i = 0; i < 20000 && time_left(); i++)
		if (wg_cmd(&g.w, &q, sizeof(q), -1, NULL, 0) < 0)
			die("flood: lost our own channel");
	s = w2.sock = hv_emu_connect("xenib0");
	strcpy(h.guest_name, "mallory");
	if (s >= 0 && !wg_cmd(&w2, &h, sizeof(h), -1, NULL, 0)) {
		for (i = 0; i < 100000; i++) {
			for (k = 0; k < (int)sizeof(junk); k++)
				junk[k] = rand();
			if (hv_msg_send(s, junk, 16 + i % 400, -1))
				break;	/* xenibd gave up on us: fine */
		}
		printf("malicious_guest: sent %d unread requests\n", i);
	}
	if (s >= 0)
		close(s);
}

int main(int argc, char **argv)
{
	struct victim v = { 0 };
	FILE *f;
	int i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc != 3) {
		fprintf(stderr, "usage: %s VICTIM_INFO SECONDS\n", argv[0]);
		return 2;
	}
	f = fopen(argv[1], "r");
	if (!f || fscanf(f, "%u %u %u %llu %u", &v.qpn, &v.lid, &v.rkey,
			 &v.addr, &v.lkey) != 5)
		die("cannot read the victim's info");
	fclose(f);
	srand(getpid());
	deadline = time(NULL) + atoi(argv[2]);
	setup();
	do {
		attack_leaked(&v);
		attack_guess(&v);
		attack_release();
		attack_rings();
		attack_destroy_race(&v);
		attack_flood();
	} while (time_left());
	printf("malicious_guest: %lu requests (%lu refused), %lu CQEs:",
	       g.w.requests, g.w.refused, cqes);
	for (i = 0; i < 32; i++)
		if (status_count[i])
			printf(" %s=%lu", ibv_wc_status_str(i), status_count[i]);
	printf("\n");
	if (foreign_ok) {
		printf("malicious_guest: FAIL: %lu attacks succeeded\n",
		       foreign_ok);
		return 1;
	}
	printf("malicious_guest: no attack succeeded\n");
	return 0;
}
