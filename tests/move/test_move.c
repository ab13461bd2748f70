// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The guest side of a move between hosts' backends in the emulation
 * (xenib-abi.h, "MOVE"; docs/migration.md, "What the guest sees"): real
 * contexts of our libibverbs and provider, served by a real xenibd through
 * fake hosts (hosts.h) that play the source and the destinations.
 *
 * Checked: a move with a request in flight (a MAP_REGION: it is not
 * resumed, and is sent again to the destination exactly once), TAKEOVER
 * with the token, every region re-shared with its very pages, every
 * notifier re-passed with the guest's fd numbers unchanged (flags kept)
 * and working, the HV notifier last, RESUME_DONE, traffic and doorbell
 * kicks after the move, a second move through the new HV notifier, a
 * forked child's own context moving while the parent's does too;
 * malformed MOVEs ignored; a destination that refuses TAKEOVER or a
 * RESUME_REGION, one that never answers, one that is not there, and a
 * backend that dies without a MOVE: the device is fatal, within bounds.
 *
 * Usage: test_move XENIBD_DIR GUEST_DIR, with XENIB_EMU_DIR=GUEST_DIR and
 * XENIB_EMU_GUEST set (tests/test_move.sh).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <infiniband/verbs.h>
#include <rdma/xenib-abi.h>

#include "tests/common/check.h"
#include "tests/common/rc_connect.h"
#include "tests/move/hosts.h"

#define PAGE		4096u
#define BUF_PAGES	4u
#define WAIT_MS		5000	/* bound of every wait for the guest */

static struct hosts *H;
static struct ibv_device *dev;
static char gdir[80];	/* the hosts check it fits a sun_path */

/* A context with RC QPs looped back to each other. */
struct t {
	struct ibv_context *ctx;
	int k;			/* the hosts' index of the context */
	struct ibv_pd *pd;
	struct ibv_comp_channel *ch;
	struct ibv_cq *scq, *rcq;
	struct ibv_qp *qa, *qb;
	char *sbuf, *rbuf;
	struct ibv_mr *smr, *rmr;
};

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d)))
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

/* How many of our fds are that socket. */
static int fds_on(unsigned long inode)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	struct stat st;
	int n = 0;

	while (inode && d && (e = readdir(d)))
		if (e->d_name[0] != '.' && !fstat(atoi(e->d_name), &st) &&
		    S_ISSOCK(st.st_mode) && st.st_ino == inode)
			n++;
	if (d)
		closedir(d);
	return n;
}

static bool open_ctx(struct t *t)
{
	unsigned int before, now;

	memset(t, 0, sizeof(*t));
	hosts_last_ctx(H, &before);
	t->ctx = ibv_open_device(dev);
	if (!t->ctx)
		return false;
	/* Its HV notifier was bound (at the source) before the open returned. */
	t->k = hosts_last_ctx(H, &now);
	if (now == before + 1)
		return true;
	ibv_close_device(t->ctx);
	t->ctx = NULL;
	return false;
}

