// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Real Xen, guest side: discovery, context handshake, the control relay and
 * reconnection after a resume.  See util/hv_xen.h and, for the wire
 * contract, xenib-abi.h ("Real Xen transport", "RESUME").
 *
 * Threads: the provider's threads call hv_xen_connect() and friends; one
 * relay thread per process owns the event-channel handle's upcalls, the
 * relay ends of the control sockets and the resume procedure.  xg.lock
 * guards the connection lists and every mailbox.  Lock order: provider
 * locks (taken by the quiesce hook) before xg.lock.
 *
 * Resume and the domU kernel bug (../shared/xen-qemu/README.md): after a
 * restore the guest kernel BUG()s when a /dev/xen/evtchn port bound before
 * the suspend is unbound or its file released.  So pre-suspend event
 * channel handles are never closed and no port on them is ever unbound: we
 * open a new handle, and a keeper process holds the old descriptors so they
 * outlive the application (keeper_start()).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <xenevtchn.h>
#include <xenstore.h>

#include <rdma/xenib-abi.h>

#include "util/hv_xen.h"
#include "util/xenib_ring.h"

#define XG_HANDSHAKE_MS		30000
#define XG_RESUME_WAIT_MS	180000	/* for xenibd to attach the new domain */
#define XG_CALL_MS		30000
#define XG_RESUME_FLAG		1u	/* hdr.flags of relay-made requests */

struct xnotify {
	struct hv_xen_list link;
	uint32_t kind;
	uint32_t port;
	unsigned int gen;	/* xg.gen when port was bound */
	uint32_t handle;	/* XENIB_INVALID_HANDLE until bound */
	int self_fd;		/* relay's copy of the provider's self end */
};

struct hv_xen_conn {
	struct hv_xen_list link;	/* xg.conns */
	unsigned int devidx;
	int relay_fd;		/* our end of the control socket, -1 closed */
	struct hv_xen_grant mbox_g;
	struct xenib_xen_mbox *mbox;	/* page 0; request, response follow */
	uint32_t ctrl_port;
	unsigned int ctrl_gen;	/* xg.gen when ctrl_port was bound */
	uint32_t doorbell_port;	/* atomic: read by hv_xen_kick() */
	unsigned int ctx_id;
	char token[32];
	struct hv_xen_list regions;	/* struct hv_xen_grant.link */
	struct hv_xen_list notifies;	/* struct xnotify.link */
	/* The provider's request in flight (re-sent after a resume). */
	uint8_t pend[XENIB_CTRL_MAX_MSG];
	uint32_t pend_len, pend_seq;
	bool pending;
	bool dead;		/* transport gone; provider saw a hang-up */
	bool resuming;
	bool resume_me;		/* existed when the resume began */
	bool free_me;		/* provider let go during a resume */
	uint32_t relay_seq;
	void (*quiesce)(void *arg, bool on);
	void *qarg;
};

static struct {
	pthread_mutex_t lock;
	pthread_once_t once;
	int init_err;
	struct xs_handle *xs;		/* relay's watch handle */
	xenevtchn_handle *xce;		/* current handle (atomic pointer) */
	unsigned int gen;		/* resumes so far: which handle a port is on */
	int *poisoned;			/* fds of pre-resume handles */
	int npoisoned;
	int keeper_fd;			/* pidfd of the process holding them */
	uint32_t backend_domid;
	char domid[16];
	int wake[2];
	struct hv_xen_list conns;
} xg = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.once = PTHREAD_ONCE_INIT,
	.wake = { -1, -1 },
	.keeper_fd = -1,
	.conns = { &xg.conns, &xg.conns },
};

#define xg_log(...)                                                        \
	do {                                                               \
		fprintf(stderr, "xenib: " __VA_ARGS__);                    \
		fputc('\n', stderr);                                       \
	} while (0)

static void list_add(struct hv_xen_list *head, struct hv_xen_list *n)
{
	n->prev = head->prev;
	n->next = head;
	head->prev->next = n;
	head->prev = n;
}

static void list_del(struct hv_xen_list *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->next = n->prev = n;
}

#define list_for(pos, tmp, head)                                           \
	for (pos = (head)->next, tmp = pos->next; pos != (head);           \
	     pos = tmp, tmp = pos->next)
#define entry_of(ptr, type, member)                                        \
	((type *)((char *)(ptr) - offsetof(type, member)))

/* ------------------------------------------------------------------ */
/* Xenstore helpers                                                    */

static char *xs_get(struct xs_handle *h, const char *path)
{
	unsigned int len;

	return xs_read(h, XBT_NULL, path, &len);
}

static int xs_get_uint(struct xs_handle *h, const char *path, unsigned int *v)
{
	char *s = xs_get(h, path), *end;
	unsigned long n;

	if (!s)
		return ENOENT;
	errno = 0;
	n = strtoul(s, &end, 10);
	if (errno || end == s || *end || n > UINT32_MAX) {
		free(s);
		return EINVAL;
	}
	free(s);
	*v = (unsigned int)n;
	return 0;
}

