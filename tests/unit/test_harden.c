// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * In-process tests of xenibd's defences against a guest that uses up
 * shared resources: mapping limits (regions and MR segments, per guest and
 * backend-wide), address-handle limits, and the emulated transport's
 * checks of what a guest hands it.  The last line is "N passed, N failed".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "util/hv.h"
#include "xenibd/dev/dev.h"
#include "xenibd/daemon/loop.h"
#include "xenibd/transport/emu.h"

#include "tests/common/capture.h"
#include "tests/common/check.h"
#include "tests/common/backend.h"

/* A context of a guest, as after HELLO, with its context page. */
struct th {
	struct xd_ctx *ctx;
	struct hv_shm page;
	int gsock;		/* the guest's end of the control socket */
};

static int th_open(struct th *t, const char *name)
{
	uint32_t h;

	memset(t, 0, sizeof(*t));
	t->page.fd = -1;
	t->ctx = tb_ctx_new(&t->gsock);
	if (!t->ctx)
		return -1;
	t->ctx->guest = xd_guest_get(name);
	t->ctx->hello = true;
	if (hv_shm_alloc(&t->page, XENIB_PAGE_SIZE, "xenib-test") ||
	    tb_region_map(t->ctx, t->page.fd, 0, 1, XENIB_REGION_CTX_PAGE,
			  &h))
		return -1;
	return 0;
}

static void th_close(struct th *t)
{
	if (t->ctx)
		xd_ctx_destroy(t->ctx);
	t->ctx = NULL;
	close(t->gsock);
	hv_shm_release(&t->page, 1);
}

/* REG_MR over nsegs one-page segments of region (pages 0..nsegs-1). */
static int reg_segs(struct xd_ctx *ctx, uint32_t pd, uint32_t region,
		    uint32_t nsegs, uint32_t *key)
{
	struct {
		struct xenib_reg_mr_req r;
		struct xenib_mr_seg s[16];
	} mr;
	uint32_t i;

	memset(&mr, 0, sizeof(mr));
	mr.r.pd = pd;
	mr.r.access = IBV_ACCESS_LOCAL_WRITE;
	mr.r.iova = 0x10000;
	mr.r.length = (uint64_t)nsegs * XENIB_PAGE_SIZE;
	mr.r.nsegs = nsegs;
	for (i = 0; i < nsegs; i++)
		mr.r.segs[i] = (struct xenib_mr_seg){
			region, 0, (uint64_t)(nsegs - 1 - i) * XENIB_PAGE_SIZE,
			XENIB_PAGE_SIZE };
	return xd_mr_reg(ctx, &mr.r, sizeof(mr.r) + nsegs * sizeof(mr.s[0]),
			 key);
}

