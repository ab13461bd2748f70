// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Memory windows between guests of two hosts (tests/fabric/test_fabric.sh):
 *
 *   mw_peer -p PORT          server: binds a type 1 and a type 2 window
 *   mw_peer -p PORT HOST     client: uses them through the fabric
 *
 * The server's windows are virtual rkeys like its MR keys, checked by the
 * same responder on its host (xenibd/fabric/target.c): the client's RDMA
 * WRITE lands in the type 1 window, its READ reads the type 2 one, its
 * SEND_WITH_INV invalidates the type 2 window (the server's receive says
 * so) and a WRITE with that rkey afterwards fails with
 * IBV_WC_REM_ACCESS_ERR.  Connection data travels over TCP.  Exit 0 when
 * every check passed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include <infiniband/verbs.h>
#include "tests/common/check.h"
#include "tests/common/rc_connect.h"

#define BUF	16384
#define WOFF	4096	/* the type 1 window: [WOFF, WOFF + WLEN) */
#define W2OFF	8192	/* the type 2 window */
#define WLEN	1024

struct info {
	uint32_t lid, qpn, rk1, rk2;
	uint64_t a1, a2;
};

static struct ibv_context *ctx;
static struct ibv_pd *pd;
static struct ibv_mr *mr;
static struct ibv_cq *cq;
static struct ibv_qp *qp;
static char *buf;

static int tcp(const char *host, const char *port)
{
	struct addrinfo hints = { .ai_family = AF_INET,
				  .ai_socktype = SOCK_STREAM,
				  .ai_flags = host ? 0 : AI_PASSIVE }, *ai;
	int fd, one = 1, c;

	if (getaddrinfo(host, port, &hints, &ai))
		return -1;
	fd = socket(ai->ai_family, SOCK_STREAM, 0);
	if (fd < 0)
		goto out;
	if (host) {
		if (connect(fd, ai->ai_addr, ai->ai_addrlen))
			goto bad;
		freeaddrinfo(ai);
		return fd;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, 1))
		goto bad;
	c = accept(fd, NULL, NULL);
	close(fd);
	freeaddrinfo(ai);
	return c;
bad:
	close(fd);
out:
	freeaddrinfo(ai);
	return -1;
}

static bool xfer(int fd, void *p, size_t n, bool out)
{
	char *c = p;

	while (n) {
		ssize_t r = out ? write(fd, c, n) : read(fd, c, n);

		if (r <= 0)
			return false;
		c += r;
		n -= r;
	}
	return true;
}

static bool sync_byte(int fd, char tag)
{
	char x = tag;

	return xfer(fd, &x, 1, true) && xfer(fd, &x, 1, false) && x == tag;
}

static bool wait_wc(struct ibv_wc *wc)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		int n = ibv_poll_cq(cq, 1, wc);

		if (n)
			return n > 0;
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec > 10)
			return false;
	}
}

static enum ibv_wc_status post(enum ibv_wr_opcode op, size_t off,
			       uint32_t len, uint64_t raddr, uint32_t rkey)
{
	struct ibv_sge sge = { .addr = (uintptr_t)buf + off, .length = len,
			       .lkey = mr->lkey };
	struct ibv_send_wr wr = {
		.wr_id = op, .sg_list = &sge, .num_sge = 1, .opcode = op,
		.send_flags = IBV_SEND_SIGNALED,
	}, *bad;
	struct ibv_wc wc;

	if (op == IBV_WR_SEND_WITH_INV)
		wr.invalidate_rkey = rkey;
	else
		wr.wr.rdma = (typeof(wr.wr.rdma)){ raddr, rkey };
	if (ibv_post_send(qp, &wr, &bad) || !wait_wc(&wc))
		return IBV_WC_GENERAL_ERR;
	return wc.status;
}

static bool setup(void)
{
	struct ibv_device **l = ibv_get_device_list(NULL);
	struct ibv_qp_init_attr ia = {
		.qp_type = IBV_QPT_RC,
		.cap = { .max_send_wr = 8, .max_recv_wr = 8,
			 .max_send_sge = 1, .max_recv_sge = 1 },
	};

	ctx = l && l[0] ? ibv_open_device(l[0]) : NULL;
	pd = ctx ? ibv_alloc_pd(ctx) : NULL;
	buf = mmap(NULL, BUF, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!pd || buf == MAP_FAILED)
		return false;
	memset(buf, 0, BUF);
	mr = ibv_reg_mr(pd, buf, BUF, IBV_ACCESS_LOCAL_WRITE |
			IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ |
			IBV_ACCESS_MW_BIND);
	cq = ibv_create_cq(ctx, 16, NULL, NULL, 0);
	ia.send_cq = ia.recv_cq = cq;
	qp = mr && cq ? ibv_create_qp(pd, &ia) : NULL;
	return qp;
}

static bool up(const struct info *peer)
{
	static const struct test_rc_opts o = {
		.access = IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ,
		.mtu = IBV_MTU_1024, .rd_atomic = 1, .min_rnr_timer = 1,
		.timeout = 14, .retry_cnt = 7, .rnr_retry = 7,
	};

	return !test_rc_connect(qp, peer->qpn, peer->lid, &o);
}

