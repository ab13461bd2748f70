// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Hostile-guest test of xenibd's control channel (DESIGN.md section 6,
 * invariant 1): malformed, out-of-order and foreign-handle requests must each
 * get an error response (echoed seq, non-zero status) and must not disturb
 * xenibd or another guest.
 *
 * Usage: test_ctrl_malformed [RUN_DIR]     (default: $XENIB_EMU_DIR)
 *
 * Prints one line per case, "error replies: N" and "N passed, N failed";
 * exits 1 if any case failed.  A channel the backend closes after answering
 * is reopened for the next case (closing a misbehaving guest is allowed; not
 * answering is not).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/mman.h>

#include <rdma/xenib-abi.h>
#include "util/hv.h"

#define RESP_TIMEOUT_MS	5000
#define DEV		"xenib0"
#define BOGUS		12345u
#define DATA_PAGES	256u	/* 1 MiB: room for XENIB_MAX_MR_SEGS + 1 pages */

struct conn {
	const char *label;	/* for messages */
	const char *guest;	/* guest_name in HELLO */
	int fd;
	int hello;
	int ctx_done;
	uint32_t ctx_region;	/* handle of the context page region */
	uint32_t pd;		/* XENIB_INVALID_HANDLE if none */
	uint32_t region;	/* data region (DATA_PAGES pages) */
	struct hv_shm ctx_shm, data_shm;
};

static uint32_t g_seq = 1000;
static int g_pass, g_fail, g_err_replies;
static int g_last_refused;	/* last response was an error */

static union {
	struct xenib_ctrl_hdr hdr;
	unsigned char raw[XENIB_CTRL_MAX_MSG + 64];
} g_resp;
static ssize_t g_resp_len;