static void test_map_limits(void)
{
	struct xd_limits saved = xd.cfg.limits;
	long long maps0 = xd.stats.mappings, pages0 = xd.stats.map_pages;
	struct th t, t2;
	struct hv_shm mem;
	struct xd_ctx *ctx, *other;
	uint32_t region, pd, key, key2, h[8];
	unsigned int i, n = 0;
	int err = 0;

	xd.cfg.limits.mappings = 8;
	xd.cfg.limits.map_pages = 64;
	CHECK(!th_open(&t, "maps"), "context");
	ctx = t.ctx;
	hv_shm_alloc(&mem, 16 * XENIB_PAGE_SIZE, "xenib-test");
	CHECK(!tb_region_map(ctx, mem.fd, 0, 16, 0, &region), "16-page region");
	CHECK(ctx->guest->used[XD_Q_MAPPINGS] == 2 &&
	      ctx->guest->used[XD_Q_MAP_PAGES] == 17,
	      "context page + region: 2 mappings, 17 pages (%llu, %llu)",
	      (unsigned long long)ctx->guest->used[XD_Q_MAPPINGS],
	      (unsigned long long)ctx->guest->used[XD_Q_MAP_PAGES]);
	CHECK(xd.stats.mappings == maps0 + 2 && xd.stats.map_pages == pages0 + 17,
	      "counted backend-wide too");
	CHECK(!xd_pd_alloc(ctx, &pd), "pd");

	/* Each segment is a mapping of its own. */
	CHECK(!reg_segs(ctx, pd, region, 4, &key), "MR of 4 segments");
	CHECK(ctx->guest->used[XD_Q_MAPPINGS] == 6 &&
	      ctx->guest->used[XD_Q_MAP_PAGES] == 21,
	      "4 more mappings, 4 more pages (%llu, %llu)",
	      (unsigned long long)ctx->guest->used[XD_Q_MAPPINGS],
	      (unsigned long long)ctx->guest->used[XD_Q_MAP_PAGES]);
	err = reg_segs(ctx, pd, region, 3, &key2);
	CHECK(err == ENOMEM, "3 more segments past limit.mappings 8: ENOMEM "
	      "(%s)", strerror(err));
	CHECK(!reg_segs(ctx, pd, region, 2, &key2), "2 more fit");
	err = tb_region_map(ctx, mem.fd, 0, 1, 0, &h[0]);
	CHECK(err == ENOMEM, "a region past limit.mappings: ENOMEM (%s)",
	      strerror(err));
	CHECK(ctx->guest->used[XD_Q_MAPPINGS] == 8, "refusals charge nothing");
	CHECK(!xd_mr_dereg(ctx, key) && !xd_mr_dereg(ctx, key2) &&
	      ctx->guest->used[XD_Q_MAPPINGS] == 2 &&
	      ctx->guest->used[XD_Q_MAP_PAGES] == 17,
	      "deregistering gives the mappings back");

	/* Pages: 64 per guest; 17 in use. */
	xd.cfg.limits.mappings = 32;
	err = tb_region_map(ctx, mem.fd, 0, 16, 0, &h[0]);
	CHECK(!err, "16 more pages (33)");
	err = reg_segs(ctx, pd, region, 16, &key);
	CHECK(!err, "an MR maps its 16 pages again (49)");
	err = tb_region_map(ctx, mem.fd, 0, 16, 0, &h[1]);
	CHECK(err == ENOMEM, "16 more pages past limit.map_pages 64: ENOMEM "
	      "(%s)", strerror(err));
	CHECK(!xd_mr_dereg(ctx, key) && !xd_region_unmap(ctx, h[0]),
	      "free them");

	/* Backend-wide: another guest is refused once the total is used. */
	xd.cfg.limits.mappings = 0;
	xd.cfg.total_mappings = xd.stats.mappings + 3;
	other = th_open(&t2, "maps-other") ? NULL : t2.ctx;
	CHECK(other, "another guest's context (1 mapping)");
	for (i = 0; other && i < 8; i++) {
		err = tb_region_map(other, mem.fd, 0, 1, 0, &h[i]);
		if (err)
			break;
		n++;
	}
	CHECK(n == 2 && err == ENOMEM,
	      "limit.total_mappings refuses past the total (%u regions, %s)",
	      n, strerror(err));
	xd.cfg.total_mappings = 0;
	xd.cfg.total_map_pages = xd.stats.map_pages + 4;
	err = other ? tb_region_map(other, mem.fd, 0, 5, 0, &h[7]) : 0;
	CHECK(err == ENOMEM, "limit.total_map_pages too (%s)", strerror(err));
	xd.cfg.total_map_pages = 0;
	th_close(&t2);
	th_close(&t);
	CHECK(xd.stats.mappings == maps0 && xd.stats.map_pages == pages0,
	      "all given back when the contexts close (%lld, %lld)",
	      xd.stats.mappings - maps0, xd.stats.map_pages - pages0);
	hv_shm_release(&mem, 1);
	xd.cfg.limits = saved;
}