static int server(const char *port)
{
	struct info me = { 0 }, peer;
	struct ibv_mw *mw1 = NULL, *mw2 = NULL;
	struct ibv_port_attr pa;
	struct ibv_sge sge;
	struct ibv_recv_wr rwr, *rbad;
	struct ibv_send_wr wr, *bad;
	struct ibv_wc wc;
	int fd;

	if (!setup() || ibv_query_port(ctx, 1, &pa))
		return 2;
	mw1 = ibv_alloc_mw(pd, IBV_MW_TYPE_1);
	mw2 = ibv_alloc_mw(pd, IBV_MW_TYPE_2);
	fd = tcp(NULL, port);
	me.lid = pa.lid;
	me.qpn = qp->qp_num;
	if (!mw1 || !mw2 || fd < 0 || !xfer(fd, &peer, sizeof(peer), false) ||
	    !up(&peer))
		return 2;
	result(!ibv_bind_mw(qp, mw1, &(struct ibv_mw_bind){
		.wr_id = 1, .send_flags = IBV_SEND_SIGNALED,
		.bind_info = { mr, (uintptr_t)buf + WOFF, WLEN,
			       IBV_ACCESS_REMOTE_WRITE } }) &&
	       wait_wc(&wc) && wc.status == IBV_WC_SUCCESS,
	       "server: type 1 window bound");
	memset(&wr, 0, sizeof(wr));
	wr.wr_id = 2;
	wr.opcode = IBV_WR_BIND_MW;
	wr.send_flags = IBV_SEND_SIGNALED;
	wr.bind_mw.mw = mw2;
	wr.bind_mw.rkey = ibv_inc_rkey(mw2->rkey);
	wr.bind_mw.bind_info = (struct ibv_mw_bind_info){
		mr, (uintptr_t)buf + W2OFF, WLEN,
		IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_WRITE };
	result(!ibv_post_send(qp, &wr, &bad) && wait_wc(&wc) &&
	       wc.status == IBV_WC_SUCCESS, "server: type 2 window bound");
	memcpy(buf + W2OFF, "type-2!", 8);
	sge = (struct ibv_sge){ (uintptr_t)buf, 64, mr->lkey };
	rwr = (struct ibv_recv_wr){ .wr_id = 9, .sg_list = &sge,
				    .num_sge = 1 };
	ibv_post_recv(qp, &rwr, &rbad);
	me.rk1 = mw1->rkey;
	me.rk2 = wr.bind_mw.rkey;
	me.a1 = (uintptr_t)buf + WOFF;
	me.a2 = (uintptr_t)buf + W2OFF;
	if (!xfer(fd, &me, sizeof(me), true))
		return 2;
	/* The client's SEND_WITH_INV arrives after its WRITE and READ. */
	memset(&wc, 0, sizeof(wc));
	if (!wait_wc(&wc))
		wc.status = IBV_WC_GENERAL_ERR;
	result(wc.status == IBV_WC_SUCCESS &&
	       wc.opcode == IBV_WC_RECV && (wc.wc_flags & IBV_WC_WITH_INV) &&
	       wc.invalidated_rkey == me.rk2,
	       "server: SEND_WITH_INV from the other host invalidated the type 2 window (%#x)",
	       wc.invalidated_rkey);
	result(!memcmp(buf + WOFF + 16, "remote!", 8),
	       "server: the client's WRITE landed in the type 1 window");
	sync_byte(fd, 'x');	/* the client's last check is done */
	ibv_dealloc_mw(mw1);
	ibv_dealloc_mw(mw2);
	close(fd);
	return check_summary();
}

static int client(const char *host, const char *port)
{
	struct info me = { 0 }, peer;
	struct ibv_port_attr pa;
	int fd;

	if (!setup() || ibv_query_port(ctx, 1, &pa))
		return 2;
	me.lid = pa.lid;
	me.qpn = qp->qp_num;
	fd = tcp(host, port);
	if (fd < 0 || !xfer(fd, &me, sizeof(me), true) ||
	    !xfer(fd, &peer, sizeof(peer), false) || !up(&peer))
		return 2;
	memcpy(buf, "remote!", 8);
	result(post(IBV_WR_RDMA_WRITE, 0, 8, peer.a1 + 16, peer.rk1) ==
	       IBV_WC_SUCCESS,
	       "client: RDMA_WRITE into a type 1 window on another host");
	result(post(IBV_WR_RDMA_READ, 64, 8, peer.a2, peer.rk2) ==
	       IBV_WC_SUCCESS && !memcmp(buf + 64, "type-2!", 8),
	       "client: RDMA_READ from a type 2 window on another host");
	result(post(IBV_WR_SEND_WITH_INV, 128, 8, 0, peer.rk2) ==
	       IBV_WC_SUCCESS, "client: SEND_WITH_INV of the type 2 rkey");
	result(post(IBV_WR_RDMA_WRITE, 0, 8, peer.a2, peer.rk2) ==
	       IBV_WC_REM_ACCESS_ERR,
	       "client: RDMA_WRITE with the invalidated rkey: REM_ACCESS_ERR");
	result(sync_byte(fd, 'x'), "client: the server finished its checks");
	close(fd);
	return check_summary();
}

int main(int argc, char **argv)
{
	const char *port = NULL;
	int i;

	for (i = 1; i < argc; i++)
		if (!strcmp(argv[i], "-p") && i + 1 < argc)
			port = argv[++i];
	if (!port || (argc != 3 && argc != 4))
		return 2;
	return argc == 4 ? client(argv[3], port) : server(port);
}