/*
 * Wait (watching path) until check() says done (> 0) or failed (< 0), at
 * most ms.  Returns 0, the negative check result's errno, or ETIMEDOUT.
 */
static int xs_wait(struct xs_handle *h, const char *path, int ms,
		   int (*check)(struct xs_handle *h, void *arg), void *arg)
{
	struct pollfd p = { .fd = xs_fileno(h), .events = POLLIN };
	unsigned int n;
	char **ev;
	int r, waited = 0;

	if (!xs_watch(h, path, "xenib-wait"))
		return errno ? errno : EIO;
	for (;;) {
		r = check(h, arg);
		if (r)
			break;
		if (waited >= ms) {
			r = -ETIMEDOUT;
			break;
		}
		if (poll(&p, 1, 200) > 0) {
			ev = xs_read_watch(h, &n);
			free(ev);
		}
		waited += 200;
	}
	xs_unwatch(h, path, "xenib-wait");
	return r < 0 ? -r : 0;
}

/* ------------------------------------------------------------------ */
/* Mode and discovery                                                  */

static bool file_has(const char *path, const char *what)
{
	char buf[256];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = 0;
	return strstr(buf, what) != NULL;
}

bool hv_xen_wanted(void)
{
	const char *mode = getenv("XENIB_HV");

	if (mode && !strcmp(mode, "xen"))
		return true;
	if (mode && *mode)
		return false;
	if (getenv("XENIB_EMU_DIR"))
		return false;
	/* A domU: Xen underneath, and not the control domain. */
	return file_has("/sys/hypervisor/type", "xen") &&
	       access("/dev/xen/xenbus_backend", F_OK) &&
	       !file_has("/proc/xen/capabilities", "control_d");
}

int hv_xen_list_devices(unsigned int *idx, int max)
{
	struct xs_handle *h = xs_open(0);
	unsigned int n, i, v, st;
	char **ents, path[96], *end;
	int cnt = 0;

	if (!h)
		return -(errno ? errno : EIO);
	ents = xs_directory(h, XBT_NULL, XENIB_XS_FRONT_DIR, &n);
	for (i = 0; ents && i < n && cnt < max; i++) {
		char *bpath;

		v = (unsigned int)strtoul(ents[i], &end, 10);
		if (*end || end == ents[i] || v > 255)
			continue;
		snprintf(path, sizeof(path), XENIB_XS_FRONT_DIR "/%u/backend", v);
		bpath = xs_get(h, path);
		if (!bpath)
			continue;
		snprintf(path, sizeof(path), "%.80s/state", bpath);
		free(bpath);
		if (xs_get_uint(h, path, &st) || st != XENIB_XS_CONNECTED)
			continue;
		idx[cnt++] = v;
	}
	free(ents);
	xs_close(h);
	/* Ascending: insertion sort, n is tiny. */
	for (int a = 1; a < cnt; a++)
		for (int b = a; b > 0 && idx[b - 1] > idx[b]; b--) {
			v = idx[b];
			idx[b] = idx[b - 1];
			idx[b - 1] = v;
		}
	return cnt;
}

/* ------------------------------------------------------------------ */
/* Mailbox                                                             */

static void *mbox_req(struct hv_xen_conn *c)
{
	return (char *)c->mbox + XENIB_PAGE_SIZE;
}

static void *mbox_resp(struct hv_xen_conn *c)
{
	return (char *)c->mbox + 2 * XENIB_PAGE_SIZE;
}

/*
 * A new event-channel handle whose fd never blocks: xenevtchn_pending() is
 * a read() of that fd, and the relay drains it until EAGAIN.  NULL + errno.
 */
static xenevtchn_handle *xce_open(void)
{
	xenevtchn_handle *xce = xenevtchn_open(NULL, 0);
	int fl;

	if (!xce)
		return NULL;
	fl = fcntl(xenevtchn_fd(xce), F_GETFL);
	if (fl < 0 || fcntl(xenevtchn_fd(xce), F_SETFL, fl | O_NONBLOCK)) {
		int err = errno;

		xenevtchn_close(xce);
		errno = err;
		return NULL;
	}
	return xce;
}

static xenevtchn_handle *xce_now(void)
{
	return __atomic_load_n(&xg.xce, __ATOMIC_ACQUIRE);
}

/*
 * xg.lock held.  Ports are numbers on one handle.  A port bound before a
 * resume is dead, and its number may since have been given to another
 * binding of ours: never unbind it or take its events for it.
 */
static int port_bind(uint32_t *port, unsigned int *gen)
{
	xenevtchn_port_or_error_t p;

	p = xenevtchn_bind_unbound_port(xce_now(), xg.backend_domid);
	if (p < 0)
		return errno ? errno : EIO;
	*port = (uint32_t)p;
	*gen = xg.gen;
	return 0;
}

static bool port_is(uint32_t port, unsigned int gen, uint32_t pending)
{
	return port == pending && gen == xg.gen;
}

static void port_unbind(uint32_t port, unsigned int gen)
{
	if (port && gen == xg.gen)
		xenevtchn_unbind(xce_now(), port);
}