static void test_ah_limit(void)
{
	struct xd_limits saved = xd.cfg.limits;
	struct xenib_create_ah_req req = { .ah = { .dlid = 5, .port_num = 1 } };
	struct th t;
	struct xd_ctx *ctx;
	uint32_t h[3];
	int err;

	xd.cfg.limits.ahs = 2;
	CHECK(!th_open(&t, "ahs"), "context");
	ctx = t.ctx;
	CHECK(!xd_pd_alloc(ctx, &req.pd), "pd");
	CHECK(!xd_ah_create(ctx, &req, &h[0]) && !xd_ah_create(ctx, &req, &h[1]),
	      "2 AHs under limit.ahs 2");
	err = xd_ah_create(ctx, &req, &h[2]);
	CHECK(err == EDQUOT, "the third: EDQUOT (%s)", strerror(err));
	CHECK(ctx->guest->used[XD_Q_AHS] == 2, "2 charged");
	CHECK(!xd_ah_destroy(ctx, h[0]) && !xd_ah_create(ctx, &req, &h[2]),
	      "freeing one makes room");
	th_close(&t);
	xd.cfg.limits = saved;
}

/* HELLO on a fresh context as the guest name (len bytes): the status. */
static int hello(struct xd_ctx *ctx, int gsock, const char *name, size_t len)
{
	struct xenib_hello_req req = {
		.hdr = { .opcode = XENIB_CMD_HELLO, .length = sizeof(req),
			 .seq = 1 },
		.abi_version = XENIB_ABI_VERSION,
	};
	union {
		struct xenib_ctrl_hdr hdr;
		char b[XENIB_CTRL_MAX_MSG];
	} resp;
	int fd;

	memcpy(req.guest_name, name, len);
	xd_ctrl_handle(ctx, &req, sizeof(req), -1);
	if (hv_msg_recv(gsock, resp.b, sizeof(resp.b), &fd) <
	    (ssize_t)sizeof(resp.hdr))
		return -1;
	return resp.hdr.status;
}

static void test_log_per_guest(void)
{
	struct th a, b, q;
	unsigned int n, i;

	CHECK(!th_open(&a, "chatty") && !th_open(&b, "chatty") &&
	      !th_open(&q, "quiet"), "two contexts of one guest, one of another");
	capture_start();
	for (i = 0; i < 40; i++) {
		xd_ctx_log(a.ctx, "chatty line %u", i);
		xd_ctx_log(b.ctx, "chatty line %u", i);
	}
	xd_ctx_log(q.ctx, "quiet line");
	th_close(&a);
	th_close(&b);
	n = capture_count("chatty line", false);
	capture_start();
	th_close(&q);
	capture_count("\n", false);
	CHECK(n == 50, "one guest's contexts share its 50 lines a second "
	      "(%u of 80 logged)", n);
	capture_start();
	CHECK(!th_open(&a, "chatty"), "the guest again");
	for (i = 0; i < 60; i++)
		xd_ctx_log(a.ctx, "chatty line %u", i);
	th_close(&a);
	n = capture_count("more messages suppressed", false);
	CHECK(n == 1, "what was suppressed is reported when the context "
	      "closes (%u lines)", n);
}

static void test_guest_names(void)
{
	static const struct { const char *name; size_t len; int st; } c[] = {
		{ "good-name_1.x", 14, 0 },
		{ "bad\nname", 9, EINVAL },
		{ "esc\x1b[31m", 9, EINVAL },
		{ "two words", 10, EINVAL },
		{ "a/b", 4, EINVAL },
		{ "del\x7f", 5, EINVAL },
		{ "", 1, EINVAL },
		{ "\xff\xfe", 3, 0 },	/* bytes above 0x7f are a name's */
	};
	size_t i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		int gs, st;
		struct xd_ctx *ctx = tb_ctx_new(&gs);

		st = ctx ? hello(ctx, gs, c[i].name, c[i].len) : -1;
		CHECK(st == c[i].st, "HELLO as name %zu: %s (expected %s)", i,
		      strerror(st), strerror(c[i].st));
		if (ctx)
			xd_ctx_destroy(ctx);
		close(gs);
	}
}