static void report(int ok, const char *name, const char *fmt, ...)
{
	va_list ap;

	if (ok)
		g_pass++;
	else
		g_fail++;
	printf("%s  %-58s ", ok ? "PASS" : "FAIL", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static const char *errname(uint32_t e)
{
	switch (e) {
	case 0: return "0";
	case EINVAL: return "EINVAL";
	case EPROTO: return "EPROTO";
	case ENOENT: return "ENOENT";
	case EBADF: return "EBADF";
	case EPERM: return "EPERM";
	case EACCES: return "EACCES";
	case ENOMEM: return "ENOMEM";
	case ENOSPC: return "ENOSPC";
	case EFAULT: return "EFAULT";
	case EMSGSIZE: return "EMSGSIZE";
	case ERANGE: return "ERANGE";
	case EBUSY: return "EBUSY";
	case EEXIST: return "EEXIST";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case EPROTONOSUPPORT: return "EPROTONOSUPPORT";
	case ENOSYS: return "ENOSYS";
	case EOVERFLOW: return "EOVERFLOW";
	case E2BIG: return "E2BIG";
	case ECONNRESET: return "ECONNRESET";
	case ENOTCONN: return "ENOTCONN";
	case ETIMEDOUT: return "ETIMEDOUT";
	case EBADMSG: return "EBADMSG (bad reply)";
	case EPIPE: return "EPIPE";
	default: return "errno";
	}
}

static void hdr_init(void *msg, uint16_t op, uint32_t len)
{
	struct xenib_ctrl_hdr *h = msg;

	h->opcode = op;
	h->flags = 0;
	h->length = len;
	h->seq = ++g_seq;
	h->status = 0;
}

/* ------------------------------------------------------------------ */
/* Channel                                                              */

static void conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->hello = 0;
	c->ctx_done = 0;
	c->ctx_region = XENIB_INVALID_HANDLE;
	c->pd = XENIB_INVALID_HANDLE;
	c->region = XENIB_INVALID_HANDLE;
	/* Our mappings and memfds: the backend holds its own references. */
	if (c->ctx_shm.va)
		hv_shm_release(&c->ctx_shm, 1);
	if (c->data_shm.va)
		hv_shm_release(&c->data_shm, 1);
	c->ctx_shm.va = c->data_shm.va = NULL;
	c->ctx_shm.fd = c->data_shm.fd = -1;
}

/* Messages nobody asked for mean the request/response pairing is broken. */
static void drain_unsolicited(struct conn *c, int wait_ms)
{
	struct pollfd p = { .fd = c->fd, .events = POLLIN };
	unsigned char buf[256];
	int fd;

	while (c->fd >= 0 && poll(&p, 1, wait_ms) == 1) {
		ssize_t n = hv_msg_recv(c->fd, buf, sizeof(buf), &fd);

		if (fd >= 0)
			close(fd);
		if (n <= 0) {		/* closed: reopen when next needed */
			conn_close(c);
			return;
		}
		report(0, "no unsolicited messages",
		       "%s: %zd-byte message nobody asked for", c->label, n);
	}
}

/*
 * Send one message (optionally with an fd) and wait for one response into
 * g_resp.  Returns 0, or an errno: ETIMEDOUT (no answer), ECONNRESET (channel
 * closed without an answer), or a send error.
 */
static int transact(struct conn *c, const void *msg, size_t len, int pass_fd)
{
	struct pollfd p;
	int err, fd, r;

	if (c->fd < 0)
		return ENOTCONN;
	drain_unsolicited(c, 0);
	if (c->fd < 0)
		return ENOTCONN;
	err = hv_msg_send(c->fd, msg, len, pass_fd);
	if (err) {
		conn_close(c);
		return err;
	}
	p.fd = c->fd;
	p.events = POLLIN;
	do {
		r = poll(&p, 1, RESP_TIMEOUT_MS);
	} while (r < 0 && errno == EINTR);
	if (r == 0) {
		conn_close(c);	/* request/response pairing is lost */
		return ETIMEDOUT;
	}
	g_resp_len = hv_msg_recv(c->fd, g_resp.raw, sizeof(g_resp.raw), &fd);
	if (fd >= 0)
		close(fd);
	if (g_resp_len <= 0) {
		conn_close(c);
		return g_resp_len == 0 ? ECONNRESET : (int)-g_resp_len;
	}
	if ((size_t)g_resp_len < sizeof(struct xenib_ctrl_hdr))
		return EBADMSG;
	return 0;
}

static int do_hello(struct conn *c, uint32_t abi)
{
	struct xenib_hello_req req;
	int err;

	memset(&req, 0, sizeof(req));
	hdr_init(&req, XENIB_CMD_HELLO, sizeof(req));
	req.abi_version = abi;
	snprintf(req.guest_name, sizeof(req.guest_name), "%s", c->guest);
	err = transact(c, &req, sizeof(req), -1);
	if (err)
		return err;
	if (g_resp.hdr.seq != req.hdr.seq)
		return EBADMSG;
	if (g_resp.hdr.status)
		return (int)g_resp.hdr.status;
	c->hello = 1;
	return 0;
}

static int conn_open(struct conn *c, int hello)
{
	int fd, err;

	conn_close(c);
	fd = hv_emu_connect(DEV);
	if (fd < 0) {
		fprintf(stderr, "%s: cannot connect to %s/%s.sock: %s\n",
			c->label, hv_emu_dir(), DEV, strerror(-fd));
		return -fd;
	}
	c->fd = fd;
	if (hello) {
		err = do_hello(c, XENIB_ABI_VERSION);
		if (err) {
			fprintf(stderr, "%s: HELLO failed: %s (%d)\n", c->label,
				errname(err), err);
			conn_close(c);
			return err;
		}
	}
	return 0;
}

/* Make the channel be in the state a case needs: fresh, or after HELLO. */
static int ensure(struct conn *c, int hello)
{
	/*
	 * A backend may close a channel right after refusing a request; give
	 * the close a moment to arrive so the next case starts on a live one.
	 */
	if (c->fd >= 0)
		drain_unsolicited(c, g_last_refused ? 20 : 0);
	g_last_refused = 0;
	if (c->fd >= 0 && c->hello == hello)
		return 0;
	return conn_open(c, hello);
}

/* A request that must succeed (setup of a case).  0 or the failure. */
static int req_ok(struct conn *c, const char *what, const void *msg,
		  size_t len, int pass_fd)
{
	const struct xenib_ctrl_hdr *h = msg;
	int err = transact(c, msg, len, pass_fd);

	if (!err && g_resp.hdr.seq != h->seq)
		err = EBADMSG;
	if (!err && g_resp.hdr.status)
		err = (int)g_resp.hdr.status;
	if (err)
		fprintf(stderr, "  (%s: %s: %s %d)\n", c->label, what,
			errname(err), err);
	return err;
}

static int map_region(struct conn *c, struct hv_shm *shm, uint32_t npages,
		      uint32_t flags, uint32_t *handle)
{
	struct xenib_map_region_req req;
	int err;

	if (!shm->va) {
		err = hv_shm_alloc(shm, (size_t)npages * XENIB_PAGE_SIZE,
				   "xenib-ctrl-test");
		if (err)
			return err;
	}
	memset(&req, 0, sizeof(req));
	hdr_init(&req, XENIB_CMD_MAP_REGION, sizeof(req));
	req.npages = npages;
	req.flags = flags;
	err = req_ok(c, "MAP_REGION", &req, sizeof(req), shm->fd);
	if (err)
		return err;
	if ((size_t)g_resp_len < sizeof(struct xenib_handle_resp))
		return EBADMSG;
	*handle = ((struct xenib_handle_resp *)g_resp.raw)->handle;
	return 0;
}

/* The context page first (the provider's order), then what a case needs. */
static int get_ctx(struct conn *c)
{
	uint32_t h;
	int err;

	if (ensure(c, 1))
		return ENOTCONN;
	if (c->ctx_done)
		return 0;
	err = map_region(c, &c->ctx_shm, 1, XENIB_REGION_CTX_PAGE, &h);
	if (!err) {
		c->ctx_done = 1;
		c->ctx_region = h;
	}
	return err;
}

static int get_region(struct conn *c)
{
	int err = get_ctx(c);

	if (err || c->region != XENIB_INVALID_HANDLE)
		return err;
	return map_region(c, &c->data_shm, DATA_PAGES, 0, &c->region);
}

static int alloc_pd(struct conn *c, uint32_t *pd)
{
	struct xenib_alloc_pd_req req;
	int err;

	hdr_init(&req, XENIB_CMD_ALLOC_PD, sizeof(req));
	err = req_ok(c, "ALLOC_PD", &req, sizeof(req), -1);
	if (err)
		return err;
	if ((size_t)g_resp_len < sizeof(struct xenib_handle_resp))
		return EBADMSG;
	*pd = ((struct xenib_handle_resp *)g_resp.raw)->handle;
	return 0;
}

static int get_pd(struct conn *c)
{
	int err = get_ctx(c);

	if (err || c->pd != XENIB_INVALID_HANDLE)
		return err;
	return alloc_pd(c, &c->pd);
}

static int handle_op(struct conn *c, uint16_t op, uint32_t handle)
{
	struct xenib_handle_req req;

	memset(&req, 0, sizeof(req));
	hdr_init(&req, op, sizeof(req));
	req.handle = handle;
	return req_ok(c, "handle op", &req, sizeof(req), -1);
}

/* ------------------------------------------------------------------ */
/* Verdicts                                                             */

#define ANY_ERR		0
#define NO_SEQ		0x1	/* unframeable: seq cannot be echoed */
#define OPCODE0		0x2	/* ... and the reply carries opcode 0 */

/*
 * Send msg; it must be refused: a response, echoed seq (unless NO_SEQ),
 * non-zero status, equal to want unless want == ANY_ERR.
 */
static void refused(struct conn *c, const char *name, const void *msg,
		    size_t len, int pass_fd, uint32_t want, unsigned int fl)
{
	uint32_t seq = 0, st;
	int err;

	if (len >= sizeof(struct xenib_ctrl_hdr))
		seq = ((const struct xenib_ctrl_hdr *)msg)->seq;
	err = transact(c, msg, len, pass_fd);
	if (err == ETIMEDOUT) {
		report(0, name, "no response within %d ms", RESP_TIMEOUT_MS);
		return;
	}
	if (err) {
		report(0, name, "no response: %s", strerror(err));
		return;
	}
	st = g_resp.hdr.status;
	if (st) {
		g_err_replies++;
		g_last_refused = 1;
	}
	if (!st) {
		report(0, name, "accepted (status 0)");
		conn_close(c);	/* its state is no longer known */
		return;
	}
	if (!(fl & NO_SEQ) && g_resp.hdr.seq != seq) {
		report(0, name, "status %s but seq %u, expected %u",
		       errname(st), g_resp.hdr.seq, seq);
		return;
	}
	if ((fl & OPCODE0) && g_resp.hdr.opcode != 0) {
		report(0, name, "status %s but opcode %u, expected 0",
		       errname(st), g_resp.hdr.opcode);
		return;
	}
	if (want != ANY_ERR && st != want) {
		report(0, name, "status %s (%u), expected %s", errname(st), st,
		       errname(want));
		return;
	}
	report(1, name, "refused: %s (%u)%s", errname(st), st,
	       c->fd < 0 ? ", channel closed after the reply" : "");
}

/* A setup step failed: the case cannot be judged, which is a failure. */
static void setup_failed(const char *name, const char *what, int err)
{
	report(0, name, "setup failed: %s: %s (%d)", what, errname(err), err);
}

/* ------------------------------------------------------------------ */
/* Cases                                                                */

static void cases_before_hello(struct conn *a)
{
	unsigned char buf[8192];
	struct xenib_hello_req hello;
	struct xenib_alloc_pd_req pd;

	memset(buf, 0, sizeof(buf));
	if (!ensure(a, 0)) {
		struct xenib_ctrl_hdr *h = (void *)buf;

		h->opcode = XENIB_CMD_HELLO;
		h->length = 4;
		refused(a, "pre-HELLO: 4-byte message (shorter than header)",
			buf, 4, -1, EINVAL, NO_SEQ | OPCODE0);
	}
	if (!ensure(a, 0)) {
		hdr_init(&pd, XENIB_CMD_ALLOC_PD, sizeof(pd));
		refused(a, "pre-HELLO: ALLOC_PD before HELLO", &pd,
			sizeof(pd), -1, EPROTO, 0);
	}
	if (!ensure(a, 0)) {
		hdr_init(buf, 0x7777, 16);
		refused(a, "pre-HELLO: unknown opcode 0x7777", buf, 16, -1,
			ANY_ERR, 0);
	}
	if (!ensure(a, 0)) {
		memset(&hello, 0, sizeof(hello));
		hdr_init(&hello, XENIB_CMD_HELLO, sizeof(hello));
		hello.abi_version = 999;
		strcpy(hello.guest_name, "ctrl-test-badabi");
		refused(a, "pre-HELLO: HELLO abi_version 999", &hello,
			sizeof(hello), -1, ANY_ERR, 0);
	}
	if (!ensure(a, 0)) {
		memset(&hello, 0, sizeof(hello));
		hdr_init(&hello, XENIB_CMD_HELLO, sizeof(hello));
		hello.abi_version = 0;
		strcpy(hello.guest_name, "ctrl-test-badabi");
		refused(a, "pre-HELLO: HELLO abi_version 0", &hello,
			sizeof(hello), -1, ANY_ERR, 0);
	}
	if (!ensure(a, 0)) {
		memset(buf, 0, sizeof(hello) + 8);
		hdr_init(buf, XENIB_CMD_HELLO, sizeof(hello) + 8);
		((struct xenib_hello_req *)buf)->abi_version = XENIB_ABI_VERSION;
		/* length field says 96, 88 bytes sent */
		refused(a, "pre-HELLO: HELLO length field > bytes sent", buf,
			sizeof(hello), -1, ANY_ERR, 0);
	}
	if (!ensure(a, 0)) {
		memset(buf, 0, sizeof(hello));
		hdr_init(buf, XENIB_CMD_HELLO, 40);
		((struct xenib_hello_req *)buf)->abi_version = XENIB_ABI_VERSION;
		refused(a, "pre-HELLO: HELLO truncated to 40 bytes", buf, 40,
			-1, ANY_ERR, 0);
	}
	if (!ensure(a, 0)) {
		memset(buf, 0, sizeof(hello));
		hdr_init(buf, XENIB_CMD_HELLO, 16);
		((struct xenib_hello_req *)buf)->abi_version = XENIB_ABI_VERSION;
		/* length field says 16 (header only), 88 bytes sent */
		refused(a, "pre-HELLO: HELLO length field < bytes sent", buf,
			sizeof(hello), -1, ANY_ERR, 0);
	}
	if (!ensure(a, 0)) {
		memset(buf, 'A', sizeof(buf));
		hdr_init(buf, XENIB_CMD_HELLO, sizeof(buf));
		refused(a, "pre-HELLO: 8192-byte message (> XENIB_CTRL_MAX_MSG)",
			buf, sizeof(buf), -1, ANY_ERR, NO_SEQ);
	}
}

static void cases_framing(struct conn *a)
{
	unsigned char buf[8192];
	static const uint16_t bad_ops[] = { 0, XENIB_CMD_MAX, 0x1234, 0xffff };
	char name[80];
	size_t i;

	memset(buf, 0, sizeof(buf));
	for (i = 0; i < sizeof(bad_ops) / sizeof(bad_ops[0]); i++) {
		if (ensure(a, 1))
			return;
		hdr_init(buf, bad_ops[i], 24);
		snprintf(name, sizeof(name), "unknown opcode %u", bad_ops[i]);
		refused(a, name, buf, 24, -1, EINVAL, 0);
	}
	if (!ensure(a, 1)) {
		memset(buf, 0, 64);
		buf[0] = XENIB_CMD_ALLOC_PD;
		refused(a, "8-byte message (shorter than header)", buf, 8, -1,
			EINVAL, NO_SEQ | OPCODE0);
	}
	if (!ensure(a, 1)) {
		hdr_init(buf, XENIB_CMD_ALLOC_PD, 24);
		refused(a, "ALLOC_PD: length field 24, 16 bytes sent", buf, 16,
			-1, ANY_ERR, 0);
	}
	if (!ensure(a, 1)) {
		hdr_init(buf, XENIB_CMD_DEALLOC_PD, 16);
		refused(a, "DEALLOC_PD: header only (no handle)", buf, 16, -1,
			ANY_ERR, 0);
	}
	if (!ensure(a, 1)) {
		struct xenib_handle_req *q = (void *)buf;

		hdr_init(q, XENIB_CMD_QUERY_PORT, sizeof(*q));
		q->handle = 0;
		refused(a, "QUERY_PORT port 0", buf, sizeof(*q), -1, ANY_ERR, 0);
	}
	if (!ensure(a, 1)) {
		struct xenib_handle_req *q = (void *)buf;

		hdr_init(q, XENIB_CMD_QUERY_PORT, sizeof(*q));
		q->handle = 2;
		refused(a, "QUERY_PORT port 2 (device has 1)", buf, sizeof(*q),
			-1, ANY_ERR, 0);
	}
	if (!ensure(a, 1)) {
		hdr_init(buf, XENIB_CMD_QUERY_PORT, 0);
		refused(a, "QUERY_PORT: length field 0", buf, 16, -1, ANY_ERR,
			0);
	}
	if (!ensure(a, 1)) {
		hdr_init(buf, XENIB_CMD_QUERY_PORT, 0xffffffffu);
		refused(a, "QUERY_PORT: length field 0xffffffff", buf, 16, -1,
			ANY_ERR, 0);
	}
	if (!ensure(a, 1)) {
		memset(buf, 0xee, sizeof(buf));
		hdr_init(buf, XENIB_CMD_REG_MR, sizeof(buf));
		refused(a, "8192-byte REG_MR (> XENIB_CTRL_MAX_MSG)", buf,
			sizeof(buf), -1, ANY_ERR, NO_SEQ);
	}
}

static void cases_bad_handles(struct conn *a)
{
	static const struct {
		uint16_t op;
		const char *name;
	} ops[] = {
		{ XENIB_CMD_DEALLOC_PD, "DEALLOC_PD" },
		{ XENIB_CMD_DESTROY_QP, "DESTROY_QP" },
		{ XENIB_CMD_QUERY_QP, "QUERY_QP" },
		{ XENIB_CMD_DESTROY_CQ, "DESTROY_CQ" },
		{ XENIB_CMD_DEREG_MR, "DEREG_MR" },
		{ XENIB_CMD_UNMAP_REGION, "UNMAP_REGION" },
		{ XENIB_CMD_UNBIND_NOTIFY, "UNBIND_NOTIFY" },
		{ XENIB_CMD_CLOSE_XRCD, "CLOSE_XRCD" },
	};
	static const uint32_t handles[] = { BOGUS, XENIB_INVALID_HANDLE };
	struct xenib_handle_req req;
	struct xenib_modify_qp_req mq;
	char name[80];
	uint32_t pd;
	size_t i, j;
	int err;

	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		for (j = 0; j < 2; j++) {
			if (get_ctx(a))
				return;
			memset(&req, 0, sizeof(req));
			hdr_init(&req, ops[i].op, sizeof(req));
			req.handle = handles[j];
			snprintf(name, sizeof(name), "%s handle %u (never allocated)",
				 ops[i].name, handles[j]);
			refused(a, name, &req, sizeof(req), -1, ANY_ERR, 0);
		}
	}
	if (!get_ctx(a)) {
		memset(&mq, 0, sizeof(mq));
		hdr_init(&mq, XENIB_CMD_MODIFY_QP, sizeof(mq));
		mq.qpn = BOGUS;
		mq.attr_mask = 1;	/* IBV_QP_STATE */
		mq.attr.qp_state = 1;	/* IBV_QPS_INIT */
		refused(a, "MODIFY_QP qpn 12345 (never allocated)", &mq,
			sizeof(mq), -1, ANY_ERR, 0);
	}
	/* Use after free. */
	if (get_ctx(a))
		return;
	err = alloc_pd(a, &pd);
	if (err) {
		setup_failed("DEALLOC_PD twice", "ALLOC_PD", err);
		return;
	}
	err = handle_op(a, XENIB_CMD_DEALLOC_PD, pd);
	if (err) {
		setup_failed("DEALLOC_PD twice", "first DEALLOC_PD", err);
		return;
	}
	memset(&req, 0, sizeof(req));
	hdr_init(&req, XENIB_CMD_DEALLOC_PD, sizeof(req));
	req.handle = pd;
	refused(a, "DEALLOC_PD twice (second time)", &req, sizeof(req), -1,
		ANY_ERR, 0);
}