/* xg.lock held.  Put a request in the mailbox and ring. */
static void mbox_post(struct hv_xen_conn *c, const void *msg, uint32_t len,
		      uint32_t seq)
{
	memcpy(mbox_req(c), msg, len);
	c->mbox->req_len = len;
	/* req_seq: we produce, the backend consumes. */
	xr_store_release(&c->mbox->req_seq, seq);
	xenevtchn_notify(xce_now(), c->ctrl_port);
}

static void conn_dead(struct hv_xen_conn *c, const char *why)
{
	if (c->dead)
		return;
	xg_log("xenib%u: lost xenibd (%s)", c->devidx, why);
	c->dead = true;
	if (c->relay_fd >= 0) {
		/* The provider sees the hang-up: DEVICE_FATAL, EIO. */
		close(c->relay_fd);
		c->relay_fd = -1;
	}
}

/* xg.lock held.  An event on a control port. */
static void conn_ctrl_event(struct hv_xen_conn *c)
{
	uint32_t len;

	if (c->dead || c->resuming)
		return;
	/* resp_seq: the backend produces, we consume. */
	if (c->pending && xr_load_acquire(&c->mbox->resp_seq) == c->pend_seq) {
		len = c->mbox->resp_len;
		if (len < sizeof(struct xenib_ctrl_hdr) ||
		    len > XENIB_CTRL_MAX_MSG) {
			conn_dead(c, "malformed response length");
			return;
		}
		c->pending = false;
		if (send(c->relay_fd, mbox_resp(c), len,
			 MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
			conn_dead(c, "provider socket");
		return;
	}
	if (!__atomic_load_n(&c->mbox->backend_alive, __ATOMIC_ACQUIRE))
		conn_dead(c, "its mapping of the mailbox went away");
}

/* xg.lock held.  Dispatch one pending port. */
static void dispatch_port(uint32_t port)
{
	struct hv_xen_list *pc, *tc, *pn, *tn;

	list_for(pc, tc, &xg.conns) {
		struct hv_xen_conn *c = entry_of(pc, struct hv_xen_conn, link);

		if (port_is(c->ctrl_port, c->ctrl_gen, port)) {
			conn_ctrl_event(c);
			return;
		}
		list_for(pn, tn, &c->notifies) {
			struct xnotify *n = entry_of(pn, struct xnotify, link);

			if (port_is(n->port, n->gen, port) && n->self_fd >= 0) {
				hv_notify_signal(n->self_fd);
				return;
			}
		}
	}
}

static void drain_ports(void)
{
	xenevtchn_handle *xce = xce_now();
	xenevtchn_port_or_error_t p;

	while ((p = xenevtchn_pending(xce)) >= 0) {
		xenevtchn_unmask(xce, (evtchn_port_t)p);
		dispatch_port((uint32_t)p);
	}
}

/*
 * xg.lock held; relay thread.  One request made by the relay itself
 * (resume), answered synchronously.  Other ports are served meanwhile.
 */
static int mbox_call(struct hv_xen_conn *c, void *req, uint32_t len,
		     uint16_t opcode)
{
	struct xenib_ctrl_hdr *h = req;
	uint32_t seq = 0x80000000u | ++c->relay_seq;
	struct pollfd p;
	int waited = 0;

	h->opcode = opcode;
	h->flags = XG_RESUME_FLAG;
	h->length = len;
	h->seq = seq;
	h->status = 0;
	mbox_post(c, req, len, seq);
	p.fd = xenevtchn_fd(xce_now());
	p.events = POLLIN;
	while (waited < XG_CALL_MS) {
		if (xr_load_acquire(&c->mbox->resp_seq) == seq) {
			struct xenib_ctrl_hdr *r = mbox_resp(c);

			return r->status ? (int)(r->status & 0xfff) : 0;
		}
		if (poll(&p, 1, 50) > 0) {
			xenevtchn_handle *xce = xce_now();
			xenevtchn_port_or_error_t port;

			while ((port = xenevtchn_pending(xce)) >= 0) {
				xenevtchn_unmask(xce, (evtchn_port_t)port);
				if (!port_is(c->ctrl_port, c->ctrl_gen,
					     (uint32_t)port))
					dispatch_port((uint32_t)port);
			}
		}
		waited += 50;
	}
	return ETIMEDOUT;
}

/* ------------------------------------------------------------------ */
/* Handshake                                                           */

struct hs_wait {
	char path[200];
	unsigned int state;
};

static int check_backend_state(struct xs_handle *h, void *arg)
{
	struct hs_wait *w = arg;

	if (xs_get_uint(h, w->path, &w->state))
		return 0;
	if (w->state == XENIB_XS_CONNECTED)
		return 1;
	if (w->state >= XENIB_XS_CLOSING)
		return -ECONNREFUSED;
	return 0;
}

static int check_device(struct xs_handle *h, void *arg)
{
	struct hs_wait *w = arg;
	char *b = xs_get(h, w->path);

	free(b);
	return b ? 1 : 0;
}

/*
 * Announce a context for c's mailbox and control port under device
 * c->devidx and wait for the backend to connect it (token: resume).
 */
static int handshake(struct hv_xen_conn *c, const char *token, int wait_ms)
{
	char base[64], front[96], back[160], val[64], *bpath = NULL;
	struct xs_handle *h = xs_open(0);
	struct hs_wait w;
	xs_transaction_t t;
	unsigned int k = 0, bdom;
	int err, tries;

	if (!h)
		return errno ? errno : EIO;
	snprintf(base, sizeof(base), XENIB_XS_FRONT_DIR "/%u", c->devidx);
	snprintf(w.path, sizeof(w.path), "%s/backend", base);
	err = xs_wait(h, base, wait_ms, check_device, &w);
	if (err)
		goto out;
	bpath = xs_get(h, w.path);
	snprintf(w.path, sizeof(w.path), "%s/backend-id", base);
	if (!bpath || xs_get_uint(h, w.path, &bdom) || bdom != xg.backend_domid) {
		xg_log("xenib%u: backend moved to another domain", c->devidx);
		err = EXDEV;
		goto out;
	}

	for (tries = 0; tries < 16; tries++) {
		char *old;

		k = 1 + (unsigned int)(((unsigned int)rand() ^
					((unsigned int)getpid() << 8)) %
				       (XENIB_XS_MAX_CTX - 1));
		snprintf(front, sizeof(front), "%s/ctx/%u", base, k);
		t = xs_transaction_start(h);
		old = xs_get(h, front);
		if (old) {
			free(old);
			xs_transaction_end(h, t, true);
			continue;
		}
#define PUT(key, ...)                                                      \
	do {                                                               \
		char _p[160];                                              \
		snprintf(_p, sizeof(_p), "%s/" key, front);                \
		snprintf(val, sizeof(val), __VA_ARGS__);                   \
		xs_write(h, t, _p, val, strlen(val));                      \
	} while (0)
		PUT("ctrl-ref", "%u %u %u", c->mbox_g.refs[0],
		    c->mbox_g.refs[1], c->mbox_g.refs[2]);
		PUT("event-channel", "%u", c->ctrl_port);
		if (token)
			PUT("resume", "%s", token);
		PUT("state", "%u", XENIB_XS_INITIALISED);
#undef PUT
		if (xs_transaction_end(h, t, false))
			break;
		if (errno != EAGAIN) {
			err = errno ? errno : EIO;
			goto out;
		}
	}
	if (tries == 16) {
		err = EBUSY;
		goto out;
	}
	c->ctx_id = k;

	snprintf(back, sizeof(back), "%.100s/ctx/%u", bpath, k);
	snprintf(w.path, sizeof(w.path), "%s/state", back);
	err = xs_wait(h, w.path, XG_HANDSHAKE_MS, check_backend_state, &w);
	if (err) {
		char epath[180], *msg;

		snprintf(epath, sizeof(epath), "%s/error", back);
		msg = xs_get(h, epath);
		xg_log("xenib%u: xenibd did not connect context %u: %s%s%s",
		       c->devidx, k, strerror(err), msg ? ": " : "",
		       msg ? msg : "");
		free(msg);
		xs_rm(h, XBT_NULL, front);
		goto out;
	}
	snprintf(w.path, sizeof(w.path), "%s/token", back);
	{
		char *tok = xs_get(h, w.path);

		snprintf(c->token, sizeof(c->token), "%s", tok ? tok : "");
		free(tok);
	}
	snprintf(w.path, sizeof(w.path), "%s/state", front);
	snprintf(val, sizeof(val), "%u", XENIB_XS_CONNECTED);
	xs_write(h, XBT_NULL, w.path, val, strlen(val));
out:
	free(bpath);
	xs_close(h);
	return err;
}

/* Mailbox pages and control port for c (new, or anew after a resume). */
static int conn_transport(struct hv_xen_conn *c, bool regrant)
{
	void *va = regrant ? (void *)c->mbox : NULL;
	int err;

	err = port_bind(&c->ctrl_port, &c->ctrl_gen);
	if (err)
		return err;
	/* Our process dying clears frontend_alive (xenibd looks). */
	err = hv_xen_grant_map_notify(&c->mbox_g, &va, XENIB_MBOX_PAGES,
				      regrant, true, XENIB_MBOX_FRONT_ALIVE_OFF);
	if (err)
		return err;
	c->mbox = va;
	__atomic_store_n(&c->mbox->frontend_alive, 1, __ATOMIC_RELEASE);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Resume                                                              */

/*
 * Keep the pre-resume event-channel fds open for ever (see the top): a
 * detached process that holds them and nothing else, /bin/sleep under the
 * name xenib-evtchn-keeper, deaf to the usual termination signals.  It
 * holds every fd of xg.poisoned, so the previous keeper can go: one keeper
 * per process that lived through a resume, a few hundred KiB, even after
 * the process has exited.  Held by a pidfd: the kill cannot reach another
 * process that reused the pid.
 */
static void keeper_start(void)
{
	pid_t pid, keeper = 0;
	int pfd[2], i, kfd;

	if (pipe2(pfd, O_CLOEXEC)) {
		xg_log("cannot start the event-channel keeper: %s",
		       strerror(errno));
		return;
	}
	pid = fork();
	if (pid == 0) {
		/* Async-signal-safe calls only from here on. */
		pid_t k = fork();

		if (k != 0) {
			if (write(pfd[1], &k, sizeof(k)) < 0)
				_exit(1);
			_exit(0);
		}
		setsid();
		signal(SIGHUP, SIG_IGN);	/* SIG_IGN survives exec */
		signal(SIGINT, SIG_IGN);
		signal(SIGQUIT, SIG_IGN);
		signal(SIGTERM, SIG_IGN);
		signal(SIGPIPE, SIG_IGN);
		close_range(0, ~0u, CLOSE_RANGE_CLOEXEC);
		for (i = 0; i < xg.npoisoned; i++)
			fcntl(xg.poisoned[i], F_SETFD, 0);
		execl("/bin/sleep", "xenib-evtchn-keeper", "infinity",
		      (char *)NULL);
		/* No sleep(1): hold everything, as this copy of us. */
		for (;;)
			pause();
	}
	close(pfd[1]);
	if (pid > 0) {
		if (read(pfd[0], &keeper, sizeof(keeper)) != sizeof(keeper))
			keeper = 0;
		waitpid(pid, NULL, 0);
	}
	close(pfd[0]);
	if (keeper <= 0) {
		xg_log("cannot start the event-channel keeper: %s",
		       pid < 0 ? strerror(errno) : "fork failed");
		return;
	}
	kfd = pidfd_open(keeper, 0);
	if (kfd < 0) {
		/* The new one holds everything; the old one stays too. */
		xg_log("cannot hold the event-channel keeper: %s",
		       strerror(errno));
		return;
	}
	if (xg.keeper_fd >= 0) {
		pidfd_send_signal(xg.keeper_fd, SIGKILL, NULL, 0);
		close(xg.keeper_fd);
	}
	xg.keeper_fd = kfd;
}

static int resume_conn(struct hv_xen_conn *c)
{
	struct hv_xen_list *p, *t;
	int err;

	/* 1. Same memory, fresh grants (rings quiesced by the provider). */
	pthread_mutex_unlock(&xg.lock);
	if (c->quiesce)
		c->quiesce(c->qarg, true);
	pthread_mutex_lock(&xg.lock);
	err = conn_transport(c, true);
	list_for(p, t, &c->regions) {
		struct hv_xen_grant *g = entry_of(p, struct hv_xen_grant, link);
		void *va = g->va;

		if (!err)
			err = hv_xen_grant_map(g, &va, g->npages, true, true);
	}
	pthread_mutex_unlock(&xg.lock);
	if (c->quiesce)
		c->quiesce(c->qarg, false);
	pthread_mutex_lock(&xg.lock);
	if (err)
		return err;

	/* 2. New ports for every notifier. */
	list_for(p, t, &c->notifies) {
		struct xnotify *n = entry_of(p, struct xnotify, link);

		err = port_bind(&n->port, &n->gen);
		if (err)
			return err;
		if (n->kind == XENIB_NOTIFY_DOORBELL)
			__atomic_store_n(&c->doorbell_port, n->port,
					 __ATOMIC_RELEASE);
	}

	/* 3. Handshake with the old context's token, then rebind. */
	pthread_mutex_unlock(&xg.lock);
	err = handshake(c, c->token, XG_RESUME_WAIT_MS);
	pthread_mutex_lock(&xg.lock);
	if (err)
		return err;
	list_for(p, t, &c->regions) {
		struct hv_xen_grant *g = entry_of(p, struct hv_xen_grant, link);
		struct xenib_resume_region_req req;
		struct hv_xen_grant dir = { 0 };
		void *dva;

		memset(&req, 0, sizeof(req));
		req.handle = g->handle;
		req.npages = g->npages;
		err = hv_xen_grant_dir(g, &dir, &dva);
		if (err)
			return err;
		req.ref = dir.refs[0];
		err = mbox_call(c, &req, sizeof(req), XENIB_CMD_RESUME_REGION);
		munmap(dva, (size_t)dir.npages * XENIB_PAGE_SIZE);
		hv_xen_grant_free(&dir);
		/* ENOENT: its UNMAP_REGION was in flight at the suspend. */
		if (err && err != ENOENT)
			return err;
	}
	list_for(p, t, &c->notifies) {
		struct xnotify *n = entry_of(p, struct xnotify, link);
		struct xenib_resume_notify_req req;

		if (n->handle == XENIB_INVALID_HANDLE)
			continue;
		memset(&req, 0, sizeof(req));
		req.handle = n->handle;
		req.port = n->port;
		err = mbox_call(c, &req, sizeof(req), XENIB_CMD_RESUME_NOTIFY);
		if (err)
			return err;
	}
	{
		struct xenib_ctrl_hdr req;

		memset(&req, 0, sizeof(req));
		err = mbox_call(c, &req, sizeof(req), XENIB_CMD_RESUME_DONE);
		if (err)
			return err;
	}
	/* The request in flight at the suspend: the backend answers it
	 * again if it had already handled it (same seq). */
	if (c->pending)
		mbox_post(c, c->pend, c->pend_len, c->pend_seq);
	/* Wake whoever sleeps on a notifier: events may have been lost. */
	list_for(p, t, &c->notifies) {
		struct xnotify *n = entry_of(p, struct xnotify, link);

		if (n->self_fd >= 0)
			hv_notify_signal(n->self_fd);
	}
	return 0;
}

static void free_conn(struct hv_xen_conn *c);

static void resume_all(const char *new_domid)
{
	struct hv_xen_list *p, *t;
	xenevtchn_handle *nx;
	int err, *fds;

	xg_log("domain resumed as %s (was %s): reconnecting", new_domid,
	       xg.domid);
	nx = xce_open();
	if (!nx) {
		xg_log("cannot open /dev/xen/evtchn after resume: %s",
		       strerror(errno));
		return;
	}
	fds = realloc(xg.poisoned, (xg.npoisoned + 1) * sizeof(*fds));
	if (fds) {
		xg.poisoned = fds;
		xg.poisoned[xg.npoisoned++] = xenevtchn_fd(xg.xce);
	} else {
		xg_log("out of memory: the keeper cannot hold the old "
		       "event-channel handle; this process must not exit");
	}
	/* The old handle is deliberately never closed (kernel bug). */
	__atomic_store_n(&xg.xce, nx, __ATOMIC_RELEASE);
	xg.gen++;
	snprintf(xg.domid, sizeof(xg.domid), "%s", new_domid);

	/* Marked first: disconnects during the resume are deferred. */
	list_for(p, t, &xg.conns) {
		struct hv_xen_conn *c = entry_of(p, struct hv_xen_conn, link);

		c->resuming = c->resume_me = true;
	}
	list_for(p, t, &xg.conns) {
		struct hv_xen_conn *c = entry_of(p, struct hv_xen_conn, link);

		if (!c->resume_me)
			continue;
		c->resume_me = false;
		if (!c->dead) {
			err = resume_conn(c);
			if (err)
				conn_dead(c, "could not reconnect after the resume");
			else
				xg_log("xenib%u: context reconnected", c->devidx);
		}
		c->resuming = false;
		if (c->free_me)
			free_conn(c);
	}
	keeper_start();
}

/* ------------------------------------------------------------------ */
/* Relay thread                                                        */

static void relay_forward(struct hv_xen_conn *c)
{
	ssize_t n;

	n = recv(c->relay_fd, c->pend, sizeof(c->pend), MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		/* The provider closed the context; it calls disconnect. */
		close(c->relay_fd);
		c->relay_fd = -1;
		return;
	}
	if ((size_t)n < sizeof(struct xenib_ctrl_hdr)) {
		conn_dead(c, "short request from the provider");
		return;
	}
	c->pend_len = (uint32_t)n;
	c->pend_seq = ((struct xenib_ctrl_hdr *)c->pend)->seq;
	c->pending = true;
	if (!c->resuming && !c->dead)
		mbox_post(c, c->pend, c->pend_len, c->pend_seq);
}

static void *relay_main(void *arg)
{
	struct pollfd pfd[64];
	struct hv_xen_conn *who[64];
	struct hv_xen_list *p, *t;
	int n, i;

	(void)arg;
	for (;;) {
		pthread_mutex_lock(&xg.lock);
		pfd[0] = (struct pollfd){ .fd = xg.wake[0], .events = POLLIN };
		pfd[1] = (struct pollfd){ .fd = xenevtchn_fd(xce_now()),
					  .events = POLLIN };
		pfd[2] = (struct pollfd){ .fd = xs_fileno(xg.xs),
					  .events = POLLIN };
		n = 3;
		list_for(p, t, &xg.conns) {
			struct hv_xen_conn *c =
				entry_of(p, struct hv_xen_conn, link);

			if (c->relay_fd < 0 || n == 64)
				continue;
			who[n] = c;
			pfd[n++] = (struct pollfd){ .fd = c->relay_fd,
						    .events = POLLIN };
		}
		pthread_mutex_unlock(&xg.lock);

		if (poll(pfd, (nfds_t)n, -1) < 0)
			continue;

		pthread_mutex_lock(&xg.lock);
		if (pfd[0].revents) {
			char b[64];

			while (read(xg.wake[0], b, sizeof(b)) > 0)
				;
		}
		if (pfd[2].revents) {
			unsigned int k;
			char **ev = xs_read_watch(xg.xs, &k);
			char *dom = xs_get(xg.xs, "domid");

			free(ev);
			if (dom && *xg.domid && strcmp(dom, xg.domid))
				resume_all(dom);
			free(dom);
		}
		if (pfd[1].revents)
			drain_ports();
		for (i = 3; i < n; i++) {
			struct hv_xen_conn *c = who[i];
			bool live = false;

			/* Still listed?  (a resume may have freed it) */
			list_for(p, t, &xg.conns)
				if (p == &c->link)
					live = true;
			if (live && pfd[i].revents && c->relay_fd == pfd[i].fd)
				relay_forward(c);
		}
		pthread_mutex_unlock(&xg.lock);
	}
	return NULL;
}

static void xg_init(void)
{
	pthread_t th;
	pthread_attr_t at;
	char *dom;
	int err;

	xg.xs = xs_open(0);
	if (!xg.xs) {
		xg.init_err = errno ? errno : ENODEV;
		return;
	}
	dom = xs_get(xg.xs, "domid");
	if (!dom) {
		xg.init_err = ENODEV;
		return;
	}
	snprintf(xg.domid, sizeof(xg.domid), "%s", dom);
	free(dom);
	/* Fires again when the domain comes back from a save or migration. */
	if (!xs_watch(xg.xs, "domid", "xenib-resume")) {
		xg.init_err = errno ? errno : EIO;
		return;
	}
	xg.xce = xce_open();
	if (!xg.xce) {
		xg.init_err = errno ? errno : ENODEV;
		return;
	}
	if (pipe2(xg.wake, O_CLOEXEC | O_NONBLOCK)) {
		xg.init_err = errno;
		return;
	}
	srand((unsigned int)getpid() ^ (unsigned int)time(NULL));
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	err = pthread_create(&th, &at, relay_main, NULL);
	pthread_attr_destroy(&at);
	if (err)
		xg.init_err = err;
}

static void wake_relay(void)
{
	char b = 1;

	if (write(xg.wake[1], &b, 1) < 0) {
		/* Full pipe: the relay is awake anyway. */
	}
}

/* ------------------------------------------------------------------ */
/* Connections                                                         */

int hv_xen_connect(unsigned int devidx, struct hv_xen_conn **out, int *sock)
{
	struct hv_xen_conn *c;
	struct xs_handle *h;
	char path[64];
	unsigned int bdom;
	int sv[2], err;

	h = xs_open(0);
	if (!h)
		return errno ? errno : ENODEV;
	snprintf(path, sizeof(path), XENIB_XS_FRONT_DIR "/%u/backend-id",
		 devidx);
	err = xs_get_uint(h, path, &bdom);
	xs_close(h);
	if (err)
		return ENODEV;

	pthread_once(&xg.once, xg_init);
	if (xg.init_err)
		return xg.init_err;

	c = calloc(1, sizeof(*c));
	if (!c)
		return ENOMEM;
	c->devidx = devidx;
	c->relay_fd = -1;
	c->regions.next = c->regions.prev = &c->regions;
	c->notifies.next = c->notifies.prev = &c->notifies;
	c->link.next = c->link.prev = &c->link;

	pthread_mutex_lock(&xg.lock);
	if (!xg.backend_domid)
		xg.backend_domid = bdom;
	err = bdom == xg.backend_domid ? hv_xen_grant_init(bdom) : EXDEV;
	if (!err)
		err = conn_transport(c, false);
	pthread_mutex_unlock(&xg.lock);
	if (!err)
		err = handshake(c, NULL, XG_HANDSHAKE_MS);
	if (!err && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		err = errno;
	if (err) {
		if (c->mbox)
			munmap(c->mbox, XENIB_MBOX_PAGES * XENIB_PAGE_SIZE);
		port_unbind(c->ctrl_port, c->ctrl_gen);
		hv_xen_grant_free(&c->mbox_g);
		free(c);
		return err;
	}
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	c->relay_fd = sv[1];
	pthread_mutex_lock(&xg.lock);
	list_add(&xg.conns, &c->link);
	pthread_mutex_unlock(&xg.lock);
	wake_relay();
	*out = c;
	*sock = sv[0];
	return 0;
}

/* xg.lock held. */
static void free_conn(struct hv_xen_conn *c)
{
	struct hv_xen_list *p, *t;
	struct xs_handle *h;
	char path[96];

	list_del(&c->link);
	if (c->relay_fd >= 0)
		close(c->relay_fd);
	list_for(p, t, &c->notifies) {
		struct xnotify *n = entry_of(p, struct xnotify, link);

		if (n->self_fd >= 0)
			close(n->self_fd);
		port_unbind(n->port, n->gen);
		list_del(&n->link);
		free(n);
	}
	list_for(p, t, &c->regions) {
		struct hv_xen_grant *g = entry_of(p, struct hv_xen_grant, link);

		list_del(&g->link);
		g->conn = NULL;
	}
	/* Unmapping clears frontend_alive and kicks the backend. */
	if (c->mbox)
		munmap(c->mbox, XENIB_MBOX_PAGES * XENIB_PAGE_SIZE);
	port_unbind(c->ctrl_port, c->ctrl_gen);
	hv_xen_grant_free(&c->mbox_g);
	h = xs_open(0);
	if (h) {
		snprintf(path, sizeof(path), XENIB_XS_FRONT_DIR "/%u/ctx/%u",
			 c->devidx, c->ctx_id);
		xs_rm(h, XBT_NULL, path);
		xs_close(h);
	}
	free(c);
}

void hv_xen_disconnect(struct hv_xen_conn *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&xg.lock);
	if (c->resuming)
		c->free_me = true;
	else
		free_conn(c);
	pthread_mutex_unlock(&xg.lock);
	wake_relay();
}

void hv_xen_set_quiesce(struct hv_xen_conn *c, void (*fn)(void *, bool),
			void *arg)
{
	pthread_mutex_lock(&xg.lock);
	c->quiesce = fn;
	c->qarg = arg;
	pthread_mutex_unlock(&xg.lock);
}

/* ------------------------------------------------------------------ */
/* Regions and notifiers                                               */

int hv_xen_region_publish(struct hv_shm *shm, __u64 *ref)
{
	struct hv_xen_grant *g = shm->xen, dir = { 0 };
	void *dva;
	int err;

	if (!g)
		return EINVAL;
	err = hv_xen_grant_dir(g, &dir, &dva);
	if (err)
		return err;
	*ref = dir.refs[0];
	g->dir_va = dva;
	g->dir_npages = dir.npages;
	hv_xen_grant_free(&dir);
	return 0;
}

void hv_xen_region_done(struct hv_xen_conn *c, struct hv_shm *shm,
			uint32_t handle)
{
	struct hv_xen_grant *g = shm->xen;

	if (!g)
		return;
	if (g->dir_va)
		munmap(g->dir_va, (size_t)g->dir_npages * XENIB_PAGE_SIZE);
	g->dir_va = NULL;
	if (handle == XENIB_INVALID_HANDLE)
		return;
	pthread_mutex_lock(&xg.lock);
	g->conn = c;
	g->handle = handle;
	list_add(&c->regions, &g->link);
	pthread_mutex_unlock(&xg.lock);
}

void hv_xen_untrack(struct hv_xen_grant *g)
{
	pthread_mutex_lock(&xg.lock);
	if (g->conn) {
		list_del(&g->link);
		g->conn = NULL;
	}
	pthread_mutex_unlock(&xg.lock);
}

int hv_xen_notify_new(struct hv_xen_conn *c, uint32_t kind, int *guest_fd,
		      int *self_fd, uint32_t *port)
{
	struct xnotify *n;
	int gfd = -1, bfd = -1, err;

	n = calloc(1, sizeof(*n));
	if (!n)
		return ENOMEM;
	if (kind != XENIB_NOTIFY_DOORBELL) {
		err = hv_notify_pair(&gfd, &bfd);
		if (err) {
			free(n);
			return err;
		}
		n->self_fd = dup(bfd);
		if (n->self_fd < 0) {
			err = errno;
			close(gfd);
			close(bfd);
			free(n);
			return err;
		}
	} else {
		n->self_fd = -1;
	}
	pthread_mutex_lock(&xg.lock);
	err = port_bind(&n->port, &n->gen);
	if (err) {
		pthread_mutex_unlock(&xg.lock);
		if (n->self_fd >= 0) {
			close(n->self_fd);
			close(gfd);
			close(bfd);
		}
		free(n);
		return err;
	}
	n->kind = kind;
	n->handle = XENIB_INVALID_HANDLE;
	list_add(&c->notifies, &n->link);
	pthread_mutex_unlock(&xg.lock);
	*guest_fd = gfd;
	*self_fd = bfd;
	*port = n->port;
	return 0;
}

static struct xnotify *find_notify(struct hv_xen_conn *c, bool by_port,
				   uint32_t v)
{
	struct hv_xen_list *p, *t;

	list_for(p, t, &c->notifies) {
		struct xnotify *n = entry_of(p, struct xnotify, link);

		if (by_port ? port_is(n->port, n->gen, v) : n->handle == v)
			return n;
	}
	return NULL;
}

static void drop_notify(struct xnotify *n)
{
	list_del(&n->link);
	if (n->self_fd >= 0)
		close(n->self_fd);
	port_unbind(n->port, n->gen);
	free(n);
}

void hv_xen_notify_done(struct hv_xen_conn *c, uint32_t port, uint32_t handle)
{
	struct xnotify *n;

	pthread_mutex_lock(&xg.lock);
	n = find_notify(c, true, port);
	if (n && handle == XENIB_INVALID_HANDLE) {
		drop_notify(n);
	} else if (n) {
		n->handle = handle;
		if (n->kind == XENIB_NOTIFY_DOORBELL)
			__atomic_store_n(&c->doorbell_port, port,
					 __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&xg.lock);
}

void hv_xen_notify_forget(struct hv_xen_conn *c, uint32_t handle)
{
	struct xnotify *n;

	pthread_mutex_lock(&xg.lock);
	n = find_notify(c, false, handle);
	if (n)
		drop_notify(n);
	pthread_mutex_unlock(&xg.lock);
}

void hv_xen_kick(struct hv_xen_conn *c)
{
	uint32_t port = __atomic_load_n(&c->doorbell_port, __ATOMIC_ACQUIRE);

	if (port)
		xenevtchn_notify(xce_now(), port);
}