static void test_contexts_and_fds(void)
{
	struct xd_config saved = xd.cfg;
	struct xd_ctx *ctx[3];
	int gs[3], st[3], i, err, g, bfd;
	struct hv_shm mem;
	struct th t;
	uint32_t h[3], nh;

	xd.cfg.max_ctx = 2;
	for (i = 0; i < 3; i++) {
		ctx[i] = tb_ctx_new(&gs[i]);
		st[i] = ctx[i] ? hello(ctx[i], gs[i], "ctxs", 5) : -1;
	}
	CHECK(!st[0] && !st[1] && st[2] == EDQUOT,
	      "emulation: the third context of a guest past limit.contexts 2 "
	      "is refused with EDQUOT (%s)", strerror(st[2]));
	CHECK(ctx[2] && !ctx[2]->guest && xd_guest_get("ctxs")->nctx == 3,
	      "the refused context belongs to no guest");
	xd_guest_put(xd_guest_get("ctxs"));
	xd_guest_put(xd_guest_get("ctxs"));
	for (i = 0; i < 3; i++) {
		if (ctx[i])
			xd_ctx_destroy(ctx[i]);
		close(gs[i]);
	}
	xd.cfg = saved;

	xd.cfg.limits.fds = 3;
	CHECK(!th_open(&t, "fds"), "context (its page: 1 fd)");
	hv_shm_alloc(&mem, XENIB_PAGE_SIZE, "xenib-test");
	CHECK(!tb_region_map(t.ctx, mem.fd, 0, 1, 0, &h[0]) &&
	      !tb_region_map(t.ctx, mem.fd, 0, 1, 0, &h[1]), "2 regions");
	err = tb_region_map(t.ctx, mem.fd, 0, 1, 0, &h[2]);
	CHECK(err == EDQUOT, "a region past limit.fds 3: EDQUOT (%s)",
	      strerror(err));
	hv_notify_pair(&g, &bfd);
	err = tb_notify_bind(t.ctx, bfd, XENIB_NOTIFY_COMP, &nh);
	CHECK(err == EDQUOT, "a notifier too (%s)", strerror(err));
	close(g);
	CHECK(!xd_region_unmap(t.ctx, h[0]), "unmap one");
	hv_notify_pair(&g, &bfd);
	err = tb_notify_bind(t.ctx, bfd, XENIB_NOTIFY_COMP, &nh);
	CHECK(!err, "then the notifier fits (%s)", strerror(err));
	th_close(&t);
	close(g);
	hv_shm_release(&mem, 1);
	CHECK(!xd_guest_get("fds")->used[XD_Q_FDS], "all fds given back");
	xd_guest_put(xd_guest_get("fds"));
	xd.cfg = saved;
}

static void test_drain_bounded(void)
{
	static const struct timespec zero;
	long long d0 = xd.stats.doorbells;
	unsigned int i, runs = 0;
	struct th t;
	int g, bfd;
	uint32_t h;
	char one = 1;

	CHECK(!th_open(&t, "kicks"), "context");
	hv_notify_pair(&g, &bfd);
	CHECK(!tb_notify_bind(t.ctx, bfd, XENIB_NOTIFY_DOORBELL, &h),
	      "doorbell");
	for (i = 0; i < 200; i++)
		send(g, &one, 1, MSG_DONTWAIT);
	xd_loop_run(&zero);
	CHECK(xd.stats.doorbells - d0 == 64,
	      "one doorbell event drains at most 64 kicks (%lld of 200)",
	      xd.stats.doorbells - d0);
	while (xd.stats.doorbells - d0 < 200 && runs++ < 10)
		xd_loop_run(&zero);
	CHECK(xd.stats.doorbells - d0 == 200 && runs == 3,
	      "the rest on the next events (%lld after %u more)",
	      xd.stats.doorbells - d0, runs);
	th_close(&t);
	close(g);
}