/* OPEN_XRCD: flags, reserved, key without KEYED, size. */
static void cases_open_xrcd(struct conn *a)
{
	static const struct {
		uint32_t flags, reserved;
		uint64_t dev;
		const char *name;
	} bad[] = {
		{ 0, 0, 0, "OPEN_XRCD private without CREAT" },
		{ 0x80 | XENIB_XRCD_CREAT, 0, 0, "OPEN_XRCD unknown flag 0x80" },
		{ XENIB_XRCD_CREAT, 1, 0, "OPEN_XRCD reserved != 0" },
		{ XENIB_XRCD_CREAT, 0, 5, "OPEN_XRCD private with a key" },
		{ XENIB_XRCD_KEYED | XENIB_XRCD_EXCL, 0, 5,
		  "OPEN_XRCD EXCL without CREAT" },
	};
	struct xenib_open_xrcd_req req;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (get_ctx(a))
			return;
		memset(&req, 0, sizeof(req));
		hdr_init(&req, XENIB_CMD_OPEN_XRCD, sizeof(req));
		req.flags = bad[i].flags;
		req.reserved = bad[i].reserved;
		req.dev = bad[i].dev;
		refused(a, bad[i].name, &req, sizeof(req), -1, EINVAL, 0);
	}
	if (!get_ctx(a)) {
		memset(&req, 0, sizeof(req));
		hdr_init(&req, XENIB_CMD_OPEN_XRCD, 16);
		refused(a, "OPEN_XRCD header only", &req, 16, -1, EINVAL, 0);
	}
}

