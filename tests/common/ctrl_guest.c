// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Hostile guests on xenibd's control channel (ctrl_guest.h). */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/common/check.h"
#include "tests/common/ctrl_guest.h"

static uint32_t g_seq = 1000;
static int g_err_replies;
static int g_last_refused;	/* last response was an error */

static union {
	struct xenib_ctrl_hdr hdr;
	unsigned char raw[XENIB_CTRL_MAX_MSG + 64];
} g_resp;

void report(int ok, const char *name, const char *fmt, ...)
{
	va_list ap;

	if (ok)
		passed++;
	else
		failed++;
	printf("%s  %-58s ", ok ? "PASS" : "FAIL", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

const char *errname(uint32_t e)
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

void hdr_init(void *msg, uint16_t op, uint32_t len)
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

void conn_close(struct conn *c)
{
	if (c->g.sock >= 0)
		close(c->g.sock);
	c->g.sock = -1;
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

void drain_unsolicited(struct conn *c, int wait_ms)
{
	struct pollfd p = { .fd = c->g.sock, .events = POLLIN };
	unsigned char buf[256];
	int fd;

	while (c->g.sock >= 0 && poll(&p, 1, wait_ms) == 1) {
		ssize_t n = hv_msg_recv(c->g.sock, buf, sizeof(buf), &fd);

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
	ssize_t n;

	if (c->g.sock < 0)
		return ENOTCONN;
	drain_unsolicited(c, 0);
	if (c->g.sock < 0)
		return ENOTCONN;
	n = wg_exchange(c->g.sock, msg, len, pass_fd, g_resp.raw,
			sizeof(g_resp.raw), RESP_TIMEOUT_MS);
	if (n < 0) {
		conn_close(c);	/* request/response pairing is lost */
		return (int)-n;
	}
	if ((size_t)n < sizeof(struct xenib_ctrl_hdr))
		return EBADMSG;
	return 0;
}

/*
 * Around a well-formed request through c->g (setup of a case): before it,
 * the channel must be live and quiet; after it, a broken channel is closed
 * and a failure logged (unless what is NULL).  0 or the failure.
 */
static int before(struct conn *c)
{
	if (c->g.sock >= 0)
		drain_unsolicited(c, 0);
	return c->g.sock < 0 ? ENOTCONN : 0;
}

static int after(struct conn *c, const char *what, int st)
{
	if (st < 0) {
		conn_close(c);	/* no answer, or not to this request */
		st = ECONNRESET;
	}
	if (st && what)
		fprintf(stderr, "  (%s: %s: %s %d)\n", c->label, what,
			errname(st), st);
	return st;
}

int do_hello(struct conn *c)
{
	int err = before(c);

	memset(&c->hello_resp, 0, sizeof(c->hello_resp));
	if (!err)
		err = after(c, NULL, wg_hello(&c->g, c->guest,
					      &c->hello_resp));
	if (!err)
		c->hello = 1;
	return err;
}

int conn_open(struct conn *c, int hello)
{
	int err;

	conn_close(c);
	err = wg_connect(&c->g);
	if (err) {
		fprintf(stderr, "%s: cannot connect to %s/xenib0.sock: %s\n",
			c->label, hv_emu_dir(), strerror(-err));
		c->g.sock = -1;
		return -err;
	}
	if (hello) {
		err = do_hello(c);
		if (err) {
			fprintf(stderr, "%s: HELLO failed: %s (%d)\n", c->label,
				errname(err), err);
			conn_close(c);
			return err;
		}
	}
	return 0;
}

int ensure(struct conn *c, int hello)
{
	/*
	 * A backend may close a channel right after refusing a request; give
	 * the close a moment to arrive so the next case starts on a live one.
	 */
	if (c->g.sock >= 0)
		drain_unsolicited(c, g_last_refused ? 20 : 0);
	g_last_refused = 0;
	if (c->g.sock >= 0 && c->hello == hello)
		return 0;
	return conn_open(c, hello);
}

static int map_region(struct conn *c, struct hv_shm *shm, uint32_t npages,
		      uint32_t flags, uint32_t *handle)
{
	int err;

	if (!shm->va) {
		err = hv_shm_alloc(shm, (size_t)npages * XENIB_PAGE_SIZE,
				   "xenib-ctrl-test");
		if (err)
			return err;
	}
	err = before(c);
	if (err)
		return err;
	*handle = wg_map_region(&c->g, shm, flags);
	err = after(c, "MAP_REGION", c->g.status);
	return !err && *handle == XENIB_INVALID_HANDLE ? EBADMSG : err;
}

int get_ctx(struct conn *c)
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

int get_region(struct conn *c)
{
	int err = get_ctx(c);

	if (err || c->region != XENIB_INVALID_HANDLE)
		return err;
	return map_region(c, &c->data_shm, DATA_PAGES, 0, &c->region);
}

int alloc_pd(struct conn *c, uint32_t *pd)
{
	int err = before(c);

	if (err)
		return err;
	*pd = wg_alloc_pd(&c->g);
	err = after(c, "ALLOC_PD", c->g.status);
	return !err && *pd == XENIB_INVALID_HANDLE ? EBADMSG : err;
}

int get_pd(struct conn *c)
{
	int err = get_ctx(c);

	if (err || c->pd != XENIB_INVALID_HANDLE)
		return err;
	return alloc_pd(c, &c->pd);
}

int handle_op(struct conn *c, uint16_t op, uint32_t handle)
{
	int err = before(c);

	return err ? err : after(c, "handle op", wg_handle_cmd(&c->g, op,
								 handle));
}

int reg_mr(struct conn *c, void *msg, size_t len, uint32_t *lkey)
{
	struct xenib_reg_mr_resp resp = { .lkey = XENIB_INVALID_HANDLE };
	int err = before(c);

	if (!err)
		err = after(c, "REG_MR", wg_cmd(&c->g, msg, len, -1, &resp,
						 sizeof(resp)));
	*lkey = resp.lkey;
	return err;
}

size_t build_reg_mr(void *buf, uint32_t pd, uint64_t iova, uint64_t length,
		    uint32_t nsegs, uint32_t nsegs_room, uint32_t region,
		    uint64_t seg_off, uint64_t seg_len)
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

/* ------------------------------------------------------------------ */
/* Verdicts                                                             */

void refused(struct conn *c, const char *name, const void *msg, size_t len,
	     int pass_fd, uint32_t want, unsigned int fl)
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
	       c->g.sock < 0 ? ", channel closed after the reply" : "");
}

void setup_failed(const char *name, const char *what, int err)
{
	report(0, name, "setup failed: %s: %s (%d)", what, errname(err), err);
}

/* After the cases: a fresh guest still gets HELLO and QUERY_PORT answered. */
static void case_still_serving(void)
{
	struct conn c = CONN("fresh", "ctrl-test-fresh");
	struct xenib_query_port_resp p = { 0 };
	struct xenib_handle_req q = { .hdr.opcode = XENIB_CMD_QUERY_PORT,
				      .handle = 1 };	/* port number */
	int err;

	err = conn_open(&c, 1);
	report(!err, "xenibd answers a fresh HELLO afterwards", "%s",
	       err ? errname(err) : "ok");
	if (err)
		return;
	err = before(&c);
	if (!err)
		err = after(&c, "QUERY_PORT", wg_cmd(&c.g, &q, sizeof(q), -1, &p,
						     sizeof(p)));
	if (!err)
		report(p.port.lid != 0 && p.port.state == 4,
		       "QUERY_PORT afterwards: ACTIVE, LID != 0",
		       "state %u lid %u", p.port.state, p.port.lid);
	else
		report(0, "QUERY_PORT afterwards: ACTIVE, LID != 0", "%s",
		       errname(err));
	conn_close(&c);
}

int ctrl_main(int argc, char **argv,
	      void (*cases)(struct conn *a, struct conn *b))
{
	struct conn a = CONN("guest A", "ctrl-test-a");
	struct conn b = CONN("guest B", "ctrl-test-b");

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
	printf("xenibd at %s/xenib0.sock\n", hv_emu_dir());

	if (conn_open(&a, 0)) {
		printf("0 passed, 1 failed\n");
		return 1;
	}
	cases(&a, &b);
	conn_close(&a);
	conn_close(&b);
	case_still_serving();

	printf("error replies: %d\n", g_err_replies);
	return check_summary();
}