static bool setup_traffic(struct t *t)
{
	struct test_rc_opts o = {
		.access = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE,
		.mtu = IBV_MTU_1024, .rd_atomic = 1, .min_rnr_timer = 1,
		.timeout = 14, .retry_cnt = 7, .rnr_retry = 7,
	};
	struct ibv_qp_init_attr qa = {
		.qp_type = IBV_QPT_RC,
		.cap = { .max_send_wr = 8, .max_recv_wr = 8,
			 .max_send_sge = 1, .max_recv_sge = 1 },
	};
	struct ibv_port_attr pa;

	t->pd = ibv_alloc_pd(t->ctx);
	t->ch = ibv_create_comp_channel(t->ctx);
	if (!t->pd || !t->ch)
		return false;
	t->scq = ibv_create_cq(t->ctx, 16, NULL, NULL, 0);
	t->rcq = ibv_create_cq(t->ctx, 16, NULL, t->ch, 0);
	if (!t->scq || !t->rcq)
		return false;
	qa.send_cq = t->scq;
	qa.recv_cq = t->rcq;
	t->qa = ibv_create_qp(t->pd, &qa);
	t->qb = ibv_create_qp(t->pd, &qa);
	t->sbuf = aligned_alloc(PAGE, BUF_PAGES * PAGE);
	t->rbuf = aligned_alloc(PAGE, BUF_PAGES * PAGE);
	if (!t->qa || !t->qb || !t->sbuf || !t->rbuf)
		return false;
	memset(t->sbuf, 0x5a, BUF_PAGES * PAGE);
	memset(t->rbuf, 0, BUF_PAGES * PAGE);
	t->smr = ibv_reg_mr(t->pd, t->sbuf, BUF_PAGES * PAGE,
			    IBV_ACCESS_LOCAL_WRITE);
	t->rmr = ibv_reg_mr(t->pd, t->rbuf, BUF_PAGES * PAGE,
			    IBV_ACCESS_LOCAL_WRITE);
	if (!t->smr || !t->rmr || ibv_query_port(t->ctx, 1, &pa))
		return false;
	return !test_rc_connect(t->qa, t->qb->qp_num, pa.lid, &o) &&
	       !test_rc_connect(t->qb, t->qa->qp_num, pa.lid, &o);
}

static bool poll_one(struct ibv_cq *cq, struct ibv_wc *wc)
{
	double t0 = now_ms();
	int n;

	while ((n = ibv_poll_cq(cq, 1, wc)) == 0 && now_ms() - t0 < WAIT_MS)
		;
	return n == 1 && wc->status == IBV_WC_SUCCESS;
}

/* Wait for a completion event on t's channel (its fd is O_NONBLOCK). */
static bool wait_event(struct t *t)
{
	struct pollfd p = { .fd = t->ch->fd, .events = POLLIN };
	double t0 = now_ms();
	struct ibv_cq *cq;
	void *cctx;

	while (now_ms() - t0 < WAIT_MS) {
		if (poll(&p, 1, 100) != 1)
			continue;
		if (ibv_get_cq_event(t->ch, &cq, &cctx))
			continue;	/* EAGAIN: a wake-up without event */
		ibv_ack_cq_events(cq, 1);
		return cq == t->rcq;
	}
	return false;
}

/* One SEND from [src, src + len) of mr to qb, seen through the channel. */
static bool roundtrip(struct t *t, struct ibv_mr *mr, const char *src,
		      uint32_t len)
{
	struct ibv_sge rs = { (uintptr_t)t->rbuf, len, t->rmr->lkey };
	struct ibv_sge ss = { (uintptr_t)src, len, mr->lkey };
	struct ibv_recv_wr rw = { .sg_list = &rs, .num_sge = 1 }, *brw;
	struct ibv_send_wr sw = {
		.sg_list = &ss, .num_sge = 1, .opcode = IBV_WR_SEND,
		.send_flags = IBV_SEND_SIGNALED,
	}, *bsw;
	struct ibv_wc wc;

	memset(t->rbuf, 0, len);
	if (ibv_post_recv(t->qb, &rw, &brw) ||
	    ibv_req_notify_cq(t->rcq, 0) || ibv_post_send(t->qa, &sw, &bsw))
		return false;
	if (!wait_event(t) || !poll_one(t->rcq, &wc) || wc.byte_len != len ||
	    !poll_one(t->scq, &wc))
		return false;
	return !memcmp(t->rbuf, src, len);
}

/* Does fd become readable within ms?  (then drain one datagram) */
static bool readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char b[8];

	if (poll(&p, 1, ms) != 1 || !(p.revents & POLLIN))
		return false;
	return recv(fd, b, sizeof(b), MSG_DONTWAIT) == 1;
}

struct fatal_wait {
	struct ibv_context *ctx;
	int type;
};

static void *get_event(void *arg)
{
	struct fatal_wait *w = arg;
	struct ibv_async_event ev;

	w->type = -1;
	if (!ibv_get_async_event(w->ctx, &ev)) {
		w->type = ev.event_type;
		ibv_ack_async_event(&ev);
	}
	return NULL;
}