static void cases_map_region(struct conn *a)
{
	struct xenib_map_region_req req;
	struct hv_shm shm = { .fd = -1 };
	int efd, err;

	err = hv_shm_alloc(&shm, XENIB_PAGE_SIZE, "xenib-ctrl-bad");
	if (err) {
		setup_failed("MAP_REGION cases", "memfd", err);
		return;
	}
	efd = eventfd(0, EFD_CLOEXEC);
#define MAP_CASE(nm, np, off, flg, fd) do {				\
		if (get_ctx(a))						\
			break;						\
		memset(&req, 0, sizeof(req));				\
		hdr_init(&req, XENIB_CMD_MAP_REGION, sizeof(req));	\
		req.npages = (np);					\
		req.offset = (off);					\
		req.flags = (flg);					\
		refused(a, nm, &req, sizeof(req), (fd), ANY_ERR, 0);	\
	} while (0)
	MAP_CASE("MAP_REGION without fd", 1, 0, 0, -1);
	MAP_CASE("MAP_REGION npages 0x100000 (object is 1 page)", 0x100000, 0, 0, shm.fd);
	MAP_CASE("MAP_REGION npages 0xffffffff", 0xffffffffu, 0, 0, shm.fd);
	MAP_CASE("MAP_REGION npages 0", 0, 0, 0, shm.fd);
	MAP_CASE("MAP_REGION offset 100 (not page aligned)", 1, 100, 0, shm.fd);
	MAP_CASE("MAP_REGION offset 2^40 (beyond object)", 1, 1ull << 40, 0, shm.fd);
	MAP_CASE("MAP_REGION offset near 2^64 (overflow)", 2, ~0ull & ~4095ull, 0, shm.fd);
	MAP_CASE("MAP_REGION unknown flags 0x80", 1, 0, 0x80, shm.fd);
	if (efd >= 0)
		MAP_CASE("MAP_REGION with an eventfd (not memory)", 1, 0, 0, efd);
