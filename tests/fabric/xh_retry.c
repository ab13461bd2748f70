// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * xh_errors' retry modes (xh.h): the responder's host taken away by the
 * test script while the requester (the client) has work to do.
 *
 * Both modes first prove the path with one SEND, then the client prints
 * "READY" and waits (bounded) for the trigger file the script creates
 * once the server's host is away (link cut, xenibd killed or restarted).
 *
 *   retry      the host stays away: one SEND must end in RETRY_EXC_ERR,
 *              not before retry_cnt timeouts and within the QP's budget
 *              4.096 us x 2^timeout x (retry_cnt + 1) (a generous margin
 *              above it for a loaded machine), and a later WR flushes.
 *   partition  the host comes back inside the budget: SENDs, a 2 MiB
 *              WRITE and a 1 MiB READ posted while it is away all succeed
 *              once it is back, in order, with their data, and no SEND is
 *              delivered twice.
 *
 * The side channel crosses the same link: during a cut it only waits.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/common/tcp_xchg.h"
#include "tests/fabric/xh.h"

#define TRIGGER_MS	120000		/* the script's cut comes within */
#define NSEND		4		/* SENDs of the partition mode */
#define SEND_LEN	4096u
#define RECV_OFF	(4u << 20)	/* the server's receive buffers */
#define WRITE_LEN	(2u << 20)
#define WRITE_SRC	(1u << 20)	/* at the client */
#define RREAD_OFF	(5u << 20)	/* READ's source, and its landing */
#define RREAD_LEN	(1u << 20)

enum { T_POSTED = 1, T_PROVED, T_BACK, T_SEED };

static uint8_t timeout_code = 16, retry_cnt = 3;
static bool partition;

static void opts_retry(const struct xh *x, struct qp_opts *o)
{
	o->timeout = timeout_code;
	o->retry_cnt = retry_cnt;
	o->rnr_retry = 7;	/* an RNR would not be the point */
}

static void noop(struct xh *x)
{
}

static const struct xh_case retry_case = {
	"transport retry: peer host away", noop, 0, opts_retry,
};

static bool wait_file(const char *path, int ms)
{
	double end = now_ms() + ms;

	while (access(path, F_OK)) {
		if (now_ms() > end)
			return false;
		usleep(10000);
	}
	return true;
}

static double period_ms(void)
{
	return 4.096e-3 * (double)(1u << timeout_code);
}

static double budget_ms(void)
{
	return period_ms() * (retry_cnt + 1);
}

/* The host stays away: RETRY_EXC_ERR within the budget. */
static void client_retry(struct xh *x)
{
	const char *w = retry_case.name;
	struct side *s = &x->s;
	struct ibv_wc wc;
	double t0, dt;
	int n;

	t0 = now_ms();
	post_send(&x->e, 2, IBV_WR_SEND, va(s, 0), 8, s->mr->lkey, 0, 0);
	n = wait_wc(x->e.scq, &wc, 1, (int)(budget_ms() * 4) + 20000);
	dt = now_ms() - t0;
	printf("XH_ELAPSED_MS=%.0f XH_BUDGET_MS=%.0f\n", dt, budget_ms());
	if (!n) {
		result(false, "%s: no completion within %.0f ms (budget "
		       "%.0f ms)", w, dt, budget_ms());
		return;
	}
	result(wc.wr_id == 2 && wc.status == IBV_WC_RETRY_EXC_ERR,
	       "%s: %s (got %s, wr_id %llu)", w, st(IBV_WC_RETRY_EXC_ERR),
	       st(wc.status), (unsigned long long)wc.wr_id);
	/*
	 * Not before retry_cnt timeouts; the upper bound only catches a
	 * requester that ignores its budget (a loaded machine stretches
	 * every timer, so it is generous).
	 */
	result(dt >= period_ms() * retry_cnt && dt <= budget_ms() * 2 + 2000,
	       "%s: after %.0f ms, budget %.0f ms = 4.096 us x 2^%u x "
	       "(%u + 1)", w, dt, budget_ms(), timeout_code, retry_cnt);
	expect_state(x->e.qp, "requester", IBV_QPS_ERR);
	post_send(&x->e, 3, IBV_WR_SEND, va(s, 0), 8, s->mr->lkey, 0, 0);
	expect_wc(x->e.scq, "a SEND posted after it", 3, IBV_WC_WR_FLUSH_ERR,
		  NULL);
}