/* ibv_get_async_event (blocking) says DEVICE_FATAL within ms. */
static bool fatal_within(struct ibv_context *ctx, int ms)
{
	static struct fatal_wait w;
	struct timespec dl;
	pthread_t th;

	w.ctx = ctx;
	w.type = -2;
	if (pthread_create(&th, NULL, get_event, &w))
		return false;
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += ms / 1000;
	if (pthread_timedjoin_np(th, NULL, &dl)) {
		pthread_detach(th);	/* still blocked: a failure */
		return false;
	}
	return w.type == IBV_EVENT_DEVICE_FATAL;
}

static void report_ok(int k, const char *what)
{
	struct move_report r;

	hosts_report(H, k, &r);
	result(!r.err[0], "%s: the hosts found nothing wrong%s%s", what,
	       r.err[0] ? ": " : "", r.err);
}

static void set_nonblock(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static ino_t ino(int fd)
{
	struct stat st;

	return fstat(fd, &st) ? 0 : st.st_ino;
}

/* moves >= want for context k within WAIT_MS. */
static bool wait_moves(int k, int want)
{
	struct move_report r;
	double t0 = now_ms();

	do {
		hosts_report(H, k, &r);
		if (r.moves >= want)
			return true;
		poll(NULL, 0, 5);
	} while (now_ms() - t0 < WAIT_MS);
	return false;
}

/* ------------------------------------------------------------------ */
/* Cases                                                               */

static void malformed_moves(struct t *t)
{
	struct xenib_emu_move m;
	char big[sizeof(m) + 16];
	struct ibv_pd *pd;
	struct move_report r;
	int bad = 0;

#define GOOD() do {							\
		memset(&m, 0, sizeof(m));				\
		m.magic = XENIB_EMU_MOVE_MAGIC;				\
		snprintf(m.token, sizeof(m.token), "%s", "c0ffee");	\
		snprintf(m.path, sizeof(m.path), "%s/nowhere.sock", gdir); \
	} while (0)
	bad += !!hosts_hv_send(H, t->k, "bad", 3);
	GOOD();
	m.magic = 0x12345678u;
	bad += !!hosts_hv_send(H, t->k, &m, sizeof(m));
	GOOD();
	memset(m.token, 'a', sizeof(m.token));
	bad += !!hosts_hv_send(H, t->k, &m, sizeof(m));
	GOOD();
	memset(m.path, 'p', sizeof(m.path));
	bad += !!hosts_hv_send(H, t->k, &m, sizeof(m));
	GOOD();
	m.path[0] = 0;
	bad += !!hosts_hv_send(H, t->k, &m, sizeof(m));
	GOOD();
	m.token[0] = 0;
	bad += !!hosts_hv_send(H, t->k, &m, sizeof(m));
	GOOD();
	memset(big, 0, sizeof(big));
	memcpy(big, &m, sizeof(m));
	bad += !!hosts_hv_send(H, t->k, big, sizeof(big));
#undef GOOD
	result(!bad, "seven malformed MOVEs sent on the HV notifier");
	/* Give the relay the time to read them: a MOVE it took would
	 * shut the channel down and fail the context (nowhere.sock). */
	poll(NULL, 0, 300);
	pd = ibv_alloc_pd(t->ctx);
	result(pd != NULL, "malformed MOVEs ignored: ALLOC_PD still served");
	if (pd)
		ibv_dealloc_pd(pd);
	result(roundtrip(t, t->smr, t->sbuf, 256),
	       "malformed MOVEs ignored: traffic still flows");
	hosts_report(H, t->k, &r);
	result(r.moves == 0 && !r.takeover && r.requests >= 2,
	       "malformed MOVEs ignored: no takeover, requests at the source (%u)",
	       r.requests);
}