#undef MAP_CASE
	if (efd >= 0)
		close(efd);
	hv_shm_release(&shm, 1);
}

static void cases_bind_notify(struct conn *a)
{
	struct xenib_bind_notify_req req;
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

	if (efd < 0) {
		setup_failed("BIND_NOTIFY cases", "eventfd", errno);
		return;
	}
#define BIND_CASE(nm, kind_, fd) do {					\
		if (get_ctx(a))						\
			break;						\
		memset(&req, 0, sizeof(req));				\
		hdr_init(&req, XENIB_CMD_BIND_NOTIFY, sizeof(req));	\
		req.kind = (kind_);					\
		refused(a, nm, &req, sizeof(req), (fd), ANY_ERR, 0);	\
	} while (0)
	BIND_CASE("BIND_NOTIFY kind 0", 0, efd);
	BIND_CASE("BIND_NOTIFY kind 99", 99, efd);
	BIND_CASE("BIND_NOTIFY kind 0xffffffff", 0xffffffffu, efd);
	BIND_CASE("BIND_NOTIFY COMP without fd", XENIB_NOTIFY_COMP, -1);
#undef BIND_CASE
	close(efd);
}

/* REG_MR message with room for nsegs_room segments. */
static size_t build_reg_mr(void *buf, uint32_t pd, uint64_t iova,
			   uint64_t length, uint32_t nsegs, uint32_t nsegs_room,
			   uint32_t region, uint64_t seg_off, uint64_t seg_len)
{
	struct xenib_reg_mr_req *r = buf;
	size_t len = sizeof(*r) + (size_t)nsegs_room * sizeof(r->segs[0]);
	uint32_t i;

	memset(buf, 0, len);
	hdr_init(r, XENIB_CMD_REG_MR, len);
	r->pd = pd;
	r->access = 1;		/* IBV_ACCESS_LOCAL_WRITE */
	r->iova = iova;
	r->length = length;
	r->nsegs = nsegs;
	for (i = 0; i < nsegs_room; i++) {
		r->segs[i].region = region;
		r->segs[i].offset = seg_off + (uint64_t)i * seg_len;
		r->segs[i].length = seg_len;
	}
	return len;
}