/* ------------------------------------------------------------------ */
/* Notifier ends (F11) and the listener (pending contexts, EMFILE).    */

static char tmpdir[] = "/tmp/xenib-harden.XXXXXX";

/* A datagram socket bound at tmpdir/name: what a guest could aim at. */
static int named_sock(const char *name, struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	snprintf(sa->sun_path, sizeof(sa->sun_path), "%s/%s", tmpdir, name);
	unlink(sa->sun_path);
	if (bind(fd, (struct sockaddr *)sa, sizeof(*sa)))
		CHECK(0, "bind %s: %s", sa->sun_path, strerror(errno));
	return fd;
}

/* The backend end of a socketpair another process made. */
static int foreign_pair(int *guest_end)
{
	int sv[2], pair[2], fd = -1, tmp;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv))
		return -1;
	pid = fork();
	if (!pid) {
		hv_notify_pair(&pair[0], &pair[1]);
		hv_msg_send(sv[1], "g", 1, pair[0]);
		hv_msg_send(sv[1], "b", 1, pair[1]);
		_exit(0);
	}
	close(sv[1]);
	hv_msg_recv(sv[0], (char[8]){ 0 }, 8, guest_end);
	hv_msg_recv(sv[0], (char[8]){ 0 }, 8, &fd);
	close(sv[0]);
	waitpid(pid, &tmp, 0);
	return fd;
}

static void test_notifier_ends(void)
{
	struct sockaddr_un log_sa, other_sa;
	int logsock = named_sock("log", &log_sa), fd, g, bfd, copy, err;
	struct xd_notify *n;
	struct th t;
	uint32_t h;
	char c;

	CHECK(!th_open(&t, "notify-ends"), "context");

	/* A datagram socket connected to somebody else's socket. */
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	connect(fd, (struct sockaddr *)&log_sa, sizeof(log_sa));
	err = tb_notify_bind(t.ctx, fd, XENIB_NOTIFY_COMP, &h);
	CHECK(err == EINVAL, "a socket connected to a named socket is "
	      "refused (%s)", strerror(err));

	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	err = tb_notify_bind(t.ctx, fd, XENIB_NOTIFY_COMP, &h);
	CHECK(err == EINVAL, "an unconnected socket is refused (%s)",
	      strerror(err));

	fd = named_sock("mine", &other_sa);
	connect(fd, (struct sockaddr *)&log_sa, sizeof(log_sa));
	err = tb_notify_bind(t.ctx, fd, XENIB_NOTIFY_COMP, &h);
	CHECK(err == EINVAL, "a socket with an address is refused (%s)",
	      strerror(err));

	fd = foreign_pair(&g);
	err = fd >= 0 ? tb_notify_bind(t.ctx, fd, XENIB_NOTIFY_COMP, &h) : -1;
	CHECK(err == EINVAL, "a socketpair another process made is refused "
	      "(%s)", strerror(err));
	close(g);

	/* A good pair, reconnected elsewhere through a copy after binding. */
	hv_notify_pair(&g, &bfd);
	copy = dup(bfd);
	err = tb_notify_bind(t.ctx, bfd, XENIB_NOTIFY_COMP, &h);
	CHECK(!err, "the guest's own socketpair is taken (%s)", strerror(err));
	n = xd_notify_lookup(t.ctx, h);
	xd_notify_signal(n);
	CHECK(recv(g, &c, 1, MSG_DONTWAIT) == 1, "signals reach the guest");
	CHECK(!connect(copy, (struct sockaddr *)&log_sa, sizeof(log_sa)),
	      "the guest connects its copy to the named socket");
	capture_start();
	xd_notify_signal(n);
	xd_notify_signal(n);
	CHECK(capture_count("connected to another socket", false) == 1,
	      "xenibd notices, and says so once");
	CHECK(recv(logsock, &c, 1, MSG_DONTWAIT) < 0 && errno == EAGAIN,
	      "nothing was written to the named socket");
	th_close(&t);
	close(copy);
	close(g);
	close(logsock);
	unlink(log_sa.sun_path);
	unlink(other_sa.sun_path);
}