static void move_in_flight(struct t *t)
{
	int chfd = t->ch->fd, afd = t->ctx->async_fd, fd, kick0, kick1;
	ino_t chino = ino(chfd), aino = ino(afd);
	char *buf2 = aligned_alloc(PAGE, 2 * PAGE);
	struct ibv_async_event ev;
	struct move_report r;
	struct ibv_mr *mr2;
	char *view;
	uint64_t off = 0;
	double t0;
	bool ok;

	hosts_move_on_next(H, t->k, DEST_OK);
	memset(buf2, 0x3c, 2 * PAGE);
	/* Held at the source, MOVE, sent again at the destination. */
	mr2 = ibv_reg_mr(t->pd, buf2, 2 * PAGE, IBV_ACCESS_LOCAL_WRITE);
	result(mr2 != NULL, "ibv_reg_mr in flight at the move succeeds");
	hosts_report(H, t->k, &r);
	result(r.held == 1 && r.held_op == XENIB_CMD_MAP_REGION,
	       "the source held the MAP_REGION unanswered (held %u, op %u)",
	       r.held, r.held_op);
	result(r.takeover && r.done && r.moves == 1,
	       "TAKEOVER with the token and guest, then RESUME_DONE");
	result(r.held_at_dest == 1,
	       "the request in flight reached the destination exactly once (%u)",
	       r.held_at_dest);
	result(r.regions >= 5 && r.regions_resumed == r.regions - 1,
	       "every region but the one in flight resumed once (%d of %d)",
	       r.regions_resumed, r.regions);
	result(r.notifies == 3 && r.notifies_resumed == 3 && r.hv_resumed,
	       "doorbell, async and channel notifiers resumed, the HV one last");
	report_ok(t->k, "first move");

	result(t->ch->fd == chfd && t->ctx->async_fd == afd &&
	       ino(chfd) != chino && ino(afd) != aino,
	       "channel fd %d and async fd %d: same numbers, new sockets",
	       chfd, afd);
	result((fcntl(chfd, F_GETFL) & O_NONBLOCK) &&
	       (fcntl(afd, F_GETFL) & O_NONBLOCK) &&
	       (fcntl(chfd, F_GETFD) & FD_CLOEXEC),
	       "their O_NONBLOCK and close-on-exec survive the swap");
	result(!hosts_signal(H, t->k, XENIB_NOTIFY_COMP, false) &&
	       readable(chfd, WAIT_MS),
	       "the destination's channel end reaches the guest's fd");
	result(!hosts_signal(H, t->k, XENIB_NOTIFY_ASYNC, false) &&
	       readable(afd, WAIT_MS),
	       "the destination's async end reaches the guest's fd");
	/* Ours and the provider's copy, which re-signals the fd. */
	result(fds_on(hosts_notify_ino(H, t->k, XENIB_NOTIFY_COMP, false)) == 2 &&
	       fds_on(hosts_notify_ino(H, t->k, XENIB_NOTIFY_ASYNC, false)) == 2 &&
	       fds_on(hosts_notify_ino(H, t->k, XENIB_NOTIFY_COMP, true)) == 1,
	       "the provider's re-signalling ends are the new pairs' too");
	result(hosts_signal(H, t->k, XENIB_NOTIFY_COMP, true) != 0 ||
	       !readable(chfd, 200),
	       "the source's old channel end no longer does");

	fd = hosts_find_resumed(H, t->k, t->sbuf, BUF_PAGES, &off);
	result(fd >= 0, "the MR's region came with fd pages equal to the guest's");
	if (fd >= 0) {
		view = mmap(NULL, BUF_PAGES * PAGE, PROT_READ, MAP_SHARED, fd,
			    (off_t)off);
		memset(t->sbuf, 0xa7, BUF_PAGES * PAGE);
		result(view != MAP_FAILED && view[0] == (char)0xa7 &&
		       view[BUF_PAGES * PAGE - 1] == (char)0xa7,
		       "... the very pages: the guest's stores show through");
		if (view != MAP_FAILED)
			munmap(view, BUF_PAGES * PAGE);
		close(fd);
	}

	result(roundtrip(t, t->smr, t->sbuf, 3000),
	       "after the move: SEND, completion event through the same channel fd");
	result(mr2 && roundtrip(t, mr2, buf2, 2 * PAGE),
	       "after the move: the MR registered during it works");
	/* Once xenibd sleeps, a post must kick the new doorbell. */
	t0 = now_ms();
	while (hosts_backend_sleeping(H, t->k) != 1 && now_ms() - t0 < WAIT_MS)
		poll(NULL, 0, 1);
	kick0 = (int)hosts_kicks(H, t->k);
	ok = roundtrip(t, t->smr, t->sbuf, 64);
	kick1 = (int)hosts_kicks(H, t->k);
	result(ok && kick1 > kick0,
	       "a post to a sleeping xenibd kicks through the new doorbell (kicks %d -> %d)",
	       kick0, kick1);
	errno = 0;
	result(ibv_get_async_event(t->ctx, &ev) && errno == EAGAIN,
	       "no async event (no DEVICE_FATAL) after the move");
	if (mr2)
		ibv_dereg_mr(mr2);
	free(buf2);
}