static void cases_reg_mr(struct conn *a)
{
	static unsigned char buf[XENIB_CTRL_MAX_MSG];
	const uint32_t room_max = (XENIB_CTRL_MAX_MSG - sizeof(struct xenib_reg_mr_req)) /
				  sizeof(struct xenib_mr_seg);
	struct xenib_reg_mr_req *r = (void *)buf;
	uint64_t va;
	size_t len;
	int err;

	err = get_region(a);
	if (!err)
		err = get_pd(a);
	if (err) {
		setup_failed("REG_MR cases", "PD and data region", err);
		return;
	}
	va = (uintptr_t)a->data_shm.va;
#define MR_CASE(nm, ...) do {						\
		if (get_region(a) || get_pd(a))				\
			break;						\
		len = build_reg_mr(buf, __VA_ARGS__);			\
		refused(a, nm, buf, len, -1, ANY_ERR, 0);		\
	} while (0)
	MR_CASE("REG_MR nsegs 0", a->pd, va, 4096, 0, 0, a->region, 0, 4096);
	MR_CASE("REG_MR nsegs 0x7fffffff, 1 segment sent", a->pd, va, 4096,
		0x7fffffffu, 1, a->region, 0, 4096);
	MR_CASE("REG_MR nsegs 2, 1 segment sent", a->pd, va, 8192, 2, 1,
		a->region, 0, 4096);
	if (room_max > XENIB_MAX_MR_SEGS)
		MR_CASE("REG_MR nsegs XENIB_MAX_MR_SEGS+1 (all sent)", a->pd, va,
			(uint64_t)(XENIB_MAX_MR_SEGS + 1) * 4096,
			XENIB_MAX_MR_SEGS + 1, XENIB_MAX_MR_SEGS + 1,
			a->region, 0, 4096);
	if (!get_region(a) && !get_pd(a)) {
		len = build_reg_mr(buf, a->pd, va, 4096, 1, 2, a->region, 0, 4096);
		r->hdr.length = sizeof(*r) + sizeof(r->segs[0]);
		refused(a, "REG_MR length field 72, 96 bytes sent", buf, len, -1,
			ANY_ERR, 0);
	}
	MR_CASE("REG_MR pd 12345", BOGUS, va, 4096, 1, 1, a->region, 0, 4096);
	MR_CASE("REG_MR segment in region 12345", a->pd, va, 4096, 1, 1, BOGUS,
		0, 4096);
	MR_CASE("REG_MR segment beyond its region", a->pd, va, 4 * 4096, 1, 1,
		a->region, (DATA_PAGES - 1) * 4096ull, 4 * 4096);
	MR_CASE("REG_MR segment offset 100 (unaligned)", a->pd, va, 4096, 1, 1,
		a->region, 100, 4096);
	MR_CASE("REG_MR segment length 100 (not page multiple)", a->pd, va, 100,
		1, 1, a->region, 0, 100);
	MR_CASE("REG_MR segments short of the page span", a->pd, va, 8192, 1,
		1, a->region, 0, 4096);
	MR_CASE("REG_MR length > XENIB_MAX_MR_SIZE", a->pd, va,
		XENIB_MAX_MR_SIZE + 4096, 1, 1, a->region, 0, 4096);
	MR_CASE("REG_MR iova + length wraps around 2^64", a->pd,
		0xfffffffffffff000ull, 8192, 2, 2, a->region, 0, 4096);
#undef MR_CASE

	/* The same channel still accepts a correct registration. */
	if (get_region(a) || get_pd(a))
		return;
	len = build_reg_mr(buf, a->pd, va + 100, 4096, 1, 1, a->region, 0, 8192);
	err = req_ok(a, "REG_MR", buf, len, -1);
	if (err) {
		report(0, "REG_MR valid (unaligned iova, 2-page span)",
		       "refused: %s (%d)", errname(err), err);
		return;
	}
	{
		uint32_t lkey = ((struct xenib_reg_mr_resp *)g_resp.raw)->lkey;

		err = handle_op(a, XENIB_CMD_DEREG_MR, lkey);
		if (err)
			report(0, "valid REG_MR (unaligned iova), then DEREG_MR",
			       "DEREG_MR lkey 0x%x: %s", lkey, errname(err));
		else
			report(1, "valid REG_MR (unaligned iova), then DEREG_MR",
			       "ok (lkey 0x%x)", lkey);
	}
}