/* A non-blocking connection to the listener (NULL: none), or -1. */
static int nb_connect(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC,
			0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/xenibT.sock", tmpdir);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -1;
	}
	return fd;
}

static void run_loop(void)
{
	static const struct timespec zero;

	while (xd_loop_run(&zero) > 0)
		;
}

static void test_listener(void)
{
	static const struct timespec t50 = { 0, 50 * 1000 * 1000 };
	long ctxs0 = xd.stats.contexts;
	int cl[70], i, j, lowest, late, r1, r2;
	struct rlimit old, rl;
	char c;

	CHECK(!xd_emu_listen(tmpdir, "xenibT"), "listen in %s", tmpdir);
	/* 70 connections that never say HELLO. */
	for (i = 0; i < 70; i += 10) {
		for (j = i; j < i + 10; j++)
			cl[j] = nb_connect();
		run_loop();
	}
	CHECK(xd.stats.contexts - ctxs0 == 64, "at most 64 contexts without "
	      "HELLO (%ld of 70)", xd.stats.contexts - ctxs0);
	CHECK(recv(cl[0], &c, 1, MSG_DONTWAIT) == 0 &&
	      recv(cl[69], &c, 1, MSG_DONTWAIT) < 0,
	      "the oldest were dropped, the newest kept");
	for (i = 0; i < 70; i++)
		close(cl[i]);
	run_loop();
	CHECK(xd.stats.contexts == ctxs0, "all closed");

	/* Out of fds: accept fails; the listener must not wake us again. */
	late = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	capture_start();
	getrlimit(RLIMIT_NOFILE, &old);
	lowest = dup(0);
	close(lowest);
	rl = old;
	rl.rlim_cur = lowest;
	setrlimit(RLIMIT_NOFILE, &rl);
	{
		struct sockaddr_un sa = { .sun_family = AF_UNIX };

		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/xenibT.sock",
			 tmpdir);
		connect(late, (struct sockaddr *)&sa, sizeof(sa));
	}
	r1 = xd_loop_run(&(struct timespec){ 0 });
	r2 = xd_loop_run(&(struct timespec){ 0 });
	setrlimit(RLIMIT_NOFILE, &old);
	CHECK(capture_count("cannot accept guests", false) == 1,
	      "xenibd logs that it cannot accept");
	CHECK(r1 == 1 && r2 == 0, "the listener is not reported again at once "
	      "(%d, then %d events)", r1, r2);
	for (i = 0; i < 10 && xd.stats.contexts == ctxs0; i++)
		xd_loop_run(&t50);
	CHECK(xd.stats.contexts == ctxs0 + 1, "it listens again later and "
	      "accepts the waiting guest");
	close(late);
	run_loop();
	xd_emu_fini(tmpdir, "xenibT");
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	xd_config_defaults(&xd.cfg);
	xd.cfg.max_guests = 16;
	xd.cfg.total_map_pages = 0;
	if (xd_state_init())
		return 1;
	/* A real loop: the emulated transport's watches fire. */
	xd.epfd = epoll_create1(EPOLL_CLOEXEC);
	test_map_limits();
	test_ah_limit();
	test_log_per_guest();
	test_guest_names();
	test_contexts_and_fds();
	test_drain_bounded();
	if (!mkdtemp(tmpdir))
		return 1;
	test_notifier_ends();
	test_listener();
	rmdir(tmpdir);
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