/* The host comes back inside the budget: everything arrives, once. */
static void client_partition(struct xh *x, uint64_t rseed)
{
	const char *w = "partition inside the budget";
	struct side *s = &x->s;
	uint64_t seed = (uint64_t)now_ms() * 7 + 1;
	struct ibv_wc wc[NSEND + 2];
	double t0, dt;
	int i, n;
	bool ok;

	for (i = 0; i < NSEND; i++)
		xh_fill(s->buf + i * SEND_LEN, SEND_LEN, seed + i);
	xh_fill(s->buf + WRITE_SRC, WRITE_LEN, seed + NSEND);
	memset(s->buf + RREAD_OFF, 0, RREAD_LEN);
	t0 = now_ms();
	for (i = 0; i < NSEND; i++)
		post_send(&x->e, 2 + i, IBV_WR_SEND, va(s, i * SEND_LEN),
			  SEND_LEN, s->mr->lkey, 0, 0);
	post_send(&x->e, 2 + NSEND, IBV_WR_RDMA_WRITE, va(s, WRITE_SRC),
		  WRITE_LEN, s->mr->lkey, x->peer.addr, x->peer.rkey);
	post_send(&x->e, 3 + NSEND, IBV_WR_RDMA_READ, va(s, RREAD_OFF),
		  RREAD_LEN, s->mr->lkey, x->peer.addr + RREAD_OFF,
		  x->peer.rkey);
	n = wait_wc(x->e.scq, wc, NSEND + 2, (int)(budget_ms() * 2) + 20000);
	dt = now_ms() - t0;
	printf("XH_ELAPSED_MS=%.0f XH_BUDGET_MS=%.0f\n", dt, budget_ms());
	ok = n == NSEND + 2;
	for (i = 0; ok && i < n; i++)
		ok = wc[i].wr_id == (uint64_t)i + 2 &&
		     wc[i].status == IBV_WC_SUCCESS;
	result(ok, "%s: %d SENDs, a 2 MiB WRITE and a 1 MiB READ complete "
	       "in order after %.0f ms (%d done%s%s)", w, NSEND, dt, n,
	       n && !ok ? ", first bad: " : "",
	       n && !ok ? st(wc[i - 1].status) : "");
	result(ok && xh_holds(s->buf + RREAD_OFF, RREAD_LEN, rseed),
	       "%s: the READ brought the responder's bytes", w);
	xh_sync(x, T_BACK);	/* the side channel made it through too */
	xh_put(x, T_SEED, seed);
}

void xh_retry_client(struct xh *x, const struct xh_retry *r)
{
	struct side *s = &x->s;
	uint64_t rseed = 0;

	timeout_code = r->timeout;
	retry_cnt = r->retry_cnt;
	partition = r->partition;
	xh_start_case(x, XH_RETRY_CASE, (uint64_t)partition << 16 |
		      (uint64_t)timeout_code << 8 | retry_cnt);
	if (!xh_setup(x, &retry_case))
		return;
	if (partition)
		rseed = xh_get(x, T_SEED);
	xh_sync(x, T_POSTED);
	post_send(&x->e, 1, IBV_WR_SEND, va(s, 0), 8, s->mr->lkey, 0, 0);
	expect_wc(x->e.scq, "a SEND crosses before the host goes", 1,
		  IBV_WC_SUCCESS, NULL);
	xh_sync(x, T_PROVED);
	printf("READY timeout %u retry_cnt %u budget %.0f ms\n",
	       timeout_code, retry_cnt, budget_ms());
	fflush(stdout);
	if (!wait_file(r->trigger, TRIGGER_MS)) {
		result(false, "%s: %s did not appear", retry_case.name,
		       r->trigger);
		return;
	}
	if (partition)
		client_partition(x, rseed);
	else
		client_retry(x);
}