static void cases_create_cq(struct conn *a)
{
	struct xenib_create_cq_req req;
	int err;

	err = get_region(a);
	if (err) {
		setup_failed("CREATE_CQ cases", "data region", err);
		return;
	}
#define CQ_CASE(nm, reg, ent, off, strd, ntf) do {			\
		if (get_region(a))					\
			break;						\
		memset(&req, 0, sizeof(req));				\
		hdr_init(&req, XENIB_CMD_CREATE_CQ, sizeof(req));	\
		req.ring.region = (reg);				\
		req.ring.entries = (ent);				\
		req.ring.offset = (off);				\
		req.ring.stride = (strd);				\
		req.notify = (ntf);					\
		refused(a, nm, &req, sizeof(req), -1, ANY_ERR, 0);	\
	} while (0)
	CQ_CASE("CREATE_CQ entries 3 (not a power of two)", a->region, 3, 0, 64, XENIB_INVALID_HANDLE);
	CQ_CASE("CREATE_CQ entries 100 (not a power of two)", a->region, 100, 0, 64, XENIB_INVALID_HANDLE);
	CQ_CASE("CREATE_CQ entries 0", a->region, 0, 0, 64, XENIB_INVALID_HANDLE);
	CQ_CASE("CREATE_CQ entries 2^17 (> XENIB_MAX_CQE)", a->region, 1u << 17, 0, 64, XENIB_INVALID_HANDLE);
	CQ_CASE("CREATE_CQ entries 2^31", a->region, 1u << 31, 0, 64, XENIB_INVALID_HANDLE);
	CQ_CASE("CREATE_CQ ring larger than its region", a->region, 32768, 0, 64, XENIB_INVALID_HANDLE);
	CQ_CASE("CREATE_CQ ring offset beyond region", a->region, 64, 1ull << 30, 64, XENIB_INVALID_HANDLE);
	CQ_CASE("CREATE_CQ ring offset near 2^64", a->region, 64, ~0ull & ~4095ull, 64, XENIB_INVALID_HANDLE);
	CQ_CASE("CREATE_CQ ring offset 100 (unaligned)", a->region, 64, 100, 64, XENIB_INVALID_HANDLE);
	CQ_CASE("CREATE_CQ stride 32", a->region, 64, 0, 32, XENIB_INVALID_HANDLE);
	CQ_CASE("CREATE_CQ region 12345", BOGUS, 64, 0, 64, XENIB_INVALID_HANDLE);
	CQ_CASE("CREATE_CQ notify handle 12345", a->region, 64, 0, 64, BOGUS);
#undef CQ_CASE
}

static void cases_create_qp(struct conn *a)
{
	struct xenib_create_qp_req req;
	int err;

	err = get_region(a);
	if (!err)
		err = get_pd(a);
	if (err) {
		setup_failed("CREATE_QP cases", "PD and data region", err);
		return;
	}
#define QP_CASE(nm, pd_, type_, scq, rcq) do {				\
		if (get_region(a) || get_pd(a))				\
			break;						\
		memset(&req, 0, sizeof(req));				\
		hdr_init(&req, XENIB_CMD_CREATE_QP, sizeof(req));	\
		req.pd = (pd_);						\
		req.qp_type = (type_);					\
		req.send_cq = (scq);					\
		req.recv_cq = (rcq);					\
		req.srq = XENIB_INVALID_HANDLE;				\
		req.max_send_sge = 1;					\
		req.max_recv_sge = 1;					\
		req.sq.region = a->region;				\
		req.sq.entries = 16;					\
		req.sq.offset = 0;					\
		req.sq.stride = 128;					\
		req.rq.region = a->region;				\
		req.rq.entries = 16;					\
		req.rq.offset = 4 * 4096;				\
		req.rq.stride = 64;					\
		refused(a, nm, &req, sizeof(req), -1, ANY_ERR, 0);	\
	} while (0)
	QP_CASE("CREATE_QP pd 12345", BOGUS, 2, BOGUS, BOGUS);
	QP_CASE("CREATE_QP send/recv CQ 12345", a->pd, 2, BOGUS, BOGUS);
	QP_CASE("CREATE_QP qp_type 99", a->pd, 99, BOGUS, BOGUS);
#undef QP_CASE
}

/*
 * Another guest's handles: guest B owns a PD, a region and an MR; guest A
 * (holding nothing but its context page, so numbers cannot collide with its
 * own objects) must not be able to use or free them, and B's objects must
 * still work for B afterwards.
 */
static void cases_cross_guest(struct conn *a, struct conn *b)
{
	static unsigned char buf[512];
	struct xenib_handle_req req;
	uint32_t bpd, breg, blkey, apd;
	size_t len;
	int err;

	if (conn_open(b, 1) || get_region(b) || get_pd(b)) {
		setup_failed("cross-guest cases", "guest B set-up", ENOTCONN);
		return;
	}
	bpd = b->pd;
	breg = b->region;
	len = build_reg_mr(buf, bpd, (uintptr_t)b->data_shm.va, 4096, 1, 1,
			   breg, 0, 4096);
	err = req_ok(b, "REG_MR", buf, len, -1);
	if (err) {
		setup_failed("cross-guest cases", "guest B REG_MR", err);
		return;
	}
	blkey = ((struct xenib_reg_mr_resp *)g_resp.raw)->lkey;
	printf("      guest B owns pd %u, region %u, lkey 0x%x\n", bpd, breg, blkey);

	if (conn_open(a, 1) || get_ctx(a)) {
		setup_failed("cross-guest cases", "guest A reopen", ENOTCONN);
		return;
	}
#define FOREIGN(nm, op, h) do {						\
		if (get_ctx(a))						\
			break;						\
		memset(&req, 0, sizeof(req));				\
		hdr_init(&req, (op), sizeof(req));			\
		req.handle = (h);					\
		refused(a, nm, &req, sizeof(req), -1, ANY_ERR, 0);	\
	} while (0)
	FOREIGN("guest A: DEALLOC_PD of guest B's PD", XENIB_CMD_DEALLOC_PD, bpd);
	FOREIGN("guest A: DEREG_MR of guest B's MR", XENIB_CMD_DEREG_MR, blkey);
	/* Per-guest handle spaces could give A's context page B's number. */
	if (breg == a->ctx_region)
		printf("      (region %u is also guest A's own context page: "
		       "region cases skipped)\n", breg);
	else
		FOREIGN("guest A: UNMAP_REGION of guest B's region",
			XENIB_CMD_UNMAP_REGION, breg);