static void second_move(struct t *t)
{
	struct move_report r;
	struct ibv_pd *pd;

	/* Through the HV end the first destination got. */
	hosts_move_now(H, t->k, DEST_OK);
	wait_moves(t->k, 2);
	hosts_report(H, t->k, &r);
	result(r.moves == 2 && r.regions_resumed == r.regions &&
	       r.notifies_resumed == r.notifies && r.hv_resumed,
	       "a second move, idle, through the new HV notifier (%d of %d regions)",
	       r.regions_resumed, r.regions);
	report_ok(t->k, "second move");
	pd = ibv_alloc_pd(t->ctx);
	result(pd != NULL, "after the second move: ALLOC_PD served");
	if (pd)
		ibv_dealloc_pd(pd);
	result(roundtrip(t, t->smr, t->sbuf, 1024),
	       "after the second move: traffic flows");
}

/*
 * A forked child's own context moves with a relay of the child's own, and
 * the child, which inherited the parent's HV notifiers, takes none of the
 * parent's MOVEs.
 */
static void forked_child(struct t *t)
{
	int up[2], down[2], st = -1, k, i;
	struct move_report r;
	bool ok;
	double t0;
	pid_t pid;
	char b;

	if (pipe(up) || pipe(down)) {
		result(false, "fork case: pipes");
		return;
	}
	hosts_report(H, t->k, &r);
	pid = fork();
	if (pid == 0) {
		struct ibv_context *c = ibv_open_device(dev);
		struct ibv_pd *pd;

		b = c ? 1 : 0;
		if (write(up[1], &b, 1) != 1 || read(down[0], &b, 1) != 1)
			_exit(3);
		pd = c ? ibv_alloc_pd(c) : NULL;
		_exit(pd ? 0 : 1);
	}
	if (pid < 0 || read(up[0], &b, 1) != 1 || !b) {
		result(false, "fork case: the child opens a context");
		goto out;
	}
	k = hosts_last_ctx(H, NULL);
	hosts_move_now(H, k, DEST_OK);
	result(wait_moves(k, 1), "a forked child's own context moves");
	/* Both relays idle: only the parent's may take these MOVEs. */
	for (i = 1, ok = true; i <= 3 && ok; i++) {
		hosts_move_now(H, t->k, DEST_OK);
		ok = wait_moves(t->k, r.moves + i) &&
		     roundtrip(t, t->smr, t->sbuf, 256);
	}
	result(ok, "the parent's context moves 3 times meanwhile, and works");
	b = 1;
	if (write(down[1], &b, 1) != 1)
		result(false, "fork case: tell the child");
	t0 = now_ms();
	while (waitpid(pid, &st, WNOHANG) == 0 && now_ms() - t0 < WAIT_MS)
		poll(NULL, 0, 5);
	if (now_ms() - t0 >= WAIT_MS) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
	}
	result(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	       "the child's request after its move is served (status %#x)", st);
	report_ok(k, "the child's move");
out:
	close(up[0]);
	close(up[1]);
	close(down[0]);
	close(down[1]);
}

enum how { MOVE_NOW, MOVE_HELD, KILL };