/* ------------------------------------------------------------------ */
/* The server                                                          */

/*
 * What this side's device says after the other host's verdict: the script
 * knows whether our xenibd was killed (DEVICE_FATAL due) or only our link
 * cut (no event due).  ibv_get_async_event itself, not only a poll() of
 * the async fd: only a call into the provider looks at its channel to
 * xenibd (our async_fd is non-blocking).  2 s for an event to come.
 */
static void report_device(struct xh *x)
{
	double end = now_ms() + 2000;
	struct ibv_async_event ev;
	int n = 0;

	while (n < 4) {
		if (ibv_get_async_event(x->s.ctx, &ev)) {
			if (errno != EAGAIN || n || now_ms() > end)
				break;
			usleep(10000);
			continue;
		}
		printf("XH_ASYNC %s%s\n", ibv_event_type_str(ev.event_type),
		       ev.event_type == IBV_EVENT_DEVICE_FATAL ?
		       " (DEVICE_FATAL)" : "");
		ibv_ack_async_event(&ev);
		n++;
	}
	if (!n)
		printf("XH_ASYNC none\n");
}

/* The partition's data at the responder: once each, intact. */
static void server_partition(struct xh *x)
{
	const char *w = "partition inside the budget";
	struct side *s = &x->s;
	struct ibv_wc wc[NSEND];
	uint64_t seed;
	int i, n;
	bool ok;

	xh_sync(x, T_BACK);
	seed = xh_get(x, T_SEED);
	n = wait_wc(x->e.rcq, wc, NSEND, WAIT_MS);
	ok = n == NSEND;
	for (i = 0; ok && i < n; i++)
		ok = wc[i].wr_id == (uint64_t)i + 101 &&
		     wc[i].status == IBV_WC_SUCCESS &&
		     wc[i].byte_len == SEND_LEN &&
		     xh_holds(s->buf + RECV_OFF + i * SEND_LEN, SEND_LEN,
			      seed + i);
	result(ok, "%s: the %d SENDs received in order, intact (%d)", w,
	       NSEND, n);
	result(xh_holds(s->buf, WRITE_LEN, seed + NSEND),
	       "%s: the 2 MiB WRITE landed intact", w);
	/* Two spare receives: a SEND delivered twice would take one. */
	result(no_wc(x->e.rcq, 500), "%s: no SEND delivered twice", w);
}

void xh_retry_server(struct xh *x, uint64_t arg)
{
	struct side *s = &x->s;
	uint64_t rseed = (uint64_t)now_ms() * 13 + 5;
	int i;

	retry_cnt = (uint8_t)arg & 7;
	timeout_code = (uint8_t)(arg >> 8) & 31;
	partition = (arg >> 16) & 1;
	if (!xh_setup(x, &retry_case))
		goto out;
	post_recv(&x->e, 100, va(s, RECV_OFF - 4096), 64, s->mr->lkey);
	if (partition) {
		for (i = 0; i < NSEND + 2; i++)
			post_recv(&x->e, 101 + i,
				  va(s, RECV_OFF + i * SEND_LEN), SEND_LEN,
				  s->mr->lkey);
		xh_fill(s->buf + RREAD_OFF, RREAD_LEN, rseed);
		xh_put(x, T_SEED, rseed);
	}
	xh_sync(x, T_POSTED);
	expect_wc(x->e.rcq, "a SEND crosses before the host goes", 100,
		  IBV_WC_SUCCESS, NULL);
	xh_sync(x, T_PROVED);
	if (partition)
		server_partition(x);
	/* Cut off or without its xenibd now: the client judges. */
	result(!tx_wait_close(x->fd, 600000),
	       "%s: the client closed the side channel", retry_case.name);
	report_device(x);
out:
	check_summary();
	exit(failed ? 1 : 0);	/* what xenibd held may be gone with it */
}