#undef FOREIGN
	if (breg != a->ctx_region && !get_ctx(a)) {
		len = build_reg_mr(buf, bpd, 0x40000000ull, 4096, 1, 1, breg,
				   0, 4096);
		refused(a, "guest A: REG_MR with guest B's PD and region", buf,
			len, -1, ANY_ERR, 0);
	}
	if (breg != a->ctx_region && !get_ctx(a) && !alloc_pd(a, &apd)) {
		len = build_reg_mr(buf, apd, 0x40000000ull, 4096, 1, 1, breg,
				   0, 4096);
		refused(a, "guest A: REG_MR of guest B's region in its own PD",
			buf, len, -1, ANY_ERR, 0);
		if (a->fd >= 0)
			handle_op(a, XENIB_CMD_DEALLOC_PD, apd);
	}

	/* B's objects are intact and still B's. */
	err = handle_op(b, XENIB_CMD_DEREG_MR, blkey);
	report(!err, "guest B: DEREG_MR of its MR still works",
	       "%s", err ? errname(err) : "ok");
	err = handle_op(b, XENIB_CMD_UNMAP_REGION, breg);
	report(!err, "guest B: UNMAP_REGION of its region still works",
	       "%s", err ? errname(err) : "ok");
	if (!err)
		b->region = XENIB_INVALID_HANDLE;
	err = handle_op(b, XENIB_CMD_DEALLOC_PD, bpd);
	report(!err, "guest B: DEALLOC_PD of its PD still works",
	       "%s", err ? errname(err) : "ok");
	if (!err)
		b->pd = XENIB_INVALID_HANDLE;
}

static void case_still_serving(void)
{
	struct conn c = { .label = "fresh", .guest = "ctrl-test-fresh", .fd = -1,
			  .ctx_shm = { .fd = -1 }, .data_shm = { .fd = -1 } };
	struct xenib_handle_req q;
	int err;

	err = conn_open(&c, 1);
	report(!err, "xenibd answers a fresh HELLO afterwards", "%s",
	       err ? errname(err) : "ok");
	if (err)
		return;
	memset(&q, 0, sizeof(q));
	hdr_init(&q, XENIB_CMD_QUERY_PORT, sizeof(q));
	q.handle = 1;		/* port number */
	err = req_ok(&c, "QUERY_PORT", &q, sizeof(q), -1);
	if (!err && (size_t)g_resp_len >= sizeof(struct xenib_query_port_resp)) {
		struct xenib_query_port_resp *p = (void *)g_resp.raw;

		report(p->port.lid != 0 && p->port.state == 4,
		       "QUERY_PORT afterwards: ACTIVE, LID != 0",
		       "state %u lid %u", p->port.state, p->port.lid);
	} else {
		report(0, "QUERY_PORT afterwards: ACTIVE, LID != 0", "%s",
		       err ? errname(err) : "short reply");
	}
	conn_close(&c);
}

int main(int argc, char **argv)
{
	struct conn a = { .label = "guest A", .guest = "ctrl-test-a", .fd = -1,
			  .ctx_shm = { .fd = -1 }, .data_shm = { .fd = -1 } };
	struct conn b = { .label = "guest B", .guest = "ctrl-test-b", .fd = -1,
			  .ctx_shm = { .fd = -1 }, .data_shm = { .fd = -1 } };

	if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
		fprintf(stderr, "usage: %s [RUN_DIR]   (default $XENIB_EMU_DIR)\n",
			argv[0]);
		return 2;
	}
	if (argc == 2)
		setenv("XENIB_EMU_DIR", argv[1], 1);
	signal(SIGPIPE, SIG_IGN);
	alarm(300);		/* never hang a test run */
	conn_close(&a);
	conn_close(&b);
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("xenibd at %s/%s.sock\n", hv_emu_dir(), DEV);

	if (conn_open(&a, 0)) {
		printf("0 passed, 1 failed\n");
		return 1;
	}
	cases_before_hello(&a);
	/* A valid HELLO, on the same channel if the backend kept it open. */
	{
		int same, err;

		if (a.fd >= 0)
			drain_unsolicited(&a, 20);
		same = a.fd >= 0 && !a.hello;

		err = same ? do_hello(&a, XENIB_ABI_VERSION) : conn_open(&a, 1);
		if (!err && (size_t)g_resp_len >= sizeof(struct xenib_hello_resp)) {
			struct xenib_hello_resp *h = (void *)g_resp.raw;

			report(h->abi_version == XENIB_ABI_VERSION,
			       "valid HELLO after the bad ones",
			       "%s channel, abi_version %u, guest_id %u",
			       same ? "same" : "new", h->abi_version,
			       h->guest_id);
		} else {
			report(0, "valid HELLO after the bad ones", "%s",
			       err ? errname(err) : "short reply");
		}
	}
	cases_framing(&a);
	cases_bad_handles(&a);
	cases_open_xrcd(&a);
	cases_map_region(&a);
	cases_bind_notify(&a);
	cases_reg_mr(&a);
	cases_create_cq(&a);
	cases_create_qp(&a);
	cases_cross_guest(&a, &b);
	conn_close(&a);
	conn_close(&b);
	case_still_serving();

	printf("error replies: %d\n", g_err_replies);
	printf("%d passed, %d failed\n", g_pass, g_fail);
	return g_fail ? 1 : 0;
}