/* A context that fails its move is fatal, the others go on. */
static void failed_move(struct t *keep, enum dest_mode mode, enum how how,
			const char *what)
{
	struct ibv_pd *pd;
	struct t f;
	double t0;

	if (!open_ctx(&f)) {
		result(false, "%s: open a context", what);
		return;
	}
	t0 = now_ms();
	if (how == MOVE_HELD) {
		hosts_move_on_next(H, f.k, mode);
		pd = ibv_alloc_pd(f.ctx);
		result(!pd, "%s: the request in flight fails (%.0f ms), no hang",
		       what, now_ms() - t0);
		if (pd)
			ibv_dealloc_pd(pd);
	} else if (how == KILL) {
		hosts_kill(H, f.k);	/* no MOVE: the backend died */
	} else {
		hosts_move_now(H, f.k, mode);
	}
	result(fatal_within(f.ctx, 3 * WAIT_MS),
	       "%s: IBV_EVENT_DEVICE_FATAL (%.0f ms)", what, now_ms() - t0);
	pd = ibv_alloc_pd(f.ctx);
	result(!pd && errno == EIO, "%s: verbs fail with EIO afterwards", what);
	if (pd)
		ibv_dealloc_pd(pd);
	ibv_close_device(f.ctx);
	result(roundtrip(keep, keep->smr, keep->sbuf, 128),
	       "%s: the other context is unaffected", what);
}

static void teardown(struct t *t)
{
	ibv_destroy_qp(t->qa);
	ibv_destroy_qp(t->qb);
	ibv_dereg_mr(t->smr);
	ibv_dereg_mr(t->rmr);
	ibv_destroy_cq(t->scq);
	ibv_destroy_cq(t->rcq);
	ibv_destroy_comp_channel(t->ch);
	ibv_dealloc_pd(t->pd);
	result(!ibv_close_device(t->ctx), "the moved context closes");
	free(t->sbuf);
	free(t->rbuf);
}

int main(int argc, char **argv)
{
	struct ibv_device **list;
	int fds0, n, i;
	struct t t, t0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc != 3) {
		fprintf(stderr, "usage: test_move XENIBD_DIR GUEST_DIR\n");
		return 2;
	}
	if (snprintf(gdir, sizeof(gdir), "%s", argv[2]) >= (int)sizeof(gdir)) {
		fprintf(stderr, "test_move: GUEST_DIR too long\n");
		return 2;
	}
	fds0 = count_fds();
	H = hosts_start(argv[1], argv[2]);
	list = H ? ibv_get_device_list(&n) : NULL;
	for (i = 0; list && i < n && !dev; i++)
		if (!strcmp(ibv_get_device_name(list[i]), "xenib0"))
			dev = list[i];
	if (!dev) {
		fprintf(stderr, "test_move: no xenib0 through the fake hosts\n");
		return 2;
	}
	/* The first context starts the relay thread (its wake pipe). */
	result(open_ctx(&t0), "a context binds its HV notifier at the source");
	ibv_close_device(t0.ctx);

	result(open_ctx(&t) && setup_traffic(&t),
	       "context with PD, channel, CQs, looped-back RC QPs, MRs");
	set_nonblock(t.ch->fd);
	set_nonblock(t.ctx->async_fd);
	result(roundtrip(&t, t.smr, t.sbuf, 512), "traffic at the source");

	malformed_moves(&t);
	move_in_flight(&t);
	second_move(&t);
	forked_child(&t);

	failed_move(&t, DEST_REFUSE_TAKEOVER, MOVE_NOW, "TAKEOVER refused");
	failed_move(&t, DEST_REFUSE_REGION, MOVE_NOW, "RESUME_REGION refused");
	failed_move(&t, DEST_SILENT, MOVE_HELD, "destination silent");
	failed_move(&t, DEST_ABSENT, MOVE_NOW, "destination absent");
	failed_move(&t, DEST_OK, KILL, "backend died, no MOVE");

	teardown(&t);
	ibv_free_device_list(list);
	hosts_stop(H);
	/* Every fd the contexts and moves made is gone but the relay's pipe. */
	result(count_fds() == fds0 + 2, "no fd left behind (%d, %d before)",
	       count_fds(), fds0);
	return check_summary();
}
